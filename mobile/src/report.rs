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

/// The cash payments of this device that count, with their amount after corrections.
#[derive(Default)]
struct Cash {
    /// Payment id → (tontine id, currency, amount as corrected).
    payments: BTreeMap<Uuid, (String, String, String)>,
}

impl Cash {
    /// Entries come in seq order, so a later correction overrides an earlier one. Rejected
    /// entries change nothing.
    fn add(&mut self, entry: &Entry, kind: &MutationKind) {
        if entry.state == State::Rejected {
            return;
        }
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
                    (tontine_id.to_string(), currency.clone(), amount.clone()),
                );
            }
            MutationKind::CorrectPayment {
                corrects, amount, ..
            } => {
                if let Some(payment) = self.payments.get_mut(&corrects.as_uuid()) {
                    payment.2.clone_from(amount);
                }
            }
            MutationKind::AddMember { .. } | MutationKind::ConfirmPayout { .. } => {}
        }
    }

    /// Sums per tontine what the treasurer has not validated yet (a payment whose server row
    /// is `valide`, or `rembourse` after it, has been handed over).
    fn held(self, conn: &Connection) -> Result<Vec<CashHeld>> {
        let mut totals: BTreeMap<(String, Currency), Amount> = BTreeMap::new();
        for (id, (tontine_id, currency, amount)) in self.payments {
            let handed_over = rows::get(conn, Entity::Payment, id)?
                .and_then(|row| PaymentStatus::try_from(row.text("status").as_str()).ok())
                .is_some_and(|s| matches!(s, PaymentStatus::Valide | PaymentStatus::Rembourse));
            if handed_over {
                continue;
            }
            let currency = Currency::parse(&currency).map_err(|e| Error::Corrupt(e.to_string()))?;
            let amount =
                Amount::parse(&amount, currency).map_err(|e| Error::Corrupt(e.to_string()))?;
            let total = totals
                .entry((tontine_id, currency))
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
