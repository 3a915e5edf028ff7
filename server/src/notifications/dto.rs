//! Bodies of the notification routes, and their conversion into domain values.

use chrono::{DateTime, Utc};
use kobiri_core::{Channel, FieldErrors, NotificationType, bounded_text};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    error::ApiError,
    notify::plan,
    store::{MarkRead, Notification, Page, Preference},
};

/// Most ids one mark-read request may name.
pub const MARK_READ_MAX_IDS: usize = 500;
/// Longest manager's message added to a reminder, in characters.
pub const CUSTOM_MESSAGE_MAX: usize = 500;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationListQuery {
    /// `true` lists only unread notifications.
    pub unread_only: Option<bool>,
    pub page: Option<u32>,
    pub page_size: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01935f3e-8d3c-7c4a-9b1e-2f6a4d8c9e20", "user_id": "01935f3e-8d3c-7c4a-9b1e-2f6a4d8c9e11",
    "type": "rappel_cotisation", "channel": "in_app", "status": "delivree",
    "title": "Rappel de cotisation",
    "message": "Rappel : votre cotisation de 5000 XOF pour la session n°2 de la tontine « Sandaga » est attendue au plus tard le 28/02/2027.",
    "data": {"session_number": 2, "due_date": "2027-02-28"},
    "tontine_id": "01935f3e-8d3c-7c4a-9b1e-2f6a4d8c9e10", "session_id": "01935f3e-8d3c-7c4a-9b1e-2f6a4d8c9e12",
    "payment_id": null, "scheduled_at": "2027-02-26T08:00:00Z", "sent_at": "2027-02-26T08:00:00Z",
    "delivered_at": "2027-02-26T08:00:00Z", "read_at": null, "is_read": false,
    "created_at": "2027-02-26T08:00:00Z"
}))]
pub struct NotificationResponse {
    pub id: uuid::Uuid,
    pub user_id: uuid::Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    pub channel: String,
    pub status: String,
    pub title: String,
    pub message: String,
    #[schema(value_type = Option<Object>)]
    pub data: Option<serde_json::Value>,
    pub tontine_id: Option<uuid::Uuid>,
    pub session_id: Option<uuid::Uuid>,
    pub payment_id: Option<uuid::Uuid>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub read_at: Option<DateTime<Utc>>,
    pub is_read: bool,
    pub created_at: DateTime<Utc>,
}

impl From<Notification> for NotificationResponse {
    fn from(n: Notification) -> Self {
        Self {
            id: n.id,
            user_id: n.user_id.as_uuid(),
            kind: n.kind.as_str().to_owned(),
            channel: n.channel.as_str().to_owned(),
            status: n.status.as_str().to_owned(),
            title: n.title,
            message: n.message,
            data: n.data,
            tontine_id: n.tontine_id.map(|t| t.as_uuid()),
            session_id: n.session_id.map(|s| s.as_uuid()),
            payment_id: n.payment_id,
            scheduled_at: n.scheduled_at,
            sent_at: n.sent_at,
            delivered_at: n.delivered_at,
            is_read: n.read_at.is_some(),
            read_at: n.read_at,
            created_at: n.created_at,
        }
    }
}

/// A page of the inbox, in the contract's list shape, with the unread count beside it.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPage {
    pub items: Vec<NotificationResponse>,
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
    pub pages: u32,
    /// Unread notifications of the caller, whatever the filter and page.
    pub unread_count: u64,
}

impl NotificationPage {
    pub fn new(page: Page<Notification>, unread_count: u64) -> Self {
        let page = page.map(NotificationResponse::from);
        Self {
            items: page.items,
            total: page.total,
            page: page.page,
            page_size: page.page_size,
            pages: page.pages,
            unread_count,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"unread_count": 3}))]
pub struct UnreadCountResponse {
    pub unread_count: u64,
}

/// `{notification_ids: [...]}` or `{all: true}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"notification_ids": ["01935f3e-8d3c-7c4a-9b1e-2f6a4d8c9e20"]}))]
pub struct MarkReadRequest {
    /// At most 500 ids; ids that are not the caller's are ignored.
    pub notification_ids: Option<Vec<uuid::Uuid>>,
    /// `true` marks every unread notification of the caller (and wins over the ids).
    pub all: Option<bool>,
}

impl TryFrom<MarkReadRequest> for MarkRead {
    type Error = ApiError;

    fn try_from(r: MarkReadRequest) -> Result<Self, ApiError> {
        match (r.all, r.notification_ids) {
            (Some(true), _) => Ok(MarkRead::All),
            (_, Some(ids)) if ids.len() > MARK_READ_MAX_IDS => Err(ApiError::field(
                "notification_ids",
                format!("au plus {MARK_READ_MAX_IDS} identifiants par requête"),
            )),
            (_, Some(ids)) => Ok(MarkRead::Ids(ids)),
            (_, None) => Err(ApiError::field(
                "notification_ids",
                "donnez notification_ids ou all: true",
            )),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"marked_count": 2}))]
pub struct MarkedCountResponse {
    pub marked_count: u64,
}

/// One choice: does `type` go out on `channel`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct PreferenceItem {
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "rappel_cotisation")]
    pub kind: NotificationType,
    #[schema(value_type = String, example = "sms")]
    pub channel: Channel,
    pub enabled: bool,
}

/// Every type and channel with its effective setting (`GET`), or the choices to store (`PUT`,
/// only those listed change). In-app cannot be turned off.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"preferences": [
    {"type": "rappel_cotisation", "channel": "sms", "enabled": false},
    {"type": "information", "channel": "email", "enabled": true}
]}))]
pub struct PreferencesBody {
    pub preferences: Vec<PreferenceItem>,
}

impl PreferencesBody {
    /// Every type × channel, with the stored choice or the default.
    pub fn effective(stored: &[Preference]) -> Self {
        let preferences = NotificationType::ALL
            .iter()
            .flat_map(|&kind| {
                Channel::ALL.iter().map(move |&channel| PreferenceItem {
                    kind,
                    channel,
                    enabled: plan::enabled(stored, kind, channel),
                })
            })
            .collect();
        Self { preferences }
    }

    /// The choices to store; turning in-app off is refused.
    pub fn into_choices(self) -> Result<Vec<Preference>, ApiError> {
        let mut errors = FieldErrors::new();
        let max = NotificationType::ALL.len() * Channel::ALL.len();
        if self.preferences.len() > max {
            errors.push("preferences", format!("au plus {max} choix"));
        }
        for (i, p) in self.preferences.iter().enumerate() {
            if p.channel == Channel::InApp && !p.enabled {
                errors.push(
                    format!("preferences[{i}].enabled"),
                    "les notifications dans l'application ne peuvent pas être désactivées",
                );
            }
        }
        errors.into_result().map_err(ApiError::validation)?;
        Ok(self
            .preferences
            .into_iter()
            .map(|p| Preference {
                kind: p.kind,
                channel: p.channel,
                enabled: p.enabled,
            })
            .collect())
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "session_id": "01935f3e-8d3c-7c4a-9b1e-2f6a4d8c9e12", "channel": "sms",
    "custom_message": "Merci de payer avant samedi."
}))]
pub struct SendReminderRequest {
    pub session_id: uuid::Uuid,
    /// Only these users (each must be an active member of the session's tontine, else 422);
    /// those who have paid are skipped. Default: every unpaid member.
    pub user_ids: Option<Vec<uuid::Uuid>>,
    /// Default `sms`. In-app is always written.
    #[schema(value_type = Option<String>, example = "sms")]
    pub channel: Option<Channel>,
    /// Overrides `channel`.
    #[schema(value_type = Option<Vec<String>>)]
    pub channels: Option<Vec<Channel>>,
    /// Up to 500 characters, added to the reminder's text.
    pub custom_message: Option<String>,
}

/// A reminder request, parsed.
#[derive(Debug)]
pub struct ReminderDraft {
    pub user_ids: Option<Vec<kobiri_core::UserId>>,
    pub channels: Vec<Channel>,
    pub custom_message: Option<String>,
}

impl TryFrom<SendReminderRequest> for ReminderDraft {
    type Error = ApiError;

    fn try_from(r: SendReminderRequest) -> Result<Self, ApiError> {
        let custom_message = match r.custom_message.as_deref() {
            None => None,
            Some(text) => bounded_text(text, CUSTOM_MESSAGE_MAX)
                .map_err(|e| ApiError::field("custom_message", e))?,
        };
        let channels = r
            .channels
            .unwrap_or_else(|| vec![r.channel.unwrap_or(Channel::Sms)]);
        Ok(Self {
            user_ids: r.user_ids.map(|ids| {
                ids.into_iter()
                    .map(kobiri_core::UserId::from_uuid)
                    .collect()
            }),
            channels,
            custom_message,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"sent_count": 4}))]
pub struct SentCountResponse {
    /// Members reminded (each gets an in-app notification, and one per channel their choices
    /// allow).
    pub sent_count: u64,
}
