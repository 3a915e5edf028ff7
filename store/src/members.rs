//! Members of a tontine, with the user fields the contract shows beside them.

use chrono::{DateTime, Utc};
use kobiri_core::{Amount, Currency, MemberId, Phone, TontineId, TontineRole, UserId};
use uuid::Uuid;

use super::{DbDecimal, StoreError, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: MemberId,
    pub tontine_id: TontineId,
    pub user_id: UserId,
    pub role: TontineRole,
    pub order_position: Option<u32>,
    pub is_active: bool,
    pub joined_at: Timestamp,
    pub left_at: Option<Timestamp>,
    pub total_contributions: Amount,
    pub total_received: Amount,
    pub missed_payments: u32,
    pub user_email: Option<String>,
    pub user_name: String,
    pub first_name: String,
    pub last_name: String,
    pub user_phone: Phone,
}

#[derive(Debug, Clone)]
pub struct NewMember {
    pub id: MemberId,
    pub tontine_id: TontineId,
    pub user_id: UserId,
    pub role: TontineRole,
    pub order_position: Option<u32>,
    pub now: Timestamp,
}

#[derive(Debug, Clone, Default)]
pub struct MemberPatch {
    pub role: Option<TontineRole>,
    pub order_position: Option<u32>,
    pub is_active: Option<bool>,
}

/// Why a member could not be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddMember {
    Added,
    Full,
    AlreadyMember,
    /// A former member comes back: the row is reactivated.
    Rejoined,
    /// The invitation it answers was no longer pending (accepted or refused meanwhile).
    InvitationAnswered,
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct MemberRow {
    id: Uuid,
    tontine_id: Uuid,
    user_id: Uuid,
    role: String,
    order_position: Option<i32>,
    is_active: bool,
    joined_at: DateTime<Utc>,
    left_at: Option<DateTime<Utc>>,
    total_contributions: DbDecimal,
    total_received: DbDecimal,
    missed_payments: i32,
    currency: String,
    user_email: Option<String>,
    first_name: String,
    last_name: String,
    user_phone: String,
}

impl TryFrom<MemberRow> for Member {
    type Error = StoreError;

    fn try_from(r: MemberRow) -> Result<Self, StoreError> {
        let currency = Currency::parse(&r.currency).map_err(StoreError::corrupt)?;
        Ok(Member {
            id: MemberId::from_uuid(r.id),
            tontine_id: TontineId::from_uuid(r.tontine_id),
            user_id: UserId::from_uuid(r.user_id),
            role: r.role.parse().map_err(StoreError::corrupt)?,
            order_position: r
                .order_position
                .map(u32::try_from)
                .transpose()
                .map_err(StoreError::corrupt)?,
            is_active: r.is_active,
            joined_at: r.joined_at,
            left_at: r.left_at,
            total_contributions: Amount::new(r.total_contributions.0, currency)
                .map_err(StoreError::corrupt)?,
            total_received: Amount::new(r.total_received.0, currency)
                .map_err(StoreError::corrupt)?,
            missed_payments: u32::try_from(r.missed_payments).map_err(StoreError::corrupt)?,
            user_email: r.user_email,
            user_name: format!("{} {}", r.first_name, r.last_name),
            first_name: r.first_name,
            last_name: r.last_name,
            user_phone: Phone::parse(&r.user_phone).map_err(StoreError::corrupt)?,
        })
    }
}

macro_rules! member_select {
    () => {
        "SELECT m.id, m.tontine_id, m.user_id, m.role, m.order_position, m.is_active, \
         m.joined_at, m.left_at, m.total_contributions, m.total_received, m.missed_payments, \
         t.currency, u.email AS user_email, u.first_name, u.last_name, u.phone AS user_phone \
         FROM members m JOIN users u ON u.id = m.user_id JOIN tontines t ON t.id = m.tontine_id "
    };
}

pub(super) struct MemberQueries {
    /// Binds: id, tontine_id, user_id, role, order_position, now.
    pub insert: &'static str,
    /// Binds: tontine_id, user_id.
    pub by_user: &'static str,
    /// Binds: tontine_id, member id.
    pub by_id: &'static str,
    /// Binds: tontine_id.
    pub list: &'static str,
    /// Binds: tontine_id. Active members.
    pub count_active: &'static str,
    /// Binds: tontine_id.
    pub max_members: &'static str,
    /// Binds: member id, role, now.
    pub reactivate: &'static str,
    /// Binds: member id, role, order_position, is_active, now.
    pub update: &'static str,
    /// Binds: member id, now.
    pub leave: &'static str,
    /// Binds: user a, user b. Whether they share a tontine (as active members).
    pub share: &'static str,
    /// Binds: tontine_id, the president role. Active presidents.
    pub count_presidents: &'static str,
}

pub(super) const SHARED: MemberQueries = MemberQueries {
    insert: "INSERT INTO members (id, tontine_id, user_id, role, order_position, joined_at) \
        VALUES ($1, $2, $3, $4, $5, $6)",
    by_user: concat!(
        member_select!(),
        "WHERE m.tontine_id = $1 AND m.user_id = $2"
    ),
    by_id: concat!(member_select!(), "WHERE m.tontine_id = $1 AND m.id = $2"),
    list: concat!(
        member_select!(),
        "WHERE m.tontine_id = $1 ORDER BY m.is_active DESC, m.order_position, m.joined_at, m.id"
    ),
    count_active: "SELECT COUNT(*) FROM members WHERE tontine_id = $1 AND is_active",
    max_members: "SELECT max_members FROM tontines WHERE id = $1",
    reactivate: "UPDATE members SET is_active = true, left_at = NULL, role = $2, joined_at = $3 \
        WHERE id = $1",
    update: "UPDATE members SET role = COALESCE($2, role), \
        order_position = COALESCE($3, order_position), is_active = COALESCE($4, is_active), \
        left_at = CASE WHEN $4 = false THEN $5 WHEN $4 = true THEN NULL ELSE left_at END \
        WHERE id = $1",
    leave: "UPDATE members SET is_active = false, left_at = $2 WHERE id = $1",
    share: "SELECT EXISTS (SELECT 1 FROM members a JOIN members b ON a.tontine_id = b.tontine_id \
        WHERE a.user_id = $1 AND b.user_id = $2 AND a.is_active AND b.is_active)",
    count_presidents: "SELECT COUNT(*) FROM members \
        WHERE tontine_id = $1 AND is_active AND role = $2",
};

/// Implements `MemberStore` for an engine's store, given its member queries.
macro_rules! impl_member_store {
    ($store:ty, $mq:expr) => {
        #[async_trait::async_trait]
        impl $crate::MemberStore for $store {
            async fn member_of(
                &self,
                tontine: kobiri_core::TontineId,
                user: kobiri_core::UserId,
            ) -> $crate::StoreResult<Option<$crate::Member>> {
                let row: Option<$crate::members::MemberRow> = sqlx::query_as($mq.by_user)
                    .bind(tontine.as_uuid())
                    .bind(user.as_uuid())
                    .fetch_optional(self.reader())
                    .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn member_by_id(
                &self,
                tontine: kobiri_core::TontineId,
                member: kobiri_core::MemberId,
            ) -> $crate::StoreResult<Option<$crate::Member>> {
                let row: Option<$crate::members::MemberRow> = sqlx::query_as($mq.by_id)
                    .bind(tontine.as_uuid())
                    .bind(member.as_uuid())
                    .fetch_optional(self.reader())
                    .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn list_members(
                &self,
                tontine: kobiri_core::TontineId,
            ) -> $crate::StoreResult<Vec<$crate::Member>> {
                let rows: Vec<$crate::members::MemberRow> = sqlx::query_as($mq.list)
                    .bind(tontine.as_uuid())
                    .fetch_all(self.reader())
                    .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn add_member(
                &self,
                m: &$crate::NewMember,
                accepts: Option<uuid::Uuid>,
            ) -> $crate::StoreResult<$crate::AddMember> {
                use $crate::AddMember;
                let mut tx = self.writer().begin().await?;
                if let Some(invitation) = accepts {
                    // Returning early drops `tx`: nothing of this membership is written.
                    let decided = sqlx::query($crate::invitations::DECIDE)
                        .bind(invitation)
                        .bind($crate::InvitationStatus::Acceptee.as_str())
                        .bind(m.now)
                        .bind($crate::InvitationStatus::EnAttente.as_str())
                        .execute(&mut *tx)
                        .await?;
                    if decided.rows_affected() != 1 {
                        return Ok(AddMember::InvitationAnswered);
                    }
                }
                // Locks the tontine row on PostgreSQL, so concurrent joins count one at a time.
                let max: i32 = sqlx::query_scalar($mq.max_members)
                    .bind(m.tontine_id.as_uuid())
                    .fetch_one(&mut *tx)
                    .await?;
                let active: i64 = sqlx::query_scalar($mq.count_active)
                    .bind(m.tontine_id.as_uuid())
                    .fetch_one(&mut *tx)
                    .await?;
                let existing: Option<$crate::members::MemberRow> = sqlx::query_as($mq.by_user)
                    .bind(m.tontine_id.as_uuid())
                    .bind(m.user_id.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await?;
                let existing: Option<$crate::Member> =
                    existing.map(TryInto::try_into).transpose()?;
                if existing.as_ref().is_some_and(|e| e.is_active) {
                    return Ok(AddMember::AlreadyMember);
                }
                if active >= i64::from(max) {
                    return Ok(AddMember::Full);
                }
                let outcome = match existing {
                    Some(former) => {
                        sqlx::query($mq.reactivate)
                            .bind(former.id.as_uuid())
                            .bind(m.role.as_str())
                            .bind(m.now)
                            .execute(&mut *tx)
                            .await?;
                        AddMember::Rejoined
                    }
                    None => {
                        $crate::tontines::insert_member!(&mut *tx, $mq, m);
                        AddMember::Added
                    }
                };
                tx.commit().await?;
                Ok(outcome)
            }

            async fn update_member(
                &self,
                member: kobiri_core::MemberId,
                p: &$crate::MemberPatch,
                now: $crate::Timestamp,
            ) -> $crate::StoreResult<()> {
                sqlx::query($mq.update)
                    .bind(member.as_uuid())
                    .bind(p.role.map(|r| r.as_str()))
                    .bind(p.order_position.map(i64::from))
                    .bind(p.is_active)
                    .bind(now)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn share_tontine(
                &self,
                a: kobiri_core::UserId,
                b: kobiri_core::UserId,
            ) -> $crate::StoreResult<bool> {
                let shared: bool = sqlx::query_scalar($mq.share)
                    .bind(a.as_uuid())
                    .bind(b.as_uuid())
                    .fetch_one(self.reader())
                    .await?;
                Ok(shared)
            }

            async fn leave_tontine(
                &self,
                member: &$crate::Member,
                now: $crate::Timestamp,
            ) -> $crate::StoreResult<bool> {
                let mut tx = self.writer().begin().await?;
                if member.role == kobiri_core::TontineRole::President {
                    let presidents: i64 = sqlx::query_scalar($mq.count_presidents)
                        .bind(member.tontine_id.as_uuid())
                        .bind(kobiri_core::TontineRole::President.as_str())
                        .fetch_one(&mut *tx)
                        .await?;
                    let active: i64 = sqlx::query_scalar($mq.count_active)
                        .bind(member.tontine_id.as_uuid())
                        .fetch_one(&mut *tx)
                        .await?;
                    let count = |n: i64| u64::try_from(n).unwrap_or(0);
                    if !kobiri_core::tontine::may_leave(
                        member.role,
                        count(presidents),
                        count(active),
                    ) {
                        return Ok(false);
                    }
                }
                sqlx::query($mq.leave)
                    .bind(member.id.as_uuid())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(true)
            }
        }
    };
}
pub(super) use impl_member_store;
