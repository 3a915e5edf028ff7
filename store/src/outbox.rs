// Over 400 lines on purpose: an aggregate's rows, its SQL for both engines and the macro that binds
// them stay together (one file per aggregate, as lib.rs describes).
//! The outbox: messages for SMS, e-mail and push, written beside their notification in the
//! cause's transaction (see `notifications.rs`), claimed by workers with a lease
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL, one atomic `UPDATE … RETURNING` on SQLite's single
//! writer), and finished with the provider's answer, reflected on the notification row in the
//! same transaction. Also the push tokens of enrolled devices.

use chrono::{DateTime, Utc};
use kobiri_core::{Channel, DeviceId, NotificationStatus, UserId};
use uuid::Uuid;

use super::{StoreError, Timestamp};

/// The payload key of a row that carries an account code (see `notify::codes`). Such a
/// payload is cleared when the row becomes final, so the code in clear does not outlive its
/// delivery.
pub const ACCOUNT_CODE_KEY: &str = "account_code";

/// A claimed outbox row.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMessage {
    pub id: Uuid,
    pub notification_id: Option<Uuid>,
    pub channel: Channel,
    /// A phone (SMS), an e-mail address, or a user id (push: sent to each live token).
    pub recipient: String,
    /// `{title, message, sms, data}`.
    pub payload: serde_json::Value,
    /// Counting this try.
    pub attempts: u32,
}

impl OutboxMessage {
    /// Whether the payload holds an account code in clear.
    pub fn carries_code(&self) -> bool {
        self.payload.get(ACCOUNT_CODE_KEY).is_some()
    }
}

/// How a try ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxOutcome {
    /// The provider accepted it: `envoyee`.
    Sent { provider_message_id: Option<String> },
    /// Back in the queue until `at`.
    Retry { at: Timestamp, error: String },
    /// Dead letter: `echouee`, never retried.
    Failed { error: String },
}

/// What a gateway's delivery report says became of a message it accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// It reached the phone: `delivree`.
    Delivered,
    /// It never will (a definitive failure): `echouee`, with why.
    Failed { error: String },
    /// Still on its way (queued, sent to the network…): nothing to record.
    InTransit,
}

/// How the outbox row stands after a delivery report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryRecorded {
    pub status: NotificationStatus,
    /// False for a repeated, late or in-transit report: nothing changed.
    pub changed: bool,
}

/// An outbox row as stored, for operators and tests.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    pub id: Uuid,
    pub notification_id: Option<Uuid>,
    pub channel: Channel,
    pub recipient: String,
    pub status: NotificationStatus,
    pub attempts: u32,
    pub provider_message_id: Option<String>,
    pub last_error: Option<String>,
    pub next_attempt_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// The platform a push token belongs to; the wire strings are stored as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushPlatform {
    Android,
    Ios,
    Web,
}

impl PushPlatform {
    pub const ALL: [PushPlatform; 3] =
        [PushPlatform::Android, PushPlatform::Ios, PushPlatform::Web];

    pub fn as_str(self) -> &'static str {
        match self {
            PushPlatform::Android => "android",
            PushPlatform::Ios => "ios",
            PushPlatform::Web => "web",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// A device's push token; it replaces the device's earlier token, and moves the token off any
/// other device that had it.
#[derive(Debug, Clone)]
pub struct NewPushToken {
    pub user_id: UserId,
    pub device_id: DeviceId,
    pub token: String,
    pub platform: PushPlatform,
    pub now: Timestamp,
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct MessageRow {
    id: Uuid,
    notification_id: Option<Uuid>,
    channel: String,
    recipient: String,
    payload: String,
    attempts: i32,
}

impl TryFrom<MessageRow> for OutboxMessage {
    type Error = StoreError;

    fn try_from(r: MessageRow) -> Result<Self, StoreError> {
        Ok(OutboxMessage {
            id: r.id,
            notification_id: r.notification_id,
            channel: r.channel.parse().map_err(StoreError::corrupt)?,
            recipient: r.recipient,
            payload: serde_json::from_str(&r.payload).map_err(StoreError::corrupt)?,
            attempts: u32::try_from(r.attempts).map_err(StoreError::corrupt)?,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct EntryRow {
    id: Uuid,
    notification_id: Option<Uuid>,
    channel: String,
    recipient: String,
    status: String,
    attempts: i32,
    provider_message_id: Option<String>,
    last_error: Option<String>,
    next_attempt_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl TryFrom<EntryRow> for OutboxEntry {
    type Error = StoreError;

    fn try_from(r: EntryRow) -> Result<Self, StoreError> {
        Ok(OutboxEntry {
            id: r.id,
            notification_id: r.notification_id,
            channel: r.channel.parse().map_err(StoreError::corrupt)?,
            recipient: r.recipient,
            status: r.status.parse().map_err(StoreError::corrupt)?,
            attempts: u32::try_from(r.attempts).map_err(StoreError::corrupt)?,
            provider_message_id: r.provider_message_id,
            last_error: r.last_error,
            next_attempt_at: r.next_attempt_at,
            sent_at: r.sent_at,
            delivered_at: r.delivered_at,
            created_at: r.created_at,
        })
    }
}

/// The columns a finished try sets: status, provider id, error, sent_at, finished_at,
/// next_attempt_at (kept when `None`).
type Columns<'a> = (
    NotificationStatus,
    Option<&'a str>,
    Option<&'a str>,
    Option<Timestamp>,
    Option<Timestamp>,
    Option<Timestamp>,
);

pub(crate) fn outcome_columns(outcome: &OutboxOutcome, now: Timestamp) -> Columns<'_> {
    match outcome {
        OutboxOutcome::Sent {
            provider_message_id,
        } => (
            NotificationStatus::Envoyee,
            provider_message_id.as_deref(),
            None,
            Some(now),
            Some(now),
            None,
        ),
        OutboxOutcome::Retry { at, error } => (
            NotificationStatus::EnAttente,
            None,
            Some(error.as_str()),
            None,
            None,
            Some(*at),
        ),
        OutboxOutcome::Failed { error } => (
            NotificationStatus::Echouee,
            None,
            Some(error.as_str()),
            None,
            Some(now),
            None,
        ),
    }
}

/// The columns a delivery report sets (status, error, delivered_at); `None` when it says the
/// message is still in transit.
pub(crate) fn delivery_columns(
    delivery: &Delivery,
    now: Timestamp,
) -> Option<(NotificationStatus, Option<&str>, Option<Timestamp>)> {
    match delivery {
        Delivery::Delivered => Some((NotificationStatus::Delivree, None, Some(now))),
        Delivery::Failed { error } => Some((NotificationStatus::Echouee, Some(error), None)),
        Delivery::InTransit => None,
    }
}

/// The answer of `record_delivery` from the row's status (`None`: no row has that id).
pub(crate) fn recorded(
    status: Option<String>,
    changed: bool,
) -> Result<Option<DeliveryRecorded>, StoreError> {
    status
        .map(|s| {
            let status = s.parse().map_err(StoreError::corrupt)?;
            Ok(DeliveryRecorded { status, changed })
        })
        .transpose()
}

pub(super) struct OutboxQueries {
    /// Binds: lease end, the pending status, now, limit.
    pub claim: &'static str,
    /// Binds: id, attempts, status, provider id, error, sent_at, finished_at,
    /// next_attempt_at, the pending status, whether to clear the payload. Only the try that
    /// holds the row (same attempt, still pending) may finish it. Returns the notification id.
    pub finish: &'static str,
    /// Binds: notification id, status, sent_at.
    pub reflect: &'static str,
    pub list: &'static str,
    /// Binds: provider message id, channel, new status, error, delivered_at, the sent
    /// status. Only a row still `envoyee` moves. Returns the notification ids.
    pub deliver: &'static str,
    /// Binds: notification id, new status, delivered_at, the sent status.
    pub reflect_delivery: &'static str,
    /// Binds: provider message id, channel.
    pub status_by_provider_id: &'static str,
    /// Binds: token, device id.
    pub drop_token_or_device: &'static str,
    /// Binds: id, user, device, token, platform, now.
    pub insert_token: &'static str,
    /// Binds: user. Tokens of the user's devices that are not revoked.
    pub tokens_of: &'static str,
    /// Binds: token.
    pub delete_token: &'static str,
}

pub(super) const SQLITE: OutboxQueries = OutboxQueries {
    // SQLite has one writer: the UPDATE is atomic, no row lock is needed.
    claim: "UPDATE outbox SET attempts = attempts + 1, locked_until = $1 \
        WHERE id IN (SELECT id FROM outbox WHERE status = $2 AND next_attempt_at <= $3 \
        AND (locked_until IS NULL OR locked_until < $3) ORDER BY next_attempt_at, id LIMIT $4) \
        RETURNING id, notification_id, channel, recipient, payload, attempts",
    finish: "UPDATE outbox SET status = $3, provider_message_id = $4, last_error = $5, \
        sent_at = $6, finished_at = $7, next_attempt_at = COALESCE($8, next_attempt_at), \
        locked_until = NULL, payload = CASE WHEN $10 THEN '{}' ELSE payload END \
        WHERE id = $1 AND attempts = $2 AND status = $9 RETURNING notification_id",
    reflect: "UPDATE notifications SET status = $2, sent_at = COALESCE($3, sent_at) WHERE id = $1",
    list: "SELECT id, notification_id, channel, recipient, status, attempts, \
        provider_message_id, last_error, next_attempt_at, sent_at, delivered_at, created_at \
        FROM outbox ORDER BY created_at, id",
    deliver: "UPDATE outbox SET status = $3, last_error = COALESCE($4, last_error), \
        delivered_at = $5 WHERE provider_message_id = $1 AND channel = $2 AND status = $6 \
        RETURNING notification_id",
    reflect_delivery: "UPDATE notifications SET status = $2, \
        delivered_at = COALESCE($3, delivered_at) WHERE id = $1 AND status = $4",
    status_by_provider_id: "SELECT status FROM outbox \
        WHERE provider_message_id = $1 AND channel = $2 ORDER BY created_at DESC, id DESC LIMIT 1",
    drop_token_or_device: "DELETE FROM push_tokens WHERE token = $1 OR device_id = $2",
    insert_token: "INSERT INTO push_tokens (id, user_id, device_id, token, platform, created_at) \
        VALUES ($1, $2, $3, $4, $5, $6)",
    tokens_of: "SELECT p.token FROM push_tokens p JOIN devices d ON d.id = p.device_id \
        WHERE p.user_id = $1 AND d.revoked_at IS NULL ORDER BY p.created_at, p.id",
    delete_token: "DELETE FROM push_tokens WHERE token = $1",
};

/// Claims skip rows another worker holds, so replicas share the queue without blocking.
pub(super) const POSTGRES: OutboxQueries = OutboxQueries {
    claim: "UPDATE outbox SET attempts = attempts + 1, locked_until = $1 \
        WHERE id IN (SELECT id FROM outbox WHERE status = $2 AND next_attempt_at <= $3 \
        AND (locked_until IS NULL OR locked_until < $3) ORDER BY next_attempt_at, id LIMIT $4 \
        FOR UPDATE SKIP LOCKED) \
        RETURNING id, notification_id, channel, recipient, payload::text AS payload, attempts",
    ..SQLITE
};

/// Implements `OutboxStore` for an engine's store, given its outbox queries.
macro_rules! impl_outbox_store {
    ($store:ty, $oq:expr) => {
        #[async_trait::async_trait]
        impl $crate::OutboxStore for $store {
            async fn claim_outbox(
                &self,
                now: $crate::Timestamp,
                lease_until: $crate::Timestamp,
                limit: u32,
            ) -> $crate::StoreResult<Vec<$crate::OutboxMessage>> {
                let rows: Vec<$crate::outbox::MessageRow> = sqlx::query_as($oq.claim)
                    .bind(lease_until)
                    .bind(kobiri_core::NotificationStatus::EnAttente.as_str())
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(self.writer())
                    .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn finish_outbox(
                &self,
                message: &$crate::OutboxMessage,
                outcome: &$crate::OutboxOutcome,
                now: $crate::Timestamp,
            ) -> $crate::StoreResult<bool> {
                let (status, provider_id, error, sent_at, finished_at, next) =
                    $crate::outbox::outcome_columns(outcome, now);
                let mut tx = self.writer().begin().await?;
                let held: Option<Option<uuid::Uuid>> = sqlx::query_scalar($oq.finish)
                    .bind(message.id)
                    .bind(i64::from(message.attempts))
                    .bind(status.as_str())
                    .bind(provider_id)
                    .bind(error)
                    .bind(sent_at)
                    .bind(finished_at)
                    .bind(next)
                    .bind(kobiri_core::NotificationStatus::EnAttente.as_str())
                    .bind(finished_at.is_some() && message.carries_code())
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(notification) = held else {
                    return Ok(false);
                };
                if let (Some(id), Some(_)) = (notification, finished_at) {
                    sqlx::query($oq.reflect)
                        .bind(id)
                        .bind(status.as_str())
                        .bind(sent_at)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn record_delivery(
                &self,
                provider_message_id: &str,
                delivery: &$crate::Delivery,
                now: $crate::Timestamp,
            ) -> $crate::StoreResult<Option<$crate::DeliveryRecorded>> {
                let sms = kobiri_core::Channel::Sms.as_str();
                let Some((status, error, delivered_at)) =
                    $crate::outbox::delivery_columns(delivery, now)
                else {
                    let current = sqlx::query_scalar($oq.status_by_provider_id)
                        .bind(provider_message_id)
                        .bind(sms)
                        .fetch_optional(self.reader())
                        .await?;
                    return $crate::outbox::recorded(current, false);
                };
                let sent = kobiri_core::NotificationStatus::Envoyee.as_str();
                let mut tx = self.writer().begin().await?;
                let moved: Vec<Option<uuid::Uuid>> = sqlx::query_scalar($oq.deliver)
                    .bind(provider_message_id)
                    .bind(sms)
                    .bind(status.as_str())
                    .bind(error)
                    .bind(delivered_at)
                    .bind(sent)
                    .fetch_all(&mut *tx)
                    .await?;
                for notification in moved.iter().flatten() {
                    sqlx::query($oq.reflect_delivery)
                        .bind(notification)
                        .bind(status.as_str())
                        .bind(delivered_at)
                        .bind(sent)
                        .execute(&mut *tx)
                        .await?;
                }
                let current = if moved.is_empty() {
                    sqlx::query_scalar($oq.status_by_provider_id)
                        .bind(provider_message_id)
                        .bind(sms)
                        .fetch_optional(&mut *tx)
                        .await?
                } else {
                    Some(status.as_str().to_owned())
                };
                tx.commit().await?;
                $crate::outbox::recorded(current, !moved.is_empty())
            }

            async fn list_outbox(&self) -> $crate::StoreResult<Vec<$crate::OutboxEntry>> {
                let rows: Vec<$crate::outbox::EntryRow> =
                    sqlx::query_as($oq.list).fetch_all(self.reader()).await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn set_push_token(&self, t: &$crate::NewPushToken) -> $crate::StoreResult<()> {
                let mut tx = self.writer().begin().await?;
                sqlx::query($oq.drop_token_or_device)
                    .bind(&t.token)
                    .bind(t.device_id.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query($oq.insert_token)
                    .bind(kobiri_core::new_uuid())
                    .bind(t.user_id.as_uuid())
                    .bind(t.device_id.as_uuid())
                    .bind(&t.token)
                    .bind(t.platform.as_str())
                    .bind(t.now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn push_tokens_of(
                &self,
                user: kobiri_core::UserId,
            ) -> $crate::StoreResult<Vec<String>> {
                Ok(sqlx::query_scalar($oq.tokens_of)
                    .bind(user.as_uuid())
                    .fetch_all(self.reader())
                    .await?)
            }

            async fn delete_push_token(&self, token: &str) -> $crate::StoreResult<bool> {
                let done = sqlx::query($oq.delete_token)
                    .bind(token)
                    .execute(self.writer())
                    .await?;
                Ok(done.rows_affected() > 0)
            }
        }
    };
}
pub(super) use impl_outbox_store;
