//! The pull half of `POST /sync`: per scope (a tontine the user belongs to), the rows changed
//! since the device's cursor, in bounded pages, with tombstones, and the scope's checksum once
//! the device holds everything.
//!
//! Rows travel as text maps; their fields, per entity:
//! - `tontine`: name, currency, contribution_amount, frequency, status
//! - `member`: tontine_id, user_id, first_name, last_name, phone, role, is_active
//! - `session`: tontine_id, session_number, due_date, status, expected_amount, collected_amount
//! - `payment`: tontine_id, session_id, member_id, user_id, amount, currency, method, status,
//!   receipt_code, device_id, recorded_by_id, is_late, penalty_amount, flagged, corrects,
//!   created_at
//! - `passage`: tontine_id, member_id, session_id, order_number, status, expected_amount,
//!   amount_received
//!
//! A member sees every row of their tontines. Payments follow the one visibility rule
//! (`payments::visibility`): other members' payments come without their receipt code (the
//! rows carry no phone number or provider reference for anyone); collectors and up see them in
//! full. Member rows carry the member's phone only for those who see members' contacts
//! (collectors and up, admins: the rule of the REST member list); for plain members it is
//! absent, their own included. A change of role resets the scope so what the new role may not
//! see leaves the phone.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use kobiri_core::{
    ErrorCode, PaymentId, TontineId,
    sync::{Change, Entity, PageStatus, ScopeChanges, ScopeCursor, row_digest, scope_checksum},
};
use uuid::Uuid;

use crate::{
    error::ApiResult,
    payments::visibility::Viewer,
    state::AppState,
    store::{Device, Member, Passage, Payment, Session, Tontine, User, all_pages},
    tontines::TontineAccess,
};

/// Most changes answered per scope in one round trip.
pub const PAGE: u32 = 500;

type Row = BTreeMap<String, String>;

fn row<const N: usize>(fields: [(&str, Option<String>); N]) -> Row {
    fields
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
        .collect()
}

fn text(s: impl std::fmt::Display) -> Option<String> {
    Some(s.to_string())
}

fn tontine_row(t: &Tontine) -> Row {
    let status = if t.is_active { "active" } else { "inactive" };
    row([
        ("name", text(&t.name)),
        ("currency", text(t.currency())),
        ("contribution_amount", text(t.contribution.to_wire_string())),
        ("frequency", text(t.frequency)),
        ("status", text(status)),
    ])
}

/// A member's row; their phone only for a viewer who sees members' contacts.
fn member_row(m: &Member, contacts: bool) -> Row {
    row([
        ("tontine_id", text(m.tontine_id)),
        ("user_id", text(m.user_id)),
        ("first_name", text(&m.first_name)),
        ("last_name", text(&m.last_name)),
        ("phone", contacts.then(|| m.user_phone.to_string())),
        ("role", text(m.role)),
        ("is_active", text(m.is_active)),
    ])
}

fn session_row(s: &Session) -> Row {
    row([
        ("tontine_id", text(s.tontine_id)),
        ("session_number", text(s.session_number)),
        ("due_date", text(s.due_date)),
        ("status", text(s.status)),
        ("expected_amount", text(s.expected_amount.to_wire_string())),
        (
            "collected_amount",
            text(s.collected_amount.to_wire_string()),
        ),
    ])
}

pub(super) fn payment_row(p: &Payment) -> Row {
    row([
        ("tontine_id", text(p.tontine_id)),
        ("session_id", text(p.session_id)),
        ("member_id", text(p.member_id)),
        ("user_id", text(p.user_id)),
        ("amount", text(p.amount.to_wire_string())),
        ("currency", text(p.amount.currency())),
        ("method", text(p.method)),
        ("status", text(p.status)),
        ("receipt_code", p.receipt_code.clone()),
        ("device_id", p.device_id.map(|d| d.to_string())),
        ("recorded_by_id", text(p.recorded_by_id)),
        ("is_late", text(p.is_late)),
        ("penalty_amount", text(p.penalty_amount.to_wire_string())),
        ("flagged", text(p.flagged)),
        ("corrects", p.corrects_id.map(|c| c.to_string())),
        ("created_at", text(p.created_at.to_rfc3339())),
    ])
}

fn passage_row(p: &Passage) -> Row {
    row([
        ("tontine_id", text(p.tontine_id)),
        ("member_id", text(p.member_id)),
        ("session_id", p.session_id.map(|s| s.to_string())),
        ("order_number", text(p.order_number)),
        ("status", text(p.status)),
        ("expected_amount", text(p.expected_amount.to_wire_string())),
        (
            "amount_received",
            p.amount_received.map(|a| a.to_wire_string()),
        ),
    ])
}

/// The row of a payment as `viewer` may see it, if they may.
pub(super) fn seen_payment_row(p: &Payment, viewer: &Viewer) -> Option<Row> {
    viewer.see_ref(p).map(|p| payment_row(&p))
}

/// The rows of a scope the caller may see, keyed by entity and id: with `others`, all the
/// tontine's small tables; of its payments, only those named (the changed ones). Also returns
/// the named payments as read, for the scope's digests.
async fn visible_rows(
    state: &AppState,
    access: &TontineAccess,
    viewer: &Viewer,
    payments: &[PaymentId],
    others: bool,
) -> ApiResult<(HashMap<(Entity, Uuid), Row>, Vec<Payment>)> {
    let store = state.store();
    let t = &access.tontine;
    let mut rows = HashMap::new();
    if others {
        rows.insert((Entity::Tontine, t.id.as_uuid()), tontine_row(t));
        for m in store.list_members(t.id).await? {
            rows.insert(
                (Entity::Member, m.id.as_uuid()),
                member_row(&m, viewer.sees_contacts()),
            );
        }
        let sessions = all_pages(|page| store.list_sessions(t.id, None, page)).await?;
        for s in &sessions {
            rows.insert((Entity::Session, s.id.as_uuid()), session_row(s));
        }
        for p in store.list_passages(t.id).await? {
            rows.insert((Entity::Passage, p.id.as_uuid()), passage_row(&p));
        }
    }
    let read = store.payments_by_ids(payments).await?;
    for p in read.iter().filter(|p| p.tontine_id == t.id) {
        if let Some(row) = seen_payment_row(p, viewer) {
            rows.insert((Entity::Payment, p.id.as_uuid()), row);
        }
    }
    Ok((rows, read))
}

fn role_key(access: &TontineAccess, viewer: &Viewer) -> String {
    let member = access.member.as_ref().map_or("-", |m| m.role.as_str());
    format!("{member}/{}", viewer.sees_all_in_full())
}

fn tombstone(tontine: TontineId) -> ScopeChanges {
    ScopeChanges {
        tontine_id: tontine,
        changes: vec![Change {
            change_seq: 0,
            entity: Entity::Tontine,
            id: tontine.as_uuid(),
            row: None,
        }],
        status: PageStatus::UpToDate,
        checksum: None,
        cursor: 0,
    }
}

/// The page of changes for every scope the device holds or should hold.
// Long on purpose: one pass over the device's scopes that shares the answer's byte budget, the
// cursors and the checksums as it goes; split, the pieces would pass the same dozen locals around.
pub async fn pull(
    state: &AppState,
    caller: &User,
    device: &Device,
    cursors: &[ScopeCursor],
) -> ApiResult<Vec<ScopeChanges>> {
    let store = state.store();
    let mine = store.tontine_ids_of_member(caller.id).await?;
    let mut wanted: Vec<ScopeCursor> = cursors.to_vec();
    for t in &mine {
        if !wanted.iter().any(|c| c.tontine_id == *t) {
            wanted.push(ScopeCursor {
                tontine_id: *t,
                cursor: 0,
            });
        }
    }
    let roles: HashMap<TontineId, String> =
        store.scope_roles(device.id).await?.into_iter().collect();
    let ids: Vec<TontineId> = wanted.iter().map(|c| c.tontine_id).collect();
    let states = store.scope_states(&ids).await?;
    let mut new_roles = Vec::new();
    let mut scopes = Vec::with_capacity(wanted.len());
    for c in wanted {
        let access = if mine.contains(&c.tontine_id) {
            // Only "not yours to see" drops the scope; a failing database is an error.
            match TontineAccess::load(state, caller, c.tontine_id).await {
                Ok(access) => Some(access),
                Err(e) if e.code() == ErrorCode::NotFound => None,
                Err(e) => return Err(e),
            }
        } else {
            None
        };
        let Some(access) = access.filter(|a| a.member.is_some()) else {
            // No longer a member (or never was): the phone drops the scope.
            scopes.push(tombstone(c.tontine_id));
            continue;
        };
        let viewer = Viewer::new(&access, caller.id);
        let role = role_key(&access, &viewer);
        let scope = states.get(&c.tontine_id).copied().unwrap_or_default();
        let role_changed = c.cursor > 0 && roles.get(&c.tontine_id).is_some_and(|r| *r != role);
        if c.cursor > scope.last_seq || (c.cursor > 0 && c.cursor < scope.min_seq) || role_changed {
            scopes.push(ScopeChanges {
                tontine_id: c.tontine_id,
                changes: Vec::new(),
                status: PageStatus::MustReset,
                checksum: None,
                cursor: 0,
            });
            continue;
        }
        if roles.get(&c.tontine_id) != Some(&role) {
            new_roles.push((c.tontine_id, role));
        }
        let view = viewer.key();
        // Nothing changed since the phone's cursor and its checksum is known: no reads.
        if c.cursor == scope.last_seq
            && let Some(checksum) =
                state
                    .sync_digests
                    .unchanged_checksum(c.tontine_id, view, scope.last_seq)
        {
            scopes.push(ScopeChanges {
                tontine_id: c.tontine_id,
                changes: Vec::new(),
                status: PageStatus::UpToDate,
                checksum: Some(checksum),
                cursor: c.cursor,
            });
            continue;
        }
        // The feed is read before the rows: a row newer than its change is sent again later,
        // never older.
        let refs = store
            .changes_since(c.tontine_id, c.cursor, PAGE + 1)
            .await?;
        let has_more = refs.len() > PAGE as usize;
        let changed: Vec<PaymentId> = refs
            .iter()
            .take(PAGE as usize)
            .filter(|r| r.entity == Entity::Payment.as_str() && !r.deleted)
            .map(|r| PaymentId::from_uuid(r.entity_id))
            .collect();
        // The other rows are read when the page carries one of them, or when the checksum
        // needs their digests and none are kept from the cursor on: while a scope only takes
        // payments (a collector's sync), it reads only those.
        let others_changed = refs
            .iter()
            .take(PAGE as usize)
            .any(|r| r.entity != Entity::Payment.as_str());
        let kept = if others_changed {
            None
        } else {
            state
                .sync_digests
                .others_since(c.tontine_id, viewer.sees_contacts(), c.cursor)
        };
        let read_others = others_changed || (!has_more && kept.is_none());
        let (mut rows, read) = visible_rows(state, &access, &viewer, &changed, read_others).await?;
        let mut changes = Vec::with_capacity(refs.len().min(PAGE as usize));
        let mut cursor = c.cursor;
        for r in refs.iter().take(PAGE as usize) {
            cursor = r.change_seq;
            let Ok(entity) = r.entity.parse::<Entity>() else {
                continue;
            };
            // Payment rows leave the map (the checksum takes their digests from `read`); the
            // others stay for the checksum.
            let data = match entity {
                Entity::Payment => rows.remove(&(entity, r.entity_id)),
                _ => rows.get(&(entity, r.entity_id)).cloned(),
            };
            if r.deleted || data.is_some() {
                changes.push(Change {
                    change_seq: r.change_seq,
                    entity,
                    id: r.entity_id,
                    row: if r.deleted { None } else { data },
                });
            }
        }
        let checksum = if has_more {
            None
        } else {
            let payments = state
                .sync_digests
                .payments(
                    state,
                    c.tontine_id,
                    &viewer,
                    scope.last_seq,
                    &read,
                    (c.cursor, &refs),
                )
                .await?;
            let others = match kept {
                Some(kept) => kept,
                None => {
                    let digests: super::digests::Digests = Arc::new(
                        rows.iter()
                            .filter(|((e, _), _)| *e != Entity::Payment)
                            .map(|((e, id), row)| row_digest(*e, *id, row))
                            .collect(),
                    );
                    // Read after the feed up to `cursor`: current to it at least.
                    state.sync_digests.remember_others(
                        c.tontine_id,
                        viewer.sees_contacts(),
                        cursor,
                        Arc::clone(&digests),
                    );
                    digests
                }
            };
            let sum = scope_checksum(others.iter().copied().chain(payments));
            state
                .sync_digests
                .remember_checksum(c.tontine_id, view, scope.last_seq, &sum);
            Some(sum)
        };
        scopes.push(ScopeChanges {
            tontine_id: c.tontine_id,
            changes,
            status: if has_more {
                PageStatus::HasMore
            } else {
                PageStatus::UpToDate
            },
            checksum,
            cursor,
        });
    }
    if !new_roles.is_empty() {
        store.set_scope_roles(device.id, &new_roles).await?;
    }
    Ok(scopes)
}
