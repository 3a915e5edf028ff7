//! Bodies of the payment routes.

use chrono::{DateTime, Utc};
use kobiri_core::{PaymentMethod, PaymentStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{money_input::MoneyInput, store::Payment};

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentResponse {
    pub id: uuid::Uuid,
    pub user_id: uuid::Uuid,
    pub member_id: uuid::Uuid,
    pub session_id: uuid::Uuid,
    pub tontine_id: uuid::Uuid,
    pub amount: String,
    pub currency: String,
    pub method: String,
    pub status: String,
    pub operator_reference: Option<String>,
    pub operator_transaction_id: Option<String>,
    pub phone_number: Option<String>,
    pub proof_url: Option<String>,
    pub proof_description: Option<String>,
    pub validated_by_id: Option<uuid::Uuid>,
    pub validated_at: Option<DateTime<Utc>>,
    pub rejection_reason: Option<String>,
    pub penalty_amount: String,
    pub is_late: bool,
    /// amount + penalty_amount.
    pub total_amount: String,
    pub is_mobile_money: bool,
    pub is_manual: bool,
    /// Still waiting for a president or treasurer.
    pub requires_validation: bool,
    pub recorded_by_id: uuid::Uuid,
    pub device_id: Option<uuid::Uuid>,
    /// The code a member quotes to prove a validated cash payment.
    pub receipt_code: Option<String>,
    pub notes: Option<String>,
    pub initiated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub user_name: String,
    /// The payer's phone on record: `null` in a tontine's list for members who may not see
    /// other members' contacts.
    pub user_phone: Option<String>,
    /// Mobile money: the provider's page where the payer approves (only in the answer to
    /// `POST /payments/initiate`, when the provider has one).
    pub payment_url: Option<String>,
}

impl From<Payment> for PaymentResponse {
    fn from(p: Payment) -> Self {
        let total = p
            .amount
            .checked_add(p.penalty_amount)
            .map_or_else(|_| p.amount.to_wire_string(), |a| a.to_wire_string());
        Self {
            id: p.id.as_uuid(),
            user_id: p.user_id.as_uuid(),
            member_id: p.member_id.as_uuid(),
            session_id: p.session_id.as_uuid(),
            tontine_id: p.tontine_id.as_uuid(),
            amount: p.amount.to_wire_string(),
            currency: p.amount.currency().as_str().to_owned(),
            method: p.method.as_str().to_owned(),
            status: p.status.as_str().to_owned(),
            operator_reference: p.operator_reference,
            operator_transaction_id: p.operator_transaction_id,
            phone_number: p.phone_number,
            proof_url: p.proof_url,
            proof_description: p.proof_description,
            validated_by_id: p.validated_by_id.map(|u| u.as_uuid()),
            validated_at: p.validated_at,
            rejection_reason: p.rejection_reason,
            penalty_amount: p.penalty_amount.to_wire_string(),
            is_late: p.is_late,
            total_amount: total,
            is_mobile_money: p.method.is_mobile_money(),
            is_manual: p.method.is_manual(),
            requires_validation: p.status == PaymentStatus::EnAttente,
            recorded_by_id: p.recorded_by_id.as_uuid(),
            device_id: p.device_id,
            receipt_code: p.receipt_code,
            notes: p.notes,
            initiated_at: p.initiated_at,
            completed_at: p.completed_at,
            created_at: p.created_at,
            user_name: p.user_name,
            user_phone: Some(p.user_phone),
            payment_url: None,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "tontine_id": "01935f3e-8d3c-7c4a-9b1e-2f6a4d8c9e10", "amount": 5000, "method": "especes",
    "member_id": "01935f3e-8d3c-7c4a-9b1e-2f6a4d8c9e12", "notes": "Payé au marché"
}))]
pub struct CreatePaymentRequest {
    pub tontine_id: uuid::Uuid,
    /// Default: the tontine's open session.
    pub session_id: Option<uuid::Uuid>,
    pub amount: MoneyInput,
    #[schema(value_type = String, example = "especes")]
    pub method: PaymentMethod,
    pub notes: Option<String>,
    /// The operator's transaction id of a mobile-money transfer declared by hand (required
    /// for mobile-money methods).
    pub transaction_id: Option<String>,
    pub phone_number: Option<String>,
    pub proof_url: Option<String>,
    pub proof_description: Option<String>,
    /// The paying member (a manager recording cash for someone); default: the caller.
    pub member_id: Option<uuid::Uuid>,
    /// Alternative to `member_id`: the paying member's user id.
    pub user_id: Option<uuid::Uuid>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"action": "approve"}))]
pub struct ValidateRequest {
    pub action: Decision,
    /// Required when rejecting.
    pub rejection_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PaymentListQuery {
    pub tontine_id: Option<uuid::Uuid>,
    pub session_id: Option<uuid::Uuid>,
    #[param(value_type = Option<String>)]
    pub status: Option<PaymentStatus>,
    pub user_id: Option<uuid::Uuid>,
    pub page: Option<u32>,
    pub page_size: Option<u32>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TontinePaymentsQuery {
    #[param(value_type = Option<String>)]
    pub status: Option<PaymentStatus>,
    pub page: Option<u32>,
    pub page_size: Option<u32>,
}
