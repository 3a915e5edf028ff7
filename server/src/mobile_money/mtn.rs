//! MTN MoMo: Collections `requesttopay` for payments, Disbursements `transfer` for payouts.
//! `X-Reference-Id` is our reference: MTN refuses a second request with the same id (409),
//! which a retry after a timeout treats as "already started". The callback is unsigned and
//! only triggers a status query.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::{Client, RequestBuilder};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::callback::{CallbackCheck, CallbackError, CallbackHint, CallbackRequest, Claim};
use super::callback::{PaymentKey, reference};
use super::config::{MtnConfig, Secret, Timeouts};
use super::http::{self, AccessToken, TokenCache};
use super::{MobileMoneyAdapter, PaymentRef, PaymentRequest, PayoutRef, PayoutRequest};
use super::{PayoutStarted, Provider, ProviderError, Started, Status};

/// The two MTN products Kobiri uses; each has its own token and subscription key.
#[derive(Debug, Clone, Copy)]
enum Product {
    Collection,
    Disbursement,
}

impl Product {
    fn path(self) -> &'static str {
        match self {
            Product::Collection => "collection",
            Product::Disbursement => "disbursement",
        }
    }
}

/// The MTN MoMo adapter.
pub struct Mtn {
    config: MtnConfig,
    client: Client,
    collection_token: TokenCache,
    disbursement_token: TokenCache,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Transaction {
    status: String,
    amount: Option<serde_json::Value>,
    currency: Option<String>,
    financial_transaction_id: Option<String>,
    reason: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    external_id: Option<String>,
    status: Option<String>,
}

impl Mtn {
    pub fn new(config: MtnConfig, timeouts: Timeouts) -> Result<Self, ProviderError> {
        Ok(Self {
            client: http::client(timeouts)?,
            config,
            collection_token: TokenCache::default(),
            disbursement_token: TokenCache::default(),
        })
    }

    fn subscription_key(&self, product: Product) -> &Secret {
        match product {
            Product::Collection => &self.config.subscription_key,
            Product::Disbursement => &self.config.disbursement_subscription_key,
        }
    }

    fn token(&self, product: Product) -> &TokenCache {
        match product {
            Product::Collection => &self.collection_token,
            Product::Disbursement => &self.disbursement_token,
        }
    }

    /// A request with the bearer token, subscription key and target environment.
    async fn request(
        &self,
        product: Product,
        method: reqwest::Method,
        path: &str,
    ) -> Result<RequestBuilder, ProviderError> {
        let key = self.subscription_key(product).expose();
        let token = self
            .token(product)
            .get(|| async move {
                let request = self
                    .client
                    .post(format!(
                        "{}/{}/token/",
                        self.config.base_url,
                        product.path()
                    ))
                    .basic_auth(
                        self.config.api_user.expose(),
                        Some(self.config.api_key.expose()),
                    )
                    .header("Ocp-Apim-Subscription-Key", key);
                http::send_json::<AccessToken>(request).await
            })
            .await?;
        let url = format!("{}/{}/v1_0/{path}", self.config.base_url, product.path());
        Ok(self
            .client
            .request(method, url)
            .bearer_auth(token)
            .header("Ocp-Apim-Subscription-Key", key)
            .header("X-Target-Environment", &self.config.target_environment))
    }

    /// Posts a request to pay or a transfer under `reference`; a 409 means MTN already has it.
    async fn create(
        &self,
        product: Product,
        reference: Uuid,
        callback_url: Option<&str>,
        body: serde_json::Value,
    ) -> Result<(), ProviderError> {
        let path = match product {
            Product::Collection => "requesttopay",
            Product::Disbursement => "transfer",
        };
        let mut request = self
            .request(product, reqwest::Method::POST, path)
            .await?
            .header("X-Reference-Id", reference.to_string())
            .json(&body);
        if let Some(url) = callback_url {
            request = request.header("X-Callback-Url", url);
        }
        match self.token(product).check(http::send(request).await).await {
            Ok(_) | Err(ProviderError::Rejected { status: 409, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn status(&self, product: Product, path: &str) -> Result<Status, ProviderError> {
        let request = self.request(product, reqwest::Method::GET, path).await?;
        let answer: Transaction = self
            .token(product)
            .check(http::send_json(request).await)
            .await?;
        Ok(match answer.status.as_str() {
            "SUCCESSFUL" => Status::Succeeded {
                transaction_id: answer.financial_transaction_id,
                amount: match (&answer.amount, &answer.currency) {
                    (Some(amount), Some(currency)) => {
                        Some(http::reported_amount(amount, currency)?)
                    }
                    _ => None,
                },
            },
            "FAILED" | "REJECTED" | "TIMEOUT" => Status::Failed {
                reason: http::describe(answer.reason.as_ref(), &answer.status),
            },
            _ => Status::Pending,
        })
    }
}

fn transfer_body(
    amount: kobiri_core::Amount,
    reference: Uuid,
    role: &str,
    phone: &kobiri_core::Phone,
    message: &str,
) -> serde_json::Value {
    let mut body = json!({
        "amount": amount.to_wire_string(),
        "currency": amount.currency().as_str(),
        "externalId": reference.to_string(),
        "payerMessage": message,
        "payeeNote": message,
    });
    // MTN wants the MSISDN as digits only, without '+'.
    body[role] = json!({ "partyIdType": "MSISDN", "partyId": phone.digits() });
    body
}

#[async_trait]
impl MobileMoneyAdapter for Mtn {
    fn provider(&self) -> Provider {
        Provider::Mtn
    }

    async fn start_payment(&self, request: &PaymentRequest) -> Result<Started, ProviderError> {
        let body = transfer_body(
            request.amount,
            request.reference,
            "payer",
            &request.payer,
            &request.description,
        );
        self.create(
            Product::Collection,
            request.reference,
            Some(&request.notify_url),
            body,
        )
        .await?;
        Ok(Started {
            operator_reference: request.reference.to_string(),
            payment_url: None,
            callback_secret: None,
        })
    }

    async fn payment_status(&self, payment: &PaymentRef) -> Result<Status, ProviderError> {
        let path = format!("requesttopay/{}", payment.reference);
        self.status(Product::Collection, &path).await
    }

    async fn start_payout(&self, request: &PayoutRequest) -> Result<PayoutStarted, ProviderError> {
        let body = transfer_body(
            request.amount,
            request.reference,
            "payee",
            &request.beneficiary,
            &request.note,
        );
        self.create(Product::Disbursement, request.reference, None, body)
            .await?;
        let payout = PayoutRef {
            reference: request.reference,
            operator_reference: request.reference.to_string(),
        };
        Ok(PayoutStarted {
            status: self.payout_status(&payout).await.unwrap_or(Status::Pending),
            operator_reference: payout.operator_reference,
        })
    }

    async fn payout_status(&self, payout: &PayoutRef) -> Result<Status, ProviderError> {
        let path = format!("transfer/{}", payout.reference);
        self.status(Product::Disbursement, &path).await
    }

    /// A trigger only: MTN does not sign, so the caller must query the status.
    fn verify_callback(
        &self,
        request: &CallbackRequest<'_>,
        _now: DateTime<Utc>,
    ) -> Result<CallbackCheck, CallbackError> {
        let notification: Notification = serde_json::from_slice(request.body)
            .map_err(|e| CallbackError::Malformed(e.to_string()))?;
        let external_id = notification
            .external_id
            .ok_or_else(|| CallbackError::Malformed("externalId absent".into()))?;
        let claim = match notification.status.as_deref() {
            Some("SUCCESSFUL") => Claim::Succeeded,
            Some("FAILED") => Claim::Failed,
            _ => Claim::Unknown,
        };
        Ok(CallbackCheck::Hint(CallbackHint {
            payment: PaymentKey::Reference(reference(&external_id)?),
            claim,
            event_id: None,
        }))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::mobile_money::conformance::{self as c, Fixture};
    use crate::mobile_money::standin::{self, Outcome, StandIn};

    async fn fixture() -> Fixture {
        let stand_in = StandIn::mtn().await.unwrap();
        let adapter = Mtn::new(standin::mtn::config(&stand_in), c::short_timeouts()).unwrap();
        Fixture::new(stand_in, adapter)
    }

    c::scenario_tests!();

    #[tokio::test]
    async fn a_different_paid_amount_is_reported() {
        c::amount_mismatch_is_visible(&fixture().await).await;
    }

    #[tokio::test]
    async fn a_payout_carries_its_key_and_the_same_key_twice_pays_once() {
        c::payout_is_idempotent(&fixture().await, "x-reference-id").await;
    }

    #[tokio::test]
    async fn requests_carry_mtn_s_headers_and_a_digits_only_msisdn() {
        let f = fixture().await;
        let (request, started) = c::start(&f).await;
        assert_eq!(started.operator_reference, request.reference.to_string());
        let sent = &f.stand_in.requests_to("/requesttopay")[0];
        assert_eq!(
            sent.header("x-reference-id"),
            Some(request.reference.to_string().as_str())
        );
        assert_eq!(sent.header("x-target-environment"), Some("sandbox"));
        assert_eq!(
            sent.header("x-callback-url"),
            Some(request.notify_url.as_str())
        );
        assert_eq!(
            sent.header("ocp-apim-subscription-key"),
            Some(standin::mtn::SUBSCRIPTION_KEY)
        );
        let body = sent.json();
        assert_eq!(body["payer"]["partyId"], "221771234567");
        assert_eq!(body["amount"], "5000");
    }

    #[tokio::test]
    async fn starting_twice_with_one_reference_asks_once() {
        let f = fixture().await;
        let request = c::payment_request();
        f.adapter.start_payment(&request).await.unwrap();
        f.adapter.start_payment(&request).await.unwrap();
        assert_eq!(f.stand_in.requests_to("/requesttopay").len(), 2);
        assert!(f.stand_in.payment(request.reference).is_some());
    }

    #[tokio::test]
    async fn a_callback_is_a_trigger_naming_the_payment() {
        let f = fixture().await;
        f.stand_in.set_outcome(Outcome::Fail);
        let (request, _) = c::start(&f).await;
        let message = f.stand_in.callback(request.reference).unwrap();
        let check = f
            .adapter
            .verify_callback(&message.as_request(), Utc::now())
            .unwrap();
        let CallbackCheck::Hint(hint) = check else {
            panic!("MTN callbacks are plain triggers")
        };
        assert_eq!(hint.payment, PaymentKey::Reference(request.reference));
        assert_eq!(hint.claim, Claim::Failed);
    }
}
