//! The phone's SQLite database: opening, pragmas, schema versions and transactions.
//!
//! The schema version lives in `PRAGMA user_version`; [`MIGRATIONS`] are ordered steps, and
//! opening applies those above the stored version in one transaction. A database written by a
//! newer version of the library is refused rather than guessed at.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::error::{Error, MobileError, Result};

/// Version 1: the copy of the server's rows, per scope (tontine), and key/value metadata.
const V1: &str = "
CREATE TABLE meta (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE scopes (
    tontine_id TEXT PRIMARY KEY NOT NULL,
    cursor INTEGER NOT NULL DEFAULT 0 CHECK (cursor >= 0)
) STRICT;

CREATE TABLE server_rows (
    entity TEXT NOT NULL
        CHECK (entity IN ('tontine', 'member', 'session', 'payment', 'passage')),
    id TEXT NOT NULL,
    tontine_id TEXT NOT NULL,
    change_seq INTEGER NOT NULL,
    fields_json TEXT NOT NULL,
    PRIMARY KEY (entity, id)
) STRICT;

CREATE INDEX server_rows_scope ON server_rows (tontine_id, entity);
";

/// Version 2: the outbox of this device's hash-chained mutations, and the rows they create
/// locally until the server's copy comes back.
const V2: &str = "
CREATE TABLE outbox (
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL CHECK (seq >= 1),
    kind TEXT NOT NULL
        CHECK (kind IN ('record_cash_payment', 'add_member', 'confirm_payout', 'correct_payment')),
    tontine_id TEXT NOT NULL,
    bytes BLOB NOT NULL,
    hash BLOB NOT NULL CHECK (length(hash) = 32),
    receipt_code TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'applied', 'duplicate', 'flagged', 'rejected')),
    outcome_code TEXT,
    outcome_message TEXT,
    acknowledged_at INTEGER,
    PRIMARY KEY (device_id, seq)
) STRICT;

CREATE INDEX outbox_pending ON outbox (seq) WHERE state = 'pending';

CREATE TABLE local_payments (
    id TEXT PRIMARY KEY NOT NULL,
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    tontine_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    corrects TEXT,
    reason TEXT,
    FOREIGN KEY (device_id, seq) REFERENCES outbox (device_id, seq)
) STRICT;

CREATE INDEX local_payments_tontine ON local_payments (tontine_id);

CREATE TABLE local_members (
    id TEXT PRIMARY KEY NOT NULL,
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    tontine_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    phone TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    FOREIGN KEY (device_id, seq) REFERENCES outbox (device_id, seq)
) STRICT;

CREATE INDEX local_members_tontine ON local_members (tontine_id);
";

/// Version 3: each scope remembers the server checksum its copy last matched, so a sync
/// that changed nothing in a scope does not read the whole scope again to compare. Any write
/// to the scope's rows forgets it (triggers, so no code path can miss it).
const V3: &str = "
ALTER TABLE scopes ADD COLUMN verified TEXT;

CREATE TRIGGER server_rows_insert AFTER INSERT ON server_rows BEGIN
    UPDATE scopes SET verified = NULL
    WHERE tontine_id = NEW.tontine_id AND verified IS NOT NULL;
END;

CREATE TRIGGER server_rows_update AFTER UPDATE ON server_rows BEGIN
    UPDATE scopes SET verified = NULL
    WHERE tontine_id IN (OLD.tontine_id, NEW.tontine_id) AND verified IS NOT NULL;
END;

CREATE TRIGGER server_rows_delete AFTER DELETE ON server_rows BEGIN
    UPDATE scopes SET verified = NULL
    WHERE tontine_id = OLD.tontine_id AND verified IS NOT NULL;
END;
";

/// The schema's upgrade steps, oldest first: step `i` takes version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[V1, V2, V3];

/// The schema version this code writes.
#[cfg(test)]
pub(crate) fn current_version() -> i64 {
    // A handful of steps; a `usize` this small always fits.
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

/// The connection, one writer at a time.
pub(crate) struct Db {
    conn: Mutex<Connection>,
}

impl Db {
    /// Opens (or creates) the database at `path` and brings its schema up to date.
    pub(crate) fn open(path: &str) -> Result<Db> {
        let mut conn = Connection::open(path)?;
        configure(&conn)?;
        upgrade(&mut conn, MIGRATIONS.len())?;
        Ok(Db {
            conn: Mutex::new(conn),
        })
    }

    /// Runs `f` on the connection (reads; several statements see one snapshot only inside a
    /// transaction, so use [`Db::write`] when that matters).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        f(&self.lock())
    }

    /// Runs `f` in one immediate transaction, committed when `f` returns `Ok`.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// A poisoned lock only means another call panicked: its transaction was rolled back
    /// when dropped, so the connection is still sound.
    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// WAL (readers do not block the writer), foreign keys, and `synchronous=FULL`: a recorded
/// payment is on disk when the call returns.
fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    let _mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// Applies the steps above the stored version, up to version `target`, in one transaction.
pub(crate) fn upgrade(conn: &mut Connection, target: usize) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let stored: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let stored = usize::try_from(stored).map_err(|_| newer_schema())?;
    if stored > MIGRATIONS.len() {
        return Err(newer_schema());
    }
    for step in MIGRATIONS.iter().take(target).skip(stored) {
        tx.execute_batch(step)?;
    }
    if target > stored {
        let version = i64::try_from(target).map_err(|_| newer_schema())?;
        tx.pragma_update(None, "user_version", version)?;
    }
    tx.commit()?;
    Ok(())
}

fn newer_schema() -> Error {
    Error::Public(MobileError::Storage {
        detail: "la base locale vient d'une version plus récente de l'application".to_owned(),
    })
}

/// Reads `PRAGMA user_version`.
#[cfg(test)]
pub(crate) fn schema_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |row| row.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn a_new_database_gets_the_whole_schema_and_its_pragmas() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        let db = Db::open(path.to_str().unwrap()).unwrap();
        db.read(|conn| {
            assert_eq!(schema_version(conn)?, current_version());
            assert_eq!(
                tables(conn),
                [
                    "local_members",
                    "local_payments",
                    "meta",
                    "outbox",
                    "scopes",
                    "server_rows"
                ]
            );
            let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
            let fk: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
            let sync: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
            assert_eq!((mode.as_str(), fk, sync), ("wal", 1, 2));
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn every_older_version_upgrades_and_keeps_its_rows() {
        for old in 0..MIGRATIONS.len() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("k.db");
            {
                let mut conn = Connection::open(&path).unwrap();
                upgrade(&mut conn, old).unwrap();
                assert_eq!(schema_version(&conn).unwrap(), old as i64);
                if old >= 1 {
                    conn.execute(
                        "INSERT INTO meta (key, value) VALUES ('device_id', 'kept')",
                        [],
                    )
                    .unwrap();
                }
            }
            let db = Db::open(path.to_str().unwrap()).unwrap();
            db.read(|conn| {
                assert_eq!(schema_version(conn)?, current_version(), "from {old}");
                let kept: Option<String> = conn
                    .query_row("SELECT value FROM meta WHERE key = 'device_id'", [], |r| {
                        r.get(0)
                    })
                    .ok();
                assert_eq!(kept.is_some(), old >= 1);
                Ok(())
            })
            .unwrap();
        }
    }

    #[test]
    fn reopening_changes_nothing_and_a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        drop(Db::open(path.to_str().unwrap()).unwrap());
        drop(Db::open(path.to_str().unwrap()).unwrap());
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "user_version", 99).unwrap();
        }
        let err = Db::open(path.to_str().unwrap()).err().unwrap();
        assert_eq!(MobileError::from(err).code(), "storage");
    }

    #[test]
    fn a_failed_write_rolls_back() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("k.db").to_str().unwrap()).unwrap();
        let result: Result<()> = db.write(|tx| {
            tx.execute("INSERT INTO meta (key, value) VALUES ('a', 'b')", [])?;
            Err(Error::not_found("test"))
        });
        assert!(result.is_err());
        let count: i64 = db
            .read(|c| Ok(c.query_row("SELECT count(*) FROM meta", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(count, 0);
    }
}
