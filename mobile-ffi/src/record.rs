// Over 400 lines on purpose: the phone's mutations (payment, correction, member, payout
// confirmation), side by side like the server's sync effects.
//! Recording offline: cash payments, new members, payout confirmations and corrections.
//!
//! Each checks its input with core's rules and against the phone's copy of the tontine, checks
//! that the logged-in user's role allows it with the server's rules ([`Standing`]), then
//! queues one mutation ([`outbox::queue`]) and writes the local row it creates, in the
//! caller's transaction. No network and no token are needed; an enrolled device and a known
//! user are. A refused call queues nothing.

use std::str::FromStr;

use chrono::{DateTime, SecondsFormat};
use kobiri_core::sync::{Entity, MAX_REASON_CHARS, MutationKind};
use kobiri_core::{
    Amount, ConfirmRefusal, Correcting, CorrectionFacts, Currency, DeviceId, MemberId, PassageId,
    Payer, PaymentFacts, PaymentId, PaymentStatus, PersonName, Phone, SessionId, Target, Terms,
    TontineId, UserId, Via, bounded_text, plan_confirmation, plan_correction, plan_member_addition,
    plan_payment,
};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::error::{Error, MobileError, Result};
use crate::meta::{self, Key};
use crate::outbox::{self, Queued};
use crate::permission::Standing;
use crate::records::Receipt;
use crate::rows::{self, Row};

/// The enrolled device, or [`MobileError::NotEnrolled`].
pub(crate) fn device_id(conn: &Connection) -> Result<DeviceId> {
    let id = meta::get(conn, Key::DeviceId)?.ok_or_else(MobileError::not_enrolled)?;
    DeviceId::parse(&id).map_err(|e| Error::Corrupt(e.to_string()))
}

/// A unix time as RFC 3339 UTC text.
pub(crate) fn rfc3339(unix: i64) -> String {
    DateTime::from_timestamp(unix, 0)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Records a cash payment of `amount` by `member_id` for `session_id` of `tontine_id`.
// Long on purpose: gathers the facts the payment planner needs from the phone's copy, then queues
// its plan; the rule itself is core's plan_payment.
pub(crate) fn cash_payment(
    tx: &Transaction<'_>,
    now: i64,
    tontine_id: &str,
    session_id: &str,
    member_id: &str,
    amount: &str,
) -> Result<Receipt> {
    let device = device_id(tx)?;
    let tontine = Tontine::find(tx, parse_id("tontine_id", tontine_id)?)?;
    let session_id: SessionId = parse_id("session_id", session_id)?;
    let session = tontine.session(tx, session_id)?;
    let member_id: MemberId = parse_id("member_id", member_id)?;
    let member = tontine.member(tx, member_id)?;
    let standing = Standing::of(tx, tontine.id)?;
    let amount = Amount::parse(amount, tontine.currency)
        .and_then(Amount::require_positive)
        .map_err(|e| Error::validation("amount", e))?;
    // Core's planner, as on the server: who may record for whom, an open session collects
    // (arrears too), a planned one takes an advance, the amount is the contribution.
    plan_payment(&PaymentFacts {
        caller: standing.caller(),
        terms: tontine.terms()?,
        payer: Payer {
            member: member_id,
            user: member.user,
            is_active: member.is_active,
        },
        session: session.target,
        already_paid: false,
        amount,
        now: DateTime::from_timestamp(now, 0).unwrap_or_default(),
        via: Via::Phone,
    })?;
    let (session_number, member_name) = (session.target.number, member.name);
    let entry = LocalPayment {
        id: PaymentId::new(),
        tontine_id: tontine.id,
        session_id,
        member_id,
        amount,
        corrects: None,
    };
    let kind = MutationKind::RecordCashPayment {
        payment_id: entry.id,
        tontine_id: tontine.id,
        session_id,
        member_id,
        amount: amount.to_wire_string(),
        currency: tontine.currency.as_str().to_owned(),
    };
    let queued = outbox::queue(tx, device, now, &tontine.id.to_string(), kind)?;
    entry.insert(tx, &queued)?;
    Ok(Receipt {
        payment_id: entry.id.to_string(),
        receipt_code: queued.receipt_code,
        amount: amount.to_wire_string(),
        currency: tontine.currency.as_str().to_owned(),
        member_name,
        tontine_name: tontine.name,
        session_number,
        recorded_at: rfc3339(now),
    })
}

/// Adds a member (a new account made on the phone) to `tontine_id`; returns the member's id.
pub(crate) fn member(
    tx: &Transaction<'_>,
    now: i64,
    tontine_id: &str,
    phone: &str,
    first_name: &str,
    last_name: &str,
) -> Result<String> {
    let device = device_id(tx)?;
    let tontine = Tontine::find(tx, parse_id("tontine_id", tontine_id)?)?;
    // Core's rule, as on the server; the phone's copy does not hold the roll, so the server
    // counts it at sync.
    plan_member_addition(Some(Standing::of(tx, tontine.id)?.caller()), None)
        .map_err(Error::forbidden)?;
    let phone = Phone::parse(phone).map_err(|e| Error::validation("phone", e))?;
    let first_name =
        PersonName::parse(first_name).map_err(|e| Error::validation("first_name", e))?;
    let last_name = PersonName::parse(last_name).map_err(|e| Error::validation("last_name", e))?;
    let (member_id, user_id) = (MemberId::new(), UserId::new());
    let kind = MutationKind::AddMember {
        member_id,
        tontine_id: tontine.id,
        user_id,
        phone: phone.as_str().to_owned(),
        first_name: first_name.as_str().to_owned(),
        last_name: last_name.as_str().to_owned(),
    };
    let queued = outbox::queue(tx, device, now, &tontine.id.to_string(), kind)?;
    tx.execute(
        "INSERT INTO local_members (id, device_id, seq, tontine_id, user_id, phone, first_name,
                                    last_name)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            member_id.to_string(),
            device.to_string(),
            seq_param(&queued)?,
            tontine.id.to_string(),
            user_id.to_string(),
            phone.as_str(),
            first_name.as_str(),
            last_name.as_str(),
        ],
    )?;
    Ok(member_id.to_string())
}

/// The beneficiary confirms a payout of `amount_received`; returns the receipt code.
pub(crate) fn payout_confirmation(
    tx: &Transaction<'_>,
    now: i64,
    passage_id: &str,
    amount_received: &str,
) -> Result<String> {
    let device = device_id(tx)?;
    let passage_id: PassageId = parse_id("passage_id", passage_id)?;
    let passage = rows::get(tx, Entity::Passage, passage_id.as_uuid())?
        .ok_or_else(|| Error::not_found("passage"))?;
    let tontine = Tontine::find(tx, parse_id("tontine_id", &passage.tontine_id)?)?;
    let beneficiary = MemberId::parse(&passage.text("member_id")).ok();
    let standing = Standing::of(tx, tontine.id)?;
    // Core's rule, as on the server; the status is the server's to check (see
    // `plan_confirmation`). A beneficiary the copy does not name cannot be the user.
    let beneficiary =
        beneficiary.ok_or_else(|| Error::forbidden(ConfirmRefusal::NotBeneficiary))?;
    plan_confirmation(standing.member_id(), beneficiary, None).map_err(Error::forbidden)?;
    let amount = Amount::parse(amount_received, tontine.currency)
        .map_err(|e| Error::validation("amount_received", e))?;
    let kind = MutationKind::ConfirmPayout {
        passage_id,
        amount_received: amount.to_wire_string(),
    };
    let queued = outbox::queue(tx, device, now, &tontine.id.to_string(), kind)?;
    Ok(queued.receipt_code)
}

/// A compensating entry setting payment `corrects` to `amount` ("0" cancels it).
// Long on purpose: gathers the facts the correction planner needs from the phone's copy, then
// queues its plan.
pub(crate) fn correction(
    tx: &Transaction<'_>,
    now: i64,
    corrects: &str,
    amount: &str,
    reason: &str,
) -> Result<Receipt> {
    let device = device_id(tx)?;
    let corrects: PaymentId = parse_id("payment_id", corrects)?;
    let reason = bounded_text(reason, MAX_REASON_CHARS)
        .map_err(|e| Error::validation("reason", e))?
        .ok_or_else(|| Error::validation("reason", "ce champ ne peut pas être vide"))?;
    let original = Original::find(tx, corrects)?;
    let tontine = Tontine::find(tx, original.tontine_id)?;
    let standing = Standing::of(tx, tontine.id)?;
    let amount =
        Amount::parse(amount, tontine.currency).map_err(|e| Error::validation("amount", e))?;
    let id = PaymentId::new();
    // Core's planner, as on the server; the server flags a correction that breaks the amount
    // rule, the phone refuses it. A correction of money that moved on is queued: it waits for
    // a treasurer's review on the server.
    plan_correction(&CorrectionFacts {
        caller: standing.caller(),
        contribution: tontine.terms()?.contribution,
        original: kobiri_core::Original {
            id: corrects,
            recorded_by: original.recorded_by.unwrap_or(standing.identity.user_id),
            status: original.status,
            flagged: original.flagged,
            amount: original.amount,
        },
        id,
        amount,
        reason: &reason,
        via: Correcting::Phone,
    })?;
    let entry = LocalPayment {
        id,
        tontine_id: original.tontine_id,
        session_id: original.session_id,
        member_id: original.member_id,
        amount,
        corrects: Some((corrects, reason.clone())),
    };
    let kind = MutationKind::CorrectPayment {
        payment_id: entry.id,
        corrects,
        amount: amount.to_wire_string(),
        reason,
    };
    let queued = outbox::queue(tx, device, now, &tontine.id.to_string(), kind)?;
    entry.insert(tx, &queued)?;
    Ok(Receipt {
        payment_id: entry.id.to_string(),
        receipt_code: queued.receipt_code,
        amount: amount.to_wire_string(),
        currency: tontine.currency.as_str().to_owned(),
        member_name: tontine.member(tx, entry.member_id)?.name,
        session_number: tontine.session(tx, entry.session_id)?.target.number,
        tontine_name: tontine.name,
        recorded_at: rfc3339(now),
    })
}

/// What recording needs to know of a tontine, from the phone's copy.
struct Tontine {
    id: TontineId,
    name: String,
    currency: Currency,
    contribution: Option<Amount>,
}

impl Tontine {
    fn find(conn: &Connection, id: TontineId) -> Result<Tontine> {
        let row = rows::get(conn, Entity::Tontine, id.as_uuid())?
            .ok_or_else(|| Error::not_found("tontine"))?;
        let currency = Currency::parse(&row.text("currency"))
            .map_err(|e| Error::Corrupt(format!("devise de la tontine : {e}")))?;
        let contribution = row
            .fields
            .get("contribution_amount")
            .and_then(|a| Amount::parse(a, currency).ok());
        Ok(Tontine {
            id,
            name: row.text("name"),
            currency,
            contribution,
        })
    }

    /// What the planner needs of the tontine. The phone does not compute penalties (the server
    /// does, at sync): a late payment's penalty is left at zero here.
    fn terms(&self) -> Result<Terms> {
        let contribution = self.contribution.ok_or_else(|| {
            Error::Corrupt("cotisation de la tontine absente ou illisible".to_owned())
        })?;
        Ok(Terms {
            contribution,
            grace_period_days: 0,
            penalty: Amount::zero(self.currency),
        })
    }

    /// One of this tontine's sessions, from the phone's copy.
    fn session(&self, conn: &Connection, id: SessionId) -> Result<LocalSession> {
        let session = rows::get(conn, Entity::Session, id.as_uuid())?
            .filter(|row| self.owns(row))
            .ok_or_else(|| Error::not_found("séance"))?;
        let status = session
            .text("status")
            .parse()
            .map_err(|e: kobiri_core::UnknownVariant| Error::Corrupt(e.to_string()))?;
        let due_date = session
            .text("due_date")
            .parse()
            .map_err(|e| Error::Corrupt(format!("échéance de la séance : {e}")))?;
        Ok(LocalSession {
            target: Target {
                session: id,
                number: session.text("session_number").parse().unwrap_or(0),
                status,
                due_date,
            },
        })
    }

    /// One of this tontine's members, synced or added on this phone (a member added here is
    /// active).
    fn member(&self, conn: &Connection, id: MemberId) -> Result<LocalMember> {
        let corrupt = |e: kobiri_core::IdError| Error::Corrupt(e.to_string());
        if let Some(row) = rows::get(conn, Entity::Member, id.as_uuid())?.filter(|r| self.owns(r)) {
            return Ok(LocalMember {
                name: full_name(&row.text("first_name"), &row.text("last_name")),
                user: UserId::parse(&row.text("user_id")).map_err(corrupt)?,
                is_active: row.flag("is_active"),
            });
        }
        let (name, user) = conn
            .query_row(
                "SELECT first_name, last_name, user_id FROM local_members
                 WHERE id = ?1 AND tontine_id = ?2",
                params![id.to_string(), self.id.to_string()],
                |r| {
                    let name = full_name(&r.get::<_, String>(0)?, &r.get::<_, String>(1)?);
                    Ok((name, r.get::<_, String>(2)?))
                },
            )
            .optional()?
            .ok_or_else(|| Error::not_found("membre"))?;
        Ok(LocalMember {
            name,
            user: UserId::parse(&user).map_err(corrupt)?,
            is_active: true,
        })
    }

    fn owns(&self, row: &Row) -> bool {
        row.tontine_id == self.id.to_string()
    }
}

/// A session of the phone's copy.
struct LocalSession {
    target: Target,
}

/// A member of the phone's copy.
struct LocalMember {
    name: String,
    user: UserId,
    is_active: bool,
}

pub(crate) fn full_name(first: &str, last: &str) -> String {
    format!("{first} {last}").trim().to_owned()
}

/// A payment to correct, known from the server's copy or from this phone's own entries.
struct Original {
    tontine_id: TontineId,
    session_id: SessionId,
    member_id: MemberId,
    /// The user who recorded it (the server's `recorded_by_id`); `None` for an entry of this
    /// phone that the server has not sent back yet. The server credits a pushed entry to the
    /// device's owner, and only the owner may push with the device (`POST /sync` refuses
    /// anyone else), so for every entry that can reach the server that is the logged-in user.
    recorded_by: Option<UserId>,
    /// The server's status and flag (a local entry waits, unflagged).
    status: PaymentStatus,
    flagged: bool,
    amount: Amount,
}

impl Original {
    fn find(conn: &Connection, id: PaymentId) -> Result<Original> {
        let corrupt = |e: kobiri_core::IdError| Error::Corrupt(e.to_string());
        let found = if let Some(row) = rows::get(conn, Entity::Payment, id.as_uuid())? {
            let status = row
                .text("status")
                .parse()
                .map_err(|e: kobiri_core::UnknownVariant| Error::Corrupt(e.to_string()))?;
            let recorded_by = UserId::parse(&row.text("recorded_by_id")).map_err(corrupt)?;
            Some((
                row.tontine_id.clone(),
                row.text("session_id"),
                row.text("member_id"),
                row.text("amount"),
                row.text("currency"),
                (Some(recorded_by), status, row.flag("flagged")),
            ))
        } else {
            conn.query_row(
                "SELECT tontine_id, session_id, member_id, amount, currency FROM local_payments
                 WHERE id = ?1",
                [id.to_string()],
                |r| {
                    let local = (None, PaymentStatus::EnAttente, false);
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, local))
                },
            )
            .optional()?
        };
        let (tontine, session, member, amount, currency, (recorded_by, status, flagged)): (
            String,
            String,
            String,
            String,
            String,
            _,
        ) = found.ok_or_else(|| Error::not_found("paiement"))?;
        let amount = Currency::parse(&currency)
            .and_then(|c| Amount::parse(&amount, c))
            .map_err(|e| Error::Corrupt(format!("montant du paiement : {e}")))?;
        Ok(Original {
            tontine_id: TontineId::parse(&tontine).map_err(corrupt)?,
            session_id: SessionId::parse(&session).map_err(corrupt)?,
            member_id: MemberId::parse(&member).map_err(corrupt)?,
            recorded_by,
            status,
            flagged,
            amount,
        })
    }
}

/// A payment entry made on this phone (a cash payment or a correction).
struct LocalPayment {
    id: PaymentId,
    tontine_id: TontineId,
    session_id: SessionId,
    member_id: MemberId,
    amount: Amount,
    /// The payment corrected and why.
    corrects: Option<(PaymentId, String)>,
}

impl LocalPayment {
    fn insert(&self, tx: &Transaction<'_>, queued: &Queued) -> Result<()> {
        let (corrects, reason) = match &self.corrects {
            Some((id, reason)) => (Some(id.to_string()), Some(reason.as_str())),
            None => (None, None),
        };
        tx.prepare_cached(
            "INSERT INTO local_payments (id, device_id, seq, tontine_id, session_id, member_id,
                                         amount, currency, corrects, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            self.id.to_string(),
            queued.mutation.device_id.to_string(),
            seq_param(queued)?,
            self.tontine_id.to_string(),
            self.session_id.to_string(),
            self.member_id.to_string(),
            self.amount.to_wire_string(),
            self.amount.currency().as_str(),
            corrects,
            reason,
        ])?;
        Ok(())
    }
}

fn seq_param(queued: &Queued) -> Result<i64> {
    i64::try_from(queued.mutation.seq)
        .map_err(|_| Error::integrity("numéro de mutation hors limites"))
}

/// Parses an id typed or passed by the app.
fn parse_id<T: FromStr>(field: &str, s: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e| Error::validation(field, e))
}
