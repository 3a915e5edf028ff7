// Over 400 lines on purpose: an aggregate's rows, its SQL for both engines and the macro that binds
// them stay together (one file per aggregate, as lib.rs describes).
//! Tontines: the records, their row shape, the SQL, and the operations written once for both
//! engines.

use chrono::{DateTime, NaiveDate, Utc};
use kobiri_core::{
    Amount, Currency, Frequency, OrderMethod, TontineCode, TontineId, TontineRole, TontineType,
    UserId,
};
use uuid::Uuid;

use super::{DbDecimal, StoreError, Timestamp};

/// A tontine with its live member count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tontine {
    pub id: TontineId,
    pub name: String,
    pub description: Option<String>,
    pub code: TontineCode,
    pub kind: TontineType,
    pub frequency: Frequency,
    pub contribution: Amount,
    pub max_members: u32,
    pub min_members: u32,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub rules: Option<String>,
    pub penalty: Amount,
    pub grace_period_days: u32,
    pub is_active: bool,
    pub is_public: bool,
    pub payout_method: Option<OrderMethod>,
    pub payout_seed: Option<i64>,
    pub created_by_id: UserId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Active members now.
    pub member_count: u32,
}

impl Tontine {
    pub fn currency(&self) -> Currency {
        self.contribution.currency()
    }

    pub fn is_full(&self) -> bool {
        self.member_count >= self.max_members
    }
}

#[derive(Debug, Clone)]
pub struct NewTontine {
    pub id: TontineId,
    pub name: String,
    pub description: Option<String>,
    pub code: TontineCode,
    pub kind: TontineType,
    pub frequency: Frequency,
    pub contribution: Amount,
    pub max_members: u32,
    pub min_members: u32,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub rules: Option<String>,
    pub penalty: Amount,
    pub grace_period_days: u32,
    pub is_public: bool,
    pub created_by_id: UserId,
    pub now: Timestamp,
}

/// The fields a president may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TontinePatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub rules: Option<Option<String>>,
    pub max_members: Option<u32>,
    pub penalty: Option<Amount>,
    pub grace_period_days: Option<u32>,
    pub is_public: Option<bool>,
    pub is_active: Option<bool>,
}

/// Which tontines a list shows.
#[derive(Debug, Clone)]
pub enum TontineFilter {
    /// The active tontines the user is an active member of.
    MemberOf(UserId),
    /// Those, and the deactivated ones where the user's role is one of these.
    MemberOfWithInactive(UserId, Vec<TontineRole>),
    /// Public, active ones.
    Public,
    /// All active ones (admin).
    All,
    /// All, deactivated ones included (admin).
    AllWithInactive,
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct TontineRow {
    id: Uuid,
    name: String,
    description: Option<String>,
    code: String,
    #[sqlx(rename = "type")]
    kind: String,
    frequency: String,
    contribution_amount: DbDecimal,
    currency: String,
    max_members: i32,
    min_members: i32,
    start_date: NaiveDate,
    end_date: Option<NaiveDate>,
    rules: Option<String>,
    penalty_amount: DbDecimal,
    grace_period_days: i32,
    is_active: bool,
    is_public: bool,
    payout_method: Option<String>,
    payout_seed: Option<i64>,
    created_by_id: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    member_count: i64,
}

fn count(v: i64) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(StoreError::corrupt)
}

impl TryFrom<TontineRow> for Tontine {
    type Error = StoreError;

    fn try_from(r: TontineRow) -> Result<Self, StoreError> {
        let currency = Currency::parse(&r.currency).map_err(StoreError::corrupt)?;
        Ok(Tontine {
            id: TontineId::from_uuid(r.id),
            name: r.name,
            description: r.description,
            code: TontineCode::parse(&r.code).map_err(StoreError::corrupt)?,
            kind: r.kind.parse().map_err(StoreError::corrupt)?,
            frequency: r.frequency.parse().map_err(StoreError::corrupt)?,
            contribution: Amount::new(r.contribution_amount.0, currency)
                .map_err(StoreError::corrupt)?,
            max_members: count(r.max_members.into())?,
            min_members: count(r.min_members.into())?,
            start_date: r.start_date,
            end_date: r.end_date,
            rules: r.rules,
            penalty: Amount::new(r.penalty_amount.0, currency).map_err(StoreError::corrupt)?,
            grace_period_days: count(r.grace_period_days.into())?,
            is_active: r.is_active,
            is_public: r.is_public,
            payout_method: r
                .payout_method
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(StoreError::corrupt)?,
            payout_seed: r.payout_seed,
            created_by_id: UserId::from_uuid(r.created_by_id),
            created_at: r.created_at,
            updated_at: r.updated_at,
            member_count: count(r.member_count)?,
        })
    }
}

macro_rules! tontine_select {
    () => {
        "SELECT t.id, t.name, t.description, t.code, t.type, t.frequency, t.contribution_amount, \
         t.currency, t.max_members, t.min_members, t.start_date, t.end_date, t.rules, \
         t.penalty_amount, t.grace_period_days, t.is_active, t.is_public, t.payout_method, \
         t.payout_seed, t.created_by_id, t.created_at, t.updated_at, \
         (SELECT COUNT(*) FROM members m WHERE m.tontine_id = t.id AND m.is_active) AS member_count \
         FROM tontines t "
    };
}

/// The tontines where `$1` is an active member, deactivated ones included, newest first.
macro_rules! member_of_order {
    () => {
        "WHERE EXISTS (SELECT 1 FROM members m WHERE m.tontine_id = t.id AND m.user_id = $1 \
         AND m.is_active) ORDER BY t.created_at DESC, t.id"
    };
}

/// The tontines where `$1` is an active member that are active, or deactivated with the
/// member's role in `$2` (role names between commas: `,tresorier,president,`; empty for none).
macro_rules! member_of_listed {
    () => {
        "WHERE EXISTS (SELECT 1 FROM members m WHERE m.tontine_id = t.id AND m.user_id = $1 \
         AND m.is_active AND (t.is_active OR $2 LIKE ('%,' || m.role || ',%')))"
    };
}

pub(super) struct TontineQueries {
    /// Binds: id, name, description, code, type, frequency, contribution, currency,
    /// max_members, min_members, start_date, end_date, rules, penalty, grace, is_public,
    /// created_by_id, now.
    pub insert: &'static str,
    pub by_id: &'static str,
    pub by_code: &'static str,
    /// Binds: user id, roles (see `member_of_listed`), limit, offset.
    pub list_member_of: &'static str,
    /// Binds: user. The ids only, all of them, deactivated tontines included (a phone keeps
    /// them: it may hold cash for one).
    pub ids_member_of: &'static str,
    /// Binds: user id, roles.
    pub count_member_of: &'static str,
    /// Binds: limit, offset.
    pub list_public: &'static str,
    pub count_public: &'static str,
    pub list_all: &'static str,
    pub count_all: &'static str,
    /// Binds: limit, offset.
    pub list_all_active: &'static str,
    pub count_all_active: &'static str,
    /// Binds: id, name, (set_description, description), (set_rules, rules), max_members,
    /// penalty, grace, is_public, is_active, now.
    pub update: &'static str,
}

pub(super) const SHARED: TontineQueries = TontineQueries {
    insert: "INSERT INTO tontines (id, name, description, code, type, frequency, \
        contribution_amount, currency, max_members, min_members, start_date, end_date, rules, \
        penalty_amount, grace_period_days, is_public, created_by_id, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18)",
    by_id: concat!(tontine_select!(), "WHERE t.id = $1"),
    by_code: concat!(tontine_select!(), "WHERE t.code = $1"),
    list_member_of: concat!(
        tontine_select!(),
        member_of_listed!(),
        " ORDER BY t.created_at DESC, t.id LIMIT $3 OFFSET $4"
    ),
    ids_member_of: concat!("SELECT t.id FROM tontines t ", member_of_order!()),
    count_member_of: concat!("SELECT COUNT(*) FROM tontines t ", member_of_listed!()),
    list_public: concat!(
        tontine_select!(),
        "WHERE t.is_public AND t.is_active ORDER BY t.created_at DESC, t.id LIMIT $1 OFFSET $2"
    ),
    count_public: "SELECT COUNT(*) FROM tontines t WHERE t.is_public AND t.is_active",
    list_all: concat!(
        tontine_select!(),
        "ORDER BY t.created_at DESC, t.id LIMIT $1 OFFSET $2"
    ),
    count_all: "SELECT COUNT(*) FROM tontines t",
    list_all_active: concat!(
        tontine_select!(),
        "WHERE t.is_active ORDER BY t.created_at DESC, t.id LIMIT $1 OFFSET $2"
    ),
    count_all_active: "SELECT COUNT(*) FROM tontines t WHERE t.is_active",
    update: "UPDATE tontines SET name = COALESCE($2, name), \
        description = CASE WHEN $3 THEN $4 ELSE description END, \
        rules = CASE WHEN $5 THEN $6 ELSE rules END, \
        max_members = COALESCE($7, max_members), penalty_amount = COALESCE($8, penalty_amount), \
        grace_period_days = COALESCE($9, grace_period_days), is_public = COALESCE($10, is_public), \
        is_active = COALESCE($11, is_active), updated_at = $12 WHERE id = $1",
};

/// Implements `TontineStore` for an engine's store, given its tontine and member queries.
macro_rules! impl_tontine_store {
    ($store:ty, $q:expr, $mq:expr) => {
        #[async_trait::async_trait]
        impl $crate::TontineStore for $store {
            async fn create_tontine(
                &self,
                t: &$crate::NewTontine,
                president: &$crate::NewMember,
            ) -> $crate::StoreResult<$crate::Tontine> {
                let mut tx = self.writer().begin().await?;
                sqlx::query($q.insert)
                    .bind(t.id.as_uuid())
                    .bind(&t.name)
                    .bind(t.description.as_deref())
                    .bind(t.code.as_str())
                    .bind(t.kind.as_str())
                    .bind(t.frequency.as_str())
                    .bind($crate::DbDecimal(t.contribution.value()))
                    .bind(t.contribution.currency().as_str())
                    .bind(i64::from(t.max_members))
                    .bind(i64::from(t.min_members))
                    .bind(t.start_date)
                    .bind(t.end_date)
                    .bind(t.rules.as_deref())
                    .bind($crate::DbDecimal(t.penalty.value()))
                    .bind(i64::from(t.grace_period_days))
                    .bind(t.is_public)
                    .bind(t.created_by_id.as_uuid())
                    .bind(t.now)
                    .execute(&mut *tx)
                    .await?;
                $crate::tontines::insert_member!(&mut *tx, $mq, president);
                tx.commit().await?;
                self.tontine_by_id(t.id)
                    .await?
                    .ok_or($crate::StoreError::NotFound)
            }

            async fn tontine_by_id(
                &self,
                id: kobiri_core::TontineId,
            ) -> $crate::StoreResult<Option<$crate::Tontine>> {
                let row: Option<$crate::tontines::TontineRow> = sqlx::query_as($q.by_id)
                    .bind(id.as_uuid())
                    .fetch_optional(self.reader())
                    .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn tontine_by_code(
                &self,
                code: &kobiri_core::TontineCode,
            ) -> $crate::StoreResult<Option<$crate::Tontine>> {
                let row: Option<$crate::tontines::TontineRow> = sqlx::query_as($q.by_code)
                    .bind(code.as_str())
                    .fetch_optional(self.reader())
                    .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn list_tontines(
                &self,
                filter: $crate::TontineFilter,
                page: $crate::PageRequest,
            ) -> $crate::StoreResult<$crate::Page<$crate::Tontine>> {
                use $crate::{tontines::{role_list, TontineRow}, Tontine, TontineFilter as F};
                Ok(match filter {
                    F::MemberOf(user) => $crate::fetch_page!(
                        self.reader(), $q.count_member_of, $q.list_member_of,
                        TontineRow => Tontine, page, user.as_uuid(), ""
                    ),
                    F::MemberOfWithInactive(user, roles) => {
                        let roles = role_list(&roles);
                        $crate::fetch_page!(
                            self.reader(), $q.count_member_of, $q.list_member_of,
                            TontineRow => Tontine, page, user.as_uuid(), roles.as_str()
                        )
                    }
                    F::Public => $crate::fetch_page!(
                        self.reader(), $q.count_public, $q.list_public, TontineRow => Tontine, page
                    ),
                    F::All => $crate::fetch_page!(
                        self.reader(), $q.count_all_active, $q.list_all_active,
                        TontineRow => Tontine, page
                    ),
                    F::AllWithInactive => $crate::fetch_page!(
                        self.reader(), $q.count_all, $q.list_all, TontineRow => Tontine, page
                    ),
                })
            }

            async fn tontine_ids_of_member(
                &self,
                user: kobiri_core::UserId,
            ) -> $crate::StoreResult<Vec<kobiri_core::TontineId>> {
                let ids: Vec<uuid::Uuid> = sqlx::query_scalar($q.ids_member_of)
                    .bind(user.as_uuid())
                    .fetch_all(self.reader())
                    .await?;
                Ok(ids.into_iter().map(kobiri_core::TontineId::from_uuid).collect())
            }

            async fn update_tontine(
                &self,
                id: kobiri_core::TontineId,
                p: &$crate::TontinePatch,
                now: $crate::Timestamp,
            ) -> $crate::StoreResult<$crate::Tontine> {
                let done = sqlx::query($q.update)
                    .bind(id.as_uuid())
                    .bind(p.name.as_deref())
                    .bind(p.description.is_some())
                    .bind(p.description.clone().flatten())
                    .bind(p.rules.is_some())
                    .bind(p.rules.clone().flatten())
                    .bind(p.max_members.map(i64::from))
                    .bind(p.penalty.map(|a| $crate::DbDecimal(a.value())))
                    .bind(p.grace_period_days.map(i64::from))
                    .bind(p.is_public)
                    .bind(p.is_active)
                    .bind(now)
                    .execute(self.writer())
                    .await?;
                if done.rows_affected() == 0 {
                    return Err($crate::StoreError::NotFound);
                }
                self.tontine_by_id(id)
                    .await?
                    .ok_or($crate::StoreError::NotFound)
            }
        }
    };
}
pub(super) use impl_tontine_store;

/// Role names between commas (`,tresorier,president,`), as `member_of_listed` reads them.
pub(super) fn role_list(roles: &[TontineRole]) -> String {
    roles.iter().fold(String::from(","), |mut out, r| {
        out.push_str(r.as_str());
        out.push(',');
        out
    })
}

/// Inserts a member row inside a transaction.
macro_rules! insert_member {
    ($conn:expr, $mq:expr, $m:expr) => {
        sqlx::query($mq.insert)
            .bind($m.id.as_uuid())
            .bind($m.tontine_id.as_uuid())
            .bind($m.user_id.as_uuid())
            .bind($m.role.as_str())
            .bind($m.order_position.map(i64::from))
            .bind($m.now)
            .execute($conn)
            .await?
    };
}
pub(super) use insert_member;
