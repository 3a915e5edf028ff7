//! Invitations: adding an existing account to a tontine asks that person, who accepts or
//! refuses; and the roles one user holds beside another, for who may see whose contacts.

use chrono::{DateTime, Utc};
use kobiri_core::{TontineId, TontineRole, UserId};
use uuid::Uuid;

use super::{StoreError, Timestamp};

/// Where an invitation stands; the wire and database strings are [`InvitationStatus::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    EnAttente,
    Acceptee,
    Refusee,
}

impl InvitationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::EnAttente => "en_attente",
            InvitationStatus::Acceptee => "acceptee",
            InvitationStatus::Refusee => "refusee",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "en_attente" => Ok(InvitationStatus::EnAttente),
            "acceptee" => Ok(InvitationStatus::Acceptee),
            "refusee" => Ok(InvitationStatus::Refusee),
            other => Err(StoreError::corrupt(format!("invitation status {other}"))),
        }
    }
}

/// An invitation to be written.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub id: Uuid,
    pub tontine_id: TontineId,
    pub user_id: UserId,
    pub invited_by: UserId,
    pub role: TontineRole,
    pub order_position: Option<u32>,
    pub now: Timestamp,
}

/// An invitation, with the tontine's name and the inviter's name.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: Uuid,
    pub tontine_id: TontineId,
    pub tontine_name: String,
    pub user_id: UserId,
    pub invited_by: UserId,
    pub invited_by_name: String,
    pub role: TontineRole,
    pub order_position: Option<u32>,
    pub status: InvitationStatus,
    pub created_at: Timestamp,
    pub decided_at: Option<Timestamp>,
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct InvitationRow {
    id: Uuid,
    tontine_id: Uuid,
    tontine_name: String,
    user_id: Uuid,
    invited_by: Uuid,
    invited_by_name: String,
    role: String,
    order_position: Option<i32>,
    status: String,
    created_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
}

impl TryFrom<InvitationRow> for Invitation {
    type Error = StoreError;

    fn try_from(r: InvitationRow) -> Result<Self, StoreError> {
        Ok(Invitation {
            id: r.id,
            tontine_id: TontineId::from_uuid(r.tontine_id),
            tontine_name: r.tontine_name,
            user_id: UserId::from_uuid(r.user_id),
            invited_by: UserId::from_uuid(r.invited_by),
            invited_by_name: r.invited_by_name,
            role: r.role.parse().map_err(StoreError::corrupt)?,
            order_position: r
                .order_position
                .map(u32::try_from)
                .transpose()
                .map_err(StoreError::corrupt)?,
            status: InvitationStatus::parse(&r.status)?,
            created_at: r.created_at,
            decided_at: r.decided_at,
        })
    }
}

macro_rules! invitation_select {
    () => {
        "SELECT i.id, i.tontine_id, t.name AS tontine_name, i.user_id, i.invited_by, \
         u.first_name || ' ' || u.last_name AS invited_by_name, i.role, i.order_position, \
         i.status, i.created_at, i.decided_at \
         FROM invitations i JOIN tontines t ON t.id = i.tontine_id \
         JOIN users u ON u.id = i.invited_by "
    };
}

/// Binds: id, tontine_id, user_id, invited_by, role, order_position, status, created_at.
pub(super) const INSERT: &str = "INSERT INTO invitations \
    (id, tontine_id, user_id, invited_by, role, order_position, status, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
/// Binds: id.
pub(super) const BY_ID: &str = concat!(invitation_select!(), "WHERE i.id = $1");
/// Binds: user_id, status. Newest first, at most 100.
pub(super) const OF_USER: &str = concat!(
    invitation_select!(),
    "WHERE i.user_id = $1 AND i.status = $2 ORDER BY i.created_at DESC, i.id LIMIT 100"
);
/// Binds: id, new status, now, pending status. Decides a pending invitation only.
pub(super) const DECIDE: &str =
    "UPDATE invitations SET status = $2, decided_at = $3 WHERE id = $1 AND status = $4";
/// Binds: viewer, target. The viewer's roles in the tontines where both are active members.
pub(super) const ROLES_BESIDE: &str = "SELECT a.role FROM members a \
    JOIN members b ON a.tontine_id = b.tontine_id \
    WHERE a.user_id = $1 AND b.user_id = $2 AND a.is_active AND b.is_active";

/// Implements `InvitationStore` for an engine's store (the queries are the same on both).
macro_rules! impl_invitation_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::InvitationStore for $store {
            async fn insert_invitation(
                &self,
                i: &$crate::NewInvitation,
            ) -> $crate::StoreResult<()> {
                sqlx::query($crate::invitations::INSERT)
                    .bind(i.id)
                    .bind(i.tontine_id.as_uuid())
                    .bind(i.user_id.as_uuid())
                    .bind(i.invited_by.as_uuid())
                    .bind(i.role.as_str())
                    .bind(i.order_position.and_then(|p| i32::try_from(p).ok()))
                    .bind($crate::InvitationStatus::EnAttente.as_str())
                    .bind(i.now)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn invitation_by_id(
                &self,
                id: uuid::Uuid,
            ) -> $crate::StoreResult<Option<$crate::Invitation>> {
                let row: Option<$crate::invitations::InvitationRow> =
                    sqlx::query_as($crate::invitations::BY_ID)
                        .bind(id)
                        .fetch_optional(self.writer())
                        .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn invitations_of(
                &self,
                user: kobiri_core::UserId,
                status: $crate::InvitationStatus,
            ) -> $crate::StoreResult<Vec<$crate::Invitation>> {
                let rows: Vec<$crate::invitations::InvitationRow> =
                    sqlx::query_as($crate::invitations::OF_USER)
                        .bind(user.as_uuid())
                        .bind(status.as_str())
                        .fetch_all(self.reader())
                        .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn decide_invitation(
                &self,
                id: uuid::Uuid,
                status: $crate::InvitationStatus,
                now: $crate::Timestamp,
            ) -> $crate::StoreResult<bool> {
                let done = sqlx::query($crate::invitations::DECIDE)
                    .bind(id)
                    .bind(status.as_str())
                    .bind(now)
                    .bind($crate::InvitationStatus::EnAttente.as_str())
                    .execute(self.writer())
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn roles_beside(
                &self,
                viewer: kobiri_core::UserId,
                target: kobiri_core::UserId,
            ) -> $crate::StoreResult<Vec<kobiri_core::TontineRole>> {
                let roles: Vec<String> = sqlx::query_scalar($crate::invitations::ROLES_BESIDE)
                    .bind(viewer.as_uuid())
                    .bind(target.as_uuid())
                    .fetch_all(self.reader())
                    .await?;
                roles
                    .iter()
                    .map(|r| r.parse().map_err($crate::StoreError::corrupt))
                    .collect()
            }
        }
    };
}
pub(super) use impl_invitation_store;
