//! Bodies of the session routes.

use chrono::{DateTime, NaiveDate, Utc};
use kobiri_core::{SessionFigures, SessionStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{date_input::DateInput, store::Session};

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    pub id: uuid::Uuid,
    pub tontine_id: uuid::Uuid,
    pub session_number: u32,
    pub scheduled_date: NaiveDate,
    pub due_date: NaiveDate,
    pub opened_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// programmee, en_cours, en_attente, terminee or annulee.
    pub status: String,
    pub expected_amount: String,
    pub collected_amount: String,
    pub beneficiary_id: Option<uuid::Uuid>,
    pub notes: Option<String>,
    pub is_complete: bool,
    /// 0 to 100, two decimals at most.
    pub collection_percentage: String,
    pub remaining_amount: String,
    /// Past its due date and neither closed nor cancelled.
    pub is_overdue: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub beneficiary_name: Option<String>,
}

impl SessionResponse {
    pub fn new(s: Session, today: NaiveDate) -> Self {
        let figures = SessionFigures::new(s.expected_amount, s.collected_amount).ok();
        Self {
            id: s.id.as_uuid(),
            tontine_id: s.tontine_id.as_uuid(),
            session_number: s.session_number,
            scheduled_date: s.scheduled_date,
            due_date: s.due_date,
            opened_at: s.opened_at,
            closed_at: s.closed_at,
            status: s.status.as_str().to_owned(),
            expected_amount: s.expected_amount.to_wire_string(),
            collected_amount: s.collected_amount.to_wire_string(),
            beneficiary_id: s.beneficiary_id.map(|m| m.as_uuid()),
            notes: s.notes,
            is_complete: figures.as_ref().is_some_and(SessionFigures::is_complete),
            collection_percentage: figures
                .as_ref()
                .map_or_else(|| "0".to_owned(), |f| f.collection_percentage().to_string()),
            remaining_amount: figures
                .as_ref()
                .map_or_else(|| "0".to_owned(), |f| f.remaining().to_wire_string()),
            is_overdue: today > s.due_date && !s.status.is_final(),
            created_at: s.created_at,
            updated_at: s.updated_at,
            beneficiary_name: s.beneficiary_name,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "tontine_id": "01935f3e-8d3c-7c4a-9b1e-2f6a4d8c9e10", "scheduled_date": "2027-01-31",
    "due_date": "2027-02-05"
}))]
pub struct CreateSessionRequest {
    pub tontine_id: uuid::Uuid,
    /// A calendar date (an RFC 3339 instant is read as its UTC date).
    pub scheduled_date: DateInput,
    /// A calendar date, on or after `scheduled_date` (an instant is read as its UTC date).
    pub due_date: DateInput,
    /// A member id of that tontine.
    pub beneficiary_id: Option<uuid::Uuid>,
    pub notes: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(as = GenerateSessionsRequest, example = json!({"count": 12}))]
pub struct GenerateRequest {
    /// How many sessions to plan (1 to 120); default: one per active member.
    pub count: Option<u32>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OpenRequest {
    #[serde(default = "yes")]
    pub send_notifications: bool,
}

fn yes() -> bool {
    true
}

impl Default for OpenRequest {
    fn default() -> Self {
        Self {
            send_notifications: true,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"force": false, "notes": "Séance close au marché"}))]
pub struct CloseRequest {
    #[serde(default)]
    pub force: bool,
    pub notes: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionListQuery {
    #[param(value_type = Option<String>)]
    pub status: Option<SessionStatus>,
    pub page: Option<u32>,
    pub page_size: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PendingMember {
    pub member_id: uuid::Uuid,
    pub user_id: uuid::Uuid,
    pub name: String,
    /// `null` unless the caller may see members' contacts (or it is their own).
    pub phone: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionStats {
    pub session_id: uuid::Uuid,
    /// Active members, each owing one contribution.
    pub total_expected_payments: u32,
    /// Active members whose validated payments add up to the contribution.
    pub total_received_payments: u32,
    /// Active members who have not paid yet (`pending_members`).
    pub missing_payments: u32,
    pub total_amount_expected: String,
    pub total_amount_collected: String,
    pub collection_rate: String,
    pub late_payments: u32,
    pub penalties_collected: String,
    pub pending_members: Vec<PendingMember>,
}
