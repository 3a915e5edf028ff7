//! The application state shared by every handler.

use std::sync::Arc;

use crate::{
    auth::{
        codes::CodeService, password::PasswordHasher, rate_limit::RateLimits, tokens::TokenService,
    },
    clock::{SharedClock, SystemClock},
    config::Config,
    metrics::Metrics,
    mobile_money::{MobileMoney, Registry},
    notify::{
        AfricasTalkingSms, FcmPush, LogMailer, LogPush, LogSms, Mailer, OrangeSms, OutboxWorker,
        PushSender, Senders, SmsSender, SmtpMailer, config::SmsProvider,
    },
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
    /// Sends the outbox: the SMS sender, the mailer, and push (FCM when configured).
    pub outbox: OutboxWorker,
    /// Wakes this process's outbox worker before its next tick (see [`AppState::wake_outbox`]).
    pub outbox_wake: Arc<tokio::sync::Notify>,
    /// Wakes this process's job runner before its next tick (see [`AppState::wake_jobs`]).
    pub jobs_wake: Arc<tokio::sync::Notify>,
    pub metrics: Metrics,
    /// The mobile-money flow: its adapters and what it shares with the rest.
    pub mobile_money: MobileMoney,
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
    /// The production wiring: system clock, SMTP when configured (the log otherwise), the SMS
    /// gateway `SMS_PROVIDER` names (the log by default; in production the log senders write
    /// no text, so no account code reaches a log).
    pub fn from_config(config: Config, store: Arc<dyn Store>) -> anyhow::Result<Self> {
        let mailer: Arc<dyn Mailer> = match &config.smtp {
            Some(smtp) => Arc::new(SmtpMailer::new(smtp)?),
            None => Arc::new(LogMailer {
                withhold_text: config.environment.is_production(),
            }),
        };
        let mobile_money = Registry::from_config(&config.mobile_money)?;
        Ok(Self {
            store,
            clock: Arc::new(SystemClock),
            mailer,
            sms: sms_sender(&config.notify.sms, config.environment.is_production())?,
            mobile_money,
            config,
        })
    }
}

/// `withhold_text`: production, where no code may reach the log.
fn sms_sender(provider: &SmsProvider, withhold_text: bool) -> anyhow::Result<Arc<dyn SmsSender>> {
    Ok(match provider {
        SmsProvider::Log => Arc::new(LogSms { withhold_text }),
        SmsProvider::Orange(c) => Arc::new(OrangeSms::new(c.clone())?),
        SmsProvider::AfricasTalking(c) => Arc::new(AfricasTalkingSms::new(c.clone())?),
    })
}

/// FCM when `FCM_SERVICE_ACCOUNT_FILE` is set (its key file must be readable), the log
/// otherwise.
fn push_sender(config: &Config) -> anyhow::Result<Arc<dyn PushSender>> {
    Ok(match &config.notify.fcm {
        Some(fcm) => Arc::new(FcmPush::from_config(fcm)?),
        None => Arc::new(LogPush),
    })
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
        let outbox = OutboxWorker {
            senders: Senders {
                sms: sms.clone(),
                mailer: mailer.clone(),
                push: push_sender(&config)?,
            },
            config: config.notify.outbox.clone(),
            app_name: config.app_name.clone(),
        };
        let cache = crate::cache::ReadCache::new(config.read_cache_ttl);
        let mobile_money = MobileMoney {
            store: store.clone(),
            clock: clock.clone(),
            providers: mobile_money,
            cache: cache.clone(),
            public_base_url: config.public_base_url.clone(),
            timeout: config.mobile_money_timeout,
        };
        Ok(Self(Arc::new(Inner {
            cache,
            sync_digests: crate::sync::DigestCache::default(),
            hasher: PasswordHasher::new(config.password_hash_concurrency)?,
            tokens: TokenService::new(&config),
            codes: CodeService::new(&config.secret_key),
            limits: RateLimits::new(&config.rate_limits),
            metrics: Metrics::new(),
            config,
            store,
            clock,
            outbox,
            outbox_wake: Arc::default(),
            jobs_wake: Arc::default(),
            mobile_money,
        })))
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Asks this process's outbox worker for a pass now, for a message that must not wait for
    /// the next `OUTBOX_INTERVAL_SECONDS` tick (an account code). A wake during a pass runs
    /// another pass right after it; with the worker off (interval zero) nothing happens.
    pub fn wake_outbox(&self) {
        self.outbox_wake.notify_one();
    }

    /// Asks this process's job runner for a pass now, for a job queued to run at once (the
    /// receipts of a sync batch). Like [`AppState::wake_outbox`], a no-op with the runner off.
    pub fn wake_jobs(&self) {
        self.jobs_wake.notify_one();
    }
}
