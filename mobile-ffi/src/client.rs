//! The client behind the exported object: the database, the HTTP agent, settings and clock.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use kobiri_core::sync::MAX_BATCH;
use rusqlite::Transaction;

use crate::db::Db;
use crate::error::{Error, Result};
use crate::http::{Http, RetryPolicy};

/// Unix seconds now. Injected so that tests move time instead of sleeping.
pub(crate) type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock.
pub(crate) fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    })
}

/// Mutations pushed per round trip unless the app says otherwise.
pub(crate) const DEFAULT_BATCH_SIZE: usize = 200;

/// What the app may tune.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) batch_size: usize,
    pub(crate) retry: RetryPolicy,
    /// Send `/sync` bodies compressed with zstd (turned off if the server refuses them).
    pub(crate) compress: bool,
}

/// The phone's client: one database, one agent to one server.
pub(crate) struct Client {
    pub(crate) db: Db,
    pub(crate) http: Http,
    settings: Mutex<Settings>,
    /// One conversation with the server at a time, so a token refresh never races another.
    network: Mutex<()>,
    clock: Clock,
}

impl Client {
    pub(crate) fn open(db_path: &str, server_url: &str, clock: Clock) -> Result<Client> {
        let url = server_url.trim();
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.contains(' ') {
            return Err(Error::validation(
                "server_url",
                "adresse du serveur invalide (http:// ou https:// attendu)",
            ));
        }
        Ok(Client {
            db: Db::open(db_path)?,
            http: Http::new(url),
            settings: Mutex::new(Settings {
                batch_size: DEFAULT_BATCH_SIZE,
                retry: RetryPolicy::default(),
                compress: true,
            }),
            network: Mutex::new(()),
            clock,
        })
    }

    pub(crate) fn now(&self) -> i64 {
        (self.clock)()
    }

    pub(crate) fn settings(&self) -> Settings {
        *self.settings.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn update(&self, f: impl FnOnce(&mut Settings)) {
        f(&mut self.settings.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// Held for the whole of a login, an enrollment or a sync.
    pub(crate) fn network(&self) -> MutexGuard<'_, ()> {
        self.network.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets how many mutations one round trip pushes (1 to core's `MAX_BATCH`).
    pub(crate) fn set_batch_size(&self, size: u32) -> Result<()> {
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if !(1..=MAX_BATCH).contains(&size) {
            return Err(Error::validation(
                "batch_size",
                format!("la taille de lot doit être comprise entre 1 et {MAX_BATCH}"),
            ));
        }
        self.update(|s| s.batch_size = size);
        Ok(())
    }

    /// Sets the retry policy: `max_tries` attempts (at least 1), waits doubling from
    /// `base_delay_ms`.
    pub(crate) fn set_retry_policy(&self, max_tries: u32, base_delay_ms: u64) -> Result<()> {
        if max_tries == 0 {
            return Err(Error::validation(
                "max_tries",
                "il faut au moins une tentative",
            ));
        }
        self.update(|s| {
            s.retry = RetryPolicy {
                max_tries,
                base_delay: Duration::from_millis(base_delay_ms),
            };
        });
        Ok(())
    }

    pub(crate) fn set_compression(&self, on: bool) {
        self.update(|s| s.compress = on);
    }

    /// Runs a recording in one transaction, at the clock's time.
    pub(crate) fn record<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>, i64) -> Result<T>,
    ) -> Result<T> {
        let now = self.now();
        self.db.write(|tx| f(tx, now))
    }
}
