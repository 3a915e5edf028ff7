//! SMS senders. Real gateways (Orange SMS API, Africa's Talking) come with the outbox; in
//! development the text goes to the log.

use async_trait::async_trait;

use super::{SendError, SmsMessage, SmsSender};

/// Writes each SMS to the log instead of sending it (development).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogSms;

#[async_trait]
impl SmsSender for LogSms {
    async fn send(&self, message: SmsMessage) -> Result<(), SendError> {
        tracing::info!(to = %mask(message.to.as_str()), text = %message.text, "SMS (development: not sent)");
        Ok(())
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
