//! Orange Money Web Payment stand-in: OAuth token, `webpayment`, `transactionstatus`, and the
//! unsigned callback carrying `notif_token`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::json;

use super::{CallbackMessage, Shared, Txn, TxnState, decimal, error, txn};
use crate::mobile_money::config::{OrangeConfig, Secret};

pub const CLIENT_ID: &str = "orange-client";
pub const CLIENT_SECRET: &str = "orange-secret";
pub const MERCHANT_KEY: &str = "orange-merchant";

/// A configuration pointing at `stand_in` (country `dev`).
pub fn config(stand_in: &super::StandIn) -> OrangeConfig {
    OrangeConfig {
        client_id: Secret::new(CLIENT_ID),
        client_secret: Secret::new(CLIENT_SECRET),
        merchant_key: Secret::new(MERCHANT_KEY),
        base_url: stand_in.base_url().to_owned(),
        oauth_url: stand_in.base_url().to_owned(),
        country: "dev".into(),
    }
}

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/oauth/v3/token", post(token))
        .route(
            "/orange-money-webpay/{country}/v1/webpayment",
            post(webpayment),
        )
        .route(
            "/orange-money-webpay/{country}/v1/transactionstatus",
            post(transaction_status),
        )
}

async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    let basic_ok = headers
        .get("authorization")
        .is_some_and(|v| v == expected.as_str());
    let grant_ok = form
        .iter()
        .any(|(k, v)| k == "grant_type" && v == "client_credentials");
    if !(basic_ok && grant_ok) {
        return error(StatusCode::UNAUTHORIZED, "invalid client");
    }
    Json(json!({
        "token_type": "Bearer",
        "access_token": shared.issue_token(),
        "expires_in": 7_776_000,
    }))
    .into_response()
}

#[derive(Deserialize)]
struct WebPayment {
    merchant_key: String,
    currency: String,
    order_id: String,
    amount: serde_json::Value,
    notif_url: String,
}

async fn webpayment(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<WebPayment>,
) -> Response {
    if !shared.token_valid(&headers) {
        return error(StatusCode::UNAUTHORIZED, "invalid token");
    }
    if body.merchant_key != MERCHANT_KEY {
        return error(StatusCode::BAD_REQUEST, "invalid merchant key");
    }
    let Some(amount) = decimal(&body.amount) else {
        return error(StatusCode::BAD_REQUEST, "invalid amount");
    };
    let pay_token = shared.next_id("pt-");
    let mut new = txn(body.order_id, pay_token, amount);
    new.currency = body.currency;
    new.notify_url = Some(body.notif_url);
    new.secret = Some(shared.next_id("notif-"));
    match shared.create_payment(new) {
        (created, true) => (
            StatusCode::CREATED,
            Json(json!({
                "status": 201,
                "message": "OK",
                "pay_token": created.operator_reference,
                "payment_url": format!("https://webpayment.example/{}", created.operator_reference),
                "notif_token": created.secret,
            })),
        )
            .into_response(),
        (_, false) => error(StatusCode::BAD_REQUEST, "order_id already used"),
    }
}

#[derive(Deserialize)]
struct StatusQuery {
    order_id: String,
    pay_token: String,
}

async fn transaction_status(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<StatusQuery>,
) -> Response {
    if !shared.token_valid(&headers) {
        return error(StatusCode::UNAUTHORIZED, "invalid token");
    }
    let found = shared
        .query_payment(|t| t.reference == body.order_id && t.operator_reference == body.pay_token);
    let Some(txn) = found else {
        return error(StatusCode::NOT_FOUND, "transaction not found");
    };
    Json(json!({
        "status": status(txn.state()),
        "order_id": txn.reference,
        "txnid": (txn.state() == TxnState::Succeeded).then(|| txn.transaction_id()),
    }))
    .into_response()
}

fn status(state: TxnState) -> &'static str {
    match state {
        TxnState::Pending => "PENDING",
        TxnState::Succeeded => "SUCCESS",
        TxnState::Failed => "FAILED",
    }
}

pub(crate) fn callback(txn: &Txn) -> CallbackMessage {
    let body = json!({
        "status": status(txn.final_state()),
        "notif_token": txn.secret,
        "txnid": txn.transaction_id(),
    });
    CallbackMessage::new(
        txn.notify_url.clone().unwrap_or_default(),
        &[("content-type", "application/json".into())],
        body.to_string().into_bytes(),
    )
}
