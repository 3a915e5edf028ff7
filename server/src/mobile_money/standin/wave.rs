//! Wave stand-in: checkout sessions, payouts deduped by `Idempotency-Key`, and webhooks signed
//! `Wave-Signature: t=<unix>,v1=<hex>`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::{CallbackMessage, Shared, Txn, TxnState, bearer, decimal, error, txn};
use crate::mobile_money::callback::hmac_hex;
use crate::mobile_money::config::{Secret, WaveConfig};

pub const API_KEY: &str = "wave_sn_prod_standin";
pub const WEBHOOK_SECRET: &str = "wave_sn_WHS_standin";

/// A configuration pointing at `stand_in` (five minutes' signature tolerance).
pub fn config(stand_in: &super::StandIn) -> WaveConfig {
    WaveConfig {
        api_key: Secret::new(API_KEY),
        webhook_secret: Secret::new(WEBHOOK_SECRET),
        base_url: stand_in.base_url().to_owned(),
        signature_tolerance: std::time::Duration::from_secs(300),
    }
}

/// `Wave-Signature` for `body` signed at `timestamp` with `secret`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mac = hmac_hex(secret.as_bytes(), &[timestamp.to_string().as_bytes(), body]);
    format!("t={timestamp},v1={mac}")
}

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1/checkout/sessions", post(create_session))
        .route("/v1/checkout/sessions/{id}", get(session))
        .route("/v1/payout", post(create_payout))
        .route("/v1/payout/{id}", get(payout))
}

fn authorized(headers: &HeaderMap) -> bool {
    bearer(headers) == Some(API_KEY)
}

#[derive(Deserialize)]
struct Session {
    amount: serde_json::Value,
    currency: String,
    client_reference: String,
    #[serde(default)]
    restrict_payer_mobile: Option<String>,
}

fn session_body(shared: &Shared, txn: &Txn) -> serde_json::Value {
    let state = txn.state();
    let (checkout_status, payment_status) = match state {
        TxnState::Pending => ("open", "processing"),
        TxnState::Succeeded => ("complete", "succeeded"),
        TxnState::Failed => ("expired", "cancelled"),
    };
    json!({
        "id": txn.operator_reference,
        "amount": shared.reported(txn.amount).to_string(),
        "currency": txn.currency,
        "client_reference": txn.reference,
        "checkout_status": checkout_status,
        "payment_status": payment_status,
        "transaction_id": (state == TxnState::Succeeded).then(|| txn.transaction_id()),
        "wave_launch_url": format!("https://pay.wave.example/c/{}", txn.operator_reference),
        "when_expires": "2030-01-01T00:00:00Z",
    })
}

async fn create_session(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Session>,
) -> Response {
    if !authorized(&headers) {
        return error(StatusCode::UNAUTHORIZED, "invalid api key");
    }
    let Some(amount) = decimal(&body.amount).filter(|_| body.amount.is_string()) else {
        return error(StatusCode::BAD_REQUEST, "amount must be a string");
    };
    let mut new = txn(body.client_reference, shared.next_id("cos-"), amount);
    new.currency = body.currency;
    new.party = body.restrict_payer_mobile.unwrap_or_default();
    let (txn, _) = shared.create_payment(new);
    Json(session_body(&shared, &txn)).into_response()
}

async fn session(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(&headers) {
        return error(StatusCode::UNAUTHORIZED, "invalid api key");
    }
    match shared.query_payment(|t| t.operator_reference == id) {
        Some(txn) => Json(session_body(&shared, &txn)).into_response(),
        None => error(StatusCode::NOT_FOUND, "checkout-session-not-found"),
    }
}

#[derive(Deserialize)]
struct Payout {
    currency: String,
    receive_amount: serde_json::Value,
    mobile: String,
}

fn payout_body(shared: &Shared, txn: &Txn) -> serde_json::Value {
    let state = txn.state();
    json!({
        "id": txn.operator_reference,
        "currency": txn.currency,
        "receive_amount": shared.reported(txn.amount).to_string(),
        "fee": "0",
        "mobile": txn.party,
        "status": match state {
            TxnState::Pending => "processing",
            TxnState::Succeeded => "succeeded",
            TxnState::Failed => "failed",
        },
        "payout_error": (state == TxnState::Failed)
            .then(|| json!({ "error_code": "recipient-limit-exceeded", "reason": "limit" })),
    })
}

async fn create_payout(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Payout>,
) -> Response {
    if !authorized(&headers) {
        return error(StatusCode::UNAUTHORIZED, "invalid api key");
    }
    let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) else {
        return error(StatusCode::BAD_REQUEST, "missing-idempotency-key");
    };
    let Some(amount) = decimal(&body.receive_amount).filter(|_| body.receive_amount.is_string())
    else {
        return error(StatusCode::BAD_REQUEST, "receive_amount must be a string");
    };
    let mut new = txn(key.to_owned(), shared.next_id("pt-"), amount);
    new.currency = body.currency;
    new.party = body.mobile;
    let (txn, _) = shared.create_payout(new);
    Json(payout_body(&shared, &txn)).into_response()
}

async fn payout(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(&headers) {
        return error(StatusCode::UNAUTHORIZED, "invalid api key");
    }
    match shared.query_payout(|t| t.operator_reference == id) {
        Some(txn) => Json(payout_body(&shared, &txn)).into_response(),
        None => error(StatusCode::NOT_FOUND, "payout-not-found"),
    }
}

/// The webhook for the session's outcome, signed at `timestamp`, sent to `url`.
pub(crate) fn callback(txn: &Txn, url: Option<String>, timestamp: i64) -> CallbackMessage {
    let succeeded = txn.final_state() == TxnState::Succeeded;
    let body = json!({
        "id": format!("EV_{}", txn.operator_reference),
        "type": if succeeded { "checkout.session.completed" } else { "checkout.session.payment_failed" },
        "data": {
            "id": txn.operator_reference,
            "amount": txn.amount.to_string(),
            "currency": txn.currency,
            "client_reference": txn.reference,
            "checkout_status": if succeeded { "complete" } else { "expired" },
            "payment_status": if succeeded { "succeeded" } else { "cancelled" },
            "transaction_id": succeeded.then(|| txn.transaction_id()),
        },
    })
    .to_string()
    .into_bytes();
    CallbackMessage::new(
        url.unwrap_or_default(),
        &[
            ("content-type", "application/json".into()),
            (
                "wave-signature",
                signature(WEBHOOK_SECRET, timestamp, &body),
            ),
        ],
        body,
    )
}
