//! Tests of the client: recording, applying hand-built answers, and the network path against
//! a local HTTP stand-in (never the real server: that is for the end-to-end tests).

mod applying;
mod fake_server;
mod network;
mod permissions;
mod recording;
mod standin;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use kobiri_core::sync::{
    Change, Entity, PROTOCOL_VERSION, PageStatus, ScopeChanges, SyncResponse, row_digest,
    scope_checksum,
};
use kobiri_core::{DeviceId, TontineId};
use uuid::Uuid;

use crate::KobiriClient;
use crate::client::Client;
use crate::meta::{self, Key};

/// The fixed start of test time.
pub(crate) const T0: i64 = 1_780_000_000;

/// A server row, for building answers.
pub(crate) fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub(crate) fn change(seq: u64, entity: Entity, id: Uuid, row: &[(&str, &str)]) -> Change {
    Change {
        change_seq: seq,
        entity,
        id,
        row: Some(fields(row)),
    }
}

pub(crate) fn tombstone(seq: u64, entity: Entity, id: Uuid) -> Change {
    Change {
        change_seq: seq,
        entity,
        id,
        row: None,
    }
}

/// The checksum the server would send for exactly these changes' rows.
pub(crate) fn checksum_of(changes: &[Change]) -> String {
    scope_checksum(
        changes
            .iter()
            .filter_map(|c| c.row.as_ref().map(|row| row_digest(c.entity, c.id, row))),
    )
}

pub(crate) fn answer(scopes: Vec<ScopeChanges>) -> SyncResponse {
    SyncResponse {
        protocol_version: PROTOCOL_VERSION,
        upgrade_required: false,
        outcomes: Vec::new(),
        scopes,
    }
}

/// One tontine (XOF, contribution 5000) with one session, two members and a passage (Awa's).
/// Awa is the collector (`collecteur`) and the phone's user; Moussa is a plain `membre`.
pub(crate) struct Tontine {
    pub(crate) id: TontineId,
    pub(crate) session: Uuid,
    pub(crate) member: Uuid,
    pub(crate) other_member: Uuid,
    pub(crate) passage: Uuid,
    /// The users of `member` (Awa, the phone's user) and `other_member` (Moussa).
    pub(crate) users: [Uuid; 2],
}

impl Tontine {
    pub(crate) fn new() -> Tontine {
        Tontine {
            id: TontineId::new(),
            session: Uuid::now_v7(),
            member: Uuid::now_v7(),
            other_member: Uuid::now_v7(),
            passage: Uuid::now_v7(),
            users: [Uuid::now_v7(), Uuid::now_v7()],
        }
    }

    pub(crate) fn changes(&self) -> Vec<Change> {
        let t = self.id.to_string();
        vec![
            change(
                1,
                Entity::Tontine,
                self.id.as_uuid(),
                &[
                    ("name", "Tontine du marché"),
                    ("currency", "XOF"),
                    ("contribution_amount", "5000"),
                    ("frequency", "hebdomadaire"),
                    ("status", "active"),
                ],
            ),
            change(
                2,
                Entity::Session,
                self.session,
                &[
                    ("tontine_id", &t),
                    ("session_number", "3"),
                    ("due_date", "2026-11-30"),
                    ("status", "en_cours"),
                    ("expected_amount", "10000"),
                    ("collected_amount", "0"),
                ],
            ),
            self.member_change(3, self.member, self.users[0], "Awa", "Diop", "collecteur"),
            self.member_change(
                4,
                self.other_member,
                self.users[1],
                "Moussa",
                "Traoré",
                "membre",
            ),
            change(
                5,
                Entity::Passage,
                self.passage,
                &[
                    ("tontine_id", &t),
                    ("member_id", &self.member.to_string()),
                    ("order_number", "1"),
                    ("status", "en_cours"),
                    ("expected_amount", "10000"),
                ],
            ),
        ]
    }

    fn member_change(
        &self,
        seq: u64,
        id: Uuid,
        user: Uuid,
        first: &str,
        last: &str,
        role: &str,
    ) -> Change {
        change(
            seq,
            Entity::Member,
            id,
            &[
                ("tontine_id", &self.id.to_string()),
                ("user_id", &user.to_string()),
                ("first_name", first),
                ("last_name", last),
                ("phone", "+221771234567"),
                ("role", role),
                ("is_active", "true"),
            ],
        )
    }

    /// The whole scope in one up-to-date page, with its checksum.
    pub(crate) fn scope(&self) -> ScopeChanges {
        let changes = self.changes();
        ScopeChanges {
            tontine_id: self.id,
            checksum: Some(checksum_of(&changes)),
            cursor: 5,
            status: PageStatus::UpToDate,
            changes,
        }
    }
}

/// A client on a temporary database, with a clock the test moves.
pub(crate) struct Phone {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) api: KobiriClient,
    pub(crate) clock: Arc<AtomicI64>,
    pub(crate) device: DeviceId,
    pub(crate) tontine: Tontine,
}

impl Phone {
    /// An enrolled, logged-in phone holding one tontine, for the server at `url`.
    pub(crate) fn new(url: &str) -> Phone {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kobiri.db");
        let phone = Phone::open_at(dir, &path, url);
        phone.enroll();
        phone
    }

    pub(crate) fn open_at(dir: tempfile::TempDir, path: &std::path::Path, url: &str) -> Phone {
        let clock = Arc::new(AtomicI64::new(T0));
        let time = Arc::clone(&clock);
        let inner = Client::open(
            path.to_str().unwrap(),
            url,
            Arc::new(move || time.load(Ordering::SeqCst)),
        )
        .unwrap();
        inner.set_retry_policy(3, 1).unwrap();
        let tontine = Tontine::new();
        let mut sets = std::collections::BTreeSet::new();
        inner
            .db
            .write(|tx| {
                crate::apply::apply(
                    tx,
                    DeviceId::new(),
                    &[],
                    &answer(vec![tontine.scope()]),
                    T0,
                    &mut sets,
                )
            })
            .unwrap();
        Phone {
            dir,
            api: KobiriClient { inner },
            clock,
            device: DeviceId::new(),
            tontine,
        }
    }

    /// Stores a device id and a token pair, as enrollment would, and Awa as the logged-in
    /// user, as login would.
    pub(crate) fn enroll(&self) {
        self.set(Key::DeviceId, &self.device.to_string());
        self.set(Key::AccessToken, "access-1");
        self.set(Key::RefreshToken, "refresh-1");
        self.act_as(self.tontine.users[0], "membre");
    }

    /// Makes `user`, with platform role `platform`, the logged-in user.
    pub(crate) fn act_as(&self, user: Uuid, platform: &str) {
        self.set(Key::UserId, &user.to_string());
        self.set(Key::PlatformRole, platform);
    }

    /// Rewrites a member's role and activity in the phone's copy, as a pull would.
    pub(crate) fn set_member(&self, member: Uuid, role: &str, active: bool) {
        let tontine = self.tontine.id.to_string();
        self.api
            .inner
            .db
            .write(|tx| {
                let mut row = crate::rows::get(tx, Entity::Member, member)?.unwrap();
                row.fields.insert("role".to_owned(), role.to_owned());
                row.fields
                    .insert("is_active".to_owned(), active.to_string());
                let change = Change {
                    change_seq: 99,
                    entity: Entity::Member,
                    id: member,
                    row: Some(row.fields),
                };
                crate::rows::apply(tx, &tontine, &change)
            })
            .unwrap();
    }

    /// Rewrites the session's status in the phone's copy, as a pull would.
    pub(crate) fn set_session_status(&self, status: &str) {
        self.set_session_field("status", status);
    }

    /// Rewrites one field of the session in the phone's copy (a pull, or a damaged database).
    pub(crate) fn set_session_field(&self, field: &str, value: &str) {
        let tontine = self.tontine.id.to_string();
        let session = self.tontine.session;
        self.api
            .inner
            .db
            .write(|tx| {
                let mut row = crate::rows::get(tx, Entity::Session, session)?.unwrap();
                row.fields.insert(field.to_owned(), value.to_owned());
                let change = Change {
                    change_seq: 98,
                    entity: Entity::Session,
                    id: session,
                    row: Some(row.fields),
                };
                crate::rows::apply(tx, &tontine, &change)
            })
            .unwrap();
    }

    pub(crate) fn set(&self, key: Key, value: &str) {
        self.api
            .inner
            .db
            .write(|tx| meta::set(tx, key, value))
            .unwrap();
    }

    pub(crate) fn get(&self, key: Key) -> Option<String> {
        self.api.inner.db.read(|c| meta::get(c, key)).unwrap()
    }

    pub(crate) fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("kobiri.db")
    }

    pub(crate) fn tick(&self, seconds: i64) {
        self.clock.fetch_add(seconds, Ordering::SeqCst);
    }

    pub(crate) fn pay(&self) -> crate::Receipt {
        self.pay_for(self.tontine.member)
    }

    pub(crate) fn pay_for(&self, member: Uuid) -> crate::Receipt {
        self.api
            .record_cash_payment(
                &self.tontine.id.to_string(),
                &self.tontine.session.to_string(),
                &member.to_string(),
                "5000",
            )
            .unwrap()
    }

    /// `(seq, state)` of every outbox entry.
    pub(crate) fn outbox(&self) -> Vec<(u64, String)> {
        self.api
            .inner
            .db
            .read(|c| {
                let mut stmt = c.prepare("SELECT seq, state FROM outbox ORDER BY seq")?;
                let rows = stmt
                    .query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(rows)
            })
            .unwrap()
    }
}
