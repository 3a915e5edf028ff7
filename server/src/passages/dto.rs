//! Bodies of the passage routes, the contract's Passage object, and their conversions.

use chrono::{DateTime, NaiveDate, Utc};
use kobiri_core::{
    Amount, Currency, FieldErrors, MemberId, OrderMethod, PassageStatus, PayoutMethod, Phone,
    bounded_text,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{error::ApiError, money_input::MoneyInput, store::Passage};

/// Free texts (reference, notes, reason) are at most this long.
const TEXT_MAX: usize = 1000;
/// Server-drawn seeds stay below 2^53, so JavaScript clients read them exactly.
const DRAWN_SEED_BOUND: i64 = 1 << 53;

/// The contract's Passage object. Money is a decimal string; `payout_amount` and `paid_at`
/// (what the manager recorded as handed over, and when) are Kobiri additions.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01935f3e-8d3c-7c4a-9b1e-2f6a4d8c9e20", "tontine_id": "01935f3e-8d3c-7c4a-9b1e-2f6a4d8c9e10",
    "member_id": "01935f3e-8d3c-7c4a-9b1e-2f6a4d8c9e12", "session_id": null, "order_number": 1,
    "scheduled_date": "2027-01-31", "actual_date": null, "status": "programme",
    "expected_amount": "25000", "amount_received": null, "payout_method": null,
    "payout_reference": null, "payout_phone": null, "payout_amount": null, "paid_at": null,
    "confirmed_by_member": false, "confirmed_at": null, "notes": null, "postpone_reason": null,
    "is_pending": true, "is_complete": false, "amount_difference": null, "is_overdue": false,
    "created_at": "2026-11-24T08:00:00Z", "updated_at": "2026-11-24T08:00:00Z",
    "member_name": "Awa Diop", "member_phone": "+221771234567", "member_email": "awa@example.sn"
}))]
pub struct PassageResponse {
    pub id: uuid::Uuid,
    pub tontine_id: uuid::Uuid,
    pub member_id: uuid::Uuid,
    pub session_id: Option<uuid::Uuid>,
    pub order_number: u32,
    pub scheduled_date: Option<NaiveDate>,
    pub actual_date: Option<NaiveDate>,
    pub status: String,
    pub expected_amount: String,
    /// What the beneficiary confirmed receiving.
    pub amount_received: Option<String>,
    pub payout_method: Option<String>,
    pub payout_reference: Option<String>,
    pub payout_phone: Option<String>,
    /// What the manager recorded as handed over (Kobiri addition).
    pub payout_amount: Option<String>,
    /// When the payout was recorded (Kobiri addition).
    pub paid_at: Option<DateTime<Utc>>,
    pub confirmed_by_member: bool,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub notes: Option<String>,
    pub postpone_reason: Option<String>,
    /// A payout sent through a mobile-money provider: `en_cours` until the provider confirms,
    /// then `valide` (the passage is complete) or `echoue` (see `payout_failure`).
    pub payout_status: Option<String>,
    pub payout_failure: Option<String>,
    /// `programme`, `en_cours` or `reporte`: the member still awaits the pot.
    pub is_pending: bool,
    pub is_complete: bool,
    /// `amount_received − expected_amount` (may be negative), null before confirmation.
    pub amount_difference: Option<String>,
    /// Pending and dated before today (UTC).
    pub is_overdue: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub member_name: String,
    /// Shown to the beneficiary, and to the tontine's collectors, treasurers, presidents and
    /// admins; `null` for the other members.
    pub member_phone: Option<String>,
    /// Like `member_phone`.
    pub member_email: Option<String>,
}

/// A signed amount as a wire string, with the currency's decimals.
fn signed_wire(value: Decimal, currency: Currency) -> String {
    let mut value = value;
    value.rescale(currency.minor_unit());
    value.to_string()
}

fn difference(received: Option<Amount>, expected: Amount) -> Option<String> {
    let received = received?;
    let diff = received.value().checked_sub(expected.value())?;
    Some(signed_wire(diff, expected.currency()))
}

impl PassageResponse {
    /// The passage as `access`'s caller may see it: without the beneficiary's phone and
    /// e-mail unless they are the caller's own or the caller may see members' contacts.
    pub fn shown_to(p: Passage, today: NaiveDate, access: &crate::tontines::TontineAccess) -> Self {
        let sees = access.sees_contacts_of(p.member_user_id);
        let mut shown = Self::new(p, today);
        if !sees {
            shown.member_phone = None;
            shown.member_email = None;
        }
        shown
    }

    /// The passage as clients see it on `today`.
    pub fn new(p: Passage, today: NaiveDate) -> Self {
        let pending = p.status.is_pending();
        Self {
            id: p.id.as_uuid(),
            tontine_id: p.tontine_id.as_uuid(),
            member_id: p.member_id.as_uuid(),
            session_id: p.session_id.map(|s| s.as_uuid()),
            order_number: p.order_number,
            scheduled_date: p.scheduled_date,
            actual_date: p.actual_date,
            status: p.status.as_str().to_owned(),
            expected_amount: p.expected_amount.to_wire_string(),
            amount_received: p.amount_received.map(|a| a.to_wire_string()),
            payout_method: p.payout_method.map(|m| m.as_str().to_owned()),
            payout_reference: p.payout_reference,
            payout_phone: p.payout_phone,
            payout_amount: p.payout_amount.map(|a| a.to_wire_string()),
            paid_at: p.paid_at,
            confirmed_by_member: p.confirmed_by_member,
            confirmed_at: p.confirmed_at,
            notes: p.notes,
            postpone_reason: p.postpone_reason,
            payout_status: p.payout_status,
            payout_failure: p.payout_failure,
            is_pending: pending,
            is_complete: p.status == PassageStatus::Complete,
            amount_difference: difference(p.amount_received, p.expected_amount),
            is_overdue: pending && p.scheduled_date.is_some_and(|d| d < today),
            created_at: p.created_at,
            updated_at: p.updated_at,
            member_name: p.member_name,
            member_phone: Some(p.member_phone),
            member_email: p.member_email,
        }
    }
}

/// The audit snapshot of a passage: what a change may touch.
pub fn snapshot(p: &Passage) -> serde_json::Value {
    serde_json::json!({
        "status": p.status.as_str(),
        "member_id": p.member_id,
        "order_number": p.order_number,
        "expected_amount": p.expected_amount.to_wire_string(),
        "payout_amount": p.payout_amount.map(|a| a.to_wire_string()),
        "payout_method": p.payout_method.map(PayoutMethod::as_str),
        "amount_received": p.amount_received.map(|a| a.to_wire_string()),
        "paid_at": p.paid_at,
    })
}

/// A payout order just stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct PassageOrderResponse {
    pub tontine_id: uuid::Uuid,
    /// `random`, `alphabetical` or `join_date`; null for an order set by hand.
    pub method: Option<String>,
    /// The seed of a random draw: re-running core's draw with it gives the same order.
    pub seed: Option<i64>,
    /// The passages in payout order.
    pub passages: Vec<PassageResponse>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleResponse {
    pub tontine_id: uuid::Uuid,
    pub tontine_name: String,
    pub passages: Vec<PassageResponse>,
    /// The first passage `en_cours`.
    pub current_passage: Option<PassageResponse>,
    /// The first passage `programme` or `reporte`.
    pub next_passage: Option<PassageResponse>,
    pub completed_count: u32,
    /// Passages still pending (`programme`, `en_cours`, `reporte`).
    pub remaining_count: u32,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = GeneratePassagesRequest, example = json!({"method": "random", "seed": 424242}))]
pub struct GenerateRequest {
    #[schema(value_type = String, example = "random")]
    pub method: OrderMethod,
    /// For `random`: 0 to 2^63 − 1. Drawn by the server when absent; ignored otherwise.
    pub seed: Option<i64>,
}

impl GenerateRequest {
    /// The seed to draw with: the one given, or a fresh one below 2^53.
    pub fn seed(&self) -> Result<i64, ApiError> {
        match self.seed {
            Some(seed) if seed < 0 => Err(ApiError::field("seed", "la graine doit être positive")),
            Some(seed) => Ok(seed),
            None => Ok(rand::random_range(0..DRAWN_SEED_BOUND)),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OrderEntry {
    pub member_id: uuid::Uuid,
    pub order_number: u32,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"passages": [
    {"member_id": "01935f3e-8d3c-7c4a-9b1e-2f6a4d8c9e12", "order_number": 1},
    {"member_id": "01935f3e-8d3c-7c4a-9b1e-2f6a4d8c9e13", "order_number": 2}
]}))]
pub struct ReorderRequest {
    /// Every active member once, with order numbers 1 to N.
    pub passages: Vec<OrderEntry>,
}

impl ReorderRequest {
    pub fn entries(&self) -> Vec<(MemberId, u32)> {
        self.passages
            .iter()
            .map(|e| (MemberId::from_uuid(e.member_id), e.order_number))
            .collect()
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"payout_method": "orange_money", "payout_phone": "+221771234567",
    "payout_reference": "OM-2027-0131-001"}))]
pub struct PayoutRequest {
    #[schema(value_type = String, example = "orange_money")]
    pub payout_method: PayoutMethod,
    /// Mobile money only: the wallet, by default the beneficiary's own number. It must be
    /// verified on their account or confirmed by code (`/payout-phone`); another number than
    /// their own needs a second manager's approval. Ignored for `especes` and `virement`.
    pub payout_phone: Option<String>,
    pub payout_reference: Option<String>,
    /// Defaults to the passage's `expected_amount`; never more than what its pot holds.
    pub amount: Option<MoneyInput>,
}

/// A payout waiting for (or decided by) a second manager.
#[derive(Debug, Serialize, ToSchema)]
pub struct PayoutRequestResponse {
    pub id: uuid::Uuid,
    pub passage_id: uuid::Uuid,
    /// `en_attente`, `approuve` or `rejete`.
    pub status: String,
    pub payout_method: String,
    pub payout_phone: Option<String>,
    pub payout_reference: Option<String>,
    pub amount: String,
    /// Why it needs approval: `autre_numero`, `au_dessus_du_seuil`.
    pub reasons: Vec<String>,
    pub requested_by_id: uuid::Uuid,
    pub requested_at: DateTime<Utc>,
    pub decided_by_id: Option<uuid::Uuid>,
    pub decided_at: Option<DateTime<Utc>>,
    pub rejection_reason: Option<String>,
}

impl From<crate::store::PayoutRequest> for PayoutRequestResponse {
    fn from(r: crate::store::PayoutRequest) -> Self {
        Self {
            id: r.id,
            passage_id: r.passage_id.as_uuid(),
            status: r.status.as_str().to_owned(),
            payout_method: r.method.as_str().to_owned(),
            payout_phone: r.phone,
            payout_reference: r.reference,
            amount: r.amount.to_wire_string(),
            reasons: r.reasons.iter().map(|x| x.as_str().to_owned()).collect(),
            requested_by_id: r.requested_by.as_uuid(),
            requested_at: r.requested_at,
            decided_by_id: r.decided_by.map(|u| u.as_uuid()),
            decided_at: r.decided_at,
            rejection_reason: r.rejection_reason,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"reason": "Ce numéro n'est pas celui de la bénéficiaire"}))]
pub struct RejectPayoutRequest {
    /// Required, not blank.
    pub reason: Option<String>,
}

impl RejectPayoutRequest {
    pub fn reason(&self) -> Result<String, ApiError> {
        required_reason(self.reason.as_deref())
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"phone": "+221770009988"}))]
pub struct PayoutPhoneRequest {
    /// The number the beneficiary wants the pot on.
    pub phone: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"phone": "+221770009988", "code": "123456"}))]
pub struct PayoutPhoneConfirmRequest {
    pub phone: String,
    /// The 6-digit code that number received.
    pub code: String,
}

/// A payout, parsed.
#[derive(Debug)]
pub struct PayoutDraft {
    pub phone: Option<Phone>,
    pub reference: Option<String>,
    pub amount: Amount,
}

fn optional_text(e: &mut FieldErrors, field: &str, value: Option<&str>) -> Option<String> {
    value.and_then(|v| e.check(field, bounded_text(v, TEXT_MAX)).flatten())
}

impl PayoutRequest {
    /// Parses the payout of a passage expecting `expected`.
    pub fn draft(&self, expected: Amount) -> Result<PayoutDraft, ApiError> {
        let mut e = FieldErrors::new();
        let phone = self
            .payout_phone
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .and_then(|p| e.check("payout_phone", Phone::parse(p)));
        let reference = optional_text(&mut e, "payout_reference", self.payout_reference.as_deref());
        let amount = match &self.amount {
            None => Some(expected),
            Some(a) => e.check(
                "amount",
                a.amount(expected.currency())
                    .and_then(Amount::require_positive),
            ),
        };
        match amount {
            Some(amount) if e.is_empty() => Ok(PayoutDraft {
                phone,
                reference,
                amount,
            }),
            _ => Err(ApiError::validation(e)),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"amount_received": 25000, "notes": "Reçu en espèces au marché"}))]
pub struct ConfirmRequest {
    pub amount_received: MoneyInput,
    pub notes: Option<String>,
}

impl ConfirmRequest {
    /// The amount (positive, in `currency`) and the notes.
    pub fn parse(&self, currency: Currency) -> Result<(Amount, Option<String>), ApiError> {
        let mut e = FieldErrors::new();
        let amount = e.check(
            "amount_received",
            self.amount_received
                .amount(currency)
                .and_then(Amount::require_positive),
        );
        let notes = optional_text(&mut e, "notes", self.notes.as_deref());
        match amount {
            Some(amount) if e.is_empty() => Ok((amount, notes)),
            _ => Err(ApiError::validation(e)),
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"reason": "La bénéficiaire est en voyage jusqu'au 15"}))]
pub struct PostponeRequest {
    /// Required, not blank.
    pub reason: Option<String>,
}

impl PostponeRequest {
    pub fn reason(&self) -> Result<String, ApiError> {
        required_reason(self.reason.as_deref())
    }
}

/// A required, non-blank `reason`.
fn required_reason(reason: Option<&str>) -> Result<String, ApiError> {
    match reason.map(|r| bounded_text(r, TEXT_MAX)) {
        Some(Ok(Some(reason))) => Ok(reason),
        Some(Err(err)) => Err(ApiError::field("reason", err)),
        Some(Ok(None)) | None => Err(ApiError::field("reason", "champ obligatoire")),
    }
}
