//! The one planner of a new payment: [`plan_payment`].
//!
//! A payment reaches Kobiri four ways: a declaration or a cash record through the REST API, a
//! mobile-money payment started with an operator, a cash payment pushed by a phone at sync,
//! and the phone itself, checking before it queues. All four call [`plan_payment`] with the
//! facts they read ([`PaymentFacts`]) and write what it returns ([`PaymentPlan`]), so they
//! cannot disagree.
//!
//! The paths differ in one parameter, [`Via`]: what a broken rule does.
//! - Online ([`Via::Api`], [`Via::MobileMoney`]) every broken rule is a refusal.
//! - At sync ([`Via::Sync`]) the cash was really collected: a rule the world broke meanwhile
//!   (session closed, member left, contribution changed, a second payment) keeps the payment,
//!   flagged for the treasurer. Only a caller whose role does not allow it is refused.
//! - On the phone ([`Via::Phone`]) the rules refuse as online, except a second payment for
//!   the same member and session: the phone's copy of others' payments may be old, and the
//!   cash is in the collector's hands, so it is queued and the server flags it at sync.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use super::{PaymentMethod, PaymentStatus, WrongAmount, check_contribution, penalty_for};
use crate::error::ErrorCode;
use crate::id::{MemberId, SessionId, UserId};
use crate::money::Amount;
use crate::permission::{Action, Caller};
use crate::session::{NoPayments, SessionStatus};

/// What the tontine asks of each payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    /// The contribution: a payment is exactly this.
    pub contribution: Amount,
    /// Days after a session's due date before a payment is late.
    pub grace_period_days: u32,
    /// What a late payment bears, beside the contribution.
    pub penalty: Amount,
}

/// The member who pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payer {
    pub member: MemberId,
    pub user: UserId,
    pub is_active: bool,
}

/// The session paid for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub session: SessionId,
    pub number: u32,
    pub status: SessionStatus,
    pub due_date: NaiveDate,
}

/// Everything [`plan_payment`] decides on.
#[derive(Debug, Clone, Copy)]
pub struct PaymentFacts<'a> {
    pub caller: Caller,
    pub terms: Terms,
    pub payer: Payer,
    pub session: Target,
    /// The payer already has a live payment (not failed, cancelled or refunded, and not
    /// itself flagged) for this session, as far as the path knows. Online, the database's
    /// unique index is the last word: a conflict there is [`PaymentRefusal::Duplicate`] too.
    pub already_paid: bool,
    pub amount: Amount,
    /// The clock: the day of an online payment, the upper bound of a pushed one's.
    pub now: DateTime<Utc>,
    pub via: Via<'a>,
}

/// How the payment arrives: what a broken rule does, and what the path adds to the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via<'a> {
    /// `POST /payments`: a member's declaration or a manager's cash record.
    Api { method: PaymentMethod },
    /// `POST /payments/mobile-money`: started with the operator, `en_cours` until it answers.
    MobileMoney {
        method: PaymentMethod,
        provider: &'a str,
    },
    /// A phone, checking before it queues a cash payment.
    Phone,
    /// A cash payment pushed by a phone.
    Sync {
        /// The mutation's number in the device's log.
        seq: u64,
        /// When the phone says it took the cash (unix seconds); never later than `now`.
        recorded_at: i64,
        /// The receipt code the member was given (derived from the mutation).
        receipt_code: &'a str,
        /// That code is already another payment's.
        receipt_taken: bool,
        /// What the log checks found wrong (a broken chain, a clock ahead).
        integrity: &'a [String],
    },
}

impl Via<'_> {
    fn method(self) -> PaymentMethod {
        match self {
            Via::Api { method } | Via::MobileMoney { method, .. } => method,
            Via::Phone | Via::Sync { .. } => PaymentMethod::Especes,
        }
    }

    /// Whether a broken rule keeps the payment, flagged, instead of refusing it.
    fn keeps_cash(self) -> bool {
        matches!(self, Via::Sync { .. })
    }
}

/// Why a payment is refused, or (at sync) why it is kept flagged. `Display` is the one French
/// message, for an API `detail`, a phone's error and a flag's reason alike.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentRefusal {
    /// The caller's role allows neither their own payment nor one for this member.
    #[error("votre rôle ne permet pas d'encaisser pour ce membre")]
    NotAllowed,
    /// The member has left the tontine.
    #[error("ce membre a quitté la tontine")]
    MemberLeft,
    /// The session is closed, cancelled or suspended (the request or the flag names it).
    #[error("{why}")]
    SessionClosed { number: u32, why: NoPayments },
    /// The amount is not the contribution.
    #[error(transparent)]
    WrongAmount(WrongAmount),
    /// The member already has a payment for this session.
    #[error("ce membre a déjà un paiement pour cette séance")]
    Duplicate,
    /// The receipt code given to the member is another payment's (sync only).
    #[error(
        "le code de reçu {0} est déjà celui d'un autre paiement : donnez au membre un reçu \
         vérifiable"
    )]
    ReceiptTaken(String),
    /// What the log checks found (sync only).
    #[error("{0}")]
    Integrity(String),
}

impl PaymentRefusal {
    /// The API error code of the refusal.
    pub fn code(&self) -> ErrorCode {
        match self {
            PaymentRefusal::NotAllowed => ErrorCode::Forbidden,
            PaymentRefusal::Duplicate | PaymentRefusal::ReceiptTaken(_) => ErrorCode::Conflict,
            PaymentRefusal::MemberLeft
            | PaymentRefusal::SessionClosed { .. }
            | PaymentRefusal::WrongAmount(_) => ErrorCode::BusinessRule,
            PaymentRefusal::Integrity(_) => ErrorCode::ValidationError,
        }
    }

    /// The field of the request the refusal is about, if one is.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            PaymentRefusal::MemberLeft => Some("member_id"),
            PaymentRefusal::SessionClosed { .. } => Some("session_id"),
            PaymentRefusal::WrongAmount(_) => Some("amount"),
            _ => None,
        }
    }

    /// The stable code of a flag kept for this reason (`GET /tontines/{id}/flags`).
    pub fn flag_code(&self) -> &'static str {
        match self {
            PaymentRefusal::NotAllowed => "forbidden",
            PaymentRefusal::MemberLeft => "member_inactive",
            PaymentRefusal::SessionClosed { why, .. } => why.code(),
            PaymentRefusal::WrongAmount(_) => "wrong_amount",
            PaymentRefusal::Duplicate => "duplicate_payment",
            PaymentRefusal::ReceiptTaken(_) => "receipt_collision",
            PaymentRefusal::Integrity(_) => "integrity",
        }
    }
}

/// The payment to write.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentPlan {
    pub method: PaymentMethod,
    /// `en_attente` (waits for a treasurer), or `en_cours` (waits for the operator).
    pub status: PaymentStatus,
    pub is_late: bool,
    /// The penalty a late payment bears (zero otherwise).
    pub penalty: Amount,
    /// The rules broken, in the order checked: never empty means flagged (sync only).
    pub flags: Vec<PaymentRefusal>,
    /// The receipt code to store with the payment (sync: unless it is another payment's).
    pub receipt_code: Option<String>,
    /// The audit entry's action (`payment.recorded`, `payment.initiated`).
    pub audit_action: &'static str,
    /// The audit entry's `after`: the same keys on every path.
    pub audit: Value,
}

impl PaymentPlan {
    /// Kept for a treasurer's review.
    pub fn is_flagged(&self) -> bool {
        !self.flags.is_empty()
    }

    /// The flag's code (that of the last rule broken) and its reason (every rule broken).
    pub fn flag(&self) -> Option<(&'static str, String)> {
        let last = self.flags.last()?;
        let reasons: Vec<String> = self.flags.iter().map(ToString::to_string).collect();
        Some((last.flag_code(), reasons.join(" ; ")))
    }
}

/// May `caller` record a payment by the member whose account is `payer`: their own payment, or
/// one for another member (cash collected)? The planner's first rule, also asked on its own by
/// a path that must answer it before reading more (so that a stranger learns nothing of the
/// tontine's sessions).
pub fn may_record(caller: Caller, payer: UserId) -> Result<(), PaymentRefusal> {
    let action = if payer == caller.user {
        Action::RecordOwnPayment
    } else {
        Action::RecordPaymentForOthers
    };
    if caller.may(action) {
        Ok(())
    } else {
        Err(PaymentRefusal::NotAllowed)
    }
}

/// Plans a new payment from `facts`: the refusal, or the payment to write with its flags and
/// its audit entry. Pure: the path reads the facts and writes the plan.
// Long on purpose: the whole payment rule as one sequence of checks, read top to bottom in the
// order in which refusals take precedence.
pub fn plan_payment(facts: &PaymentFacts<'_>) -> Result<PaymentPlan, PaymentRefusal> {
    let PaymentFacts {
        caller,
        terms,
        payer,
        session,
        already_paid,
        amount,
        now,
        via,
    } = *facts;
    let mut flags = Vec::new();
    if let Via::Sync { integrity, .. } = via {
        flags.extend(integrity.iter().cloned().map(PaymentRefusal::Integrity));
    }
    may_record(caller, payer.user)?;
    // The other rules, in the order sync has always flagged them (the last names the flag).
    let mut broken = |refusal: PaymentRefusal| {
        if via.keeps_cash() {
            flags.push(refusal);
            Ok(())
        } else {
            Err(refusal)
        }
    };
    // An open session takes contributions and arrears; a planned one takes advances.
    if let Err(why) = session.status.payment_window() {
        broken(PaymentRefusal::SessionClosed {
            number: session.number,
            why,
        })?;
    }
    if !payer.is_active {
        broken(PaymentRefusal::MemberLeft)?;
    }
    if let Err(e) = check_contribution(amount, terms.contribution) {
        broken(PaymentRefusal::WrongAmount(e))?;
    }
    let (paid_on, receipt_code) = match via {
        Via::Sync {
            recorded_at,
            receipt_code,
            receipt_taken,
            ..
        } => {
            if receipt_taken {
                broken(PaymentRefusal::ReceiptTaken(receipt_code.to_owned()))?;
            }
            let said = DateTime::from_timestamp(recorded_at, 0).map_or(now, |t| t.min(now));
            (
                said.date_naive(),
                (!receipt_taken).then(|| receipt_code.to_owned()),
            )
        }
        _ => (now.date_naive(), None),
    };
    if already_paid && via != Via::Phone {
        broken(PaymentRefusal::Duplicate)?;
    }
    let (is_late, penalty) = penalty_for(
        paid_on,
        session.due_date,
        terms.grace_period_days,
        terms.penalty,
    );
    let method = via.method();
    let status = match via {
        Via::MobileMoney { .. } => PaymentStatus::EnCours,
        _ => PaymentStatus::EnAttente,
    };
    let mut audit = json!({
        "amount": amount.to_wire_string(),
        "member_id": payer.member,
        "session_id": session.session,
        "method": method,
        "status": status,
        "is_late": is_late,
        "penalty_amount": penalty.to_wire_string(),
        "flagged": !flags.is_empty(),
    });
    match via {
        Via::MobileMoney { provider, .. } => audit["provider"] = json!(provider),
        Via::Sync {
            seq, receipt_code, ..
        } => {
            audit["receipt_code"] = json!(receipt_code);
            audit["seq"] = json!(seq);
        }
        Via::Api { .. } | Via::Phone => {}
    }
    Ok(PaymentPlan {
        method,
        status,
        is_late,
        penalty,
        flags,
        receipt_code,
        audit_action: match via {
            Via::MobileMoney { .. } => "payment.initiated",
            _ => "payment.recorded",
        },
        audit,
    })
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
