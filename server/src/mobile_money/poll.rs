//! The poller: a pass, run with the job runner's, that claims the mobile-money payments and
//! payouts due for a status query (`FOR UPDATE SKIP LOCKED` with a lease on PostgreSQL, an
//! atomic `UPDATE … RETURNING` on SQLite, so replicas never poll the same one at once), asks
//! the provider, and settles through the same function as callbacks. Still pending: asked
//! again later, with exponential backoff; still pending after `MOBILE_MONEY_PAYMENT_TIMEOUT_MINUTES`:
//! failed. A start that never got an answer is retried first, with the same idempotency key.

use chrono::TimeDelta;
use kobiri_core::{PaymentId, PaymentStatus};

use super::settle::{self, ConfirmError, Settled};
use super::{MobileMoney, Status, payout};
use crate::store::{AuditSource, MobilePayment, PollKind, PollTicket, StoreResult, Timestamp};

/// How long a claimed poll is held before another worker may take it.
const LEASE: TimeDelta = TimeDelta::minutes(2);
/// Polls claimed at a time, and claims per pass.
const BATCH: u32 = 20;
const CLAIMS_PER_PASS: u32 = 50;
/// The first wait after an unanswered query; doubled each time up to [`MAX_WAIT`].
const FIRST_WAIT: TimeDelta = TimeDelta::seconds(30);
const MAX_WAIT: TimeDelta = TimeDelta::minutes(16);

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Payments and payouts settled (validated, failed or timed out).
    pub settled: u32,
    /// Still pending: asked again later.
    pub pending: u32,
}

/// One pass over the due polls. Safe to run from several processes at once.
#[tracing::instrument(skip_all)]
pub async fn run_pass(mm: &MobileMoney) -> StoreResult<PollReport> {
    let mut report = PollReport::default();
    for _ in 0..CLAIMS_PER_PASS {
        let now = mm.now();
        let tickets = mm.store().claim_polls(now, now + LEASE, BATCH).await?;
        for ticket in &tickets {
            if poll_one(mm, ticket).await? {
                report.settled += 1;
            } else {
                report.pending += 1;
                let wait = backoff(ticket.attempts);
                mm.store()
                    .reschedule_poll(ticket.id, mm.now() + wait)
                    .await?;
            }
        }
        if tickets.len() < BATCH as usize {
            break;
        }
    }
    Ok(report)
}

/// The wait after the `attempts`-th unanswered query: 30 s, 1, 2, 4, 8, 16, 16… minutes.
fn backoff(attempts: u32) -> TimeDelta {
    let doublings = attempts.saturating_sub(1).min(5);
    (FIRST_WAIT * (1_i32 << doublings)).min(MAX_WAIT)
}

fn timed_out(mm: &MobileMoney, started_at: Timestamp) -> bool {
    let timeout = TimeDelta::from_std(mm.timeout).unwrap_or(TimeDelta::MAX);
    mm.now() - started_at >= timeout
}

fn timeout_status(mm: &MobileMoney) -> Status {
    Status::Failed {
        reason: format!(
            "aucune confirmation du fournisseur après {} minutes",
            mm.timeout.as_secs() / 60
        ),
    }
}

/// Polls one ticket; `true` when its payment or payout is settled (or gone).
async fn poll_one(mm: &MobileMoney, ticket: &PollTicket) -> StoreResult<bool> {
    match ticket.kind {
        PollKind::Payment => poll_payment(mm, ticket).await,
        PollKind::Payout => poll_payout(mm, ticket).await,
    }
}

async fn poll_payment(mm: &MobileMoney, ticket: &PollTicket) -> StoreResult<bool> {
    let Some(mut mp) = mm
        .store()
        .mobile_payment(PaymentId::from_uuid(ticket.id))
        .await?
    else {
        tracing::warn!(poll = %ticket.id, "mobile money: poll of an unknown payment");
        return Ok(false);
    };
    if mp.payment.status != PaymentStatus::EnCours {
        return Ok(true);
    }
    if mp.payment.operator_reference.is_none() {
        match restart(mm, &mp).await? {
            Some(restarted) => mp = restarted,
            None => return pending_or_timeout(mm, ticket, &mp).await,
        }
    }
    match settle::confirm(mm, &mp, AuditSource::Job).await {
        Ok(Settled::Pending) => pending_or_timeout(mm, ticket, &mp).await,
        Ok(Settled::Done(_) | Settled::Mismatch(_) | Settled::Already) => Ok(true),
        Err(ConfirmError::Provider(e)) => {
            tracing::warn!(payment = %mp.payment.id, error = %e, "mobile money: status query failed");
            pending_or_timeout(mm, ticket, &mp).await
        }
        Err(ConfirmError::Store(e)) => Err(e),
    }
}

/// Retries a start that never got an answer (same idempotency key): the payment as stored
/// after it, or `None` when the provider still cannot be reached. A refusal fails it.
async fn restart(mm: &MobileMoney, mp: &MobilePayment) -> StoreResult<Option<MobilePayment>> {
    match settle::start(mm, mp).await {
        Ok(_) => mm.store().mobile_payment(mp.payment.id).await,
        Err(ConfirmError::Provider(e)) if e.is_transient() => {
            tracing::warn!(payment = %mp.payment.id, error = %e, "mobile money: start retry failed");
            Ok(None)
        }
        Err(ConfirmError::Provider(e)) => {
            let failed = Status::Failed {
                reason: e.to_string(),
            };
            settle::settle(mm, &mp.payment, &failed, AuditSource::Job).await?;
            Ok(None)
        }
        Err(ConfirmError::Store(e)) => Err(e),
    }
}

async fn pending_or_timeout(
    mm: &MobileMoney,
    ticket: &PollTicket,
    mp: &MobilePayment,
) -> StoreResult<bool> {
    if !timed_out(mm, ticket.started_at) {
        return Ok(false);
    }
    let current = mm.store().mobile_payment(mp.payment.id).await?;
    let Some(current) = current.filter(|c| c.payment.status == PaymentStatus::EnCours) else {
        return Ok(true);
    };
    tracing::warn!(payment = %mp.payment.id, "mobile money: payment timed out");
    settle::settle(mm, &current.payment, &timeout_status(mm), AuditSource::Job).await?;
    Ok(true)
}

async fn poll_payout(mm: &MobileMoney, ticket: &PollTicket) -> StoreResult<bool> {
    let Some(current) = mm.store().mobile_payout(ticket.id).await? else {
        tracing::warn!(poll = %ticket.id, "mobile money: poll of an unknown payout");
        return Ok(false);
    };
    if current.status != PaymentStatus::EnCours {
        return Ok(true);
    }
    match payout::poll(mm, &current).await {
        Ok(true) => return Ok(true),
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(passage = %current.passage, error = %e, "mobile money: payout query failed");
        }
    }
    if timed_out(mm, ticket.started_at) {
        tracing::warn!(passage = %current.passage, "mobile money: payout timed out");
        return payout::settle(mm, &current, &timeout_status(mm), AuditSource::Job).await;
    }
    Ok(false)
}

/// Starts the poller beside the job runner: a pass every `every` until the task is aborted.
/// `None` when `every` is zero (`JOBS_INTERVAL_SECONDS=0`: tests run passes themselves).
pub fn spawn(mm: MobileMoney, every: std::time::Duration) -> Option<tokio::task::JoinHandle<()>> {
    if every.is_zero() {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match run_pass(&mm).await {
                Ok(report) if report != PollReport::default() => {
                    tracing::info!(?report, "mobile money poll pass");
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "mobile money poll pass failed"),
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unanswered_queries_back_off_exponentially_up_to_sixteen_minutes() {
        let waits: Vec<i64> = (1..=8).map(|n| backoff(n).num_seconds()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 960, 960]);
    }
}
