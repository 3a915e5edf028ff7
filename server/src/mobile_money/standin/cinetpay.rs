//! CinetPay stand-in: `POST /v2/payment` (idempotent on `transaction_id`),
//! `POST /v2/payment/check`, and the form notification with its `x-token` HMAC.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::{CallbackMessage, Shared, Txn, TxnState, decimal, error, txn};
use crate::mobile_money::callback::hmac_hex;
use crate::mobile_money::cinetpay::TOKEN_FIELDS;
use crate::mobile_money::config::{CinetPayConfig, Secret};

pub const API_KEY: &str = "cinetpay-api-key";
pub const SITE_ID: &str = "105901";
pub const SECRET_KEY: &str = "cinetpay-secret-key";

/// A configuration pointing at `stand_in`.
pub fn config(stand_in: &super::StandIn) -> CinetPayConfig {
    CinetPayConfig {
        api_key: Secret::new(API_KEY),
        site_id: SITE_ID.into(),
        secret_key: Secret::new(SECRET_KEY),
        base_url: stand_in.base_url().to_owned(),
    }
}

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v2/payment", post(init))
        .route("/v2/payment/check", post(check))
}

#[derive(Deserialize)]
struct Init {
    apikey: String,
    site_id: serde_json::Value,
    transaction_id: String,
    amount: serde_json::Value,
    currency: String,
    notify_url: String,
    #[serde(default)]
    customer_phone_number: Option<String>,
}

fn site_ok(site_id: &serde_json::Value) -> bool {
    match site_id {
        serde_json::Value::String(s) => s == SITE_ID,
        serde_json::Value::Number(n) => n.to_string() == SITE_ID,
        _ => false,
    }
}

async fn init(State(shared): State<Arc<Shared>>, Json(body): Json<Init>) -> Response {
    if body.apikey != API_KEY || !site_ok(&body.site_id) {
        return error(StatusCode::FORBIDDEN, "AUTH_NOT_FOUND");
    }
    let Some(amount) = decimal(&body.amount).filter(|_| body.amount.is_number()) else {
        return error(StatusCode::BAD_REQUEST, "INVALID_AMOUNT");
    };
    let mut new = txn(body.transaction_id, shared.next_id("ptk-"), amount);
    new.currency = body.currency;
    new.notify_url = Some(body.notify_url);
    new.party = body.customer_phone_number.unwrap_or_default();
    let (txn, _) = shared.create_payment(new);
    Json(json!({
        "code": "201",
        "message": "CREATED",
        "description": "Transaction created with success",
        "data": {
            "payment_token": txn.operator_reference,
            "payment_url": format!("https://checkout.cinetpay.example/payment/{}", txn.operator_reference),
        },
        "api_response_id": shared.next_id("api-"),
    }))
    .into_response()
}

#[derive(Deserialize)]
struct Check {
    apikey: String,
    site_id: serde_json::Value,
    transaction_id: String,
}

async fn check(State(shared): State<Arc<Shared>>, Json(body): Json<Check>) -> Response {
    if body.apikey != API_KEY || !site_ok(&body.site_id) {
        return error(StatusCode::FORBIDDEN, "AUTH_NOT_FOUND");
    }
    let Some(txn) = shared.query_payment(|t| t.reference == body.transaction_id) else {
        return error(StatusCode::NOT_FOUND, "TRANSACTION_NOT_FOUND");
    };
    let (code, message, status) = match txn.state() {
        TxnState::Pending => ("662", "WAITING_CUSTOMER_PAYMENT", "PENDING"),
        TxnState::Succeeded => ("00", "SUCCES", "ACCEPTED"),
        TxnState::Failed => ("600", "PAYMENT_FAILED", "REFUSED"),
    };
    Json(json!({
        "code": code,
        "message": message,
        "data": {
            "amount": shared.reported(txn.amount).to_string(),
            "currency": txn.currency,
            "status": status,
            "payment_method": "FREESN",
            "operator_id": (txn.state() == TxnState::Succeeded).then(|| txn.transaction_id()),
            "payment_date": "2026-11-24 08:00:00",
        },
        "api_response_id": shared.next_id("api-"),
    }))
    .into_response()
}

/// The notification form for `txn`, with its `x-token`.
pub(crate) fn callback(txn: &Txn) -> CallbackMessage {
    let error_message = match txn.final_state() {
        TxnState::Failed => "PAYMENT_FAILED",
        _ => "SUCCES",
    };
    let fields: Vec<(&str, String)> = TOKEN_FIELDS
        .iter()
        .map(|&name| {
            let value = match name {
                "cpm_site_id" => SITE_ID.to_owned(),
                "cpm_trans_id" => txn.reference.clone(),
                "cpm_trans_date" => "2026-11-24 08:00:00".to_owned(),
                "cpm_amount" => txn.amount.to_string(),
                "cpm_currency" => txn.currency.clone(),
                "payment_method" => "FREESN".to_owned(),
                "cel_phone_num" => txn.party.clone(),
                "cpm_language" => "fr".to_owned(),
                "cpm_version" => "V4".to_owned(),
                "cpm_error_message" => error_message.to_owned(),
                _ => String::new(),
            };
            (name, value)
        })
        .collect();
    let concatenated: String = fields.iter().map(|(_, v)| v.as_str()).collect();
    let token = hmac_hex(SECRET_KEY.as_bytes(), &[concatenated.as_bytes()]);
    let body = serde_urlencoded::to_string(&fields).unwrap_or_default();
    CallbackMessage::new(
        txn.notify_url.clone().unwrap_or_default(),
        &[
            ("content-type", "application/x-www-form-urlencoded".into()),
            ("x-token", token),
        ],
        body.into_bytes(),
    )
}
