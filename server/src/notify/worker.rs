//! The outbox worker: claims due outbox rows (with a lease, so replicas never send one twice),
//! sends each through its channel's sender, and records the outcome on the row and its
//! notification.
//!
//! - Sent: `envoyee`, with the provider's message id and `sent_at`.
//! - [`SendError::Transient`]: retried after `base · 2^(tries − 1)`, capped (no jitter: the
//!   claim already spreads replicas), until `OUTBOX_MAX_ATTEMPTS` tries; then `echouee`.
//! - [`SendError::Permanent`]: `echouee` at once.
//! - [`SendError::DeadRecipient`]: the push token is removed; the row is `echouee` when no
//!   token of the user took the message.
//!
//! `echouee` is the dead letter: the row keeps its `last_error` and is never retried.
//!
//! Push rows are addressed to a user; the worker sends to each live token of that user. One
//! token accepting makes the row `envoyee` (the others' transient failures are not retried,
//! so no device gets it twice).
//!
//! Rows that carry an account code are rendered and sent by [`super::codes`], and only while
//! the code can still be used.

use std::{sync::Arc, time::Duration};

use chrono::TimeDelta;
use kobiri_core::{Channel, Email, Phone, UserId};

use super::{
    Mailer, PushMessage, PushSender, SendError, SendResult, SmsMessage, SmsSender,
    codes::CodePayload, config::OutboxConfig, templates,
};
use crate::{
    clock::Clock,
    state::AppState,
    store::{OutboxMessage, OutboxOutcome, Store, StoreResult, Timestamp},
};

/// How long a claimed row stays with its worker before another may take it.
pub const LEASE: TimeDelta = TimeDelta::minutes(2);
/// Rows claimed at a time, and claims per pass.
const CLAIM_BATCH: u32 = 20;
const CLAIMS_PER_PASS: u32 = 50;

/// Where each channel goes.
#[derive(Clone)]
pub struct Senders {
    pub sms: Arc<dyn SmsSender>,
    pub mailer: Arc<dyn Mailer>,
    pub push: Arc<dyn PushSender>,
}

/// The senders and the retry policy.
#[derive(Clone)]
pub struct OutboxWorker {
    pub senders: Senders,
    pub config: OutboxConfig,
    /// Signs e-mails.
    pub app_name: String,
}

impl std::fmt::Debug for OutboxWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxWorker")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxReport {
    /// Rows accepted by their provider (`envoyee`).
    pub sent: u32,
    /// Rows that failed this time and wait for another try.
    pub retried: u32,
    /// Rows that became dead letters (`echouee`).
    pub failed: u32,
    /// Push tokens removed because FCM called them dead.
    pub tokens_removed: u32,
    /// Rows whose lease another worker took before this one finished.
    pub lost: u32,
}

/// One pass of the state's worker, with the state's clock.
pub async fn run_outbox_pass(state: &AppState) -> StoreResult<OutboxReport> {
    run_pass(state.store(), state.clock.as_ref(), &state.outbox).await
}

/// One pass: claim and send due rows until none is left (or the pass has done its share).
/// Safe to run from several processes at once.
#[tracing::instrument(skip_all)]
pub async fn run_pass(
    store: &dyn Store,
    clock: &dyn Clock,
    worker: &OutboxWorker,
) -> StoreResult<OutboxReport> {
    let mut report = OutboxReport::default();
    for _ in 0..CLAIMS_PER_PASS {
        let now = clock.now();
        let claimed = store.claim_outbox(now, now + LEASE, CLAIM_BATCH).await?;
        for message in &claimed {
            let result = worker.send(store, message, now, &mut report).await?;
            let outcome = worker.outcome(message, result, clock.now());
            match &outcome {
                OutboxOutcome::Sent { .. } => report.sent += 1,
                OutboxOutcome::Retry { error, .. } => {
                    report.retried += 1;
                    tracing::warn!(outbox = %message.id, channel = %message.channel, error, "send failed, will retry");
                }
                OutboxOutcome::Failed { error } => {
                    report.failed += 1;
                    tracing::error!(outbox = %message.id, channel = %message.channel, error, "send failed for good");
                }
            }
            if !store.finish_outbox(message, &outcome, clock.now()).await? {
                report.lost += 1;
                tracing::warn!(outbox = %message.id, "outbox lease lost before the send finished");
            }
        }
        if claimed.len() < CLAIM_BATCH as usize {
            break;
        }
    }
    Ok(report)
}

impl OutboxWorker {
    /// The wait before try `attempts + 1`, after `attempts` failed tries.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let factor = 1_u32 << attempts.saturating_sub(1).min(20);
        self.config
            .base_backoff
            .saturating_mul(factor)
            .min(self.config.max_backoff)
    }

    fn outcome(
        &self,
        message: &OutboxMessage,
        result: SendResult,
        now: Timestamp,
    ) -> OutboxOutcome {
        match result {
            Ok(sent) => OutboxOutcome::Sent {
                provider_message_id: sent.provider_message_id,
            },
            Err(SendError::Transient(error)) if message.attempts < self.config.max_attempts => {
                let wait = TimeDelta::from_std(self.backoff(message.attempts))
                    .unwrap_or(TimeDelta::hours(1));
                OutboxOutcome::Retry {
                    at: now + wait,
                    error,
                }
            }
            Err(SendError::Transient(error)) => OutboxOutcome::Failed {
                error: format!("{} tries, last: {error}", message.attempts),
            },
            Err(SendError::Permanent(error) | SendError::DeadRecipient(error)) => {
                OutboxOutcome::Failed { error }
            }
        }
    }

    async fn send(
        &self,
        store: &dyn Store,
        message: &OutboxMessage,
        now: Timestamp,
        report: &mut OutboxReport,
    ) -> StoreResult<SendResult> {
        if let Some(code) = CodePayload::of(&message.payload) {
            return super::codes::send(self, store, message, &code, now).await;
        }
        let text = |key: &str| message.payload[key].as_str().unwrap_or_default().to_owned();
        let result = match message.channel {
            Channel::Sms => match phone_of(&message.recipient) {
                Ok(to) => {
                    self.senders
                        .sms
                        .send(SmsMessage {
                            to,
                            text: text("sms"),
                        })
                        .await
                }
                Err(e) => Err(e),
            },
            Channel::Email => match email_of(&message.recipient) {
                Ok(to) => {
                    let mail = templates::notification_email(
                        to,
                        &self.app_name,
                        &text("title"),
                        &text("message"),
                    );
                    self.senders.mailer.send(mail).await
                }
                Err(e) => Err(e),
            },
            Channel::Push => return self.push(store, message, report).await,
            Channel::InApp => Err(SendError::Permanent("in-app rows are not sent".into())),
        };
        Ok(result)
    }

    /// Sends to each live token of the user; removes the dead ones.
    async fn push(
        &self,
        store: &dyn Store,
        message: &OutboxMessage,
        report: &mut OutboxReport,
    ) -> StoreResult<SendResult> {
        let Ok(user) = UserId::parse(&message.recipient) else {
            return Ok(Err(SendError::Permanent(
                "push recipient is not a user id".into(),
            )));
        };
        let tokens = store.push_tokens_of(user).await?;
        let data = push_data(&message.payload["data"]);
        let mut sent = None;
        let mut last = SendError::DeadRecipient("no push token left".into());
        for token in tokens {
            let push = PushMessage {
                token: token.clone(),
                title: message.payload["title"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                body: message.payload["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                data: data.clone(),
            };
            match self.senders.push.send(push).await {
                Ok(ok) => sent = sent.or(Some(ok)),
                Err(SendError::DeadRecipient(e)) => {
                    if store.delete_push_token(&token).await? {
                        report.tokens_removed += 1;
                    }
                    tracing::info!(user = %user, "dead push token removed");
                    if !matches!(last, SendError::Transient(_) | SendError::Permanent(_)) {
                        last = SendError::DeadRecipient(e);
                    }
                }
                Err(e @ SendError::Transient(_)) => last = e,
                Err(e @ SendError::Permanent(_)) => {
                    if !matches!(last, SendError::Transient(_)) {
                        last = e;
                    }
                }
            }
        }
        Ok(sent.ok_or(last))
    }
}

/// An SMS row's recipient; a row that names no phone can never be sent.
pub(super) fn phone_of(recipient: &str) -> Result<Phone, SendError> {
    Phone::parse(recipient).map_err(|e| SendError::Permanent(format!("phone: {e}")))
}

/// An e-mail row's recipient; a row that names no address can never be sent.
pub(super) fn email_of(recipient: &str) -> Result<Email, SendError> {
    Email::parse(recipient).map_err(|e| SendError::Permanent(format!("e-mail address: {e}")))
}

/// A notification's `data` as FCM's string map.
fn push_data(data: &serde_json::Value) -> Vec<(String, String)> {
    data.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    (k.clone(), v)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::notify::Recorder;

    fn worker(max_attempts: u32) -> OutboxWorker {
        let recorder = Arc::new(Recorder::default());
        OutboxWorker {
            senders: Senders {
                sms: recorder.clone(),
                mailer: recorder.clone(),
                push: recorder,
            },
            config: OutboxConfig {
                max_attempts,
                interval: Duration::ZERO,
                base_backoff: Duration::from_secs(30),
                max_backoff: Duration::from_secs(600),
            },
            app_name: "Kobiri".into(),
        }
    }

    fn message(attempts: u32) -> OutboxMessage {
        OutboxMessage {
            id: kobiri_core::new_uuid(),
            notification_id: None,
            channel: Channel::Sms,
            recipient: "+221770000001".into(),
            payload: serde_json::json!({}),
            attempts,
        }
    }

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap() {
        let w = worker(8);
        let waits: Vec<u64> = (1..=7).map(|n| w.backoff(n).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 600, 600]);
    }

    #[test]
    fn transient_failures_retry_until_the_last_try_then_die() {
        let w = worker(3);
        let now = chrono::Utc::now();
        let err = || Err(SendError::Transient("503".into()));
        assert_eq!(
            w.outcome(&message(2), err(), now),
            OutboxOutcome::Retry {
                at: now + TimeDelta::seconds(60),
                error: "503".into()
            }
        );
        assert!(matches!(
            w.outcome(&message(3), err(), now),
            OutboxOutcome::Failed { .. }
        ));
        let dead = Err(SendError::DeadRecipient("gone".into()));
        assert!(matches!(
            w.outcome(&message(1), dead, now),
            OutboxOutcome::Failed { .. }
        ));
    }

    #[test]
    fn push_data_values_become_strings() {
        let data = push_data(&serde_json::json!({"a": "x", "n": 2}));
        assert_eq!(
            data,
            [
                ("a".to_owned(), "x".to_owned()),
                ("n".to_owned(), "2".to_owned())
            ]
        );
    }
}
