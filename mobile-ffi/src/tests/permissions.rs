//! The server's permission rules, checked on the phone before anything is queued: one test per
//! rule, each showing what is refused (typed `forbidden`, nothing queued) and what is allowed.

use kobiri_core::sync::{Entity, PageStatus, ScopeChanges};
use uuid::Uuid;

use super::{Phone, answer, change};
use crate::MobileError;
use crate::meta::Key;

/// No server: the checks need no network.
const OFFLINE: &str = "http://127.0.0.1:9";

fn forbidden(detail: &str) -> MobileError {
    MobileError::Forbidden {
        detail: detail.to_owned(),
    }
}

fn try_pay_for(phone: &Phone, member: Uuid) -> Result<crate::Receipt, MobileError> {
    phone.api.record_cash_payment(
        &phone.tontine.id.to_string(),
        &phone.tontine.session.to_string(),
        &member.to_string(),
        "5000",
    )
}

fn add_member(phone: &Phone) -> Result<String, MobileError> {
    phone.api.record_member(
        &phone.tontine.id.to_string(),
        "+221770001122",
        "Fatou",
        "Sow",
    )
}

fn confirm(phone: &Phone) -> Result<String, MobileError> {
    phone
        .api
        .confirm_payout(&phone.tontine.passage.to_string(), "10000")
}

/// A payment of Moussa's on the server's copy, recorded by `recorder`.
fn server_payment(phone: &Phone, recorder: Uuid) -> Uuid {
    let t = &phone.tontine;
    let id = Uuid::now_v7();
    let row = change(
        50,
        Entity::Payment,
        id,
        &[
            ("tontine_id", &t.id.to_string()),
            ("session_id", &t.session.to_string()),
            ("member_id", &t.other_member.to_string()),
            ("amount", "5000"),
            ("currency", "XOF"),
            ("method", "especes"),
            ("status", "en_attente"),
            ("recorded_by_id", &recorder.to_string()),
            ("flagged", "false"),
            ("is_late", "false"),
            ("created_at", "2026-05-28T20:27:00Z"),
        ],
    );
    let page = answer(vec![ScopeChanges {
        tontine_id: t.id,
        changes: vec![row],
        status: PageStatus::HasMore,
        checksum: None,
        cursor: 50,
    }]);
    phone
        .api
        .inner
        .db
        .write(|tx| {
            crate::apply::apply(
                tx,
                phone.device,
                &[],
                &page,
                super::T0,
                &mut Default::default(),
            )
        })
        .unwrap();
    id
}

fn correct(phone: &Phone, payment: &str) -> Result<crate::Receipt, MobileError> {
    phone.api.correct_payment(payment, "0", "erreur de saisie")
}

#[test]
fn only_a_president_adds_members() {
    let phone = Phone::new(OFFLINE);
    let t = &phone.tontine;
    // Awa is the collector: refused, typed, and nothing queued or listed.
    let err = add_member(&phone).unwrap_err();
    assert_eq!(err, forbidden("seul le président peut ajouter un membre"));
    assert_eq!(err.code(), "forbidden");
    assert_eq!(
        err.user_message(),
        "seul le président peut ajouter un membre"
    );
    // The role is checked before the fields: a collector learns they may not, not why the
    // number is wrong.
    let err = phone
        .api
        .record_member(&t.id.to_string(), "12", "Fatou", "Sow")
        .unwrap_err();
    assert_eq!(err.code(), "forbidden");
    phone.set_member(t.member, "tresorier", true);
    assert_eq!(add_member(&phone).unwrap_err().code(), "forbidden");
    assert!(phone.outbox().is_empty());
    assert_eq!(phone.api.list_members(&t.id.to_string()).unwrap().len(), 2);
    phone.set_member(t.member, "president", true);
    add_member(&phone).unwrap();
    assert_eq!(phone.outbox().len(), 1);
}

#[test]
fn a_platform_admin_adds_members_whatever_their_member_role() {
    let phone = Phone::new(OFFLINE);
    phone.set_member(phone.tontine.member, "membre", true);
    assert_eq!(add_member(&phone).unwrap_err().code(), "forbidden");
    phone.act_as(phone.tontine.users[0], "admin");
    add_member(&phone).unwrap();
}

#[test]
fn cash_for_another_member_needs_a_collector_and_for_oneself_any_member() {
    let phone = Phone::new(OFFLINE);
    let t = &phone.tontine;
    // Awa, the collector, takes Moussa's cash and her own.
    try_pay_for(&phone, t.other_member).unwrap();
    try_pay_for(&phone, t.member).unwrap();
    // Moussa, a plain member: his own payment, yes; Awa's, no.
    phone.act_as(t.users[1], "membre");
    try_pay_for(&phone, t.other_member).unwrap();
    let err = try_pay_for(&phone, t.member).unwrap_err();
    assert_eq!(
        err,
        forbidden("votre rôle ne permet pas d'encaisser pour ce membre")
    );
    // Nor for a member added on this phone.
    phone.act_as(t.users[0], "membre");
    phone.set_member(t.member, "president", true);
    let added = add_member(&phone).unwrap();
    phone.act_as(t.users[1], "membre");
    let err = try_pay_for(&phone, added.parse().unwrap()).unwrap_err();
    assert_eq!(err.code(), "forbidden");
    assert_eq!(phone.outbox().len(), 4, "three payments and the member");
}

#[test]
fn a_member_who_left_records_nothing() {
    let phone = Phone::new(OFFLINE);
    let t = &phone.tontine;
    phone.set_member(t.member, "collecteur", false);
    assert_eq!(
        try_pay_for(&phone, t.other_member).unwrap_err().code(),
        "forbidden"
    );
    assert_eq!(
        try_pay_for(&phone, t.member).unwrap_err().code(),
        "forbidden"
    );
    assert!(phone.outbox().is_empty());
}

#[test]
fn only_the_beneficiary_confirms_a_payout() {
    let phone = Phone::new(OFFLINE);
    let t = &phone.tontine;
    // The passage is Awa's.
    confirm(&phone).unwrap();
    // Moussa may not, even as president.
    phone.act_as(t.users[1], "membre");
    phone.set_member(t.other_member, "president", true);
    let err = confirm(&phone).unwrap_err();
    assert_eq!(
        err,
        forbidden("seul le bénéficiaire peut confirmer la réception du passage")
    );
    // Nor an administrator who is not a member.
    phone.act_as(Uuid::now_v7(), "admin");
    assert_eq!(confirm(&phone).unwrap_err().code(), "forbidden");
    // Nor Awa once she has left the tontine.
    phone.act_as(t.users[0], "membre");
    phone.set_member(t.member, "collecteur", false);
    assert_eq!(confirm(&phone).unwrap_err().code(), "forbidden");
    assert_eq!(phone.outbox().len(), 1);
}

#[test]
fn a_payment_is_corrected_by_its_recorder_or_a_treasurer() {
    let phone = Phone::new(OFFLINE);
    let t = &phone.tontine;
    // Awa's own entry, not synced yet: hers to correct.
    let mine = try_pay_for(&phone, t.other_member).unwrap();
    correct(&phone, &mine.payment_id).unwrap();
    // On the server's copy, recorded by Awa: hers too.
    let by_me = server_payment(&phone, t.users[0]);
    correct(&phone, &by_me.to_string()).unwrap();
    // Recorded by someone else: not for a collector...
    let by_other = server_payment(&phone, Uuid::now_v7()).to_string();
    let err = correct(&phone, &by_other).unwrap_err();
    assert_eq!(
        err,
        forbidden("seul l'auteur du paiement ou un trésorier peut le corriger")
    );
    assert_eq!(phone.outbox().len(), 3);
    // ...but for a treasurer (ValidatePayment).
    phone.set_member(t.member, "tresorier", true);
    correct(&phone, &by_other).unwrap();
    // Moussa, a plain member, may not correct a payment Awa recorded either.
    phone.act_as(t.users[1], "membre");
    let err = correct(&phone, &by_me.to_string()).unwrap_err();
    assert_eq!(err.code(), "forbidden");
    assert_eq!(phone.outbox().len(), 4);
}

#[test]
fn without_a_known_role_nothing_is_recorded_and_nothing_is_guessed() {
    let phone = Phone::new(OFFLINE);
    let t = &phone.tontine;
    // Logged in before the phone kept who is logged in: no identity yet.
    phone
        .api
        .inner
        .db
        .write(|tx| {
            crate::meta::clear(tx, Key::UserId)?;
            crate::meta::clear(tx, Key::PlatformRole)
        })
        .unwrap();
    let err = try_pay_for(&phone, t.member).unwrap_err();
    assert_eq!(err.code(), "role_unknown");
    assert!(err.user_message().contains("synchronisez"), "{err}");
    assert_eq!(add_member(&phone).unwrap_err().code(), "role_unknown");
    assert_eq!(confirm(&phone).unwrap_err().code(), "role_unknown");
    // A user the tontine's copy does not know (its members not pulled yet).
    phone.act_as(Uuid::now_v7(), "membre");
    let err = try_pay_for(&phone, t.member).unwrap_err();
    assert!(
        matches!(&err, MobileError::RoleUnknown { detail } if detail.contains("votre rôle")),
        "{err:?}"
    );
    assert!(phone.outbox().is_empty());
    // A platform administrator who is not a member acts as one (as on the server).
    phone.act_as(Uuid::now_v7(), "admin");
    try_pay_for(&phone, t.member).unwrap();
}
