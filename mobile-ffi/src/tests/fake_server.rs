//! An in-memory `/sync` for the stand-in: exactly-once per device, pages of changes per
//! scope, checksums. Just enough of the protocol to drive the client through whole syncs.

use std::collections::BTreeMap;

use kobiri_core::sync::{
    Change, Entity, MutationKind, MutationOutcome, Outcome, PageStatus, ScopeChanges,
    decode_request,
};
use kobiri_core::{DeviceId, TontineId};
use uuid::Uuid;

use super::standin::{Reply, Request};
use super::{answer, change, checksum_of};

pub(crate) struct FakeServer {
    tontine: TontineId,
    /// The latest version of each row, by (entity, id).
    rows: BTreeMap<(&'static str, Uuid), Change>,
    next_seq: u64,
    applied: BTreeMap<DeviceId, u64>,
    page_size: usize,
}

impl FakeServer {
    pub(crate) fn new(tontine: &super::Tontine, page_size: usize) -> FakeServer {
        let mut server = FakeServer {
            tontine: tontine.id,
            rows: BTreeMap::new(),
            next_seq: 1,
            applied: BTreeMap::new(),
            page_size,
        };
        for c in tontine.changes() {
            server.put(c);
        }
        server
    }

    fn put(&mut self, mut c: Change) {
        c.change_seq = self.next_seq;
        self.next_seq += 1;
        self.rows.insert((c.entity.as_str(), c.id), c);
    }

    pub(crate) fn handle(&mut self, request: &Request) -> Reply {
        let wire = decode_request(&request.plain_body()).unwrap();
        let mut response = answer(Vec::new());
        for raw in &wire.mutations {
            let m = raw.decode().unwrap();
            let last = self.applied.get(&wire.device_id).copied().unwrap_or(0);
            let outcome = if m.seq <= last {
                Outcome::Duplicate
            } else if m.seq > last + 1 {
                response.outcomes.push(MutationOutcome {
                    seq: m.seq,
                    outcome: Outcome::Rejected {
                        code: "sequence_gap".to_owned(),
                        message: format!("mutation hors séquence : numéro {} attendu", last + 1),
                    },
                });
                break;
            } else {
                self.apply(&m.kind, wire.device_id, &raw.hash());
                self.applied.insert(wire.device_id, m.seq);
                Outcome::Applied
            };
            response.outcomes.push(MutationOutcome {
                seq: m.seq,
                outcome,
            });
        }
        let cursor = wire
            .cursors
            .iter()
            .find(|c| c.tontine_id == self.tontine)
            .map_or(0, |c| c.cursor);
        response.scopes.push(self.page(cursor));
        Reply::sync(&response)
    }

    fn apply(&mut self, kind: &MutationKind, device: DeviceId, hash: &[u8; 32]) {
        if let MutationKind::RecordCashPayment {
            payment_id,
            tontine_id,
            session_id,
            member_id,
            amount,
            currency,
        } = kind
        {
            let code = kobiri_core::ReceiptCode::from_digest(hash).to_string();
            self.put(change(
                0,
                Entity::Payment,
                payment_id.as_uuid(),
                &[
                    ("tontine_id", &tontine_id.to_string()),
                    ("session_id", &session_id.to_string()),
                    ("member_id", &member_id.to_string()),
                    ("amount", amount),
                    ("currency", currency),
                    ("method", "especes"),
                    ("status", "en_attente"),
                    ("receipt_code", &code),
                    ("device_id", &device.to_string()),
                    ("flagged", "false"),
                    ("is_late", "false"),
                    ("created_at", "2026-05-28T20:27:00Z"),
                ],
            ));
        }
    }

    fn page(&self, cursor: u64) -> ScopeChanges {
        let mut newer: Vec<Change> = self
            .rows
            .values()
            .filter(|c| c.change_seq > cursor)
            .cloned()
            .collect();
        newer.sort_by_key(|c| c.change_seq);
        let more = newer.len() > self.page_size;
        newer.truncate(self.page_size);
        let all: Vec<Change> = self.rows.values().cloned().collect();
        ScopeChanges {
            tontine_id: self.tontine,
            cursor: newer.last().map_or(cursor, |c| c.change_seq),
            status: if more {
                PageStatus::HasMore
            } else {
                PageStatus::UpToDate
            },
            checksum: (!more).then(|| checksum_of(&all)),
            changes: newer,
        }
    }
}
