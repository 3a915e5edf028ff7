//! The phone's copy of the server's rows, stored generically per scope (tontine).
//!
//! A row is `(entity, id, tontine_id, change_seq, fields)` with its fields as the server sent
//! them (text values, JSON-encoded here), so the scope checksum computed over the copy
//! ([`checksum`]) is the server's when the copy is right.

use std::collections::BTreeMap;

use kobiri_core::sync::{Change, Entity, row_digest, scope_checksum};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::error::{Error, Result};

/// One row of the server, as held on the phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) entity: Entity,
    pub(crate) id: Uuid,
    pub(crate) tontine_id: String,
    pub(crate) fields: BTreeMap<String, String>,
}

impl Row {
    /// A field's text, or `""` when the server omitted it.
    pub(crate) fn text(&self, field: &str) -> String {
        self.fields.get(field).cloned().unwrap_or_default()
    }

    /// An optional field's text.
    pub(crate) fn opt(&self, field: &str) -> Option<String> {
        self.fields.get(field).cloned()
    }

    /// A boolean field ("true"/"false"); absent is false.
    pub(crate) fn flag(&self, field: &str) -> bool {
        self.fields.get(field).is_some_and(|v| v == "true")
    }
}

const COLUMNS: &str = "entity, id, tontine_id, fields_json";

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn parse_row((entity, id, tontine_id, json): (String, String, String, String)) -> Result<Row> {
    let entity = Entity::try_from(entity.as_str()).map_err(|e| Error::Corrupt(e.to_string()))?;
    let id = Uuid::parse_str(&id).map_err(|e| Error::Corrupt(e.to_string()))?;
    Ok(Row {
        entity,
        id,
        tontine_id,
        fields: serde_json::from_str(&json)?,
    })
}

/// The row `entity`/`id`, if the phone holds it.
pub(crate) fn get(conn: &Connection, entity: Entity, id: Uuid) -> Result<Option<Row>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM server_rows WHERE entity = ?1 AND id = ?2"),
        params![entity.as_str(), id.to_string()],
        read_row,
    )
    .optional()?
    .map(parse_row)
    .transpose()
}

/// Every row of `entity`, of one scope or of all, in id order (UUID v7: creation order).
pub(crate) fn all(conn: &Connection, entity: Entity, tontine_id: Option<&str>) -> Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM server_rows
         WHERE entity = ?1 AND (?2 IS NULL OR tontine_id = ?2) ORDER BY id"
    ))?;
    let raw = stmt
        .query_map(params![entity.as_str(), tontine_id], read_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    raw.into_iter().map(parse_row).collect()
}

/// The member rows of scope `tontine_id` whose `user_id` is `user_id` (filtered in SQLite, so
/// that recording does not parse every member of a large tontine).
pub(crate) fn members_of_user(
    conn: &Connection,
    tontine_id: &str,
    user_id: &str,
) -> Result<Vec<Row>> {
    // `+id`: order without the primary key (entity, id), whose ordered scan would read every
    // member of every tontine on the phone instead of this tontine's through its index.
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM server_rows
         WHERE entity = 'member' AND tontine_id = ?1
           AND json_extract(fields_json, '$.user_id') = ?2
         ORDER BY +id"
    ))?;
    let raw = stmt
        .query_map(params![tontine_id, user_id], read_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    raw.into_iter().map(parse_row).collect()
}

/// Applies one change of scope `tontine_id`: upsert, or delete for a tombstone. A tontine's
/// tombstone removes the whole scope and its cursor. Returns true when the scope was removed.
pub(crate) fn apply(conn: &Connection, tontine_id: &str, change: &Change) -> Result<bool> {
    let id = change.id.to_string();
    match &change.row {
        Some(fields) => {
            let seq = i64::try_from(change.change_seq)
                .map_err(|_| Error::integrity("numéro de changement hors limites"))?;
            conn.prepare_cached(
                "INSERT INTO server_rows (entity, id, tontine_id, change_seq, fields_json)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (entity, id) DO UPDATE SET tontine_id = excluded.tontine_id,
                     change_seq = excluded.change_seq, fields_json = excluded.fields_json",
            )?
            .execute(params![
                change.entity.as_str(),
                id,
                tontine_id,
                seq,
                serde_json::to_string(fields)?
            ])?;
            Ok(false)
        }
        None if change.entity == Entity::Tontine => {
            drop_scope(conn, tontine_id)?;
            conn.execute("DELETE FROM scopes WHERE tontine_id = ?1", [tontine_id])?;
            Ok(true)
        }
        None => {
            conn.prepare_cached("DELETE FROM server_rows WHERE entity = ?1 AND id = ?2")?
                .execute(params![change.entity.as_str(), id])?;
            Ok(false)
        }
    }
}

/// Removes every server row of a scope (never the outbox nor the local rows).
pub(crate) fn drop_scope(conn: &Connection, tontine_id: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM server_rows WHERE tontine_id = ?1",
        [tontine_id],
    )?;
    Ok(())
}

/// The checksum of the phone's copy of a scope, computed as the server computes its own.
pub(crate) fn checksum(conn: &Connection, tontine_id: &str) -> Result<String> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM server_rows WHERE tontine_id = ?1"
    ))?;
    let raw = stmt
        .query_map([tontine_id], read_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let digests = raw
        .into_iter()
        .map(|r| parse_row(r).map(|row| row_digest(row.entity, row.id, &row.fields)))
        .collect::<Result<Vec<_>>>()?;
    Ok(scope_checksum(digests))
}

/// The server checksum the scope's copy last matched, if nothing changed in it since.
pub(crate) fn verified(conn: &Connection, tontine_id: &str) -> Result<Option<String>> {
    let mut stmt = conn.prepare_cached("SELECT verified FROM scopes WHERE tontine_id = ?1")?;
    let found = stmt
        .query_row([tontine_id], |r| r.get::<_, Option<String>>(0))
        .optional()?;
    Ok(found.flatten())
}

/// Notes that the scope's copy matches `checksum` (forgotten by the next write to its rows).
pub(crate) fn set_verified(conn: &Connection, tontine_id: &str, checksum: &str) -> Result<()> {
    conn.prepare_cached("UPDATE scopes SET verified = ?2 WHERE tontine_id = ?1")?
        .execute(params![tontine_id, checksum])?;
    Ok(())
}

/// The cursors of every scope the phone holds.
pub(crate) fn cursors(conn: &Connection) -> Result<Vec<(String, u64)>> {
    let mut stmt =
        conn.prepare_cached("SELECT tontine_id, cursor FROM scopes ORDER BY tontine_id")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows
        .into_iter()
        .map(|(id, cursor)| (id, u64::try_from(cursor).unwrap_or(0)))
        .collect())
}

/// Sets a scope's cursor, creating the scope when the server names a new one.
pub(crate) fn set_cursor(conn: &Connection, tontine_id: &str, cursor: u64) -> Result<()> {
    let cursor = i64::try_from(cursor)
        .map_err(|_| Error::integrity("curseur de synchronisation hors limites"))?;
    conn.execute(
        "INSERT INTO scopes (tontine_id, cursor) VALUES (?1, ?2)
         ON CONFLICT (tontine_id) DO UPDATE SET cursor = excluded.cursor",
        params![tontine_id, cursor],
    )?;
    Ok(())
}
