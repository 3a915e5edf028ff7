//! Orange SMS API: an OAuth client-credentials token (`POST {ORANGE_OAUTH_URL}/oauth/v3/token`,
//! cached until it expires), then `POST {ORANGE_SMS_BASE_URL}/smsmessaging/v1/outbound/
//! tel:+{sender}/requests` per SMS. The answer's `resourceURL` ends with the message id.
//!
//! Delivery reports: Orange posts a `deliveryInfoNotification` to the `notifyURL` of the
//! sender's delivery-receipt subscription ([`delivery_report`]). Kobiri reads its
//! `callbackData` as the message id of the `resourceURL`, which is what it records as
//! `provider_message_id` (check this against the Orange account in use: a report whose id
//! matches no message is answered 404 and logged).

use async_trait::async_trait;
use reqwest::StatusCode;
use serde_json::json;

use super::{
    SendError, SendResult, Sent, SmsMessage, SmsSender,
    config::OrangeConfig,
    delivery::{DeliveryReport, ReportError, required},
    http::{self, TokenCache},
};
use crate::store::Delivery;

#[derive(Debug)]
pub struct OrangeSms {
    config: OrangeConfig,
    client: reqwest::Client,
    token: TokenCache,
}

impl OrangeSms {
    pub fn new(config: OrangeConfig) -> anyhow::Result<Self> {
        Ok(Self {
            config,
            client: http::client()?,
            token: TokenCache::default(),
        })
    }

    async fn token(&self) -> Result<String, SendError> {
        self.token
            .get(|| async {
                let url = format!(
                    "{}/oauth/v3/token",
                    self.config.oauth_url.trim_end_matches('/')
                );
                let response = self
                    .client
                    .post(url)
                    .basic_auth(&self.config.client_id, Some(&self.config.client_secret))
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await
                    .map_err(|e| http::transport(&e))?;
                http::token_answer("Orange OAuth", response).await
            })
            .await
    }
}

/// The message id at the end of the answer's `resourceURL`.
fn message_id(answer: &serde_json::Value) -> Option<String> {
    let url = answer["outboundSMSMessageRequest"]["resourceURL"].as_str()?;
    url.rsplit('/')
        .next()
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
}

#[async_trait]
impl SmsSender for OrangeSms {
    async fn send(&self, message: SmsMessage) -> SendResult {
        let token = self.token().await?;
        let sender = &self.config.sender;
        let url = format!(
            "{}/smsmessaging/v1/outbound/tel%3A%2B{sender}/requests",
            self.config.base_url.trim_end_matches('/')
        );
        let body = json!({"outboundSMSMessageRequest": {
            "address": format!("tel:{}", message.to.as_str()),
            "senderAddress": format!("tel:+{sender}"),
            "outboundSMSTextMessage": {"message": message.text},
        }});
        let response = self
            .client
            .post(url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .map_err(|e| http::transport(&e))?;
        if response.status() == StatusCode::UNAUTHORIZED {
            self.token.clear().await;
        }
        if !response.status().is_success() {
            return Err(http::failure("Orange SMS", response).await);
        }
        let answer: serde_json::Value = response.json().await.unwrap_or_default();
        Ok(Sent {
            provider_message_id: message_id(&answer),
        })
    }
}

/// An Orange delivery report: `{"deliveryInfoNotification": {"callbackData": <message id>,
/// "deliveryInfo": {"address": "tel:+…", "deliveryStatus": …}}}`. `DeliveredToTerminal` is
/// delivery to the phone and `DeliveryImpossible` a definitive failure; `DeliveredToNetwork`,
/// `MessageWaiting`, `DeliveryUncertain` and `DeliveryNotificationNotSupported` say nothing
/// final (an unknown status is taken as in transit, with a warning).
pub(super) fn delivery_report(body: &[u8]) -> Result<DeliveryReport, ReportError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| ReportError("un objet JSON est attendu".into()))?;
    let notification = &value["deliveryInfoNotification"];
    let provider_message_id = required(notification["callbackData"].as_str(), "callbackData")?;
    let info = &notification["deliveryInfo"];
    let status = required(info["deliveryStatus"].as_str(), "deliveryStatus")?;
    let delivery = match status.as_str() {
        "DeliveredToTerminal" => Delivery::Delivered,
        "DeliveryImpossible" => Delivery::Failed {
            error: format!("Orange SMS: {status}"),
        },
        "DeliveredToNetwork"
        | "MessageWaiting"
        | "DeliveryUncertain"
        | "DeliveryNotificationNotSupported" => Delivery::InTransit,
        other => {
            tracing::warn!(
                status = other,
                "Orange SMS: unknown delivery status, taken as in transit"
            );
            Delivery::InTransit
        }
    };
    Ok(DeliveryReport {
        provider_message_id,
        delivery,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use kobiri_core::Phone;

    use super::*;
    use crate::notify::standin::StandIn;

    fn sms(text: &str) -> SmsMessage {
        SmsMessage {
            to: Phone::parse("+221771234567").unwrap(),
            text: text.into(),
        }
    }

    #[tokio::test]
    async fn sends_with_a_cached_token_and_returns_the_message_id() {
        let standin = StandIn::start().await;
        let sender = OrangeSms::new(standin.orange_config()).unwrap();
        let first = sender.send(sms("Bonjour")).await.unwrap();
        let second = sender.send(sms("Encore")).await.unwrap();
        assert!(first.provider_message_id.is_some());
        assert_ne!(first.provider_message_id, second.provider_message_id);
        let got = standin.sms();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].to, "+221771234567");
        assert_eq!(got[0].text, "Bonjour");
        assert_eq!(got[0].provider, "orange");
        assert_eq!(standin.oauth_tokens_issued(), 1, "the token is cached");
    }

    #[tokio::test]
    async fn a_gateway_down_is_transient_and_a_bad_request_permanent() {
        let standin = StandIn::start().await;
        let sender = OrangeSms::new(standin.orange_config()).unwrap();
        standin.set_down(true);
        let err = sender.send(sms("x")).await.unwrap_err();
        assert!(matches!(err, SendError::Transient(_)), "{err}");
        standin.set_down(false);
        assert!(sender.send(sms("x")).await.is_ok());
        let err = sender.send(sms("")).await.unwrap_err();
        assert!(matches!(err, SendError::Permanent(_)), "{err}");
    }

    #[test]
    fn delivery_reports_map_terminal_impossible_and_steps() {
        let read = |id: &str, status: &str| {
            let body = serde_json::json!({"deliveryInfoNotification": {"callbackData": id,
                "deliveryInfo": {"address": "tel:+221771234567", "deliveryStatus": status}}});
            delivery_report(body.to_string().as_bytes())
        };
        let ok = read("abc123", "DeliveredToTerminal").unwrap();
        assert_eq!(ok.provider_message_id, "abc123");
        assert_eq!(ok.delivery, Delivery::Delivered);
        assert_eq!(
            read("abc123", "DeliveryImpossible").unwrap().delivery,
            Delivery::Failed {
                error: "Orange SMS: DeliveryImpossible".into()
            }
        );
        for step in [
            "DeliveredToNetwork",
            "MessageWaiting",
            "DeliveryUncertain",
            "New",
        ] {
            assert_eq!(read("abc123", step).unwrap().delivery, Delivery::InTransit);
        }
        assert!(read("", "DeliveredToTerminal").is_err());
        assert!(read("abc123", "").is_err());
        assert!(delivery_report(b"id=abc123&status=Success").is_err());
    }
}
