//! The reminder job: on the day of its step, a `rappel_cotisation` to each active member of an
//! open session's tontine who has not paid it ([`kobiri_core::Dues::Unpaid`]: nothing
//! validated or waiting covers the contribution), once per member, session and step. Each
//! open session has its own jobs, so a member behind on two open sessions hears of both.

use kobiri_core::{Event, NotificationType, SessionStatus};

use super::{ReminderStep, reminder_key, session_of};
use crate::{
    notify::plan::{Links, Plan},
    sessions::unpaid_recipients,
    store::{Job, Session, Store, StoreError, StoreResult, Timestamp, Tontine},
};

/// The reminder of `session` in `tontine`, with a manager's message when given.
pub fn reminder_event(tontine: &Tontine, session: &Session, custom: Option<String>) -> Event {
    Event::Reminder {
        tontine: tontine.name.clone(),
        session_number: session.session_number,
        due_date: session.due_date,
        amount: tontine.contribution,
        custom,
    }
}

/// Runs a reminder job; returns how many notification rows it wrote. Does nothing when the
/// session is no longer open or the step's day has passed (a server down for days sends the
/// reminder that is still true, not a stale one).
#[tracing::instrument(skip_all, fields(job = %job.id, session = ?job.session_id))]
pub(super) async fn run(store: &dyn Store, job: &Job, now: Timestamp) -> StoreResult<u64> {
    let step = job
        .payload
        .get("step")
        .and_then(serde_json::Value::as_str)
        .and_then(ReminderStep::parse)
        .ok_or_else(|| StoreError::corrupt(format!("reminder job {} has no step", job.id)))?;
    let Some(session) = store.session_by_id(session_of(job)?).await? else {
        return Ok(0);
    };
    if session.status != SessionStatus::EnCours || now.date_naive() > step.day(session.due_date) {
        return Ok(0);
    }
    let Some(tontine) = store
        .tontine_by_id(session.tontine_id)
        .await?
        .filter(|t| t.is_active)
    else {
        return Ok(0);
    };
    let recipients = unpaid_recipients(
        store,
        &session,
        tontine.contribution,
        NotificationType::RappelCotisation,
    )
    .await?;
    let event = reminder_event(&tontine, &session, None);
    let plan = Plan::new(&event, Links::of_session(&session), now);
    let rows: Vec<_> = recipients
        .iter()
        .flat_map(|r| plan.for_recipient(r, Some(&reminder_key(session.id, r.user_id, step))))
        .collect();
    store.write_notifications(&rows).await
}
