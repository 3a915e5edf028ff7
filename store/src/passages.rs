// Over 400 lines on purpose: an aggregate's rows, its SQL for both engines and the macro that binds
// them stay together (one file per aggregate, as lib.rs describes).
//! Passages (payouts of the pot): rows, SQL, and the operations written once for both engines.
//!
//! Every write locks the tontine row first on PostgreSQL (SQLite's single writer serialises
//! them anyway), so replacing the order and completing a passage never interleave. Status
//! changes are guarded by the status they start from: a change that lost a race is refused,
//! never applied twice.

use chrono::{DateTime, NaiveDate, Utc};
use kobiri_core::{
    Amount, Currency, MemberId, OrderMethod, PassageId, PassageStatus, PayoutMethod, SessionId,
    TontineId, UserId,
};
use uuid::Uuid;

use super::{DbDecimal, NewAudit, NewNotification, StoreError, Timestamp};

/// A passage with the beneficiary's contact details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passage {
    pub id: PassageId,
    pub tontine_id: TontineId,
    pub member_id: MemberId,
    pub session_id: Option<SessionId>,
    pub order_number: u32,
    pub scheduled_date: Option<NaiveDate>,
    pub actual_date: Option<NaiveDate>,
    pub status: PassageStatus,
    pub expected_amount: Amount,
    /// What the manager recorded as handed over.
    pub payout_amount: Option<Amount>,
    /// What the beneficiary confirmed receiving.
    pub amount_received: Option<Amount>,
    pub payout_method: Option<PayoutMethod>,
    pub payout_reference: Option<String>,
    pub payout_phone: Option<String>,
    pub paid_at: Option<Timestamp>,
    pub confirmed_by_member: bool,
    pub confirmed_at: Option<Timestamp>,
    pub notes: Option<String>,
    pub postpone_reason: Option<String>,
    /// A payout sent through a provider: `en_cours`, `valide` or `echoue` (with the reason).
    pub payout_status: Option<String>,
    pub payout_failure: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The beneficiary's account.
    pub member_user_id: UserId,
    pub member_name: String,
    pub member_phone: String,
    pub member_email: Option<String>,
}

impl Passage {
    /// A payout was recorded: money has moved.
    pub fn is_paid(&self) -> bool {
        self.paid_at.is_some()
    }
}

/// One passage of a new order.
#[derive(Debug, Clone)]
pub struct NewPassage {
    pub id: PassageId,
    pub member_id: MemberId,
    pub session_id: Option<SessionId>,
    pub order_number: u32,
    pub scheduled_date: Option<NaiveDate>,
    pub expected: Amount,
}

/// A whole payout order replacing the tontine's passages.
#[derive(Debug, Clone)]
pub struct PassagePlan {
    pub tontine_id: TontineId,
    /// How the order was drawn; `None` when set by hand.
    pub method: Option<OrderMethod>,
    /// The seed of a random draw, kept so anyone can re-run it.
    pub seed: Option<i64>,
    pub passages: Vec<NewPassage>,
    pub audit: NewAudit,
    pub now: Timestamp,
}

/// The outcome of [`PassagePlan`] storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplacePassages {
    Replaced,
    /// A passage is complete or its payout was recorded: the order is settled history.
    Settled,
}

/// A planned session a passage can fall on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSlot {
    pub id: SessionId,
    pub number: u32,
    pub date: NaiveDate,
}

/// What a status change writes besides the status.
#[derive(Debug, Clone)]
pub enum PassageEdit {
    Start,
    /// Refused unless `amount` fits in what remains of the pot of `pot`, read in the same
    /// transaction; binds the passage to the pot's session. An `approval` is marked given in
    /// the same transaction (nothing is written if it is no longer pending).
    Payout {
        method: PayoutMethod,
        phone: Option<String>,
        reference: Option<String>,
        amount: Amount,
        date: NaiveDate,
        pot: Option<kobiri_core::PotScope>,
        approval: Option<super::Approval>,
    },
    /// Also adds `amount_received` to the member's `total_received`. Refused above the
    /// recorded payout, or without one above what remains of the pot of `pot`.
    Confirm {
        member: MemberId,
        amount_received: Amount,
        notes: Option<String>,
        date: NaiveDate,
        pot: Option<kobiri_core::PotScope>,
    },
    Postpone {
        reason: String,
    },
}

/// A change of one passage, guarded by its current status, with its audit entry and
/// notifications written in the same transaction.
#[derive(Debug, Clone)]
pub struct PassageChange {
    pub id: PassageId,
    pub tontine_id: TontineId,
    pub from: PassageStatus,
    pub to: PassageStatus,
    pub edit: PassageEdit,
    pub audit: NewAudit,
    pub notifications: Vec<NewNotification>,
    pub now: Timestamp,
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct PassageRow {
    id: Uuid,
    tontine_id: Uuid,
    member_id: Uuid,
    session_id: Option<Uuid>,
    order_number: i32,
    scheduled_date: Option<NaiveDate>,
    actual_date: Option<NaiveDate>,
    status: String,
    expected_amount: DbDecimal,
    payout_amount: Option<DbDecimal>,
    amount_received: Option<DbDecimal>,
    payout_method: Option<String>,
    payout_reference: Option<String>,
    payout_phone: Option<String>,
    paid_at: Option<DateTime<Utc>>,
    confirmed_by_member: bool,
    confirmed_at: Option<DateTime<Utc>>,
    notes: Option<String>,
    postpone_reason: Option<String>,
    payout_status: Option<String>,
    payout_failure: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    currency: String,
    member_user_id: Uuid,
    first_name: String,
    last_name: String,
    member_phone: String,
    member_email: Option<String>,
}

impl TryFrom<PassageRow> for Passage {
    type Error = StoreError;

    fn try_from(r: PassageRow) -> Result<Self, StoreError> {
        let currency = Currency::parse(&r.currency).map_err(StoreError::corrupt)?;
        let amount = |d: DbDecimal| Amount::new(d.0, currency).map_err(StoreError::corrupt);
        Ok(Passage {
            id: PassageId::from_uuid(r.id),
            tontine_id: TontineId::from_uuid(r.tontine_id),
            member_id: MemberId::from_uuid(r.member_id),
            session_id: r.session_id.map(SessionId::from_uuid),
            order_number: u32::try_from(r.order_number).map_err(StoreError::corrupt)?,
            scheduled_date: r.scheduled_date,
            actual_date: r.actual_date,
            status: r.status.parse().map_err(StoreError::corrupt)?,
            expected_amount: amount(r.expected_amount)?,
            payout_amount: r.payout_amount.map(amount).transpose()?,
            amount_received: r.amount_received.map(amount).transpose()?,
            payout_method: r
                .payout_method
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(StoreError::corrupt)?,
            payout_reference: r.payout_reference,
            payout_phone: r.payout_phone,
            paid_at: r.paid_at,
            confirmed_by_member: r.confirmed_by_member,
            confirmed_at: r.confirmed_at,
            notes: r.notes,
            postpone_reason: r.postpone_reason,
            payout_status: r.payout_status,
            payout_failure: r.payout_failure,
            created_at: r.created_at,
            updated_at: r.updated_at,
            member_user_id: UserId::from_uuid(r.member_user_id),
            member_name: format!("{} {}", r.first_name, r.last_name),
            member_phone: r.member_phone,
            member_email: r.member_email,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct SlotRow {
    id: Uuid,
    session_number: i32,
    scheduled_date: NaiveDate,
}

impl TryFrom<SlotRow> for SessionSlot {
    type Error = StoreError;

    fn try_from(r: SlotRow) -> Result<Self, StoreError> {
        Ok(SessionSlot {
            id: SessionId::from_uuid(r.id),
            number: u32::try_from(r.session_number).map_err(StoreError::corrupt)?,
            date: r.scheduled_date,
        })
    }
}

macro_rules! passage_select {
    () => {
        "SELECT p.id, p.tontine_id, p.member_id, p.session_id, p.order_number, \
         p.scheduled_date, p.actual_date, p.status, p.expected_amount, p.payout_amount, \
         p.amount_received, p.payout_method, p.payout_reference, p.payout_phone, p.paid_at, \
         p.confirmed_by_member, p.confirmed_at, p.notes, p.postpone_reason, p.payout_status, \
         p.payout_failure, p.created_at, \
         p.updated_at, t.currency, m.user_id AS member_user_id, u.first_name, u.last_name, \
         u.phone AS member_phone, u.email AS member_email \
         FROM passages p JOIN tontines t ON t.id = p.tontine_id \
         JOIN members m ON m.id = p.member_id JOIN users u ON u.id = m.user_id "
    };
}

pub(super) struct PassageQueries {
    /// Binds: tontine_id. Locks the tontine row on PostgreSQL.
    pub lock_tontine: &'static str,
    pub by_id: &'static str,
    /// Binds: tontine_id.
    pub list: &'static str,
    /// Binds: tontine_id.
    pub slots: &'static str,
    /// Binds: tontine_id, the complete status. Passages that are complete or paid.
    pub count_settled: &'static str,
    /// Binds: tontine_id.
    pub delete_all: &'static str,
    /// Binds: id, tontine_id, member_id, session_id, order_number, scheduled_date, status,
    /// expected_amount, now.
    pub insert: &'static str,
    /// Binds: member id, order_position.
    pub set_position: &'static str,
    /// Binds: tontine_id, payout_method, payout_seed, now.
    pub set_method: &'static str,
    /// Binds: id, new status, now; guarded by the old status ($4).
    pub start: &'static str,
    /// Binds: id, method, phone, reference, amount, date, now, session of the pot; guarded by
    /// the status ($8), by no payout recorded yet, and by none live at a provider ($10).
    pub payout: &'static str,
    /// Binds: id, new status, amount_received, notes, date, now; guarded by the old status ($7).
    pub confirm: &'static str,
    /// Binds: id, new status, reason, now; guarded by the old status ($5) and no payout.
    pub postpone: &'static str,
    /// Binds: member id. Locks the member row on PostgreSQL.
    pub member_received: &'static str,
    /// Binds: member id, total_received.
    pub set_member_received: &'static str,
}

pub(super) const SHARED: PassageQueries = PassageQueries {
    lock_tontine: "SELECT id FROM tontines WHERE id = $1",
    by_id: concat!(passage_select!(), "WHERE p.id = $1"),
    list: concat!(
        passage_select!(),
        "WHERE p.tontine_id = $1 ORDER BY p.order_number, p.id"
    ),
    slots: "SELECT id, session_number, scheduled_date FROM sessions WHERE tontine_id = $1 \
        ORDER BY session_number",
    count_settled: "SELECT COUNT(*) FROM passages \
        WHERE tontine_id = $1 AND (status = $2 OR paid_at IS NOT NULL)",
    delete_all: "DELETE FROM passages WHERE tontine_id = $1",
    insert: "INSERT INTO passages (id, tontine_id, member_id, session_id, order_number, \
        scheduled_date, status, expected_amount, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    set_position: "UPDATE members SET order_position = $2 WHERE id = $1",
    set_method: "UPDATE tontines SET payout_method = $2, payout_seed = $3, updated_at = $4 \
        WHERE id = $1",
    start: "UPDATE passages SET status = $2, updated_at = $3 WHERE id = $1 AND status = $4",
    payout: "UPDATE passages SET payout_method = $2, payout_phone = $3, payout_reference = $4, \
        payout_amount = $5, actual_date = $6, paid_at = $7, updated_at = $7, \
        session_id = COALESCE(session_id, $9) \
        WHERE id = $1 AND status = $8 AND paid_at IS NULL \
        AND (payout_status IS NULL OR payout_status <> $10)",
    confirm: "UPDATE passages SET status = $2, amount_received = $3, notes = COALESCE($4, notes), \
        actual_date = COALESCE(actual_date, $5), confirmed_by_member = true, confirmed_at = $6, \
        updated_at = $6 WHERE id = $1 AND status = $7",
    postpone: "UPDATE passages SET status = $2, postpone_reason = $3, updated_at = $4 \
        WHERE id = $1 AND status = $5 AND paid_at IS NULL",
    member_received: "SELECT total_received FROM members WHERE id = $1",
    set_member_received: "UPDATE members SET total_received = $2 WHERE id = $1",
};

/// PostgreSQL locks the tontine row for every passage write, and the member row while its
/// total is rewritten.
pub(super) const POSTGRES: PassageQueries = PassageQueries {
    lock_tontine: "SELECT id FROM tontines WHERE id = $1 FOR UPDATE",
    member_received: "SELECT total_received FROM members WHERE id = $1 FOR UPDATE",
    ..SHARED
};

/// Implements `PassageStore` for an engine's store, given its passage, audit, notification
/// and payout queries.
macro_rules! impl_passage_store {
    ($store:ty, $q:expr, $aq:expr, $nq:expr, $pq:expr) => {
        #[async_trait::async_trait]
        impl $crate::PassageStore for $store {
            async fn passage_by_id(
                &self,
                id: kobiri_core::PassageId,
            ) -> $crate::StoreResult<Option<$crate::Passage>> {
                let row: Option<$crate::passages::PassageRow> = sqlx::query_as($q.by_id)
                    .bind(id.as_uuid())
                    .fetch_optional(self.reader())
                    .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn list_passages(
                &self,
                tontine: kobiri_core::TontineId,
            ) -> $crate::StoreResult<Vec<$crate::Passage>> {
                let rows: Vec<$crate::passages::PassageRow> = sqlx::query_as($q.list)
                    .bind(tontine.as_uuid())
                    .fetch_all(self.reader())
                    .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn session_slots(
                &self,
                tontine: kobiri_core::TontineId,
            ) -> $crate::StoreResult<Vec<$crate::SessionSlot>> {
                let rows: Vec<$crate::passages::SlotRow> = sqlx::query_as($q.slots)
                    .bind(tontine.as_uuid())
                    .fetch_all(self.reader())
                    .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn replace_passages(
                &self,
                plan: &$crate::PassagePlan,
            ) -> $crate::StoreResult<$crate::ReplacePassages> {
                let tontine = plan.tontine_id.as_uuid();
                let mut tx = self.writer().begin().await?;
                let locked: Option<uuid::Uuid> = sqlx::query_scalar($q.lock_tontine)
                    .bind(tontine)
                    .fetch_optional(&mut *tx)
                    .await?;
                if locked.is_none() {
                    return Err($crate::StoreError::NotFound);
                }
                let settled: i64 = sqlx::query_scalar($q.count_settled)
                    .bind(tontine)
                    .bind(kobiri_core::PassageStatus::Complete.as_str())
                    .fetch_one(&mut *tx)
                    .await?;
                if settled > 0 {
                    return Ok($crate::ReplacePassages::Settled);
                }
                sqlx::query($q.delete_all)
                    .bind(tontine)
                    .execute(&mut *tx)
                    .await?;
                for p in &plan.passages {
                    sqlx::query($q.insert)
                        .bind(p.id.as_uuid())
                        .bind(tontine)
                        .bind(p.member_id.as_uuid())
                        .bind(p.session_id.map(|s| s.as_uuid()))
                        .bind(i64::from(p.order_number))
                        .bind(p.scheduled_date)
                        .bind(kobiri_core::PassageStatus::Programme.as_str())
                        .bind($crate::DbDecimal(p.expected.value()))
                        .bind(plan.now)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query($q.set_position)
                        .bind(p.member_id.as_uuid())
                        .bind(i64::from(p.order_number))
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query($q.set_method)
                    .bind(tontine)
                    .bind(plan.method.map(|m| m.as_str()))
                    .bind(plan.seed)
                    .bind(plan.now)
                    .execute(&mut *tx)
                    .await?;
                $crate::audit::insert_audit!(&mut *tx, $aq, plan.audit);
                tx.commit().await?;
                Ok($crate::ReplacePassages::Replaced)
            }

            // Long on purpose: one transaction whose guarded steps (status, pot check, payout
            // columns, audit entry, notifications) must run in this order on one connection.
            async fn change_passage(
                &self,
                c: &$crate::PassageChange,
            ) -> $crate::StoreResult<$crate::PassageWrite> {
                use $crate::PassageEdit as E;
                use $crate::PassageWrite as W;
                let mut tx = self.writer().begin().await?;
                let locked: Option<uuid::Uuid> = sqlx::query_scalar($q.lock_tontine)
                    .bind(c.tontine_id.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await?;
                if locked.is_none() {
                    return Err($crate::StoreError::NotFound);
                }
                let id = c.id.as_uuid();
                match &c.edit {
                    E::Payout {
                        amount,
                        pot,
                        approval,
                        ..
                    } => {
                        let pot = $crate::payouts::read_pot!(
                            tx,
                            $pq,
                            c.tontine_id,
                            *pot,
                            c.id,
                            amount.currency()
                        );
                        if let Err(refusal) = kobiri_core::check_payout(*amount, &pot) {
                            return Ok(W::Refused(refusal));
                        }
                        if !$crate::payouts::apply_approval!(tx, $pq, approval, c.now) {
                            return Ok(W::Changed);
                        }
                    }
                    E::Confirm {
                        amount_received,
                        pot,
                        ..
                    } => {
                        let currency = amount_received.currency();
                        let paid: Option<$crate::DbDecimal> =
                            sqlx::query_scalar($pq.recorded_payout)
                                .bind(id)
                                .fetch_optional(&mut *tx)
                                .await?
                                .flatten();
                        let paid = paid
                            .map(|d| kobiri_core::Amount::new(d.0, currency))
                            .transpose()
                            .map_err($crate::StoreError::corrupt)?;
                        let pot =
                            $crate::payouts::read_pot!(tx, $pq, c.tontine_id, *pot, c.id, currency);
                        if let Err(refusal) =
                            kobiri_core::check_receipt(*amount_received, paid, &pot)
                        {
                            return Ok(W::Refused(refusal));
                        }
                    }
                    E::Start | E::Postpone { .. } => {}
                }
                let done = match &c.edit {
                    E::Start => {
                        sqlx::query($q.start)
                            .bind(id)
                            .bind(c.to.as_str())
                            .bind(c.now)
                            .bind(c.from.as_str())
                            .execute(&mut *tx)
                            .await?
                    }
                    E::Payout {
                        method,
                        phone,
                        reference,
                        amount,
                        date,
                        pot,
                        ..
                    } => {
                        sqlx::query($q.payout)
                            .bind(id)
                            .bind(method.as_str())
                            .bind(phone.as_deref())
                            .bind(reference.as_deref())
                            .bind($crate::DbDecimal(amount.value()))
                            .bind(*date)
                            .bind(c.now)
                            .bind(c.from.as_str())
                            .bind($crate::payouts::pot_session(*pot))
                            .bind(kobiri_core::PaymentStatus::EnCours.as_str())
                            .execute(&mut *tx)
                            .await?
                    }
                    E::Confirm {
                        amount_received,
                        notes,
                        date,
                        ..
                    } => {
                        sqlx::query($q.confirm)
                            .bind(id)
                            .bind(c.to.as_str())
                            .bind($crate::DbDecimal(amount_received.value()))
                            .bind(notes.as_deref())
                            .bind(*date)
                            .bind(c.now)
                            .bind(c.from.as_str())
                            .execute(&mut *tx)
                            .await?
                    }
                    E::Postpone { reason } => {
                        sqlx::query($q.postpone)
                            .bind(id)
                            .bind(c.to.as_str())
                            .bind(reason.as_str())
                            .bind(c.now)
                            .bind(c.from.as_str())
                            .execute(&mut *tx)
                            .await?
                    }
                };
                if done.rows_affected() == 0 {
                    return Ok(W::Changed);
                }
                if let E::Confirm {
                    member,
                    amount_received,
                    ..
                } = &c.edit
                {
                    let total: $crate::DbDecimal = sqlx::query_scalar($q.member_received)
                        .bind(member.as_uuid())
                        .fetch_one(&mut *tx)
                        .await?;
                    let total = kobiri_core::Amount::new(total.0, amount_received.currency())
                        .and_then(|t| t.checked_add(*amount_received))
                        .map_err($crate::StoreError::corrupt)?;
                    sqlx::query($q.set_member_received)
                        .bind(member.as_uuid())
                        .bind($crate::DbDecimal(total.value()))
                        .execute(&mut *tx)
                        .await?;
                }
                $crate::audit::insert_audit!(&mut *tx, $aq, c.audit);
                $crate::notifications::insert_notifications!(tx, $nq, c.notifications);
                tx.commit().await?;
                Ok(W::Done)
            }
        }
    };
}
pub(super) use impl_passage_store;
