// Over 400 lines on purpose: an aggregate's rows, its SQL for both engines and the macro that binds
// them stay together (one file per aggregate, as lib.rs describes).
//! Mobile money: payments collected and payouts sent through a provider, and the polling
//! queue (`mobile_money_polls`) that confirms both with the provider's status API.
//!
//! A payment is stored `en_cours` with its provider and its poll row before the provider is
//! called; settling it (from a callback or a poll) is one transaction guarded by `en_cours`
//! that writes the status, the session and member totals, the audit entry, the notifications,
//! and deletes the poll row. Payouts follow the same shape on the passage row, with
//! `payout_key` (unique) as the idempotency key.

use kobiri_core::{Amount, MemberId, PassageId, PaymentId, PaymentStatus, PayoutMethod, TontineId};
use uuid::Uuid;

use super::payments::PaymentRow;
use super::{NewAudit, NewNotification, Payment, StoreError, Timestamp};
use kobiri_core::Provider;

/// A payment initiated through a provider, with what the provider gave at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MobilePayment {
    pub payment: Payment,
    pub provider: Provider,
    /// Orange's `notif_token`: a callback must present it.
    pub callback_secret: Option<String>,
    pub payment_url: Option<String>,
}

/// What a provider answered to a payment start, to store with the payment.
#[derive(Debug, Clone)]
pub struct PaymentStart {
    pub id: PaymentId,
    pub operator_reference: String,
    pub payment_url: Option<String>,
    pub callback_secret: Option<String>,
    pub now: Timestamp,
}

/// The end of a mobile-money payment: `valide` or `echoue`, applied only while `en_cours`.
#[derive(Debug, Clone)]
pub struct Settlement {
    pub id: PaymentId,
    pub to: PaymentStatus,
    pub transaction_id: Option<String>,
    pub reason: Option<String>,
    pub audit: NewAudit,
    pub notifications: Vec<NewNotification>,
    pub now: Timestamp,
}

/// Whether a poll row is about a payment or a payout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollKind {
    Payment,
    Payout,
}

impl PollKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PollKind::Payment => "payment",
            PollKind::Payout => "payout",
        }
    }
}

/// A poll claimed by one worker until its lease ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollTicket {
    /// The payment id, or the payout's key.
    pub id: Uuid,
    pub kind: PollKind,
    pub provider: Provider,
    pub started_at: Timestamp,
    /// Claims so far, this one included.
    pub attempts: u32,
}

/// A payout to send through a provider: reserves the passage's idempotency key.
#[derive(Debug, Clone)]
pub struct PayoutReservation {
    pub passage: PassageId,
    pub tontine_id: TontineId,
    pub key: Uuid,
    pub provider: Provider,
    pub method: PayoutMethod,
    pub phone: String,
    pub amount: Amount,
    /// The pot the payout comes out of: refused unless `amount` fits in what remains of it.
    pub pot: Option<kobiri_core::PotScope>,
    /// A second manager's approval, marked given in the same transaction.
    pub approval: Option<super::Approval>,
    pub audit: NewAudit,
    pub now: Timestamp,
}

/// A payout sent through a provider, as stored on its passage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MobilePayout {
    pub passage: PassageId,
    pub tontine_id: TontineId,
    pub member_id: MemberId,
    pub key: Uuid,
    pub provider: Provider,
    pub status: PaymentStatus,
    pub operator_reference: Option<String>,
    pub phone: String,
    pub amount: Amount,
}

/// The end of a payout; success completes the passage and credits the member's
/// `total_received`. Applied only while the payout is `en_cours` under this key.
#[derive(Debug, Clone)]
pub struct PayoutSettlement {
    pub payout: MobilePayout,
    pub succeeded: bool,
    pub reason: Option<String>,
    pub audit: NewAudit,
    pub notifications: Vec<NewNotification>,
    pub now: Timestamp,
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct MobilePaymentRow {
    #[sqlx(flatten)]
    payment: PaymentRow,
    provider: String,
    callback_secret: Option<String>,
    payment_url: Option<String>,
}

impl TryFrom<MobilePaymentRow> for MobilePayment {
    type Error = StoreError;

    fn try_from(r: MobilePaymentRow) -> Result<Self, StoreError> {
        Ok(MobilePayment {
            payment: r.payment.try_into()?,
            provider: r.provider.parse().map_err(StoreError::corrupt)?,
            callback_secret: r.callback_secret,
            payment_url: r.payment_url,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct PollRow {
    id: Uuid,
    kind: String,
    provider: String,
    started_at: Timestamp,
    attempts: i32,
}

impl TryFrom<PollRow> for PollTicket {
    type Error = StoreError;

    fn try_from(r: PollRow) -> Result<Self, StoreError> {
        let kind = match r.kind.as_str() {
            "payment" => PollKind::Payment,
            "payout" => PollKind::Payout,
            other => return Err(StoreError::corrupt(format!("poll kind {other}"))),
        };
        Ok(PollTicket {
            id: r.id,
            kind,
            provider: r.provider.parse().map_err(StoreError::corrupt)?,
            started_at: r.started_at,
            attempts: u32::try_from(r.attempts).unwrap_or(0),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct PayoutRow {
    id: Uuid,
    tontine_id: Uuid,
    member_id: Uuid,
    payout_key: Uuid,
    payout_provider: String,
    payout_status: String,
    payout_reference: Option<String>,
    payout_phone: Option<String>,
    payout_amount: Option<super::DbDecimal>,
    currency: String,
}

impl TryFrom<PayoutRow> for MobilePayout {
    type Error = StoreError;

    fn try_from(r: PayoutRow) -> Result<Self, StoreError> {
        let currency = kobiri_core::Currency::parse(&r.currency).map_err(StoreError::corrupt)?;
        let amount = r
            .payout_amount
            .ok_or_else(|| StoreError::corrupt("payout without amount"))?;
        Ok(MobilePayout {
            passage: PassageId::from_uuid(r.id),
            tontine_id: TontineId::from_uuid(r.tontine_id),
            member_id: MemberId::from_uuid(r.member_id),
            key: r.payout_key,
            provider: r.payout_provider.parse().map_err(StoreError::corrupt)?,
            status: r.payout_status.parse().map_err(StoreError::corrupt)?,
            operator_reference: r.payout_reference,
            phone: r.payout_phone.unwrap_or_default(),
            amount: Amount::new(amount.0, currency).map_err(StoreError::corrupt)?,
        })
    }
}

macro_rules! payout_select {
    () => {
        "SELECT p.id, p.tontine_id, p.member_id, p.payout_key, p.payout_provider, \
         p.payout_status, p.payout_reference, p.payout_phone, p.payout_amount, t.currency \
         FROM passages p JOIN tontines t ON t.id = p.tontine_id "
    };
}

pub(super) struct MobileMoneyQueries {
    /// Binds: id, provider.
    pub set_provider: &'static str,
    /// Binds: id, kind, provider, started_at, next_poll_at.
    pub insert_poll: &'static str,
    /// Binds: id.
    pub by_id: &'static str,
    /// Binds: provider, operator reference.
    pub by_operator_reference: &'static str,
    /// Binds: id, operator reference, payment url, callback secret, now.
    pub record_start: &'static str,
    /// Binds: id, new status, transaction id, reason, now, validated_at; guarded by `en_cours`
    /// ($7).
    pub settle: &'static str,
    /// Binds: id.
    pub delete_poll: &'static str,
    /// Binds: now, lease end, limit. Returns the claimed rows.
    pub claim: &'static str,
    /// Binds: id, next poll.
    pub reschedule: &'static str,
    /// Binds: passage, key, provider, method, phone, amount, now, en_cours ($8), the failed
    /// payout status ($9), the pot's session ($10). Only while no payout is recorded or live.
    pub reserve_payout: &'static str,
    /// Binds: key.
    pub payout_by_key: &'static str,
    /// Binds: key, operator reference, now.
    pub record_payout_start: &'static str,
    /// Binds: key, complete status, now, date; guarded by payout status `en_cours` ($5); the
    /// `valide` payout status ($6).
    pub payout_succeeded: &'static str,
    /// Binds: key, reason, now; guarded by payout status `en_cours` ($4); the `echoue` payout
    /// status ($5).
    pub payout_failed: &'static str,
}

pub(super) const SHARED: MobileMoneyQueries = MobileMoneyQueries {
    set_provider: "UPDATE payments SET provider = $2 WHERE id = $1",
    insert_poll: "INSERT INTO mobile_money_polls (id, kind, provider, started_at, next_poll_at) \
        VALUES ($1, $2, $3, $4, $5)",
    by_id: concat!(
        super::payments::payment_select!(),
        "WHERE p.id = $1 AND p.provider IS NOT NULL"
    ),
    by_operator_reference: concat!(
        super::payments::payment_select!(),
        "WHERE p.provider = $1 AND p.operator_reference = $2"
    ),
    record_start: "UPDATE payments SET operator_reference = $2, payment_url = $3, \
        callback_secret = $4, updated_at = $5 WHERE id = $1",
    settle: "UPDATE payments SET status = $2, \
        operator_transaction_id = COALESCE($3, operator_transaction_id), rejection_reason = $4, \
        completed_at = $5, validated_at = $6, updated_at = $5 WHERE id = $1 AND status = $7",
    delete_poll: "DELETE FROM mobile_money_polls WHERE id = $1",
    // SQLite has one writer: the UPDATE is atomic, no row lock is needed.
    claim: "UPDATE mobile_money_polls SET locked_until = $2, attempts = attempts + 1 \
        WHERE id IN (SELECT id FROM mobile_money_polls WHERE next_poll_at <= $1 \
        AND (locked_until IS NULL OR locked_until <= $1) ORDER BY next_poll_at, id LIMIT $3) \
        RETURNING id, kind, provider, started_at, attempts",
    reschedule: "UPDATE mobile_money_polls SET next_poll_at = $2, locked_until = NULL \
        WHERE id = $1",
    reserve_payout: "UPDATE passages SET payout_key = $2, payout_provider = $3, \
        payout_method = $4, payout_phone = $5, payout_amount = $6, payout_status = $8, \
        payout_reference = NULL, payout_failure = NULL, updated_at = $7, \
        session_id = COALESCE(session_id, $10) \
        WHERE id = $1 AND status = $8 AND paid_at IS NULL \
        AND (payout_key IS NULL OR payout_status = $9)",
    payout_by_key: concat!(payout_select!(), "WHERE p.payout_key = $1"),
    record_payout_start: "UPDATE passages SET payout_reference = $2, updated_at = $3 \
        WHERE payout_key = $1",
    payout_succeeded: "UPDATE passages SET payout_status = $6, status = $2, \
        paid_at = $3, actual_date = COALESCE(actual_date, $4), amount_received = payout_amount, \
        confirmed_at = $3, updated_at = $3 WHERE payout_key = $1 AND payout_status = $5",
    payout_failed: "UPDATE passages SET payout_status = $5, payout_failure = $2, \
        updated_at = $3 WHERE payout_key = $1 AND payout_status = $4",
};

/// Claims skip rows another worker holds, so replicas share the queue without blocking.
pub(super) const POSTGRES: MobileMoneyQueries = MobileMoneyQueries {
    claim: "UPDATE mobile_money_polls SET locked_until = $2, attempts = attempts + 1 \
        WHERE id IN (SELECT id FROM mobile_money_polls WHERE next_poll_at <= $1 \
        AND (locked_until IS NULL OR locked_until <= $1) ORDER BY next_poll_at, id LIMIT $3 \
        FOR UPDATE SKIP LOCKED) \
        RETURNING id, kind, provider, started_at, attempts",
    ..SHARED
};

/// Implements `MobileMoneyStore` for an engine's store, given its payment, mobile-money,
/// passage, audit and notification queries.
macro_rules! impl_mobile_money_store {
    ($store:ty, $pq:expr, $mq:expr, $passq:expr, $aq:expr, $nq:expr, $poq:expr) => {
        #[async_trait::async_trait]
        impl $crate::MobileMoneyStore for $store {
            async fn insert_mobile_payment(
                &self,
                p: &$crate::NewPayment,
                provider: kobiri_core::Provider,
                first_poll: $crate::Timestamp,
                audit: &$crate::NewAudit,
            ) -> $crate::StoreResult<$crate::Payment> {
                let mut tx = self.writer().begin().await?;
                $crate::payments::bind_new_payment!(sqlx::query($pq.insert), p)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query($mq.set_provider)
                    .bind(p.id.as_uuid())
                    .bind(provider.as_str())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query($mq.insert_poll)
                    .bind(p.id.as_uuid())
                    .bind($crate::PollKind::Payment.as_str())
                    .bind(provider.as_str())
                    .bind(p.now)
                    .bind(first_poll)
                    .execute(&mut *tx)
                    .await?;
                $crate::audit::insert_audit!(&mut *tx, $aq, audit);
                tx.commit().await?;
                $crate::PaymentStore::payment_by_id(self, p.id)
                    .await?
                    .ok_or($crate::StoreError::NotFound)
            }

            async fn record_payment_start(
                &self,
                s: &$crate::PaymentStart,
            ) -> $crate::StoreResult<()> {
                sqlx::query($mq.record_start)
                    .bind(s.id.as_uuid())
                    .bind(&s.operator_reference)
                    .bind(s.payment_url.as_deref())
                    .bind(s.callback_secret.as_deref())
                    .bind(s.now)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn mobile_payment(
                &self,
                id: kobiri_core::PaymentId,
            ) -> $crate::StoreResult<Option<$crate::MobilePayment>> {
                let row: Option<$crate::mobile_money::MobilePaymentRow> = sqlx::query_as($mq.by_id)
                    .bind(id.as_uuid())
                    .fetch_optional(self.writer())
                    .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn mobile_payment_by_operator_reference(
                &self,
                provider: kobiri_core::Provider,
                reference: &str,
            ) -> $crate::StoreResult<Option<$crate::MobilePayment>> {
                let row: Option<$crate::mobile_money::MobilePaymentRow> =
                    sqlx::query_as($mq.by_operator_reference)
                        .bind(provider.as_str())
                        .bind(reference)
                        .fetch_optional(self.writer())
                        .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn settle_payment(
                &self,
                s: &$crate::Settlement,
            ) -> $crate::StoreResult<Option<$crate::Payment>> {
                let mut tx = self.writer().begin().await?;
                let row: Option<$crate::payments::PaymentRow> = sqlx::query_as($pq.by_id)
                    .bind(s.id.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(payment) = row.map($crate::Payment::try_from).transpose()? else {
                    return Err($crate::StoreError::NotFound);
                };
                let valide = s.to == kobiri_core::PaymentStatus::Valide;
                let done = sqlx::query($mq.settle)
                    .bind(s.id.as_uuid())
                    .bind(s.to.as_str())
                    .bind(s.transaction_id.as_deref())
                    .bind(s.reason.as_deref())
                    .bind(s.now)
                    .bind(valide.then_some(s.now))
                    .bind(kobiri_core::PaymentStatus::EnCours.as_str())
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    // Settled meanwhile (a duplicate callback, another poller): nothing changes.
                    return Ok(None);
                }
                if valide {
                    $crate::payments::credit_payment!(tx, $pq, payment, s.now);
                }
                $crate::audit::insert_audit!(&mut *tx, $aq, s.audit);
                $crate::notifications::insert_notifications!(tx, $nq, s.notifications);
                sqlx::query($mq.delete_poll)
                    .bind(s.id.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                $crate::PaymentStore::payment_by_id(self, s.id).await
            }

            async fn claim_polls(
                &self,
                now: $crate::Timestamp,
                lease_until: $crate::Timestamp,
                limit: u32,
            ) -> $crate::StoreResult<Vec<$crate::PollTicket>> {
                let rows: Vec<$crate::mobile_money::PollRow> = sqlx::query_as($mq.claim)
                    .bind(now)
                    .bind(lease_until)
                    .bind(i64::from(limit))
                    .fetch_all(self.writer())
                    .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn reschedule_poll(
                &self,
                id: uuid::Uuid,
                next: $crate::Timestamp,
            ) -> $crate::StoreResult<()> {
                sqlx::query($mq.reschedule)
                    .bind(id)
                    .bind(next)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn reserve_payout(
                &self,
                r: &$crate::PayoutReservation,
            ) -> $crate::StoreResult<$crate::PassageWrite> {
                use $crate::PassageWrite as W;
                let mut tx = self.writer().begin().await?;
                let locked: Option<uuid::Uuid> = sqlx::query_scalar($passq.lock_tontine)
                    .bind(r.tontine_id.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await?;
                if locked.is_none() {
                    return Err($crate::StoreError::NotFound);
                }
                let pot = $crate::payouts::read_pot!(
                    tx,
                    $poq,
                    r.tontine_id,
                    r.pot,
                    r.passage,
                    r.amount.currency()
                );
                if let Err(refusal) = kobiri_core::check_payout(r.amount, &pot) {
                    return Ok(W::Refused(refusal));
                }
                if !$crate::payouts::apply_approval!(tx, $poq, r.approval, r.now) {
                    return Ok(W::Changed);
                }
                let done = sqlx::query($mq.reserve_payout)
                    .bind(r.passage.as_uuid())
                    .bind(r.key)
                    .bind(r.provider.as_str())
                    .bind(r.method.as_str())
                    .bind(&r.phone)
                    .bind($crate::DbDecimal(r.amount.value()))
                    .bind(r.now)
                    .bind(kobiri_core::PassageStatus::EnCours.as_str())
                    .bind(kobiri_core::PaymentStatus::Echoue.as_str())
                    .bind($crate::payouts::pot_session(r.pot))
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Ok(W::Changed);
                }
                sqlx::query($mq.insert_poll)
                    .bind(r.key)
                    .bind($crate::PollKind::Payout.as_str())
                    .bind(r.provider.as_str())
                    .bind(r.now)
                    .bind(r.now)
                    .execute(&mut *tx)
                    .await?;
                $crate::audit::insert_audit!(&mut *tx, $aq, r.audit);
                tx.commit().await?;
                Ok(W::Done)
            }

            async fn mobile_payout(
                &self,
                key: uuid::Uuid,
            ) -> $crate::StoreResult<Option<$crate::MobilePayout>> {
                let row: Option<$crate::mobile_money::PayoutRow> =
                    sqlx::query_as($mq.payout_by_key)
                        .bind(key)
                        .fetch_optional(self.writer())
                        .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn record_payout_start(
                &self,
                key: uuid::Uuid,
                operator_reference: &str,
                now: $crate::Timestamp,
            ) -> $crate::StoreResult<()> {
                sqlx::query($mq.record_payout_start)
                    .bind(key)
                    .bind(operator_reference)
                    .bind(now)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn settle_payout(
                &self,
                s: &$crate::PayoutSettlement,
            ) -> $crate::StoreResult<bool> {
                let mut tx = self.writer().begin().await?;
                let locked: Option<uuid::Uuid> = sqlx::query_scalar($passq.lock_tontine)
                    .bind(s.payout.tontine_id.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await?;
                if locked.is_none() {
                    return Err($crate::StoreError::NotFound);
                }
                let live = kobiri_core::PaymentStatus::EnCours.as_str();
                let done = if s.succeeded {
                    sqlx::query($mq.payout_succeeded)
                        .bind(s.payout.key)
                        .bind(kobiri_core::PassageStatus::Complete.as_str())
                        .bind(s.now)
                        .bind(s.now.date_naive())
                        .bind(live)
                        .bind(kobiri_core::PaymentStatus::Valide.as_str())
                        .execute(&mut *tx)
                        .await?
                } else {
                    sqlx::query($mq.payout_failed)
                        .bind(s.payout.key)
                        .bind(s.reason.as_deref())
                        .bind(s.now)
                        .bind(live)
                        .bind(kobiri_core::PaymentStatus::Echoue.as_str())
                        .execute(&mut *tx)
                        .await?
                };
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                if s.succeeded {
                    let total: $crate::DbDecimal = sqlx::query_scalar($passq.member_received)
                        .bind(s.payout.member_id.as_uuid())
                        .fetch_one(&mut *tx)
                        .await?;
                    let total = total
                        .0
                        .checked_add(s.payout.amount.value())
                        .ok_or_else(|| $crate::StoreError::corrupt("amount overflow"))?;
                    sqlx::query($passq.set_member_received)
                        .bind(s.payout.member_id.as_uuid())
                        .bind($crate::DbDecimal(total))
                        .execute(&mut *tx)
                        .await?;
                }
                $crate::audit::insert_audit!(&mut *tx, $aq, s.audit);
                $crate::notifications::insert_notifications!(tx, $nq, s.notifications);
                sqlx::query($mq.delete_poll)
                    .bind(s.payout.key)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(true)
            }
        }
    };
}
pub(super) use impl_mobile_money_store;
