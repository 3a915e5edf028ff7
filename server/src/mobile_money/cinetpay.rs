//! CinetPay, the aggregator serving Free Money and Moov Money (and able to serve any method):
//! `POST /v2/payment` to start, `POST /v2/payment/check` to confirm. Its notification is a form
//! POST whose `x-token` header is an HMAC-SHA256, keyed by the merchant secret, of the
//! concatenated form fields; even a valid one is only a trigger for the check.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::Client;
use serde::Deserialize;
use serde_json::json;

use super::Status;
use super::callback::{CallbackCheck, CallbackError, CallbackHint, CallbackRequest, Claim};
use super::callback::{PaymentKey, header, hmac_matches, reference};
use super::config::{CinetPayConfig, Timeouts};
use super::http::{self, whole_units};
use super::{MobileMoneyAdapter, PaymentRef, PaymentRequest, Provider, ProviderError, Started};

/// The notification fields, in the order CinetPay concatenates them for `x-token`.
pub(crate) const TOKEN_FIELDS: [&str; 16] = [
    "cpm_site_id",
    "cpm_trans_id",
    "cpm_trans_date",
    "cpm_amount",
    "cpm_currency",
    "signature",
    "payment_method",
    "cel_phone_num",
    "cpm_phone_prefixe",
    "cpm_language",
    "cpm_version",
    "cpm_payment_config",
    "cpm_page_action",
    "cpm_custom",
    "cpm_designation",
    "cpm_error_message",
];

/// The CinetPay adapter.
pub struct CinetPay {
    config: CinetPayConfig,
    client: Client,
}

#[derive(Deserialize)]
struct Answer<T> {
    code: serde_json::Value,
    message: Option<String>,
    data: Option<T>,
}

#[derive(Deserialize)]
struct Init {
    payment_token: String,
    payment_url: Option<String>,
}

#[derive(Deserialize)]
struct Check {
    status: Option<String>,
    amount: Option<serde_json::Value>,
    currency: Option<String>,
    operator_id: Option<String>,
}

impl CinetPay {
    pub fn new(config: CinetPayConfig, timeouts: Timeouts) -> Result<Self, ProviderError> {
        Ok(Self {
            client: http::client(timeouts)?,
            config,
        })
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> Result<Answer<T>, ProviderError> {
        let url = format!("{}/v2/{path}", self.config.base_url);
        http::send_json(self.client.post(url).json(&body)).await
    }
}

/// CinetPay's `code` as text (it sends strings, sometimes numbers).
fn code(answer: &serde_json::Value) -> String {
    answer
        .as_str()
        .map_or_else(|| answer.to_string(), str::to_owned)
}

#[async_trait]
impl MobileMoneyAdapter for CinetPay {
    fn provider(&self) -> Provider {
        Provider::CinetPay
    }

    async fn start_payment(&self, request: &PaymentRequest) -> Result<Started, ProviderError> {
        let body = json!({
            "apikey": self.config.api_key.expose(),
            "site_id": self.config.site_id,
            "transaction_id": request.reference.to_string(),
            "amount": whole_units(request.amount)?,
            "currency": request.amount.currency().as_str(),
            "description": request.description,
            "notify_url": request.notify_url,
            "return_url": request.return_url,
            "channels": "MOBILE_MONEY",
            "customer_phone_number": request.payer.digits(),
            "lang": "fr",
        });
        let answer: Answer<Init> = self.post("payment", body).await?;
        match answer.data {
            Some(data) if code(&answer.code) == "201" => Ok(Started {
                operator_reference: data.payment_token,
                payment_url: data.payment_url,
                callback_secret: None,
            }),
            _ => Err(ProviderError::Rejected {
                status: 200,
                message: answer.message.unwrap_or_else(|| code(&answer.code)),
            }),
        }
    }

    async fn payment_status(&self, payment: &PaymentRef) -> Result<Status, ProviderError> {
        let body = json!({
            "apikey": self.config.api_key.expose(),
            "site_id": self.config.site_id,
            "transaction_id": payment.reference.to_string(),
        });
        let answer: Answer<Check> = self.post("payment/check", body).await?;
        let Some(data) = answer.data else {
            return Err(ProviderError::Protocol(format!(
                "réponse sans données (code {})",
                code(&answer.code)
            )));
        };
        Ok(match data.status.as_deref() {
            Some("ACCEPTED") => Status::Succeeded {
                transaction_id: data.operator_id,
                amount: match (&data.amount, &data.currency) {
                    (Some(amount), Some(currency)) => {
                        Some(http::reported_amount(amount, currency)?)
                    }
                    _ => None,
                },
            },
            Some("REFUSED" | "CANCELED" | "CANCELLED") => Status::Failed {
                reason: answer.message.unwrap_or_else(|| code(&answer.code)),
            },
            _ => Status::Pending,
        })
    }

    fn verify_callback(
        &self,
        request: &CallbackRequest<'_>,
        _now: DateTime<Utc>,
    ) -> Result<CallbackCheck, CallbackError> {
        let token = header(request.headers, "x-token").ok_or(CallbackError::MissingSignature)?;
        let form: Vec<(String, String)> = serde_urlencoded::from_bytes(request.body)
            .map_err(|e| CallbackError::Malformed(e.to_string()))?;
        let field = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map_or("", |(_, v)| v.as_str())
        };
        let concatenated: String = TOKEN_FIELDS.iter().map(|name| field(name)).collect();
        let key = self.config.secret_key.expose().as_bytes();
        if !hmac_matches(key, &[concatenated.as_bytes()], token) {
            return Err(CallbackError::BadSignature);
        }
        if field("cpm_site_id") != self.config.site_id {
            return Err(CallbackError::Malformed("site inconnu".into()));
        }
        Ok(CallbackCheck::Hint(CallbackHint {
            payment: PaymentKey::Reference(reference(field("cpm_trans_id"))?),
            // The notification's outcome fields are not reliable: always check.
            claim: Claim::Unknown,
            event_id: None,
        }))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::mobile_money::conformance::{self as c, Fixture};
    use crate::mobile_money::standin::{self, StandIn};

    async fn fixture() -> Fixture {
        let stand_in = StandIn::cinetpay().await.unwrap();
        let adapter =
            CinetPay::new(standin::cinetpay::config(&stand_in), c::short_timeouts()).unwrap();
        Fixture::new(stand_in, adapter)
    }

    c::scenario_tests!();

    #[tokio::test]
    async fn a_different_paid_amount_is_reported() {
        c::amount_mismatch_is_visible(&fixture().await).await;
    }

    #[tokio::test]
    async fn payouts_are_unsupported() {
        c::payouts_unsupported(&fixture().await, Provider::CinetPay).await;
    }

    #[tokio::test]
    async fn the_init_carries_credentials_reference_and_a_whole_amount() {
        let f = fixture().await;
        let (request, _) = c::start(&f).await;
        let body = f.stand_in.requests_to("/v2/payment")[0].json();
        assert_eq!(body["apikey"], standin::cinetpay::API_KEY);
        assert_eq!(body["site_id"], standin::cinetpay::SITE_ID);
        assert_eq!(body["transaction_id"], request.reference.to_string());
        assert_eq!(body["amount"], 5000);
        assert_eq!(body["notify_url"], request.notify_url);
    }

    #[tokio::test]
    async fn a_notification_with_the_right_x_token_names_the_payment() {
        let f = fixture().await;
        let (request, _) = c::start(&f).await;
        let message = f.stand_in.callback(request.reference).unwrap();
        let check = f.adapter.verify_callback(&message.as_request(), Utc::now());
        let Ok(CallbackCheck::Hint(hint)) = check else {
            panic!("expected a hint, got {check:?}")
        };
        assert_eq!(hint.payment, PaymentKey::Reference(request.reference));
    }

    #[tokio::test]
    async fn a_notification_with_a_wrong_x_token_is_refused() {
        let f = fixture().await;
        let (request, _) = c::start(&f).await;
        let mut message = f.stand_in.callback(request.reference).unwrap();
        message.headers.insert("x-token", "00ff".parse().unwrap());
        let check = f.adapter.verify_callback(&message.as_request(), Utc::now());
        assert_eq!(check, Err(CallbackError::BadSignature));
    }

    #[tokio::test]
    async fn a_notification_with_a_changed_amount_is_refused() {
        let f = fixture().await;
        let (request, _) = c::start(&f).await;
        let mut message = f.stand_in.callback(request.reference).unwrap();
        let body = String::from_utf8(message.body.clone()).unwrap();
        message.body = body
            .replace("cpm_amount=5000", "cpm_amount=50")
            .into_bytes();
        let check = f.adapter.verify_callback(&message.as_request(), Utc::now());
        assert_eq!(check, Err(CallbackError::BadSignature));
    }
}
