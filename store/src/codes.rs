//! One-time codes (password reset, e-mail and phone verification): stored hashed, with an
//! expiry and an attempt counter, in the same transaction as the outbox row that carries the
//! code to its owner.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Code, StoreError, TokenHash};
use kobiri_core::UserId;

#[derive(Debug, sqlx::FromRow)]
pub(super) struct CodeRow {
    id: Uuid,
    user_id: Uuid,
    code_hash: Vec<u8>,
    attempts: i32,
    expires_at: DateTime<Utc>,
}

impl TryFrom<CodeRow> for Code {
    type Error = StoreError;

    fn try_from(row: CodeRow) -> Result<Self, Self::Error> {
        let hash: [u8; 32] = row
            .code_hash
            .try_into()
            .map_err(|_| StoreError::corrupt("code hash length"))?;
        Ok(Code {
            id: row.id,
            user_id: UserId::from_uuid(row.user_id),
            hash: TokenHash(hash),
            attempts: u32::try_from(row.attempts).map_err(StoreError::corrupt)?,
            expires_at: row.expires_at,
        })
    }
}

pub(super) struct CodeQueries {
    /// Binds: user_id, purpose, now.
    pub retire: &'static str,
    /// Binds: id, user_id, purpose, code_hash, expires_at, created_at.
    pub insert: &'static str,
    /// Binds: user_id, purpose.
    pub latest: &'static str,
    /// Binds: id.
    pub fail: &'static str,
    /// Binds: id, now.
    pub consume: &'static str,
    /// Binds: id, now. Counts the code if it is unconsumed and unexpired.
    pub live: &'static str,
}

pub(super) const SHARED: CodeQueries = CodeQueries {
    retire: "UPDATE one_time_codes SET consumed_at = $3 \
        WHERE user_id = $1 AND purpose = $2 AND consumed_at IS NULL",
    insert: "INSERT INTO one_time_codes (id, user_id, purpose, code_hash, expires_at, created_at) \
        VALUES ($1, $2, $3, $4, $5, $6)",
    latest: "SELECT id, user_id, code_hash, attempts, expires_at FROM one_time_codes \
        WHERE user_id = $1 AND purpose = $2 AND consumed_at IS NULL \
        ORDER BY created_at DESC, id DESC LIMIT 1",
    fail: "UPDATE one_time_codes SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts",
    consume: "UPDATE one_time_codes SET consumed_at = $2 WHERE id = $1 AND consumed_at IS NULL",
    live: "SELECT COUNT(*) FROM one_time_codes \
        WHERE id = $1 AND consumed_at IS NULL AND expires_at > $2",
};

/// Implements `CodeStore` for an engine's store, given its code queries and its notification
/// queries (for the outbox row).
macro_rules! impl_code_store {
    ($store:ty, $q:expr, $nq:expr) => {
        #[async_trait::async_trait]
        impl $crate::CodeStore for $store {
            async fn replace_code(&self, c: &$crate::NewCode) -> $crate::StoreResult<()> {
                let mut tx = self.writer().begin().await?;
                sqlx::query($q.retire)
                    .bind(c.user_id.as_uuid())
                    .bind(c.purpose.as_str())
                    .bind(c.created_at)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query($q.insert)
                    .bind(c.id)
                    .bind(c.user_id.as_uuid())
                    .bind(c.purpose.as_str())
                    .bind(&c.hash.0[..])
                    .bind(c.expires_at)
                    .bind(c.created_at)
                    .execute(&mut *tx)
                    .await?;
                let m = &c.message;
                sqlx::query($nq.insert_outbox)
                    .bind(m.outbox_id)
                    .bind(None::<uuid::Uuid>)
                    .bind(m.channel.as_str())
                    .bind(&m.recipient)
                    .bind(m.payload.to_string())
                    .bind(c.created_at)
                    .bind(c.created_at)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn latest_code(
                &self,
                user: kobiri_core::UserId,
                purpose: $crate::CodePurpose,
            ) -> $crate::StoreResult<Option<$crate::Code>> {
                let row: Option<$crate::codes::CodeRow> = sqlx::query_as($q.latest)
                    .bind(user.as_uuid())
                    .bind(purpose.as_str())
                    .fetch_optional(self.writer())
                    .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn record_failed_attempt(&self, id: uuid::Uuid) -> $crate::StoreResult<u32> {
                let attempts: i32 = sqlx::query_scalar($q.fail)
                    .bind(id)
                    .fetch_one(self.writer())
                    .await?;
                u32::try_from(attempts).map_err($crate::StoreError::corrupt)
            }

            async fn consume_code(
                &self,
                id: uuid::Uuid,
                now: $crate::Timestamp,
            ) -> $crate::StoreResult<bool> {
                let done = sqlx::query($q.consume)
                    .bind(id)
                    .bind(now)
                    .execute(self.writer())
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn code_is_live(
                &self,
                id: uuid::Uuid,
                now: $crate::Timestamp,
            ) -> $crate::StoreResult<bool> {
                let live: i64 = sqlx::query_scalar($q.live)
                    .bind(id)
                    .bind(now)
                    .fetch_one(self.writer())
                    .await?;
                Ok(live > 0)
            }
        }
    };
}
pub(super) use impl_code_store;
