//! Orange Money Web Payment: OAuth client credentials, `webpayment` to start, `transactionstatus`
//! to confirm. The callback is not signed: its `notif_token` must equal the one stored at
//! start, and it does not name the order, so `notif_url` carries our reference in its query.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::Client;
use serde::Deserialize;
use serde_json::json;

use super::callback::{CallbackCheck, CallbackError, CallbackHint, CallbackRequest, Claim};
use super::callback::{PaymentKey, SecretCheck, reference};
use super::config::{OrangeConfig, Timeouts};
use super::http::{self, AccessToken, TokenCache, whole_units};
use super::{Amount, Status};
use super::{MobileMoneyAdapter, PaymentRef, PaymentRequest, Provider, ProviderError, Started};

/// The query parameter of `notif_url` that carries our reference.
pub(crate) const REFERENCE_PARAM: &str = "reference";

/// The Orange Money adapter.
pub struct Orange {
    config: OrangeConfig,
    client: Client,
    token: TokenCache,
}

#[derive(Deserialize)]
struct WebPayment {
    pay_token: String,
    payment_url: Option<String>,
    notif_token: Option<String>,
}

#[derive(Deserialize)]
struct TransactionStatus {
    status: String,
    txnid: Option<String>,
}

#[derive(Deserialize)]
struct Notification {
    status: Option<String>,
    notif_token: String,
}

impl Orange {
    pub fn new(config: OrangeConfig, timeouts: Timeouts) -> Result<Self, ProviderError> {
        Ok(Self {
            client: http::client(timeouts)?,
            config,
            token: TokenCache::default(),
        })
    }

    async fn bearer(&self) -> Result<String, ProviderError> {
        self.token
            .get(|| async move {
                let request = self
                    .client
                    .post(format!("{}/oauth/v3/token", self.config.oauth_url))
                    .basic_auth(
                        self.config.client_id.expose(),
                        Some(self.config.client_secret.expose()),
                    )
                    .form(&[("grant_type", "client_credentials")]);
                http::send_json::<AccessToken>(request).await
            })
            .await
    }

    fn url(&self, operation: &str) -> String {
        format!(
            "{}/orange-money-webpay/{}/v1/{operation}",
            self.config.base_url, self.config.country
        )
    }

    /// The sandbox (`dev`) only takes its own currency `OUV`.
    fn currency(&self, amount: Amount) -> &'static str {
        if self.config.country == "dev" {
            "OUV"
        } else {
            amount.currency().as_str()
        }
    }
}

/// `url` with `reference=<uuid>` added to its query.
fn with_reference(url: &str, reference: uuid::Uuid) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{REFERENCE_PARAM}={reference}")
}

#[async_trait]
impl MobileMoneyAdapter for Orange {
    fn provider(&self) -> Provider {
        Provider::Orange
    }

    async fn start_payment(&self, request: &PaymentRequest) -> Result<Started, ProviderError> {
        let body = json!({
            "merchant_key": self.config.merchant_key.expose(),
            "currency": self.currency(request.amount),
            "order_id": request.reference.to_string(),
            "amount": whole_units(request.amount)?,
            "return_url": request.return_url,
            "cancel_url": request.return_url,
            "notif_url": with_reference(&request.notify_url, request.reference),
            "lang": "fr",
            "reference": request.description,
        });
        let token = self.bearer().await?;
        let sent = http::send_json(
            self.client
                .post(self.url("webpayment"))
                .bearer_auth(token)
                .json(&body),
        )
        .await;
        let answer: WebPayment = self.token.check(sent).await?;
        Ok(Started {
            operator_reference: answer.pay_token,
            payment_url: answer.payment_url,
            callback_secret: answer.notif_token,
        })
    }

    /// Orange reports no amount: `Succeeded.amount` is `None`.
    async fn payment_status(&self, payment: &PaymentRef) -> Result<Status, ProviderError> {
        let body = json!({
            "order_id": payment.reference.to_string(),
            "amount": whole_units(payment.amount)?,
            "pay_token": payment.operator_reference,
        });
        let token = self.bearer().await?;
        let sent = http::send_json(
            self.client
                .post(self.url("transactionstatus"))
                .bearer_auth(token)
                .json(&body),
        )
        .await;
        let answer: TransactionStatus = self.token.check(sent).await?;
        Ok(match answer.status.as_str() {
            "SUCCESS" => Status::Succeeded {
                transaction_id: answer.txnid,
                amount: None,
            },
            "FAILED" | "EXPIRED" | "CANCELLED" => Status::Failed {
                reason: answer.status,
            },
            _ => Status::Pending,
        })
    }

    fn verify_callback(
        &self,
        request: &CallbackRequest<'_>,
        _now: DateTime<Utc>,
    ) -> Result<CallbackCheck, CallbackError> {
        let notification: Notification = serde_json::from_slice(request.body)
            .map_err(|e| CallbackError::Malformed(e.to_string()))?;
        let reference = request
            .query
            .unwrap_or_default()
            .split('&')
            .find_map(|pair| pair.strip_prefix(REFERENCE_PARAM)?.strip_prefix('='))
            .ok_or_else(|| CallbackError::Malformed("référence absente".into()))
            .and_then(reference)?;
        let claim = match notification.status.as_deref() {
            Some("SUCCESS") => Claim::Succeeded,
            Some("FAILED") => Claim::Failed,
            _ => Claim::Unknown,
        };
        let hint = CallbackHint {
            payment: PaymentKey::Reference(reference),
            claim,
            event_id: None,
        };
        Ok(CallbackCheck::NeedsStoredSecret(SecretCheck::new(
            hint,
            notification.notif_token,
        )))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::mobile_money::conformance::{self as c, Fixture};
    use crate::mobile_money::standin::{self, Outcome, StandIn};

    async fn fixture() -> Fixture {
        let stand_in = StandIn::orange().await.unwrap();
        let adapter = Orange::new(standin::orange::config(&stand_in), c::short_timeouts()).unwrap();
        Fixture::new(stand_in, adapter)
    }

    c::scenario_tests!();

    #[tokio::test]
    async fn payouts_are_unsupported() {
        c::payouts_unsupported(&fixture().await, Provider::Orange).await;
    }

    #[tokio::test]
    async fn the_token_is_fetched_once_and_the_wire_format_is_orange_s() {
        let f = fixture().await;
        let (request, started) = c::start(&f).await;
        f.adapter
            .payment_status(&c::payment_ref(&request, &started))
            .await
            .unwrap();
        assert_eq!(f.stand_in.requests_to("/oauth/v3/token").len(), 1);
        let start = &f.stand_in.requests_to("/webpayment")[0];
        let body = start.json();
        assert_eq!(body["order_id"], request.reference.to_string());
        assert_eq!(body["amount"], 5000);
        assert_eq!(body["currency"], "OUV");
        assert!(
            start
                .header("authorization")
                .unwrap()
                .starts_with("Bearer ")
        );
        assert!(started.callback_secret.is_some());
    }

    #[tokio::test]
    async fn a_callback_with_the_stored_notif_token_is_accepted() {
        let f = fixture().await;
        let (request, started) = c::start(&f).await;
        let message = f.stand_in.callback(request.reference).unwrap();
        let check = f
            .adapter
            .verify_callback(&message.as_request(), Utc::now())
            .unwrap();
        let CallbackCheck::NeedsStoredSecret(check) = check else {
            panic!("Orange callbacks need the stored token")
        };
        assert_eq!(check.payment(), &PaymentKey::Reference(request.reference));
        let hint = check
            .check(started.callback_secret.as_deref().unwrap())
            .unwrap();
        assert_eq!(hint.claim, Claim::Succeeded);
    }

    #[tokio::test]
    async fn a_callback_with_another_notif_token_is_refused() {
        let f = fixture().await;
        f.stand_in.set_outcome(Outcome::Fail);
        let (request, _) = c::start(&f).await;
        let message = f.stand_in.callback(request.reference).unwrap();
        let check = f
            .adapter
            .verify_callback(&message.as_request(), Utc::now())
            .unwrap();
        let CallbackCheck::NeedsStoredSecret(check) = check else {
            panic!("Orange callbacks need the stored token")
        };
        assert_eq!(check.check("not-the-token"), Err(CallbackError::WrongToken));
    }

    #[tokio::test]
    async fn a_refused_token_is_forgotten_and_fetched_again() {
        let f = fixture().await;
        let (request, started) = c::start(&f).await;
        f.stand_in
            .fail_next(1, axum::http::StatusCode::UNAUTHORIZED);
        let refused = f
            .adapter
            .payment_status(&c::payment_ref(&request, &started))
            .await;
        assert!(
            refused.as_ref().is_err_and(ProviderError::is_transient),
            "{refused:?}"
        );
        f.adapter
            .payment_status(&c::payment_ref(&request, &started))
            .await
            .unwrap();
        assert_eq!(f.stand_in.requests_to("/oauth/v3/token").len(), 2);
    }
}
