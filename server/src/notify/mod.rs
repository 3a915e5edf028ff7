//! Messages that leave the process: SMS, e-mail and push, behind small traits so development
//! logs them, production sends them, and tests read them (or point them at [`standin`]).
//!
//! Notifications reach these senders only through the outbox ([`worker`]): a row written in
//! the same transaction as its cause, sent with retries. Account codes too ([`codes`]): their
//! row is written with the code. A sender answers with the provider's message id, or a
//! [`SendError`] that tells the worker what to do next.

mod africastalking;
pub mod codes;
pub mod config;
pub mod delivery;
mod email;
mod fcm;
pub mod gsm;
mod http;
mod orange_sms;
pub mod plan;
mod sms;
#[cfg(any(test, feature = "test-support"))]
pub mod standin;
pub mod templates;
pub mod worker;

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use kobiri_core::{Email, Phone};

pub use africastalking::AfricasTalkingSms;
pub use email::{LogMailer, SmtpMailer};
pub use fcm::{FcmPush, LogPush, ServiceAccount};
pub use orange_sms::OrangeSms;
pub use sms::LogSms;
pub use worker::{OutboxReport, OutboxWorker, Senders, run_outbox_pass};

use crate::store::{NewNotification, Store, StoreError, Timestamp};

/// The notifications of `event` for one member of the tontine (`user`), on the channels they
/// chose: what a payment's handler or settlement writes with it.
pub async fn notify_payer(
    store: &dyn Store,
    now: Timestamp,
    event: &kobiri_core::Event,
    links: plan::Links,
    user: kobiri_core::UserId,
) -> Result<Vec<NewNotification>, StoreError> {
    let Some(tontine) = links.tontine_id else {
        return Ok(Vec::new());
    };
    let recipients: Vec<_> = store
        .tontine_recipients(tontine, event.kind())
        .await?
        .into_iter()
        .filter(|r| r.user_id == user)
        .collect();
    Ok(plan::Plan::new(event, links, now).for_all(&recipients))
}

/// Why a message was not sent, and so what the outbox does with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Try again later (network, 5xx, 429, an expired token): retried with backoff.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// The provider refused this message for good (bad number, bad request): `echouee` now.
    #[error("refused: {0}")]
    Permanent(String),
    /// The recipient no longer exists (an FCM token answered `UNREGISTERED`): `echouee`, and
    /// the push token is removed.
    #[error("dead recipient: {0}")]
    DeadRecipient(String),
}

/// What a provider said when it accepted a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sent {
    /// The provider's id of the message, where it gives one.
    pub provider_message_id: Option<String>,
}

impl Sent {
    pub fn with_id(id: impl Into<String>) -> Self {
        Self {
            provider_message_id: Some(id.into()),
        }
    }
}

pub type SendResult = Result<Sent, SendError>;

/// An e-mail in French: a subject, a plain-text body and, where there is one, an HTML body
/// (sent as `multipart/alternative`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailMessage {
    pub to: Email,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, message: EmailMessage) -> SendResult;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsMessage {
    pub to: Phone,
    pub text: String,
}

#[async_trait]
pub trait SmsSender: Send + Sync + 'static {
    async fn send(&self, message: SmsMessage) -> SendResult;
}

/// A push notification to one device token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushMessage {
    pub token: String,
    pub title: String,
    pub body: String,
    /// String values only (FCM's `data` is a map of strings).
    pub data: Vec<(String, String)>,
}

#[async_trait]
pub trait PushSender: Send + Sync + 'static {
    async fn send(&self, message: PushMessage) -> SendResult;
}

/// Keeps every message in memory: for tests, and for tools that want to read what went out.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    emails: Arc<Mutex<Vec<EmailMessage>>>,
    sms: Arc<Mutex<Vec<SmsMessage>>>,
    push: Arc<Mutex<Vec<PushMessage>>>,
}

fn push_to<T: Clone>(list: &Mutex<Vec<T>>, item: T) {
    list.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(item);
}

fn copy_of<T: Clone>(list: &Mutex<Vec<T>>) -> Vec<T> {
    list.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

impl Recorder {
    pub fn emails(&self) -> Vec<EmailMessage> {
        copy_of(&self.emails)
    }

    pub fn sms(&self) -> Vec<SmsMessage> {
        copy_of(&self.sms)
    }

    pub fn push(&self) -> Vec<PushMessage> {
        copy_of(&self.push)
    }
}

#[async_trait]
impl Mailer for Recorder {
    async fn send(&self, message: EmailMessage) -> SendResult {
        push_to(&self.emails, message);
        Ok(Sent::default())
    }
}

#[async_trait]
impl SmsSender for Recorder {
    async fn send(&self, message: SmsMessage) -> SendResult {
        push_to(&self.sms, message);
        Ok(Sent::default())
    }
}

#[async_trait]
impl PushSender for Recorder {
    async fn send(&self, message: PushMessage) -> SendResult {
        push_to(&self.push, message);
        Ok(Sent::default())
    }
}
