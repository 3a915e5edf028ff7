//! What the HTTP senders share: one client, the mapping of HTTP failures to [`SendError`],
//! and a bearer-token cache kept until shortly before the token expires.

use std::time::{Duration, Instant};

use reqwest::{Response, StatusCode};
use tokio::sync::Mutex;

use super::SendError;

/// Time allowed for one provider call.
const TIMEOUT: Duration = Duration::from_secs(15);
/// A cached token is renewed this long before it expires.
const EARLY: Duration = Duration::from_secs(60);

pub(super) fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .build()?)
}

/// A request that did not get an answer: always worth retrying.
pub(super) fn transport(e: &reqwest::Error) -> SendError {
    SendError::Transient(format!("HTTP: {e}"))
}

/// The error for a non-success answer: 408, 429 and 5xx are transient (and 401/403, after
/// which the caller drops its token); other 4xx are permanent. The body (cut short) goes into
/// the message.
pub(super) async fn failure(what: &str, response: Response) -> SendError {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let body: String = body.chars().take(300).collect();
    let message = format!("{what}: HTTP {status}: {body}");
    if is_transient(status) {
        SendError::Transient(message)
    } else {
        SendError::Permanent(message)
    }
}

pub(super) fn is_transient(status: StatusCode) -> bool {
    status.is_server_error()
        || matches!(
            status,
            StatusCode::REQUEST_TIMEOUT
                | StatusCode::TOO_MANY_REQUESTS
                | StatusCode::UNAUTHORIZED
                | StatusCode::FORBIDDEN
        )
}

/// A bearer token and when to stop using it.
#[derive(Debug, Default)]
pub(super) struct TokenCache(Mutex<Option<(String, Instant)>>);

/// A token answer of an OAuth token endpoint.
#[derive(Debug, serde::Deserialize)]
pub(super) struct TokenAnswer {
    pub access_token: String,
    #[serde(default)]
    pub expires_in: Option<serde_json::Value>,
}

impl TokenAnswer {
    /// `expires_in` as seconds (providers send a number or a string); an hour when absent.
    fn lifetime(&self) -> Duration {
        let secs = match &self.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            Some(serde_json::Value::String(s)) => s.parse().ok(),
            _ => None,
        };
        Duration::from_secs(secs.unwrap_or(3600))
    }
}

impl TokenCache {
    /// The cached token, or a new one from `fetch`, cached until shortly before it expires.
    /// The lock is held while fetching, so concurrent sends ask for one token.
    pub async fn get<F, Fut>(&self, fetch: F) -> Result<String, SendError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<TokenAnswer, SendError>>,
    {
        let mut cached = self.0.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let answer = fetch().await?;
        let until = Instant::now() + answer.lifetime().saturating_sub(EARLY);
        *cached = Some((answer.access_token.clone(), until));
        Ok(answer.access_token)
    }

    /// Forgets the token (the provider refused it).
    pub async fn clear(&self) {
        *self.0.lock().await = None;
    }
}

/// Reads a token answer, mapping failures like any other call.
pub(super) async fn token_answer(what: &str, response: Response) -> Result<TokenAnswer, SendError> {
    if !response.status().is_success() {
        return Err(failure(what, response).await);
    }
    response
        .json()
        .await
        .map_err(|e| SendError::Transient(format!("{what}: unreadable token answer: {e}")))
}
