//! The list views: the server's rows merged with this phone's own entries, each shown once.

use std::collections::BTreeMap;

use kobiri_core::TontineId;
use kobiri_core::sync::Entity;
use rusqlite::{Connection, params};

use crate::error::{Error, Result};
use crate::meta::{self, Key};
use crate::outbox::State;
use crate::record::{full_name, rfc3339};
use crate::records::{MemberRecord, PaymentRecord, SessionRecord, SyncState, TontineRecord};
use crate::rows::{self, Row};

/// Every tontine the phone holds.
pub(crate) fn tontines(conn: &Connection) -> Result<Vec<TontineRecord>> {
    Ok(rows::all(conn, Entity::Tontine, None)?
        .into_iter()
        .map(|row| TontineRecord {
            id: row.id.to_string(),
            name: row.text("name"),
            currency: row.text("currency"),
            contribution_amount: row.text("contribution_amount"),
            frequency: row.text("frequency"),
            status: row.text("status"),
        })
        .collect())
}

/// A tontine's sessions, by number.
pub(crate) fn sessions(conn: &Connection, tontine_id: &str) -> Result<Vec<SessionRecord>> {
    let scope = scope_id(tontine_id)?;
    let mut sessions: Vec<SessionRecord> = rows::all(conn, Entity::Session, Some(&scope))?
        .into_iter()
        .map(|row| SessionRecord {
            id: row.id.to_string(),
            tontine_id: row.tontine_id.clone(),
            session_number: row.text("session_number").parse().unwrap_or(0),
            due_date: row.text("due_date"),
            status: row.text("status"),
            expected_amount: row.text("expected_amount"),
            collected_amount: row.text("collected_amount"),
        })
        .collect();
    sessions.sort_by_key(|s| s.session_number);
    Ok(sessions)
}

/// A tontine's members: the server's, then those added here and not back from it yet.
pub(crate) fn members(conn: &Connection, tontine_id: &str) -> Result<Vec<MemberRecord>> {
    let scope = scope_id(tontine_id)?;
    let mut local = local_members(conn, &scope)?;
    let mut members: Vec<MemberRecord> = rows::all(conn, Entity::Member, Some(&scope))?
        .into_iter()
        .map(|row| {
            let sync_state = local
                .remove(&row.id.to_string())
                .map_or(SyncState::Applied, |m| m.sync_state);
            MemberRecord {
                id: row.id.to_string(),
                tontine_id: row.tontine_id.clone(),
                user_id: row.text("user_id"),
                first_name: row.text("first_name"),
                last_name: row.text("last_name"),
                phone: row.opt("phone"),
                role: row.text("role"),
                is_active: row.flag("is_active"),
                sync_state,
            }
        })
        .collect();
    members.extend(local.into_values());
    Ok(members)
}

fn local_members(conn: &Connection, scope: &str) -> Result<BTreeMap<String, MemberRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.id, m.user_id, m.first_name, m.last_name, m.phone, o.state
         FROM local_members m JOIN outbox o ON o.device_id = m.device_id AND o.seq = m.seq
         WHERE m.tontine_id = ?1 ORDER BY m.id",
    )?;
    let rows = stmt
        .query_map([scope], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(id, user_id, first_name, last_name, phone, state)| {
            let record = MemberRecord {
                id: id.clone(),
                tontine_id: scope.to_owned(),
                user_id,
                first_name,
                last_name,
                phone: Some(phone),
                role: kobiri_core::TontineRole::Membre.as_str().to_owned(),
                is_active: true,
                sync_state: sync_state(State::parse(&state)?, false),
            };
            Ok((id, record))
        })
        .collect()
}

/// A tontine's payments: the server's and this phone's, each once, in id (time) order.
pub(crate) fn payments(conn: &Connection, tontine_id: &str) -> Result<Vec<PaymentRecord>> {
    let scope = scope_id(tontine_id)?;
    let names = member_names(conn, &scope)?;
    let name = |member_id: &str| names.get(member_id).cloned().unwrap_or_default();
    let device = meta::get(conn, Key::DeviceId)?.unwrap_or_default();
    let mut local = local_payments(conn, &scope)?;
    let mut payments: Vec<PaymentRecord> = Vec::new();
    for row in rows::all(conn, Entity::Payment, Some(&scope))? {
        let mine = local.remove(&row.id.to_string());
        let recorded_here = mine.is_some() || row.text("device_id") == device;
        payments.push(server_payment(&row, mine, recorded_here, &name));
    }
    payments.extend(local.into_values().map(|mut p| {
        p.member_name = name(&p.member_id);
        p
    }));
    payments.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(payments)
}

/// A server payment row, with what this phone knows of it when it recorded it.
fn server_payment(
    row: &Row,
    mine: Option<PaymentRecord>,
    recorded_here: bool,
    name: &impl Fn(&str) -> String,
) -> PaymentRecord {
    let flagged = row.flag("flagged");
    let (sync_state, sync_message, corrects, recorded_at) = match mine {
        Some(p) => (
            if flagged {
                SyncState::Flagged
            } else {
                p.sync_state
            },
            p.sync_message,
            p.corrects,
            p.recorded_at,
        ),
        None => (
            sync_state(State::Applied, flagged),
            None,
            row.opt("corrects"),
            row.text("created_at"),
        ),
    };
    let member_id = row.text("member_id");
    PaymentRecord {
        id: row.id.to_string(),
        tontine_id: row.tontine_id.clone(),
        session_id: row.text("session_id"),
        member_name: name(&member_id),
        member_id,
        amount: row.text("amount"),
        currency: row.text("currency"),
        method: row.text("method"),
        status: row.text("status"),
        receipt_code: row.opt("receipt_code"),
        is_late: row.flag("is_late"),
        penalty_amount: row.opt("penalty_amount"),
        corrects,
        recorded_at,
        recorded_here,
        sync_state,
        sync_message,
    }
}

fn local_payments(conn: &Connection, scope: &str) -> Result<BTreeMap<String, PaymentRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT p.id, p.session_id, p.member_id, p.amount, p.currency, p.corrects,
                o.receipt_code, o.recorded_at, o.state, o.outcome_message
         FROM local_payments p JOIN outbox o ON o.device_id = p.device_id AND o.seq = p.seq
         WHERE p.tontine_id = ?1",
    )?;
    let rows = stmt
        .query_map(params![scope], |r| {
            Ok((
                [
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(8)?,
                ],
                r.get::<_, Option<String>>(5)?,
                r.get::<_, i64>(7)?,
                r.get::<_, Option<String>>(9)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(
            |(
                [id, session_id, member_id, amount, currency, receipt, state],
                corrects,
                at,
                message,
            )| {
                let record = PaymentRecord {
                    id: id.clone(),
                    tontine_id: scope.to_owned(),
                    session_id,
                    member_id,
                    member_name: String::new(),
                    amount,
                    currency,
                    method: kobiri_core::PaymentMethod::Especes.as_str().to_owned(),
                    status: kobiri_core::PaymentStatus::EnAttente.as_str().to_owned(),
                    receipt_code: Some(receipt),
                    is_late: false,
                    penalty_amount: None,
                    corrects,
                    recorded_at: rfc3339(at),
                    recorded_here: true,
                    sync_state: sync_state(State::parse(&state)?, false),
                    sync_message: message,
                };
                Ok((id, record))
            },
        )
        .collect()
}

/// Member id → full name, for the server's members and those added here.
fn member_names(conn: &Connection, scope: &str) -> Result<BTreeMap<String, String>> {
    let mut names: BTreeMap<String, String> = rows::all(conn, Entity::Member, Some(scope))?
        .into_iter()
        .map(|row| {
            (
                row.id.to_string(),
                full_name(&row.text("first_name"), &row.text("last_name")),
            )
        })
        .collect();
    for (id, member) in local_members(conn, scope)? {
        names
            .entry(id)
            .or_insert_with(|| full_name(&member.first_name, &member.last_name));
    }
    Ok(names)
}

/// What the app shows for an outbox state (and the server's flag on its row).
pub(crate) fn sync_state(state: State, flagged_on_server: bool) -> SyncState {
    match state {
        State::Pending => SyncState::Pending,
        State::Rejected => SyncState::Rejected,
        State::Flagged => SyncState::Flagged,
        State::Applied | State::Duplicate if flagged_on_server => SyncState::Flagged,
        State::Applied | State::Duplicate => SyncState::Applied,
    }
}

/// The scope key of a tontine id given by the app.
fn scope_id(tontine_id: &str) -> Result<String> {
    TontineId::parse(tontine_id)
        .map(|id| id.to_string())
        .map_err(|e| Error::validation("tontine_id", e))
}
