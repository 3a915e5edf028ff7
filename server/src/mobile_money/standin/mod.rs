//! Local stand-ins for the providers: one axum server per provider on `127.0.0.1:0`, speaking
//! the provider's protocol, for tests here, in `server/tests` and in `tests/`.
//!
//! One generic mechanism serves the four: a ledger of payments and payouts (payouts deduped by
//! idempotency key, like the real APIs), a scenario ([`Outcome`]), injected failures and delays
//! applied in one middleware that also records every request, and callbacks built by each
//! provider module and sent by [`CallbackMessage::send`]. The provider modules only translate
//! their wire format to and from this ledger.

pub mod cinetpay;
pub mod mtn;
pub mod orange;
pub mod wave;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde_json::json;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::callback::CallbackRequest;

/// How the payer (or the provider) ends the next payments and payouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeed,
    Fail,
    /// Pending for this many status queries, then succeeded ("timeout then late success").
    PendingFor(u32),
}

/// Where a stand-in transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnState {
    Pending,
    Succeeded,
    Failed,
}

/// A payment or payout the stand-in knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txn {
    /// Our reference (order id, `X-Reference-Id`, `client_reference`, `transaction_id`, or
    /// the payout's idempotency key).
    pub reference: String,
    /// The stand-in's own id for it.
    pub operator_reference: String,
    pub amount: Decimal,
    pub currency: String,
    /// The payer's or beneficiary's number as received.
    pub party: String,
    pub notify_url: Option<String>,
    /// Orange's `notif_token`.
    pub secret: Option<String>,
    pub outcome: Outcome,
    /// Status queries answered so far.
    pub queries: u32,
}

impl Txn {
    /// The state after `queries` status queries.
    pub fn state(&self) -> TxnState {
        match self.outcome {
            Outcome::Succeed => TxnState::Succeeded,
            Outcome::Fail => TxnState::Failed,
            Outcome::PendingFor(n) if self.queries <= n => TxnState::Pending,
            Outcome::PendingFor(_) => TxnState::Succeeded,
        }
    }

    /// The state a callback announces: the outcome once reached.
    pub fn final_state(&self) -> TxnState {
        match self.outcome {
            Outcome::Fail => TxnState::Failed,
            Outcome::Succeed | Outcome::PendingFor(_) => TxnState::Succeeded,
        }
    }

    /// The provider's transaction id, once succeeded.
    pub fn transaction_id(&self) -> String {
        format!("TX-{}", self.operator_reference)
    }
}

/// A request the stand-in received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }
}

/// What the stand-in should do with the next requests.
#[derive(Debug)]
struct Control {
    outcome: Outcome,
    failures: u32,
    failure_status: StatusCode,
    delay: Option<Duration>,
    reported_amount: Option<Decimal>,
    webhook_url: Option<String>,
}

/// The state shared by the server task and the test.
#[derive(Debug)]
pub(crate) struct Shared {
    control: Mutex<Control>,
    requests: Mutex<Vec<RecordedRequest>>,
    payments: Mutex<Vec<Txn>>,
    payouts: Mutex<Vec<Txn>>,
    tokens: Mutex<HashSet<String>>,
    counter: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// A fresh id with `prefix`.
    pub(crate) fn next_id(&self, prefix: &str) -> String {
        format!(
            "{prefix}{}",
            self.counter.fetch_add(1, Ordering::Relaxed) + 1
        )
    }

    /// Issues a bearer token.
    pub(crate) fn issue_token(&self) -> String {
        let token = self.next_id("standin-token-");
        lock(&self.tokens).insert(token.clone());
        token
    }

    /// True when `headers` carry a bearer token this stand-in issued.
    pub(crate) fn token_valid(&self, headers: &HeaderMap) -> bool {
        bearer(headers).is_some_and(|t| lock(&self.tokens).contains(t))
    }

    fn outcome(&self) -> Outcome {
        lock(&self.control).outcome
    }

    /// The amount to report: the real one unless a test asked for another.
    pub(crate) fn reported(&self, amount: Decimal) -> Decimal {
        lock(&self.control).reported_amount.unwrap_or(amount)
    }

    /// Records a new payment, or returns the existing one with the same reference; the flag
    /// says whether it is new.
    pub(crate) fn create_payment(&self, txn: Txn) -> (Txn, bool) {
        insert_once(&self.payments, txn, self.outcome())
    }

    /// Records a new payout, or returns the existing one with the same idempotency key (flag
    /// `false`): the same key never pays twice.
    pub(crate) fn create_payout(&self, txn: Txn) -> (Txn, bool) {
        insert_once(&self.payouts, txn, self.outcome())
    }

    /// Answers a status query on the payment matching `matches` (counting the query).
    pub(crate) fn query_payment(&self, matches: impl Fn(&Txn) -> bool) -> Option<Txn> {
        query(&self.payments, matches)
    }

    /// Answers a status query on the payout matching `matches` (counting the query).
    pub(crate) fn query_payout(&self, matches: impl Fn(&Txn) -> bool) -> Option<Txn> {
        query(&self.payouts, matches)
    }

    fn webhook_url(&self) -> Option<String> {
        lock(&self.control).webhook_url.clone()
    }
}

fn insert_once(list: &Mutex<Vec<Txn>>, mut txn: Txn, outcome: Outcome) -> (Txn, bool) {
    let mut list = lock(list);
    if let Some(existing) = list.iter().find(|t| t.reference == txn.reference) {
        return (existing.clone(), false);
    }
    txn.outcome = outcome;
    list.push(txn.clone());
    (txn, true)
}

fn query(list: &Mutex<Vec<Txn>>, matches: impl Fn(&Txn) -> bool) -> Option<Txn> {
    let mut list = lock(list);
    let txn = list.iter_mut().find(|t| matches(t))?;
    txn.queries += 1;
    Some(txn.clone())
}

/// The bearer token of `headers`.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// A JSON error answer.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "code": status.as_u16(), "message": message })),
    )
        .into_response()
}

/// A JSON number or string as a decimal amount.
pub(crate) fn decimal(value: &serde_json::Value) -> Option<Decimal> {
    match value {
        serde_json::Value::String(s) => s.parse().ok(),
        serde_json::Value::Number(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

/// A new transaction to record, before the stand-in applies its scenario.
pub(crate) fn txn(reference: String, operator_reference: String, amount: Decimal) -> Txn {
    Txn {
        reference,
        operator_reference,
        amount,
        currency: String::new(),
        party: String::new(),
        notify_url: None,
        secret: None,
        outcome: Outcome::Succeed,
        queries: 0,
    }
}

/// Records every request, then applies the injected delay and failure.
async fn gate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, 1 << 20).await.unwrap_or_default();
    lock(&shared.requests).push(RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        headers: parts.headers.clone(),
        body: bytes.to_vec(),
    });
    let (delay, failure) = {
        let mut control = lock(&shared.control);
        let failure = (control.failures > 0).then_some(control.failure_status);
        control.failures = control.failures.saturating_sub(1);
        (control.delay, failure)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if let Some(status) = failure {
        return error(status, "panne simulée");
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Which protocol a stand-in speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Orange,
    Mtn,
    Wave,
    CinetPay,
}

/// A running stand-in; the server stops when it is dropped.
#[derive(Debug)]
pub struct StandIn {
    kind: Kind,
    base_url: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StandIn {
    /// Orange Money Web Payment and its OAuth endpoint.
    pub async fn orange() -> std::io::Result<Self> {
        Self::spawn(Kind::Orange, orange::router()).await
    }

    /// MTN MoMo Collections and Disbursements.
    pub async fn mtn() -> std::io::Result<Self> {
        Self::spawn(Kind::Mtn, mtn::router()).await
    }

    /// Wave Checkout and payouts.
    pub async fn wave() -> std::io::Result<Self> {
        Self::spawn(Kind::Wave, wave::router()).await
    }

    /// CinetPay.
    pub async fn cinetpay() -> std::io::Result<Self> {
        Self::spawn(Kind::CinetPay, cinetpay::router()).await
    }

    async fn spawn(kind: Kind, routes: Router<Arc<Shared>>) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            control: Mutex::new(Control {
                outcome: Outcome::Succeed,
                failures: 0,
                failure_status: StatusCode::SERVICE_UNAVAILABLE,
                delay: None,
                reported_amount: None,
                webhook_url: None,
            }),
            requests: Mutex::default(),
            payments: Mutex::default(),
            payouts: Mutex::default(),
            tokens: Mutex::default(),
            counter: AtomicU64::new(0),
        });
        let app = routes
            .layer(middleware::from_fn_with_state(shared.clone(), gate))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address: SocketAddr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "stand-in stopped");
            }
        });
        Ok(Self {
            kind,
            base_url: format!("http://{address}"),
            shared,
            task,
        })
    }

    /// `http://127.0.0.1:<port>`: the provider's base URL in configuration.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// How the next payments and payouts end.
    pub fn set_outcome(&self, outcome: Outcome) {
        lock(&self.shared.control).outcome = outcome;
    }

    /// The next `count` requests (any endpoint) answer `status` (5xx, 429, 4xx).
    pub fn fail_next(&self, count: u32, status: StatusCode) {
        let mut control = lock(&self.shared.control);
        control.failures = count;
        control.failure_status = status;
    }

    /// Every answer waits `delay` first (`None` to stop), to make clients time out.
    pub fn set_delay(&self, delay: Option<Duration>) {
        lock(&self.shared.control).delay = delay;
    }

    /// Status answers report `amount` instead of the real one (an amount mismatch).
    pub fn report_amount(&self, amount: Decimal) {
        lock(&self.shared.control).reported_amount = Some(amount);
    }

    /// Where webhooks go when the payment carries no callback URL (Wave's dashboard setting).
    pub fn set_webhook_url(&self, url: &str) {
        lock(&self.shared.control).webhook_url = Some(url.to_owned());
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// The requests whose path ends with `suffix`.
    pub fn requests_to(&self, suffix: &str) -> Vec<RecordedRequest> {
        let requests = lock(&self.shared.requests);
        requests
            .iter()
            .filter(|r| r.path.ends_with(suffix))
            .cloned()
            .collect()
    }

    /// The payment recorded under our `reference`.
    pub fn payment(&self, reference: Uuid) -> Option<Txn> {
        let reference = reference.to_string();
        let payments = lock(&self.shared.payments);
        payments.iter().find(|t| t.reference == reference).cloned()
    }

    /// Every payout made (each idempotency key once).
    pub fn payouts(&self) -> Vec<Txn> {
        lock(&self.shared.payouts).clone()
    }

    /// The callback the provider would send for payment `reference`, announcing its outcome.
    pub fn callback(&self, reference: Uuid) -> Option<CallbackMessage> {
        let txn = self.payment(reference)?;
        let webhook = self.shared.webhook_url();
        Some(match self.kind {
            Kind::Orange => orange::callback(&txn),
            Kind::Mtn => mtn::callback(&txn, &self.shared),
            Kind::Wave => wave::callback(&txn, webhook, chrono::Utc::now().timestamp()),
            Kind::CinetPay => cinetpay::callback(&txn),
        })
    }
}

/// A callback as the provider sends it.
#[derive(Debug, Clone)]
pub struct CallbackMessage {
    pub url: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl CallbackMessage {
    pub(crate) fn new(url: String, headers: &[(&'static str, String)], body: Vec<u8>) -> Self {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            if let Ok(value) = HeaderValue::from_str(value) {
                map.append(HeaderName::from_static(name), value);
            }
        }
        Self {
            url,
            headers: map,
            body,
        }
    }

    /// The callback as a handler would see it, to verify without a network hop.
    pub fn as_request(&self) -> CallbackRequest<'_> {
        CallbackRequest {
            headers: &self.headers,
            query: self.url.split_once('?').map(|(_, q)| q),
            body: &self.body,
        }
    }

    /// POSTs the callback to its URL and returns the answer's status.
    pub async fn send(&self) -> Result<StatusCode, reqwest::Error> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        let response = client
            .post(&self.url)
            .headers(self.headers.clone())
            .body(self.body.clone())
            .send()
            .await?;
        Ok(response.status())
    }
}
