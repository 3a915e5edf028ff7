//! Scenarios every adapter must pass against its stand-in; each adapter's tests call them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::Utc;
use kobiri_core::{Amount, Currency, Phone};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::standin::{Outcome, StandIn};
use super::{
    CallbackCheck, CallbackRequest, MobileMoneyAdapter, PaymentKey, PaymentRef, PaymentRequest,
    PayoutRef, PayoutRequest, Provider, ProviderError, Started, Status,
};

/// An adapter and the stand-in it talks to.
pub(crate) struct Fixture {
    pub stand_in: StandIn,
    pub adapter: Box<dyn MobileMoneyAdapter>,
}

impl Fixture {
    pub fn new(stand_in: StandIn, adapter: impl MobileMoneyAdapter) -> Self {
        Self {
            stand_in,
            adapter: Box::new(adapter),
        }
    }
}

/// Short timeouts so the timeout scenario stays quick.
pub(crate) fn short_timeouts() -> super::Timeouts {
    super::Timeouts {
        connect: Duration::from_secs(1),
        request: Duration::from_millis(800),
    }
}

fn xof(value: i64) -> Amount {
    Amount::new(Decimal::from(value), Currency::Xof).unwrap()
}

pub(crate) fn payment_request() -> PaymentRequest {
    PaymentRequest {
        reference: Uuid::new_v4(),
        amount: xof(5000),
        payer: Phone::parse("+221771234567").unwrap(),
        description: "Cotisation tontine".into(),
        notify_url: "https://kobiri.example/api/v1/mobile-money/callbacks/test".into(),
        return_url: "https://kobiri.example/paiement/retour".into(),
    }
}

pub(crate) fn payment_ref(request: &PaymentRequest, started: &Started) -> PaymentRef {
    PaymentRef {
        reference: request.reference,
        operator_reference: started.operator_reference.clone(),
        amount: request.amount,
    }
}

pub(crate) async fn start(f: &Fixture) -> (PaymentRequest, Started) {
    let request = payment_request();
    let started = f.adapter.start_payment(&request).await.unwrap();
    (request, started)
}

async fn status(
    f: &Fixture,
    request: &PaymentRequest,
    started: &Started,
) -> Result<Status, ProviderError> {
    f.adapter
        .payment_status(&payment_ref(request, started))
        .await
}

pub(crate) async fn payment_succeeds(f: &Fixture) {
    let (request, started) = start(f).await;
    let Status::Succeeded { amount, .. } = status(f, &request, &started).await.unwrap() else {
        panic!("expected success")
    };
    assert!(amount.is_none_or(|paid| paid == request.amount));
}

pub(crate) async fn payment_fails(f: &Fixture) {
    f.stand_in.set_outcome(Outcome::Fail);
    let (request, started) = start(f).await;
    let answer = status(f, &request, &started).await.unwrap();
    assert!(matches!(answer, Status::Failed { .. }), "{answer:?}");
}

pub(crate) async fn pending_then_success(f: &Fixture) {
    f.stand_in.set_outcome(Outcome::PendingFor(2));
    let (request, started) = start(f).await;
    assert_eq!(status(f, &request, &started).await, Ok(Status::Pending));
    assert_eq!(status(f, &request, &started).await, Ok(Status::Pending));
    let last = status(f, &request, &started).await.unwrap();
    assert!(matches!(last, Status::Succeeded { .. }), "{last:?}");
}

pub(crate) async fn server_error_is_transient(f: &Fixture) {
    let (request, started) = start(f).await;
    f.stand_in.fail_next(1, StatusCode::SERVICE_UNAVAILABLE);
    let failed = status(f, &request, &started).await;
    assert!(
        matches!(failed, Err(ProviderError::Transient(_))),
        "{failed:?}"
    );
    assert!(status(f, &request, &started).await.is_ok());
}

pub(crate) async fn timeout_is_transient(f: &Fixture) {
    let (request, started) = start(f).await;
    f.stand_in.set_delay(Some(Duration::from_secs(2)));
    let failed = status(f, &request, &started).await;
    assert!(
        matches!(failed, Err(ProviderError::Transient(_))),
        "{failed:?}"
    );
}

pub(crate) async fn client_error_is_rejected(f: &Fixture) {
    f.stand_in.fail_next(1, StatusCode::BAD_REQUEST);
    let failed = f.adapter.start_payment(&payment_request()).await;
    assert!(
        matches!(failed, Err(ProviderError::Rejected { status: 400, .. })),
        "{failed:?}"
    );
}

pub(crate) async fn unknown_reference_is_rejected(f: &Fixture) {
    let unknown = PaymentRef {
        reference: Uuid::new_v4(),
        operator_reference: "unknown".into(),
        amount: xof(5000),
    };
    let failed = f.adapter.payment_status(&unknown).await;
    assert!(
        matches!(failed, Err(ProviderError::Rejected { status: 404, .. })),
        "{failed:?}"
    );
}

pub(crate) async fn amount_mismatch_is_visible(f: &Fixture) {
    let (request, started) = start(f).await;
    f.stand_in.report_amount(Decimal::from(50));
    let answer = status(f, &request, &started).await.unwrap();
    let Status::Succeeded { amount, .. } = answer else {
        panic!("expected success, got {answer:?}")
    };
    assert_eq!(amount, Some(xof(50)));
    assert_ne!(amount, Some(request.amount));
}

fn payout_request() -> PayoutRequest {
    PayoutRequest {
        reference: Uuid::new_v4(),
        amount: xof(60_000),
        beneficiary: Phone::parse("+221781112233").unwrap(),
        note: "Passage tontine".into(),
    }
}

pub(crate) async fn payouts_unsupported(f: &Fixture, provider: Provider) {
    let request = payout_request();
    let answer = f.adapter.start_payout(&request).await;
    assert_eq!(answer, Err(ProviderError::PayoutsUnsupported(provider)));
    let payout = PayoutRef {
        reference: request.reference,
        operator_reference: "x".into(),
    };
    let answer = f.adapter.payout_status(&payout).await;
    assert_eq!(answer, Err(ProviderError::PayoutsUnsupported(provider)));
}

/// Two starts with one reference: both carry it in `key_header`, the stand-in pays once.
pub(crate) async fn payout_is_idempotent(f: &Fixture, key_header: &str) {
    let request = payout_request();
    let first = f.adapter.start_payout(&request).await.unwrap();
    let second = f.adapter.start_payout(&request).await.unwrap();
    assert_eq!(first.operator_reference, second.operator_reference);
    let key = request.reference.to_string();
    let posts: Vec<_> = f
        .stand_in
        .requests()
        .into_iter()
        .filter(|r| {
            r.method == "POST" && (r.path.ends_with("/transfer") || r.path.ends_with("/payout"))
        })
        .collect();
    assert_eq!(posts.len(), 2);
    assert!(
        posts
            .iter()
            .all(|r| r.header(key_header) == Some(key.as_str()))
    );
    let payouts = f.stand_in.payouts();
    assert_eq!(payouts.len(), 1);
    assert_eq!(payouts[0].amount, Decimal::from(60_000));
    let payout = PayoutRef {
        reference: request.reference,
        operator_reference: first.operator_reference,
    };
    let answer = f.adapter.payout_status(&payout).await.unwrap();
    assert!(matches!(answer, Status::Succeeded { .. }), "{answer:?}");
}

type Received = Arc<Mutex<Vec<(HeaderMap, Option<String>, Vec<u8>)>>>;

/// A local endpoint that keeps every callback it receives, as a handler would see it.
async fn receiver() -> (String, Received, tokio::task::JoinHandle<()>) {
    let received = Received::default();
    let sink = received.clone();
    let app = Router::new().route(
        "/callbacks/{segment}",
        post(
            move |RawQuery(query): RawQuery, headers: HeaderMap, body: Bytes| async move {
                sink.lock().unwrap().push((headers, query, body.to_vec()));
                StatusCode::OK
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/callbacks/test", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, received, task)
}

/// The stand-in POSTs its callback to `notify_url` (or Wave's webhook URL); what arrives
/// verifies and names the payment.
pub(crate) async fn callback_over_http_verifies(f: &Fixture) {
    let (url, received, task) = receiver().await;
    f.stand_in.set_webhook_url(&url);
    let mut request = payment_request();
    request.notify_url = url;
    let started = f.adapter.start_payment(&request).await.unwrap();
    let message = f.stand_in.callback(request.reference).unwrap();

    assert_eq!(message.send().await.unwrap(), StatusCode::OK);

    let (headers, query, body) = received.lock().unwrap().pop().unwrap();
    let raw = CallbackRequest {
        headers: &headers,
        query: query.as_deref(),
        body: &body,
    };
    let hint = match f.adapter.verify_callback(&raw, Utc::now()).unwrap() {
        CallbackCheck::Hint(hint) => hint,
        CallbackCheck::NeedsStoredSecret(check) => check
            .check(started.callback_secret.as_deref().unwrap())
            .unwrap(),
    };
    assert_eq!(hint.payment, PaymentKey::Reference(request.reference));
    task.abort();
}

/// The scenarios above that need nothing but the adapter's `fixture()`, as one `#[tokio::test]`
/// each: every adapter's tests invoke this once, with a `fixture()` in scope.
macro_rules! scenario_tests {
    () => {
        $crate::mobile_money::conformance::scenario_tests!(
            payment_succeeds,
            payment_fails,
            pending_then_success,
            server_error_is_transient,
            timeout_is_transient,
            client_error_is_rejected,
            unknown_reference_is_rejected,
            callback_over_http_verifies,
        );
    };
    ($($scenario:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $scenario() {
                $crate::mobile_money::conformance::$scenario(&fixture().await).await;
            }
        )*
    };
}
pub(crate) use scenario_tests;
