// Over 400 lines on purpose: the tests of one area, each standing alone; splitting them by size
// would separate the tests of one rule.
//! End to end: the real server (SQLite and PostgreSQL) and real phones (`kobiri-mobile`).
//! Collectors work offline, the server moves on meanwhile, links fail the way 2G links do,
//! phones get tampered with; every payment reaches the server exactly once, and what the rules
//! refuse is flagged or detected, never lost.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use kobiri_e2e::{Cut, Proxy, Tontine, blocking, on_both_engines, raw_db};
use kobiri_mobile::{KobiriClient, SyncState};
use reqwest::StatusCode;
use serde_json::json;

/// The phone at `db`, reopened against `url` (a dead port: offline).
async fn reopen(db: &str, url: &str) -> Arc<KobiriClient> {
    let (db, url) = (db.to_owned(), url.to_owned());
    blocking(move || {
        let phone = KobiriClient::open(&db, &url).unwrap();
        phone.set_retry_policy(1, 10).unwrap();
        phone
    })
    .await
}

const OFFLINE: &str = "http://127.0.0.1:9";

async fn pull(phone: &Arc<KobiriClient>) {
    let p = phone.clone();
    blocking(move || p.pull().unwrap()).await;
}

async fn pay(phone: &Arc<KobiriClient>, t: &Tontine, session: usize, member: &str) -> String {
    let (p, tid, sid, mid) = (
        phone.clone(),
        t.id.clone(),
        t.sessions[session].clone(),
        member.to_owned(),
    );
    blocking(move || {
        p.record_cash_payment(&tid, &sid, &mid, "5000")
            .unwrap()
            .receipt_code
    })
    .await
}

async fn sync(phone: &Arc<KobiriClient>) -> Result<kobiri_mobile::SyncReport, String> {
    let p = phone.clone();
    blocking(move || p.sync().map_err(|e| e.code())).await
}

async fn status(phone: &Arc<KobiriClient>) -> kobiri_mobile::SyncStatus {
    let p = phone.clone();
    blocking(move || p.sync_status().unwrap()).await
}

on_both_engines!(
    offline_collectors_converge_and_nothing_is_lost_or_doubled,
    |server| async move {
        let t = Tontine::create(&server).await;
        let a_db = server.phone_db("a");
        let b_db = server.phone_db("b");
        let a = server.phone(&t.collectors[0], "a").await;
        let b = server.phone(&t.collectors[1], "b").await;
        pull(&a).await;
        pull(&b).await;
        // Offline: both collect, both from Awa for the first session; the session closes
        // on the server meanwhile, and Moussa pays for it late on phone A.
        let (a, b) = (reopen(&a_db, OFFLINE).await, reopen(&b_db, OFFLINE).await);
        let awa = t.member(&t.members[0]);
        let moussa = t.member(&t.members[1]);
        let president = t.member(&t.president);
        pay(&a, &t, 0, &awa).await;
        pay(&a, &t, 0, &president).await;
        let late = pay(&a, &t, 0, &moussa).await;
        pay(&b, &t, 0, &awa).await;
        assert_eq!(sync(&a).await.unwrap_err(), "network");
        assert_eq!(status(&a).await.pending_count, 3);
        let close = format!("/api/v1/sessions/{}/close", t.sessions[0]);
        server
            .post(
                &close,
                &t.president.token,
                json!({"force": true}),
                StatusCode::OK,
            )
            .await;
        // Back online: first A, then B.
        let (a, b) = (
            reopen(&a_db, &server.address).await,
            reopen(&b_db, &server.address).await,
        );
        let report = sync(&a).await.unwrap();
        assert_eq!(
            (report.applied, report.flagged),
            (0, 3),
            "the session closed meanwhile"
        );
        let report = sync(&b).await.unwrap();
        assert_eq!(report.flagged, 1);
        let payments = t.payments(&server).await;
        assert_eq!(payments.len(), 4, "every payment arrived, exactly once");
        assert!(payments.iter().any(|p| p["receipt_code"] == late.as_str()));
        let flags = server
            .get(
                &format!("/api/v1/tontines/{}/flags", t.id),
                &t.treasurer.token,
            )
            .await;
        assert_eq!(flags.as_array().unwrap().len(), 4);
        // Both phones show it: the cash they hold is flagged, not dropped.
        let p = a.clone();
        let rec = blocking(move || p.reconciliation().unwrap()).await;
        assert_eq!(rec.flagged.len(), 3);
        assert_eq!(rec.cash_held[0].amount, "15000");
        // Syncing again changes nothing; both copies agree with the server (checksums).
        for phone in [&a, &b] {
            let report = sync(phone).await.unwrap();
            assert_eq!(report.pushed, 0);
            let s = status(phone).await;
            assert_eq!((s.pending_count, s.last_error.clone()), (0, None), "{s:?}");
        }
        assert_eq!(t.payments(&server).await.len(), 4);
    }
);

on_both_engines!(
    a_lost_answer_is_replayed_and_changes_nothing,
    |server| async move {
        let t = Tontine::create(&server).await;
        let db = server.phone_db("a");
        let phone = server.phone(&t.collectors[0], "a").await;
        pull(&phone).await;
        pay(&phone, &t, 0, &t.member(&t.members[0])).await;
        pay(&phone, &t, 0, &t.member(&t.members[1])).await;
        // The push reaches the server, the answer never reaches the phone.
        let proxy = Proxy::start(&server.address, Cut::BeforeAnswer).await;
        let cut = reopen(&db, &proxy.address).await;
        assert_eq!(sync(&cut).await.unwrap_err(), "network");
        assert_eq!(t.payments(&server).await.len(), 2, "applied on the server");
        assert_eq!(
            status(&cut).await.pending_count,
            2,
            "the phone does not know yet"
        );
        let phone = reopen(&db, &server.address).await;
        let report = sync(&phone).await.unwrap();
        assert_eq!(
            (report.pushed, report.duplicates, report.applied),
            (2, 2, 0)
        );
        assert_eq!(t.payments(&server).await.len(), 2);
        assert_eq!(status(&phone).await.pending_count, 0);
    }
);

on_both_engines!(a_phone_killed_mid_sync_resumes, |server| async move {
    let t = Tontine::create(&server).await;
    let db = server.phone_db("a");
    let phone = server.phone(&t.collectors[0], "a").await;
    pull(&phone).await;
    for user in [&t.members[0], &t.members[1], &t.president] {
        pay(&phone, &t, 0, &t.member(user)).await;
    }
    // The link dies in the middle of the answer's body.
    let proxy = Proxy::start(&server.address, Cut::MidAnswer(300)).await;
    let cut = reopen(&db, &proxy.address).await;
    assert!(sync(&cut).await.is_err());
    drop(cut);
    // The phone is dropped between push and answer: a new client on the same file resumes.
    let phone = reopen(&db, &server.address).await;
    let report = sync(&phone).await.unwrap();
    assert_eq!(report.pushed, 3);
    assert_eq!(report.applied + report.duplicates, 3);
    assert_eq!(t.payments(&server).await.len(), 3);
    assert_eq!(status(&phone).await.pending_count, 0);
});

on_both_engines!(
    a_payment_deleted_by_hand_is_a_chain_gap,
    |server| async move {
        let t = Tontine::create(&server).await;
        let db = server.phone_db("a");
        let phone = server.phone(&t.collectors[0], "a").await;
        pull(&phone).await;
        pay(&phone, &t, 0, &t.member(&t.members[0])).await;
        let deleted = pay(&phone, &t, 0, &t.member(&t.members[1])).await;
        pay(&phone, &t, 0, &t.member(&t.president)).await;
        drop(phone);
        let conn = raw_db(&db);
        conn.execute("DELETE FROM local_payments WHERE seq = 2", [])
            .unwrap();
        conn.execute("DELETE FROM outbox WHERE seq = 2", [])
            .unwrap();
        drop(conn);
        let phone = reopen(&db, &server.address).await;
        assert_eq!(sync(&phone).await.unwrap_err(), "integrity");
        let incidents = server
            .get(
                &format!("/api/v1/tontines/{}/incidents", t.id),
                &t.treasurer.token,
            )
            .await;
        let incidents = incidents.as_array().unwrap();
        assert!(
            incidents
                .iter()
                .any(|i| i["kind"] == "sequence_gap" && i["expected_seq"] == 2)
        );
        // The member's receipt for the deleted payment is unknown to the server.
        let path = format!("/api/v1/receipts/{deleted}");
        server
            .call(
                reqwest::Method::GET,
                &path,
                &t.members[1].token,
                &serde_json::Value::Null,
                StatusCode::NOT_FOUND,
            )
            .await;
        // The payment after the gap is kept on the phone, not dropped.
        assert_eq!(status(&phone).await.pending_count, 1);
    }
);

on_both_engines!(a_tampered_payment_breaks_the_chain, |server| async move {
    let t = Tontine::create(&server).await;
    let db = server.phone_db("a");
    let phone = server.phone(&t.collectors[0], "a").await;
    pull(&phone).await;
    let receipt = pay(&phone, &t, 0, &t.member(&t.members[0])).await;
    pay(&phone, &t, 0, &t.member(&t.members[1])).await;
    drop(phone);
    // Someone lowers the first amount in the phone's database: 5000 → 1000.
    let conn = raw_db(&db);
    let bytes: Vec<u8> = conn
        .query_row("SELECT bytes FROM outbox WHERE seq = 1", [], |r| r.get(0))
        .unwrap();
    let mut m = kobiri_core::sync::from_cbor(&bytes).unwrap();
    if let kobiri_core::sync::MutationKind::RecordCashPayment { amount, .. } = &mut m.kind {
        *amount = "1000".to_owned();
    }
    let forged = kobiri_core::sync::to_canonical_cbor(&m);
    conn.execute("UPDATE outbox SET bytes = ?1 WHERE seq = 1", [forged])
        .unwrap();
    conn.execute(
        "UPDATE local_payments SET amount = '1000' WHERE seq = 1",
        [],
    )
    .unwrap();
    drop(conn);
    let phone = reopen(&db, &server.address).await;
    let report = sync(&phone).await.unwrap();
    assert_eq!(report.flagged, 2, "a wrong amount, then a broken link");
    let incidents = server
        .get(
            &format!("/api/v1/tontines/{}/incidents", t.id),
            &t.treasurer.token,
        )
        .await;
    assert!(
        incidents
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "broken_chain")
    );
    // The member's receipt does not match what the phone sent.
    let path = format!("/api/v1/receipts/{receipt}");
    server
        .call(
            reqwest::Method::GET,
            &path,
            &t.members[0].token,
            &serde_json::Value::Null,
            StatusCode::NOT_FOUND,
        )
        .await;
});

on_both_engines!(
    a_revoked_phone_is_refused_and_keeps_its_cash,
    |server| async move {
        let t = Tontine::create(&server).await;
        let phone = server.phone(&t.collectors[0], "a").await;
        pull(&phone).await;
        pay(&phone, &t, 0, &t.member(&t.members[0])).await;
        let device = status(&phone).await.device_id.unwrap();
        let path = format!("/api/v1/devices/{device}");
        server
            .call(
                reqwest::Method::DELETE,
                &path,
                &t.collectors[0].token,
                &serde_json::Value::Null,
                StatusCode::OK,
            )
            .await;
        assert_eq!(sync(&phone).await.unwrap_err(), "unauthorized");
        assert_eq!(status(&phone).await.pending_count, 1, "the queue is kept");
        assert!(t.payments(&server).await.is_empty());
    }
);

on_both_engines!(an_old_cursor_resets_and_copies_agree, |server| async move {
    let t = Tontine::create(&server).await;
    let db = server.phone_db("a");
    let phone = server.phone(&t.collectors[0], "a").await;
    pull(&phone).await;
    pay(&phone, &t, 0, &t.member(&t.members[0])).await;
    sync(&phone).await.unwrap();
    drop(phone);
    // A cursor the server never gave out (the phone restored from an old backup of another
    // server, say): the scope resets and is pulled again in full.
    let conn = raw_db(&db);
    conn.execute("UPDATE scopes SET cursor = 1000000", [])
        .unwrap();
    drop(conn);
    let phone = reopen(&db, &server.address).await;
    sync(&phone).await.unwrap();
    let s = status(&phone).await;
    assert_eq!(s.last_error, None);
    assert!(
        s.cursors
            .iter()
            .all(|c| c.cursor < 1_000_000 && c.cursor > 0),
        "{s:?}"
    );
    let p = phone.clone();
    let tid = t.id.clone();
    let payments = blocking(move || p.list_payments(&tid).unwrap()).await;
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0].sync_state, SyncState::Applied);
    let p = phone.clone();
    let tid = t.id.clone();
    let members = blocking(move || p.list_members(&tid).unwrap()).await;
    assert_eq!(members.len(), 6);
});

on_both_engines!(
    an_advance_recorded_offline_arrives_applied_not_flagged_session_closed,
    |server| async move {
        let t = Tontine::create(&server).await;
        let db = server.phone_db("a");
        let phone = server.phone(&t.collectors[0], "a").await;
        pull(&phone).await;
        // Offline, Awa pays the second session, still planned: an advance.
        let phone = reopen(&db, OFFLINE).await;
        let awa = t.member(&t.members[0]);
        let receipt = pay(&phone, &t, 1, &awa).await;
        let phone = reopen(&db, &server.address).await;
        let report = sync(&phone).await.unwrap();
        assert_eq!((report.applied, report.flagged), (1, 0));
        let payments = t.payments(&server).await;
        assert_eq!(payments.len(), 1);
        assert_eq!(payments[0]["session_id"], t.sessions[1].as_str());
        assert_eq!(payments[0]["receipt_code"], receipt.as_str());
        assert_eq!(payments[0]["status"], "en_attente");
        let flags = server
            .get(
                &format!("/api/v1/tontines/{}/flags?status=tous", t.id),
                &t.treasurer.token,
            )
            .await;
        assert_eq!(flags, json!([]));
        let p = phone.clone();
        let rec = blocking(move || p.reconciliation().unwrap()).await;
        assert!(rec.flagged.is_empty());
    }
);

on_both_engines!(
    a_mutation_the_server_refuses_does_not_block_the_queue_behind_it,
    |server| async move {
        let t = Tontine::create(&server).await;
        let db = server.phone_db("p");
        let phone = server.phone(&t.president, "p").await;
        pull(&phone).await;
        let p = phone.clone();
        let tid = t.id.clone();
        blocking(move || {
            p.record_member(&tid, "+221765559001", "Aminata", "Ba")
                .unwrap()
        })
        .await;
        drop(phone);
        // The queued add_member names, for its new number, an account id that is already
        // another user's (a phone whose ids collided): the server cannot apply it.
        let conn = raw_db(&db);
        let bytes: Vec<u8> = conn
            .query_row("SELECT bytes FROM outbox WHERE seq = 1", [], |r| r.get(0))
            .unwrap();
        let mut m = kobiri_core::sync::from_cbor(&bytes).unwrap();
        if let kobiri_core::sync::MutationKind::AddMember { user_id, .. } = &mut m.kind {
            *user_id = kobiri_core::UserId::parse(&t.members[0].id).unwrap();
        }
        let taken = kobiri_core::sync::to_canonical_cbor(&m);
        let hash = kobiri_core::sync::RawMutation::from_bytes(taken.clone()).hash();
        conn.execute(
            "UPDATE outbox SET bytes = ?1, hash = ?2 WHERE seq = 1",
            rusqlite::params![taken, hash.to_vec()],
        )
        .unwrap();
        drop(conn);
        // Cash recorded after it, in the same queue.
        let phone = reopen(&db, &server.address).await;
        pay(&phone, &t, 0, &t.member(&t.members[1])).await;
        let report = sync(&phone).await.unwrap();
        assert_eq!((report.rejected, report.applied), (1, 1), "{report:?}");
        assert_eq!(status(&phone).await.pending_count, 0);
        assert_eq!(t.payments(&server).await.len(), 1);
        let p = phone.clone();
        let rejected = blocking(move || p.reconciliation().unwrap().rejected).await;
        assert_eq!(rejected.len(), 1, "{rejected:?}");
        assert_eq!(rejected[0].kind, "add_member");
        assert_eq!(rejected[0].outcome_code.as_deref(), Some("conflict"));
    }
);
