//! The runner: a task started by `app::serve` that schedules and runs jobs every
//! `JOBS_INTERVAL_SECONDS`, and the pass it runs, which tests call directly with their clock.
//! [`spawn_loop`] is the loop itself, shared with the outbox worker.

use std::{sync::Arc, time::Duration};

use chrono::TimeDelta;
use tokio::{
    sync::{Notify, watch},
    task::JoinHandle,
    time::MissedTickBehavior,
};

use super::{LEASE, MAX_ATTEMPTS, penalties, receipts, reminders, session_jobs};
use crate::{
    clock::{Clock, SharedClock},
    store::{Job, JobKind, JobOutcome, Store, StoreResult, Timestamp},
};

/// Open sessions scheduled per pass.
const SCHEDULE_BATCH: u32 = 500;
/// Jobs claimed at a time, and claims per pass.
const CLAIM_BATCH: u32 = 20;
const CLAIMS_PER_PASS: u32 = 50;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Jobs created for newly open sessions.
    pub scheduled: u64,
    /// Jobs run to completion.
    pub done: u32,
    /// Jobs that failed this time (retried later, or given up).
    pub failed: u32,
}

/// One pass: schedule the jobs of newly open sessions, then run the due ones. Safe to run
/// from several processes at once.
#[tracing::instrument(skip_all)]
pub async fn run_pass(store: &dyn Store, clock: &dyn Clock) -> StoreResult<PassReport> {
    let scheduled = schedule(store, clock.now()).await?;
    let (done, failed) = run_due(store, clock).await?;
    Ok(PassReport {
        scheduled,
        done,
        failed,
    })
}

/// Gives each open session without jobs its reminder and late-penalty jobs.
pub async fn schedule(store: &dyn Store, now: Timestamp) -> StoreResult<u64> {
    let sessions = store.sessions_to_schedule(SCHEDULE_BATCH).await?;
    if sessions.is_empty() {
        return Ok(0);
    }
    let jobs: Vec<_> = sessions.iter().flat_map(|s| session_jobs(s, now)).collect();
    store.schedule_jobs(&jobs).await
}

/// Claims and runs due jobs until none is left (or the pass has done its share); returns
/// (done, failed).
pub async fn run_due(store: &dyn Store, clock: &dyn Clock) -> StoreResult<(u32, u32)> {
    let (mut done, mut failed) = (0, 0);
    for _ in 0..CLAIMS_PER_PASS {
        let now = clock.now();
        let jobs = store.claim_jobs(now, now + LEASE, CLAIM_BATCH).await?;
        for job in &jobs {
            let outcome = match run_job(store, job, now).await {
                Ok(()) => {
                    done += 1;
                    JobOutcome::Done
                }
                Err(e) => {
                    failed += 1;
                    tracing::warn!(job = %job.id, kind = job.kind.as_str(), error = %e, "job failed");
                    after_failure(job, e.to_string(), now)
                }
            };
            if !store.finish_job(job, &outcome, clock.now()).await? {
                tracing::warn!(job = %job.id, "job lease lost before it finished");
            }
        }
        if jobs.len() < CLAIM_BATCH as usize {
            break;
        }
    }
    Ok((done, failed))
}

async fn run_job(store: &dyn Store, job: &Job, now: Timestamp) -> StoreResult<()> {
    let effect = match job.kind {
        JobKind::Reminder => reminders::run(store, job, now).await?,
        JobKind::LatePenalty => penalties::run(store, job, now).await?,
        JobKind::Receipts => receipts::run(store, job, now).await?,
    };
    tracing::info!(job = %job.id, kind = job.kind.as_str(), effect, "job done");
    Ok(())
}

/// Retry with backoff (1, 2, 4, 8 minutes) until [`MAX_ATTEMPTS`], then give up.
fn after_failure(job: &Job, error: String, now: Timestamp) -> JobOutcome {
    if job.attempts >= MAX_ATTEMPTS {
        return JobOutcome::Failed { error };
    }
    let backoff = TimeDelta::minutes(1_i64 << job.attempts.saturating_sub(1).min(6));
    JobOutcome::Retry {
        at: now + backoff,
        error,
    }
}

/// The running task; stop it with [`JobRunner::stop`].
#[derive(Debug)]
pub struct JobRunner {
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

/// Starts the runner: a pass at once, then every `every` and whenever `wake` is notified (a
/// job due now was queued). `None` when `every` is zero (`JOBS_INTERVAL_SECONDS=0` turns jobs
/// off, as the tests do).
pub fn spawn(
    store: Arc<dyn Store>,
    clock: SharedClock,
    every: Duration,
    wake: Arc<Notify>,
) -> Option<JobRunner> {
    spawn_loop("job", every, Some(wake), move || {
        let (store, clock) = (store.clone(), clock.clone());
        async move {
            let report = run_pass(store.as_ref(), clock.as_ref()).await?;
            Ok((report != PassReport::default()).then(|| format!("{report:?}")))
        }
    })
}

/// Runs `pass` at once, then every `every` and whenever `wake` is notified, until stopped;
/// `None` when `every` is zero. A pass answers what to log (`None`: nothing happened). The job
/// runner and the outbox worker both run this way.
pub fn spawn_loop<F, Fut>(
    name: &'static str,
    every: Duration,
    wake: Option<Arc<Notify>>,
    pass: F,
) -> Option<JobRunner>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = StoreResult<Option<String>>> + Send,
{
    if every.is_zero() {
        return None;
    }
    let (stop, mut stopped) = watch::channel(false);
    let handle = tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = stopped.changed() => break,
                _ = tick.tick() => {}
                () = woken(wake.as_deref()) => {}
            }
            match pass().await {
                Ok(Some(report)) => tracing::info!(report, "{name} pass"),
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "{name} pass failed"),
            }
        }
    });
    Some(JobRunner { stop, handle })
}

/// Completes when `wake` is notified; never without one.
async fn woken(wake: Option<&Notify>) {
    match wake {
        Some(wake) => wake.notified().await,
        None => std::future::pending().await,
    }
}

impl JobRunner {
    /// Stops after the pass in progress, waiting for it at most `grace` before aborting it (an
    /// aborted job's lease expires and another pass runs it again, without doubling anything).
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let abort = self.handle.abort_handle();
        if tokio::time::timeout(grace, self.handle).await.is_err() {
            abort.abort();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use chrono::Utc;
    use serde_json::json;

    use super::*;

    fn job(attempts: u32) -> Job {
        Job {
            id: kobiri_core::new_uuid(),
            kind: JobKind::Reminder,
            session_id: None,
            payload: json!({}),
            run_at: Utc::now(),
            attempts,
        }
    }

    #[test]
    fn a_failing_job_backs_off_then_gives_up() {
        let now = Utc::now();
        let waits: Vec<i64> = (1..MAX_ATTEMPTS)
            .map(|n| match after_failure(&job(n), "boom".into(), now) {
                JobOutcome::Retry { at, .. } => (at - now).num_minutes(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(waits, [1, 2, 4, 8]);
        assert_eq!(
            after_failure(&job(MAX_ATTEMPTS), "boom".into(), now),
            JobOutcome::Failed {
                error: "boom".into()
            }
        );
    }
}
