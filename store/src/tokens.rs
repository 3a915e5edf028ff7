//! Refresh tokens: stored hashed, grouped in families, rotated on use.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{RefreshToken, StoreError};
use kobiri_core::{TokenFamilyId, UserId};

#[derive(Debug, sqlx::FromRow)]
pub(super) struct RefreshTokenRow {
    id: Uuid,
    user_id: Uuid,
    family_id: Uuid,
    device_id: Option<Uuid>,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<RefreshTokenRow> for RefreshToken {
    type Error = StoreError;

    fn try_from(row: RefreshTokenRow) -> Result<Self, Self::Error> {
        Ok(RefreshToken {
            id: row.id,
            user_id: UserId::from_uuid(row.user_id),
            family_id: TokenFamilyId::from_uuid(row.family_id),
            device_id: row.device_id,
            issued_at: row.issued_at,
            expires_at: row.expires_at,
            used_at: row.used_at,
            revoked_at: row.revoked_at,
        })
    }
}

pub(super) struct TokenQueries {
    /// Binds: id, user_id, family_id, token_hash, device_id, issued_at, expires_at.
    pub insert: &'static str,
    /// Binds: token_hash.
    pub by_hash: &'static str,
    /// Binds: id, now. Marks a live token used.
    pub mark_used: &'static str,
    /// Binds: family_id, now.
    pub revoke_family: &'static str,
    /// Binds: family_id. The owner of a family that still has a token not revoked.
    pub session_owner: &'static str,
}

pub(super) const SHARED: TokenQueries = TokenQueries {
    insert: "INSERT INTO refresh_tokens \
        (id, user_id, family_id, token_hash, device_id, issued_at, expires_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7)",
    by_hash: "SELECT id, user_id, family_id, device_id, issued_at, expires_at, used_at, \
        revoked_at FROM refresh_tokens WHERE token_hash = $1",
    mark_used: "UPDATE refresh_tokens SET used_at = $2 \
        WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL",
    revoke_family: "UPDATE refresh_tokens SET revoked_at = $2 \
        WHERE family_id = $1 AND revoked_at IS NULL",
    session_owner: "SELECT user_id FROM refresh_tokens \
        WHERE family_id = $1 AND revoked_at IS NULL LIMIT 1",
};

macro_rules! impl_token_store {
    ($store:ty, $q:expr) => {
        #[async_trait::async_trait]
        impl $crate::TokenStore for $store {
            async fn insert_refresh_token(
                &self,
                t: &$crate::NewRefreshToken,
            ) -> $crate::StoreResult<()> {
                sqlx::query($q.insert)
                    .bind(t.id)
                    .bind(t.user_id.as_uuid())
                    .bind(t.family_id.as_uuid())
                    .bind(&t.hash.0[..])
                    .bind(t.device_id)
                    .bind(t.issued_at)
                    .bind(t.expires_at)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn refresh_token_by_hash(
                &self,
                hash: &$crate::TokenHash,
            ) -> $crate::StoreResult<Option<$crate::RefreshToken>> {
                let row: Option<$crate::tokens::RefreshTokenRow> = sqlx::query_as($q.by_hash)
                    .bind(&hash.0[..])
                    .fetch_optional(self.reader())
                    .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn rotate_refresh_token(
                &self,
                old_id: uuid::Uuid,
                t: &$crate::NewRefreshToken,
                now: $crate::Timestamp,
            ) -> $crate::StoreResult<$crate::Rotation> {
                let mut tx = self.writer().begin().await?;
                let marked = sqlx::query($q.mark_used)
                    .bind(old_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                if marked.rows_affected() == 0 {
                    return Ok($crate::Rotation::AlreadyUsed);
                }
                sqlx::query($q.insert)
                    .bind(t.id)
                    .bind(t.user_id.as_uuid())
                    .bind(t.family_id.as_uuid())
                    .bind(&t.hash.0[..])
                    .bind(t.device_id)
                    .bind(t.issued_at)
                    .bind(t.expires_at)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok($crate::Rotation::Rotated)
            }

            async fn revoke_family(
                &self,
                family: kobiri_core::TokenFamilyId,
                now: $crate::Timestamp,
            ) -> $crate::StoreResult<u64> {
                let done = sqlx::query($q.revoke_family)
                    .bind(family.as_uuid())
                    .bind(now)
                    .execute(self.writer())
                    .await?;
                Ok(done.rows_affected())
            }

            async fn session_owner(
                &self,
                family: kobiri_core::TokenFamilyId,
            ) -> $crate::StoreResult<Option<kobiri_core::UserId>> {
                let owner: Option<uuid::Uuid> = sqlx::query_scalar($q.session_owner)
                    .bind(family.as_uuid())
                    .fetch_optional(self.reader())
                    .await?;
                Ok(owner.map(kobiri_core::UserId::from_uuid))
            }
        }
    };
}
pub(super) use impl_token_store;
