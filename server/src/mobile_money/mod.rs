//! Mobile-money payments and payouts: one adapter per provider behind [`MobileMoneyAdapter`].
//!
//! The flow a caller follows:
//! 1. store the payment with a fresh reference (a UUID: our payment id and the idempotency key
//!    of every provider call), then [`MobileMoneyAdapter::start_payment`] and store what
//!    [`Started`] returns (operator reference, and the callback secret when there is one);
//! 2. on a callback, [`MobileMoneyAdapter::verify_callback`] authenticates it and names the
//!    payment; the claim inside is never trusted: confirm with
//!    [`MobileMoneyAdapter::payment_status`], which a polling job also calls for payments still
//!    pending;
//! 3. compare the confirmed [`Status::Succeeded`] amount (when the provider reports one) with
//!    the stored amount before validating the payment.
//!
//! Phones stay E.164 in Kobiri and amounts stay [`Amount`]: each adapter converts at the edge.

mod callback;
mod cinetpay;
pub mod config;
#[cfg(test)]
mod conformance;
pub mod handlers;
mod http;
mod mtn;
mod orange;
pub mod payout;
pub mod poll;
mod registry;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod settle;
#[cfg(any(test, feature = "sandbox"))]
pub mod standin;
mod wave;

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kobiri_core::passage::PayoutMethod;
use kobiri_core::payment::PaymentMethod;
pub use kobiri_core::payment::Provider;
use kobiri_core::{Amount, Phone};
use uuid::Uuid;

pub use callback::{
    CallbackCheck, CallbackError, CallbackHint, CallbackRequest, Claim, PaymentKey, SecretCheck,
};
pub use cinetpay::CinetPay;
pub use config::{
    CinetPayConfig, ConfigError, MobileMoneyConfig, MtnConfig, OrangeConfig, Secret, Timeouts,
    WaveConfig,
};
pub use handlers::{InitiatePaymentRequest, callback, callback_put, initiate, provider_error};
pub use mtn::Mtn;
pub use orange::Orange;
pub use registry::Registry;
pub use wave::Wave;

/// What the mobile-money flow works with (initiation, callbacks, the poller, payouts), and
/// nothing else of the application: the store, the clock, the adapters, the read cache it
/// refreshes when a payment or payout settles, and its two settings. The poller, a
/// background job, takes this rather than the whole application state.
#[derive(Clone)]
pub struct MobileMoney {
    pub store: std::sync::Arc<dyn crate::store::Store>,
    pub clock: crate::clock::SharedClock,
    /// The configured adapters.
    pub providers: Registry,
    pub cache: crate::cache::ReadCache,
    /// `PUBLIC_BASE_URL`: the callbacks' and return pages' base.
    pub public_base_url: String,
    /// `MOBILE_MONEY_PAYMENT_TIMEOUT_MINUTES`: a payment or payout still unconfirmed after it
    /// fails.
    pub timeout: std::time::Duration,
}

impl MobileMoney {
    pub fn now(&self) -> crate::store::Timestamp {
        self.clock.now()
    }

    pub fn store(&self) -> &dyn crate::store::Store {
        self.store.as_ref()
    }
}

/// The mobile-money routes: initiation, and the providers' callbacks (POST or PUT).
pub fn router() -> axum::Router<crate::state::AppState> {
    use axum::routing::post;
    axum::Router::new()
        .route("/payments/initiate", post(handlers::initiate))
        .route(
            "/payments/callback/{provider}",
            post(handlers::callback).put(handlers::callback_put),
        )
}

/// A mobile-money method as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    OrangeMoney,
    MtnMomo,
    Wave,
    FreeMoney,
    MoovMoney,
}

impl Method {
    /// Every method, in declaration order.
    pub const ALL: [Method; 5] = [
        Method::OrangeMoney,
        Method::MtnMomo,
        Method::Wave,
        Method::FreeMoney,
        Method::MoovMoney,
    ];

    /// The API and database string (the same as core's `PaymentMethod`).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::OrangeMoney => "orange_money",
            Method::MtnMomo => "mtn_momo",
            Method::Wave => "wave",
            Method::FreeMoney => "free_money",
            Method::MoovMoney => "moov_money",
        }
    }

    /// The callback path segment for payments made with this method (`orange`, `mtn`, `wave`,
    /// `free`, `moov`): build `notify_url` with it.
    pub fn callback_segment(self) -> &'static str {
        self.route().as_str()
    }

    fn route(self) -> CallbackRoute {
        match self {
            Method::OrangeMoney => CallbackRoute::Orange,
            Method::MtnMomo => CallbackRoute::Mtn,
            Method::Wave => CallbackRoute::Wave,
            Method::FreeMoney => CallbackRoute::Free,
            Method::MoovMoney => CallbackRoute::Moov,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no mobile-money method. `Display` is French.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("moyen de paiement mobile inconnu : « {0} »")]
pub struct UnknownMethod(pub String);

impl FromStr for Method {
    type Err = UnknownMethod;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| UnknownMethod(s.chars().take(32).collect()))
    }
}

impl TryFrom<PaymentMethod> for Method {
    type Error = UnknownMethod;

    fn try_from(method: PaymentMethod) -> Result<Self, Self::Error> {
        method.as_str().parse()
    }
}

impl TryFrom<PayoutMethod> for Method {
    type Error = UnknownMethod;

    fn try_from(method: PayoutMethod) -> Result<Self, Self::Error> {
        method.as_str().parse()
    }
}

/// A callback path segment: a provider, or a method whose provider is configurable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallbackRoute {
    Orange,
    Mtn,
    Wave,
    Free,
    Moov,
    CinetPay,
}

impl CallbackRoute {
    /// The path segment.
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackRoute::Orange => "orange",
            CallbackRoute::Mtn => "mtn",
            CallbackRoute::Wave => "wave",
            CallbackRoute::Free => "free",
            CallbackRoute::Moov => "moov",
            CallbackRoute::CinetPay => "cinetpay",
        }
    }
}

impl FromStr for CallbackRoute {
    type Err = UnknownMethod;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            CallbackRoute::Orange,
            CallbackRoute::Mtn,
            CallbackRoute::Wave,
            CallbackRoute::Free,
            CallbackRoute::Moov,
            CallbackRoute::CinetPay,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
        .ok_or_else(|| UnknownMethod(s.chars().take(32).collect()))
    }
}

/// A payment to collect from a member's wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRequest {
    /// Our payment id, stored before the call: the idempotency key at every provider.
    pub reference: Uuid,
    pub amount: Amount,
    pub payer: Phone,
    pub description: String,
    /// Where the provider sends its callback (built with [`Method::callback_segment`]).
    pub notify_url: String,
    /// Where the payer's browser goes back after a hosted payment page.
    pub return_url: String,
}

/// What a provider answered to a payment start: store all of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// The provider's id for the payment (Orange `pay_token`, Wave session id, CinetPay
    /// `payment_token`; MTN uses our reference).
    pub operator_reference: String,
    /// A page the payer opens to approve, when the provider has one.
    pub payment_url: Option<String>,
    /// A secret a callback must present (Orange `notif_token`): keep it with the payment.
    pub callback_secret: Option<String>,
}

/// What a status query needs: everything the caller stored for the payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRef {
    pub reference: Uuid,
    pub operator_reference: String,
    pub amount: Amount,
}

/// Where a payment or payout stands at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Not final yet: ask again later.
    Pending,
    /// Paid. `amount` is what the provider reports, when it reports one: compare it with the
    /// stored amount before validating.
    Succeeded {
        transaction_id: Option<String>,
        amount: Option<Amount>,
    },
    /// Final failure (refused, cancelled, expired), with the provider's reason.
    Failed { reason: String },
}

/// Money sent to a beneficiary's wallet (a passage's pot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutRequest {
    /// Our payout id, stored before the call: the idempotency key.
    pub reference: Uuid,
    pub amount: Amount,
    pub beneficiary: Phone,
    pub note: String,
}

/// What a provider answered to a payout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutStarted {
    pub operator_reference: String,
    pub status: Status,
}

/// What a payout status query needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutRef {
    pub reference: Uuid,
    pub operator_reference: String,
}

/// Why a provider call did not give an answer. `Display` is French (it may reach users);
/// [`ProviderError::code`] is the API error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// No adapter is configured for this method.
    #[error("le moyen de paiement {0} n'est pas configuré")]
    NotConfigured(Method),
    /// Timeout, connection error, 5xx or 429: the same call may succeed later.
    #[error("le fournisseur est momentanément indisponible ({0}), réessayez plus tard")]
    Transient(String),
    /// A 4xx answer: the provider refused the request; retrying will not help.
    #[error("le fournisseur a refusé la demande (HTTP {status}) : {message}")]
    Rejected { status: u16, message: String },
    /// The answer could not be understood.
    #[error("réponse du fournisseur incompréhensible : {0}")]
    Protocol(String),
    /// The request cannot be expressed for this provider (e.g. decimals in whole francs).
    #[error("demande impossible chez ce fournisseur : {0}")]
    Invalid(String),
    /// The provider's adapter does not send money out.
    #[error("le fournisseur {0} ne permet pas les versements")]
    PayoutsUnsupported(Provider),
}

impl ProviderError {
    /// The API error code for the handler's answer.
    pub fn code(&self) -> &'static str {
        match self {
            ProviderError::NotConfigured(_) => "provider_not_configured",
            ProviderError::Transient(_) => "provider_unavailable",
            ProviderError::Rejected { .. } => "provider_rejected",
            ProviderError::Protocol(_) => "provider_protocol_error",
            ProviderError::Invalid(_) => "provider_invalid_request",
            ProviderError::PayoutsUnsupported(_) => "provider_payouts_unsupported",
        }
    }

    /// True when the same call may succeed later (the poller keeps the payment pending).
    pub fn is_transient(&self) -> bool {
        matches!(self, ProviderError::Transient(_))
    }
}

/// One provider's protocol. Every method that moves money sends the request's `reference` as
/// the idempotency key, so a retry after a timeout cannot pay twice.
#[async_trait]
pub trait MobileMoneyAdapter: Send + Sync + 'static {
    /// Which provider this adapter speaks to.
    fn provider(&self) -> Provider;

    /// Asks the provider to collect `request.amount` from the payer.
    async fn start_payment(&self, request: &PaymentRequest) -> Result<Started, ProviderError>;

    /// Where the payment stands at the provider: the only proof of payment.
    async fn payment_status(&self, payment: &PaymentRef) -> Result<Status, ProviderError>;

    /// Sends money to a beneficiary.
    async fn start_payout(&self, _request: &PayoutRequest) -> Result<PayoutStarted, ProviderError> {
        Err(ProviderError::PayoutsUnsupported(self.provider()))
    }

    /// Where a payout stands at the provider.
    async fn payout_status(&self, _payout: &PayoutRef) -> Result<Status, ProviderError> {
        Err(ProviderError::PayoutsUnsupported(self.provider()))
    }

    /// Authenticates a callback and names the payment it is about. The claim inside is a hint:
    /// confirm with [`MobileMoneyAdapter::payment_status`].
    fn verify_callback(
        &self,
        request: &CallbackRequest<'_>,
        now: DateTime<Utc>,
    ) -> Result<CallbackCheck, CallbackError>;
}
