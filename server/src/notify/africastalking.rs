//! Africa's Talking SMS: a form POST to `{AFRICASTALKING_BASE_URL}/version1/messaging` with the
//! `apiKey` header; each recipient gets a `statusCode` (100 processed, 101 sent, 102 queued
//! are accepted) and a `messageId`.

use async_trait::async_trait;
use serde::Deserialize;

use super::{
    SendError, SendResult, Sent, SmsMessage, SmsSender, config::AfricasTalkingConfig, http,
};

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
}
