//! Callbacks: what a verified callback tells the caller, and the checks shared by adapters
//! (HMAC comparison, constant-time token comparison).

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

/// A callback as the handler received it: raw, before any parsing.
#[derive(Debug, Clone, Copy)]
pub struct CallbackRequest<'a> {
    pub headers: &'a HeaderMap,
    /// The raw query string (Orange's callback names the payment only there).
    pub query: Option<&'a str>,
    pub body: &'a [u8],
}

/// How a callback names the payment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PaymentKey {
    /// Our reference (the payment id).
    Reference(Uuid),
    /// The provider's id, as returned in [`super::Started::operator_reference`].
    OperatorReference(String),
}

/// What the provider claims. Never act on it: confirm with a status query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    Succeeded,
    Failed,
    /// The callback says nothing usable about the outcome.
    Unknown,
}

/// An authenticated callback: which payment to re-check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackHint {
    pub payment: PaymentKey,
    pub claim: Claim,
    /// The provider's event id, when it sends one (duplicates carry the same id).
    pub event_id: Option<String>,
}

/// The outcome of [`super::MobileMoneyAdapter::verify_callback`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackCheck {
    /// Signed and verified, or a trigger that carries no authority (MTN): re-check the status.
    Hint(CallbackHint),
    /// Authenticated only by a secret stored at start (Orange `notif_token`): load the payment
    /// named by [`SecretCheck::payment`] and call [`SecretCheck::check`] with its secret.
    NeedsStoredSecret(SecretCheck),
}

/// A callback waiting for its stored secret; the hint is out of reach until it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretCheck {
    hint: CallbackHint,
    presented: String,
}

impl SecretCheck {
    pub(crate) fn new(hint: CallbackHint, presented: String) -> Self {
        Self { hint, presented }
    }

    /// The payment whose stored secret to compare with.
    pub fn payment(&self) -> &PaymentKey {
        &self.hint.payment
    }

    /// Compares the presented secret with the stored one in constant time.
    pub fn check(self, stored: &str) -> Result<CallbackHint, CallbackError> {
        if crate::secret::constant_time_eq(self.presented.as_bytes(), stored.as_bytes()) {
            Ok(self.hint)
        } else {
            Err(CallbackError::WrongToken)
        }
    }
}

/// Why a callback was refused (the handler answers 401 or 400 and changes nothing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    #[error("signature absente")]
    MissingSignature,
    #[error("signature invalide")]
    BadSignature,
    #[error("horodatage de la signature hors délai")]
    StaleTimestamp,
    #[error("jeton de notification invalide")]
    WrongToken,
    #[error("notification illisible : {0}")]
    Malformed(String),
}

impl CallbackError {
    /// True when the sender is not authenticated (401), false when the body is bad (400).
    pub fn is_unauthenticated(&self) -> bool {
        !matches!(self, CallbackError::Malformed(_))
    }
}

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `parts` (concatenated) under `key`.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    // HMAC accepts keys of any length: this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    for part in parts {
        mac.update(part);
    }
    mac
}

/// Hex HMAC-SHA256, for stand-ins that sign.
#[cfg(any(test, feature = "sandbox"))]
pub(crate) fn hmac_hex(key: &[u8], parts: &[&[u8]]) -> String {
    hex::encode(hmac_sha256(key, parts).finalize().into_bytes())
}

/// True when `hex_mac` is the hex HMAC of `parts` under `key` (constant-time).
pub(crate) fn hmac_matches(key: &[u8], parts: &[&[u8]], hex_mac: &str) -> bool {
    match hex::decode(hex_mac.trim()) {
        Ok(bytes) => hmac_sha256(key, parts).verify_slice(&bytes).is_ok(),
        Err(_) => false,
    }
}

/// A header as text, or `None` when absent or not ASCII.
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Parses our reference from a provider field.
pub(crate) fn reference(value: &str) -> Result<Uuid, CallbackError> {
    Uuid::parse_str(value.trim())
        .map_err(|_| CallbackError::Malformed("référence de paiement invalide".into()))
}
