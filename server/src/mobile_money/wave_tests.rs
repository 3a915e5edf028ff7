//! Wave adapter against its stand-in, and webhook signature checks.

use chrono::TimeDelta;

use super::*;
use crate::mobile_money::conformance::{self as c, Fixture};
use crate::mobile_money::standin::{self, Outcome, StandIn};

async fn fixture() -> Fixture {
    let stand_in = StandIn::wave().await.unwrap();
    let adapter = Wave::new(standin::wave::config(&stand_in), c::short_timeouts()).unwrap();
    Fixture::new(stand_in, adapter)
}

fn adapter(stand_in: &StandIn) -> Wave {
    Wave::new(standin::wave::config(stand_in), c::short_timeouts()).unwrap()
}

c::scenario_tests!();

#[tokio::test]
async fn a_different_paid_amount_is_reported() {
    c::amount_mismatch_is_visible(&fixture().await).await;
}

#[tokio::test]
async fn a_payout_carries_its_key_and_the_same_key_twice_pays_once() {
    c::payout_is_idempotent(&fixture().await, "idempotency-key").await;
}

#[tokio::test]
async fn a_checkout_session_carries_our_reference_and_a_string_amount() {
    let f = fixture().await;
    let (request, started) = c::start(&f).await;
    assert!(started.operator_reference.starts_with("cos-"));
    assert!(started.payment_url.is_some());
    let sent = &f.stand_in.requests_to("/checkout/sessions")[0];
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {}", standin::wave::API_KEY).as_str())
    );
    let body = sent.json();
    assert_eq!(body["client_reference"], request.reference.to_string());
    assert_eq!(body["amount"], "5000");
    assert_eq!(body["restrict_payer_mobile"], "+221771234567");
}

async fn signed_callback(stand_in: &StandIn) -> (uuid::Uuid, standin::CallbackMessage) {
    let request = c::payment_request();
    adapter(stand_in).start_payment(&request).await.unwrap();
    let message = stand_in.callback(request.reference).unwrap();
    (request.reference, message)
}

#[tokio::test]
async fn a_well_signed_webhook_names_the_payment() {
    let stand_in = StandIn::wave().await.unwrap();
    let (reference, message) = signed_callback(&stand_in).await;
    let check = adapter(&stand_in)
        .verify_callback(&message.as_request(), Utc::now())
        .unwrap();
    let CallbackCheck::Hint(hint) = check else {
        panic!("Wave webhooks are signed")
    };
    assert_eq!(hint.payment, PaymentKey::Reference(reference));
    assert_eq!(hint.claim, Claim::Succeeded);
    assert!(hint.event_id.is_some());
}

#[tokio::test]
async fn a_duplicate_webhook_verifies_to_the_same_hint() {
    let stand_in = StandIn::wave().await.unwrap();
    let (_, message) = signed_callback(&stand_in).await;
    let wave = adapter(&stand_in);
    let first = wave.verify_callback(&message.as_request(), Utc::now());
    let second = wave.verify_callback(&message.as_request(), Utc::now());
    assert!(first.is_ok());
    assert_eq!(first, second);
}

#[tokio::test]
async fn a_webhook_with_a_wrong_signature_is_refused() {
    let stand_in = StandIn::wave().await.unwrap();
    let (_, mut message) = signed_callback(&stand_in).await;
    let now = Utc::now().timestamp();
    let forged = standin::wave::signature("another-secret", now, &message.body);
    message
        .headers
        .insert("wave-signature", forged.parse().unwrap());
    let result = adapter(&stand_in).verify_callback(&message.as_request(), Utc::now());
    assert_eq!(result, Err(CallbackError::BadSignature));
}

#[tokio::test]
async fn a_tampered_body_is_refused() {
    let stand_in = StandIn::wave().await.unwrap();
    let (_, mut message) = signed_callback(&stand_in).await;
    message.body.extend_from_slice(b" ");
    let result = adapter(&stand_in).verify_callback(&message.as_request(), Utc::now());
    assert_eq!(result, Err(CallbackError::BadSignature));
}

#[tokio::test]
async fn a_webhook_without_signature_is_refused() {
    let stand_in = StandIn::wave().await.unwrap();
    let (_, mut message) = signed_callback(&stand_in).await;
    message.headers.remove("wave-signature");
    let result = adapter(&stand_in).verify_callback(&message.as_request(), Utc::now());
    assert_eq!(result, Err(CallbackError::MissingSignature));
}

#[tokio::test]
async fn a_replayed_webhook_with_a_stale_timestamp_is_refused() {
    let stand_in = StandIn::wave().await.unwrap();
    let (_, message) = signed_callback(&stand_in).await;
    let later = Utc::now() + TimeDelta::minutes(6);
    let result = adapter(&stand_in).verify_callback(&message.as_request(), later);
    assert_eq!(result, Err(CallbackError::StaleTimestamp));
}

#[tokio::test]
async fn any_of_several_v1_signatures_may_match() {
    let stand_in = StandIn::wave().await.unwrap();
    let (_, mut message) = signed_callback(&stand_in).await;
    let now = Utc::now().timestamp();
    let old = standin::wave::signature("rotated-out-secret", now, &message.body);
    let good = standin::wave::signature(standin::wave::WEBHOOK_SECRET, now, &message.body);
    let (_, old_v1) = old.split_once(",v1=").unwrap();
    let header = format!("t={now},v1={old_v1},{}", good.split_once(',').unwrap().1);
    message
        .headers
        .insert("wave-signature", header.parse().unwrap());
    let result = adapter(&stand_in).verify_callback(&message.as_request(), Utc::now());
    assert!(matches!(result, Ok(CallbackCheck::Hint(_))));
}

#[tokio::test]
async fn the_stand_in_sends_its_webhook_to_the_configured_url() {
    use axum::routing::post;
    let received = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::<(String, Vec<u8>)>::new()));
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/callbacks/wave",
        post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| async move {
                let signature = headers
                    .get("wave-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                sink.lock().await.push((signature, body.to_vec()));
                axum::http::StatusCode::OK
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let stand_in = StandIn::wave().await.unwrap();
    stand_in.set_outcome(Outcome::Fail);
    stand_in.set_webhook_url(&format!("http://{address}/callbacks/wave"));
    let (_, message) = signed_callback(&stand_in).await;

    let status = message.send().await.unwrap();

    assert_eq!(status, axum::http::StatusCode::OK);
    let received = received.lock().await;
    assert_eq!(received.len(), 1);
    assert!(received[0].0.starts_with("t="));
    assert_eq!(received[0].1, message.body);
    server.abort();
}
