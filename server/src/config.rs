// Over 400 lines on purpose: every setting read in one place, next to its default and its check.
//! Configuration read from the environment (and from `.env` when present).
//!
//! Every variable has a default that lets the server run on a fresh machine with no
//! configuration; `.env.example` lists them all. There is no built-in secret (see
//! `secret_key`), and production refuses to start without the settings it must be given:
//! `SECRET_KEY` and `CORS_ORIGINS`.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    str::FromStr,
    time::Duration,
};

use jsonwebtoken::Algorithm;

use crate::{client_ip::TrustedProxies, secret::Secret, secret_key::KeySource};
/// Registrations a minute per client address when `RATE_LIMIT_REGISTER_PER_IP` is unset.
pub const DEFAULT_REGISTER_PER_IP: u32 = 20;
/// The database used when `DATABASE_URL` is unset: a file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://kobiri.db";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name}: invalid value {value:?} ({reason})")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
    #[error(
        "SECRET_KEY (or SECRET_KEY_FILE) must give a key of at least 32 characters in production"
    )]
    WeakSecretInProduction,
    #[error("secret key file {path}: {reason}")]
    KeyFile { path: PathBuf, reason: String },
    #[error("CORS_ORIGINS must be set in production (a comma-separated list of origins, or *)")]
    CorsOriginsRequired,
    #[error("mobile money: {0}")]
    MobileMoney(#[from] crate::mobile_money::ConfigError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Test,
    Production,
}

impl Environment {
    pub fn is_production(self) -> bool {
        self == Environment::Production
    }
}

impl FromStr for Environment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "development" | "dev" => Ok(Self::Development),
            "test" | "testing" => Ok(Self::Test),
            "production" | "prod" => Ok(Self::Production),
            other => Err(format!("unknown environment {other}")),
        }
    }
}

/// SMTP settings; e-mail goes out over SMTP only when `SMTP_HOST` is set.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: String,
    /// `starttls` (default), `tls` (implicit TLS) or `none` (plain, for local relays and tests).
    pub security: SmtpSecurity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    StartTls,
    Tls,
    None,
}

impl FromStr for SmtpSecurity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "starttls" => Ok(Self::StartTls),
            "tls" | "ssl" => Ok(Self::Tls),
            "none" | "plain" => Ok(Self::None),
            other => Err(format!("expected starttls, tls or none, got {other}")),
        }
    }
}

/// Limits of the auth endpoints (see `auth::rate_limit`).
#[derive(Debug, Clone, Copy)]
pub struct RateLimitConfig {
    /// Failed logins a minute per client address (successes do not count).
    pub login_failures_per_ip: u32,
    /// Failed logins in a row an account identifier may make before its first lockout.
    pub login_failures_per_account: u32,
    /// The first lockout; each further failure doubles it.
    pub login_lockout: Duration,
    /// The longest lockout.
    pub login_lockout_max: Duration,
    /// Registrations a minute per client address.
    pub register_per_ip: u32,
    pub forgot_per_ip: u32,
    pub forgot_per_account: u32,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub app_name: String,
    pub environment: Environment,
    pub debug: bool,
    pub host: IpAddr,
    pub port: u16,
    pub database_url: String,
    pub database_max_connections: u32,
    pub secret_key: String,
    /// Where `secret_key` came from (for the start-up log).
    pub secret_key_source: KeySource,
    pub algorithm: Algorithm,
    pub access_token_expire: Duration,
    pub refresh_token_expire: Duration,
    /// Lifetime of an enrolled device's refresh token (rotated on use, revocable per device).
    pub device_refresh_token_expire: Duration,
    pub log_dir: PathBuf,
    pub log_level: String,
    pub cors_origins: Vec<String>,
    /// Proxies whose `Forwarded` / `X-Forwarded-For` give the client's address.
    pub trusted_proxies: TrustedProxies,
    /// With it, `/metrics` needs `Authorization: Bearer <token>`.
    pub metrics_token: Option<Secret>,
    /// With it, `/metrics` is served on this address only, not on the API's.
    pub metrics_addr: Option<SocketAddr>,
    pub smtp: Option<SmtpConfig>,
    pub request_timeout: Duration,
    pub max_body_bytes: usize,
    pub rate_limits: RateLimitConfig,
    /// How long an authenticated read may reuse the caller's account and tontine standing
    /// (see `cache.rs`); zero disables the cache.
    pub read_cache_ttl: Duration,
    /// Concurrent argon2 computations; defaults to the number of cores.
    pub password_hash_concurrency: usize,
    /// How often the in-process job runner schedules and runs jobs (reminders, late
    /// penalties); zero turns it off.
    pub jobs_interval: Duration,
    /// SMS gateway, push, and the outbox worker (see `notify::config`).
    pub notify: crate::notify::config::NotifyConfig,
    /// Mobile-money providers (see `mobile_money::config` for the variables).
    pub mobile_money: crate::mobile_money::MobileMoneyConfig,
    /// The address providers reach this server at: callback URLs are
    /// `{public_base_url}/api/v1/payments/callback/{segment}`. Default
    /// `http://localhost:{PORT}`.
    pub public_base_url: String,
    /// A mobile-money payment or payout still unconfirmed after this long fails.
    pub mobile_money_timeout: Duration,
    /// Payouts above this amount wait for a second manager (`PAYOUT_APPROVAL_THRESHOLD`).
    pub payout_approval_threshold: PayoutThreshold,
    /// Variables that were set but are no longer read, each with what replaced it (warned
    /// about at start, so a deployment does not silently lose its setting).
    pub retired_vars: Vec<(&'static str, &'static str)>,
}

/// Variables earlier versions read, and what replaced them.
const RETIRED_VARS: [(&str, &str); 2] = [
    (
        "RATE_LIMIT_LOGIN_PER_IP",
        "RATE_LIMIT_LOGIN_FAILURES_PER_IP (failed logins only)",
    ),
    (
        "RATE_LIMIT_LOGIN_PER_ACCOUNT",
        "RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT (failed logins only)",
    ),
];

/// `PAYOUT_APPROVAL_THRESHOLD`: comma-separated entries, each `<amount>` (every currency) or
/// `<CUR>:<amount>` (that currency, overriding the bare entry); `off` for no threshold.
/// Default `500000`: above 500,000 units of the tontine's currency a payout needs a second
/// manager.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PayoutThreshold {
    default: Option<rust_decimal::Decimal>,
    per_currency: Vec<(String, rust_decimal::Decimal)>,
}

impl PayoutThreshold {
    /// The threshold for a tontine in `currency` (`None`: no threshold).
    pub fn for_currency(&self, currency: kobiri_core::Currency) -> Option<kobiri_core::Amount> {
        let code = currency.to_string();
        let value = self
            .per_currency
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, v)| *v)
            .or(self.default)?;
        kobiri_core::Amount::new(value, currency).ok()
    }
}

impl FromStr for PayoutThreshold {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut threshold = PayoutThreshold::default();
        if s.trim().eq_ignore_ascii_case("off") {
            return Ok(threshold);
        }
        for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let amount = |raw: &str| {
                raw.trim()
                    .parse::<rust_decimal::Decimal>()
                    .ok()
                    .filter(|d| !d.is_sign_negative())
                    .ok_or_else(|| format!("{raw:?} is not a non-negative amount"))
            };
            match entry.split_once(':') {
                Some((currency, raw)) => {
                    let currency =
                        kobiri_core::Currency::parse(currency.trim()).map_err(|e| e.to_string())?;
                    threshold
                        .per_currency
                        .push((currency.to_string(), amount(raw)?));
                }
                None => threshold.default = Some(amount(entry)?),
            }
        }
        Ok(threshold)
    }
}

/// Reads variables from a map, so tests can build a configuration without touching the
/// process environment.
pub(crate) struct Vars(HashMap<String, String>);

impl Vars {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    pub(crate) fn string(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or(default).to_owned()
    }

    pub(crate) fn parse<T>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|e: T::Err| ConfigError::Invalid {
                    name,
                    value: raw.to_owned(),
                    reason: e.to_string(),
                }),
        }
    }
}

impl Config {
    /// Loads `.env` when present, then reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        // A missing .env is the normal case; a malformed one is reported by the parse below
        // only through the variables it did set.
        let _ = dotenvy::dotenv();
        Self::from_vars(std::env::vars())
    }

    // Long on purpose: reads every setting once, in one place, in the order of .env.example, so a
    // newcomer finds each variable next to its default.
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let v = Vars(vars.into_iter().collect());
        let environment = v.parse("ENVIRONMENT", Environment::Development)?;
        let database_url = v.string("DATABASE_URL", DEFAULT_DATABASE_URL);
        let (secret_key, secret_key_source) = crate::secret_key::resolve(
            v.get("SECRET_KEY"),
            v.get("SECRET_KEY_FILE"),
            environment,
            &database_url,
        )?;
        let cors_origins: Vec<String> = match v.get("CORS_ORIGINS") {
            None if environment.is_production() => return Err(ConfigError::CorsOriginsRequired),
            raw => raw.unwrap_or("*"),
        }
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
        let algorithm = match v.string("ALGORITHM", "HS256").to_ascii_uppercase().as_str() {
            "HS256" => Algorithm::HS256,
            "HS384" => Algorithm::HS384,
            "HS512" => Algorithm::HS512,
            other => {
                return Err(ConfigError::Invalid {
                    name: "ALGORITHM",
                    value: other.to_owned(),
                    reason: "only HS256, HS384 and HS512 are supported".into(),
                });
            }
        };
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let smtp = match v.get("SMTP_HOST") {
            None => None,
            Some(host) => Some(SmtpConfig {
                host: host.to_owned(),
                port: v.parse("SMTP_PORT", 587)?,
                username: v.get("SMTP_USERNAME").map(str::to_owned),
                password: v.get("SMTP_PASSWORD").map(str::to_owned),
                from: v.string("SMTP_FROM", "Kobiri <no-reply@kobiri.app>"),
                security: v.parse("SMTP_SECURITY", SmtpSecurity::StartTls)?,
            }),
        };
        Ok(Self {
            app_name: v.string("APP_NAME", "Kobiri"),
            environment,
            debug: v.parse("DEBUG", false)?,
            host: v.parse("HOST", IpAddr::from([0, 0, 0, 0]))?,
            port: v.parse("PORT", 8000)?,
            retired_vars: RETIRED_VARS
                .into_iter()
                .filter(|(name, _)| v.get(name).is_some())
                .collect(),
            database_url,
            database_max_connections: v.parse("DATABASE_MAX_CONNECTIONS", 16)?,
            secret_key,
            secret_key_source,
            algorithm,
            access_token_expire: minutes(v.parse("ACCESS_TOKEN_EXPIRE_MINUTES", 30)?),
            refresh_token_expire: days(v.parse("REFRESH_TOKEN_EXPIRE_DAYS", 7)?),
            device_refresh_token_expire: days(v.parse("DEVICE_REFRESH_TOKEN_EXPIRE_DAYS", 60)?),
            log_dir: PathBuf::from(v.string("LOG_DIR", "logs")),
            log_level: v.string("LOG_LEVEL", "info"),
            cors_origins,
            trusted_proxies: v.parse("TRUSTED_PROXIES", TrustedProxies::default())?,
            metrics_token: v.get("METRICS_TOKEN").map(Secret::new),
            metrics_addr: v
                .get("METRICS_ADDR")
                .map(|raw| {
                    raw.trim()
                        .parse()
                        .map_err(|e: std::net::AddrParseError| ConfigError::Invalid {
                            name: "METRICS_ADDR",
                            value: raw.to_owned(),
                            reason: e.to_string(),
                        })
                })
                .transpose()?,
            smtp,
            request_timeout: Duration::from_secs(v.parse("REQUEST_TIMEOUT_SECONDS", 30)?),
            max_body_bytes: v.parse("MAX_BODY_BYTES", 2 * 1024 * 1024)?,
            rate_limits: RateLimitConfig {
                login_failures_per_ip: v.parse("RATE_LIMIT_LOGIN_FAILURES_PER_IP", 100)?,
                login_failures_per_account: v.parse("RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT", 5)?,
                login_lockout: Duration::from_secs(
                    v.parse("RATE_LIMIT_LOGIN_LOCKOUT_SECONDS", 30)?,
                ),
                login_lockout_max: Duration::from_secs(
                    v.parse("RATE_LIMIT_LOGIN_LOCKOUT_MAX_SECONDS", 900)?,
                ),
                register_per_ip: v.parse("RATE_LIMIT_REGISTER_PER_IP", DEFAULT_REGISTER_PER_IP)?,
                forgot_per_ip: v.parse("RATE_LIMIT_FORGOT_PER_IP", 10)?,
                forgot_per_account: v.parse("RATE_LIMIT_FORGOT_PER_ACCOUNT", 3)?,
            },
            read_cache_ttl: Duration::from_millis(v.parse("READ_CACHE_TTL_MS", 1000)?),
            password_hash_concurrency: v.parse("PASSWORD_HASH_CONCURRENCY", cores)?.max(1),
            jobs_interval: Duration::from_secs(v.parse("JOBS_INTERVAL_SECONDS", 60)?),
            notify: crate::notify::config::NotifyConfig::from_vars(&v)?,
            mobile_money: crate::mobile_money::MobileMoneyConfig::from_vars(|name| {
                v.get(name).map(str::to_owned)
            })?,
            public_base_url: v
                .get("PUBLIC_BASE_URL")
                .map_or_else(
                    || {
                        format!(
                            "http://localhost:{}",
                            v.get("PORT").unwrap_or("8000").trim()
                        )
                    },
                    str::to_owned,
                )
                .trim_end_matches('/')
                .to_owned(),
            mobile_money_timeout: minutes(v.parse("MOBILE_MONEY_PAYMENT_TIMEOUT_MINUTES", 30)?),
            payout_approval_threshold: v.parse(
                "PAYOUT_APPROVAL_THRESHOLD",
                PayoutThreshold {
                    default: Some(rust_decimal::Decimal::from(500_000)),
                    per_currency: Vec::new(),
                },
            )?,
        })
    }

    /// Whether the API's own listener serves `/metrics`: not when `METRICS_ADDR` moves it
    /// elsewhere, and in production only behind `METRICS_TOKEN`.
    pub fn metrics_on_api(&self) -> bool {
        self.metrics_addr.is_none()
            && (self.metrics_token.is_some() || !self.environment.is_production())
    }

    /// What the operator must hear at start-up, logged at WARN by `serve`.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let KeySource::File {
            path,
            created: true,
        } = &self.secret_key_source
        {
            out.push(format!(
                "SECRET_KEY unset: generated a random key in {} (mode 0600); keep that file, \
                 tokens and pending codes die with it",
                path.display()
            ));
        }
        for (name, replacement) in &self.retired_vars {
            out.push(format!(
                "{name} is no longer read: set {replacement} instead"
            ));
        }
        if !self.environment.is_production() {
            return out;
        }
        if self.cors_origins.iter().any(|o| o == "*") {
            out.push(
                "CORS_ORIGINS=*: any web origin may call the API with a user's token; \
                 list the origins of your web apps"
                    .to_owned(),
            );
        }
        if self.metrics_addr.is_none() && self.metrics_token.is_none() {
            out.push("/metrics is off: set METRICS_TOKEN or METRICS_ADDR to serve it".to_owned());
        }
        if matches!(self.notify.sms, crate::notify::config::SmsProvider::Log) {
            out.push(
                "SMS_PROVIDER=log in production: SMS (account codes included) are not sent, \
                 and their text is never logged"
                    .to_owned(),
            );
        }
        if self.smtp.is_none() {
            out.push(
                "SMTP_HOST unset in production: e-mails (account codes included) are not sent, \
                 and their text is never logged"
                    .to_owned(),
            );
        }
        out
    }

    /// A configuration for tests and tools: defaults, then the given overrides, and a random
    /// secret key of its own (no key file).
    pub fn for_tests(database_url: &str) -> Self {
        let secret = crate::auth::tokens::random_token();
        let vars = [
            ("SECRET_KEY", secret.as_str()),
            ("DATABASE_URL", database_url),
            ("ENVIRONMENT", "test"),
            ("DATABASE_MAX_CONNECTIONS", "8"),
            // Tests run job passes themselves, with their clock.
            ("JOBS_INTERVAL_SECONDS", "0"),
            // … and outbox passes too.
            ("OUTBOX_INTERVAL_SECONDS", "0"),
            // Tests register far more accounts from 127.0.0.1 than a person; the tests of
            // that limit set it back to its default.
            ("RATE_LIMIT_REGISTER_PER_IP", "100000"),
        ];
        match Self::from_vars(vars.map(|(k, v)| (k.to_owned(), v.to_owned()))) {
            Ok(config) => config,
            Err(e) => unreachable!("the test configuration is valid: {e}"),
        }
    }
}

fn minutes(n: u64) -> Duration {
    Duration::from_secs(n.saturating_mul(60))
}

fn days(n: u64) -> Duration {
    Duration::from_secs(n.saturating_mul(86_400))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "a-real-secret-of-more-than-thirty-two-chars";

    /// `pairs`, with a `SECRET_KEY` unless they name one (no key file is written).
    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        if !pairs.iter().any(|(k, _)| k.starts_with("SECRET_KEY")) {
            all.push(("SECRET_KEY".to_owned(), KEY.to_owned()));
        }
        all
    }

    fn production(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut all = vec![
            ("ENVIRONMENT", "production"),
            ("CORS_ORIGINS", "https://app.kobiri.sn"),
        ];
        all.extend_from_slice(pairs);
        Config::from_vars(vars(&all))
    }

    #[test]
    fn defaults_run_on_embedded_sqlite_on_port_8000() {
        let config = Config::from_vars(vars(&[])).unwrap();
        assert!(config.metrics_on_api());
        assert!(config.trusted_proxies.is_empty());
        assert_eq!(config.rate_limits.login_failures_per_ip, 100);
        assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(config.port, 8000);
        assert_eq!(config.environment, Environment::Development);
        assert_eq!(config.access_token_expire, Duration::from_secs(1800));
        assert!(config.smtp.is_none());
    }

    #[test]
    fn production_refuses_a_missing_or_short_secret() {
        let err = Config::from_vars(vars(&[
            ("ENVIRONMENT", "production"),
            ("CORS_ORIGINS", "https://app.kobiri.sn"),
            ("SECRET_KEY", ""),
        ]))
        .unwrap_err();
        assert!(matches!(err, ConfigError::WeakSecretInProduction), "{err}");
        let short = production(&[("SECRET_KEY", "x")]).unwrap_err();
        assert!(
            matches!(short, ConfigError::WeakSecretInProduction),
            "{short}"
        );
        assert!(production(&[]).is_ok());
    }

    #[test]
    fn a_retired_variable_is_warned_about_with_its_replacement() {
        let config = Config::from_vars(vars(&[("RATE_LIMIT_LOGIN_PER_IP", "30")])).unwrap();
        let warnings = config.warnings();
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("RATE_LIMIT_LOGIN_PER_IP")
                    && w.contains("RATE_LIMIT_LOGIN_FAILURES_PER_IP")),
            "{warnings:?}"
        );
        let quiet = Config::from_vars(vars(&[])).unwrap();
        assert!(
            quiet
                .warnings()
                .iter()
                .all(|w| !w.contains("no longer read")),
            "{:?}",
            quiet.warnings()
        );
    }

    #[test]
    fn production_needs_explicit_cors_origins_and_warns_on_any() {
        let err = Config::from_vars(vars(&[("ENVIRONMENT", "production")])).unwrap_err();
        assert!(matches!(err, ConfigError::CorsOriginsRequired), "{err}");
        let any = production(&[("CORS_ORIGINS", "*")]).unwrap();
        assert!(
            any.warnings()
                .iter()
                .any(|w| w.starts_with("CORS_ORIGINS=*"))
        );
        let listed = production(&[]).unwrap();
        assert_eq!(listed.cors_origins, ["https://app.kobiri.sn"]);
        assert!(!listed.warnings().iter().any(|w| w.contains("CORS")));
        // Development keeps `*` by default, without a warning.
        let dev = Config::from_vars(vars(&[])).unwrap();
        assert_eq!(dev.cors_origins, ["*"]);
        assert!(dev.warnings().is_empty(), "{:?}", dev.warnings());
    }

    #[test]
    fn production_serves_metrics_only_behind_a_token_or_apart() {
        let bare = production(&[]).unwrap();
        assert!(!bare.metrics_on_api());
        assert!(bare.warnings().iter().any(|w| w.contains("METRICS_TOKEN")));
        let token = production(&[("METRICS_TOKEN", "scrape-me-please-0123456789")]).unwrap();
        assert!(token.metrics_on_api());
        let apart = production(&[("METRICS_ADDR", "127.0.0.1:9100")]).unwrap();
        assert!(!apart.metrics_on_api());
        assert_eq!(apart.metrics_addr, Some("127.0.0.1:9100".parse().unwrap()));
        let err = production(&[("METRICS_ADDR", "nowhere")]).unwrap_err();
        assert!(err.to_string().starts_with("METRICS_ADDR"), "{err}");
    }

    #[test]
    fn trusted_proxies_are_parsed_and_named_when_wrong() {
        let config = Config::from_vars(vars(&[("TRUSTED_PROXIES", "10.0.0.0/8, ::1")])).unwrap();
        assert!(!config.trusted_proxies.is_empty());
        let err = Config::from_vars(vars(&[("TRUSTED_PROXIES", "10.0.0.0/40")])).unwrap_err();
        assert!(err.to_string().starts_with("TRUSTED_PROXIES"), "{err}");
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = Config::from_vars(vars(&[("PORT", "eighty")])).unwrap_err();
        assert!(err.to_string().starts_with("PORT"), "{err}");
        let err = Config::from_vars(vars(&[("ALGORITHM", "RS256")])).unwrap_err();
        assert!(err.to_string().starts_with("ALGORITHM"), "{err}");
    }

    #[test]
    fn smtp_is_configured_only_with_a_host() {
        let config =
            Config::from_vars(vars(&[("SMTP_HOST", "mail.local"), ("SMTP_PORT", "2525")])).unwrap();
        let smtp = config.smtp.unwrap();
        assert_eq!(smtp.port, 2525);
        assert_eq!(smtp.security, SmtpSecurity::StartTls);
    }

    #[test]
    fn the_payout_approval_threshold_is_per_currency_with_a_default() {
        use kobiri_core::Currency;
        let config = Config::from_vars(vars(&[])).unwrap();
        let xof = Currency::parse("XOF").unwrap();
        let eur = Currency::parse("EUR").unwrap();
        let t = config.payout_approval_threshold;
        assert_eq!(t.for_currency(xof).unwrap().to_wire_string(), "500000");
        let t: PayoutThreshold = "100000, EUR:750".parse().unwrap();
        assert_eq!(t.for_currency(xof).unwrap().to_wire_string(), "100000");
        assert_eq!(t.for_currency(eur).unwrap().to_wire_string(), "750.00");
        let off: PayoutThreshold = "off".parse().unwrap();
        assert!(off.for_currency(xof).is_none());
        assert!("EUR:-1".parse::<PayoutThreshold>().is_err());
        assert!(Config::from_vars(vars(&[("PAYOUT_APPROVAL_THRESHOLD", "lots")])).is_err());
    }

    #[test]
    fn mobile_money_reads_its_variables_and_defaults() {
        let config = Config::from_vars(vars(&[])).unwrap();
        assert_eq!(config.public_base_url, "http://localhost:8000");
        assert_eq!(config.mobile_money_timeout, Duration::from_secs(1800));
        assert!(config.mobile_money.wave.is_none());
        let config = Config::from_vars(vars(&[
            ("PUBLIC_BASE_URL", "https://kobiri.example/"),
            ("MOBILE_MONEY_PAYMENT_TIMEOUT_MINUTES", "10"),
            ("WAVE_API_KEY", "wave_sn_prod_x"),
            ("WAVE_WEBHOOK_SECRET", "wave_sn_WHS_x"),
        ]))
        .unwrap();
        assert_eq!(config.public_base_url, "https://kobiri.example");
        assert_eq!(config.mobile_money_timeout, Duration::from_secs(600));
        assert!(config.mobile_money.wave.is_some());
        let partial = Config::from_vars(vars(&[("WAVE_API_KEY", "wave_sn_prod_x")])).unwrap_err();
        assert!(
            partial.to_string().contains("WAVE_WEBHOOK_SECRET"),
            "{partial}"
        );
    }
}
