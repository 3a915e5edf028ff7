//! The SMS sender without a gateway (the log), and the masking of numbers in logs. The gateways
//! are `orange_sms` and `africastalking`.

use async_trait::async_trait;

use super::{SendError, SendResult, Sent, SmsMessage, SmsSender};

/// Writes each SMS to the log instead of sending it, when no gateway is configured. In
/// production (`withhold_text`) the text never reaches the log, since it may carry an account
/// code: the message fails for good (it was not sent) and only that fact is logged.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogSms {
    pub withhold_text: bool,
}

#[async_trait]
impl SmsSender for LogSms {
    async fn send(&self, message: SmsMessage) -> SendResult {
        let to = mask(message.to.as_str());
        if self.withhold_text {
            tracing::warn!(%to, "SMS not sent: no SMS gateway configured (text withheld)");
            return Err(SendError::Permanent("no SMS gateway configured".into()));
        }
        tracing::info!(%to, text = %message.text, "SMS (development: not sent)");
        Ok(Sent::default())
    }
}

/// Keeps the last three digits of a phone number, for logs.
pub(crate) fn mask(phone: &str) -> String {
    let keep = phone.len().saturating_sub(3);
    phone
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i < keep && c.is_ascii_digit() {
                '*'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn masking_keeps_only_the_last_three_digits() {
        assert_eq!(super::mask("+221771234567"), "+*********567");
    }
}
