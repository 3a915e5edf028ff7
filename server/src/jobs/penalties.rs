//! The late-penalty job: after a session's grace period, each active member who has not paid
//! it ([`kobiri_core::Dues::Unpaid`]; a payment waiting for validation counts as paying) gets
//! `missed_payments + 1` and an `alerte_retard`, exactly once per member and session, with an
//! audit entry `member.missed_payment`, all in one transaction per member. Each session has
//! its own job: a member behind on two sessions is counted once for each.

use kobiri_core::{Event, NotificationType, SessionStatus};

use super::{late_key, session_of};
use crate::notify::plan::{Links, Plan};
use crate::sessions::unpaid_recipients;
use crate::store::{AuditSource, Job, MissedPayment, NewAudit, Store, StoreResult, Timestamp};

/// Runs a late-penalty job; returns how many members it counted. A session closed with
/// payments missing (`terminee`) still counts them; a cancelled or paused one, or one of a
/// deactivated tontine, does not.
#[tracing::instrument(skip_all, fields(job = %job.id, session = ?job.session_id))]
pub(super) async fn run(store: &dyn Store, job: &Job, now: Timestamp) -> StoreResult<u64> {
    let Some(session) = store.session_by_id(session_of(job)?).await? else {
        return Ok(0);
    };
    if !matches!(
        session.status,
        SessionStatus::EnCours | SessionStatus::Terminee
    ) {
        return Ok(0);
    }
    let Some(tontine) = store
        .tontine_by_id(session.tontine_id)
        .await?
        .filter(|t| t.is_active)
    else {
        return Ok(0);
    };
    let event = Event::PaymentLate {
        tontine: tontine.name.clone(),
        session_number: session.session_number,
        penalty: tontine.penalty,
    };
    let plan = Plan::new(&event, Links::of_session(&session), now);
    let mut counted = 0;
    for r in unpaid_recipients(
        store,
        &session,
        tontine.contribution,
        NotificationType::AlerteRetard,
    )
    .await?
    {
        let missed = MissedPayment {
            member_id: r.member_id,
            session_id: session.id,
            notifications: plan.for_recipient(&r, Some(&late_key(session.id, r.member_id))),
            audit: NewAudit {
                id: kobiri_core::new_uuid(),
                tontine_id: Some(tontine.id),
                actor_id: None,
                action: "member.missed_payment",
                entity: "member",
                entity_id: r.member_id.as_uuid(),
                before: None,
                after: None,
                source: AuditSource::Job,
                device_id: None,
                at: now,
            },
        };
        if store.record_missed_payment(&missed).await? {
            counted += 1;
        }
    }
    Ok(counted)
}
