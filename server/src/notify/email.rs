//! E-mail senders: SMTP with lettre when `SMTP_HOST` is set, the log otherwise.

use async_trait::async_trait;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
    transport::smtp::authentication::Credentials,
};

use super::{EmailMessage, Mailer, SendError};
use crate::config::{SmtpConfig, SmtpSecurity};

/// Writes each e-mail to the log instead of sending it (development, no `SMTP_HOST`).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogMailer;

#[async_trait]
impl Mailer for LogMailer {
    async fn send(&self, message: EmailMessage) -> Result<(), SendError> {
        tracing::info!(
            to = %message.to,
            subject = %message.subject,
            text = %message.text,
            "e-mail (development: SMTP_HOST unset, not sent)"
        );
        Ok(())
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

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message: EmailMessage) -> Result<(), SendError> {
        let to: Mailbox = message
            .to
            .as_str()
            .parse()
            .map_err(|e| SendError(format!("{e}")))?;
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(message.text)
            .map_err(|e| SendError(e.to_string()))?;
        self.transport
            .send(email)
            .await
            .map_err(|e| SendError(e.to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kobiri_core::Email;
    use tokio::{
        io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
        net::TcpListener,
    };

    /// A minimal SMTP server: accepts one message and returns its DATA section.
    async fn smtp_sink(listener: TcpListener) -> String {
        let (stream, _) = listener.accept().await.unwrap();
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
        let mut data = String::new();
        let mut in_data = false;
        while let Some(line) = lines.next_line().await.unwrap() {
            if in_data {
                if line == "." {
                    // One message is all this sink takes; lettre's pool may keep the
                    // connection open, so stop here rather than wait for QUIT.
                    write.write_all(b"250 queued\r\n").await.unwrap();
                    break;
                } else {
                    data.push_str(&line);
                    data.push('\n');
                }
                continue;
            }
            let verb = line
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" | "HELO" => b"250-sink\r\n250 8BITMIME\r\n",
                "DATA" => {
                    in_data = true;
                    b"354 go ahead\r\n"
                }
                _ => b"250 ok\r\n",
            };
            write.write_all(reply).await.unwrap();
        }
        data
    }

    #[tokio::test]
    async fn smtp_mailer_delivers_to_an_smtp_server() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let sink = tokio::spawn(smtp_sink(listener));
        let mailer = SmtpMailer::new(&SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            username: None,
            password: None,
            from: "Kobiri <no-reply@kobiri.app>".into(),
            security: SmtpSecurity::None,
        })
        .unwrap();
        let message = EmailMessage {
            to: Email::parse("awa@example.sn").unwrap(),
            subject: "Code".into(),
            text: "Votre code est 123456".into(),
        };
        mailer.send(message).await.unwrap();
        let data = sink.await.unwrap();
        assert!(data.contains("To: awa@example.sn"), "{data}");
        assert!(data.contains("Subject: Code"), "{data}");
        assert!(data.contains("123456"), "{data}");
    }
}
