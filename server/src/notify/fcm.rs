//! Push through FCM HTTP v1. The bearer comes from a Google service account: a JWT (RS256,
//! signed with the account's private key, scope `firebase.messaging`) exchanged at the token
//! URL, cached until shortly before it expires. An `UNREGISTERED` answer means the device
//! token is dead ([`SendError::DeadRecipient`]).

use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    PushMessage, PushSender, SendError, SendResult, Sent,
    config::FcmConfig,
    http::{self, TokenCache},
};

/// The OAuth scope FCM needs.
pub const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";

/// The fields of a service-account key file that Kobiri reads.
#[derive(Clone, Deserialize)]
pub struct ServiceAccount {
    pub client_email: String,
    pub private_key: String,
    #[serde(default)]
    pub token_uri: Option<String>,
    #[serde(default)]
    pub project_id: Option<String>,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .finish_non_exhaustive()
    }
}

/// The claims of the assertion sent to the token URL.
#[derive(Debug, Serialize, Deserialize)]
pub struct AssertionClaims {
    pub iss: String,
    pub scope: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
}

pub struct FcmPush {
    client: reqwest::Client,
    send_url: String,
    token_url: String,
    client_email: String,
    key: EncodingKey,
    token: TokenCache,
}

impl std::fmt::Debug for FcmPush {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FcmPush")
            .field("send_url", &self.send_url)
            .finish_non_exhaustive()
    }
}

impl FcmPush {
    /// Reads the key file named by the configuration.
    pub fn from_config(config: &FcmConfig) -> anyhow::Result<Self> {
        let raw = std::fs::read_to_string(&config.service_account_file).map_err(|e| {
            anyhow::anyhow!(
                "FCM_SERVICE_ACCOUNT_FILE {}: {e}",
                config.service_account_file.display()
            )
        })?;
        let account: ServiceAccount = serde_json::from_str(&raw).map_err(|e| {
            anyhow::anyhow!("FCM_SERVICE_ACCOUNT_FILE: not a service-account key: {e}")
        })?;
        Self::new(config, account)
    }

    pub fn new(config: &FcmConfig, account: ServiceAccount) -> anyhow::Result<Self> {
        let project = config
            .project_id
            .clone()
            .or(account.project_id.clone())
            .ok_or_else(|| anyhow::anyhow!("FCM_PROJECT_ID is required (not in the key file)"))?;
        let token_url = config
            .token_url
            .clone()
            .or(account.token_uri.clone())
            .unwrap_or_else(|| GOOGLE_TOKEN_URL.to_owned());
        Ok(Self {
            client: http::client()?,
            send_url: format!(
                "{}/v1/projects/{project}/messages:send",
                config.base_url.trim_end_matches('/')
            ),
            token_url,
            client_email: account.client_email,
            key: EncodingKey::from_rsa_pem(account.private_key.as_bytes())?,
            token: TokenCache::default(),
        })
    }

    fn assertion(&self) -> Result<String, SendError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let claims = AssertionClaims {
            iss: self.client_email.clone(),
            scope: FCM_SCOPE.to_owned(),
            aud: self.token_url.clone(),
            iat: now,
            exp: now + 3600,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map_err(|e| SendError::Transient(format!("FCM assertion: {e}")))
    }

    async fn bearer(&self) -> Result<String, SendError> {
        self.token
            .get(|| async {
                let assertion = self.assertion()?;
                let response = self
                    .client
                    .post(&self.token_url)
                    .form(&[
                        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                        ("assertion", assertion.as_str()),
                    ])
                    .send()
                    .await
                    .map_err(|e| http::transport(&e))?;
                http::token_answer("FCM OAuth", response).await
            })
            .await
    }
}

/// FCM's error answer: `error.status`, and an `errorCode` in the details.
fn error_code(body: &serde_json::Value) -> Option<String> {
    body["error"]["details"]
        .as_array()?
        .iter()
        .find_map(|d| d["errorCode"].as_str().map(str::to_owned))
}

#[async_trait]
impl PushSender for FcmPush {
    async fn send(&self, message: PushMessage) -> SendResult {
        let bearer = self.bearer().await?;
        let data: serde_json::Map<String, serde_json::Value> = message
            .data
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect();
        let body = json!({"message": {
            "token": message.token,
            "notification": {"title": message.title, "body": message.body},
            "data": data,
        }});
        let response = self
            .client
            .post(&self.send_url)
            .bearer_auth(bearer)
            .json(&body)
            .send()
            .await
            .map_err(|e| http::transport(&e))?;
        let status = response.status();
        let answer: serde_json::Value = response.json().await.unwrap_or_default();
        if status.is_success() {
            return Ok(Sent {
                provider_message_id: answer["name"].as_str().map(str::to_owned),
            });
        }
        if status == StatusCode::UNAUTHORIZED {
            self.token.clear().await;
        }
        let code = error_code(&answer).unwrap_or_default();
        let detail = format!("FCM: HTTP {status} {code}");
        if code == "UNREGISTERED" {
            Err(SendError::DeadRecipient(detail))
        } else if http::is_transient(status) || code == "UNAVAILABLE" || code == "INTERNAL" {
            Err(SendError::Transient(detail))
        } else {
            Err(SendError::Permanent(detail))
        }
    }
}

/// Writes each push to the log instead of sending it (no `FCM_SERVICE_ACCOUNT_FILE`).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogPush;

#[async_trait]
impl PushSender for LogPush {
    async fn send(&self, message: PushMessage) -> SendResult {
        let token: String = message.token.chars().take(6).collect();
        tracing::info!(token = %format!("{token}…"), title = %message.title,
            "push (development: FCM not configured, not sent)");
        Ok(Sent::default())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::notify::standin::StandIn;

    fn push(token: &str) -> PushMessage {
        PushMessage {
            token: token.into(),
            title: "Paiement reçu".into(),
            body: "Merci".into(),
            data: vec![("payment_id".into(), "p1".into())],
        }
    }

    #[tokio::test]
    async fn sends_with_a_signed_assertion_and_a_cached_bearer() {
        let standin = StandIn::start().await;
        let (config, _file) = standin.fcm_config();
        let sender = FcmPush::from_config(&config).unwrap();
        let sent = sender.send(push("tok-1")).await.unwrap();
        assert!(
            sent.provider_message_id
                .unwrap()
                .starts_with("projects/kobiri-test/messages/")
        );
        sender.send(push("tok-2")).await.unwrap();
        assert_eq!(standin.fcm_tokens_issued(), 1);
        let got = standin.push();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].token, "tok-1");
        assert_eq!(got[0].title, "Paiement reçu");
    }

    #[tokio::test]
    async fn an_unregistered_token_is_a_dead_recipient() {
        let standin = StandIn::start().await;
        let (config, _file) = standin.fcm_config();
        let sender = FcmPush::from_config(&config).unwrap();
        standin.unregister("tok-dead");
        let err = sender.send(push("tok-dead")).await.unwrap_err();
        assert!(matches!(err, SendError::DeadRecipient(_)), "{err}");
        standin.set_down(true);
        let err = sender.send(push("tok-1")).await.unwrap_err();
        assert!(matches!(err, SendError::Transient(_)), "{err}");
    }

    #[tokio::test]
    async fn an_assertion_signed_with_another_key_gets_no_token() {
        let standin = StandIn::start().await;
        let (config, _file) = standin.fcm_config();
        let account = ServiceAccount {
            client_email: "x@kobiri-test.iam.gserviceaccount.com".into(),
            private_key: crate::notify::standin::OTHER_TEST_KEY_PEM.into(),
            token_uri: None,
            project_id: Some("kobiri-test".into()),
        };
        let sender = FcmPush::new(&config, account).unwrap();
        assert!(sender.send(push("tok-1")).await.is_err());
        assert!(standin.push().is_empty());
    }
}
