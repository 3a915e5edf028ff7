//! MTN MoMo stand-in: collection and disbursement tokens, `requesttopay` and `transfer` keyed
//! by `X-Reference-Id` (a duplicate answers 409 and pays nothing), their status, and the
//! plain callback.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::json;

use super::{CallbackMessage, Shared, Txn, TxnState, decimal, error, txn};
use crate::mobile_money::config::{MtnConfig, Secret};

pub const API_USER: &str = "3f1c2f6e-0000-4000-8000-000000000001";
pub const API_KEY: &str = "mtn-api-key";
pub const SUBSCRIPTION_KEY: &str = "mtn-collection-key";
pub const DISBURSEMENT_KEY: &str = "mtn-disbursement-key";

/// A configuration pointing at `stand_in` (target environment `sandbox`).
pub fn config(stand_in: &super::StandIn) -> MtnConfig {
    MtnConfig {
        api_user: Secret::new(API_USER),
        api_key: Secret::new(API_KEY),
        subscription_key: Secret::new(SUBSCRIPTION_KEY),
        disbursement_subscription_key: Secret::new(DISBURSEMENT_KEY),
        target_environment: "sandbox".into(),
        base_url: stand_in.base_url().to_owned(),
    }
}

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/collection/token/", post(collection_token))
        .route("/disbursement/token/", post(disbursement_token))
        .route("/collection/v1_0/requesttopay", post(request_to_pay))
        .route("/collection/v1_0/requesttopay/{id}", get(payment_status))
        .route("/disbursement/v1_0/transfer", post(transfer))
        .route("/disbursement/v1_0/transfer/{id}", get(transfer_status))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn token(shared: &Shared, headers: &HeaderMap, subscription_key: &str) -> Response {
    let expected = format!("Basic {}", STANDARD.encode(format!("{API_USER}:{API_KEY}")));
    if header(headers, "authorization") != expected
        || header(headers, "ocp-apim-subscription-key") != subscription_key
    {
        return error(StatusCode::UNAUTHORIZED, "invalid credentials");
    }
    Json(json!({
        "access_token": shared.issue_token(),
        "token_type": "access_token",
        "expires_in": 3600,
    }))
    .into_response()
}

async fn collection_token(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    token(&shared, &headers, SUBSCRIPTION_KEY)
}

async fn disbursement_token(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    token(&shared, &headers, DISBURSEMENT_KEY)
}

/// Checks the headers every call carries; `Some` is the refusal to answer.
fn refuse(shared: &Shared, headers: &HeaderMap, key: &str) -> Option<Response> {
    if !shared.token_valid(headers) || header(headers, "ocp-apim-subscription-key") != key {
        return Some(error(StatusCode::UNAUTHORIZED, "invalid token"));
    }
    if header(headers, "x-target-environment") != "sandbox" {
        return Some(error(StatusCode::BAD_REQUEST, "wrong target environment"));
    }
    None
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Party {
    party_id_type: String,
    party_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Transfer {
    amount: serde_json::Value,
    currency: String,
    #[serde(alias = "payer")]
    payee: Party,
}

/// Validates and records a request to pay or a transfer.
fn create(shared: &Shared, headers: &HeaderMap, body: Transfer, payout: bool) -> Response {
    let reference = header(headers, "x-reference-id");
    let amount = decimal(&body.amount).filter(|_| body.amount.is_string());
    let digits =
        !body.payee.party_id.is_empty() && body.payee.party_id.bytes().all(|b| b.is_ascii_digit());
    let (Ok(_), Some(amount), true, "MSISDN") = (
        uuid::Uuid::parse_str(reference),
        amount,
        digits,
        body.payee.party_id_type.as_str(),
    ) else {
        return error(StatusCode::BAD_REQUEST, "invalid request");
    };
    let mut new = txn(reference.to_owned(), reference.to_owned(), amount);
    new.currency = body.currency;
    new.party = body.payee.party_id;
    new.notify_url = headers
        .get("x-callback-url")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let created = if payout {
        shared.create_payout(new)
    } else {
        shared.create_payment(new)
    };
    match created {
        (_, true) => StatusCode::ACCEPTED.into_response(),
        (_, false) => error(StatusCode::CONFLICT, "RESOURCE_ALREADY_EXIST"),
    }
}

async fn request_to_pay(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Transfer>,
) -> Response {
    refuse(&shared, &headers, SUBSCRIPTION_KEY)
        .unwrap_or_else(|| create(&shared, &headers, body, false))
}

async fn transfer(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Transfer>,
) -> Response {
    refuse(&shared, &headers, DISBURSEMENT_KEY)
        .unwrap_or_else(|| create(&shared, &headers, body, true))
}

fn body(shared: &Shared, txn: &Txn, party: &str) -> serde_json::Value {
    let state = txn.state();
    let mut value = json!({
        "amount": shared.reported(txn.amount).to_string(),
        "currency": txn.currency,
        "externalId": txn.reference,
        "financialTransactionId": (state == TxnState::Succeeded).then(|| txn.transaction_id()),
        "status": match state {
            TxnState::Pending => "PENDING",
            TxnState::Succeeded => "SUCCESSFUL",
            TxnState::Failed => "FAILED",
        },
        "reason": (state == TxnState::Failed)
            .then(|| json!({ "code": "APPROVAL_REJECTED", "message": "payer refused" })),
    });
    value[party] = json!({ "partyIdType": "MSISDN", "partyId": txn.party });
    value
}

async fn payment_status(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(answer) = refuse(&shared, &headers, SUBSCRIPTION_KEY) {
        return answer;
    }
    match shared.query_payment(|t| t.reference == id) {
        Some(txn) => Json(body(&shared, &txn, "payer")).into_response(),
        None => error(StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND"),
    }
}

async fn transfer_status(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(answer) = refuse(&shared, &headers, DISBURSEMENT_KEY) {
        return answer;
    }
    match shared.query_payout(|t| t.reference == id) {
        Some(txn) => Json(body(&shared, &txn, "payee")).into_response(),
        None => error(StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND"),
    }
}

/// MTN's callback: the payment's final state, unsigned, to `X-Callback-Url`.
pub(crate) fn callback(txn: &Txn, shared: &Shared) -> CallbackMessage {
    let mut announced = txn.clone();
    announced.outcome = match txn.final_state() {
        TxnState::Failed => super::Outcome::Fail,
        _ => super::Outcome::Succeed,
    };
    CallbackMessage::new(
        txn.notify_url.clone().unwrap_or_default(),
        &[("content-type", "application/json".into())],
        body(shared, &announced, "payer").to_string().into_bytes(),
    )
}
