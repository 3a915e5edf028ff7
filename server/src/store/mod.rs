//! The storage boundary: domain operations on PostgreSQL or SQLite.
//!
//! Handlers see only the [`Store`] trait. Each aggregate has a trait of its operations
//! (`UserStore`, `TokenStore`, `CodeStore`), its SQL once per engine in
//! `postgres/<aggregate>.rs` and `sqlite/<aggregate>.rs`, and the Rust that binds parameters and
//! maps rows once, in `<aggregate>.rs`, expanded for both engines. An operation that changes
//! several rows runs in one transaction that it owns.

mod codes;
mod decimal;
mod error;
mod members;
mod models;
pub mod postgres;
pub mod sqlite;
mod tokens;
mod tontines;
mod users;

use std::sync::Arc;

use async_trait::async_trait;

pub use decimal::DbDecimal;
pub use error::{StoreError, StoreResult};
pub use members::{AddMember, Member, MemberPatch, NewMember};
pub use models::*;
pub use tontines::{NewTontine, Tontine, TontineFilter, TontinePatch};

/// Every operation the server needs from its database.
pub trait Store:
    UserStore + TokenStore + CodeStore + TontineStore + HealthStore + Send + Sync + 'static
{
}

impl<T> Store for T where
    T: UserStore + TokenStore + CodeStore + TontineStore + HealthStore + Send + Sync + 'static
{
}

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Postgres,
    Sqlite,
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Sqlite => "sqlite",
        }
    }
}

/// Connection-pool figures for `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

#[async_trait]
pub trait HealthStore {
    fn engine(&self) -> Engine;
    /// Round trip to the database.
    async fn ping(&self) -> StoreResult<()>;
    fn pool_stats(&self) -> PoolStats;
}

#[async_trait]
pub trait UserStore {
    async fn insert_user(&self, user: &NewUser) -> StoreResult<User>;
    /// Gives a password-less user (a member added by phone) their credentials and profile.
    /// Returns `None` when the user has meanwhile got a password.
    async fn claim_user(&self, id: UserId, user: &NewUser) -> StoreResult<Option<User>>;
    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>>;
    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>>;
    async fn user_by_phone(&self, phone: &Phone) -> StoreResult<Option<User>>;
    async fn list_users(&self, search: Option<&str>, page: PageRequest) -> StoreResult<Page<User>>;
    async fn update_user(&self, id: UserId, patch: &UserPatch, now: Timestamp)
    -> StoreResult<User>;
    /// Sets a new password hash and revokes every refresh token of the user, atomically.
    async fn set_password(&self, id: UserId, hash: &str, now: Timestamp) -> StoreResult<()>;
    async fn record_login(&self, id: UserId, now: Timestamp) -> StoreResult<()>;
    /// Deactivates the user and revokes every refresh token, atomically.
    async fn deactivate_user(&self, id: UserId, now: Timestamp) -> StoreResult<User>;
    async fn mark_verified(
        &self,
        id: UserId,
        channel: VerifyChannel,
        now: Timestamp,
    ) -> StoreResult<User>;
}

#[async_trait]
pub trait TokenStore {
    async fn insert_refresh_token(&self, token: &NewRefreshToken) -> StoreResult<()>;
    async fn refresh_token_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<RefreshToken>>;
    /// Marks `old` used and stores `new` in its family, in one transaction. Returns
    /// `Rotation::AlreadyUsed` when `old` was used or revoked meanwhile (a race or a re-use).
    async fn rotate_refresh_token(
        &self,
        old_id: uuid::Uuid,
        new: &NewRefreshToken,
        now: Timestamp,
    ) -> StoreResult<Rotation>;
    async fn revoke_family(&self, family: TokenFamilyId, now: Timestamp) -> StoreResult<u64>;
}

#[async_trait]
pub trait CodeStore {
    /// Stores a new code and retires every earlier live code of that user and purpose.
    async fn replace_code(&self, code: &NewCode) -> StoreResult<()>;
    /// The user's latest unconsumed code for `purpose`, expired or not.
    async fn latest_code(&self, user: UserId, purpose: CodePurpose) -> StoreResult<Option<Code>>;
    /// Counts one failed attempt and returns the new count.
    async fn record_failed_attempt(&self, id: uuid::Uuid) -> StoreResult<u32>;
    /// Consumes the code; `false` if it was consumed meanwhile.
    async fn consume_code(&self, id: uuid::Uuid, now: Timestamp) -> StoreResult<bool>;
}

#[async_trait]
pub trait TontineStore {
    /// Creates the tontine and makes its creator a member (the president), atomically.
    async fn create_tontine(&self, t: &NewTontine, president: &NewMember) -> StoreResult<Tontine>;
    async fn tontine_by_id(&self, id: kobiri_core::TontineId) -> StoreResult<Option<Tontine>>;
    async fn tontine_by_code(
        &self,
        code: &kobiri_core::TontineCode,
    ) -> StoreResult<Option<Tontine>>;
    async fn list_tontines(
        &self,
        filter: TontineFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Tontine>>;
    async fn update_tontine(
        &self,
        id: kobiri_core::TontineId,
        patch: &TontinePatch,
        now: Timestamp,
    ) -> StoreResult<Tontine>;
    /// The user's membership (active or former) of the tontine.
    async fn member_of(
        &self,
        tontine: kobiri_core::TontineId,
        user: UserId,
    ) -> StoreResult<Option<Member>>;
    async fn member_by_id(
        &self,
        tontine: kobiri_core::TontineId,
        member: kobiri_core::MemberId,
    ) -> StoreResult<Option<Member>>;
    async fn list_members(&self, tontine: kobiri_core::TontineId) -> StoreResult<Vec<Member>>;
    /// Adds (or re-activates) a member unless the tontine is full or they already belong,
    /// counting active members under a lock.
    async fn add_member(&self, member: &NewMember) -> StoreResult<AddMember>;
    async fn update_member(
        &self,
        member: kobiri_core::MemberId,
        patch: &MemberPatch,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Marks the member as gone; `false` when they are the last president and others remain.
    async fn leave_tontine(&self, member: &Member, now: Timestamp) -> StoreResult<bool>;
}

/// Opens the store named by a database URL (`postgres://…` or `sqlite://…`) and runs its
/// migrations.
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = postgres::PgStore::connect(url, max_connections).await?;
        store.migrate().await?;
        Ok(Arc::new(store))
    } else if url.starts_with("sqlite:") {
        let store = sqlite::SqliteStore::connect(url, max_connections).await?;
        store.migrate().await?;
        Ok(Arc::new(store))
    } else {
        anyhow::bail!("DATABASE_URL must start with postgres://, postgresql:// or sqlite:")
    }
}
