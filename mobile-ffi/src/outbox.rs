//! The outbox: this device's mutations, numbered 1, 2, 3… and hash-chained, stored as the
//! exact canonical CBOR bytes that are hashed and sent, until the server answers for them.

use kobiri_core::DeviceId;
use kobiri_core::sync::{Mutation, MutationKind, Outcome, RawMutation, ZERO_HASH, receipt_code};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::error::{Error, Result};

/// Where an outbox entry stands. Each has its stored string once, here (and in the table's
/// `CHECK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Not answered by the server yet.
    Pending,
    /// Applied by the server.
    Applied,
    /// Applied earlier (an answer was lost): a success.
    Duplicate,
    /// Kept by the server for the treasurer to resolve.
    Flagged,
    /// Refused for good.
    Rejected,
}

impl State {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Applied => "applied",
            State::Duplicate => "duplicate",
            State::Flagged => "flagged",
            State::Rejected => "rejected",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<State> {
        [
            State::Pending,
            State::Applied,
            State::Duplicate,
            State::Flagged,
            State::Rejected,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
        .ok_or_else(|| Error::Corrupt(format!("état d'envoi inconnu : {s}")))
    }

    /// The state an outcome leaves, with its code and message.
    fn of(outcome: &Outcome) -> (State, Option<&str>, Option<&str>) {
        match outcome {
            Outcome::Applied => (State::Applied, None, None),
            Outcome::Duplicate => (State::Duplicate, None, None),
            Outcome::Rejected { code, message } => (State::Rejected, Some(code), Some(message)),
            Outcome::Flagged { reason } => (State::Flagged, None, Some(reason)),
        }
    }
}

/// A mutation just queued.
#[derive(Debug, Clone)]
pub(crate) struct Queued {
    pub(crate) mutation: Mutation,
    pub(crate) receipt_code: String,
}

/// Builds this device's next mutation of `kind` (seq = last + 1, `prev_hash` = the last one's
/// hash, or zeros for the first), checks it with core's rules, and stores it with its hash and
/// receipt code. The caller owns the transaction, so its local rows commit with it.
pub(crate) fn queue(
    tx: &Transaction<'_>,
    device_id: DeviceId,
    recorded_at: i64,
    tontine_id: &str,
    kind: MutationKind,
) -> Result<Queued> {
    let device = device_id.to_string();
    let last: Option<(i64, Vec<u8>)> = tx
        .prepare_cached(
            "SELECT seq, hash FROM outbox WHERE device_id = ?1 ORDER BY seq DESC LIMIT 1",
        )?
        .query_row([&device], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (seq, prev_hash) = match last {
        None => (1, ZERO_HASH),
        Some((seq, hash)) => {
            let hash = <[u8; 32]>::try_from(hash)
                .map_err(|_| Error::Corrupt("empreinte de mutation tronquée".to_owned()))?;
            (seq_from_db(seq)? + 1, hash)
        }
    };
    let mutation = Mutation {
        device_id,
        seq,
        prev_hash,
        recorded_at,
        kind,
    };
    mutation.validate()?;
    let raw = RawMutation::from_mutation(&mutation);
    let code = receipt_code(&mutation).to_string();
    tx.prepare_cached(
        "INSERT INTO outbox (device_id, seq, kind, tontine_id, bytes, hash, receipt_code,
                             recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        device,
        seq_to_db(seq)?,
        mutation.kind.as_str(),
        tontine_id,
        raw.bytes(),
        raw.hash().as_slice(),
        code,
        recorded_at,
    ])?;
    Ok(Queued {
        mutation,
        receipt_code: code,
    })
}

/// The `limit` oldest unanswered mutations of the device: `(seq, canonical bytes)`.
pub(crate) fn pending(
    conn: &Connection,
    device_id: DeviceId,
    limit: usize,
) -> Result<Vec<(u64, Vec<u8>)>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(
        "SELECT seq, bytes FROM outbox WHERE device_id = ?1 AND state = 'pending'
         ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![device_id.to_string(), limit], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(seq, bytes)| Ok((seq_from_db(seq)?, bytes)))
        .collect()
}

/// Stores the server's outcome for mutation `seq`, once: returns false when it was not
/// pending (already answered, or unknown).
pub(crate) fn acknowledge(
    conn: &Connection,
    device_id: DeviceId,
    seq: u64,
    outcome: &Outcome,
    now: i64,
) -> Result<bool> {
    let (state, code, message) = State::of(outcome);
    let changed = conn
        .prepare_cached(
            "UPDATE outbox SET state = ?3, outcome_code = ?4, outcome_message = ?5,
                               acknowledged_at = ?6
             WHERE device_id = ?1 AND seq = ?2 AND state = 'pending'",
        )?
        .execute(params![
            device_id.to_string(),
            seq_to_db(seq)?,
            state.as_str(),
            code,
            message,
            now
        ])?;
    Ok(changed == 1)
}

/// One outbox entry, for the reconciliation and status views.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) seq: u64,
    /// The kind recorded beside the bytes (what the bytes said when they were queued).
    pub(crate) kind: String,
    pub(crate) tontine_id: String,
    pub(crate) bytes: Vec<u8>,
    pub(crate) receipt_code: String,
    pub(crate) recorded_at: i64,
    pub(crate) state: State,
    pub(crate) outcome_code: Option<String>,
    pub(crate) outcome_message: Option<String>,
}

/// Every entry of the device, oldest first.
pub(crate) fn entries(conn: &Connection, device_id: DeviceId) -> Result<Vec<Entry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, kind, tontine_id, bytes, receipt_code, recorded_at, state, outcome_code,
                outcome_message
         FROM outbox WHERE device_id = ?1 ORDER BY seq",
    )?;
    let rows = stmt
        .query_map([device_id.to_string()], |r| {
            Ok((
                (r.get::<_, i64>(0)?, r.get::<_, String>(1)?),
                r.get::<_, String>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, Option<String>>(8)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(
            |((seq, kind), tontine_id, bytes, receipt_code, recorded_at, state, code, message)| {
                Ok(Entry {
                    seq: seq_from_db(seq)?,
                    kind,
                    tontine_id,
                    bytes,
                    receipt_code,
                    recorded_at,
                    state: State::parse(&state)?,
                    outcome_code: code,
                    outcome_message: message,
                })
            },
        )
        .collect()
}

/// How many mutations wait, and when the oldest was recorded.
pub(crate) fn pending_summary(conn: &Connection) -> Result<(u64, Option<i64>)> {
    let (count, oldest): (i64, Option<i64>) = conn.query_row(
        "SELECT count(*), min(recorded_at) FROM outbox WHERE state = 'pending'",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok((u64::try_from(count).unwrap_or(0), oldest))
}

fn seq_to_db(seq: u64) -> Result<i64> {
    i64::try_from(seq).map_err(|_| Error::integrity("numéro de mutation hors limites"))
}

fn seq_from_db(seq: i64) -> Result<u64> {
    u64::try_from(seq).map_err(|_| Error::Corrupt(format!("numéro de mutation négatif : {seq}")))
}
