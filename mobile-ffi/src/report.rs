//! The sync status and the reconciliation view: what the server made of this phone's
//! changes, what waits, and the cash the collector holds for the treasurer.

use std::collections::BTreeMap;

use kobiri_core::sync::{Entity, MutationKind, from_cbor};
use kobiri_core::{Amount, Currency, PaymentStatus};
use rusqlite::Connection;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::meta::{self, Key};
use crate::outbox::{self, Entry, State};
use crate::record::rfc3339;
use crate::records::{CashHeld, ItemRecord, Reconciliation, ScopeCursorRecord, SyncStatus};
use crate::rows;

/// Where the phone stands, at `now` (unix seconds).
pub(crate) fn status(conn: &Connection, now: i64) -> Result<SyncStatus> {
    let (pending_count, oldest) = outbox::pending_summary(conn)?;
    Ok(SyncStatus {
        pending_count,
        oldest_pending_age_seconds: oldest.map(|at| now.saturating_sub(at).max(0)),
        last_error: meta::get(conn, Key::LastError)?,
        last_sync_at: meta::get(conn, Key::LastSyncAt)?.and_then(|s| s.parse().ok()),
        cursors: rows::cursors(conn)?
            .into_iter()
            .map(|(tontine_id, cursor)| ScopeCursorRecord { tontine_id, cursor })
            .collect(),
        device_id: meta::get(conn, Key::DeviceId)?,
    })
}

/// The reconciliation of this device's changes.
pub(crate) fn reconciliation(conn: &Connection) -> Result<Reconciliation> {
    let mut view = Reconciliation {
        accepted: Vec::new(),
        flagged: Vec::new(),
        rejected: Vec::new(),
        pending: Vec::new(),
        cash_held: Vec::new(),
    };
    let Some(device) = meta::get(conn, Key::DeviceId)? else {
        return Ok(view);
    };
    let device =
        kobiri_core::DeviceId::parse(&device).map_err(|e| Error::Corrupt(e.to_string()))?;
    let entries = outbox::entries(conn, device)?;
    let mut cash = Cash::default();
    for entry in &entries {
        // Bytes altered on the phone may no longer decode: they were sent as they are, and the
        // entry is still listed (with what the outbox recorded beside them), never hidden.
        let kind = from_cbor(&entry.bytes).ok().map(|m| m.kind);
        if let Some(kind) = &kind {
            cash.add(entry, kind);
        }
        let item = item(entry, kind.as_ref());
        match entry.state {
            State::Pending => view.pending.push(item),
            State::Applied | State::Duplicate => view.accepted.push(item),
            State::Flagged => view.flagged.push(item),
            State::Rejected => view.rejected.push(item),
        }
    }
    view.cash_held = cash.held(conn)?;
    Ok(view)
}

/// The view of one entry; `kind` is `None` when its stored bytes no longer decode (then the
/// subject is empty and the kind is the one recorded beside the bytes).
fn item(entry: &Entry, kind: Option<&MutationKind>) -> ItemRecord {
    let (subject, amount): (Option<Uuid>, Option<&String>) = match kind {
        Some(MutationKind::RecordCashPayment {
            payment_id, amount, ..
        }) => (Some(payment_id.as_uuid()), Some(amount)),
        Some(MutationKind::AddMember { member_id, .. }) => (Some(member_id.as_uuid()), None),
        Some(MutationKind::ConfirmPayout {
            passage_id,
            amount_received,
        }) => (Some(passage_id.as_uuid()), Some(amount_received)),
        Some(MutationKind::CorrectPayment {
            payment_id, amount, ..
        }) => (Some(payment_id.as_uuid()), Some(amount)),
        None => (None, None),
    };
    ItemRecord {
        seq: entry.seq,
        kind: kind.map_or_else(|| entry.kind.clone(), |k| k.as_str().to_owned()),
        subject_id: subject.map(|s| s.to_string()).unwrap_or_default(),
        tontine_id: entry.tontine_id.clone(),
        amount: amount.cloned(),
        receipt_code: entry.receipt_code.clone(),
        recorded_at: rfc3339(entry.recorded_at),
        outcome_code: entry.outcome_code.clone(),
        message: entry.outcome_message.clone(),
    }
}

/// The cash this phone's collector still physically holds, built from the outbox (oldest
/// first) and the server's copy of the payments.
///
/// The rule (also in `bindings/README.md`):
/// - every cash payment this phone recorded counts, whatever the server made of it: pending,
///   applied, flagged, and rejected too (the server refused the record, but the cash is in
///   the collector's hands until it is handed back);
/// - until the server's copy of it is `valide` (or `rembourse`, after `valide`): then the
///   treasurer has it;
/// - at the amount of the collector's own latest correction of it, if any ("0" cancels it:
///   nothing held, whether the correction is pending or applied; a correction the server
///   rejected changes nothing, the server still expects the original amount). Once a
///   correction to another amount is applied, the cash is followed under the new payment it
///   created, whose server copy then says when it is handed over. Any other status, `annule`
///   by a treasurer's decision or `echoue` included, leaves the cash held.
#[derive(Default)]
struct Cash {
    /// Original payment id → what is held of it.
    payments: BTreeMap<Uuid, Held>,
    /// The payment id of one of this phone's corrections → the original it stands for.
    corrections: BTreeMap<Uuid, Uuid>,
}

/// One cash payment of this phone, as held.
struct Held {
    tontine_id: String,
    currency: String,
    /// The amount, as last corrected.
    amount: String,
    /// The payment the cash is recorded under on the server: the original, or the payment an
    /// applied correction created.
    current: Uuid,
}

impl Cash {
    /// Entries come in seq order, so a later correction overrides an earlier one.
    fn add(&mut self, entry: &Entry, kind: &MutationKind) {
        match kind {
            MutationKind::RecordCashPayment {
                payment_id,
                tontine_id,
                amount,
                currency,
                ..
            } => {
                self.payments.insert(
                    payment_id.as_uuid(),
                    Held {
                        tontine_id: tontine_id.to_string(),
                        currency: currency.clone(),
                        amount: amount.clone(),
                        current: payment_id.as_uuid(),
                    },
                );
            }
            MutationKind::CorrectPayment {
                payment_id,
                corrects,
                amount,
                ..
            } => {
                if entry.state == State::Rejected {
                    return;
                }
                let corrects = corrects.as_uuid();
                let original = self.corrections.get(&corrects).copied().unwrap_or(corrects);
                let Some(held) = self.payments.get_mut(&original) else {
                    // Someone else's payment: not this collector's cash.
                    return;
                };
                held.amount.clone_from(amount);
                if matches!(entry.state, State::Applied | State::Duplicate) {
                    held.current = payment_id.as_uuid();
                }
                self.corrections.insert(payment_id.as_uuid(), original);
            }
            MutationKind::AddMember { .. } | MutationKind::ConfirmPayout { .. } => {}
        }
    }

    /// Sums per tontine what has not been handed over.
    fn held(self, conn: &Connection) -> Result<Vec<CashHeld>> {
        let mut totals: BTreeMap<(String, Currency), Amount> = BTreeMap::new();
        for held in self.payments.into_values() {
            let handed_over = rows::get(conn, Entity::Payment, held.current)?
                .and_then(|row| PaymentStatus::try_from(row.text("status").as_str()).ok())
                .is_some_and(|s| matches!(s, PaymentStatus::Valide | PaymentStatus::Rembourse));
            if handed_over {
                continue;
            }
            let currency =
                Currency::parse(&held.currency).map_err(|e| Error::Corrupt(e.to_string()))?;
            let amount =
                Amount::parse(&held.amount, currency).map_err(|e| Error::Corrupt(e.to_string()))?;
            let total = totals
                .entry((held.tontine_id, currency))
                .or_insert_with(|| Amount::zero(currency));
            *total = total
                .checked_add(amount)
                .map_err(|e| Error::Corrupt(e.to_string()))?;
        }
        Ok(totals
            .into_iter()
            .filter(|(_, amount)| !amount.is_zero())
            .map(|((tontine_id, currency), amount)| CashHeld {
                tontine_id,
                currency: currency.as_str().to_owned(),
                amount: amount.to_wire_string(),
            })
            .collect())
    }
}
