//! The application state shared by every handler.

use std::sync::Arc;

use crate::{
    auth::{
        codes::CodeService, password::PasswordHasher, rate_limit::RateLimits, tokens::TokenService,
    },
    clock::{SharedClock, SystemClock},
    config::Config,
    metrics::Metrics,
    mobile_money::Registry,
    notify::{LogMailer, LogSms, Mailer, SmsSender, SmtpMailer},
    store::{Store, Timestamp},
};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub cache: crate::cache::ReadCache,
    /// Payment digests per sync scope, for checksums.
    pub sync_digests: crate::sync::DigestCache,
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub clock: SharedClock,
    pub hasher: PasswordHasher,
    pub tokens: TokenService,
    pub codes: CodeService,
    pub limits: RateLimits,
    pub mailer: Arc<dyn Mailer>,
    pub sms: Arc<dyn SmsSender>,
    pub metrics: Metrics,
    /// The configured mobile-money adapters.
    pub mobile_money: Registry,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// What a state is built from; tests swap the clock and the senders.
pub struct Parts {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub clock: SharedClock,
    pub mailer: Arc<dyn Mailer>,
    pub sms: Arc<dyn SmsSender>,
    /// Mobile-money adapters; tests point them at stand-ins.
    pub mobile_money: Registry,
}

impl Parts {
    /// The production wiring: system clock, SMTP when configured (the log otherwise), SMS to
    /// the log.
    pub fn from_config(config: Config, store: Arc<dyn Store>) -> anyhow::Result<Self> {
        let mailer: Arc<dyn Mailer> = match &config.smtp {
            Some(smtp) => Arc::new(SmtpMailer::new(smtp)?),
            None => Arc::new(LogMailer),
        };
        let mobile_money = Registry::from_config(&config.mobile_money)?;
        Ok(Self {
            config,
            store,
            clock: Arc::new(SystemClock),
            mailer,
            sms: Arc::new(LogSms),
            mobile_money,
        })
    }
}

impl AppState {
    pub fn new(parts: Parts) -> anyhow::Result<Self> {
        let Parts {
            config,
            store,
            clock,
            mailer,
            sms,
            mobile_money,
        } = parts;
        Ok(Self(Arc::new(Inner {
            cache: crate::cache::ReadCache::new(config.read_cache_ttl),
            sync_digests: crate::sync::DigestCache::default(),
            hasher: PasswordHasher::new(config.password_hash_concurrency)?,
            tokens: TokenService::new(&config),
            codes: CodeService::new(&config.secret_key),
            limits: RateLimits::new(&config.rate_limits),
            metrics: Metrics::new(),
            config,
            store,
            clock,
            mailer,
            sms,
            mobile_money,
        })))
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }
}
