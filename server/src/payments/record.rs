//! Recording a payment on the server: the facts core's planner ([`plan_payment`]) decides on,
//! read from the store's rows, and the payment and audit entry its plan writes. REST cash
//! (`POST /payments`), mobile-money initiation and sync pushes all come through here; the
//! phone calls the same planner over its own copy.
//!
//! [`plan_payment`]: kobiri_core::plan_payment

use kobiri_core::{
    Caller, Payer, PaymentFacts, PaymentId, PaymentPlan, PaymentRefusal, Target, Terms, UserId,
};

use crate::{
    error::ApiError,
    store::{Member, NewAudit, NewPayment, Session, Tontine},
    tontines::TontineAccess,
};

/// The caller as the planner sees them: their platform role and active membership.
pub(crate) fn caller(access: &TontineAccess, user: UserId) -> Caller {
    Caller {
        user,
        platform: access.platform,
        membership: access.member.as_ref().map(|m| m.role),
    }
}

/// What `tontine` asks of each payment.
pub(crate) fn terms(tontine: &Tontine) -> Terms {
    Terms {
        contribution: tontine.contribution,
        grace_period_days: tontine.grace_period_days,
        penalty: tontine.penalty,
    }
}

/// The member who pays.
pub(crate) fn payer(member: &Member) -> Payer {
    Payer {
        member: member.id,
        user: member.user_id,
        is_active: member.is_active,
    }
}

/// The session paid for.
pub(crate) fn target(session: &Session) -> Target {
    Target {
        session: session.id,
        number: session.session_number,
        status: session.status,
        due_date: session.due_date,
    }
}

/// The planner's refusal as an API error: its code and its one French message.
pub(crate) fn refused(refusal: &PaymentRefusal) -> ApiError {
    ApiError::new(refusal.code()).with_detail(refusal.to_string())
}

/// The payment `plan` writes (optional details left empty for the path to fill).
pub(crate) fn new_payment(
    id: PaymentId,
    tontine: &Tontine,
    facts: &PaymentFacts<'_>,
    plan: &PaymentPlan,
) -> NewPayment {
    NewPayment {
        id,
        tontine_id: tontine.id,
        session_id: facts.session.session,
        member_id: facts.payer.member,
        user_id: facts.payer.user,
        amount: facts.amount,
        method: plan.method,
        status: plan.status,
        operator_transaction_id: None,
        phone_number: None,
        proof_url: None,
        proof_description: None,
        penalty_amount: plan.penalty,
        is_late: plan.is_late,
        recorded_by_id: facts.caller.user,
        device_id: None,
        notes: None,
        now: facts.now,
    }
}

/// The audit entry of `payment`, as `plan` words it (the path sets its source).
pub(crate) fn audit(payment: &NewPayment, plan: &PaymentPlan) -> NewAudit {
    NewAudit::api(
        payment.recorded_by_id,
        payment.tontine_id,
        plan.audit_action,
        "payment",
        payment.id.as_uuid(),
        payment.now,
    )
    .with_change(None, Some(plan.audit.clone()))
}

/// A store conflict on the one-live-payment-per-member-and-session index: the planner's own
/// refusal, so that it reads the same whether the planner or the database saw it first.
pub(crate) fn duplicate() -> ApiError {
    refused(&PaymentRefusal::Duplicate)
}
