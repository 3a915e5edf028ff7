// Over 400 lines on purpose: each mutation kind's effect side by side, so that a new kind follows
// the same shape.
//! What each pushed mutation does, with the REST API's rules. Cash that was really collected
//! is never dropped: a payment the rules would refuse online (session closed meanwhile, a
//! second payment for the same member and session, the contribution changed, the member left,
//! a broken chain, a clock far ahead) is kept and flagged for the treasurer. Only a mutation
//! that is invalid in itself (unknown tontine, not allowed, malformed) is rejected.

use std::collections::{HashMap, HashSet};

use kobiri_core::{
    Amount, Correcting, CorrectionFacts, Currency, ErrorCode, MemberId, MemberRefusal, Original,
    PaymentFacts, PaymentId, PaymentStatus, Phone, PlatformRole, Roll, SessionId, TontineId,
    TontineRole, Via, confirmation_audit, may_record, plan_confirmation, plan_correction,
    plan_member_addition, plan_payment,
    sync::{Mutation, MutationKind, Outcome, receipt_code},
};
use serde_json::json;

use crate::{
    error::ApiResult,
    payments::record,
    state::AppState,
    store::{
        AuditSource, Device, Member, NewAudit, NewFlag, NewMember, NewPayment, NewUser, PaymentKey,
        Session, SyncBatch, SyncCancellation, SyncMember, SyncPayment, SyncPayoutConfirmation,
        Timestamp, User,
    },
    tontines::TontineAccess,
};

fn rejected(code: ErrorCode, message: impl Into<String>) -> Outcome {
    Outcome::Rejected {
        code: code.as_str().to_owned(),
        message: message.into(),
    }
}

/// Plans mutations for one device, caching what it reads.
pub struct Effects<'a> {
    state: &'a AppState,
    caller: &'a User,
    device: &'a Device,
    now: Timestamp,
    access: HashMap<TontineId, Option<TontineAccess>>,
    sessions: HashMap<SessionId, Option<Session>>,
    members: HashMap<MemberId, Option<Member>>,
    /// Tontines whose members are in `members`.
    member_lists: HashSet<TontineId>,
    /// Live payments per session, including those planned in this batch.
    live: HashMap<SessionId, Vec<PaymentKey>>,
    /// Payment ids already taken: on the server (read once per request) or in this batch.
    taken: HashSet<PaymentId>,
    /// Receipt codes already given: on the server (read once per request) or in this batch.
    taken_receipts: HashSet<String>,
    new_phones: HashSet<String>,
    joined: HashMap<TontineId, u32>,
    /// New cash payments with a receipt code, in the order planned.
    receipts: Vec<PaymentId>,
}

impl<'a> Effects<'a> {
    pub fn new(state: &'a AppState, caller: &'a User, device: &'a Device, now: Timestamp) -> Self {
        Self {
            state,
            caller,
            device,
            now,
            access: HashMap::new(),
            sessions: HashMap::new(),
            members: HashMap::new(),
            member_lists: HashSet::new(),
            live: HashMap::new(),
            taken: HashSet::new(),
            taken_receipts: HashSet::new(),
            new_phones: HashSet::new(),
            joined: HashMap::new(),
            receipts: Vec::new(),
        }
    }

    /// The tontine a mutation names, when it names one directly.
    pub fn tontine_of(m: &Mutation) -> Option<TontineId> {
        match &m.kind {
            MutationKind::RecordCashPayment { tontine_id, .. }
            | MutationKind::AddMember { tontine_id, .. } => Some(*tontine_id),
            MutationKind::ConfirmPayout { .. } | MutationKind::CorrectPayment { .. } => None,
        }
    }

    async fn access(&mut self, id: TontineId) -> ApiResult<Option<&TontineAccess>> {
        if !self.access.contains_key(&id) {
            let access = match TontineAccess::load(self.state, self.caller, id).await {
                Ok(a) if !a.is_outsider() => Some(a),
                Ok(_) => None,
                Err(e) if e.code() == ErrorCode::NotFound => None,
                Err(e) => return Err(e),
            };
            self.access.insert(id, access);
        }
        Ok(self.access.get(&id).and_then(Option::as_ref))
    }

    async fn session(&mut self, id: SessionId) -> ApiResult<Option<Session>> {
        if !self.sessions.contains_key(&id) {
            let s = self.state.store().session_by_id(id).await?;
            self.sessions.insert(id, s);
        }
        Ok(self.sessions.get(&id).cloned().flatten())
    }

    /// A member of `tontine`; the tontine's members are read once per request.
    async fn member(&mut self, tontine: TontineId, id: MemberId) -> ApiResult<Option<Member>> {
        if self.member_lists.insert(tontine) {
            for m in self.state.store().list_members(tontine).await? {
                self.members.insert(m.id, Some(m));
            }
        }
        Ok(self
            .members
            .get(&id)
            .cloned()
            .flatten()
            .filter(|m| m.tontine_id == tontine))
    }

    async fn live(&mut self, session: SessionId) -> ApiResult<&mut Vec<PaymentKey>> {
        if !self.live.contains_key(&session) {
            let keys = self.state.store().payment_keys(session).await?;
            self.live.insert(session, keys);
        }
        Ok(self.live.entry(session).or_default())
    }

    /// Hands over the payments planned so far that carry a receipt code for the member: their
    /// receipts go out by a job the batch queues (see [`crate::jobs::receipts`]).
    pub fn take_receipts(&mut self) -> Vec<PaymentId> {
        std::mem::take(&mut self.receipts)
    }

    /// Reads once which of the request's new payment ids are already taken.
    pub async fn prefetch(&mut self, mutations: &[Mutation]) -> ApiResult<()> {
        let ids: Vec<PaymentId> = mutations
            .iter()
            .filter_map(|m| match &m.kind {
                MutationKind::RecordCashPayment { payment_id, .. }
                | MutationKind::CorrectPayment { payment_id, .. } => Some(*payment_id),
                _ => None,
            })
            .collect();
        self.taken = self
            .state
            .store()
            .payments_taken(&ids)
            .await?
            .into_iter()
            .collect();
        let codes: Vec<String> = mutations
            .iter()
            .filter(|m| {
                matches!(
                    m.kind,
                    MutationKind::RecordCashPayment { .. } | MutationKind::CorrectPayment { .. }
                )
            })
            .map(|m| receipt_code(m).to_string())
            .collect();
        self.taken_receipts = self
            .state
            .store()
            .receipts_taken(&codes)
            .await?
            .into_iter()
            .collect();
        Ok(())
    }

    /// Whether receipt `code` is another payment's (receipt codes are 40 bits: two payments
    /// can, rarely, derive the same); if not, it is now this batch's.
    fn take_receipt(&mut self, code: &str) -> bool {
        !self.taken_receipts.insert(code.to_owned())
    }

    /// Whether `id` is taken; if not, it is now (by this batch).
    fn take_payment_id(&mut self, id: PaymentId) -> bool {
        !self.taken.insert(id)
    }

    fn audit(
        &self,
        tontine: TontineId,
        action: &'static str,
        entity: &'static str,
        id: uuid::Uuid,
        after: serde_json::Value,
    ) -> NewAudit {
        self.pushed(
            NewAudit::api(self.caller.id, tontine, action, entity, id, self.now)
                .with_change(None, Some(after)),
        )
    }

    /// `audit`, as pushed by this device (its source and device).
    fn pushed(&self, mut audit: NewAudit) -> NewAudit {
        audit.source = AuditSource::Sync;
        audit.device_id = Some(self.device.id.as_uuid());
        audit
    }

    fn flag(
        &self,
        batch: &mut SyncBatch,
        m: &Mutation,
        tontine: TontineId,
        payment: Option<PaymentId>,
        code: &'static str,
        reason: String,
    ) -> Outcome {
        batch.flags.push(NewFlag {
            id: kobiri_core::new_uuid(),
            tontine_id: tontine,
            payment_id: payment,
            device_id: self.device.id,
            seq: m.seq,
            code,
            reason: reason.clone(),
        });
        Outcome::Flagged { reason }
    }

    /// Plans one valid-in-form mutation; `reasons` already holds the flags found by the log
    /// checks (a broken chain, a clock ahead).
    pub async fn plan(
        &mut self,
        m: &Mutation,
        reasons: Vec<String>,
        batch: &mut SyncBatch,
    ) -> ApiResult<Outcome> {
        if let Err(errors) = m.validate() {
            let message = errors
                .iter()
                .map(|e| format!("{} : {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join(" ; ");
            return Ok(rejected(ErrorCode::ValidationError, message));
        }
        match &m.kind {
            MutationKind::RecordCashPayment { .. } => self.cash_payment(m, reasons, batch).await,
            MutationKind::CorrectPayment { .. } => self.correction(m, reasons, batch).await,
            MutationKind::AddMember { .. } => self.add_member(m, reasons, batch).await,
            MutationKind::ConfirmPayout { .. } => self.confirm_payout(m, reasons, batch).await,
        }
    }

    // Long on purpose: gathers the facts the payment planner needs from the batch and the store,
    // then maps its plan or its refusal to the mutation's outcome; the rule itself is core's
    // plan_payment.
    async fn cash_payment(
        &mut self,
        m: &Mutation,
        reasons: Vec<String>,
        batch: &mut SyncBatch,
    ) -> ApiResult<Outcome> {
        let MutationKind::RecordCashPayment {
            payment_id,
            tontine_id,
            session_id,
            member_id,
            amount,
            currency,
        } = &m.kind
        else {
            return Ok(rejected(
                ErrorCode::ValidationError,
                "type de mutation inattendu",
            ));
        };
        let me = self.caller.id;
        let Some(access) = self.access(*tontine_id).await? else {
            return Ok(rejected(ErrorCode::NotFound, "tontine introuvable"));
        };
        let tontine = access.tontine.clone();
        let caller = record::caller(access, me);
        let Some(session) = self
            .session(*session_id)
            .await?
            .filter(|s| s.tontine_id == tontine.id)
        else {
            return Ok(rejected(
                ErrorCode::NotFound,
                "séance introuvable dans cette tontine",
            ));
        };
        let Some(member) = self.member(tontine.id, *member_id).await? else {
            return Ok(rejected(
                ErrorCode::NotFound,
                "membre introuvable dans cette tontine",
            ));
        };
        if let Err(refusal) = may_record(caller, member.user_id) {
            return Ok(rejected(refusal.code(), refusal.to_string()));
        }
        if self.take_payment_id(*payment_id) {
            return Ok(rejected(
                ErrorCode::Conflict,
                "identifiant de paiement déjà utilisé",
            ));
        }
        let parsed = Currency::parse(currency).and_then(|c| Amount::parse(amount, c));
        let amount = match parsed {
            Ok(a) if a.currency() == tontine.currency() => a,
            Ok(_) => {
                return Ok(rejected(
                    ErrorCode::ValidationError,
                    format!("la devise de la tontine est {}", tontine.currency()),
                ));
            }
            Err(e) => return Ok(rejected(ErrorCode::ValidationError, e.to_string())),
        };
        let receipt = receipt_code(m).to_string();
        let receipt_taken = self.take_receipt(&receipt);
        let already_paid = self
            .live(session.id)
            .await?
            .iter()
            .any(|k| k.member_id == member.id && !k.flagged);
        let facts = PaymentFacts {
            caller,
            terms: record::terms(&tontine),
            payer: record::payer(&member),
            session: record::target(&session),
            already_paid,
            amount,
            now: self.now,
            via: Via::Sync {
                seq: m.seq,
                recorded_at: m.recorded_at,
                receipt_code: &receipt,
                receipt_taken,
                integrity: &reasons,
            },
        };
        let plan = match plan_payment(&facts) {
            Ok(plan) => plan,
            Err(refusal) => return Ok(rejected(refusal.code(), refusal.to_string())),
        };
        self.live(session.id).await?.push(PaymentKey {
            id: *payment_id,
            member_id: member.id,
            flagged: plan.is_flagged(),
        });
        if !batch.sessions.iter().any(|(id, _)| *id == session.id) {
            batch.sessions.push((session.id, session.status));
        }
        let payment = NewPayment {
            device_id: Some(self.device.id.as_uuid()),
            ..record::new_payment(*payment_id, &tontine, &facts, &plan)
        };
        batch
            .audits
            .push(self.pushed(record::audit(&payment, &plan)));
        if plan.receipt_code.is_some() {
            self.receipts.push(*payment_id);
        }
        let flag = plan.flag();
        batch.payments.push(SyncPayment {
            payment,
            receipt_code: plan.receipt_code,
            flagged: flag.is_some(),
            corrects: None,
        });
        Ok(match flag {
            Some((code, reason)) => {
                self.flag(batch, m, tontine.id, Some(*payment_id), code, reason)
            }
            None => Outcome::Applied,
        })
    }

    // Long on purpose: gathers the facts the correction planner needs, then maps its plan or
    // refusal to the mutation's outcome; the rule itself is core's plan_correction.
    async fn correction(
        &mut self,
        m: &Mutation,
        reasons: Vec<String>,
        batch: &mut SyncBatch,
    ) -> ApiResult<Outcome> {
        let MutationKind::CorrectPayment {
            payment_id,
            corrects,
            amount,
            reason,
        } = &m.kind
        else {
            return Ok(rejected(
                ErrorCode::ValidationError,
                "type de mutation inattendu",
            ));
        };
        let Some(original) = self.state.store().payment_by_id(*corrects).await? else {
            return Ok(rejected(
                ErrorCode::NotFound,
                "paiement à corriger introuvable",
            ));
        };
        let me = self.caller.id;
        let Some(access) = self.access(original.tontine_id).await? else {
            return Ok(rejected(
                ErrorCode::NotFound,
                "paiement à corriger introuvable",
            ));
        };
        let caller = record::caller(access, me);
        let contribution = access.tontine.contribution;
        let amount = match Amount::parse(amount, original.amount.currency()) {
            Ok(a) => a,
            Err(e) => return Ok(rejected(ErrorCode::ValidationError, e.to_string())),
        };
        let facts = CorrectionFacts {
            caller,
            contribution,
            original: Original {
                id: original.id,
                recorded_by: original.recorded_by_id,
                status: original.status,
                flagged: original.flagged,
                amount: original.amount,
            },
            id: *payment_id,
            amount,
            reason,
            via: Correcting::Sync {
                seq: m.seq,
                integrity: &reasons,
            },
        };
        let plan = match plan_correction(&facts) {
            Ok(plan) => plan,
            Err(refusal) => return Ok(rejected(refusal.code(), refusal.to_string())),
        };
        if self.take_payment_id(*payment_id) {
            return Ok(rejected(
                ErrorCode::Conflict,
                "identifiant de paiement déjà utilisé",
            ));
        }
        let tontine = original.tontine_id;
        batch.audits.push(self.audit(
            tontine,
            "payment.corrected",
            "payment",
            corrects.as_uuid(),
            plan.audit.clone(),
        ));
        let flag = plan.flag(&facts);
        if plan.cancels_original {
            batch.cancellations.push(SyncCancellation {
                payment: original.id,
                from: original.status,
                reason: format!("corrigé : {reason}"),
            });
        }
        if plan.writes_entry {
            batch.payments.push(SyncPayment {
                payment: NewPayment {
                    id: *payment_id,
                    tontine_id: tontine,
                    session_id: original.session_id,
                    member_id: original.member_id,
                    user_id: original.user_id,
                    amount,
                    method: original.method,
                    status: PaymentStatus::EnAttente,
                    operator_transaction_id: None,
                    phone_number: None,
                    proof_url: None,
                    proof_description: None,
                    penalty_amount: original.penalty_amount,
                    is_late: original.is_late,
                    recorded_by_id: me,
                    device_id: Some(self.device.id.as_uuid()),
                    notes: Some(reason.clone()),
                    now: self.now,
                },
                receipt_code: Some(receipt_code(m).to_string())
                    .filter(|code| !self.take_receipt(code)),
                flagged: flag.is_some(),
                corrects: Some(original.id),
            });
        }
        Ok(match flag {
            Some((payment, code, reason)) => {
                self.flag(batch, m, tontine, Some(payment), code, reason)
            }
            None => Outcome::Applied,
        })
    }

    /// An offline `add_member` naming the phone of an account with a password: that person
    /// is invited (as online), and the mutation is rejected so the phone drops its local
    /// member; they appear once they accept. An invitation already waiting is enough.
    async fn invite_instead(&mut self, tontine: TontineId, user: &User) -> ApiResult<Outcome> {
        const INVITED: &str = "ce numéro est celui d'un compte existant : une invitation lui \
            est envoyée, il rejoindra la tontine après l'avoir acceptée";
        let (state, caller) = (self.state, self.caller);
        let Some(access) = self.access(tontine).await? else {
            return Ok(rejected(ErrorCode::NotFound, "tontine introuvable"));
        };
        let invited =
            crate::invitations::invite(state, access, caller, user, TontineRole::Membre, None)
                .await;
        match invited {
            Ok(_) => Ok(rejected(ErrorCode::Conflict, INVITED)),
            Err(e) if e.code() == ErrorCode::Conflict => Ok(rejected(ErrorCode::Conflict, INVITED)),
            Err(e) => Err(e),
        }
    }

    // Long on purpose: the offline form of adding a member: the batch's duplicate checks, the
    // planner, the account found or created, the row and its audit entry, each step a short block
    // in order.
    async fn add_member(
        &mut self,
        m: &Mutation,
        reasons: Vec<String>,
        batch: &mut SyncBatch,
    ) -> ApiResult<Outcome> {
        let MutationKind::AddMember {
            member_id,
            tontine_id,
            user_id,
            phone,
            first_name,
            last_name,
        } = &m.kind
        else {
            return Ok(rejected(
                ErrorCode::ValidationError,
                "type de mutation inattendu",
            ));
        };
        let me = self.caller.id;
        let Some(access) = self.access(*tontine_id).await? else {
            return Ok(rejected(ErrorCode::NotFound, "tontine introuvable"));
        };
        let tontine = access.tontine.clone();
        let caller = record::caller(access, me);
        let joined = self.joined.get(&tontine.id).copied().unwrap_or(0);
        let roll = Roll {
            members: tontine.member_count + joined,
            max_members: tontine.max_members,
            is_active: tontine.is_active,
        };
        if let Err(refusal) = plan_member_addition(Some(caller), Some(roll)) {
            return Ok(rejected(refusal.code(), refusal.to_string()));
        }
        let Ok(phone) = Phone::parse(phone) else {
            return Ok(rejected(
                ErrorCode::ValidationError,
                "numéro de téléphone invalide",
            ));
        };
        let phone_number = phone.clone();
        if self.member(tontine.id, *member_id).await?.is_some() {
            return Ok(rejected(
                ErrorCode::Conflict,
                "identifiant de membre déjà utilisé",
            ));
        }
        if !self.new_phones.insert(phone.as_str().to_owned()) {
            return Ok(rejected(
                ErrorCode::Conflict,
                "ce numéro est déjà ajouté dans ce lot",
            ));
        }
        let (user, account) = match self.state.store().user_by_phone(&phone).await? {
            Some(u) => {
                if self
                    .state
                    .store()
                    .member_of(tontine.id, u.id)
                    .await?
                    .is_some()
                {
                    let refusal = MemberRefusal::AlreadyMember;
                    return Ok(rejected(refusal.code(), refusal.to_string()));
                }
                if u.password_hash.is_some() {
                    return self.invite_instead(tontine.id, &u).await;
                }
                (u.id, None)
            }
            None => (
                *user_id,
                Some(NewUser {
                    id: *user_id,
                    email: None,
                    phone,
                    password_hash: None,
                    first_name: first_name.trim().to_owned(),
                    last_name: last_name.trim().to_owned(),
                    role: PlatformRole::Membre,
                    address: None,
                    city: None,
                    country: None,
                    now: self.now,
                }),
            ),
        };
        self.joined.insert(tontine.id, joined + 1);
        // Later mutations of this batch may pay for the new member.
        self.members.insert(
            *member_id,
            Some(Member {
                id: *member_id,
                tontine_id: tontine.id,
                user_id: user,
                role: TontineRole::Membre,
                order_position: None,
                is_active: true,
                joined_at: self.now,
                left_at: None,
                total_contributions: Amount::zero(tontine.currency()),
                total_received: Amount::zero(tontine.currency()),
                missed_payments: 0,
                user_email: None,
                user_name: format!("{} {}", first_name.trim(), last_name.trim()),
                first_name: first_name.trim().to_owned(),
                last_name: last_name.trim().to_owned(),
                user_phone: phone_number,
            }),
        );
        batch.members.push(SyncMember {
            user: account,
            member: NewMember {
                id: *member_id,
                tontine_id: tontine.id,
                user_id: user,
                role: TontineRole::Membre,
                order_position: None,
                now: self.now,
            },
        });
        batch.audits.push(self.audit(
            tontine.id,
            "member.added",
            "member",
            member_id.as_uuid(),
            json!({"user_id": user, "role": "membre", "seq": m.seq}),
        ));
        Ok(if reasons.is_empty() {
            Outcome::Applied
        } else {
            self.flag(batch, m, tontine.id, None, "integrity", reasons.join(" ; "))
        })
    }

    // Long on purpose: gathers the facts the confirmation planner needs, then maps its plan or
    // refusal to the mutation's outcome.
    async fn confirm_payout(
        &mut self,
        m: &Mutation,
        reasons: Vec<String>,
        batch: &mut SyncBatch,
    ) -> ApiResult<Outcome> {
        let MutationKind::ConfirmPayout {
            passage_id,
            amount_received,
        } = &m.kind
        else {
            return Ok(rejected(
                ErrorCode::ValidationError,
                "type de mutation inattendu",
            ));
        };
        let Some(passage) = self.state.store().passage_by_id(*passage_id).await? else {
            return Ok(rejected(ErrorCode::NotFound, "passage introuvable"));
        };
        let Some(access) = self.access(passage.tontine_id).await? else {
            return Ok(rejected(ErrorCode::NotFound, "passage introuvable"));
        };
        let planned = plan_confirmation(
            access.member.as_ref().map(|m| m.id),
            passage.member_id,
            Some(passage.status),
        );
        let to = match planned {
            Ok(to) => to,
            Err(refusal) => return Ok(rejected(refusal.code(), refusal.to_string())),
        };
        let tontine = access.tontine.clone();
        let amount = match Amount::parse(amount_received, passage.expected_amount.currency()) {
            Ok(a) => a,
            Err(e) => return Ok(rejected(ErrorCode::ValidationError, e.to_string())),
        };
        // The same bound as a confirmation through REST (core's `check_receipt`).
        let scope = crate::passages::payout::pot_of(self.state, &tontine, &passage).await?;
        let pot = self
            .state
            .store()
            .pot(passage.tontine_id, scope, passage.id, amount.currency())
            .await?;
        let paid = passage.payout_amount.filter(|_| passage.is_paid());
        if let Err(refusal) = kobiri_core::check_receipt(amount, paid, &pot) {
            return Ok(rejected(refusal.code(), refusal.to_string()));
        }
        batch.payouts.push(SyncPayoutConfirmation {
            passage: passage.id,
            member: passage.member_id,
            from: passage.status,
            to,
            amount_received: amount,
            date: self.now.date_naive(),
        });
        batch.audits.push(self.audit(
            passage.tontine_id,
            "passage.confirmed",
            "passage",
            passage.id.as_uuid(),
            confirmation_audit(to, amount, Some(m.seq)),
        ));
        Ok(if reasons.is_empty() {
            Outcome::Applied
        } else {
            self.flag(
                batch,
                m,
                passage.tontine_id,
                None,
                "integrity",
                reasons.join(" ; "),
            )
        })
    }
}
