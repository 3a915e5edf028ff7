//! Applying one `/sync` answer to the local database, in the caller's one transaction:
//! outcomes to the outbox, changes to the copy of each scope, cursors, checksums.
//!
//! A killed process loses the whole answer or none of it: an outbox entry is acknowledged
//! only together with its outcome, and a resent mutation is answered `duplicate`.

use std::collections::BTreeSet;

use kobiri_core::DeviceId;
use kobiri_core::sync::{ChainError, Outcome, PageStatus, ScopeChanges, SyncResponse};
use rusqlite::Connection;

use crate::error::Result;
use crate::meta::{self, Key};
use crate::{outbox, rows};

/// What one answer did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Round {
    /// Outbox entries newly answered.
    pub(crate) acknowledged: u64,
    pub(crate) applied: u64,
    pub(crate) duplicates: u64,
    pub(crate) flagged: u64,
    pub(crate) rejected: u64,
    pub(crate) pulled_changes: u64,
    /// A scope has more to pull (a page with more, a reset, a checksum to redo).
    pub(crate) more: bool,
    /// The server expects an earlier mutation than the ones sent: its message.
    pub(crate) gap: Option<String>,
    /// The server needs a newer client; nothing was applied.
    pub(crate) upgrade_required: bool,
    /// Problems worth telling the user, in French (also stored as the last error).
    pub(crate) problems: Vec<String>,
}

/// Applies `response` to the mutations `sent` (their seqs, ascending). `resets` holds the
/// scopes already reloaded for a checksum mismatch during this sync: a scope is reloaded at
/// most once per sync, so a lasting disagreement cannot loop.
pub(crate) fn apply(
    conn: &Connection,
    device_id: DeviceId,
    sent: &[u64],
    response: &SyncResponse,
    now: i64,
    resets: &mut BTreeSet<String>,
) -> Result<Round> {
    let mut round = Round::default();
    if response.upgrade_required {
        round.upgrade_required = true;
        return Ok(round);
    }
    let gap_code = ChainError::Gap {
        expected: 0,
        got: 0,
    }
    .code();
    for answered in &response.outcomes {
        if sent.binary_search(&answered.seq).is_err() {
            continue;
        }
        match &answered.outcome {
            Outcome::Rejected { code, message } if code == gap_code => {
                round.gap.get_or_insert_with(|| message.clone());
                continue;
            }
            Outcome::Applied => round.applied += 1,
            Outcome::Duplicate => round.duplicates += 1,
            Outcome::Flagged { .. } => round.flagged += 1,
            Outcome::Rejected { .. } => round.rejected += 1,
        }
        if outbox::acknowledge(conn, device_id, answered.seq, &answered.outcome, now)? {
            round.acknowledged += 1;
        }
    }
    for scope in &response.scopes {
        apply_scope(conn, scope, &mut round, resets)?;
    }
    meta::set(conn, Key::LastSyncAt, &now.to_string())?;
    if let Some(problem) = round.problems.last() {
        meta::set(conn, Key::LastError, problem)?;
    }
    Ok(round)
}

fn apply_scope(
    conn: &Connection,
    scope: &ScopeChanges,
    round: &mut Round,
    resets: &mut BTreeSet<String>,
) -> Result<()> {
    let tontine_id = scope.tontine_id.to_string();
    if scope.status == PageStatus::MustReset {
        rows::drop_scope(conn, &tontine_id)?;
        rows::set_cursor(conn, &tontine_id, 0)?;
        round.more = true;
        return Ok(());
    }
    for change in &scope.changes {
        round.pulled_changes += 1;
        if rows::apply(conn, &tontine_id, change)? {
            // The tontine is gone (deleted, or no longer visible): so is the scope.
            return Ok(());
        }
    }
    rows::set_cursor(conn, &tontine_id, scope.cursor)?;
    match (scope.status, &scope.checksum) {
        (PageStatus::HasMore, _) => round.more = true,
        (PageStatus::UpToDate, Some(expected)) => {
            let known = rows::verified(conn, &tontine_id)?;
            if known.is_some_and(|k| k.eq_ignore_ascii_case(expected)) {
                // The copy matched this very checksum and no row changed since.
                return Ok(());
            }
            let local = rows::checksum(conn, &tontine_id)?;
            if local.eq_ignore_ascii_case(expected) {
                rows::set_verified(conn, &tontine_id, expected)?;
            } else {
                let reload = resets.insert(tontine_id.clone());
                round.problems.push(if reload {
                    format!(
                        "la copie locale de la tontine {tontine_id} différait du serveur : \
                         elle est rechargée"
                    )
                } else {
                    format!(
                        "la copie locale de la tontine {tontine_id} diffère encore du serveur \
                         après rechargement"
                    )
                });
                if reload {
                    rows::drop_scope(conn, &tontine_id)?;
                    rows::set_cursor(conn, &tontine_id, 0)?;
                    round.more = true;
                }
            }
        }
        _ => {}
    }
    Ok(())
}
