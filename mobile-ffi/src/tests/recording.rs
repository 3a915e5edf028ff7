// Over 400 lines on purpose: the tests of one area, each standing alone; splitting them by size
// would separate the tests of one rule.
//! Recording offline: durable, chained, validated with core's rules, listed once.

use kobiri_core::sync::{MutationKind, from_cbor, mutation_hash, receipt_code, verify_chain};

use super::{Phone, T0};
use crate::MobileError;
use crate::records::SyncState;

/// No server: recording never touches the network.
const OFFLINE: &str = "http://127.0.0.1:9";

fn stored(phone: &Phone) -> Vec<(Vec<u8>, Vec<u8>, String)> {
    let conn = rusqlite::Connection::open(phone.path()).unwrap();
    let mut stmt = conn
        .prepare("SELECT bytes, hash, receipt_code FROM outbox ORDER BY seq")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn payments_are_numbered_chained_and_on_disk_when_the_call_returns() {
    let phone = Phone::new(OFFLINE);
    let receipts: Vec<_> = (0..3)
        .map(|i| {
            phone.tick(i);
            phone.pay()
        })
        .collect();
    // Read through a second connection, as a restarted app would.
    let rows = stored(&phone);
    assert_eq!(rows.len(), 3);
    let mut prev = None;
    for (i, ((bytes, hash, code), receipt)) in rows.iter().zip(&receipts).enumerate() {
        let m = from_cbor(bytes).unwrap();
        assert_eq!(m.seq, i as u64 + 1);
        assert_eq!(m.device_id, phone.device);
        verify_chain(prev.as_ref(), &m).unwrap();
        assert_eq!(hash.as_slice(), mutation_hash(&m).as_slice());
        assert_eq!(code, receipt_code(&m).as_str());
        assert_eq!(&receipt.receipt_code, code);
        match &m.kind {
            MutationKind::RecordCashPayment {
                payment_id,
                amount,
                currency,
                ..
            } => {
                assert_eq!(payment_id.to_string(), receipt.payment_id);
                assert_eq!((amount.as_str(), currency.as_str()), ("5000", "XOF"));
            }
            other => panic!("unexpected {other:?}"),
        }
        prev = Some(m);
    }
    assert_eq!(receipts[0].member_name, "Awa Diop");
    assert_eq!(receipts[0].tontine_name, "Tontine du marché");
    assert_eq!(receipts[0].session_number, 3);
    assert_eq!(receipts[0].recorded_at, crate::record::rfc3339(T0));
}

#[test]
fn the_chain_goes_on_after_a_restart() {
    let phone = Phone::new(OFFLINE);
    phone.pay();
    let Phone {
        dir,
        tontine,
        device,
        ..
    } = phone;
    let path = dir.path().join("kobiri.db");
    let mut reopened = Phone::open_at(dir, &path, OFFLINE);
    reopened.tontine = tontine;
    reopened.device = device;
    reopened.pay();
    let rows = stored(&reopened);
    let first = from_cbor(&rows[0].0).unwrap();
    let second = from_cbor(&rows[1].0).unwrap();
    verify_chain(Some(&first), &second).unwrap();
}

#[test]
fn recording_needs_an_enrolled_device_but_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kobiri.db");
    let phone = Phone::open_at(dir, &path, OFFLINE);
    let err = phone
        .api
        .record_cash_payment(
            &phone.tontine.id.to_string(),
            &phone.tontine.session.to_string(),
            &phone.tontine.member.to_string(),
            "5000",
        )
        .unwrap_err();
    assert_eq!(err, MobileError::not_enrolled());
    phone.set(crate::meta::Key::DeviceId, &phone.device.to_string());
    phone.act_as(phone.tontine.users[0], "membre");
    phone.pay();
}

fn refusal(phone: &Phone, tontine: &str, session: &str, member: &str, amount: &str) -> MobileError {
    phone
        .api
        .record_cash_payment(tontine, session, member, amount)
        .unwrap_err()
}

#[test]
fn invalid_payments_cross_as_typed_errors_and_queue_nothing() {
    let phone = Phone::new(OFFLINE);
    let t = &phone.tontine;
    let (tid, sid, mid) = (
        t.id.to_string(),
        t.session.to_string(),
        t.member.to_string(),
    );
    let field = |e: MobileError| match e {
        MobileError::Validation {
            field,
            detail: message,
        } => (field, message),
        other => panic!("not a validation error: {other:?}"),
    };
    let (f, m) = field(refusal(&phone, &tid, &sid, &mid, "4000"));
    assert_eq!(f, "amount");
    assert_eq!(m, "le montant doit être égal à la cotisation (5000 XOF)");
    let (f, m) = field(refusal(&phone, &tid, &sid, &mid, "5000.5"));
    assert_eq!(
        (f.as_str(), m.as_str()),
        ("amount", "le montant en XOF ne peut pas avoir de décimales")
    );
    assert_eq!(field(refusal(&phone, &tid, &sid, &mid, "abc")).0, "amount");
    assert_eq!(
        field(refusal(&phone, "pas-un-id", &sid, &mid, "5000")).0,
        "tontine_id"
    );
    let unknown = uuid::Uuid::now_v7().to_string();
    let err = refusal(&phone, &tid, &unknown, &mid, "5000");
    assert_eq!(
        err,
        MobileError::NotFound {
            what: "séance".to_owned()
        }
    );
    assert_eq!(err.code(), "not_found");
    assert_eq!(err.to_string(), "introuvable sur cet appareil : séance");
    let err = refusal(&phone, &tid, &sid, &unknown, "5000");
    assert_eq!(
        err,
        MobileError::NotFound {
            what: "membre".to_owned()
        }
    );
    let err = refusal(&phone, &unknown, &sid, &mid, "5000");
    assert_eq!(
        err,
        MobileError::NotFound {
            what: "tontine".to_owned()
        }
    );
    assert!(phone.outbox().is_empty());
}

#[test]
fn a_planned_session_takes_an_advance_and_a_closed_one_takes_nothing() {
    let phone = Phone::new(OFFLINE);
    let t = &phone.tontine;
    phone.set_session_status("programmee");
    let advance = phone.pay();
    assert_eq!(advance.session_number, 3);
    for (status, detail) in [
        ("terminee", "la séance est clôturée"),
        ("annulee", "la séance est annulée"),
        ("en_attente", "la séance est suspendue"),
    ] {
        phone.set_session_status(status);
        let err = refusal(
            &phone,
            &t.id.to_string(),
            &t.session.to_string(),
            &t.member.to_string(),
            "5000",
        );
        assert_eq!(
            err,
            MobileError::Validation {
                field: "session_id".to_owned(),
                detail: detail.to_owned()
            },
            "{status}"
        );
    }
    assert_eq!(stored(&phone).len(), 1);
}

/// The phone runs core's planner, as the server does: it refuses cash for a member who has
/// left (the server refuses it online and flags it at sync), and queues a second payment for
/// the same member and session, which only the server can judge (its copy may be old).
#[test]
fn the_phone_plans_a_payment_as_the_server_does() {
    let phone = Phone::new(OFFLINE);
    let t = &phone.tontine;
    phone.pay_for(t.other_member);
    phone.pay_for(t.other_member);
    assert_eq!(stored(&phone).len(), 2);
    phone.set_member(t.other_member, "membre", false);
    let err = refusal(
        &phone,
        &t.id.to_string(),
        &t.session.to_string(),
        &t.other_member.to_string(),
        "5000",
    );
    assert_eq!(
        err,
        MobileError::Validation {
            field: "member_id".to_owned(),
            detail: "ce membre a quitté la tontine".to_owned()
        }
    );
    assert_eq!(stored(&phone).len(), 2);
}

/// The planner needs the session's due date: a copy whose date was damaged or edited is a
/// storage error, never a panic, and nothing is queued.
#[test]
fn a_damaged_session_copy_refuses_the_payment_without_queueing() {
    let phone = Phone::new(OFFLINE);
    let t = &phone.tontine;
    phone.set_session_field("due_date", "pas-une-date");
    let err = refusal(
        &phone,
        &t.id.to_string(),
        &t.session.to_string(),
        &t.other_member.to_string(),
        "5000",
    );
    assert!(matches!(err, MobileError::Storage { .. }), "{err:?}");
    assert!(stored(&phone).is_empty());
    phone.set_session_field("due_date", "2026-11-30");
    phone.pay_for(t.other_member);
    assert_eq!(stored(&phone).len(), 1);
}

#[test]
fn a_correction_meets_the_amount_rule_of_a_payment() {
    let phone = Phone::new(OFFLINE);
    let paid = phone.pay();
    let err = phone
        .api
        .correct_payment(&paid.payment_id, "1", "erreur de saisie")
        .unwrap_err();
    assert_eq!(
        err,
        MobileError::Validation {
            field: "amount".to_owned(),
            detail: "le montant doit être égal à la cotisation (5000 XOF)".to_owned()
        }
    );
    assert_eq!(stored(&phone).len(), 1);
    let fix = phone
        .api
        .correct_payment(&paid.payment_id, "5000", "erreur de saisie")
        .unwrap();
    assert_eq!(fix.amount, "5000");
}

#[test]
fn a_member_added_offline_can_pay_at_once_and_is_listed_pending() {
    let phone = Phone::new(OFFLINE);
    phone.set_member(phone.tontine.member, "president", true);
    let tid = phone.tontine.id.to_string();
    let err = phone
        .api
        .record_member(&tid, "12", "Fatou", "Sow")
        .unwrap_err();
    assert_eq!(err.code(), "validation");
    let member = phone
        .api
        .record_member(&tid, "+221 77 000 11 22", " Fatou ", "Sow")
        .unwrap();
    let receipt = phone.pay_for(member.parse().unwrap());
    assert_eq!(receipt.member_name, "Fatou Sow");
    let members = phone.api.list_members(&tid).unwrap();
    assert_eq!(members.len(), 3);
    let added = members.iter().find(|m| m.id == member).unwrap();
    assert_eq!(added.sync_state, SyncState::Pending);
    assert_eq!(added.phone.as_deref(), Some("+221770001122"));
    assert_eq!(added.first_name, "Fatou");
    let payments = phone.api.list_payments(&tid).unwrap();
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0].member_name, "Fatou Sow");
    assert_eq!(payments[0].sync_state, SyncState::Pending);
    assert!(payments[0].recorded_here);
    assert_eq!(phone.outbox().len(), 2);
}

#[test]
fn corrections_and_payout_confirmations_share_the_outbox() {
    let phone = Phone::new(OFFLINE);
    let paid = phone.pay();
    let err = phone
        .api
        .correct_payment(&paid.payment_id, "0", "  ")
        .unwrap_err();
    assert_eq!(
        err,
        MobileError::Validation {
            field: "reason".to_owned(),
            detail: "ce champ ne peut pas être vide".to_owned()
        }
    );
    let fix = phone
        .api
        .correct_payment(&paid.payment_id, "0", "payé deux fois")
        .unwrap();
    assert_eq!((fix.amount.as_str(), fix.session_number), ("0", 3));
    let code = phone
        .api
        .confirm_payout(&phone.tontine.passage.to_string(), "10000")
        .unwrap();
    assert_eq!(code.len(), 9);
    let err = phone
        .api
        .confirm_payout(&uuid::Uuid::now_v7().to_string(), "10000")
        .unwrap_err();
    assert_eq!(
        err,
        MobileError::NotFound {
            what: "passage".to_owned()
        }
    );
    let kinds: Vec<String> = stored(&phone)
        .iter()
        .map(|(bytes, _, _)| from_cbor(bytes).unwrap().kind.as_str().to_owned())
        .collect();
    assert_eq!(
        kinds,
        ["record_cash_payment", "correct_payment", "confirm_payout"]
    );
    let payments = phone
        .api
        .list_payments(&phone.tontine.id.to_string())
        .unwrap();
    assert_eq!(payments.len(), 2);
    assert_eq!(
        payments[1].corrects.as_deref(),
        Some(paid.payment_id.as_str())
    );
    // The cancelled payment is no longer cash held.
    assert!(phone.api.reconciliation().unwrap().cash_held.is_empty());
}

#[test]
fn status_counts_what_waits_and_how_old_it_is() {
    let phone = Phone::new(OFFLINE);
    let status = phone.api.sync_status().unwrap();
    assert_eq!(
        (status.pending_count, status.oldest_pending_age_seconds),
        (0, None)
    );
    phone.pay();
    phone.tick(90);
    phone.pay();
    let status = phone.api.sync_status().unwrap();
    assert_eq!(status.pending_count, 2);
    assert_eq!(status.oldest_pending_age_seconds, Some(90));
    assert_eq!(status.device_id, Some(phone.device.to_string()));
    assert_eq!(status.cursors.len(), 1);
    assert_eq!(status.cursors[0].cursor, 5);
    let view = phone.api.reconciliation().unwrap();
    assert_eq!(view.pending.len(), 2);
    assert_eq!(view.cash_held.len(), 1);
    assert_eq!(view.cash_held[0].amount, "10000");
    assert_eq!(view.cash_held[0].currency, "XOF");
}

/// DESIGN.md's target: at most 80 bytes per payment mutation on the wire, compressed.
#[test]
fn a_batch_of_payments_is_at_most_80_bytes_each_on_the_wire() {
    let phone = Phone::new(OFFLINE);
    for _ in 0..200 {
        phone.tick(37);
        phone.pay();
    }
    let batch = phone
        .api
        .inner
        .db
        .read(|c| crate::outbox::pending(c, phone.device, 200))
        .unwrap();
    let bytes: Vec<Vec<u8>> = batch.into_iter().map(|(_, b)| b).collect();
    let body = crate::sync::request_body(phone.device, &bytes, &[]).unwrap();
    let compressed = crate::http::zstd_compress(&body).unwrap();
    assert!(compressed.len() <= 200 * 80, "{} bytes", compressed.len());
}

#[test]
fn a_server_address_must_be_http_or_https() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.db");
    let err = crate::KobiriClient::open(path.to_str().unwrap(), "kobiri.example")
        .err()
        .unwrap();
    assert_eq!(err.code(), "validation");
    assert!(crate::KobiriClient::open(path.to_str().unwrap(), "https://kobiri.example/").is_ok());
}
