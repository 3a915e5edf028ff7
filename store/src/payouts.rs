// Over 400 lines on purpose: an aggregate's rows, its SQL for both engines and the macro that binds
// them stay together (one file per aggregate, as lib.rs describes).
//! What bounds a payout: the pot of a passage (validated collections minus what already left
//! it, read in one place), the payout phones a beneficiary confirmed by code, and the payouts
//! waiting for a second manager's approval.
//!
//! The pot is read by [`read_pot!`] inside the transaction that records or sends a payout
//! (after the tontine row is locked on PostgreSQL; SQLite has one writer), so two payouts of
//! one pot never both pass the check.

use chrono::{DateTime, Utc};
use kobiri_core::{
    Amount, ApprovalReason, Currency, PassageId, PayoutMethod, Pot, TontineId, UserId,
};
use uuid::Uuid;

use super::{DbDecimal, NewAudit, StoreError, StoreResult, Timestamp};

/// The status of a payout request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStatus {
    /// Waits for a second manager.
    Pending,
    /// Approved: the payout was recorded or sent in the same transaction.
    Approved,
    Rejected,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "en_attente",
            RequestStatus::Approved => "approuve",
            RequestStatus::Rejected => "rejete",
        }
    }

    fn parse(s: &str) -> StoreResult<Self> {
        [
            RequestStatus::Pending,
            RequestStatus::Approved,
            RequestStatus::Rejected,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
        .ok_or_else(|| StoreError::corrupt(format!("payout request status {s}")))
    }
}

/// A payout that waits (or waited) for a second manager's approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutRequest {
    pub id: Uuid,
    pub passage_id: PassageId,
    pub tontine_id: TontineId,
    pub method: PayoutMethod,
    pub phone: Option<String>,
    pub reference: Option<String>,
    pub amount: Amount,
    pub reasons: Vec<ApprovalReason>,
    pub status: RequestStatus,
    pub requested_by: UserId,
    pub requested_at: Timestamp,
    pub decided_by: Option<UserId>,
    pub decided_at: Option<Timestamp>,
    pub rejection_reason: Option<String>,
}

/// A new payout request, with its audit entry.
#[derive(Debug, Clone)]
pub struct NewPayoutRequest {
    pub request: PayoutRequest,
    pub audit: NewAudit,
}

/// A second manager's approval, applied in the transaction of the payout it lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Approval {
    pub request: Uuid,
    pub by: UserId,
}

/// A request refused by a second manager, with its audit entry.
#[derive(Debug, Clone)]
pub struct PayoutRejection {
    pub request: Uuid,
    pub by: UserId,
    pub reason: String,
    pub audit: NewAudit,
    pub now: Timestamp,
}

/// A phone the beneficiary `user` proved they hold (by a code sent to it).
#[derive(Debug, Clone)]
pub struct NewPayoutPhone {
    pub user: UserId,
    pub phone: String,
    pub confirmed_by: UserId,
    pub audit: NewAudit,
    pub now: Timestamp,
}

/// The result of a guarded payout write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassageWrite {
    Done,
    /// The passage (or the approval) changed meanwhile: nothing written.
    Changed,
    /// The pot does not hold that much: nothing written.
    Refused(kobiri_core::PayoutRefusal),
}

/// A pot from the amounts read: validated payments, and payouts out of it.
pub(super) fn pot_from(
    currency: Currency,
    collected: Vec<DbDecimal>,
    paid_out: Vec<DbDecimal>,
) -> StoreResult<Pot> {
    let sum = |rows: Vec<DbDecimal>| -> StoreResult<Amount> {
        let amounts = rows
            .into_iter()
            .map(|d| Amount::new(d.0, currency))
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::corrupt)?;
        Amount::sum(currency, amounts).map_err(StoreError::corrupt)
    };
    Ok(Pot {
        collected: sum(collected)?,
        paid_out: sum(paid_out)?,
    })
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct RequestRow {
    id: Uuid,
    passage_id: Uuid,
    tontine_id: Uuid,
    payout_method: String,
    payout_phone: Option<String>,
    payout_reference: Option<String>,
    amount: DbDecimal,
    reasons: String,
    status: String,
    requested_by_id: Uuid,
    requested_at: DateTime<Utc>,
    decided_by_id: Option<Uuid>,
    decided_at: Option<DateTime<Utc>>,
    rejection_reason: Option<String>,
    currency: String,
}

impl TryFrom<RequestRow> for PayoutRequest {
    type Error = StoreError;

    fn try_from(r: RequestRow) -> StoreResult<Self> {
        let currency = Currency::parse(&r.currency).map_err(StoreError::corrupt)?;
        Ok(PayoutRequest {
            id: r.id,
            passage_id: PassageId::from_uuid(r.passage_id),
            tontine_id: TontineId::from_uuid(r.tontine_id),
            method: r.payout_method.parse().map_err(StoreError::corrupt)?,
            phone: r.payout_phone,
            reference: r.payout_reference,
            amount: Amount::new(r.amount.0, currency).map_err(StoreError::corrupt)?,
            reasons: r
                .reasons
                .split(',')
                .filter_map(ApprovalReason::parse)
                .collect(),
            status: RequestStatus::parse(&r.status)?,
            requested_by: UserId::from_uuid(r.requested_by_id),
            requested_at: r.requested_at,
            decided_by: r.decided_by_id.map(UserId::from_uuid),
            decided_at: r.decided_at,
            rejection_reason: r.rejection_reason,
        })
    }
}

/// The session a payout out of `scope` binds its passage to (none for the tontine's pot).
pub(super) fn pot_session(scope: Option<kobiri_core::PotScope>) -> Option<Uuid> {
    match scope {
        Some(kobiri_core::PotScope::Session(s)) => Some(s.as_uuid()),
        _ => None,
    }
}

/// The reasons as stored: comma-separated wire strings.
pub(super) fn reasons_text(reasons: &[ApprovalReason]) -> String {
    reasons
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

macro_rules! request_select {
    () => {
        "SELECT r.id, r.passage_id, r.tontine_id, r.payout_method, r.payout_phone, \
         r.payout_reference, r.amount, r.reasons, r.status, r.requested_by_id, r.requested_at, \
         r.decided_by_id, r.decided_at, r.rejection_reason, t.currency \
         FROM payout_requests r JOIN tontines t ON t.id = r.tontine_id "
    };
}

pub(super) struct PayoutQueries {
    /// Binds: session id, the `valide` status. The amounts of the session's validated payments.
    pub collected_in_session: &'static str,
    /// Binds: tontine id, the `valide` status.
    pub collected_in_tontine: &'static str,
    /// Binds: session id, passage to leave out, the live payout status. Payouts out of the
    /// session's pot: recorded, or live at a provider.
    pub paid_from_session: &'static str,
    /// Binds: tontine id, passage to leave out, the live payout status.
    pub paid_from_tontine: &'static str,
    /// Binds: passage id. Its recorded payout, if any.
    pub recorded_payout: &'static str,
    /// Binds: user id, phone.
    pub phone_confirmed: &'static str,
    /// Binds: user id, phone, confirmed_at, confirmed_by_id.
    pub confirm_phone: &'static str,
    /// Binds: id, passage, tontine, method, phone, reference, amount, reasons, status,
    /// requested_by, requested_at.
    pub insert_request: &'static str,
    /// Binds: passage id.
    pub list_requests: &'static str,
    /// Binds: id, new status, decided_by, decided_at, rejection_reason; guarded by the pending
    /// status ($6).
    pub decide_request: &'static str,
}

pub(super) const SHARED: PayoutQueries = PayoutQueries {
    collected_in_session: "SELECT amount FROM payments WHERE session_id = $1 AND status = $2",
    collected_in_tontine: "SELECT amount FROM payments WHERE tontine_id = $1 AND status = $2",
    paid_from_session: "SELECT payout_amount FROM passages WHERE session_id = $1 AND id <> $2 \
        AND payout_amount IS NOT NULL AND (paid_at IS NOT NULL OR payout_status = $3)",
    paid_from_tontine: "SELECT payout_amount FROM passages WHERE tontine_id = $1 AND id <> $2 \
        AND payout_amount IS NOT NULL AND (paid_at IS NOT NULL OR payout_status = $3)",
    recorded_payout: "SELECT payout_amount FROM passages WHERE id = $1 AND paid_at IS NOT NULL",
    phone_confirmed: "SELECT COUNT(*) FROM payout_phones WHERE user_id = $1 AND phone = $2",
    confirm_phone: "INSERT INTO payout_phones (user_id, phone, confirmed_at, confirmed_by_id) \
        VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, phone) \
        DO UPDATE SET confirmed_at = excluded.confirmed_at, \
        confirmed_by_id = excluded.confirmed_by_id",
    insert_request: "INSERT INTO payout_requests (id, passage_id, tontine_id, payout_method, \
        payout_phone, payout_reference, amount, reasons, status, requested_by_id, requested_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    list_requests: concat!(
        request_select!(),
        "WHERE r.passage_id = $1 ORDER BY r.requested_at DESC, r.id DESC"
    ),
    decide_request: "UPDATE payout_requests SET status = $2, decided_by_id = $3, \
        decided_at = $4, rejection_reason = $5 WHERE id = $1 AND status = $6",
};

/// Reads the pot of `$scope` (a `PotScope`) for a payout of passage `$passage` in tontine
/// `$tontine`, in `$currency`, through `$exec` (a transaction or a pool). Evaluates to a
/// `Pot`; `None` scope is an empty pot.
macro_rules! read_pot {
    ($exec:expr, $pq:expr, $tontine:expr, $scope:expr, $passage:expr, $currency:expr) => {{
        let valide = kobiri_core::PaymentStatus::Valide.as_str();
        let live = kobiri_core::PaymentStatus::EnCours.as_str();
        let passage: uuid::Uuid = $passage.as_uuid();
        let (collected, paid): (Vec<$crate::DbDecimal>, Vec<$crate::DbDecimal>) = match $scope {
            None => (Vec::new(), Vec::new()),
            Some(kobiri_core::PotScope::Session(s)) => (
                sqlx::query_scalar($pq.collected_in_session)
                    .bind(s.as_uuid())
                    .bind(valide)
                    .fetch_all(&mut *$exec)
                    .await?,
                sqlx::query_scalar($pq.paid_from_session)
                    .bind(s.as_uuid())
                    .bind(passage)
                    .bind(live)
                    .fetch_all(&mut *$exec)
                    .await?,
            ),
            Some(kobiri_core::PotScope::Tontine) => (
                sqlx::query_scalar($pq.collected_in_tontine)
                    .bind($tontine.as_uuid())
                    .bind(valide)
                    .fetch_all(&mut *$exec)
                    .await?,
                sqlx::query_scalar($pq.paid_from_tontine)
                    .bind($tontine.as_uuid())
                    .bind(passage)
                    .bind(live)
                    .fetch_all(&mut *$exec)
                    .await?,
            ),
        };
        $crate::payouts::pot_from($currency, collected, paid)?
    }};
}
pub(super) use read_pot;

/// Implements `PayoutStore` for an engine's store, given its payout and audit queries.
macro_rules! impl_payout_store {
    ($store:ty, $pq:expr, $aq:expr) => {
        #[async_trait::async_trait]
        impl $crate::PayoutStore for $store {
            async fn pot(
                &self,
                tontine: kobiri_core::TontineId,
                scope: Option<kobiri_core::PotScope>,
                passage: kobiri_core::PassageId,
                currency: kobiri_core::Currency,
            ) -> $crate::StoreResult<kobiri_core::Pot> {
                let mut conn = self.reader().acquire().await?;
                Ok($crate::payouts::read_pot!(
                    conn, $pq, tontine, scope, passage, currency
                ))
            }

            async fn payout_phone_confirmed(
                &self,
                user: kobiri_core::UserId,
                phone: &str,
            ) -> $crate::StoreResult<bool> {
                let count: i64 = sqlx::query_scalar($pq.phone_confirmed)
                    .bind(user.as_uuid())
                    .bind(phone)
                    .fetch_one(self.reader())
                    .await?;
                Ok(count > 0)
            }

            async fn confirm_payout_phone(
                &self,
                p: &$crate::NewPayoutPhone,
            ) -> $crate::StoreResult<()> {
                let mut tx = self.writer().begin().await?;
                sqlx::query($pq.confirm_phone)
                    .bind(p.user.as_uuid())
                    .bind(&p.phone)
                    .bind(p.now)
                    .bind(p.confirmed_by.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                $crate::audit::insert_audit!(&mut *tx, $aq, p.audit);
                tx.commit().await?;
                Ok(())
            }

            async fn insert_payout_request(
                &self,
                n: &$crate::NewPayoutRequest,
            ) -> $crate::StoreResult<bool> {
                let r = &n.request;
                let mut tx = self.writer().begin().await?;
                let inserted = sqlx::query($pq.insert_request)
                    .bind(r.id)
                    .bind(r.passage_id.as_uuid())
                    .bind(r.tontine_id.as_uuid())
                    .bind(r.method.as_str())
                    .bind(r.phone.as_deref())
                    .bind(r.reference.as_deref())
                    .bind($crate::DbDecimal(r.amount.value()))
                    .bind($crate::payouts::reasons_text(&r.reasons))
                    .bind(r.status.as_str())
                    .bind(r.requested_by.as_uuid())
                    .bind(r.requested_at)
                    .execute(&mut *tx)
                    .await;
                match inserted {
                    Ok(_) => {}
                    Err(e) => {
                        return match $crate::StoreError::from(e) {
                            $crate::StoreError::Conflict { .. } => Ok(false),
                            other => Err(other),
                        };
                    }
                }
                $crate::audit::insert_audit!(&mut *tx, $aq, n.audit);
                tx.commit().await?;
                Ok(true)
            }

            async fn payout_requests(
                &self,
                passage: kobiri_core::PassageId,
            ) -> $crate::StoreResult<Vec<$crate::PayoutRequest>> {
                let rows: Vec<$crate::payouts::RequestRow> = sqlx::query_as($pq.list_requests)
                    .bind(passage.as_uuid())
                    .fetch_all(self.writer())
                    .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn reject_payout_request(
                &self,
                r: &$crate::PayoutRejection,
            ) -> $crate::StoreResult<bool> {
                let mut tx = self.writer().begin().await?;
                let done = sqlx::query($pq.decide_request)
                    .bind(r.request)
                    .bind($crate::RequestStatus::Rejected.as_str())
                    .bind(r.by.as_uuid())
                    .bind(r.now)
                    .bind(Some(r.reason.as_str()))
                    .bind($crate::RequestStatus::Pending.as_str())
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                $crate::audit::insert_audit!(&mut *tx, $aq, r.audit);
                tx.commit().await?;
                Ok(true)
            }
        }
    };
}
pub(super) use impl_payout_store;

/// Marks the approval `$approval` (an `Option<Approval>`) given, inside `$tx`; evaluates to
/// `false` when the request is no longer pending.
macro_rules! apply_approval {
    ($tx:expr, $pq:expr, $approval:expr, $now:expr) => {{
        match $approval {
            None => true,
            Some(a) => {
                let done = sqlx::query($pq.decide_request)
                    .bind(a.request)
                    .bind($crate::RequestStatus::Approved.as_str())
                    .bind(a.by.as_uuid())
                    .bind($now)
                    .bind(None::<String>)
                    .bind($crate::RequestStatus::Pending.as_str())
                    .execute(&mut *$tx)
                    .await?;
                done.rows_affected() == 1
            }
        }
    }};
}
pub(super) use apply_approval;
