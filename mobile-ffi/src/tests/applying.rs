// Over 400 lines on purpose: the tests of one area, each standing alone; splitting them by size
// would separate the tests of one rule.
//! Applying hand-built `/sync` answers: outcomes, rows, tombstones, resets, checksums.

use std::collections::BTreeSet;

use kobiri_core::TontineId;
use kobiri_core::sync::{
    Change, Entity, MutationOutcome, Outcome, PageStatus, ScopeChanges, SyncResponse,
};

use super::{Phone, answer, change, checksum_of, tombstone};
use crate::apply::{self, Round};
use crate::meta::Key;
use crate::records::SyncState;

const OFFLINE: &str = "http://127.0.0.1:9";

fn apply(
    phone: &Phone,
    sent: &[u64],
    response: &SyncResponse,
    resets: &mut BTreeSet<String>,
) -> Round {
    phone
        .api
        .inner
        .db
        .write(|tx| apply::apply(tx, phone.device, sent, response, super::T0 + 60, resets))
        .unwrap()
}

fn outcomes(list: Vec<(u64, Outcome)>) -> SyncResponse {
    SyncResponse {
        outcomes: list
            .into_iter()
            .map(|(seq, outcome)| MutationOutcome { seq, outcome })
            .collect(),
        ..answer(Vec::new())
    }
}

fn server_rows(phone: &Phone) -> i64 {
    phone
        .api
        .inner
        .db
        .read(|c| Ok(c.query_row("SELECT count(*) FROM server_rows", [], |r| r.get(0))?))
        .unwrap()
}

#[test]
fn outcomes_acknowledge_the_outbox_once() {
    let phone = Phone::new(OFFLINE);
    for _ in 0..5 {
        phone.pay();
    }
    let response = outcomes(vec![
        (1, Outcome::Applied),
        (2, Outcome::Duplicate),
        (
            3,
            Outcome::Flagged {
                reason: "séance clôturée".to_owned(),
            },
        ),
        (
            4,
            Outcome::Rejected {
                code: "validation_error".to_owned(),
                message: "montant invalide".to_owned(),
            },
        ),
    ]);
    let round = apply(&phone, &[1, 2, 3, 4, 5], &response, &mut BTreeSet::new());
    assert_eq!(
        (
            round.acknowledged,
            round.applied,
            round.duplicates,
            round.flagged,
            round.rejected
        ),
        (4, 1, 1, 1, 1)
    );
    let states: Vec<String> = phone.outbox().into_iter().map(|(_, s)| s).collect();
    assert_eq!(
        states,
        ["applied", "duplicate", "flagged", "rejected", "pending"]
    );
    // The same answer again (a retried round) acknowledges nothing more.
    assert_eq!(
        apply(&phone, &[1, 2, 3, 4, 5], &response, &mut BTreeSet::new()).acknowledged,
        0
    );
    let view = phone.api.reconciliation().unwrap();
    assert_eq!(
        (
            view.accepted.len(),
            view.flagged.len(),
            view.rejected.len(),
            view.pending.len()
        ),
        (2, 1, 1, 1)
    );
    assert_eq!(
        view.rejected[0].outcome_code.as_deref(),
        Some("validation_error")
    );
    assert_eq!(view.flagged[0].message.as_deref(), Some("séance clôturée"));
    // All five are cash in the collector's hands, the rejected one too: refused as a record,
    // it is not handed back yet.
    assert_eq!(view.cash_held[0].amount, "25000");
    let payments = phone
        .api
        .list_payments(&phone.tontine.id.to_string())
        .unwrap();
    let states: Vec<SyncState> = payments.iter().map(|p| p.sync_state).collect();
    use SyncState::*;
    assert_eq!(states, [Applied, Applied, Flagged, Rejected, Pending]);
    assert_eq!(
        payments[3].sync_message.as_deref(),
        Some("montant invalide")
    );
}

#[test]
fn a_sequence_gap_leaves_the_mutation_pending() {
    let phone = Phone::new(OFFLINE);
    phone.pay();
    let response = outcomes(vec![(
        1,
        Outcome::Rejected {
            code: "sequence_gap".to_owned(),
            message: "mutation hors séquence : numéro 1 attendu, 2 reçu".to_owned(),
        },
    )]);
    let round = apply(&phone, &[1], &response, &mut BTreeSet::new());
    assert_eq!(
        round.gap.as_deref(),
        Some("mutation hors séquence : numéro 1 attendu, 2 reçu")
    );
    assert_eq!(round.acknowledged, 0);
    assert_eq!(phone.outbox(), [(1, "pending".to_owned())]);
}

#[test]
fn the_server_copy_of_my_payment_is_linked_not_doubled_and_validation_frees_the_cash() {
    let phone = Phone::new(OFFLINE);
    let receipt = phone.pay();
    let t = &phone.tontine;
    let row = |status: &str| {
        change(
            if status == "valide" { 7 } else { 6 },
            Entity::Payment,
            receipt.payment_id.parse().unwrap(),
            &[
                ("tontine_id", &t.id.to_string()),
                ("session_id", &t.session.to_string()),
                ("member_id", &t.member.to_string()),
                ("amount", "5000"),
                ("currency", "XOF"),
                ("method", "especes"),
                ("status", status),
                ("receipt_code", &receipt.receipt_code),
                ("device_id", &phone.device.to_string()),
                ("flagged", "false"),
                ("is_late", "false"),
                ("created_at", "2026-05-28T20:27:00Z"),
            ],
        )
    };
    let mut response = outcomes(vec![(1, Outcome::Applied)]);
    response.scopes = vec![ScopeChanges {
        tontine_id: t.id,
        changes: vec![row("en_attente")],
        status: PageStatus::HasMore,
        checksum: None,
        cursor: 6,
    }];
    let round = apply(&phone, &[1], &response, &mut BTreeSet::new());
    assert!(round.more);
    let payments = phone.api.list_payments(&t.id.to_string()).unwrap();
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0].sync_state, SyncState::Applied);
    assert_eq!(payments[0].member_name, "Awa Diop");
    assert!(payments[0].recorded_here);
    assert_eq!(phone.api.reconciliation().unwrap().cash_held.len(), 1);
    let mut validated = answer(vec![ScopeChanges {
        tontine_id: t.id,
        changes: vec![row("valide")],
        status: PageStatus::HasMore,
        checksum: None,
        cursor: 7,
    }]);
    validated.outcomes.clear();
    apply(&phone, &[], &validated, &mut BTreeSet::new());
    assert_eq!(
        phone.api.list_payments(&t.id.to_string()).unwrap()[0].status,
        "valide"
    );
    assert!(phone.api.reconciliation().unwrap().cash_held.is_empty());
}

#[test]
fn tombstones_delete_rows_and_a_tontine_tombstone_drops_its_scope() {
    let phone = Phone::new(OFFLINE);
    let t = &phone.tontine;
    let page = |changes, cursor| {
        answer(vec![ScopeChanges {
            tontine_id: t.id,
            changes,
            status: PageStatus::HasMore,
            checksum: None,
            cursor,
        }])
    };
    apply(
        &phone,
        &[],
        &page(vec![tombstone(6, Entity::Member, t.other_member)], 6),
        &mut BTreeSet::new(),
    );
    assert_eq!(phone.api.list_members(&t.id.to_string()).unwrap().len(), 1);
    assert_eq!(phone.api.sync_status().unwrap().cursors[0].cursor, 6);
    let before = server_rows(&phone);
    apply(
        &phone,
        &[],
        &page(vec![tombstone(7, Entity::Tontine, t.id.as_uuid())], 7),
        &mut BTreeSet::new(),
    );
    assert_eq!(server_rows(&phone), before - 4);
    assert!(phone.api.list_tontines().unwrap().is_empty());
    assert!(phone.api.sync_status().unwrap().cursors.is_empty());
}

#[test]
fn must_reset_drops_the_scope_copy_but_never_the_outbox() {
    let phone = Phone::new(OFFLINE);
    phone.pay();
    let reset = answer(vec![ScopeChanges {
        tontine_id: phone.tontine.id,
        changes: Vec::new(),
        status: PageStatus::MustReset,
        checksum: None,
        cursor: 0,
    }]);
    let round = apply(&phone, &[], &reset, &mut BTreeSet::new());
    assert!(round.more);
    assert_eq!(server_rows(&phone), 0);
    assert_eq!(phone.api.sync_status().unwrap().cursors[0].cursor, 0);
    assert_eq!(phone.outbox(), [(1, "pending".to_owned())]);
    let payments = phone
        .api
        .list_payments(&phone.tontine.id.to_string())
        .unwrap();
    assert_eq!(payments.len(), 1);
    // Pulling again from zero restores the copy.
    let round = apply(
        &phone,
        &[],
        &answer(vec![phone.tontine.scope()]),
        &mut BTreeSet::new(),
    );
    assert!(!round.more && round.problems.is_empty());
    assert_eq!(server_rows(&phone), 5);
}

#[test]
fn a_checksum_mismatch_reloads_the_scope_once_per_sync() {
    let phone = Phone::new(OFFLINE);
    let t = &phone.tontine;
    // The server lost a member the phone still holds: its checksum is over four rows.
    let changes: Vec<_> = t
        .changes()
        .into_iter()
        .filter(|c| c.id != t.other_member)
        .collect();
    let scope = ScopeChanges {
        tontine_id: t.id,
        changes: Vec::new(),
        status: PageStatus::UpToDate,
        checksum: Some(checksum_of(&changes)),
        cursor: 5,
    };
    let mut resets = BTreeSet::new();
    let round = apply(&phone, &[], &answer(vec![scope.clone()]), &mut resets);
    assert!(round.more);
    assert_eq!(round.problems.len(), 1);
    assert_eq!(server_rows(&phone), 0);
    assert_eq!(phone.api.sync_status().unwrap().cursors[0].cursor, 0);
    let error = phone.get(Key::LastError).unwrap();
    assert!(error.contains("différait du serveur"), "{error}");
    // Pulled from zero, the copy now matches.
    let fresh = ScopeChanges {
        changes: changes.clone(),
        ..scope.clone()
    };
    let round = apply(&phone, &[], &answer(vec![fresh]), &mut resets);
    assert!(!round.more && round.problems.is_empty());
    // A second mismatch in the same sync is reported, not reloaded again.
    let wrong = ScopeChanges {
        checksum: Some("00".repeat(32)),
        ..scope
    };
    let round = apply(&phone, &[], &answer(vec![wrong]), &mut resets);
    assert!(!round.more);
    assert_eq!(round.problems.len(), 1);
    assert_eq!(server_rows(&phone), 4);
}

#[test]
fn new_scopes_are_taken_in_and_upgrade_required_applies_nothing() {
    let phone = Phone::new(OFFLINE);
    let other = TontineId::new();
    let scope = ScopeChanges {
        tontine_id: other,
        changes: vec![change(
            9,
            Entity::Tontine,
            other.as_uuid(),
            &[("name", "Deuxième"), ("currency", "EUR")],
        )],
        status: PageStatus::UpToDate,
        checksum: None,
        cursor: 9,
    };
    let mut upgrade = answer(vec![scope.clone()]);
    upgrade.upgrade_required = true;
    assert!(apply(&phone, &[], &upgrade, &mut BTreeSet::new()).upgrade_required);
    assert_eq!(phone.api.list_tontines().unwrap().len(), 1);
    apply(&phone, &[], &answer(vec![scope]), &mut BTreeSet::new());
    let names: Vec<String> = phone
        .api
        .list_tontines()
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"Deuxième".to_owned()));
    assert_eq!(phone.api.sync_status().unwrap().cursors.len(), 2);
}

/// A server row for a payment of Moussa's recorded here, in `status`.
fn payment_row(phone: &Phone, seq: u64, id: &str, amount: &str, status: &str) -> Change {
    let t = &phone.tontine;
    change(
        seq,
        Entity::Payment,
        id.parse().unwrap(),
        &[
            ("tontine_id", &t.id.to_string()),
            ("session_id", &t.session.to_string()),
            ("member_id", &t.other_member.to_string()),
            ("amount", amount),
            ("currency", "XOF"),
            ("method", "especes"),
            ("status", status),
            ("device_id", &phone.device.to_string()),
            ("recorded_by_id", &t.users[0].to_string()),
            ("flagged", "false"),
            ("is_late", "false"),
            ("created_at", "2026-05-28T20:27:00Z"),
        ],
    )
}

fn held(phone: &Phone) -> Vec<String> {
    phone
        .api
        .reconciliation()
        .unwrap()
        .cash_held
        .into_iter()
        .map(|c| c.amount)
        .collect()
}

#[test]
fn cash_held_is_every_payment_recorded_here_until_the_treasurer_has_it() {
    let phone = Phone::new(OFFLINE);
    let moussa = phone.tontine.other_member;
    let pay = || phone.pay_for(moussa).payment_id;
    let correct = |id: &str, amount: &str| {
        phone
            .api
            .correct_payment(id, amount, "erreur de saisie")
            .unwrap()
            .payment_id
    };
    pay(); // 1: stays pending
    let applied = pay(); // 2
    let flagged = pay(); // 3
    pay(); // 4: rejected by the server
    let validated = pay(); // 5
    let cancelled = pay(); // 6, cancelled by the collector's own correction, 7 (pending)
    correct(&cancelled, "0");
    // A correction takes the contribution or zero (as a new payment would): 8 and 10 are
    // corrected to the same 5000 (a wrong detail, put right), each by a new payment.
    let halved = pay(); // 8, corrected by 9 (applied): a new payment, pending
    let half = correct(&halved, "5000");
    let halved_validated = pay(); // 10, corrected by 11 (applied), new one validated
    let half_validated = correct(&halved_validated, "5000");
    let refused_fix = pay(); // 12, corrected to 0 by 13, which the server rejects
    correct(&refused_fix, "0");
    let flag_rejected = pay(); // 14: flagged, then the treasurer rejects the flag (annule)
    let failed = pay(); // 15: the treasurer rejected it (echoue)
    // Nothing answered yet: every payment is held, at its corrected amount: 1 to 5 (5000
    // each), 6 and 12 cancelled (0), 8 and 10 once each, as their corrections (5000 each),
    // 14 and 15 (5000 each).
    assert_eq!(held(&phone), ["45000"]);

    let refused = Outcome::Rejected {
        code: "forbidden".to_owned(),
        message: "refusé".to_owned(),
    };
    let flag = Outcome::Flagged {
        reason: "séance clôturée".to_owned(),
    };
    let mut response = outcomes(vec![
        (2, Outcome::Applied),
        (3, flag.clone()),
        (4, refused.clone()),
        (5, Outcome::Applied),
        (6, Outcome::Applied),
        (8, Outcome::Applied),
        (9, Outcome::Applied),
        (10, Outcome::Applied),
        (11, Outcome::Applied),
        (12, Outcome::Applied),
        (13, refused),
        (14, flag),
        (15, Outcome::Applied),
    ]);
    response.scopes = vec![ScopeChanges {
        tontine_id: phone.tontine.id,
        changes: vec![
            payment_row(&phone, 10, &applied, "5000", "en_attente"),
            payment_row(&phone, 11, &flagged, "5000", "en_attente"),
            payment_row(&phone, 12, &validated, "5000", "valide"),
            payment_row(&phone, 13, &cancelled, "5000", "en_attente"),
            payment_row(&phone, 14, &halved, "5000", "annule"),
            payment_row(&phone, 15, &half, "5000", "en_attente"),
            payment_row(&phone, 16, &halved_validated, "5000", "annule"),
            payment_row(&phone, 17, &half_validated, "5000", "valide"),
            payment_row(&phone, 18, &refused_fix, "5000", "en_attente"),
            payment_row(&phone, 19, &flag_rejected, "5000", "annule"),
            payment_row(&phone, 20, &failed, "5000", "echoue"),
        ],
        status: PageStatus::HasMore,
        checksum: None,
        cursor: 20,
    }];
    apply(
        &phone,
        &(1..=15).collect::<Vec<_>>(),
        &response,
        &mut BTreeSet::new(),
    );
    // Held: pending 1, applied 2, flagged 3, rejected 4 (5000 each); not 5 (valide), not 6
    // (cancelled by the collector); 8 as its correction (5000, new payment pending); not 10
    // (its correction validated); 12 in full (its correction was refused); 14 (annule by a
    // treasurer's decision, not by the collector: the cash is still in hand); 15 (echoue).
    assert_eq!(held(&phone), ["40000"]);
}

#[test]
fn a_correction_of_a_correction_follows_the_same_cash() {
    let phone = Phone::new(OFFLINE);
    let paid = phone.pay_for(phone.tontine.other_member).payment_id;
    let first = phone
        .api
        .correct_payment(&paid, "5000", "mauvaise séance notée")
        .unwrap()
        .payment_id;
    // The correction replaces the payment: its cash is counted once.
    assert_eq!(held(&phone), ["5000"]);
    phone
        .api
        .correct_payment(&first, "0", "finalement rien")
        .unwrap();
    assert!(held(&phone).is_empty());
}

#[test]
fn a_matched_checksum_is_remembered_until_a_row_of_the_scope_changes() {
    let phone = Phone::new(OFFLINE);
    let t = &phone.tontine;
    let verified = |phone: &Phone| {
        phone
            .api
            .inner
            .db
            .read(|c| crate::rows::verified(c, &t.id.to_string()))
            .unwrap()
    };
    let scope = ScopeChanges {
        tontine_id: t.id,
        changes: Vec::new(),
        status: PageStatus::UpToDate,
        checksum: Some(checksum_of(&t.changes())),
        cursor: 5,
    };
    let round = apply(
        &phone,
        &[],
        &answer(vec![scope.clone()]),
        &mut BTreeSet::new(),
    );
    assert!(!round.more && round.problems.is_empty());
    assert_eq!(verified(&phone), scope.checksum);
    // A write to the copy (here by hand, as a pull would) forgets it, so the next answer is
    // compared with the rows again and the difference is found.
    phone.set_member(t.other_member, "tresorier", true);
    assert_eq!(verified(&phone), None);
    let round = apply(&phone, &[], &answer(vec![scope]), &mut BTreeSet::new());
    assert!(round.more);
    assert_eq!(round.problems.len(), 1);
}
