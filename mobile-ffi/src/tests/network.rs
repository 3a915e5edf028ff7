// Over 400 lines on purpose: the tests of one area, each standing alone; splitting them by size
// would separate the tests of one rule.
//! The network path against the local stand-in: login, enrollment, retries and backoff,
//! 401 → refresh → retry, whole syncs, killed syncs, compression fallback.

use std::sync::{Arc, Mutex};

use kobiri_core::sync::{MutationOutcome, Outcome, decode_request};
use serde_json::json;

use super::fake_server::FakeServer;
use super::standin::{Reply, Request, StandIn};
use super::{Phone, answer};
use crate::MobileError;
use crate::meta::Key;
use crate::records::SyncState;

/// A phone on a stand-in that `handler` drives.
fn phone_on(handler: impl FnMut(&Request) -> Reply + Send + 'static) -> (StandIn, Phone) {
    let server = StandIn::start(handler);
    let phone = Phone::new(&server.url);
    (server, phone)
}

/// A stand-in running a [`FakeServer`] on `/sync` for the phone's tontine (and answering
/// `GET /api/v1/auth/me` with the phone's user).
fn fake(page_size: usize) -> (StandIn, Phone) {
    let slot: Arc<Mutex<Option<FakeServer>>> = Arc::new(Mutex::new(None));
    let user: Arc<Mutex<uuid::Uuid>> = Arc::new(Mutex::new(uuid::Uuid::nil()));
    let (handler_slot, handler_user) = (Arc::clone(&slot), Arc::clone(&user));
    let (server, phone) = phone_on(move |r| {
        if r.path == "/api/v1/auth/me" {
            return Reply::me(*handler_user.lock().unwrap(), "membre");
        }
        let mut guard = handler_slot.lock().unwrap();
        guard.as_mut().unwrap().handle(r)
    });
    *slot.lock().unwrap() = Some(FakeServer::new(&phone.tontine, page_size));
    *user.lock().unwrap() = phone.tontine.users[0];
    (server, phone)
}

/// The user the login stand-ins answer `GET /api/v1/auth/me` with.
const LOGGED_IN: &str = "0196f7a2-58c4-7cc1-9c1e-3f5b2a7d9e99";

#[test]
fn login_sends_email_or_phone_and_stores_the_pair_and_who_logged_in() {
    let (server, phone) = phone_on(|r| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/api/v1/auth/me") => {
            assert_eq!(r.bearer(), Some("a-login"), "asked with the new token");
            Reply::me(LOGGED_IN.parse().unwrap(), "admin")
        }
        _ => match r.json()["password"].as_str() {
            Some("bon") => Reply::tokens("a-login", "r-login"),
            _ => Reply::error(
                401,
                "invalid_credentials",
                "identifiant ou mot de passe incorrect",
            ),
        },
    });
    phone.api.login(" awa@example.sn ", "bon").unwrap();
    assert_eq!(phone.get(Key::AccessToken).as_deref(), Some("a-login"));
    assert_eq!(phone.get(Key::RefreshToken).as_deref(), Some("r-login"));
    assert_eq!(phone.get(Key::UserId).as_deref(), Some(LOGGED_IN));
    assert_eq!(phone.get(Key::PlatformRole).as_deref(), Some("admin"));
    let err = phone.api.login("+221771234567", "faux").unwrap_err();
    assert_eq!(
        err,
        MobileError::Unauthorized {
            detail: "identifiant ou mot de passe incorrect".to_owned()
        }
    );
    let bodies: Vec<_> = server
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(Request::json)
        .collect();
    assert_eq!(
        bodies[0],
        json!({"email": "awa@example.sn", "password": "bon"})
    );
    assert_eq!(
        bodies[1],
        json!({"phone": "+221771234567", "password": "faux"})
    );
    assert_eq!(
        server.paths(),
        [
            "/api/v1/auth/login",
            "/api/v1/auth/me",
            "/api/v1/auth/login"
        ]
    );
}

#[test]
fn a_login_whose_identity_cannot_be_read_stores_nothing() {
    let (_server, phone) = phone_on(|r| match r.path.as_str() {
        "/api/v1/auth/login" => Reply::tokens("a-login", "r-login"),
        _ => Reply::error(503, "service_unavailable", "base indisponible"),
    });
    let err = phone.api.login("awa@example.sn", "bon").unwrap_err();
    assert_eq!(err.code(), "server");
    // The earlier session and identity are kept as they were.
    assert_eq!(phone.get(Key::AccessToken).as_deref(), Some("access-1"));
    assert_eq!(
        phone.get(Key::UserId),
        Some(phone.tontine.users[0].to_string())
    );
}

#[test]
fn a_phone_logged_in_before_identities_were_kept_learns_its_user_at_the_next_sync() {
    let (server, phone) = fake(100);
    phone
        .api
        .inner
        .db
        .write(|tx| {
            crate::meta::clear(tx, Key::UserId)?;
            crate::meta::clear(tx, Key::PlatformRole)
        })
        .unwrap();
    let t = &phone.tontine;
    let err = phone
        .api
        .record_cash_payment(
            &t.id.to_string(),
            &t.session.to_string(),
            &t.other_member.to_string(),
            "5000",
        )
        .unwrap_err();
    assert_eq!(err.code(), "role_unknown");
    assert!(phone.outbox().is_empty());
    phone.api.pull().unwrap();
    assert_eq!(server.paths()[0], "/api/v1/auth/me");
    assert_eq!(server.requests()[0].bearer(), Some("access-1"));
    assert_eq!(phone.get(Key::UserId), Some(t.users[0].to_string()));
    assert_eq!(phone.get(Key::PlatformRole).as_deref(), Some("membre"));
    phone.pay_for(t.other_member);
    // Known now: the next sync does not ask again.
    phone.api.sync().unwrap();
    let asked = server
        .paths()
        .iter()
        .filter(|p| *p == "/api/v1/auth/me")
        .count();
    assert_eq!(asked, 1);
}

#[test]
fn enrollment_stores_the_device_and_its_bound_tokens_once() {
    let (server, phone) = phone_on(|r| {
        assert_eq!(r.bearer(), Some("access-1"));
        assert_eq!(
            r.json(),
            json!({"name": "Tecno de Awa", "platform": "android"})
        );
        Reply::json(
            201,
            &json!({
                "device_id": "0196f7a2-58c4-7cc1-9c1e-3f5b2a7d9e10", "name": "Tecno de Awa",
                "platform": "android", "created_at": "2026-05-28T20:27:00Z",
                "access_token": "a-device", "refresh_token": "r-device",
                "token_type": "bearer", "expires_in": 900
            }),
        )
    });
    phone
        .api
        .inner
        .db
        .write(|tx| crate::meta::clear(tx, Key::DeviceId))
        .unwrap();
    let id = phone.api.enroll_device("Tecno de Awa", "android").unwrap();
    assert_eq!(id, "0196f7a2-58c4-7cc1-9c1e-3f5b2a7d9e10");
    assert_eq!(phone.get(Key::RefreshToken).as_deref(), Some("r-device"));
    let again = phone.api.enroll_device("autre", "ios").unwrap();
    assert_eq!(again, id);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn enrollment_needs_a_login() {
    let (server, phone) = phone_on(|_| Reply::error(500, "internal_error", "?"));
    phone
        .api
        .inner
        .db
        .write(|tx| {
            crate::meta::clear(tx, Key::DeviceId)?;
            crate::meta::clear(tx, Key::AccessToken)
        })
        .unwrap();
    let err = phone.api.enroll_device("x", "android").unwrap_err();
    assert_eq!(err, MobileError::not_logged_in());
    assert!(server.requests().is_empty());
}

#[test]
fn server_errors_and_rate_limits_are_retried_with_backoff() {
    let mut calls = 0;
    let (server, phone) = phone_on(move |_| {
        calls += 1;
        match calls {
            1 => Reply::error(503, "service_unavailable", "base indisponible"),
            2 => Reply::error(429, "rate_limited", "trop de requêtes"),
            _ => Reply::sync(&answer(Vec::new())),
        }
    });
    phone.api.set_retry_policy(3, 20).unwrap();
    let started = std::time::Instant::now();
    phone.api.pull().unwrap();
    // Waits of at least 10 ms then 20 ms (half of 20 and 40, jitter taken off).
    assert!(started.elapsed() >= std::time::Duration::from_millis(30));
    assert_eq!(server.requests().len(), 3);
    assert!(phone.get(Key::LastSyncAt).is_some());
}

#[test]
fn when_the_tries_are_spent_the_error_says_why_and_is_kept_as_last_error() {
    let (server, phone) =
        phone_on(|_| Reply::error(503, "service_unavailable", "base indisponible"));
    phone.pay();
    let err = phone.api.sync().unwrap_err();
    assert_eq!(
        err,
        MobileError::Server {
            server_code: "service_unavailable".to_owned(),
            detail: "base indisponible".to_owned()
        }
    );
    assert_eq!(server.requests().len(), 3);
    let status = phone.api.sync_status().unwrap();
    assert_eq!(status.last_error.as_deref(), Some("base indisponible"));
    assert_eq!(status.pending_count, 1);
    drop(server);
    // Nobody listens any more: a network error, after the same number of tries.
    let err = phone.api.sync().unwrap_err();
    assert_eq!(err.code(), "network", "{err:?}");
}

#[test]
fn a_401_refreshes_stores_the_new_pair_then_retries() {
    let path = Arc::new(Mutex::new(std::path::PathBuf::new()));
    let db_path = Arc::clone(&path);
    let (server, phone) = phone_on(move |r| match (r.path.as_str(), r.bearer()) {
        ("/sync", Some("access-1")) => Reply::error(401, "token_expired", "jeton expiré"),
        ("/api/v1/auth/refresh", None) => {
            assert_eq!(r.json(), json!({"refresh_token": "refresh-1"}));
            Reply::tokens("access-2", "refresh-2")
        }
        ("/sync", Some("access-2")) => {
            // The rotated pair is on disk before the retry reaches the server.
            let conn = rusqlite::Connection::open(&*db_path.lock().unwrap()).unwrap();
            let stored: String = conn
                .query_row(
                    "SELECT value FROM meta WHERE key = 'refresh_token'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(stored, "refresh-2");
            Reply::sync(&answer(Vec::new()))
        }
        other => panic!("unexpected {other:?}"),
    });
    *path.lock().unwrap() = phone.path();
    phone.api.pull().unwrap();
    assert_eq!(server.paths(), ["/sync", "/api/v1/auth/refresh", "/sync"]);
    assert_eq!(phone.get(Key::AccessToken).as_deref(), Some("access-2"));
}

#[test]
fn a_refused_refresh_is_unauthorized_and_keeps_everything() {
    let (server, phone) = phone_on(|r| match r.path.as_str() {
        "/sync" => Reply::error(401, "token_expired", "jeton expiré"),
        _ => Reply::error(401, "token_reused", "jeton de rafraîchissement révoqué"),
    });
    let receipt = phone.pay();
    let err = phone.api.sync().unwrap_err();
    assert_eq!(err.code(), "unauthorized");
    assert!(err.to_string().contains("reconnectez-vous"), "{err}");
    assert_eq!(server.paths(), ["/sync", "/api/v1/auth/refresh"]);
    assert_eq!(phone.outbox(), [(1, "pending".to_owned())]);
    assert_eq!(phone.get(Key::RefreshToken).as_deref(), Some("refresh-1"));
    let payments = phone
        .api
        .list_payments(&phone.tontine.id.to_string())
        .unwrap();
    assert_eq!(payments[0].id, receipt.payment_id);
}

#[test]
fn a_whole_sync_pushes_in_batches_pulls_in_pages_and_shows_each_payment_once() {
    let (server, phone) = fake(2);
    phone.api.set_batch_size(2).unwrap();
    let receipts: Vec<_> = (0..5).map(|_| phone.pay()).collect();
    let report = phone.api.sync().unwrap();
    assert_eq!(
        (report.pushed, report.applied, report.has_more),
        (5, 5, false)
    );
    assert_eq!(report.pulled_changes, 5);
    let requests = server.requests();
    let pushed: Vec<usize> = requests
        .iter()
        .map(|r| decode_request(&r.plain_body()).unwrap().mutations.len())
        .collect();
    assert_eq!(&pushed[..3], [2, 2, 1]);
    assert!(
        requests
            .iter()
            .all(|r| r.header("content-encoding") == Some("zstd"))
    );
    assert!(
        requests
            .iter()
            .all(|r| r.header("accept-encoding") == Some("zstd, gzip"))
    );
    let payments = phone
        .api
        .list_payments(&phone.tontine.id.to_string())
        .unwrap();
    assert_eq!(payments.len(), 5);
    for (p, r) in payments.iter().zip(&receipts) {
        assert_eq!((&p.id, p.sync_state), (&r.payment_id, SyncState::Applied));
        assert_eq!(p.receipt_code.as_ref(), Some(&r.receipt_code));
    }
    let status = phone.api.sync_status().unwrap();
    assert_eq!((status.pending_count, status.last_error), (0, None));
    assert_eq!(status.cursors[0].cursor, 10);
    // Nothing left: the next sync pushes nothing and pulls nothing.
    let report = phone.api.sync().unwrap();
    assert_eq!((report.pushed, report.pulled_changes), (0, 0));
}

#[test]
fn a_sync_killed_before_the_answer_resends_the_same_bytes() {
    let slot: Arc<Mutex<Option<FakeServer>>> = Arc::new(Mutex::new(None));
    let handler_slot = Arc::clone(&slot);
    let mut calls = 0;
    let (server, phone) = phone_on(move |r| {
        calls += 1;
        let reply = handler_slot.lock().unwrap().as_mut().unwrap().handle(r);
        // The first time, the server applies the batch but the answer is lost.
        if calls == 1 { Reply::HangUp } else { reply }
    });
    *slot.lock().unwrap() = Some(FakeServer::new(&phone.tontine, 100));
    phone.api.set_retry_policy(1, 1).unwrap();
    phone.pay();
    phone.pay();
    let err = phone.api.sync().unwrap_err();
    assert_eq!(err.code(), "network");
    assert_eq!(phone.api.sync_status().unwrap().pending_count, 2);
    let report = phone.api.sync().unwrap();
    assert_eq!(
        (report.pushed, report.duplicates, report.applied),
        (2, 2, 0)
    );
    let requests = server.requests();
    assert_eq!(requests[0].plain_body(), requests[1].plain_body());
    assert_eq!(
        phone
            .api
            .list_payments(&phone.tontine.id.to_string())
            .unwrap()
            .len(),
        2
    );
    assert_eq!(phone.api.reconciliation().unwrap().accepted.len(), 2);
}

#[test]
fn a_sequence_gap_stops_the_sync_with_an_integrity_error() {
    let (_server, phone) = phone_on(|r| {
        let wire = decode_request(&r.plain_body()).unwrap();
        let mut response = answer(Vec::new());
        response.outcomes.push(MutationOutcome {
            seq: wire.mutations[0].seq_hint().unwrap(),
            outcome: Outcome::Rejected {
                code: "sequence_gap".to_owned(),
                message: "mutation hors séquence : numéro 7 attendu, 1 reçu".to_owned(),
            },
        });
        Reply::sync(&response)
    });
    phone.pay();
    let err = phone.api.sync().unwrap_err();
    assert_eq!(
        err,
        MobileError::Integrity {
            detail: "mutation hors séquence : numéro 7 attendu, 1 reçu".to_owned()
        }
    );
    let status = phone.api.sync_status().unwrap();
    assert!(status.last_error.unwrap().contains("numéro 7 attendu"));
    assert_eq!(status.pending_count, 1);
}

#[test]
fn upgrade_required_stops_and_keeps_the_outbox() {
    let (_server, phone) =
        phone_on(|_| Reply::sync(&kobiri_core::sync::SyncResponse::upgrade_required()));
    phone.pay();
    assert_eq!(
        phone.api.sync().unwrap_err(),
        MobileError::upgrade_required()
    );
    let status = phone.api.sync_status().unwrap();
    assert_eq!(status.pending_count, 1);
    assert_eq!(
        status.last_error.as_deref(),
        Some("une mise à jour de l'application est nécessaire pour synchroniser")
    );
}

#[test]
fn a_server_refusing_compressed_bodies_gets_them_plain() {
    let (server, phone) = phone_on(|r| match r.header("content-encoding") {
        Some(_) => Reply::error(415, "unsupported_media_type", "encodage non pris en charge"),
        None => {
            let mutations = decode_request(&r.body).unwrap().mutations;
            let mut response = answer(Vec::new());
            response.outcomes = mutations
                .iter()
                .map(|m| MutationOutcome {
                    seq: m.seq_hint().unwrap(),
                    outcome: Outcome::Applied,
                })
                .collect();
            Reply::sync(&response)
        }
    });
    phone.pay();
    phone.api.sync().unwrap();
    phone.pay();
    phone.api.sync().unwrap();
    let encodings: Vec<Option<String>> = server
        .requests()
        .iter()
        .map(|r| r.header("content-encoding").map(str::to_owned))
        .collect();
    assert_eq!(encodings, [Some("zstd".to_owned()), None, None]);
    assert!(phone.outbox().iter().all(|(_, s)| s == "applied"));
}

#[test]
fn a_server_that_answers_for_nothing_does_not_loop() {
    let (server, phone) = phone_on(|_| Reply::sync(&answer(Vec::new())));
    phone.pay();
    let report = phone.api.sync().unwrap();
    assert!(report.has_more);
    assert_eq!(server.requests().len(), 1);
    assert!(phone.api.sync_status().unwrap().last_error.is_some());
}

/// The outbox rows of a phone, as stored: `(seq, bytes)`.
fn stored_bytes(phone: &Phone) -> Vec<(u64, Vec<u8>)> {
    let conn = rusqlite::Connection::open(phone.path()).unwrap();
    let mut stmt = conn
        .prepare("SELECT seq, bytes FROM outbox ORDER BY seq")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn tampered_outbox_rows_are_sent_exactly_as_stored() {
    use kobiri_core::sync::{MutationKind, from_cbor, to_canonical_cbor};
    let (server, phone) = phone_on(|r| {
        let wire = decode_request(&r.plain_body()).unwrap();
        let mut response = answer(Vec::new());
        response.outcomes = wire
            .mutations
            .iter()
            .map(|m| MutationOutcome {
                seq: m.seq_hint().unwrap(),
                outcome: Outcome::Rejected {
                    code: "invalid_mutation".to_owned(),
                    message: "mutation illisible".to_owned(),
                },
            })
            .collect();
        Reply::sync(&response)
    });
    phone.pay();
    phone.pay();
    let conn = rusqlite::Connection::open(phone.path()).unwrap();
    // Row 1: the amount lowered and re-encoded canonically (the chain no longer holds).
    let bytes: Vec<u8> = conn
        .query_row("SELECT bytes FROM outbox WHERE seq = 1", [], |r| r.get(0))
        .unwrap();
    let mut m = from_cbor(&bytes).unwrap();
    if let MutationKind::RecordCashPayment { amount, .. } = &mut m.kind {
        *amount = "1000".to_owned();
    }
    conn.execute(
        "UPDATE outbox SET bytes = ?1 WHERE seq = 1",
        [to_canonical_cbor(&m)],
    )
    .unwrap();
    // Row 2: a stray byte appended, so that it no longer decodes strictly at all.
    let mut bytes: Vec<u8> = conn
        .query_row("SELECT bytes FROM outbox WHERE seq = 2", [], |r| r.get(0))
        .unwrap();
    bytes.push(0);
    conn.execute("UPDATE outbox SET bytes = ?1 WHERE seq = 2", [bytes])
        .unwrap();
    drop(conn);
    let stored = stored_bytes(&phone);
    assert!(from_cbor(&stored[1].1).is_err());

    let report = phone.api.sync().unwrap();
    assert_eq!((report.pushed, report.rejected), (2, 2));
    let requests = server.requests();
    let wire = decode_request(&requests[0].plain_body()).unwrap();
    let sent: Vec<&[u8]> = wire.mutations.iter().map(|m| m.bytes()).collect();
    let expected: Vec<&[u8]> = stored.iter().map(|(_, b)| b.as_slice()).collect();
    assert_eq!(sent, expected, "the bytes on the wire are the stored bytes");
    // The altered entries are still listed, the unreadable one by its recorded kind.
    let view = phone.api.reconciliation().unwrap();
    assert_eq!(view.rejected.len(), 2);
    assert_eq!(view.rejected[1].kind, "record_cash_payment");
    assert_eq!(view.rejected[1].subject_id, "");
    assert_eq!(view.rejected[0].amount.as_deref(), Some("1000"));
}
