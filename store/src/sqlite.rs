//! The embedded SQLite store (the default). WAL mode; one writer connection so writes are
//! serialised instead of failing with `SQLITE_BUSY`, and a pool of readers.

use std::{str::FromStr, time::Duration};

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::{
    Engine, HealthStore, PoolStats, StoreResult, audit,
    codes::{self, impl_code_store},
    members, notifications,
    payments::{self, impl_payment_store},
    sessions::{self, impl_session_store},
    tokens::{self, impl_token_store},
    tontines::{self, impl_tontine_store},
    users::{self, impl_user_store},
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

#[derive(Debug, Clone)]
pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file named by `url` (`sqlite://kobiri.db`,
    /// `sqlite:///abs/path.db`, or `sqlite::memory:`).
    pub async fn connect(url: &str, max_readers: u32) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(max_readers.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self { reader, writer })
    }

    pub async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.writer).await?;
        Ok(())
    }

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// A list of ids bound as one parameter: a JSON array, read with `json_each`.
    fn id_list(ids: &[uuid::Uuid]) -> String {
        serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned())
    }

    /// A list of texts bound as one parameter: a JSON array, read with `json_each`.
    fn text_list(texts: &[String]) -> String {
        serde_json::to_string(texts).unwrap_or_else(|_| "[]".to_owned())
    }
}

#[async_trait]
impl HealthStore for SqliteStore {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    fn pool_stats(&self) -> PoolStats {
        let size = self.reader.size() + self.writer.size();
        let idle = self.reader.num_idle() + self.writer.num_idle();
        PoolStats {
            size,
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
            max: self.reader.options().get_max_connections() + 1,
        }
    }
}

impl_user_store!(SqliteStore, users::SHARED);
impl_token_store!(SqliteStore, tokens::SHARED);
super::invitations::impl_invitation_store!(SqliteStore);
impl_code_store!(SqliteStore, codes::SHARED, notifications::SQLITE);
// One writer connection serialises the member counts; no row lock needed.
impl_tontine_store!(SqliteStore, tontines::SHARED, members::SHARED);
members::impl_member_store!(SqliteStore, members::SHARED);
impl_session_store!(
    SqliteStore,
    sessions::SHARED,
    audit::SQLITE,
    notifications::SQLITE
);
audit::impl_audit_store!(SqliteStore, audit::SQLITE);
notifications::impl_notification_store!(SqliteStore, notifications::SQLITE);
super::outbox::impl_outbox_store!(SqliteStore, super::outbox::SQLITE);
super::jobs::impl_job_store!(
    SqliteStore,
    super::jobs::SQLITE,
    audit::SQLITE,
    notifications::SQLITE
);
impl_payment_store!(
    SqliteStore,
    payments::SHARED,
    audit::SQLITE,
    notifications::SQLITE
);
super::passages::impl_passage_store!(
    SqliteStore,
    super::passages::SHARED,
    audit::SQLITE,
    notifications::SQLITE,
    super::payouts::SHARED
);
super::payouts::impl_payout_store!(SqliteStore, super::payouts::SHARED, audit::SQLITE);
super::sync::impl_sync_store!(
    SqliteStore,
    super::sync::SHARED,
    members::SHARED,
    super::passages::SHARED,
    users::SHARED,
    audit::SQLITE,
    super::jobs::SQLITE,
    payments::SHARED
);
super::mobile_money::impl_mobile_money_store!(
    SqliteStore,
    payments::SHARED,
    super::mobile_money::SHARED,
    super::passages::SHARED,
    audit::SQLITE,
    notifications::SQLITE,
    super::payouts::SHARED
);
