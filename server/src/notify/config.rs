//! Configuration of the senders and of the outbox worker, read with the rest of the
//! configuration (`crate::config`). With nothing set, SMS and push go to the log, e-mail too
//! (without `SMTP_HOST`), and the worker runs every few seconds.

use std::{path::PathBuf, str::FromStr, time::Duration};

use crate::{
    config::{ConfigError, Vars},
    mobile_money::Secret,
};

/// Which SMS gateway `SMS_PROVIDER` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsProvider {
    /// Write SMS to the log (development).
    Log,
    Orange(OrangeConfig),
    AfricasTalking(AfricasTalkingConfig),
}

/// Orange SMS API: OAuth client credentials, then one request per SMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrangeConfig {
    pub base_url: String,
    pub oauth_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// The sender number, digits with the country code, no `+`.
    pub sender: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfricasTalkingConfig {
    pub base_url: String,
    pub username: String,
    pub api_key: String,
    /// A short code or alphanumeric sender id; the account's default when `None`.
    pub sender: Option<String>,
}

/// FCM HTTP v1: on when `FCM_SERVICE_ACCOUNT_FILE` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FcmConfig {
    pub base_url: String,
    /// Overrides the key file's `token_uri`.
    pub token_url: Option<String>,
    /// Overrides the key file's `project_id`.
    pub project_id: Option<String>,
    pub service_account_file: PathBuf,
}

/// The outbox worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxConfig {
    /// Tries before a row becomes a dead letter (`echouee`).
    pub max_attempts: u32,
    /// Time between passes; zero turns the in-process worker off (tests run passes
    /// themselves).
    pub interval: Duration,
    /// The wait after the first failure; doubled after each further one, up to
    /// `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    pub sms: SmsProvider,
    pub fcm: Option<FcmConfig>,
    pub outbox: OutboxConfig,
    /// `SMS_DELIVERY_REPORT_TOKEN`: the secret the gateways' delivery reports must carry in
    /// their URL (`?token=`); unset, the delivery-report routes answer 404.
    pub delivery_report_token: Option<Secret>,
}

/// The shortest delivery-report token accepted: it is the only thing that authenticates a
/// report.
const MIN_REPORT_TOKEN_CHARS: usize = 16;

/// `SMS_PROVIDER` before its settings are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProviderName {
    Log,
    Orange,
    AfricasTalking,
}

impl FromStr for ProviderName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "log" => Ok(Self::Log),
            "orange" => Ok(Self::Orange),
            "africastalking" | "africas_talking" => Ok(Self::AfricasTalking),
            other => Err(format!(
                "expected log, orange or africastalking, got {other}"
            )),
        }
    }
}

fn required(v: &Vars, name: &'static str, provider: &str) -> Result<String, ConfigError> {
    v.get(name)
        .map(str::to_owned)
        .ok_or_else(|| ConfigError::Invalid {
            name,
            value: String::new(),
            reason: format!("required when SMS_PROVIDER={provider}"),
        })
}

impl NotifyConfig {
    pub(crate) fn from_vars(v: &Vars) -> Result<Self, ConfigError> {
        let sms = match v.parse("SMS_PROVIDER", ProviderName::Log)? {
            ProviderName::Log => SmsProvider::Log,
            ProviderName::Orange => SmsProvider::Orange(OrangeConfig {
                base_url: v.string("ORANGE_SMS_BASE_URL", "https://api.orange.com"),
                oauth_url: v.string("ORANGE_OAUTH_URL", "https://api.orange.com"),
                client_id: required(v, "ORANGE_SMS_CLIENT_ID", "orange")?,
                client_secret: required(v, "ORANGE_SMS_CLIENT_SECRET", "orange")?,
                sender: required(v, "ORANGE_SMS_SENDER", "orange")?
                    .trim_start_matches('+')
                    .to_owned(),
            }),
            ProviderName::AfricasTalking => SmsProvider::AfricasTalking(AfricasTalkingConfig {
                base_url: v.string("AFRICASTALKING_BASE_URL", "https://api.africastalking.com"),
                username: required(v, "AFRICASTALKING_USERNAME", "africastalking")?,
                api_key: required(v, "AFRICASTALKING_API_KEY", "africastalking")?,
                sender: v.get("AFRICASTALKING_SENDER").map(str::to_owned),
            }),
        };
        let fcm = v.get("FCM_SERVICE_ACCOUNT_FILE").map(|file| FcmConfig {
            base_url: v.string("FCM_BASE_URL", "https://fcm.googleapis.com"),
            token_url: v.get("FCM_TOKEN_URL").map(str::to_owned),
            project_id: v.get("FCM_PROJECT_ID").map(str::to_owned),
            service_account_file: PathBuf::from(file),
        });
        let max_attempts: u32 = v.parse("OUTBOX_MAX_ATTEMPTS", 8)?;
        let delivery_report_token = match v.get("SMS_DELIVERY_REPORT_TOKEN") {
            Some(token) if token.trim().chars().count() < MIN_REPORT_TOKEN_CHARS => {
                return Err(ConfigError::Invalid {
                    name: "SMS_DELIVERY_REPORT_TOKEN",
                    value: "***".into(),
                    reason: format!("at least {MIN_REPORT_TOKEN_CHARS} characters"),
                });
            }
            token => token.map(|t| Secret::new(t.trim())),
        };
        Ok(Self {
            sms,
            fcm,
            delivery_report_token,
            outbox: OutboxConfig {
                max_attempts: max_attempts.max(1),
                interval: Duration::from_secs(v.parse("OUTBOX_INTERVAL_SECONDS", 5)?),
                base_backoff: Duration::from_secs(v.parse("OUTBOX_BACKOFF_BASE_SECONDS", 30)?),
                max_backoff: Duration::from_secs(v.parse("OUTBOX_BACKOFF_MAX_SECONDS", 3600)?),
            },
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::config::Config;

    use super::*;

    /// `pairs` and a `SECRET_KEY` (so that no key file is written).
    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let key = ("SECRET_KEY", "a-real-secret-of-more-than-thirty-two-chars");
        Config::from_vars(
            pairs
                .iter()
                .chain([&key])
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
    }

    #[test]
    fn defaults_log_sms_no_push_and_eight_attempts() {
        let notify = config(&[]).unwrap().notify;
        assert_eq!(notify.sms, SmsProvider::Log);
        assert!(notify.fcm.is_none());
        assert_eq!(notify.outbox.max_attempts, 8);
        assert_eq!(notify.outbox.interval, Duration::from_secs(5));
    }

    #[test]
    fn orange_needs_its_credentials_and_drops_the_plus_of_the_sender() {
        let err = config(&[("SMS_PROVIDER", "orange")]).unwrap_err();
        assert!(err.to_string().starts_with("ORANGE_SMS_CLIENT_ID"), "{err}");
        let notify = config(&[
            ("SMS_PROVIDER", "orange"),
            ("ORANGE_SMS_CLIENT_ID", "id"),
            ("ORANGE_SMS_CLIENT_SECRET", "secret"),
            ("ORANGE_SMS_SENDER", "+2210000"),
        ])
        .unwrap()
        .notify;
        let SmsProvider::Orange(orange) = notify.sms else {
            panic!("orange expected");
        };
        assert_eq!(orange.sender, "2210000");
        assert_eq!(orange.base_url, "https://api.orange.com");
    }

    #[test]
    fn a_delivery_report_token_is_optional_but_not_short() {
        assert!(config(&[]).unwrap().notify.delivery_report_token.is_none());
        let err = config(&[("SMS_DELIVERY_REPORT_TOKEN", "short")]).unwrap_err();
        assert!(
            err.to_string().starts_with("SMS_DELIVERY_REPORT_TOKEN"),
            "{err}"
        );
        assert!(
            !err.to_string().contains("short"),
            "the value is not echoed"
        );
        let notify = config(&[("SMS_DELIVERY_REPORT_TOKEN", "a-long-enough-token")])
            .unwrap()
            .notify;
        let token = notify.delivery_report_token.unwrap();
        assert_eq!(token.expose(), "a-long-enough-token");
    }

    #[test]
    fn an_unknown_provider_names_the_variable() {
        let err = config(&[("SMS_PROVIDER", "twilio")]).unwrap_err();
        assert!(err.to_string().starts_with("SMS_PROVIDER"), "{err}");
    }
}
