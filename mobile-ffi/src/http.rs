// Over 400 lines on purpose: the phone's HTTP client: its calls, retries and error mapping in one
// place.
//! HTTP to the Kobiri server: a blocking `ureq` agent, retries with exponential backoff on
//! network errors, 5xx and 429, compressed bodies, and the API's `{detail, code, errors}`.

use std::io::Read;
use std::time::Duration;

use serde::Deserialize;
use ureq::Agent;

use crate::error::{Error, MobileError, Result};

/// Largest body read from the server, compressed or not.
const MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;

/// The server's code for a revoked device (its `ErrorCode::DeviceRevoked`).
const DEVICE_REVOKED: &str = "device_revoked";

/// Longest wait a `Retry-After` header may impose.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// How often and how patiently a request is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    /// Attempts in all (at least 1).
    pub(crate) max_tries: u32,
    /// The wait before the second attempt; it doubles for each next one.
    pub(crate) base_delay: Duration,
}

impl Default for RetryPolicy {
    /// 5 tries: waits of 200 ms, 400 ms, 800 ms, then 1.6 s.
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_tries: 5,
            base_delay: Duration::from_millis(200),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt `attempt` (1-based): the doubled delay, less up to half
    /// of it at random so that phones that lost the network together do not retry together.
    fn delay(&self, attempt: u32) -> Duration {
        /// The longest wait between two tries, whatever the policy says.
        const MAX_DELAY: Duration = Duration::from_secs(60);
        let full = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(MAX_DELAY);
        let millis = u64::try_from(full.as_millis()).unwrap_or(u64::MAX);
        let jitter = (uuid::Uuid::new_v4().as_u128() % 51) as u64;
        Duration::from_millis(millis / 100 * (50 + jitter) + millis % 100)
    }
}

/// A request body (a POST), or none (a GET).
pub(crate) enum Payload<'a> {
    /// No body: the request is a GET that accepts JSON.
    Get,
    /// JSON.
    Json(&'a serde_json::Value),
    /// CBOR, compressed with `encoding` when given.
    Cbor {
        body: &'a [u8],
        encoding: Option<&'static str>,
    },
}

/// An answer, whatever its status.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    content_encoding: Option<String>,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

/// The API's error body.
#[derive(Debug, Default, Deserialize)]
struct ApiError {
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    errors: Vec<ApiFieldError>,
}

#[derive(Debug, Deserialize)]
struct ApiFieldError {
    field: String,
    message: String,
}

impl Answer {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn is_transient(&self) -> bool {
        self.status == 429 || self.status >= 500
    }

    /// The body, decompressed as its `Content-Encoding` says. (ureq's own gzip support is
    /// off, so ureq hands the body over as it came and leaves `Content-Encoding` to us.)
    pub(crate) fn decoded_body(&self) -> Result<Vec<u8>> {
        let limit = MAX_BODY_BYTES + 1;
        let mut out = Vec::new();
        let read = match self.content_encoding.as_deref() {
            None | Some("identity") => return Ok(self.body.clone()),
            Some("zstd") => zstd::stream::read::Decoder::new(self.body.as_slice())
                .and_then(|d| d.take(limit).read_to_end(&mut out)),
            Some("gzip") => flate2::read::GzDecoder::new(self.body.as_slice())
                .take(limit)
                .read_to_end(&mut out),
            Some(other) => {
                return Err(Error::network(format!(
                    "réponse du serveur dans un encodage inconnu : {other}"
                )));
            }
        };
        match read {
            Ok(n) if n as u64 <= MAX_BODY_BYTES => Ok(out),
            Ok(_) => Err(Error::network("réponse du serveur trop volumineuse")),
            Err(e) => Err(Error::network(format!(
                "réponse du serveur illisible : {e}"
            ))),
        }
    }

    /// The JSON body of a successful answer.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.decoded_body()?).map_err(|e| {
            Error::Public(MobileError::Server {
                server_code: "invalid_response".to_owned(),
                detail: format!("réponse du serveur inattendue : {e}"),
            })
        })
    }

    /// The public error for an unsuccessful answer.
    pub(crate) fn error(&self) -> MobileError {
        let body: ApiError = self
            .decoded_body()
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let detail = body
            .detail
            .unwrap_or_else(|| format!("le serveur a répondu {}", self.status));
        if let Some(first) = body.errors.into_iter().next() {
            return MobileError::Validation {
                field: first.field,
                detail: first.message,
            };
        }
        // A revoked device is cut off like an expired session: the collector must log in
        // again (and the device be enrolled anew by a manager's decision).
        if self.status == 401 || body.code.as_deref() == Some(DEVICE_REVOKED) {
            return MobileError::Unauthorized { detail };
        }
        MobileError::Server {
            server_code: body.code.unwrap_or_else(|| self.status.to_string()),
            detail,
        }
    }
}

/// The server, reached through one agent (connections are reused).
pub(crate) struct Http {
    agent: Agent,
    base_url: String,
}

impl Http {
    /// Connect within 10 s, and let no single read or write wait more than 30 s.
    pub(crate) fn new(base_url: &str) -> Http {
        let agent = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_send_body(Some(Duration::from_secs(30)))
            .timeout_recv_response(Some(Duration::from_secs(30)))
            .timeout_recv_body(Some(Duration::from_secs(30)))
            .build()
            .new_agent();
        Http {
            agent,
            base_url: base_url.trim_end_matches('/').to_owned(),
        }
    }

    /// Sends `payload` to `path`, retrying network errors, 5xx and 429 with backoff.
    /// Returns the last answer, whatever its status; a network error once the tries are spent.
    pub(crate) fn send(
        &self,
        path: &str,
        bearer: Option<&str>,
        payload: &Payload<'_>,
        policy: RetryPolicy,
    ) -> Result<Answer> {
        let tries = policy.max_tries.max(1);
        let mut attempt = 1;
        loop {
            let wait = match self.once(path, bearer, payload) {
                Ok(answer) if attempt < tries && answer.is_transient() => {
                    answer.retry_after.unwrap_or_default().min(MAX_RETRY_AFTER)
                }
                Ok(answer) => return Ok(answer),
                Err(e) if attempt < tries && is_transient(&e) => Duration::ZERO,
                Err(e) => return Err(Error::network(describe(&e))),
            };
            std::thread::sleep(wait.max(policy.delay(attempt)));
            attempt += 1;
        }
    }

    fn once(
        &self,
        path: &str,
        bearer: Option<&str>,
        payload: &Payload<'_>,
    ) -> Result<Answer, ureq::Error> {
        let url = format!("{}{path}", self.base_url);
        let authorization = bearer.map(|token| format!("Bearer {token}"));
        let response = match payload {
            Payload::Get => authorize(self.agent.get(&url), authorization.as_deref())
                .header("Accept", "application/json")
                .call()?,
            Payload::Json(value) => authorize(self.agent.post(&url), authorization.as_deref())
                .header("Accept", "application/json")
                .send_json(value)?,
            Payload::Cbor { body, encoding } => {
                let mut request = authorize(self.agent.post(&url), authorization.as_deref())
                    .header("Content-Type", "application/cbor")
                    .header("Accept", "application/cbor")
                    .header("Accept-Encoding", "zstd, gzip");
                if let Some(encoding) = encoding {
                    request = request.header("Content-Encoding", *encoding);
                }
                request.send(*body)?
            }
        };
        read_answer(response)
    }
}

/// The request with its `Authorization` header, when there is a token.
fn authorize<B>(
    request: ureq::RequestBuilder<B>,
    authorization: Option<&str>,
) -> ureq::RequestBuilder<B> {
    match authorization {
        Some(value) => request.header("Authorization", value),
        None => request,
    }
}

/// Reads an answer's status, the headers that matter and its body (bounded).
fn read_answer(mut response: ureq::http::Response<ureq::Body>) -> Result<Answer, ureq::Error> {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase())
    };
    let content_encoding = header("content-encoding");
    let retry_after = header("retry-after")
        .and_then(|v| v.parse().ok())
        .map(Duration::from_secs);
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY_BYTES)
        .read_to_vec()?;
    Ok(Answer {
        status,
        content_encoding,
        retry_after,
        body,
    })
}

/// Errors worth another try: the network, not the request.
fn is_transient(e: &ureq::Error) -> bool {
    matches!(
        e,
        ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::HostNotFound
            | ureq::Error::ConnectionFailed
            | ureq::Error::Protocol(_)
            | ureq::Error::BodyStalled
    )
}

/// A French description of a network error.
fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "le serveur ne répond pas (délai dépassé)".to_owned(),
        ureq::Error::HostNotFound => "serveur introuvable (réseau indisponible ?)".to_owned(),
        ureq::Error::ConnectionFailed => "connexion au serveur refusée".to_owned(),
        ureq::Error::Io(io) => format!("erreur réseau ({io})"),
        other => format!("erreur de communication ({other})"),
    }
}

/// Compresses a request body with zstd.
pub(crate) fn zstd_compress(body: &[u8]) -> Result<Vec<u8>> {
    /// A level that still takes well under a millisecond for a batch of 200 mutations.
    const LEVEL: i32 = 9;
    zstd::bulk::compress(body, LEVEL).map_err(|e| Error::Corrupt(format!("compression : {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_at_most_half_taken_off() {
        let policy = RetryPolicy::default();
        for (attempt, full) in [(1, 200), (2, 400), (3, 800), (4, 1600)] {
            let d = policy.delay(attempt).as_millis();
            assert!(d <= full && d >= full / 2, "attempt {attempt}: {d} ms");
        }
        let huge = RetryPolicy {
            max_tries: 100,
            base_delay: Duration::from_secs(1),
        };
        assert!(huge.delay(90) <= Duration::from_secs(60));
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            content_encoding: None,
            retry_after: None,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn api_errors_become_typed_errors() {
        let e = answer(
            422,
            r#"{"detail":"données invalides","code":"validation_error",
                "errors":[{"field":"name","message":"ce champ ne peut pas être vide"}]}"#,
        )
        .error();
        assert_eq!(e.code(), "validation");
        let e = answer(
            401,
            r#"{"detail":"identifiants invalides","code":"invalid_credentials"}"#,
        )
        .error();
        assert_eq!(
            e,
            MobileError::Unauthorized {
                detail: "identifiants invalides".to_owned()
            }
        );
        let e = answer(
            403,
            r#"{"detail":"appareil révoqué","code":"device_revoked"}"#,
        )
        .error();
        assert_eq!(e.code(), "unauthorized");
        let e = answer(502, "<html>bad gateway</html>").error();
        assert_eq!(
            e,
            MobileError::Server {
                server_code: "502".to_owned(),
                detail: "le serveur a répondu 502".to_owned()
            }
        );
    }

    #[test]
    fn compressed_bodies_are_decoded_and_bounded() {
        let body = b"kobiri ".repeat(1000);
        let zstd = Answer {
            content_encoding: Some("zstd".to_owned()),
            body: zstd_compress(&body).unwrap(),
            ..answer(200, "")
        };
        assert_eq!(zstd.decoded_body().unwrap(), body);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &body).unwrap();
        let gzip = Answer {
            content_encoding: Some("gzip".to_owned()),
            body: gz.finish().unwrap(),
            ..answer(200, "")
        };
        assert_eq!(gzip.decoded_body().unwrap(), body);
        let bomb = Answer {
            content_encoding: Some("zstd".to_owned()),
            body: zstd_compress(&vec![0u8; MAX_BODY_BYTES as usize + 10]).unwrap(),
            ..answer(200, "")
        };
        assert_eq!(
            MobileError::from(bomb.decoded_body().unwrap_err()).code(),
            "network"
        );
    }
}
