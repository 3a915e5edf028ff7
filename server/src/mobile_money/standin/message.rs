//! What crosses the wire in tests: requests a stand-in received, and callbacks it sends.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::mobile_money::callback::CallbackRequest;

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
