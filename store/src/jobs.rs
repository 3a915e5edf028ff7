//! Scheduled jobs: rows of `jobs`, unique by `dedup_key`, claimed by one worker at a time
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the single writer on SQLite), and the late-payment
//! write that a penalty job makes for each member.

use chrono::{DateTime, NaiveDate, Utc};
use kobiri_core::{MemberId, SessionId};
use uuid::Uuid;

use super::{NewAudit, NewNotification, StoreError, Timestamp};

/// Where a job stands. The only place these strings are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    /// Waiting for `run_at`.
    Pending,
    /// Claimed by a worker until `locked_until`; reclaimable after that.
    Running,
    Done,
    /// Gave up after too many attempts.
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }
}

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Remind the unpaid members of an open session (`payload.step`: `d-2` or `d0`).
    Reminder,
    /// Count a missed payment for each member still unpaid after the grace period.
    LatePenalty,
    /// Send the receipts of the cash payments a sync batch brought (`payload.payments`).
    Receipts,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Reminder => "reminder",
            JobKind::LatePenalty => "late_penalty",
            JobKind::Receipts => "receipts",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "reminder" => Some(JobKind::Reminder),
            "late_penalty" => Some(JobKind::LatePenalty),
            "receipts" => Some(JobKind::Receipts),
            _ => None,
        }
    }
}

/// A job to schedule; nothing happens when its `dedup_key` exists.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: Uuid,
    pub kind: JobKind,
    pub dedup_key: String,
    pub session_id: Option<SessionId>,
    pub payload: serde_json::Value,
    pub run_at: Timestamp,
    pub now: Timestamp,
}

/// A claimed job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: Uuid,
    pub kind: JobKind,
    pub session_id: Option<SessionId>,
    pub payload: serde_json::Value,
    pub run_at: Timestamp,
    /// Counting this run.
    pub attempts: u32,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Done,
    /// Back to `pending`, to run again at `at`.
    Retry {
        at: Timestamp,
        error: String,
    },
    Failed {
        error: String,
    },
}

/// An open session that has no jobs yet, with the dates its jobs need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionToSchedule {
    pub session_id: SessionId,
    pub due_date: NaiveDate,
    pub grace_period_days: u32,
}

/// One member's missed payment: `missed_payments + 1`, the notifications and the audit entry
/// in one transaction, only if the first notification (in-app, with the member's
/// `late:{session}:{member}` dedup key) is new and the member still has no live payment.
#[derive(Debug, Clone)]
pub struct MissedPayment {
    pub member_id: MemberId,
    pub session_id: SessionId,
    /// The in-app notification first; it carries the dedup key.
    pub notifications: Vec<NewNotification>,
    /// `before`/`after` are filled in by the store with the counts it saw.
    pub audit: NewAudit,
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct JobRow {
    id: Uuid,
    kind: String,
    session_id: Option<Uuid>,
    payload: String,
    run_at: DateTime<Utc>,
    attempts: i32,
}

impl TryFrom<JobRow> for Job {
    type Error = StoreError;

    fn try_from(r: JobRow) -> Result<Self, StoreError> {
        Ok(Job {
            id: r.id,
            kind: JobKind::parse(&r.kind)
                .ok_or_else(|| StoreError::corrupt(format!("job kind {}", r.kind)))?,
            session_id: r.session_id.map(SessionId::from_uuid),
            payload: serde_json::from_str(&r.payload).map_err(StoreError::corrupt)?,
            run_at: r.run_at,
            attempts: u32::try_from(r.attempts).map_err(StoreError::corrupt)?,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct SessionToScheduleRow {
    id: Uuid,
    due_date: NaiveDate,
    grace_period_days: i32,
}

impl TryFrom<SessionToScheduleRow> for SessionToSchedule {
    type Error = StoreError;

    fn try_from(r: SessionToScheduleRow) -> Result<Self, StoreError> {
        Ok(SessionToSchedule {
            session_id: SessionId::from_uuid(r.id),
            due_date: r.due_date,
            grace_period_days: u32::try_from(r.grace_period_days).map_err(StoreError::corrupt)?,
        })
    }
}

/// The columns a finished run sets: status, run_at (kept when `None`), finished_at, error.
pub(crate) fn outcome_columns(
    outcome: &JobOutcome,
    now: Timestamp,
) -> (
    JobStatus,
    Option<Timestamp>,
    Option<Timestamp>,
    Option<&str>,
) {
    match outcome {
        JobOutcome::Done => (JobStatus::Done, None, Some(now), None),
        JobOutcome::Retry { at, error } => (JobStatus::Pending, Some(*at), None, Some(error)),
        JobOutcome::Failed { error } => (JobStatus::Failed, None, Some(now), Some(error)),
    }
}

pub(super) struct JobQueries {
    /// Binds: the en_cours status, the late-penalty kind, limit.
    pub sessions_to_schedule: &'static str,
    /// Binds: id, kind, dedup_key, payload, run_at, the pending status, now, session_id.
    pub insert: &'static str,
    /// Binds: the running status, lease end, the pending status, now, limit.
    pub claim: &'static str,
    /// Binds: id, attempts, status, run_at, finished_at, error, the running status. Only the
    /// run that claimed the job (same attempt, still running) may finish it.
    pub finish: &'static str,
    /// Binds: member id. Returns the new count (none when the member left). Whether the member
    /// paid is decided before, with core's rule ([`kobiri_core::Dues`]).
    pub count_missed: &'static str,
}

pub(super) const SQLITE: JobQueries = JobQueries {
    sessions_to_schedule: "SELECT s.id, s.due_date, t.grace_period_days \
        FROM sessions s JOIN tontines t ON t.id = s.tontine_id \
        WHERE s.status = $1 AND t.is_active \
        AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.session_id = s.id AND j.kind = $2) \
        ORDER BY s.due_date, s.id LIMIT $3",
    insert: "INSERT INTO jobs (id, kind, dedup_key, payload, run_at, status, created_at, \
        session_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (dedup_key) DO NOTHING",
    // SQLite has one writer: the UPDATE is atomic, no row lock is needed.
    claim: "UPDATE jobs SET status = $1, attempts = attempts + 1, locked_until = $2 \
        WHERE id IN (SELECT id FROM jobs \
        WHERE (status = $3 AND run_at <= $4) OR (status = $1 AND locked_until < $4) \
        ORDER BY run_at, id LIMIT $5) \
        RETURNING id, kind, session_id, payload, run_at, attempts",
    finish: "UPDATE jobs SET status = $3, run_at = COALESCE($4, run_at), finished_at = $5, \
        last_error = $6, locked_until = NULL WHERE id = $1 AND attempts = $2 AND status = $7",
    count_missed: "UPDATE members SET missed_payments = missed_payments + 1 \
        WHERE id = $1 AND is_active RETURNING missed_payments",
};

/// Claims skip rows another worker holds, so replicas share the queue without blocking.
pub(super) const POSTGRES: JobQueries = JobQueries {
    insert: "INSERT INTO jobs (id, kind, dedup_key, payload, run_at, status, created_at, \
        session_id) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8) \
        ON CONFLICT (dedup_key) DO NOTHING",
    claim: "UPDATE jobs SET status = $1, attempts = attempts + 1, locked_until = $2 \
        WHERE id IN (SELECT id FROM jobs \
        WHERE (status = $3 AND run_at <= $4) OR (status = $1 AND locked_until < $4) \
        ORDER BY run_at, id LIMIT $5 FOR UPDATE SKIP LOCKED) \
        RETURNING id, kind, session_id, payload::text AS payload, run_at, attempts",
    ..SQLITE
};

/// Inserts job `$job` (a `NewJob`) on `$conn` unless its dedup key exists; evaluates to the
/// rows inserted (0 or 1).
macro_rules! insert_job {
    ($conn:expr, $jq:expr, $job:expr) => {
        sqlx::query($jq.insert)
            .bind($job.id)
            .bind($job.kind.as_str())
            .bind(&$job.dedup_key)
            .bind($job.payload.to_string())
            .bind($job.run_at)
            .bind($crate::JobStatus::Pending.as_str())
            .bind($job.now)
            .bind($job.session_id.map(|s| s.as_uuid()))
            .execute($conn)
            .await?
            .rows_affected()
    };
}
pub(super) use insert_job;

/// Implements `JobStore` for an engine's store, given its job, audit and notification
/// queries.
macro_rules! impl_job_store {
    ($store:ty, $jq:expr, $aq:expr, $nq:expr) => {
        #[async_trait::async_trait]
        impl $crate::JobStore for $store {
            async fn sessions_to_schedule(
                &self,
                limit: u32,
            ) -> $crate::StoreResult<Vec<$crate::SessionToSchedule>> {
                let rows: Vec<$crate::jobs::SessionToScheduleRow> =
                    sqlx::query_as($jq.sessions_to_schedule)
                        .bind(kobiri_core::SessionStatus::EnCours.as_str())
                        .bind($crate::JobKind::LatePenalty.as_str())
                        .bind(i64::from(limit))
                        .fetch_all(self.reader())
                        .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn schedule_jobs(
                &self,
                jobs: &[$crate::NewJob],
            ) -> $crate::StoreResult<u64> {
                let mut tx = self.writer().begin().await?;
                let mut scheduled = 0;
                for j in jobs {
                    scheduled += $crate::jobs::insert_job!(&mut *tx, $jq, j);
                }
                tx.commit().await?;
                Ok(scheduled)
            }

            async fn claim_jobs(
                &self,
                now: $crate::Timestamp,
                lease_until: $crate::Timestamp,
                limit: u32,
            ) -> $crate::StoreResult<Vec<$crate::Job>> {
                use $crate::JobStatus;
                let rows: Vec<$crate::jobs::JobRow> = sqlx::query_as($jq.claim)
                    .bind(JobStatus::Running.as_str())
                    .bind(lease_until)
                    .bind(JobStatus::Pending.as_str())
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(self.writer())
                    .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn finish_job(
                &self,
                job: &$crate::Job,
                outcome: &$crate::JobOutcome,
                now: $crate::Timestamp,
            ) -> $crate::StoreResult<bool> {
                let (status, run_at, finished_at, error) =
                    $crate::jobs::outcome_columns(outcome, now);
                let done = sqlx::query($jq.finish)
                    .bind(job.id)
                    .bind(i64::from(job.attempts))
                    .bind(status.as_str())
                    .bind(run_at)
                    .bind(finished_at)
                    .bind(error)
                    .bind($crate::JobStatus::Running.as_str())
                    .execute(self.writer())
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn record_missed_payment(
                &self,
                m: &$crate::MissedPayment,
            ) -> $crate::StoreResult<bool> {
                let Some((first, rest)) = m.notifications.split_first() else {
                    return Ok(false);
                };
                let mut tx = self.writer().begin().await?;
                let first = std::slice::from_ref(first);
                if $crate::notifications::insert_notifications!(tx, $nq, first) == 0 {
                    return Ok(false);
                }
                let missed: Option<i32> = sqlx::query_scalar($jq.count_missed)
                    .bind(m.member_id.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(missed) = missed else {
                    return Ok(false);
                };
                $crate::notifications::insert_notifications!(tx, $nq, rest);
                let audit = m.audit.clone().with_change(
                    Some(serde_json::json!({ "missed_payments": missed - 1 })),
                    Some(serde_json::json!({
                        "missed_payments": missed,
                        "session_id": m.session_id.as_uuid(),
                    })),
                );
                $crate::audit::insert_audit!(&mut *tx, $aq, audit);
                tx.commit().await?;
                Ok(true)
            }
        }
    };
}
pub(super) use impl_job_store;
