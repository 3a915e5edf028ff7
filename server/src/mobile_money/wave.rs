//! Wave: Checkout sessions for payments, `POST /v1/payout` with `Idempotency-Key` for payouts,
//! webhooks signed `Wave-Signature: t=<unix>,v1=<hex>` (HMAC-SHA256 of `t` + raw body; several
//! `v1` values may be present during a secret rotation).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::{Client, RequestBuilder};
use serde::Deserialize;
use serde_json::json;

use super::callback::{CallbackCheck, CallbackError, CallbackHint, CallbackRequest, Claim};
use super::callback::{PaymentKey, header, hmac_matches, reference};
use super::config::{Timeouts, WaveConfig};
use super::http;
use super::{MobileMoneyAdapter, PaymentRef, PaymentRequest, PayoutRef, PayoutRequest};
use super::{PayoutStarted, Provider, ProviderError, Started, Status};

/// The Wave adapter.
pub struct Wave {
    config: WaveConfig,
    client: Client,
}

#[derive(Deserialize)]
struct Session {
    id: String,
    wave_launch_url: Option<String>,
    checkout_status: Option<String>,
    payment_status: Option<String>,
    transaction_id: Option<String>,
    amount: Option<serde_json::Value>,
    currency: Option<String>,
}

#[derive(Deserialize)]
struct Payout {
    id: String,
    status: String,
    payout_error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Event {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    id: Option<String>,
    client_reference: Option<String>,
}

impl Wave {
    pub fn new(config: WaveConfig, timeouts: Timeouts) -> Result<Self, ProviderError> {
        Ok(Self {
            client: http::client(timeouts)?,
            config,
        })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}/v1/{path}", self.config.base_url))
            .bearer_auth(self.config.api_key.expose())
    }

    /// True when one of the `v1` signatures matches and `t` is within the tolerance of `now`.
    fn check_signature(
        &self,
        header: &str,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), CallbackError> {
        let mut timestamp = None;
        let mut signatures = Vec::new();
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
                Some(("v1", v)) => signatures.push(v),
                _ => {}
            }
        }
        let Some(timestamp) = timestamp else {
            return Err(CallbackError::BadSignature);
        };
        let t = timestamp.to_string();
        let key = self.config.webhook_secret.expose().as_bytes();
        if !signatures
            .iter()
            .any(|sig| hmac_matches(key, &[t.as_bytes(), body], sig))
        {
            return Err(CallbackError::BadSignature);
        }
        if now.timestamp().abs_diff(timestamp) > self.config.signature_tolerance.as_secs() {
            return Err(CallbackError::StaleTimestamp);
        }
        Ok(())
    }
}

fn session_status(session: Session) -> Result<Status, ProviderError> {
    Ok(
        match (
            session.payment_status.as_deref(),
            session.checkout_status.as_deref(),
        ) {
            (Some("succeeded"), _) => Status::Succeeded {
                transaction_id: session.transaction_id,
                amount: match (&session.amount, &session.currency) {
                    (Some(amount), Some(currency)) => {
                        Some(http::reported_amount(amount, currency)?)
                    }
                    _ => None,
                },
            },
            (Some("cancelled"), _) | (_, Some("expired")) => Status::Failed {
                reason: "paiement annulé ou session expirée".into(),
            },
            _ => Status::Pending,
        },
    )
}

fn payout_status(payout: &Payout) -> Status {
    match payout.status.as_str() {
        "succeeded" => Status::Succeeded {
            transaction_id: Some(payout.id.clone()),
            amount: None,
        },
        "failed" | "reversed" => Status::Failed {
            reason: http::describe(
                payout
                    .payout_error
                    .as_ref()
                    .and_then(|e| e.get("error_code")),
                &payout.status,
            ),
        },
        _ => Status::Pending,
    }
}

#[async_trait]
impl MobileMoneyAdapter for Wave {
    fn provider(&self) -> Provider {
        Provider::Wave
    }

    /// Wave sends webhooks to the URL set in its dashboard: `notify_url` is not sent.
    async fn start_payment(&self, request: &PaymentRequest) -> Result<Started, ProviderError> {
        let body = json!({
            "amount": request.amount.to_wire_string(),
            "currency": request.amount.currency().as_str(),
            "success_url": request.return_url,
            "error_url": request.return_url,
            "client_reference": request.reference.to_string(),
            "restrict_payer_mobile": request.payer.as_str(),
        });
        let session: Session = http::send_json(
            self.request(reqwest::Method::POST, "checkout/sessions")
                .header("Idempotency-Key", request.reference.to_string())
                .json(&body),
        )
        .await?;
        Ok(Started {
            operator_reference: session.id,
            payment_url: session.wave_launch_url,
            callback_secret: None,
        })
    }

    async fn payment_status(&self, payment: &PaymentRef) -> Result<Status, ProviderError> {
        let path = format!("checkout/sessions/{}", payment.operator_reference);
        let session: Session = http::send_json(self.request(reqwest::Method::GET, &path)).await?;
        session_status(session)
    }

    async fn start_payout(&self, request: &PayoutRequest) -> Result<PayoutStarted, ProviderError> {
        let body = json!({
            "currency": request.amount.currency().as_str(),
            "receive_amount": request.amount.to_wire_string(),
            "mobile": request.beneficiary.as_str(),
            "client_reference": request.reference.to_string(),
            "payment_reason": request.note,
        });
        let payout: Payout = http::send_json(
            self.request(reqwest::Method::POST, "payout")
                .header("Idempotency-Key", request.reference.to_string())
                .json(&body),
        )
        .await?;
        Ok(PayoutStarted {
            status: payout_status(&payout),
            operator_reference: payout.id,
        })
    }

    async fn payout_status(&self, payout: &PayoutRef) -> Result<Status, ProviderError> {
        let path = format!("payout/{}", payout.operator_reference);
        let answer: Payout = http::send_json(self.request(reqwest::Method::GET, &path)).await?;
        Ok(payout_status(&answer))
    }

    fn verify_callback(
        &self,
        request: &CallbackRequest<'_>,
        now: DateTime<Utc>,
    ) -> Result<CallbackCheck, CallbackError> {
        let signature =
            header(request.headers, "wave-signature").ok_or(CallbackError::MissingSignature)?;
        self.check_signature(signature, request.body, now)?;
        let event: Event = serde_json::from_slice(request.body)
            .map_err(|e| CallbackError::Malformed(e.to_string()))?;
        let payment = match (event.data.client_reference, event.data.id) {
            (Some(ours), _) => PaymentKey::Reference(reference(&ours)?),
            (None, Some(session)) => PaymentKey::OperatorReference(session),
            (None, None) => return Err(CallbackError::Malformed("session absente".into())),
        };
        let claim = match event.kind.as_deref() {
            Some("checkout.session.completed") => Claim::Succeeded,
            Some("checkout.session.payment_failed") => Claim::Failed,
            _ => Claim::Unknown,
        };
        Ok(CallbackCheck::Hint(CallbackHint {
            payment,
            claim,
            event_id: event.id,
        }))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "wave_tests.rs"]
mod tests;
