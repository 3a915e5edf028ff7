//! HTTP plumbing shared by the adapters: the client with its timeouts, one place that maps
//! transport errors and status codes to [`ProviderError`], the OAuth token cache, and the
//! amount conversions.

use std::future::Future;
use std::time::{Duration, Instant};

use kobiri_core::{Amount, Currency};
use reqwest::{Client, RequestBuilder, Response, StatusCode};
use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

use super::ProviderError;
use super::config::Timeouts;

/// A client with the configured timeouts. Installs the ring crypto provider if none is yet
/// (building a rustls client without one panics).
pub(crate) fn client(timeouts: Timeouts) -> Result<Client, ProviderError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .connect_timeout(timeouts.connect)
        .timeout(timeouts.request)
        .build()
        .map_err(|e| ProviderError::Protocol(format!("client HTTP : {e}")))
}

/// Sends `request` and checks the status: 2xx passes, 5xx and 429 are transient, other 4xx
/// are rejections carrying the provider's message.
pub(crate) async fn send(request: RequestBuilder) -> Result<Response, ProviderError> {
    let response = request.send().await.map_err(|e| transport(&e))?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    // The body is not logged: it may echo phone numbers.
    tracing::warn!(
        status = status.as_u16(),
        "mobile-money provider answered an error"
    );
    Err(status_error(status, &body))
}

/// [`send`], then decodes the JSON answer.
pub(crate) async fn send_json<T: DeserializeOwned>(
    request: RequestBuilder,
) -> Result<T, ProviderError> {
    let response = send(request).await?;
    let bytes = response.bytes().await.map_err(|e| transport(&e))?;
    serde_json::from_slice(&bytes).map_err(|e| ProviderError::Protocol(e.to_string()))
}

fn transport(error: &reqwest::Error) -> ProviderError {
    let what = if error.is_timeout() {
        "délai dépassé"
    } else if error.is_connect() {
        "connexion impossible"
    } else {
        "erreur de transport"
    };
    ProviderError::Transient(what.to_owned())
}

fn status_error(status: StatusCode, body: &str) -> ProviderError {
    let message = provider_message(body);
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        ProviderError::Transient(format!("HTTP {}", status.as_u16()))
    } else if status.is_client_error() {
        ProviderError::Rejected {
            status: status.as_u16(),
            message,
        }
    } else {
        ProviderError::Protocol(format!("HTTP {}", status.as_u16()))
    }
}

/// The human part of an error body: a usual JSON field, else the text cut to 200 characters.
fn provider_message(body: &str) -> String {
    const FIELDS: [&str; 5] = [
        "message",
        "description",
        "error_description",
        "detail",
        "error",
    ];
    let json: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let field = json.as_ref().and_then(|value| {
        FIELDS
            .iter()
            .find_map(|name| value.get(name).and_then(serde_json::Value::as_str))
    });
    field.unwrap_or(body).chars().take(200).collect()
}

/// An OAuth client-credentials answer (Orange and MTN).
#[derive(Debug, Deserialize)]
pub(crate) struct AccessToken {
    pub access_token: String,
    #[serde(default)]
    pub expires_in: Option<serde_json::Value>,
}

impl AccessToken {
    /// How long to keep the token: its lifetime less a minute, one hour when unspecified.
    pub fn lifetime(&self) -> Duration {
        let seconds = self
            .expires_in
            .as_ref()
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
            .unwrap_or(3600);
        Duration::from_secs(seconds.saturating_sub(60))
    }
}

/// A bearer token kept until shortly before it expires; one fetch at a time.
#[derive(Debug, Default)]
pub(crate) struct TokenCache(Mutex<Option<(String, Instant)>>);

impl TokenCache {
    /// The cached token, or a new one from `fetch`.
    pub async fn get<F, Fut>(&self, fetch: F) -> Result<String, ProviderError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessToken, ProviderError>>,
    {
        let mut slot = self.0.lock().await;
        if let Some((token, until)) = slot.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let fresh = fetch().await?;
        let until = Instant::now() + fresh.lifetime();
        *slot = Some((fresh.access_token.clone(), until));
        Ok(fresh.access_token)
    }

    /// Passes `result` through, except that a 401 (token revoked or expired early) forgets the
    /// token and becomes transient, so the next attempt fetches a new one.
    pub async fn check<T>(&self, result: Result<T, ProviderError>) -> Result<T, ProviderError> {
        match result {
            Err(ProviderError::Rejected { status: 401, .. }) => {
                *self.0.lock().await = None;
                Err(ProviderError::Transient("jeton refusé, renouvelé".into()))
            }
            other => other,
        }
    }
}

/// The amount in whole units, for providers that take a JSON integer (XOF, XAF).
pub(crate) fn whole_units(amount: Amount) -> Result<u64, ProviderError> {
    let value = amount.value();
    if value.fract().is_zero()
        && let Some(units) = value.to_u64()
    {
        return Ok(units);
    }
    Err(ProviderError::Invalid(format!(
        "le montant {amount} {} doit être un nombre entier",
        amount.currency()
    )))
}

/// An amount reported by a provider, as a JSON string or number.
pub(crate) fn reported_amount(
    value: &serde_json::Value,
    currency: &str,
) -> Result<Amount, ProviderError> {
    let text = match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return Err(ProviderError::Protocol("montant absent".into())),
    };
    let currency = Currency::parse(currency).map_err(|e| ProviderError::Protocol(e.to_string()))?;
    Amount::parse(&text, currency).map_err(|e| ProviderError::Protocol(e.to_string()))
}

/// A JSON value as short text (provider reasons come as strings or objects).
pub(crate) fn describe(value: Option<&serde_json::Value>, fallback: &str) -> String {
    match value {
        Some(serde_json::Value::String(s)) if !s.is_empty() => s.clone(),
        Some(serde_json::Value::Object(map)) => map
            .get("message")
            .or_else(|| map.get("code"))
            .and_then(serde_json::Value::as_str)
            .unwrap_or(fallback)
            .to_owned(),
        _ => fallback.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_and_throttling_are_transient_client_errors_are_rejections() {
        assert!(status_error(StatusCode::BAD_GATEWAY, "").is_transient());
        assert!(status_error(StatusCode::TOO_MANY_REQUESTS, "").is_transient());
        assert_eq!(
            status_error(StatusCode::BAD_REQUEST, r#"{"message":"bad msisdn"}"#),
            ProviderError::Rejected {
                status: 400,
                message: "bad msisdn".into()
            }
        );
    }

    #[test]
    fn whole_units_refuse_decimals() {
        let ok = Amount::parse("2500", Currency::Xof).unwrap_or(Amount::zero(Currency::Xof));
        assert_eq!(whole_units(ok), Ok(2500));
        let euros = Amount::parse("2.5", Currency::Eur).unwrap_or(Amount::zero(Currency::Eur));
        assert!(matches!(whole_units(euros), Err(ProviderError::Invalid(_))));
    }
}
