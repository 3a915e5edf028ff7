//! The development SMS sender (the log), and the masking of numbers in logs. The gateways
//! are `orange_sms` and `africastalking`.

use async_trait::async_trait;

use super::{SendResult, Sent, SmsMessage, SmsSender};

/// Writes each SMS to the log instead of sending it (development).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogSms;

#[async_trait]
impl SmsSender for LogSms {
    async fn send(&self, message: SmsMessage) -> SendResult {
        tracing::info!(to = %mask(message.to.as_str()), text = %message.text, "SMS (development: not sent)");
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
