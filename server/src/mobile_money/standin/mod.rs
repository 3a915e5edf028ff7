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

mod ledger;
mod message;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde_json::json;
use tokio::task::JoinHandle;
use uuid::Uuid;

pub use ledger::{Outcome, Txn, TxnState};
pub use message::{CallbackMessage, RecordedRequest};

use ledger::{decide, insert_once, query};
pub(crate) use ledger::{decimal, txn};

/// What the stand-in should do with the next requests.
#[derive(Debug)]
struct Control {
    outcome: Outcome,
    /// How payouts end, when not like payments.
    payout_outcome: Option<Outcome>,
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
        let outcome = {
            let control = lock(&self.control);
            control.payout_outcome.unwrap_or(control.outcome)
        };
        insert_once(&self.payouts, txn, outcome)
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
                payout_outcome: None,
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

    /// How the next payouts end, apart from payments (the sandbox pays out at once while
    /// payments await their payer).
    pub fn set_payout_outcome(&self, outcome: Outcome) {
        lock(&self.shared.control).payout_outcome = Some(outcome);
    }

    /// The payer approves (or refuses) payment `reference`, which awaited them
    /// ([`Outcome::AwaitPayer`]): the callback announcing it, or `None` when the payment is
    /// unknown or was decided already.
    pub fn decide(&self, reference: Uuid, approve: bool) -> Option<CallbackMessage> {
        if !decide(&self.shared.payments, &reference.to_string(), approve) {
            return None;
        }
        self.callback(reference)
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
