// Over 400 lines on purpose: an aggregate's rows, its SQL for both engines and the macro that binds
// them stay together (one file per aggregate, as lib.rs describes).
//! Payments: rows, SQL, and the operations written once for both engines. Validation moves
//! the session's `collected_amount` and the member's `total_contributions` in the same
//! transaction as the status change and its audit entry.

use chrono::{DateTime, Utc};
use kobiri_core::{
    Amount, Currency, MemberId, PaymentId, PaymentMethod, PaymentStatus, SessionId, TontineId,
    UserId,
};
use uuid::Uuid;

use super::{DbDecimal, NewAudit, NewNotification, StoreError, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: PaymentId,
    pub tontine_id: TontineId,
    pub session_id: SessionId,
    pub member_id: MemberId,
    pub user_id: UserId,
    pub amount: Amount,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    pub operator_reference: Option<String>,
    pub operator_transaction_id: Option<String>,
    pub phone_number: Option<String>,
    pub proof_url: Option<String>,
    pub proof_description: Option<String>,
    pub validated_by_id: Option<UserId>,
    pub validated_at: Option<Timestamp>,
    pub rejection_reason: Option<String>,
    pub penalty_amount: Amount,
    pub is_late: bool,
    pub recorded_by_id: UserId,
    pub device_id: Option<Uuid>,
    pub receipt_code: Option<String>,
    pub notes: Option<String>,
    pub initiated_at: Timestamp,
    pub completed_at: Option<Timestamp>,
    pub created_at: Timestamp,
    /// Arrived by sync and waits for a treasurer (see `sync_flags`).
    pub flagged: bool,
    /// The payment this one corrects (a compensating entry from sync).
    pub corrects_id: Option<PaymentId>,
    pub user_name: String,
    /// The payer's phone on their account (hidden from other members: see
    /// `payments::visibility`).
    pub user_phone: Option<String>,
}

impl Payment {
    /// The payment `insert_payment` stored from `new`, as reading it back would give it: what
    /// the insert wrote, the columns it leaves at their defaults, and the payer's name and
    /// phone on their account (`user_name`, `user_phone`), which the caller has already read.
    pub fn recorded(new: NewPayment, user_name: String, user_phone: Option<String>) -> Self {
        Payment {
            id: new.id,
            tontine_id: new.tontine_id,
            session_id: new.session_id,
            member_id: new.member_id,
            user_id: new.user_id,
            amount: new.amount,
            method: new.method,
            status: new.status,
            operator_reference: None,
            operator_transaction_id: new.operator_transaction_id,
            phone_number: new.phone_number,
            proof_url: new.proof_url,
            proof_description: new.proof_description,
            validated_by_id: None,
            validated_at: None,
            rejection_reason: None,
            penalty_amount: new.penalty_amount,
            is_late: new.is_late,
            recorded_by_id: new.recorded_by_id,
            device_id: new.device_id,
            receipt_code: None,
            notes: new.notes,
            initiated_at: new.now,
            completed_at: None,
            created_at: new.now,
            flagged: false,
            corrects_id: None,
            user_name,
            user_phone,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewPayment {
    pub id: PaymentId,
    pub tontine_id: TontineId,
    pub session_id: SessionId,
    pub member_id: MemberId,
    pub user_id: UserId,
    pub amount: Amount,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    pub operator_transaction_id: Option<String>,
    pub phone_number: Option<String>,
    pub proof_url: Option<String>,
    pub proof_description: Option<String>,
    pub penalty_amount: Amount,
    pub is_late: bool,
    pub recorded_by_id: UserId,
    pub device_id: Option<Uuid>,
    pub notes: Option<String>,
    pub now: Timestamp,
}

/// Which payments a list shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct PaymentFilter {
    pub tontine_id: Option<TontineId>,
    pub session_id: Option<SessionId>,
    pub user_id: Option<UserId>,
    pub status: Option<PaymentStatus>,
}

/// The outcome of a validation decided by the caller: approve (with the receipt code for
/// cash) or reject (with a reason).
#[derive(Debug, Clone)]
pub struct PaymentDecision {
    pub id: PaymentId,
    pub to: PaymentStatus,
    pub validator: UserId,
    pub receipt_code: Option<String>,
    pub rejection_reason: Option<String>,
    pub audit: NewAudit,
    pub notifications: Vec<NewNotification>,
    pub now: Timestamp,
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct PaymentRow {
    id: Uuid,
    tontine_id: Uuid,
    session_id: Uuid,
    member_id: Uuid,
    user_id: Uuid,
    amount: DbDecimal,
    currency: String,
    method: String,
    status: String,
    operator_reference: Option<String>,
    operator_transaction_id: Option<String>,
    phone_number: Option<String>,
    proof_url: Option<String>,
    proof_description: Option<String>,
    validated_by_id: Option<Uuid>,
    validated_at: Option<DateTime<Utc>>,
    rejection_reason: Option<String>,
    penalty_amount: DbDecimal,
    is_late: bool,
    recorded_by_id: Uuid,
    device_id: Option<Uuid>,
    receipt_code: Option<String>,
    notes: Option<String>,
    initiated_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    flagged: bool,
    corrects_id: Option<Uuid>,
    first_name: String,
    last_name: String,
    user_phone: String,
}

impl TryFrom<PaymentRow> for Payment {
    type Error = StoreError;

    fn try_from(r: PaymentRow) -> Result<Self, StoreError> {
        let currency = Currency::parse(&r.currency).map_err(StoreError::corrupt)?;
        let amount = |d: DbDecimal| Amount::new(d.0, currency).map_err(StoreError::corrupt);
        Ok(Payment {
            id: PaymentId::from_uuid(r.id),
            tontine_id: TontineId::from_uuid(r.tontine_id),
            session_id: SessionId::from_uuid(r.session_id),
            member_id: MemberId::from_uuid(r.member_id),
            user_id: UserId::from_uuid(r.user_id),
            amount: amount(r.amount)?,
            method: r.method.parse().map_err(StoreError::corrupt)?,
            status: r.status.parse().map_err(StoreError::corrupt)?,
            operator_reference: r.operator_reference,
            operator_transaction_id: r.operator_transaction_id,
            phone_number: r.phone_number,
            proof_url: r.proof_url,
            proof_description: r.proof_description,
            validated_by_id: r.validated_by_id.map(UserId::from_uuid),
            validated_at: r.validated_at,
            rejection_reason: r.rejection_reason,
            penalty_amount: amount(r.penalty_amount)?,
            is_late: r.is_late,
            recorded_by_id: UserId::from_uuid(r.recorded_by_id),
            device_id: r.device_id,
            receipt_code: r.receipt_code,
            notes: r.notes,
            initiated_at: r.initiated_at,
            completed_at: r.completed_at,
            created_at: r.created_at,
            flagged: r.flagged,
            corrects_id: r.corrects_id.map(PaymentId::from_uuid),
            user_name: format!("{} {}", r.first_name, r.last_name),
            user_phone: Some(r.user_phone),
        })
    }
}

macro_rules! payment_columns {
    () => {
        "p.id, p.tontine_id, p.session_id, p.member_id, p.user_id, p.amount, p.currency, \
         p.method, p.status, p.operator_reference, p.operator_transaction_id, p.phone_number, \
         p.proof_url, p.proof_description, p.validated_by_id, p.validated_at, p.rejection_reason, \
         p.penalty_amount, p.is_late, p.recorded_by_id, p.device_id, p.receipt_code, p.notes, \
         p.initiated_at, p.completed_at, p.created_at, p.flagged, p.corrects_id, u.first_name, u.last_name, \
         u.phone AS user_phone, p.provider, p.callback_secret, p.payment_url "
    };
}

macro_rules! payment_select {
    () => {
        concat!(
            "SELECT ",
            $crate::payments::payment_columns!(),
            "FROM payments p JOIN users u ON u.id = p.user_id "
        )
    };
}

/// A row of a listing's page, with the number of rows the filters select (the page's total).
#[derive(Debug, sqlx::FromRow)]
pub(super) struct ListedRow {
    #[sqlx(flatten)]
    pub(super) row: PaymentRow,
    pub(super) listed_total: i64,
}

/// Adds `WHERE` with the filters that are set, each an indexable equality: a filter written
/// as `($1 IS NULL OR p.session_id = $1)` is one statement for every combination, but
/// PostgreSQL's generic plan for it cannot use an index, and a session's payments were read
/// by scanning every payment.
pub(super) fn push_filter<DB>(query: &mut sqlx::QueryBuilder<DB>, f: &PaymentFilter)
where
    DB: sqlx::Database,
    Uuid: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    &'static str: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    let mut glue = " WHERE ";
    let ids = [
        ("p.tontine_id = ", f.tontine_id.map(|x| x.as_uuid())),
        ("p.session_id = ", f.session_id.map(|x| x.as_uuid())),
        ("p.user_id = ", f.user_id.map(|x| x.as_uuid())),
    ];
    for (column, id) in ids {
        if let Some(id) = id {
            query.push(glue).push(column).push_bind(id);
            glue = " AND ";
        }
    }
    if let Some(status) = f.status {
        query
            .push(glue)
            .push("p.status = ")
            .push_bind(status.as_str());
    }
}

/// The head of a listing's page query (its filters, order and page follow): the rows, each
/// with the total that the filters select, so that a page takes one statement.
pub(super) const LIST_HEAD: &str = concat!(
    "SELECT ",
    payment_columns!(),
    ", COUNT(*) OVER () AS listed_total FROM payments p JOIN users u ON u.id = p.user_id"
);
/// The head of a listing's count query.
pub(super) const COUNT_HEAD: &str = "SELECT COUNT(*) FROM payments p";
/// A listing's order, newest first; LIMIT and OFFSET follow.
pub(super) const LIST_ORDER: &str = " ORDER BY p.created_at DESC, p.id DESC LIMIT ";

pub(super) struct PaymentQueries {
    /// Binds the 20 columns of a new payment (see `insert_payment`).
    pub insert: &'static str,
    /// Binds a new payment like `insert`, then its audit entry like the audit `insert`: both
    /// rows in one statement, its own transaction (one round trip instead of four). `None` on
    /// SQLite, which has no data-modifying `WITH` and no round trips to save.
    pub insert_with_audit: Option<&'static str>,
    pub by_id: &'static str,
    /// Binds: tontine. Every payment of the tontine (for sync's scope checksum).
    pub of_tontine: &'static str,
    /// Binds: the engine's id list. The payments with these ids.
    pub by_ids: &'static str,
    /// Binds: id, new status, validator, receipt code, rejection reason, now, old status.
    pub decide: &'static str,
    /// Binds: session id. Reads (and on PostgreSQL locks) the collected amount.
    pub session_collected: &'static str,
    /// Binds: session id, new collected amount, now.
    pub set_session_collected: &'static str,
    /// Binds: member id. Reads (and on PostgreSQL locks) the member's contributions.
    pub member_total: &'static str,
    /// Binds: member id, new total.
    pub set_member_total: &'static str,
    /// Binds: id, new status, now, old status. A status change with no other effect (a
    /// refund's, whose money [`debit_payment`] moves).
    pub set_status: &'static str,
}

/// The PostgreSQL form of `by_ids`.
pub(super) const BY_IDS_POSTGRES: &str = concat!(payment_select!(), "WHERE p.id = ANY($1)");

pub(super) const SHARED: PaymentQueries = PaymentQueries {
    insert_with_audit: None,
    insert: "INSERT INTO payments (id, tontine_id, session_id, member_id, user_id, amount, \
        currency, method, status, operator_transaction_id, phone_number, proof_url, \
        proof_description, penalty_amount, is_late, recorded_by_id, device_id, notes, \
        initiated_at, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
        $19, $19, $19)",
    by_id: concat!(payment_select!(), "WHERE p.id = $1"),
    of_tontine: concat!(payment_select!(), "WHERE p.tontine_id = $1 ORDER BY p.id"),
    by_ids: concat!(
        payment_select!(),
        "WHERE p.id IN (SELECT unhex(replace(value, '-', '')) FROM json_each($1))"
    ),
    decide: "UPDATE payments SET status = $2, validated_by_id = $3, validated_at = $6, \
        receipt_code = $4, rejection_reason = $5, completed_at = $6, updated_at = $6 \
        WHERE id = $1 AND status = $7",
    session_collected: "SELECT collected_amount FROM sessions WHERE id = $1",
    set_session_collected: "UPDATE sessions SET collected_amount = $2, updated_at = $3 WHERE id = $1",
    member_total: "SELECT total_contributions FROM members WHERE id = $1",
    set_member_total: "UPDATE members SET total_contributions = $2 WHERE id = $1",
    set_status: "UPDATE payments SET status = $2, updated_at = $3 WHERE id = $1 AND status = $4",
};

/// Binds the 19 values of a new payment, in the order of `PaymentQueries::insert` (the sync
/// insert binds three more after them).
/// Binds a payment's columns in the order of `insert`: with `bind` on a query, or with
/// `push_bind` on a row of a multi-row insert.
macro_rules! bind_new_payment {
    ($query:expr, $p:expr) => {
        $crate::payments::bind_new_payment!($query, $p, bind)
    };
    ($query:expr, $p:expr, $bind:ident) => {
        $query
            .$bind($p.id.as_uuid())
            .$bind($p.tontine_id.as_uuid())
            .$bind($p.session_id.as_uuid())
            .$bind($p.member_id.as_uuid())
            .$bind($p.user_id.as_uuid())
            .$bind($crate::DbDecimal($p.amount.value()))
            .$bind($p.amount.currency().as_str())
            .$bind($p.method.as_str())
            .$bind($p.status.as_str())
            .$bind($p.operator_transaction_id.as_deref())
            .$bind($p.phone_number.as_deref())
            .$bind($p.proof_url.as_deref())
            .$bind($p.proof_description.as_deref())
            .$bind($crate::DbDecimal($p.penalty_amount.value()))
            .$bind($p.is_late)
            .$bind($p.recorded_by_id.as_uuid())
            .$bind($p.device_id)
            .$bind($p.notes.as_deref())
            .$bind($p.now)
    };
}
pub(super) use bind_new_payment;
pub(super) use payment_columns;
pub(super) use payment_select;

/// Adds a payment being validated to its session's `collected_amount` and its member's
/// `total_contributions`, inside the caller's transaction `$tx` (rows locked on PostgreSQL).
/// Every path that validates a payment (a treasurer's decision, a provider's confirmation)
/// goes through it; [`debit_payment`] takes a validated payment back out.
macro_rules! credit_payment {
    ($tx:expr, $q:expr, $payment:expr, $now:expr) => {
        $crate::payments::move_payment!($tx, $q, $payment, $now, checked_add)
    };
}

/// Takes a validated payment that is being refunded (a reviewed correction) out of its
/// session's `collected_amount` and its member's `total_contributions`.
macro_rules! debit_payment {
    ($tx:expr, $q:expr, $payment:expr, $now:expr) => {
        $crate::payments::move_payment!($tx, $q, $payment, $now, checked_sub)
    };
}

/// The body of [`credit_payment`] and [`debit_payment`]: `$op` is `checked_add` or
/// `checked_sub`.
macro_rules! move_payment {
    ($tx:expr, $q:expr, $payment:expr, $now:expr, $op:ident) => {{
        let apply = |current: $crate::DbDecimal| {
            current
                .0
                .$op($payment.amount.value())
                .map($crate::DbDecimal)
                .ok_or_else(|| $crate::StoreError::corrupt("amount overflow"))
        };
        let collected: $crate::DbDecimal = sqlx::query_scalar($q.session_collected)
            .bind($payment.session_id.as_uuid())
            .fetch_one(&mut *$tx)
            .await?;
        sqlx::query($q.set_session_collected)
            .bind($payment.session_id.as_uuid())
            .bind(apply(collected)?)
            .bind($now)
            .execute(&mut *$tx)
            .await?;
        let total: $crate::DbDecimal = sqlx::query_scalar($q.member_total)
            .bind($payment.member_id.as_uuid())
            .fetch_one(&mut *$tx)
            .await?;
        sqlx::query($q.set_member_total)
            .bind($payment.member_id.as_uuid())
            .bind(apply(total)?)
            .execute(&mut *$tx)
            .await?;
    }};
}
pub(super) use credit_payment;
pub(super) use debit_payment;
pub(super) use move_payment;

macro_rules! impl_payment_store {
    ($store:ty, $q:expr, $aq:expr, $nq:expr) => {
        #[async_trait::async_trait]
        impl $crate::PaymentStore for $store {
            async fn insert_payment(
                &self,
                p: &$crate::NewPayment,
                audit: &$crate::NewAudit,
                notifications: &[$crate::NewNotification],
            ) -> $crate::StoreResult<()> {
                if let (Some(sql), true) = ($q.insert_with_audit, notifications.is_empty()) {
                    let query = $crate::payments::bind_new_payment!(sqlx::query(sql), p);
                    $crate::audit::bind_audit!(query, audit, bind)
                        .execute(self.writer())
                        .await?;
                    return Ok(());
                }
                let mut tx = self.writer().begin().await?;
                $crate::payments::bind_new_payment!(sqlx::query($q.insert), p)
                    .execute(&mut *tx)
                    .await?;
                $crate::audit::insert_audit!(&mut *tx, $aq, audit);
                $crate::notifications::insert_notifications!(tx, $nq, notifications);
                tx.commit().await?;
                Ok(())
            }

            async fn payment_by_id(
                &self,
                id: kobiri_core::PaymentId,
            ) -> $crate::StoreResult<Option<$crate::Payment>> {
                let row: Option<$crate::payments::PaymentRow> = sqlx::query_as($q.by_id)
                    .bind(id.as_uuid())
                    .fetch_optional(self.writer())
                    .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn list_payments(
                &self,
                f: $crate::PaymentFilter,
                page: $crate::PageRequest,
            ) -> $crate::StoreResult<$crate::Page<$crate::Payment>> {
                let mut list = sqlx::QueryBuilder::new($crate::payments::LIST_HEAD);
                $crate::payments::push_filter(&mut list, &f);
                list.push($crate::payments::LIST_ORDER)
                    .push_bind(page.limit())
                    .push(" OFFSET ")
                    .push_bind(page.offset());
                let rows: Vec<$crate::payments::ListedRow> =
                    list.build_query_as().fetch_all(self.reader()).await?;
                let total = match rows.first() {
                    Some(first) => first.listed_total,
                    // A page past the end: count on its own.
                    None => {
                        let mut count = sqlx::QueryBuilder::new($crate::payments::COUNT_HEAD);
                        $crate::payments::push_filter(&mut count, &f);
                        count.build_query_scalar().fetch_one(self.reader()).await?
                    }
                };
                let items = rows
                    .into_iter()
                    .map(|r| $crate::Payment::try_from(r.row))
                    .collect::<$crate::StoreResult<Vec<_>>>()?;
                Ok($crate::Page::new(
                    items,
                    u64::try_from(total).unwrap_or(0),
                    page,
                ))
            }

            async fn payments_of_tontine(
                &self,
                tontine: kobiri_core::TontineId,
            ) -> $crate::StoreResult<Vec<$crate::Payment>> {
                let rows: Vec<$crate::payments::PaymentRow> = sqlx::query_as($q.of_tontine)
                    .bind(tontine.as_uuid())
                    .fetch_all(self.reader())
                    .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn payments_by_ids(
                &self,
                ids: &[kobiri_core::PaymentId],
            ) -> $crate::StoreResult<Vec<$crate::Payment>> {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let ids: Vec<uuid::Uuid> = ids.iter().map(|i| i.as_uuid()).collect();
                let rows: Vec<$crate::payments::PaymentRow> = sqlx::query_as($q.by_ids)
                    .bind(Self::id_list(&ids))
                    .fetch_all(self.reader())
                    .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn decide_payment(
                &self,
                d: &$crate::PaymentDecision,
            ) -> $crate::StoreResult<Option<$crate::Payment>> {
                let mut tx = self.writer().begin().await?;
                let row: Option<$crate::payments::PaymentRow> = sqlx::query_as($q.by_id)
                    .bind(d.id.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(payment) = row.map($crate::Payment::try_from).transpose()? else {
                    return Err($crate::StoreError::NotFound);
                };
                let done = sqlx::query($q.decide)
                    .bind(d.id.as_uuid())
                    .bind(d.to.as_str())
                    .bind(d.validator.as_uuid())
                    .bind(d.receipt_code.as_deref())
                    .bind(d.rejection_reason.as_deref())
                    .bind(d.now)
                    .bind(kobiri_core::PaymentStatus::EnAttente.as_str())
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    // Decided meanwhile by someone else: the loser of the race changes nothing.
                    return Ok(None);
                }
                if d.to == kobiri_core::PaymentStatus::Valide {
                    $crate::payments::credit_payment!(tx, $q, payment, d.now);
                }
                $crate::audit::insert_audit!(&mut *tx, $aq, d.audit);
                $crate::notifications::insert_notifications!(tx, $nq, d.notifications);
                tx.commit().await?;
                self.payment_by_id(d.id).await
            }
        }
    };
}
pub(super) use impl_payment_store;
