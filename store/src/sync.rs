// Over 400 lines on purpose: the sync store: its queries and the macro that runs a batch's
// transaction on both engines; moving that macro's body into generic functions is still to do
// (issue 15).
//! Sync: enrolled devices, the exactly-once mutation log, the change feed, the treasurers'
//! review queue (flags) and integrity incidents.
//!
//! A pushed batch is applied by [`SyncStore::apply_sync`] in one transaction: every effect,
//! its audit entry, the recorded outcome of each mutation and the device's new position in its
//! log commit together, guarded by the position the batch was planned from.

use chrono::{DateTime, Utc};
use kobiri_core::sync::Outcome;
use kobiri_core::{
    Amount, DeviceId, MemberId, PassageId, PaymentId, SessionId, SessionStatus, TontineId, UserId,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{NewAudit, NewMember, NewPayment, NewUser, StoreError, Timestamp};

/// An enrolled phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: DeviceId,
    pub user_id: UserId,
    pub name: String,
    pub platform: String,
    pub last_seq: u64,
    pub last_hash: [u8; 32],
    pub created_at: Timestamp,
    pub last_seen_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct NewDevice {
    pub id: DeviceId,
    pub user_id: UserId,
    pub name: String,
    pub platform: String,
    pub now: Timestamp,
}

/// A mutation already handled for a device: its hash and the outcome answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedMutation {
    pub seq: u64,
    pub hash: [u8; 32],
    pub outcome: Outcome,
}

/// A new payment from sync: the REST fields plus what only sync sets.
#[derive(Debug, Clone)]
pub struct SyncPayment {
    pub payment: NewPayment,
    /// `None` when the chain's code is already another payment's (flagged).
    pub receipt_code: Option<String>,
    pub flagged: bool,
    pub corrects: Option<PaymentId>,
}

/// A member added from a phone; `user` is set when the phone number has no account yet.
#[derive(Debug, Clone)]
pub struct SyncMember {
    pub user: Option<NewUser>,
    pub member: NewMember,
}

/// A beneficiary's confirmation of a payout, guarded by the passage's status.
#[derive(Debug, Clone)]
pub struct SyncPayoutConfirmation {
    pub passage: PassageId,
    pub member: MemberId,
    pub from: kobiri_core::PassageStatus,
    pub to: kobiri_core::PassageStatus,
    pub amount_received: Amount,
    pub date: chrono::NaiveDate,
}

/// A payment cancelled by a correction, guarded by its status.
#[derive(Debug, Clone)]
pub struct SyncCancellation {
    pub payment: PaymentId,
    pub from: kobiri_core::PaymentStatus,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct NewFlag {
    pub id: Uuid,
    pub tontine_id: TontineId,
    pub payment_id: Option<PaymentId>,
    pub device_id: DeviceId,
    pub seq: u64,
    pub code: &'static str,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct NewIncident {
    pub id: Uuid,
    pub tontine_id: Option<TontineId>,
    pub device_id: DeviceId,
    pub user_id: UserId,
    pub kind: &'static str,
    pub expected_seq: u64,
    pub received_seq: u64,
    pub detail: String,
}

/// One mutation's entry in the device's log.
#[derive(Debug, Clone)]
pub struct NewRecordedMutation {
    pub seq: u64,
    pub hash: [u8; 32],
    pub outcome: Outcome,
}

/// Everything one `POST /sync` writes, applied in one transaction.
#[derive(Debug, Clone)]
pub struct SyncBatch {
    pub device_id: DeviceId,
    /// The device's `last_seq` the batch was planned from; the write is refused if it moved.
    pub from_seq: u64,
    pub to_seq: u64,
    pub to_hash: [u8; 32],
    /// The mutations that moved the device from `from_seq` to `to_seq`, in order, without
    /// holes: logged as one row.
    pub recorded: Vec<NewRecordedMutation>,
    pub payments: Vec<SyncPayment>,
    pub cancellations: Vec<SyncCancellation>,
    pub members: Vec<SyncMember>,
    pub payouts: Vec<SyncPayoutConfirmation>,
    pub flags: Vec<NewFlag>,
    /// Incidents are kept even when the batch changes nothing else.
    pub incidents: Vec<NewIncident>,
    pub audits: Vec<NewAudit>,
    /// The job that sends the receipts of the cash this batch brought, if any: the member
    /// gets an SMS once the batch is in, without the batch writing each message.
    pub receipts: Option<super::NewJob>,
    /// Sessions whose status the plan relied on: the batch is refused if one changed.
    pub sessions: Vec<(SessionId, SessionStatus)>,
    pub now: Timestamp,
}

impl SyncBatch {
    /// The same log entries and incidents, and none of the effects: for mutations refused
    /// for good after planning, whose numbers still advance.
    pub fn without_effects(self) -> SyncBatch {
        SyncBatch {
            device_id: self.device_id,
            from_seq: self.from_seq,
            to_seq: self.to_seq,
            to_hash: self.to_hash,
            recorded: self.recorded,
            payments: Vec::new(),
            cancellations: Vec::new(),
            members: Vec::new(),
            payouts: Vec::new(),
            flags: Vec::new(),
            incidents: self.incidents,
            audits: Vec::new(),
            receipts: None,
            sessions: Vec::new(),
            now: self.now,
        }
    }
}

/// What became of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Done,
    /// The device's log or a session moved since the plan: plan again.
    Stale,
}

/// One entry of a scope's change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRef {
    pub entity: String,
    pub entity_id: Uuid,
    pub change_seq: u64,
    pub deleted: bool,
}

/// Where a scope's feed stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScopeState {
    pub last_seq: u64,
    pub min_seq: u64,
}

/// A live payment's key, for the one-payment-per-member-and-session rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentKey {
    pub id: PaymentId,
    pub member_id: MemberId,
    pub flagged: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub id: Uuid,
    pub tontine_id: TontineId,
    pub payment_id: Option<PaymentId>,
    pub device_id: DeviceId,
    pub seq: u64,
    pub code: String,
    pub reason: String,
    pub status: String,
    pub resolution: Option<String>,
    pub resolution_note: Option<String>,
    pub resolved_by_id: Option<UserId>,
    pub resolved_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// A treasurer's decision on a flag. Accepting a flagged payment makes it an ordinary pending
/// payment; rejecting cancels it (`annule`) with the note as its reason. Accepting a reviewed
/// correction also retires the payment it corrects: a pending one is cancelled, a validated
/// one is refunded (`rembourse`) and leaves its session's collected amount and its member's
/// contributions, in the same transaction.
#[derive(Debug, Clone)]
pub struct FlagResolution {
    pub flag: Uuid,
    pub accept: bool,
    pub note: String,
    pub by: UserId,
    pub payment: Option<PaymentId>,
    /// The payment a reviewed correction replaces or withdraws, retired on acceptance.
    pub retire: Option<PaymentId>,
    pub audit: NewAudit,
    pub now: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    pub id: Uuid,
    pub tontine_id: Option<TontineId>,
    pub device_id: DeviceId,
    pub user_id: UserId,
    pub kind: String,
    pub expected_seq: u64,
    pub received_seq: u64,
    pub detail: String,
    pub created_at: Timestamp,
}

pub(super) fn to_u64(n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(StoreError::corrupt)
}

pub(super) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(super) fn to_hash(b: Vec<u8>) -> Result<[u8; 32], StoreError> {
    b.try_into()
        .map_err(|_| StoreError::corrupt("hash is not 32 bytes"))
}

/// One batch's row in the device's log: its first number, the hash of each of its mutations
/// (32 bytes each, in order, so the last number is implied), and, as JSON, the outcomes that
/// were not `applied`. Nearly every mutation is applied: the row stays small.
#[derive(sqlx::FromRow)]
pub(super) struct LogRow {
    pub first_seq: i64,
    pub hashes: Vec<u8>,
    pub outcomes: String,
}

/// An outcome in [`LogRow::outcomes`]: `{"seq": 7, "outcome": "flagged", "reason": "…"}`.
#[derive(Serialize, Deserialize)]
struct LoggedOutcome {
    seq: u64,
    #[serde(flatten)]
    outcome: Outcome,
}

impl LogRow {
    /// The row logging `recorded`, which must be numbered without holes; `None` for none.
    pub(super) fn of(recorded: &[NewRecordedMutation]) -> Result<Option<LogRow>, StoreError> {
        let Some(first) = recorded.first() else {
            return Ok(None);
        };
        let mut hashes = Vec::with_capacity(recorded.len() * 32);
        let mut outcomes = Vec::new();
        for (expected, m) in (first.seq..).zip(recorded) {
            if m.seq != expected {
                return Err(StoreError::corrupt(format!(
                    "device log: mutation {} where {expected} was due",
                    m.seq
                )));
            }
            hashes.extend_from_slice(&m.hash);
            if m.outcome != Outcome::Applied {
                outcomes.push(LoggedOutcome {
                    seq: m.seq,
                    outcome: m.outcome.clone(),
                });
            }
        }
        Ok(Some(LogRow {
            first_seq: to_i64(first.seq),
            hashes,
            outcomes: serde_json::to_string(&outcomes).map_err(StoreError::corrupt)?,
        }))
    }

    pub(super) fn last_seq(&self) -> i64 {
        let count = i64::try_from(self.hashes.len() / 32).unwrap_or(i64::MAX);
        self.first_seq.saturating_add(count).saturating_sub(1)
    }

    /// Every mutation the row logs, with its outcome.
    pub(super) fn mutations(&self) -> Result<Vec<RecordedMutation>, StoreError> {
        let first = to_u64(self.first_seq)?;
        let logged: Vec<LoggedOutcome> =
            serde_json::from_str(&self.outcomes).map_err(StoreError::corrupt)?;
        let mut outcomes: std::collections::HashMap<u64, Outcome> =
            logged.into_iter().map(|l| (l.seq, l.outcome)).collect();
        let chunks = self.hashes.chunks_exact(32);
        if !chunks.remainder().is_empty() {
            return Err(StoreError::corrupt(
                "device log: hashes are not 32 bytes each",
            ));
        }
        (first..)
            .zip(chunks)
            .map(|(seq, hash)| {
                Ok(RecordedMutation {
                    seq,
                    hash: to_hash(hash.to_vec())?,
                    outcome: outcomes.remove(&seq).unwrap_or(Outcome::Applied),
                })
            })
            .collect()
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct DeviceRow {
    id: Uuid,
    user_id: Uuid,
    name: String,
    platform: String,
    last_seq: i64,
    last_hash: Vec<u8>,
    created_at: DateTime<Utc>,
    last_seen_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<DeviceRow> for Device {
    type Error = StoreError;

    fn try_from(r: DeviceRow) -> Result<Self, StoreError> {
        Ok(Device {
            id: DeviceId::from_uuid(r.id),
            user_id: UserId::from_uuid(r.user_id),
            name: r.name,
            platform: r.platform,
            last_seq: to_u64(r.last_seq)?,
            last_hash: to_hash(r.last_hash)?,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            revoked_at: r.revoked_at,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct FlagRow {
    id: Uuid,
    tontine_id: Uuid,
    payment_id: Option<Uuid>,
    device_id: Uuid,
    seq: i64,
    code: String,
    reason: String,
    status: String,
    resolution: Option<String>,
    resolution_note: Option<String>,
    resolved_by_id: Option<Uuid>,
    resolved_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl TryFrom<FlagRow> for Flag {
    type Error = StoreError;

    fn try_from(r: FlagRow) -> Result<Self, StoreError> {
        Ok(Flag {
            id: r.id,
            tontine_id: TontineId::from_uuid(r.tontine_id),
            payment_id: r.payment_id.map(PaymentId::from_uuid),
            device_id: DeviceId::from_uuid(r.device_id),
            seq: to_u64(r.seq)?,
            code: r.code,
            reason: r.reason,
            status: r.status,
            resolution: r.resolution,
            resolution_note: r.resolution_note,
            resolved_by_id: r.resolved_by_id.map(UserId::from_uuid),
            resolved_at: r.resolved_at,
            created_at: r.created_at,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct IncidentRow {
    id: Uuid,
    tontine_id: Option<Uuid>,
    device_id: Uuid,
    user_id: Uuid,
    kind: String,
    expected_seq: i64,
    received_seq: i64,
    detail: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<IncidentRow> for Incident {
    type Error = StoreError;

    fn try_from(r: IncidentRow) -> Result<Self, StoreError> {
        Ok(Incident {
            id: r.id,
            tontine_id: r.tontine_id.map(TontineId::from_uuid),
            device_id: DeviceId::from_uuid(r.device_id),
            user_id: UserId::from_uuid(r.user_id),
            kind: r.kind,
            expected_seq: to_u64(r.expected_seq)?,
            received_seq: to_u64(r.received_seq)?,
            detail: r.detail,
            created_at: r.created_at,
        })
    }
}

pub(super) struct SyncQueries {
    pub insert_device: &'static str,
    pub device_by_id: &'static str,
    pub devices_of: &'static str,
    /// Binds: id, now. Also revokes the device's refresh tokens (`revoke_device_tokens`).
    pub revoke_device: &'static str,
    pub revoke_device_tokens: &'static str,
    /// Binds: device, from seq, to seq (inclusive). The log's rows (first seq, hashes,
    /// outcomes) that hold a mutation in that range.
    pub recorded: &'static str,
    /// Run first in a batch's transaction, where the engine needs it (no binds).
    pub batch_settings: Option<&'static str>,
    /// Binds: device, from seq, to seq, to hash, now. Guarded by `last_seq = from`.
    pub advance_device: &'static str,
    pub touch_device: &'static str,
    /// Binds: device, first seq, last seq, hashes, outcomes, now. One row for the batch.
    pub record_mutations: &'static str,
    pub session_status: &'static str,
    /// The head of a multi-row insert of payments from sync; rows bind the 24 columns.
    pub insert_payments: &'static str,
    /// Binds: id, reason, now, old status.
    pub cancel_payment: &'static str,
    pub insert_flag: &'static str,
    pub insert_incident: &'static str,
    /// Binds: the engine's id list.
    pub scope_states: &'static str,
    /// Binds: tontine, cursor, limit.
    pub changes_since: &'static str,
    pub scope_roles: &'static str,
    pub set_scope_role: &'static str,
    /// Binds: session. Live payments (not cancelled or failed).
    pub payment_keys: &'static str,
    /// Binds: the engine's id list (`id_list`). The ids among them that are taken.
    pub payments_taken: &'static str,
    pub payment_by_receipt: &'static str,
    /// Binds: the engine's text list (`text_list`). The receipt codes among them given out.
    pub receipts_taken: &'static str,
    /// Binds: tontine, status (or NULL).
    pub flags_of: &'static str,
    pub flag_by_id: &'static str,
    /// Binds: id, resolution, note, by, now.
    pub resolve_flag: &'static str,
    /// Binds: payment id, now.
    pub unflag_payment: &'static str,
    pub incidents_of: &'static str,
}

pub(super) const SHARED: SyncQueries = SyncQueries {
    insert_device: "INSERT INTO devices (id, user_id, name, platform, last_seq, last_hash, \
        created_at) VALUES ($1, $2, $3, $4, 0, $5, $6)",
    device_by_id: "SELECT id, user_id, name, platform, last_seq, last_hash, created_at, \
        last_seen_at, revoked_at FROM devices WHERE id = $1",
    devices_of: "SELECT id, user_id, name, platform, last_seq, last_hash, created_at, \
        last_seen_at, revoked_at FROM devices WHERE user_id = $1 ORDER BY created_at, id",
    revoke_device: "UPDATE devices SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
    revoke_device_tokens: "UPDATE refresh_tokens SET revoked_at = $2 \
        WHERE device_id = $1 AND revoked_at IS NULL",
    recorded: "SELECT first_seq, hashes, outcomes FROM device_batches \
        WHERE device_id = $1 AND last_seq >= $2 AND first_seq <= $3 ORDER BY last_seq",
    batch_settings: None,
    advance_device: "UPDATE devices SET last_seq = $3, last_hash = $4, last_seen_at = $5 \
        WHERE id = $1 AND last_seq = $2",
    touch_device: "UPDATE devices SET last_seen_at = $2 WHERE id = $1",
    record_mutations: "INSERT INTO device_batches (device_id, first_seq, last_seq, hashes, \
        outcomes, received_at) VALUES ($1, $2, $3, $4, $5, $6)",
    session_status: "SELECT status FROM sessions WHERE id = $1",
    insert_payments: "INSERT INTO payments (id, tontine_id, session_id, member_id, user_id, \
        amount, currency, method, status, operator_transaction_id, phone_number, proof_url, \
        proof_description, penalty_amount, is_late, recorded_by_id, device_id, notes, \
        created_at, initiated_at, updated_at, receipt_code, flagged, corrects_id) ",
    cancel_payment: "UPDATE payments SET status = 'annule', rejection_reason = $2, \
        updated_at = $3 WHERE id = $1 AND status = $4",
    insert_flag: "INSERT INTO sync_flags (id, tontine_id, payment_id, device_id, seq, code, \
        reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    insert_incident: "INSERT INTO integrity_incidents (id, tontine_id, device_id, user_id, kind, \
        expected_seq, received_seq, detail, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
        $9) ON CONFLICT (device_id, kind, expected_seq, received_seq) DO NOTHING",
    scope_states: "SELECT tontine_id, last_seq, min_seq FROM sync_scopes \
        WHERE tontine_id IN (SELECT unhex(replace(value, '-', '')) FROM json_each($1))",
    changes_since: "SELECT entity, entity_id, change_seq, deleted FROM sync_changes \
        WHERE tontine_id = $1 AND change_seq > $2 ORDER BY change_seq LIMIT $3",
    scope_roles: "SELECT tontine_id, role FROM device_scopes WHERE device_id = $1",
    set_scope_role: "INSERT INTO device_scopes (device_id, tontine_id, role) VALUES ($1, $2, $3) \
        ON CONFLICT (device_id, tontine_id) DO UPDATE SET role = excluded.role",
    payment_keys: "SELECT id, member_id, flagged FROM payments \
        WHERE session_id = $1 AND status NOT IN ('annule', 'echoue', 'rembourse')",
    payments_taken: "SELECT id FROM payments \
        WHERE id IN (SELECT unhex(replace(value, '-', '')) FROM json_each($1))",
    payment_by_receipt: "SELECT id FROM payments WHERE receipt_code = $1",
    receipts_taken: "SELECT receipt_code FROM payments \
        WHERE receipt_code IN (SELECT value FROM json_each($1))",
    flags_of: "SELECT id, tontine_id, payment_id, device_id, seq, code, reason, status, \
        resolution, resolution_note, resolved_by_id, resolved_at, created_at FROM sync_flags \
        WHERE tontine_id = $1 AND ($2 IS NULL OR status = $2) ORDER BY created_at, id",
    flag_by_id: "SELECT id, tontine_id, payment_id, device_id, seq, code, reason, status, \
        resolution, resolution_note, resolved_by_id, resolved_at, created_at FROM sync_flags \
        WHERE id = $1",
    resolve_flag: "UPDATE sync_flags SET status = 'resolu', resolution = $2, \
        resolution_note = $3, resolved_by_id = $4, resolved_at = $5 \
        WHERE id = $1 AND status = 'ouvert'",
    unflag_payment: "UPDATE payments SET flagged = false, updated_at = $2 WHERE id = $1",
    incidents_of: "SELECT id, tontine_id, device_id, user_id, kind, expected_seq, received_seq, \
        detail, created_at FROM integrity_incidents WHERE tontine_id = $1 \
        ORDER BY created_at, id",
};

/// PostgreSQL: the session status read locks the row, so a session cannot close under a batch.
/// A share lock is enough for that (closing is an `UPDATE`), and it does not wait for the key
/// locks other writers hold on the session through their foreign keys (a receipts job writing
/// the notifications of the previous batch, a REST payment): `FOR UPDATE` did.
pub(super) const POSTGRES: SyncQueries = SyncQueries {
    // A batch's multi-row inserts carry thousands of parameters: planned afresh for each
    // execution (PostgreSQL's first five custom plans, and every batch size is a new
    // statement), planning them cost more than running them. Their plan never depends on the
    // values, so the generic plan is the right one.
    batch_settings: Some("SET LOCAL plan_cache_mode = force_generic_plan"),
    payments_taken: "SELECT id FROM payments WHERE id = ANY($1)",
    receipts_taken: "SELECT receipt_code FROM payments WHERE receipt_code = ANY($1)",
    scope_states: "SELECT tontine_id, last_seq, min_seq FROM sync_scopes \
        WHERE tontine_id = ANY($1)",
    session_status: "SELECT status FROM sessions WHERE id = $1 FOR SHARE",
    flags_of: "SELECT id, tontine_id, payment_id, device_id, seq, code, reason, status, \
        resolution, resolution_note, resolved_by_id, resolved_at, created_at FROM sync_flags \
        WHERE tontine_id = $1 AND ($2::text IS NULL OR status = $2) ORDER BY created_at, id",
    ..SHARED
};

/// Records an incident once (a retried batch finds it there already).
macro_rules! insert_incident {
    ($conn:expr, $q:expr, $i:expr, $now:expr) => {
        sqlx::query($q.insert_incident)
            .bind($i.id)
            .bind($i.tontine_id.map(|t| t.as_uuid()))
            .bind($i.device_id.as_uuid())
            .bind($i.user_id.as_uuid())
            .bind($i.kind)
            .bind($crate::sync::to_i64($i.expected_seq))
            .bind($crate::sync::to_i64($i.received_seq))
            .bind(&$i.detail)
            .bind($now)
            .execute($conn)
            .await?
    };
}
pub(super) use insert_incident;

/// The most bound values one statement carries: under SQLite's 32,766 and PostgreSQL's 65,535.
const MAX_BINDS: usize = 30_000;

/// How many rows of `columns` values one multi-row insert takes.
pub(super) const fn rows_per_insert(columns: usize) -> usize {
    let rows = MAX_BINDS / columns;
    if rows == 0 { 1 } else { rows }
}

/// Inserts `$rows` with as few statements as the bind limit allows: `$head`, then
/// `VALUES (…), (…)` with each row bound by `$bind`, then `$tail`. One round trip per
/// statement instead of one per row.
macro_rules! insert_many {
    ($conn:expr, $head:expr, $tail:expr, $rows:expr, $columns:expr, |$b:ident, $row:ident| $bind:expr) => {
        for chunk in $rows.chunks($crate::sync::rows_per_insert($columns)) {
            let mut query = sqlx::QueryBuilder::new($head);
            query.push_values(chunk, |mut $b, $row| {
                $bind;
            });
            query.push($tail);
            query.build().execute(&mut *$conn).await?;
        }
    };
}
pub(super) use insert_many;

macro_rules! impl_sync_store {
    ($store:ty, $q:expr, $mq:expr, $pq:expr, $uq:expr, $aq:expr, $jq:expr, $payq:expr) => {
        #[async_trait::async_trait]
        impl $crate::SyncStore for $store {
            async fn insert_device(
                &self,
                d: &$crate::NewDevice,
            ) -> $crate::StoreResult<$crate::Device> {
                sqlx::query($q.insert_device)
                    .bind(d.id.as_uuid())
                    .bind(d.user_id.as_uuid())
                    .bind(&d.name)
                    .bind(&d.platform)
                    .bind(kobiri_core::sync::ZERO_HASH.to_vec())
                    .bind(d.now)
                    .execute(self.writer())
                    .await?;
                self.device_by_id(d.id)
                    .await?
                    .ok_or($crate::StoreError::NotFound)
            }

            async fn device_by_id(
                &self,
                id: kobiri_core::DeviceId,
            ) -> $crate::StoreResult<Option<$crate::Device>> {
                let row: Option<$crate::sync::DeviceRow> = sqlx::query_as($q.device_by_id)
                    .bind(id.as_uuid())
                    .fetch_optional(self.writer())
                    .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn devices_of(
                &self,
                user: kobiri_core::UserId,
            ) -> $crate::StoreResult<Vec<$crate::Device>> {
                let rows: Vec<$crate::sync::DeviceRow> = sqlx::query_as($q.devices_of)
                    .bind(user.as_uuid())
                    .fetch_all(self.reader())
                    .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn revoke_device(
                &self,
                id: kobiri_core::DeviceId,
                now: $crate::Timestamp,
            ) -> $crate::StoreResult<bool> {
                let mut tx = self.writer().begin().await?;
                let done = sqlx::query($q.revoke_device)
                    .bind(id.as_uuid())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query($q.revoke_device_tokens)
                    .bind(id.as_uuid())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn recorded_mutations(
                &self,
                device: kobiri_core::DeviceId,
                from: u64,
                to: u64,
            ) -> $crate::StoreResult<Vec<$crate::RecordedMutation>> {
                use $crate::sync::{LogRow, to_i64};
                let rows: Vec<LogRow> = sqlx::query_as($q.recorded)
                    .bind(device.as_uuid())
                    .bind(to_i64(from))
                    .bind(to_i64(to))
                    .fetch_all(self.writer())
                    .await?;
                let mut recorded = Vec::new();
                for row in rows {
                    recorded.extend(
                        row.mutations()?
                            .into_iter()
                            .filter(|m| (from..=to).contains(&m.seq)),
                    );
                }
                Ok(recorded)
            }

            // Long on purpose: one batch's transaction: the device log, the inserts, the updates,
            // the flags, the incidents and the receipts jobs, in order on one connection.
            async fn apply_sync(
                &self,
                b: &$crate::SyncBatch,
            ) -> $crate::StoreResult<$crate::Applied> {
                use $crate::{Applied, DbDecimal, sync::to_i64};
                let mut tx = self.writer().begin().await?;
                if let Some(settings) = $q.batch_settings {
                    sqlx::query(settings).execute(&mut *tx).await?;
                }
                // Incidents stand even if the rest of the batch has to be planned again.
                for i in &b.incidents {
                    $crate::sync::insert_incident!(&mut *tx, $q, i, b.now);
                }
                let advanced = sqlx::query($q.advance_device)
                    .bind(b.device_id.as_uuid())
                    .bind(to_i64(b.from_seq))
                    .bind(to_i64(b.to_seq))
                    .bind(b.to_hash.to_vec())
                    .bind(b.now)
                    .execute(&mut *tx)
                    .await?;
                if advanced.rows_affected() == 0 {
                    tx.commit().await?;
                    return Ok(Applied::Stale);
                }
                for (session, status) in &b.sessions {
                    let now: Option<String> = sqlx::query_scalar($q.session_status)
                        .bind(session.as_uuid())
                        .fetch_optional(&mut *tx)
                        .await?;
                    if now.as_deref() != Some(status.as_str()) {
                        // Dropping the transaction rolls everything back.
                        return Ok(Applied::Stale);
                    }
                }
                for m in &b.members {
                    if let Some(u) = &m.user {
                        $crate::users::insert_user!(&mut *tx, $uq, u);
                    }
                    $crate::tontines::insert_member!(&mut *tx, $mq, m.member);
                }
                for c in &b.cancellations {
                    let done = sqlx::query($q.cancel_payment)
                        .bind(c.payment.as_uuid())
                        .bind(&c.reason)
                        .bind(b.now)
                        .bind(c.from.as_str())
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 0 {
                        return Ok(Applied::Stale);
                    }
                }
                // `bind_new_payment!` binds `now` once, as created_at; it is also initiated_at
                // and updated_at.
                $crate::sync::insert_many!(tx, $q.insert_payments, "", b.payments, 24, |row, s| {
                    $crate::payments::bind_new_payment!(row, s.payment, push_bind)
                        .push_bind(s.payment.now)
                        .push_bind(s.payment.now)
                        .push_bind(&s.receipt_code)
                        .push_bind(s.flagged)
                        .push_bind(s.corrects.map(|c| c.as_uuid()))
                });
                for c in &b.payouts {
                    let done = sqlx::query($pq.confirm)
                        .bind(c.passage.as_uuid())
                        .bind(c.to.as_str())
                        .bind(DbDecimal(c.amount_received.value()))
                        .bind(None::<String>)
                        .bind(c.date)
                        .bind(b.now)
                        .bind(c.from.as_str())
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 0 {
                        return Ok(Applied::Stale);
                    }
                    let total: DbDecimal = sqlx::query_scalar($pq.member_received)
                        .bind(c.member.as_uuid())
                        .fetch_one(&mut *tx)
                        .await?;
                    let total = total
                        .0
                        .checked_add(c.amount_received.value())
                        .ok_or_else(|| $crate::StoreError::corrupt("amount overflow"))?;
                    sqlx::query($pq.set_member_received)
                        .bind(c.member.as_uuid())
                        .bind(DbDecimal(total))
                        .execute(&mut *tx)
                        .await?;
                }
                for f in &b.flags {
                    sqlx::query($q.insert_flag)
                        .bind(f.id)
                        .bind(f.tontine_id.as_uuid())
                        .bind(f.payment_id.map(|p| p.as_uuid()))
                        .bind(f.device_id.as_uuid())
                        .bind(to_i64(f.seq))
                        .bind(f.code)
                        .bind(&f.reason)
                        .bind(b.now)
                        .execute(&mut *tx)
                        .await?;
                }
                $crate::sync::insert_many!(
                    tx,
                    $aq.insert_many_head,
                    $aq.insert_many_tail,
                    b.audits,
                    11,
                    |row, a| { $crate::audit::bind_audit!(row, a, push_bind) }
                );
                if let Some(job) = &b.receipts {
                    $crate::jobs::insert_job!(&mut *tx, $jq, job);
                }
                if let Some(log) = $crate::sync::LogRow::of(&b.recorded)? {
                    sqlx::query($q.record_mutations)
                        .bind(b.device_id.as_uuid())
                        .bind(log.first_seq)
                        .bind(log.last_seq())
                        .bind(log.hashes)
                        .bind(log.outcomes)
                        .bind(b.now)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(Applied::Done)
            }

            async fn record_incidents(
                &self,
                incidents: &[$crate::NewIncident],
                device: kobiri_core::DeviceId,
                now: $crate::Timestamp,
            ) -> $crate::StoreResult<()> {
                let mut tx = self.writer().begin().await?;
                for i in incidents {
                    $crate::sync::insert_incident!(&mut *tx, $q, i, now);
                }
                sqlx::query($q.touch_device)
                    .bind(device.as_uuid())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn scope_states(
                &self,
                tontines: &[kobiri_core::TontineId],
            ) -> $crate::StoreResult<
                std::collections::HashMap<kobiri_core::TontineId, $crate::ScopeState>,
            > {
                use $crate::sync::to_u64;
                if tontines.is_empty() {
                    return Ok(std::collections::HashMap::new());
                }
                let ids: Vec<uuid::Uuid> = tontines.iter().map(|t| t.as_uuid()).collect();
                let rows: Vec<(uuid::Uuid, i64, i64)> = sqlx::query_as($q.scope_states)
                    .bind(Self::id_list(&ids))
                    .fetch_all(self.writer())
                    .await?;
                rows.into_iter()
                    .map(|(id, last, min)| {
                        Ok((
                            kobiri_core::TontineId::from_uuid(id),
                            $crate::ScopeState {
                                last_seq: to_u64(last)?,
                                min_seq: to_u64(min)?,
                            },
                        ))
                    })
                    .collect()
            }

            async fn changes_since(
                &self,
                tontine: kobiri_core::TontineId,
                cursor: u64,
                limit: u32,
            ) -> $crate::StoreResult<Vec<$crate::ChangeRef>> {
                use $crate::sync::{to_i64, to_u64};
                let rows: Vec<(String, uuid::Uuid, i64, bool)> = sqlx::query_as($q.changes_since)
                    .bind(tontine.as_uuid())
                    .bind(to_i64(cursor))
                    .bind(i64::from(limit))
                    .fetch_all(self.writer())
                    .await?;
                rows.into_iter()
                    .map(|(entity, entity_id, seq, deleted)| {
                        Ok($crate::ChangeRef {
                            entity,
                            entity_id,
                            change_seq: to_u64(seq)?,
                            deleted,
                        })
                    })
                    .collect()
            }

            async fn scope_roles(
                &self,
                device: kobiri_core::DeviceId,
            ) -> $crate::StoreResult<Vec<(kobiri_core::TontineId, String)>> {
                let rows: Vec<(uuid::Uuid, String)> = sqlx::query_as($q.scope_roles)
                    .bind(device.as_uuid())
                    .fetch_all(self.writer())
                    .await?;
                Ok(rows
                    .into_iter()
                    .map(|(t, r)| (kobiri_core::TontineId::from_uuid(t), r))
                    .collect())
            }

            async fn set_scope_roles(
                &self,
                device: kobiri_core::DeviceId,
                roles: &[(kobiri_core::TontineId, String)],
            ) -> $crate::StoreResult<()> {
                let mut tx = self.writer().begin().await?;
                for (t, role) in roles {
                    sqlx::query($q.set_scope_role)
                        .bind(device.as_uuid())
                        .bind(t.as_uuid())
                        .bind(role)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn payment_keys(
                &self,
                session: kobiri_core::SessionId,
            ) -> $crate::StoreResult<Vec<$crate::PaymentKey>> {
                let rows: Vec<(uuid::Uuid, uuid::Uuid, bool)> = sqlx::query_as($q.payment_keys)
                    .bind(session.as_uuid())
                    .fetch_all(self.writer())
                    .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, member, flagged)| $crate::PaymentKey {
                        id: kobiri_core::PaymentId::from_uuid(id),
                        member_id: kobiri_core::MemberId::from_uuid(member),
                        flagged,
                    })
                    .collect())
            }

            async fn payments_taken(
                &self,
                ids: &[kobiri_core::PaymentId],
            ) -> $crate::StoreResult<Vec<kobiri_core::PaymentId>> {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let ids: Vec<uuid::Uuid> = ids.iter().map(|i| i.as_uuid()).collect();
                let taken: Vec<uuid::Uuid> = sqlx::query_scalar($q.payments_taken)
                    .bind(Self::id_list(&ids))
                    .fetch_all(self.writer())
                    .await?;
                Ok(taken
                    .into_iter()
                    .map(kobiri_core::PaymentId::from_uuid)
                    .collect())
            }

            async fn receipts_taken(&self, codes: &[String]) -> $crate::StoreResult<Vec<String>> {
                if codes.is_empty() {
                    return Ok(Vec::new());
                }
                Ok(sqlx::query_scalar($q.receipts_taken)
                    .bind(Self::text_list(codes))
                    .fetch_all(self.writer())
                    .await?)
            }

            async fn payment_by_receipt(
                &self,
                code: &str,
            ) -> $crate::StoreResult<Option<$crate::Payment>> {
                let id: Option<uuid::Uuid> = sqlx::query_scalar($q.payment_by_receipt)
                    .bind(code)
                    .fetch_optional(self.reader())
                    .await?;
                match id {
                    Some(id) => {
                        $crate::PaymentStore::payment_by_id(
                            self,
                            kobiri_core::PaymentId::from_uuid(id),
                        )
                        .await
                    }
                    None => Ok(None),
                }
            }

            async fn flags_of(
                &self,
                tontine: kobiri_core::TontineId,
                status: Option<&str>,
            ) -> $crate::StoreResult<Vec<$crate::Flag>> {
                let rows: Vec<$crate::sync::FlagRow> = sqlx::query_as($q.flags_of)
                    .bind(tontine.as_uuid())
                    .bind(status)
                    .fetch_all(self.reader())
                    .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn flag_by_id(
                &self,
                id: uuid::Uuid,
            ) -> $crate::StoreResult<Option<$crate::Flag>> {
                let row: Option<$crate::sync::FlagRow> = sqlx::query_as($q.flag_by_id)
                    .bind(id)
                    .fetch_optional(self.writer())
                    .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn resolve_flag(&self, r: &$crate::FlagResolution) -> $crate::StoreResult<bool> {
                let mut tx = self.writer().begin().await?;
                let done = sqlx::query($q.resolve_flag)
                    .bind(r.flag)
                    .bind(if r.accept { "accepte" } else { "rejete" })
                    .bind(&r.note)
                    .bind(r.by.as_uuid())
                    .bind(r.now)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                if let Some(original) = r.retire.filter(|_| r.accept) {
                    $crate::sync::retire_payment!(tx, $q, $payq, original, r);
                }
                if let Some(payment) = r.payment {
                    if !r.accept {
                        sqlx::query($q.cancel_payment)
                            .bind(payment.as_uuid())
                            .bind(&r.note)
                            .bind(r.now)
                            .bind(kobiri_core::PaymentStatus::EnAttente.as_str())
                            .execute(&mut *tx)
                            .await?;
                    }
                    // Accepting takes the payment into the one-live-payment rule: a unique
                    // violation here means another live payment holds the slot.
                    sqlx::query($q.unflag_payment)
                        .bind(payment.as_uuid())
                        .bind(r.now)
                        .execute(&mut *tx)
                        .await?;
                }
                $crate::audit::insert_audit!(&mut *tx, $aq, r.audit);
                tx.commit().await?;
                Ok(true)
            }

            async fn incidents_of(
                &self,
                tontine: kobiri_core::TontineId,
            ) -> $crate::StoreResult<Vec<$crate::Incident>> {
                let rows: Vec<$crate::sync::IncidentRow> = sqlx::query_as($q.incidents_of)
                    .bind(tontine.as_uuid())
                    .fetch_all(self.reader())
                    .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }
        }
    };
}
pub(super) use impl_sync_store;

/// Inside `resolve_flag`'s transaction: retires payment `$id` that an accepted correction
/// replaces. Pending → `annule`; validated → `rembourse`, its money taken back out of the
/// session and the member's totals. Already cancelled, failed or refunded: nothing to do. A
/// mobile-money payment still with its operator cannot be retired yet (a conflict).
macro_rules! retire_payment {
    ($tx:expr, $q:expr, $payq:expr, $id:expr, $r:expr) => {{
        let row: Option<$crate::payments::PaymentRow> = sqlx::query_as($payq.by_id)
            .bind($id.as_uuid())
            .fetch_optional(&mut *$tx)
            .await?;
        let original = row
            .map($crate::Payment::try_from)
            .transpose()?
            .ok_or($crate::StoreError::NotFound)?;
        match original.status {
            kobiri_core::PaymentStatus::EnAttente => {
                sqlx::query($q.cancel_payment)
                    .bind(original.id.as_uuid())
                    .bind(format!("corrigé : {}", $r.note))
                    .bind($r.now)
                    .bind(original.status.as_str())
                    .execute(&mut *$tx)
                    .await?;
            }
            kobiri_core::PaymentStatus::Valide => {
                let to = original
                    .status
                    .refund()
                    .map_err(|e| $crate::StoreError::corrupt(e.to_string()))?;
                sqlx::query($payq.set_status)
                    .bind(original.id.as_uuid())
                    .bind(to.as_str())
                    .bind($r.now)
                    .bind(original.status.as_str())
                    .execute(&mut *$tx)
                    .await?;
                $crate::payments::debit_payment!($tx, $payq, original, $r.now);
            }
            kobiri_core::PaymentStatus::EnCours => {
                return Err($crate::StoreError::Conflict {
                    constraint: "payment_with_operator".to_owned(),
                });
            }
            _ => {}
        }
    }};
}
pub(super) use retire_payment;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn logged(seq: u64, outcome: Outcome) -> NewRecordedMutation {
        NewRecordedMutation {
            seq,
            hash: [u8::try_from(seq).unwrap(); 32],
            outcome,
        }
    }

    #[test]
    fn a_batch_row_gives_back_every_mutation_with_its_outcome() {
        let flagged = Outcome::Flagged {
            reason: "séance clôturée".into(),
        };
        let recorded = vec![
            logged(41, Outcome::Applied),
            logged(42, flagged.clone()),
            logged(43, Outcome::Applied),
        ];
        let row = LogRow::of(&recorded).unwrap().unwrap();
        assert_eq!((row.first_seq, row.last_seq()), (41, 43));
        assert_eq!(row.hashes.len(), 3 * 32);
        // Only the outcome that is not `applied` is spelled out.
        assert_eq!(
            row.outcomes,
            r#"[{"seq":42,"outcome":"flagged","reason":"séance clôturée"}]"#
        );
        let back = row.mutations().unwrap();
        let expected: Vec<_> = recorded
            .into_iter()
            .map(|m| RecordedMutation {
                seq: m.seq,
                hash: m.hash,
                outcome: m.outcome,
            })
            .collect();
        assert_eq!(back, expected);
    }

    #[test]
    fn no_mutation_makes_no_row_and_a_hole_is_refused() {
        assert!(LogRow::of(&[]).unwrap().is_none());
        let holed = [logged(1, Outcome::Applied), logged(3, Outcome::Applied)];
        assert!(matches!(LogRow::of(&holed), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn a_damaged_row_is_an_error_not_a_guess() {
        let short = LogRow {
            first_seq: 1,
            hashes: vec![0; 33],
            outcomes: "[]".into(),
        };
        assert!(short.mutations().is_err());
        let garbled = LogRow {
            first_seq: 1,
            hashes: vec![0; 32],
            outcomes: "{".into(),
        };
        assert!(garbled.mutations().is_err());
    }
}
