//! Africa's Talking SMS: a form POST to `{AFRICASTALKING_BASE_URL}/version1/messaging` with the
//! `apiKey` header; each recipient gets a `statusCode` (100 processed, 101 sent, 102 queued
//! are accepted) and a `messageId`. Delivery reports come back as a form naming that id
//! ([`delivery_report`]).

use async_trait::async_trait;
use serde::Deserialize;

use super::{
    SendError, SendResult, Sent, SmsMessage, SmsSender,
    config::AfricasTalkingConfig,
    delivery::{DeliveryReport, ReportError, required},
    http,
};
use crate::store::Delivery;

#[derive(Debug)]
pub struct AfricasTalkingSms {
    config: AfricasTalkingConfig,
    client: reqwest::Client,
}

#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(rename = "SMSMessageData")]
    data: AnswerData,
}

#[derive(Debug, Deserialize)]
struct AnswerData {
    #[serde(rename = "Message", default)]
    message: String,
    #[serde(rename = "Recipients", default)]
    recipients: Vec<AnswerRecipient>,
}

#[derive(Debug, Deserialize)]
struct AnswerRecipient {
    #[serde(rename = "statusCode")]
    status_code: u16,
    #[serde(default)]
    status: String,
    #[serde(rename = "messageId", default)]
    message_id: Option<String>,
}

impl AfricasTalkingSms {
    pub fn new(config: AfricasTalkingConfig) -> anyhow::Result<Self> {
        Ok(Self {
            config,
            client: http::client()?,
        })
    }
}

/// A recipient's status code: accepted, or the error. 405 (insufficient balance) and 5xx
/// (gateway errors) are worth retrying; the rest (invalid number, blacklisted…) are not.
fn outcome(r: AnswerRecipient) -> SendResult {
    match r.status_code {
        100..=102 => Ok(Sent {
            provider_message_id: r.message_id.filter(|id| !id.is_empty() && id != "None"),
        }),
        405 | 500.. => Err(SendError::Transient(format!(
            "Africa's Talking: {} {}",
            r.status_code, r.status
        ))),
        code => Err(SendError::Permanent(format!(
            "Africa's Talking: {code} {}",
            r.status
        ))),
    }
}

#[async_trait]
impl SmsSender for AfricasTalkingSms {
    async fn send(&self, message: SmsMessage) -> SendResult {
        let url = format!(
            "{}/version1/messaging",
            self.config.base_url.trim_end_matches('/')
        );
        let mut form = vec![
            ("username", self.config.username.as_str()),
            ("to", message.to.as_str()),
            ("message", message.text.as_str()),
        ];
        if let Some(from) = &self.config.sender {
            form.push(("from", from));
        }
        let response = self
            .client
            .post(url)
            .header("apiKey", &self.config.api_key)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| http::transport(&e))?;
        if !response.status().is_success() {
            return Err(http::failure("Africa's Talking", response).await);
        }
        let answer: Answer = response.json().await.map_err(|e| {
            SendError::Transient(format!("Africa's Talking: unreadable answer: {e}"))
        })?;
        match answer.data.recipients.into_iter().next() {
            Some(r) => outcome(r),
            None => Err(SendError::Permanent(format!(
                "Africa's Talking: no recipient accepted: {}",
                answer.data.message
            ))),
        }
    }
}

/// An Africa's Talking delivery report: a form with `id` (the `messageId` of the send
/// answer), `status`, `phoneNumber`, `networkCode`, `failureReason` (on failures) and
/// `retryCount`. `Success` is delivery to the phone; `Failed` and `Rejected` are definitive;
/// `Sent`, `Submitted` and `Buffered` are steps on the way (an unknown status is taken as one,
/// with a warning).
pub(super) fn delivery_report(body: &[u8]) -> Result<DeliveryReport, ReportError> {
    let fields: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body).into_owned().collect();
    let field = |name: &str| fields.get(name).map(String::as_str);
    let provider_message_id = required(field("id"), "id")?;
    let status = required(field("status"), "status")?;
    let delivery = match status.as_str() {
        "Success" => Delivery::Delivered,
        "Failed" | "Rejected" => Delivery::Failed {
            error: match required(field("failureReason"), "failureReason") {
                Ok(reason) => format!("Africa's Talking: {status} ({reason})"),
                Err(_) => format!("Africa's Talking: {status}"),
            },
        },
        "Sent" | "Submitted" | "Buffered" => Delivery::InTransit,
        other => {
            tracing::warn!(
                status = other,
                "Africa's Talking: unknown delivery status, taken as in transit"
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

    fn sms(to: &str) -> SmsMessage {
        SmsMessage {
            to: Phone::parse(to).unwrap(),
            text: "Rappel: cotisation due".into(),
        }
    }

    #[tokio::test]
    async fn status_101_is_sent_with_its_message_id() {
        let standin = StandIn::start().await;
        let sender = AfricasTalkingSms::new(standin.africastalking_config()).unwrap();
        let sent = sender.send(sms("+221771234567")).await.unwrap();
        assert!(sent.provider_message_id.unwrap().starts_with("ATXid_"));
        let got = standin.sms();
        assert_eq!(got[0].provider, "africastalking");
        assert_eq!(got[0].to, "+221771234567");
    }

    #[tokio::test]
    async fn a_wrong_key_or_a_refused_number_is_permanent_and_down_is_transient() {
        let standin = StandIn::start().await;
        let mut config = standin.africastalking_config();
        let good = AfricasTalkingSms::new(config.clone()).unwrap();
        let err = good.send(sms(crate::notify::standin::INVALID_PHONE)).await;
        assert!(matches!(err, Err(SendError::Permanent(_))), "{err:?}");
        standin.set_down(true);
        let err = good.send(sms("+221771234567")).await;
        assert!(matches!(err, Err(SendError::Transient(_))), "{err:?}");
        standin.set_down(false);
        config.api_key = "wrong".into();
        let bad = AfricasTalkingSms::new(config).unwrap();
        assert!(bad.send(sms("+221771234567")).await.is_err());
    }

    #[test]
    fn delivery_reports_map_success_failures_and_steps() {
        let read = |body: &str| delivery_report(body.as_bytes());
        let ok = read("id=ATXid_1&status=Success&phoneNumber=%2B221771234567&networkCode=60801")
            .unwrap();
        assert_eq!(ok.provider_message_id, "ATXid_1");
        assert_eq!(ok.delivery, Delivery::Delivered);
        let failed = read("id=ATXid_2&status=Failed&failureReason=UserInBlacklist&retryCount=0");
        assert_eq!(
            failed.unwrap().delivery,
            Delivery::Failed {
                error: "Africa's Talking: Failed (UserInBlacklist)".into()
            }
        );
        let rejected = read("id=ATXid_3&status=Rejected").unwrap();
        assert!(matches!(rejected.delivery, Delivery::Failed { .. }));
        for step in ["Sent", "Submitted", "Buffered", "SomethingNew"] {
            let report = read(&format!("id=ATXid_4&status={step}")).unwrap();
            assert_eq!(report.delivery, Delivery::InTransit, "{step}");
        }
        assert!(read("status=Success").is_err());
        assert!(read("id=ATXid_5").is_err());
        assert!(read("{\"id\": \"ATXid_6\"}").is_err());
    }
}
