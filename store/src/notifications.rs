// Over 400 lines on purpose: an aggregate's rows, its SQL for both engines and the macro that binds
// them stay together (one file per aggregate, as lib.rs describes).
//! Notifications: in-app rows, and for the other channels an outbox row beside them. Any
//! operation that notifies writes them with `insert_notifications!` inside its own
//! transaction, so a notification exists exactly when its cause committed.

use chrono::{DateTime, Utc};
use kobiri_core::{
    Channel, Email, MemberId, NotificationStatus, NotificationType, Phone, SessionId, TontineId,
    UserId,
};
use uuid::Uuid;

use super::{StoreError, Timestamp};

/// A notification to write. `channel` other than `in_app` also queues an outbox row for the
/// sender worker.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub id: Uuid,
    pub user_id: UserId,
    pub kind: NotificationType,
    pub channel: Channel,
    pub title: String,
    pub message: String,
    /// The text for SMS (GSM-7 safe), used by the outbox when `channel` is `sms`.
    pub sms: String,
    /// Where the outbox sends it (phone, e-mail address, push token); `None` for in-app.
    pub recipient: Option<String>,
    pub data: Option<serde_json::Value>,
    pub tontine_id: Option<TontineId>,
    pub session_id: Option<SessionId>,
    pub payment_id: Option<Uuid>,
    /// Makes the notification unique (a reminder for a member and session is sent once).
    pub dedup_key: Option<String>,
    pub at: Timestamp,
}

/// A stored notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: Uuid,
    pub user_id: UserId,
    pub kind: NotificationType,
    pub channel: Channel,
    pub status: NotificationStatus,
    pub title: String,
    pub message: String,
    pub data: Option<serde_json::Value>,
    pub tontine_id: Option<TontineId>,
    pub session_id: Option<SessionId>,
    pub payment_id: Option<Uuid>,
    pub scheduled_at: Option<Timestamp>,
    pub sent_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
    pub read_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// Which of a user's notifications to mark read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkRead {
    Ids(Vec<Uuid>),
    All,
}

/// A user's choice for one notification type on one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Preference {
    pub kind: NotificationType,
    pub channel: Channel,
    pub enabled: bool,
}

/// Someone to notify: where to reach them, and the choices they stored for the type being
/// sent (absent ones take the defaults of `notify::plan`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub user_id: UserId,
    pub member_id: MemberId,
    pub phone: Phone,
    pub email: Option<Email>,
    /// Whether one of their devices (not revoked) has a push token.
    pub push: bool,
    pub preferences: Vec<Preference>,
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct NotificationRow {
    id: Uuid,
    user_id: Uuid,
    #[sqlx(rename = "type")]
    kind: String,
    channel: String,
    status: String,
    title: String,
    message: String,
    data: Option<String>,
    tontine_id: Option<Uuid>,
    session_id: Option<Uuid>,
    payment_id: Option<Uuid>,
    scheduled_at: Option<DateTime<Utc>>,
    sent_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
    read_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl TryFrom<NotificationRow> for Notification {
    type Error = StoreError;

    fn try_from(r: NotificationRow) -> Result<Self, StoreError> {
        Ok(Notification {
            id: r.id,
            user_id: UserId::from_uuid(r.user_id),
            kind: r.kind.parse().map_err(StoreError::corrupt)?,
            channel: r.channel.parse().map_err(StoreError::corrupt)?,
            status: r.status.parse().map_err(StoreError::corrupt)?,
            title: r.title,
            message: r.message,
            data: r
                .data
                .map(|d| serde_json::from_str(&d))
                .transpose()
                .map_err(StoreError::corrupt)?,
            tontine_id: r.tontine_id.map(TontineId::from_uuid),
            session_id: r.session_id.map(SessionId::from_uuid),
            payment_id: r.payment_id,
            scheduled_at: r.scheduled_at,
            sent_at: r.sent_at,
            delivered_at: r.delivered_at,
            read_at: r.read_at,
            created_at: r.created_at,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct PreferenceRow {
    user_id: Uuid,
    #[sqlx(rename = "type")]
    kind: String,
    channel: String,
    enabled: bool,
}

impl PreferenceRow {
    pub(super) fn parse(self) -> Result<(UserId, Preference), StoreError> {
        let preference = Preference {
            kind: self.kind.parse().map_err(StoreError::corrupt)?,
            channel: self.channel.parse().map_err(StoreError::corrupt)?,
            enabled: self.enabled,
        };
        Ok((UserId::from_uuid(self.user_id), preference))
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct RecipientRow {
    member_id: Uuid,
    user_id: Uuid,
    phone: String,
    email: Option<String>,
    has_push: bool,
}

/// Recipients with their stored choices (`preferences` rows of any of them, any order).
pub(super) fn recipients(
    rows: Vec<RecipientRow>,
    preferences: Vec<PreferenceRow>,
) -> Result<Vec<Recipient>, StoreError> {
    let mut choices: std::collections::HashMap<UserId, Vec<Preference>> =
        std::collections::HashMap::new();
    for row in preferences {
        let (user, preference) = row.parse()?;
        choices.entry(user).or_default().push(preference);
    }
    rows.into_iter()
        .map(|r| {
            let user_id = UserId::from_uuid(r.user_id);
            Ok(Recipient {
                user_id,
                member_id: MemberId::from_uuid(r.member_id),
                phone: Phone::parse(&r.phone).map_err(StoreError::corrupt)?,
                email: r
                    .email
                    .as_deref()
                    .map(Email::parse)
                    .transpose()
                    .map_err(StoreError::corrupt)?,
                push: r.has_push,
                preferences: choices.remove(&user_id).unwrap_or_default(),
            })
        })
        .collect()
}

pub(super) struct NotificationQueries {
    /// Many at once: head, `VALUES` rows bound by `bind_notification!`, tail (returns the
    /// inserted ids).
    pub insert_many_head: &'static str,
    pub insert_many_tail: &'static str,
    /// Binds the 7 columns of `bind_outbox!`.
    pub insert_outbox: &'static str,
    pub insert_outbox_many_head: &'static str,
    pub insert_outbox_many_tail: &'static str,
    /// Binds: user_id, channel, unread_only, limit, offset. Newest first.
    pub list: &'static str,
    /// Binds: user_id, channel, unread_only.
    pub count: &'static str,
    /// Binds: id, user_id, channel, now, the read status.
    pub mark_one: &'static str,
    /// Binds: user_id, channel, now, the read status.
    pub mark_all: &'static str,
    /// Binds: user_id.
    pub preferences: &'static str,
    /// Binds: user_id, type, channel, enabled.
    pub upsert_preference: &'static str,
    /// Binds: tontine_id. Its active members with their contacts.
    pub tontine_recipients: &'static str,
    /// Binds: tontine_id, type. Stored choices of its active members for that type.
    pub tontine_preferences: &'static str,
}

/// The columns of a notification; `$data` reads the JSON column as text.
macro_rules! notification_select {
    ($data:literal) => {
        concat!(
            "SELECT id, user_id, type, channel, status, title, message, ",
            $data,
            ", tontine_id, session_id, payment_id, scheduled_at, sent_at, delivered_at, \
             read_at, created_at FROM notifications "
        )
    };
}

/// Whether member `m`'s user has a push token on a device that is not revoked.
macro_rules! has_push {
    () => {
        "EXISTS (SELECT 1 FROM push_tokens pt JOIN devices d ON d.id = pt.device_id \
         WHERE pt.user_id = m.user_id AND d.revoked_at IS NULL) AS has_push"
    };
}

pub(super) const SQLITE: NotificationQueries = NotificationQueries {
    insert_many_head: "INSERT INTO notifications (id, user_id, type, channel, status, title, \
        message, data, tontine_id, session_id, payment_id, dedup_key, scheduled_at, created_at, \
        sent_at, delivered_at) ",
    insert_many_tail: " ON CONFLICT (dedup_key) DO NOTHING RETURNING id",
    insert_outbox: "INSERT INTO outbox (id, notification_id, channel, recipient, payload, \
        next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    insert_outbox_many_head: "INSERT INTO outbox (id, notification_id, channel, recipient, \
        payload, next_attempt_at, created_at) ",
    insert_outbox_many_tail: "",
    list: concat!(
        notification_select!("data"),
        "WHERE user_id = $1 AND channel = $2 AND (NOT $3 OR read_at IS NULL) \
         ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5"
    ),
    count: "SELECT COUNT(*) FROM notifications \
        WHERE user_id = $1 AND channel = $2 AND (NOT $3 OR read_at IS NULL)",
    mark_one: "UPDATE notifications SET read_at = $4, status = $5 \
        WHERE id = $1 AND user_id = $2 AND channel = $3 AND read_at IS NULL",
    mark_all: "UPDATE notifications SET read_at = $3, status = $4 \
        WHERE user_id = $1 AND channel = $2 AND read_at IS NULL",
    preferences: "SELECT user_id, type, channel, enabled FROM notification_preferences \
        WHERE user_id = $1 ORDER BY type, channel",
    upsert_preference: "INSERT INTO notification_preferences (user_id, type, channel, enabled) \
        VALUES ($1, $2, $3, $4) \
        ON CONFLICT (user_id, type, channel) DO UPDATE SET enabled = excluded.enabled",
    tontine_recipients: concat!(
        "SELECT m.id AS member_id, m.user_id, u.phone, u.email, ",
        has_push!(),
        " FROM members m JOIN users u ON u.id = m.user_id \
        WHERE m.tontine_id = $1 AND m.is_active ORDER BY m.joined_at, m.id"
    ),
    tontine_preferences: "SELECT np.user_id, np.type, np.channel, np.enabled \
        FROM notification_preferences np JOIN members m ON m.user_id = np.user_id \
        WHERE m.tontine_id = $1 AND m.is_active AND np.type = $2",
};

pub(super) const POSTGRES: NotificationQueries = NotificationQueries {
    insert_many_head: "INSERT INTO notifications (id, user_id, type, channel, status, title, \
        message, data, tontine_id, session_id, payment_id, dedup_key, scheduled_at, created_at, \
        sent_at, delivered_at) SELECT id, user_id, type, channel, status, title, message, \
        data::jsonb, tontine_id, session_id, payment_id, dedup_key, scheduled_at, created_at, \
        sent_at, delivered_at FROM (",
    insert_many_tail: ") AS v (id, user_id, type, channel, status, title, message, data, \
        tontine_id, session_id, payment_id, dedup_key, scheduled_at, created_at, sent_at, \
        delivered_at) ON CONFLICT (dedup_key) DO NOTHING RETURNING id",
    insert_outbox: "INSERT INTO outbox (id, notification_id, channel, recipient, payload, \
        next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)",
    insert_outbox_many_head: "INSERT INTO outbox (id, notification_id, channel, recipient, \
        payload, next_attempt_at, created_at) SELECT id, notification_id, channel, recipient, \
        payload::jsonb, next_attempt_at, created_at FROM (",
    insert_outbox_many_tail: ") AS v (id, notification_id, channel, recipient, payload, \
        next_attempt_at, created_at)",
    list: concat!(
        notification_select!("data::text AS data"),
        "WHERE user_id = $1 AND channel = $2 AND (NOT $3 OR read_at IS NULL) \
         ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5"
    ),
    ..SQLITE
};

/// A new notification's status: in-app ones are delivered by being written (`delivree`); the
/// others wait for the outbox worker (`en_attente`).
pub(crate) fn initial_status(channel: Channel) -> NotificationStatus {
    match channel {
        Channel::InApp => NotificationStatus::Delivree,
        Channel::Sms | Channel::Email | Channel::Push => NotificationStatus::EnAttente,
    }
}

/// When a new notification counts as sent and delivered: at once for in-app ones.
pub(crate) fn delivered_at(n: &NewNotification) -> Option<Timestamp> {
    (n.channel == Channel::InApp).then_some(n.at)
}

/// The outbox payload of a notification.
pub(crate) fn outbox_payload(n: &NewNotification) -> String {
    serde_json::json!({"title": n.title, "message": n.message, "sms": n.sms, "data": n.data})
        .to_string()
}

/// Binds a notification's 16 columns (`insert`): with `bind`, or `push_bind` for a row of a
/// multi-row insert. In-app rows are delivered (and sent) by being written.
macro_rules! bind_notification {
    ($query:expr, $n:expr, $bind:ident) => {
        $query
            .$bind($n.id)
            .$bind($n.user_id.as_uuid())
            .$bind($n.kind.as_str())
            .$bind($n.channel.as_str())
            .$bind($crate::notifications::initial_status($n.channel).as_str())
            .$bind(&$n.title)
            .$bind(&$n.message)
            .$bind($n.data.as_ref().map(|d| d.to_string()))
            .$bind($n.tontine_id.map(|t| t.as_uuid()))
            .$bind($n.session_id.map(|s| s.as_uuid()))
            .$bind($n.payment_id)
            .$bind($n.dedup_key.as_deref())
            .$bind($n.at)
            .$bind($n.at)
            .$bind($crate::notifications::delivered_at($n))
            .$bind($crate::notifications::delivered_at($n))
    };
}
pub(super) use bind_notification;

/// Binds the outbox row (`insert_outbox`) of a notification sent to `$recipient`.
macro_rules! bind_outbox {
    ($query:expr, $n:expr, $recipient:expr, $bind:ident) => {
        $query
            .$bind(kobiri_core::new_uuid())
            .$bind($n.id)
            .$bind($n.channel.as_str())
            .$bind($recipient)
            .$bind($crate::notifications::outbox_payload($n))
            .$bind($n.at)
            .$bind($n.at)
    };
}
pub(super) use bind_outbox;

/// Where the outbox sends `n`: nowhere for in-app rows.
pub(crate) fn outbox_recipient(n: &NewNotification) -> Option<&str> {
    (n.channel != Channel::InApp)
        .then_some(n.recipient.as_deref())
        .flatten()
}

/// Writes notifications (and their outbox rows) inside the caller's transaction: one
/// statement for the notifications and one for their outbox rows, per bind limit's worth of
/// rows. Evaluates to the number of notifications actually inserted (dedup keys already
/// present are skipped, and get no outbox row).
macro_rules! insert_notifications {
    ($conn:expr, $nq:expr, $list:expr) => {{
        let mut inserted = std::collections::HashSet::new();
        for chunk in $list.chunks($crate::sync::rows_per_insert(16)) {
            let mut query = sqlx::QueryBuilder::new($nq.insert_many_head);
            query.push_values(chunk, |mut row, n| {
                $crate::notifications::bind_notification!(row, n, push_bind);
            });
            query.push($nq.insert_many_tail);
            let ids: Vec<uuid::Uuid> = query.build_query_scalar().fetch_all(&mut *$conn).await?;
            inserted.extend(ids);
        }
        let outbox: Vec<(&$crate::NewNotification, &str)> = $list
            .iter()
            .filter(|n| inserted.contains(&n.id))
            .filter_map(|n| $crate::notifications::outbox_recipient(n).map(|to| (n, to)))
            .collect();
        $crate::sync::insert_many!(
            $conn,
            $nq.insert_outbox_many_head,
            $nq.insert_outbox_many_tail,
            outbox,
            7,
            |row, entry| {
                let (n, to) = *entry;
                $crate::notifications::bind_outbox!(row, n, to, push_bind)
            }
        );
        inserted.len() as u64
    }};
}
pub(super) use insert_notifications;

/// Implements `NotificationStore` for an engine's store, given its notification queries.
macro_rules! impl_notification_store {
    ($store:ty, $nq:expr) => {
        #[async_trait::async_trait]
        impl $crate::NotificationStore for $store {
            async fn list_notifications(
                &self,
                user: kobiri_core::UserId,
                unread_only: bool,
                page: $crate::PageRequest,
            ) -> $crate::StoreResult<$crate::Page<$crate::Notification>> {
                use $crate::notifications::NotificationRow;
                let channel = kobiri_core::Channel::InApp.as_str();
                Ok($crate::fetch_page!(
                    self.reader(), $nq.count, $nq.list,
                    NotificationRow => $crate::Notification,
                    page, user.as_uuid(), channel, unread_only
                ))
            }

            async fn count_unread_notifications(
                &self,
                user: kobiri_core::UserId,
            ) -> $crate::StoreResult<u64> {
                let total: i64 = sqlx::query_scalar($nq.count)
                    .bind(user.as_uuid())
                    .bind(kobiri_core::Channel::InApp.as_str())
                    .bind(true)
                    .fetch_one(self.reader())
                    .await?;
                Ok(u64::try_from(total).unwrap_or(0))
            }

            async fn mark_notifications_read(
                &self,
                user: kobiri_core::UserId,
                which: &$crate::MarkRead,
                now: $crate::Timestamp,
            ) -> $crate::StoreResult<u64> {
                let channel = kobiri_core::Channel::InApp.as_str();
                let read = kobiri_core::NotificationStatus::Lue.as_str();
                let mut tx = self.writer().begin().await?;
                let marked = match which {
                    $crate::MarkRead::All => sqlx::query($nq.mark_all)
                        .bind(user.as_uuid())
                        .bind(channel)
                        .bind(now)
                        .bind(read)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected(),
                    $crate::MarkRead::Ids(ids) => {
                        let mut marked = 0;
                        for id in ids {
                            marked += sqlx::query($nq.mark_one)
                                .bind(id)
                                .bind(user.as_uuid())
                                .bind(channel)
                                .bind(now)
                                .bind(read)
                                .execute(&mut *tx)
                                .await?
                                .rows_affected();
                        }
                        marked
                    }
                };
                tx.commit().await?;
                Ok(marked)
            }

            async fn notification_preferences(
                &self,
                user: kobiri_core::UserId,
            ) -> $crate::StoreResult<Vec<$crate::Preference>> {
                let rows: Vec<$crate::notifications::PreferenceRow> =
                    sqlx::query_as($nq.preferences)
                        .bind(user.as_uuid())
                        .fetch_all(self.reader())
                        .await?;
                rows.into_iter()
                    .map(|r| r.parse().map(|(_, p)| p))
                    .collect()
            }

            async fn set_notification_preferences(
                &self,
                user: kobiri_core::UserId,
                choices: &[$crate::Preference],
            ) -> $crate::StoreResult<()> {
                let mut tx = self.writer().begin().await?;
                for c in choices {
                    sqlx::query($nq.upsert_preference)
                        .bind(user.as_uuid())
                        .bind(c.kind.as_str())
                        .bind(c.channel.as_str())
                        .bind(c.enabled)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn tontine_recipients(
                &self,
                tontine: kobiri_core::TontineId,
                kind: kobiri_core::NotificationType,
            ) -> $crate::StoreResult<Vec<$crate::Recipient>> {
                let rows = sqlx::query_as($nq.tontine_recipients)
                    .bind(tontine.as_uuid())
                    .fetch_all(self.reader())
                    .await?;
                let choices = sqlx::query_as($nq.tontine_preferences)
                    .bind(tontine.as_uuid())
                    .bind(kind.as_str())
                    .fetch_all(self.reader())
                    .await?;
                $crate::notifications::recipients(rows, choices)
            }

            async fn write_notifications(
                &self,
                list: &[$crate::NewNotification],
            ) -> $crate::StoreResult<u64> {
                let mut tx = self.writer().begin().await?;
                let written = $crate::notifications::insert_notifications!(tx, $nq, list);
                tx.commit().await?;
                Ok(written)
            }
        }
    };
}
pub(super) use impl_notification_store;
