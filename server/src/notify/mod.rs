//! Messages that leave the process: e-mail and SMS, behind small traits so development logs
//! them, production sends them, and tests read them.

mod email;
pub mod plan;
mod sms;

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use kobiri_core::{Email, Phone};

pub use email::{LogMailer, SmtpMailer};
pub use sms::LogSms;

#[derive(Debug, thiserror::Error)]
#[error("message not sent: {0}")]
pub struct SendError(pub String);

/// An e-mail in French: a subject and a plain-text body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailMessage {
    pub to: Email,
    pub subject: String,
    pub text: String,
}

#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, message: EmailMessage) -> Result<(), SendError>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsMessage {
    pub to: Phone,
    pub text: String,
}

#[async_trait]
pub trait SmsSender: Send + Sync + 'static {
    async fn send(&self, message: SmsMessage) -> Result<(), SendError>;
}

/// Keeps every message in memory: for tests, and for tools that want to read what went out.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    emails: Arc<Mutex<Vec<EmailMessage>>>,
    sms: Arc<Mutex<Vec<SmsMessage>>>,
}

impl Recorder {
    pub fn emails(&self) -> Vec<EmailMessage> {
        self.emails
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn sms(&self) -> Vec<SmsMessage> {
        self.sms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl Mailer for Recorder {
    async fn send(&self, message: EmailMessage) -> Result<(), SendError> {
        self.emails
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(message);
        Ok(())
    }
}

#[async_trait]
impl SmsSender for Recorder {
    async fn send(&self, message: SmsMessage) -> Result<(), SendError> {
        self.sms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(message);
        Ok(())
    }
}

/// The French texts of the account messages.
pub mod templates {
    use super::{EmailMessage, SmsMessage};
    use kobiri_core::{Email, Phone};

    pub fn reset_email(to: Email, app: &str, code: &str) -> EmailMessage {
        EmailMessage {
            to,
            subject: format!("{app} : réinitialisation de votre mot de passe"),
            text: format!(
                "Bonjour,\n\nVotre code de réinitialisation {app} est : {code}\n\
                 Il est valable 15 minutes. Si vous n'avez rien demandé, ignorez ce message.\n"
            ),
        }
    }

    pub fn verify_email(to: Email, app: &str, code: &str) -> EmailMessage {
        EmailMessage {
            to,
            subject: format!("{app} : vérification de votre adresse e-mail"),
            text: format!(
                "Bonjour,\n\nVotre code de vérification {app} est : {code}\n\
                 Il est valable 15 minutes.\n"
            ),
        }
    }

    /// SMS texts stay within GSM-7 (no accents) so they fit one 160-character segment.
    pub fn reset_sms(to: Phone, app: &str, code: &str) -> SmsMessage {
        SmsMessage {
            to,
            text: format!("{app}: votre code de reinitialisation est {code} (15 min)."),
        }
    }

    pub fn verify_sms(to: Phone, app: &str, code: &str) -> SmsMessage {
        SmsMessage {
            to,
            text: format!("{app}: votre code de verification est {code} (15 min)."),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn sms_texts_fit_one_gsm7_segment() {
            let phone = Phone::parse("+221771234567").unwrap();
            for sms in [
                reset_sms(phone.clone(), "Kobiri", "123456"),
                verify_sms(phone, "Kobiri", "123456"),
            ] {
                assert!(sms.text.is_ascii(), "{}", sms.text);
                assert!(sms.text.len() <= 160);
                assert!(sms.text.contains("123456"));
            }
        }
    }
}
