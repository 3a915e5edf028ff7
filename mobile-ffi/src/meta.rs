//! Key/value metadata in the `meta` table: tokens, the device id, who is logged in, the last
//! sync's facts.

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Result;

/// A metadata key. Each has its stored name once, here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    /// The short-lived bearer token.
    AccessToken,
    /// The refresh token (device-bound once the device is enrolled).
    RefreshToken,
    /// The enrolled device's id.
    DeviceId,
    /// The logged-in user's id (from `GET /api/v1/auth/me`), whose role the recordings are
    /// checked against.
    UserId,
    /// The logged-in user's platform role (`membre` or `admin`).
    PlatformRole,
    /// The last sync problem, in French, until the next sync starts.
    LastError,
    /// Unix seconds of the last answer applied.
    LastSyncAt,
}

impl Key {
    fn as_str(self) -> &'static str {
        match self {
            Key::AccessToken => "access_token",
            Key::RefreshToken => "refresh_token",
            Key::DeviceId => "device_id",
            Key::UserId => "user_id",
            Key::PlatformRole => "platform_role",
            Key::LastError => "last_error",
            Key::LastSyncAt => "last_sync_at",
        }
    }
}

/// The value under `key`, if any.
pub(crate) fn get(conn: &Connection, key: Key) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [key.as_str()],
            |r| r.get(0),
        )
        .optional()?)
}

/// Sets `key` to `value`.
pub(crate) fn set(conn: &Connection, key: Key, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key.as_str(), value],
    )?;
    Ok(())
}

/// Removes `key`.
pub(crate) fn clear(conn: &Connection, key: Key) -> Result<()> {
    conn.execute("DELETE FROM meta WHERE key = ?1", [key.as_str()])?;
    Ok(())
}
