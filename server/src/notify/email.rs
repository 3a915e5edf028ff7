//! E-mail senders: SMTP with lettre when `SMTP_HOST` is set, the log otherwise.

use async_trait::async_trait;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart, SinglePart, header::ContentType},
    transport::smtp::authentication::Credentials,
};

use super::{EmailMessage, Mailer, SendError, SendResult, Sent};
use crate::config::{SmtpConfig, SmtpSecurity};

/// Writes each e-mail to the log instead of sending it (no `SMTP_HOST`). In production
/// (`withhold_text`) the text never reaches the log, since it may carry an account code: the
/// message fails for good and only that fact is logged.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogMailer {
    pub withhold_text: bool,
}

#[async_trait]
impl Mailer for LogMailer {
    async fn send(&self, message: EmailMessage) -> SendResult {
        if self.withhold_text {
            tracing::warn!("e-mail not sent: SMTP_HOST unset (text withheld)");
            return Err(SendError::Permanent("no SMTP server configured".into()));
        }
        tracing::info!(
            to = %message.to,
            subject = %message.subject,
            text = %message.text,
            "e-mail (development: SMTP_HOST unset, not sent)"
        );
        Ok(Sent::default())
    }
}

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    pub fn new(config: &SmtpConfig) -> anyhow::Result<Self> {
        let builder = match config.security {
            SmtpSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)?
            }
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)?,
            SmtpSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            }
        };
        let mut builder = builder.port(config.port);
        if let (Some(user), Some(pass)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
        }
        Ok(Self {
            transport: builder.build(),
            from: config.from.parse()?,
        })
    }
}

/// An SMTP failure: a 5xx answer is permanent, anything else (4xx, no connection) transient.
fn smtp_error(e: &lettre::transport::smtp::Error) -> SendError {
    if e.is_permanent() {
        SendError::Permanent(format!("SMTP: {e}"))
    } else {
        SendError::Transient(format!("SMTP: {e}"))
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message: EmailMessage) -> SendResult {
        let to: Mailbox = message
            .to
            .as_str()
            .parse()
            .map_err(|e| SendError::Permanent(format!("address: {e}")))?;
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject);
        let email = match message.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(message.text, html)),
            None => builder.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(message.text),
            ),
        }
        .map_err(|e| SendError::Permanent(e.to_string()))?;
        let response = self
            .transport
            .send(email)
            .await
            .map_err(|e| smtp_error(&e))?;
        // The server's "250 queued as …" line, as the message id where it gives one.
        let id = response.message().last().map(|line| line.trim().to_owned());
        Ok(Sent {
            provider_message_id: id.filter(|l| !l.is_empty()),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::notify::standin::StandIn;
    use kobiri_core::Email;

    #[tokio::test]
    async fn smtp_mailer_delivers_text_and_html_parts() {
        let standin = StandIn::start().await;
        let mailer = SmtpMailer::new(&standin.smtp_config()).unwrap();
        let message = EmailMessage {
            to: Email::parse("awa@example.sn").unwrap(),
            subject: "Code".into(),
            text: "Votre code est 123456".into(),
            html: Some("<p>Votre code est <b>123456</b></p>".into()),
        };
        let sent = mailer.send(message).await.unwrap();
        assert!(sent.provider_message_id.is_some());
        let mails = standin.emails();
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].rcpt_to, ["awa@example.sn"]);
        let data = &mails[0].data;
        assert!(data.contains("Subject: Code"), "{data}");
        assert!(data.contains("multipart/alternative"), "{data}");
        assert!(data.contains("text/plain"), "{data}");
        assert!(data.contains("text/html"), "{data}");
    }

    #[tokio::test]
    async fn an_smtp_server_down_is_transient() {
        let standin = StandIn::start().await;
        let mailer = SmtpMailer::new(&standin.smtp_config()).unwrap();
        standin.set_down(true);
        let message = EmailMessage {
            to: Email::parse("awa@example.sn").unwrap(),
            subject: "Code".into(),
            text: "x".into(),
            html: None,
        };
        let err = mailer.send(message).await.unwrap_err();
        assert!(matches!(err, SendError::Transient(_)), "{err}");
    }
}
