//! The PostgreSQL store (production).

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions};

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

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await?;
        Ok(Self { pool })
    }

    pub async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    /// A list of ids bound as one parameter (`= ANY($1)`).
    fn id_list(ids: &[uuid::Uuid]) -> Vec<uuid::Uuid> {
        ids.to_vec()
    }

    /// A list of texts bound as one parameter (`= ANY($1)`).
    fn text_list(texts: &[String]) -> Vec<String> {
        texts.to_vec()
    }
}

#[async_trait]
impl HealthStore for PgStore {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }
    }
}

impl_user_store!(PgStore, users::SHARED);
impl_token_store!(PgStore, tokens::SHARED);
super::invitations::impl_invitation_store!(PgStore);
impl_code_store!(PgStore, codes::SHARED, notifications::POSTGRES);
impl_tontine_store!(PgStore, tontines::SHARED, MEMBERS);
members::impl_member_store!(PgStore, MEMBERS);
impl_session_store!(PgStore, SESSIONS, audit::POSTGRES, notifications::POSTGRES);
audit::impl_audit_store!(PgStore, audit::POSTGRES);
notifications::impl_notification_store!(PgStore, notifications::POSTGRES);
super::outbox::impl_outbox_store!(PgStore, super::outbox::POSTGRES);
super::jobs::impl_job_store!(
    PgStore,
    super::jobs::POSTGRES,
    audit::POSTGRES,
    notifications::POSTGRES
);
impl_payment_store!(PgStore, PAYMENTS, audit::POSTGRES, notifications::POSTGRES);
super::passages::impl_passage_store!(
    PgStore,
    super::passages::POSTGRES,
    audit::POSTGRES,
    notifications::POSTGRES,
    super::payouts::SHARED
);
super::payouts::impl_payout_store!(PgStore, super::payouts::SHARED, audit::POSTGRES);

/// Session numbers are assigned under a lock on the tontine row.
const SESSIONS: sessions::SessionQueries = sessions::SessionQueries {
    lock_numbers: "SELECT (SELECT COALESCE(MAX(s.session_number), 0) FROM sessions s \
        WHERE s.tontine_id = t.id) FROM tontines t WHERE t.id = $1 FOR UPDATE",
    ..sessions::SHARED
};

/// Amounts are read and rewritten under row locks, so concurrent validations add up.
const PAYMENTS: payments::PaymentQueries = payments::PaymentQueries {
    insert_with_audit: Some(
        "WITH paid AS (INSERT INTO payments (id, tontine_id, session_id, member_id, user_id, \
         amount, currency, method, status, operator_transaction_id, phone_number, proof_url, \
         proof_description, penalty_amount, is_late, recorded_by_id, device_id, notes, \
         initiated_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, $19, $19) RETURNING id) \
         INSERT INTO audit_log (id, tontine_id, actor_id, action, entity, entity_id, before, \
         after, source, device_id, created_at) \
         SELECT $20, $21, $22, $23, $24, $25, $26::jsonb, $27::jsonb, $28, $29, $30 FROM paid",
    ),
    session_collected: "SELECT collected_amount FROM sessions WHERE id = $1 FOR UPDATE",
    member_total: "SELECT total_contributions FROM members WHERE id = $1 FOR UPDATE",
    by_ids: payments::BY_IDS_POSTGRES,
    ..payments::SHARED
};

/// Member operations lock the tontine row while they count its members.
const MEMBERS: members::MemberQueries = members::MemberQueries {
    max_members: "SELECT max_members FROM tontines WHERE id = $1 FOR UPDATE",
    ..members::SHARED
};
super::sync::impl_sync_store!(
    PgStore,
    super::sync::POSTGRES,
    MEMBERS,
    super::passages::POSTGRES,
    users::SHARED,
    audit::POSTGRES,
    super::jobs::POSTGRES,
    PAYMENTS
);
super::mobile_money::impl_mobile_money_store!(
    PgStore,
    PAYMENTS,
    super::mobile_money::POSTGRES,
    super::passages::POSTGRES,
    audit::POSTGRES,
    notifications::POSTGRES,
    super::payouts::SHARED
);
