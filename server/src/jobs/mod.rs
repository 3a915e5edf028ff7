//! Scheduled work, run inside the server: reminders before a session's due date, missed
//! payments after its grace period, and the receipts of cash that arrived by sync (see
//! [`receipts`], queued by the sync batch itself and run at once).
//!
//! Each pass (see [`run_pass`]) first **schedules**: every open (`en_cours`) session of an
//! active tontine that has no jobs yet gets three rows in `jobs` — a reminder two days before
//! the due date (`d-2`), one on the due date (`d0`), and a late-penalty job on
//! [`kobiri_core::late_after`] — each at [`SEND_HOUR_UTC`]. Then it **claims** due jobs
//! atomically (`FOR UPDATE SKIP LOCKED` on PostgreSQL) and runs them. A job's `dedup_key`
//! makes scheduling idempotent; the notifications' dedup keys make running idempotent, so two
//! server processes (or a job re-run after a crash) never remind or count a member twice.
//!
//! Dates are calendar dates in UTC: Kobiri's users live in UTC+0 and UTC+1.

mod penalties;
pub mod receipts;
mod reminders;
mod runner;

use chrono::{Days, NaiveDate, TimeDelta};
use kobiri_core::{SessionId, late_after};
use serde_json::json;

pub use reminders::reminder_event;
pub use runner::{JobRunner, PassReport, run_due, run_pass, schedule, spawn, spawn_loop};

use crate::store::{JobKind, NewJob, SessionToSchedule, StoreError, StoreResult, Timestamp};

/// The hour (UTC) at which a job fires on its day: 08:00 in Dakar and Abidjan, 09:00 in
/// Cotonou and Douala. Not in the middle of the night.
pub const SEND_HOUR_UTC: u32 = 8;

/// How long a claimed job stays with its worker before another may reclaim it.
pub const LEASE: TimeDelta = TimeDelta::minutes(5);

/// Runs of a failing job before it is marked `failed`.
pub const MAX_ATTEMPTS: u32 = 5;

/// Which reminder of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderStep {
    /// Two days before the due date.
    TwoDaysBefore,
    /// On the due date.
    DueDay,
}

impl ReminderStep {
    pub const ALL: [ReminderStep; 2] = [ReminderStep::TwoDaysBefore, ReminderStep::DueDay];

    /// The step as it appears in payloads and dedup keys.
    pub fn as_str(self) -> &'static str {
        match self {
            ReminderStep::TwoDaysBefore => "d-2",
            ReminderStep::DueDay => "d0",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|step| step.as_str() == s)
    }

    /// The day this reminder goes out for a session due on `due`.
    pub fn day(self, due: NaiveDate) -> NaiveDate {
        let before = match self {
            ReminderStep::TwoDaysBefore => 2,
            ReminderStep::DueDay => 0,
        };
        due.checked_sub_days(Days::new(before)).unwrap_or(due)
    }
}

/// `reminder:{session_id}:{user_id}:{d-2|d0}`: one reminder per member, session and day.
pub fn reminder_key(session: SessionId, user: kobiri_core::UserId, step: ReminderStep) -> String {
    format!("reminder:{session}:{user}:{}", step.as_str())
}

/// `late:{session_id}:{member_id}`: one missed payment per member and session.
pub fn late_key(session: SessionId, member: kobiri_core::MemberId) -> String {
    format!("late:{session}:{member}")
}

/// The moment a job for `day` fires.
fn fire_at(day: NaiveDate) -> Timestamp {
    day.and_hms_opt(SEND_HOUR_UTC, 0, 0)
        .unwrap_or_default()
        .and_utc()
}

/// The three jobs of an open session.
pub fn session_jobs(s: &SessionToSchedule, now: Timestamp) -> Vec<NewJob> {
    let id = s.session_id;
    let job = |kind: JobKind, key: String, payload: serde_json::Value, day: NaiveDate| NewJob {
        id: kobiri_core::new_uuid(),
        kind,
        dedup_key: key,
        session_id: Some(id),
        payload,
        run_at: fire_at(day),
        now,
    };
    let mut jobs: Vec<NewJob> = ReminderStep::ALL
        .into_iter()
        .map(|step| {
            job(
                JobKind::Reminder,
                format!("reminder:{id}:{}", step.as_str()),
                json!({"session_id": id, "step": step.as_str()}),
                step.day(s.due_date),
            )
        })
        .collect();
    jobs.push(job(
        JobKind::LatePenalty,
        format!("late:{id}"),
        json!({"session_id": id}),
        late_after(s.due_date, s.grace_period_days),
    ));
    jobs
}

/// A job's session, which the reminder and late-penalty kinds need.
fn session_of(job: &crate::store::Job) -> StoreResult<SessionId> {
    job.session_id
        .ok_or_else(|| StoreError::corrupt(format!("job {} has no session", job.id)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn a_session_gets_two_reminders_and_a_late_job_at_eight() {
        let s = SessionToSchedule {
            session_id: SessionId::new(),
            due_date: d(2027, 3, 1),
            grace_period_days: 3,
        };
        let jobs = session_jobs(&s, Utc::now());
        let runs: Vec<String> = jobs.iter().map(|j| j.run_at.to_rfc3339()).collect();
        assert_eq!(
            runs,
            [
                "2027-02-27T08:00:00+00:00",
                "2027-03-01T08:00:00+00:00",
                "2027-03-05T08:00:00+00:00"
            ]
        );
        assert_eq!(jobs[0].dedup_key, format!("reminder:{}:d-2", s.session_id));
        assert_eq!(jobs[2].kind, JobKind::LatePenalty);
    }

    #[test]
    fn steps_round_trip() {
        for step in ReminderStep::ALL {
            assert_eq!(ReminderStep::parse(step.as_str()), Some(step));
        }
        assert_eq!(ReminderStep::parse("d-1"), None);
    }
}
