//! The records that cross the FFI: plain data, ids and amounts as text.
//!
//! Ids are hyphenated UUIDs, amounts decimal text in the tontine's currency ("5000",
//! "2500.50"), times RFC 3339 in UTC unless the field says unix seconds.

/// Where one of the phone's own changes stands with the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SyncState {
    /// Recorded on the phone, not answered by the server yet.
    Pending,
    /// On the server (applied now or earlier).
    Applied,
    /// On the server, for the treasurer to resolve.
    Flagged,
    /// Refused by the server for good.
    Rejected,
}

/// A tontine the phone holds.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TontineRecord {
    pub id: String,
    pub name: String,
    pub currency: String,
    pub contribution_amount: String,
    pub frequency: String,
    pub status: String,
}

/// A member of a tontine: the server's, or one added on this phone and not synced yet.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MemberRecord {
    pub id: String,
    pub tontine_id: String,
    pub user_id: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub role: String,
    pub is_active: bool,
    pub sync_state: SyncState,
}

/// A collection session.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SessionRecord {
    pub id: String,
    pub tontine_id: String,
    pub session_number: u32,
    /// YYYY-MM-DD.
    pub due_date: String,
    pub status: String,
    pub expected_amount: String,
    pub collected_amount: String,
}

/// A payment: the server's, or one recorded on this phone (shown once, linked by id, when the
/// server's copy comes back).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PaymentRecord {
    pub id: String,
    pub tontine_id: String,
    pub session_id: String,
    pub member_id: String,
    pub member_name: String,
    pub amount: String,
    pub currency: String,
    pub method: String,
    /// The server's payment status (`en_attente` while only on the phone).
    pub status: String,
    pub receipt_code: Option<String>,
    pub is_late: bool,
    pub penalty_amount: Option<String>,
    /// The payment this entry corrects, for a compensating entry.
    pub corrects: Option<String>,
    pub recorded_at: String,
    /// True when this phone recorded it.
    pub recorded_here: bool,
    pub sync_state: SyncState,
    /// The server's reason when flagged or rejected.
    pub sync_message: Option<String>,
}

/// What a collector hands the member for a cash payment (or a correction).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Receipt {
    pub payment_id: String,
    /// "XXXX-XXXX", derived from the mutation's hash: the server can check it.
    pub receipt_code: String,
    pub amount: String,
    pub currency: String,
    pub member_name: String,
    pub tontine_name: String,
    pub session_number: u32,
    pub recorded_at: String,
}

/// What one `sync()` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct SyncReport {
    /// Mutations sent (a mutation resent after a lost answer counts again).
    pub pushed: u64,
    pub applied: u64,
    pub duplicates: u64,
    pub flagged: u64,
    pub rejected: u64,
    /// Rows and tombstones received.
    pub pulled_changes: u64,
    /// True when the sync stopped with work left (call it again).
    pub has_more: bool,
}

/// One scope's pull cursor.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ScopeCursorRecord {
    pub tontine_id: String,
    pub cursor: u64,
}

/// Where the phone stands.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncStatus {
    pub pending_count: u64,
    pub oldest_pending_age_seconds: Option<i64>,
    /// The last sync problem, in French, until the next sync starts.
    pub last_error: Option<String>,
    /// Unix seconds.
    pub last_sync_at: Option<i64>,
    pub cursors: Vec<ScopeCursorRecord>,
    pub device_id: Option<String>,
}

/// One of the phone's own changes, for the reconciliation view.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ItemRecord {
    /// The mutation's number on this device.
    pub seq: u64,
    /// `record_cash_payment`, `add_member`, `confirm_payout` or `correct_payment`.
    pub kind: String,
    /// The payment, member or passage concerned (empty if the stored mutation was altered on
    /// the phone so that it no longer reads).
    pub subject_id: String,
    pub tontine_id: String,
    pub amount: Option<String>,
    pub receipt_code: String,
    pub recorded_at: String,
    /// The server's code for a rejection.
    pub outcome_code: Option<String>,
    /// The server's reason for a flag or a rejection.
    pub message: Option<String>,
}

/// Cash collected on this phone that the collector still physically holds, per tontine: every
/// cash payment recorded here (pending, applied, flagged, or even rejected by the server: the
/// cash is in hand until handed back) whose server copy is not `valide` (nor `rembourse`) yet,
/// at the amount of the collector's own latest correction (a correction to "0" takes it out;
/// one the server rejected changes nothing).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CashHeld {
    pub tontine_id: String,
    pub currency: String,
    pub amount: String,
}

/// What the server accepted, flagged or rejected, what waits, and the cash held.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Reconciliation {
    pub accepted: Vec<ItemRecord>,
    pub flagged: Vec<ItemRecord>,
    pub rejected: Vec<ItemRecord>,
    pub pending: Vec<ItemRecord>,
    /// See [`CashHeld`] for what counts.
    pub cash_held: Vec<CashHeld>,
}
