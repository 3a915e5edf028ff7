//! Contribution sessions: rows, SQL, and the operations written once for both engines.

use chrono::{DateTime, NaiveDate, Utc};
use kobiri_core::{Amount, Currency, MemberId, PaymentFact, SessionId, SessionStatus, TontineId};
use uuid::Uuid;

use super::{DbDecimal, StoreError, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub tontine_id: TontineId,
    pub session_number: u32,
    pub scheduled_date: NaiveDate,
    pub due_date: NaiveDate,
    pub opened_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub status: SessionStatus,
    pub expected_amount: Amount,
    pub collected_amount: Amount,
    pub beneficiary_id: Option<MemberId>,
    pub beneficiary_name: Option<String>,
    pub notes: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A session to plan; its number is assigned by the store (1, 2, 3… per tontine).
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: SessionId,
    pub tontine_id: TontineId,
    pub scheduled_date: NaiveDate,
    pub due_date: NaiveDate,
    pub beneficiary_id: Option<MemberId>,
    pub notes: Option<String>,
    pub currency: Currency,
    pub now: Timestamp,
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct SessionRow {
    id: Uuid,
    tontine_id: Uuid,
    session_number: i32,
    scheduled_date: NaiveDate,
    due_date: NaiveDate,
    opened_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    status: String,
    expected_amount: DbDecimal,
    collected_amount: DbDecimal,
    beneficiary_id: Option<Uuid>,
    beneficiary_first: Option<String>,
    beneficiary_last: Option<String>,
    notes: Option<String>,
    currency: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<SessionRow> for Session {
    type Error = StoreError;

    fn try_from(r: SessionRow) -> Result<Self, StoreError> {
        let currency = Currency::parse(&r.currency).map_err(StoreError::corrupt)?;
        let beneficiary_name = match (r.beneficiary_first, r.beneficiary_last) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            _ => None,
        };
        Ok(Session {
            id: SessionId::from_uuid(r.id),
            tontine_id: TontineId::from_uuid(r.tontine_id),
            session_number: u32::try_from(r.session_number).map_err(StoreError::corrupt)?,
            scheduled_date: r.scheduled_date,
            due_date: r.due_date,
            opened_at: r.opened_at,
            closed_at: r.closed_at,
            status: r.status.parse().map_err(StoreError::corrupt)?,
            expected_amount: Amount::new(r.expected_amount.0, currency)
                .map_err(StoreError::corrupt)?,
            collected_amount: Amount::new(r.collected_amount.0, currency)
                .map_err(StoreError::corrupt)?,
            beneficiary_id: r.beneficiary_id.map(MemberId::from_uuid),
            beneficiary_name,
            notes: r.notes,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// What one payment weighs in a member's dues for its session.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct PaidRow {
    session_id: Uuid,
    status: String,
    flagged: bool,
    amount: DbDecimal,
    currency: String,
}

/// Pairs each session with the payments made into it (rows of any other session are ignored).
pub(super) fn with_payments(
    sessions: Vec<SessionRow>,
    paid: Vec<PaidRow>,
) -> Result<Vec<(Session, Vec<PaymentFact>)>, StoreError> {
    let mut out = sessions
        .into_iter()
        .map(|r| Ok((Session::try_from(r)?, Vec::new())))
        .collect::<Result<Vec<_>, StoreError>>()?;
    for r in paid {
        let currency = Currency::parse(&r.currency).map_err(StoreError::corrupt)?;
        let fact = PaymentFact {
            status: r.status.parse().map_err(StoreError::corrupt)?,
            flagged: r.flagged,
            amount: Amount::new(r.amount.0, currency).map_err(StoreError::corrupt)?,
        };
        let session = SessionId::from_uuid(r.session_id);
        if let Some((_, facts)) = out.iter_mut().find(|(s, _)| s.id == session) {
            facts.push(fact);
        }
    }
    Ok(out)
}

macro_rules! session_select {
    () => {
        "SELECT s.id, s.tontine_id, s.session_number, s.scheduled_date, s.due_date, s.opened_at, \
         s.closed_at, s.status, s.expected_amount, s.collected_amount, s.beneficiary_id, \
         bu.first_name AS beneficiary_first, bu.last_name AS beneficiary_last, s.notes, \
         t.currency, s.created_at, s.updated_at \
         FROM sessions s JOIN tontines t ON t.id = s.tontine_id \
         LEFT JOIN members bm ON bm.id = s.beneficiary_id LEFT JOIN users bu ON bu.id = bm.user_id "
    };
}

pub(super) struct SessionQueries {
    /// Binds: tontine_id. The highest session number so far (0 when none); locks the tontine
    /// on PostgreSQL so numbers are assigned one at a time.
    pub lock_numbers: &'static str,
    /// Binds: id, tontine_id, session_number, scheduled_date, due_date, status,
    /// beneficiary_id, notes, now.
    pub insert: &'static str,
    pub by_id: &'static str,
    /// Binds: tontine_id, status (or NULL), limit, offset.
    pub list: &'static str,
    pub count: &'static str,
    /// Binds: tontine_id. The open session, if any.
    pub open_of: &'static str,
    /// Binds: tontine_id, status. Every session of the tontine in that status, by number.
    pub all_in: &'static str,
    /// Binds: tontine_id, session status, member_id. The member's payments in those sessions.
    pub member_paid_in: &'static str,
    /// Binds: id, new status, expected amount, now; guarded by the old status ($5).
    pub open: &'static str,
    /// Binds: id, new status, notes, now; guarded by the old status ($5).
    pub close: &'static str,
}

pub(super) const SHARED: SessionQueries = SessionQueries {
    lock_numbers: "SELECT COALESCE(MAX(session_number), 0) FROM sessions WHERE tontine_id = $1",
    insert: "INSERT INTO sessions (id, tontine_id, session_number, scheduled_date, due_date, \
        status, beneficiary_id, notes, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    by_id: concat!(session_select!(), "WHERE s.id = $1"),
    list: concat!(
        session_select!(),
        "WHERE s.tontine_id = $1 AND ($2 IS NULL OR s.status = $2) \
         ORDER BY s.session_number LIMIT $3 OFFSET $4"
    ),
    count: "SELECT COUNT(*) FROM sessions s WHERE s.tontine_id = $1 AND ($2 IS NULL OR s.status = $2)",
    open_of: concat!(
        session_select!(),
        "WHERE s.tontine_id = $1 AND s.status = $2 ORDER BY s.session_number LIMIT 1"
    ),
    all_in: concat!(
        session_select!(),
        "WHERE s.tontine_id = $1 AND s.status = $2 ORDER BY s.session_number"
    ),
    member_paid_in: "SELECT p.session_id, p.status, p.flagged, p.amount, p.currency \
        FROM payments p JOIN sessions s ON s.id = p.session_id \
        WHERE s.tontine_id = $1 AND s.status = $2 AND p.member_id = $3",
    open: "UPDATE sessions SET status = $2, expected_amount = $3, opened_at = $4, updated_at = $4 \
        WHERE id = $1 AND status = $5",
    close: "UPDATE sessions SET status = $2, notes = COALESCE($3, notes), closed_at = $4, \
        updated_at = $4 WHERE id = $1 AND status = $5",
};

/// A status change of a session, with what it writes beside it.
#[derive(Debug, Clone)]
pub struct SessionChange {
    pub id: SessionId,
    pub from: SessionStatus,
    pub to: SessionStatus,
    /// Set when opening: contribution × active members at that moment.
    pub expected: Option<Amount>,
    pub notes: Option<String>,
    pub audit: super::NewAudit,
    pub notifications: Vec<super::NewNotification>,
    pub now: Timestamp,
}

macro_rules! impl_session_store {
    ($store:ty, $q:expr, $aq:expr, $nq:expr) => {
        #[async_trait::async_trait]
        impl $crate::SessionStore for $store {
            async fn create_sessions(
                &self,
                new: &[$crate::NewSession],
            ) -> $crate::StoreResult<Vec<$crate::Session>> {
                let Some(first) = new.first() else {
                    return Ok(Vec::new());
                };
                let mut tx = self.writer().begin().await?;
                let last: i32 = sqlx::query_scalar($q.lock_numbers)
                    .bind(first.tontine_id.as_uuid())
                    .fetch_one(&mut *tx)
                    .await?;
                for (n, s) in (last + 1..).zip(new.iter()) {
                    sqlx::query($q.insert)
                        .bind(s.id.as_uuid())
                        .bind(s.tontine_id.as_uuid())
                        .bind(n)
                        .bind(s.scheduled_date)
                        .bind(s.due_date)
                        .bind(kobiri_core::SessionStatus::Programmee.as_str())
                        .bind(s.beneficiary_id.map(|m| m.as_uuid()))
                        .bind(s.notes.as_deref())
                        .bind(s.now)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                let mut out = Vec::with_capacity(new.len());
                for s in new {
                    out.push(
                        self.session_by_id(s.id)
                            .await?
                            .ok_or($crate::StoreError::NotFound)?,
                    );
                }
                Ok(out)
            }

            async fn session_by_id(
                &self,
                id: kobiri_core::SessionId,
            ) -> $crate::StoreResult<Option<$crate::Session>> {
                let row: Option<$crate::sessions::SessionRow> = sqlx::query_as($q.by_id)
                    .bind(id.as_uuid())
                    .fetch_optional(self.reader())
                    .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn list_sessions(
                &self,
                tontine: kobiri_core::TontineId,
                status: Option<kobiri_core::SessionStatus>,
                page: $crate::PageRequest,
            ) -> $crate::StoreResult<$crate::Page<$crate::Session>> {
                let status = status.map(|s| s.as_str());
                Ok($crate::fetch_page!(
                    self.reader(), $q.count, $q.list,
                    $crate::sessions::SessionRow => $crate::Session,
                    page, tontine.as_uuid(), status
                ))
            }

            async fn open_session_of(
                &self,
                tontine: kobiri_core::TontineId,
            ) -> $crate::StoreResult<Option<$crate::Session>> {
                let row: Option<$crate::sessions::SessionRow> = sqlx::query_as($q.open_of)
                    .bind(tontine.as_uuid())
                    .bind(kobiri_core::SessionStatus::EnCours.as_str())
                    .fetch_optional(self.reader())
                    .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn open_sessions_paid_by(
                &self,
                tontine: kobiri_core::TontineId,
                member: kobiri_core::MemberId,
            ) -> $crate::StoreResult<Vec<($crate::Session, Vec<kobiri_core::PaymentFact>)>> {
                let open = kobiri_core::SessionStatus::EnCours.as_str();
                let sessions: Vec<$crate::sessions::SessionRow> = sqlx::query_as($q.all_in)
                    .bind(tontine.as_uuid())
                    .bind(open)
                    .fetch_all(self.reader())
                    .await?;
                if sessions.is_empty() {
                    return Ok(Vec::new());
                }
                let paid: Vec<$crate::sessions::PaidRow> = sqlx::query_as($q.member_paid_in)
                    .bind(tontine.as_uuid())
                    .bind(open)
                    .bind(member.as_uuid())
                    .fetch_all(self.reader())
                    .await?;
                $crate::sessions::with_payments(sessions, paid)
            }

            async fn change_session(
                &self,
                c: &$crate::SessionChange,
            ) -> $crate::StoreResult<bool> {
                let mut tx = self.writer().begin().await?;
                let done = if c.to == kobiri_core::SessionStatus::EnCours {
                    sqlx::query($q.open)
                        .bind(c.id.as_uuid())
                        .bind(c.to.as_str())
                        .bind(c.expected.map(|a| $crate::DbDecimal(a.value())))
                        .bind(c.now)
                        .bind(c.from.as_str())
                        .execute(&mut *tx)
                        .await?
                } else {
                    sqlx::query($q.close)
                        .bind(c.id.as_uuid())
                        .bind(c.to.as_str())
                        .bind(c.notes.as_deref())
                        .bind(c.now)
                        .bind(c.from.as_str())
                        .execute(&mut *tx)
                        .await?
                };
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                $crate::audit::insert_audit!(&mut *tx, $aq, c.audit);
                $crate::notifications::insert_notifications!(tx, $nq, c.notifications);
                tx.commit().await?;
                Ok(true)
            }
        }
    };
}
pub(super) use impl_session_store;
