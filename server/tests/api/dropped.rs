//! Clients that go away mid-request: every write still runs to its commit or rollback, no
//! pooled connection is left inside a transaction, and every count is exact afterwards.

use std::{collections::HashMap, time::Duration};

use kobiri_core::{
    MemberId, UserId,
    sync::{self, Mutation, MutationKind, Outcome},
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::*;
use crate::lifecycle::every_item;
use crate::payments::circle;
use crate::sync::{Phone, outcomes, session, tontine};

/// Members whose cash is recorded over REST by clients that hang up.
const REST_MEMBERS: usize = 60;
/// Collectors' phones whose one push is cut, each from its own device.
const PHONES: usize = 80;
/// Cash payments in each of those pushes.
const PER_PUSH: usize = 6;

/// Sends `request`, then hangs up after `after` unless it was answered by then; whether it
/// hung up.
async fn hang_up(request: reqwest::RequestBuilder, after: Duration) -> bool {
    tokio::time::timeout(after, request.send()).await.is_err()
}

/// A delay from 1 to 160 ms that spreads the hang-ups over every stage of a request.
fn spread(i: usize) -> Duration {
    Duration::from_millis(1 + (i * 37 % 160) as u64)
}

/// The connections to the test's PostgreSQL database, other than the one asking, by state.
async fn pg_states(app: &TestApp) -> HashMap<String, i64> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&app.config.database_url)
        .await
        .unwrap();
    let rows: Vec<(Option<String>, i64)> = sqlx::query_as(
        "SELECT state, COUNT(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY state",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(state, n)| (state.unwrap_or_default(), n))
        .collect()
}

/// Waits until the work of the dropped requests is over: on PostgreSQL, until no connection
/// is running a statement or sitting inside a transaction (the latter must never last).
async fn settle(app: &TestApp) {
    if app.engine == Engine::Sqlite {
        tokio::time::sleep(Duration::from_secs(2)).await;
        return;
    }
    let mut states = HashMap::new();
    for _ in 0..100 {
        states = pg_states(app).await;
        let busy = [
            "active",
            "idle in transaction",
            "idle in transaction (aborted)",
        ]
        .iter()
        .filter_map(|s| states.get(*s))
        .sum::<i64>();
        if busy == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("connections left busy or inside a transaction: {states:?}");
}

dual_test!(
    clients_that_hang_up_mid_request_leave_every_write_whole,
    |app| async move {
        let c = circle(&app, json!({"max_members": 100})).await;
        // Members added offline by the president's phone, in one batch.
        let mut president = Phone::enroll(&app, &c.president).await;
        let adds: Vec<Mutation> = (0..REST_MEMBERS)
            .map(|i| {
                president.record(MutationKind::AddMember {
                    member_id: MemberId::new(),
                    tontine_id: tontine(&c),
                    user_id: UserId::new(),
                    phone: format!("+22176{:07}", 4_000 + i),
                    first_name: "Membre".to_owned(),
                    last_name: format!("N{i}"),
                })
            })
            .collect();
        let members: Vec<String> = adds
            .iter()
            .map(|m| match &m.kind {
                MutationKind::AddMember { member_id, .. } => member_id.to_string(),
                _ => unreachable!(),
            })
            .collect();
        let added = president.sync(&app, adds).await;
        assert!(outcomes(&added).iter().all(|o| *o == "applied"));

        // REST: the collector records each new member's cash; every client hangs up early.
        let rest_body = |member: &str| {
            json!({"tontine_id": c.id(), "session_id": session(&c), "member_id": member,
                   "amount": "5000", "method": "especes"})
        };
        let mut hung = tokio::task::JoinSet::new();
        for (i, member) in members.iter().enumerate() {
            let request = app
                .request(
                    reqwest::Method::POST,
                    "/api/v1/payments",
                    c.collector.token(),
                )
                .json(&rest_body(member));
            hung.spawn(hang_up(request, spread(i)));
        }
        // Sync: collectors' phones push their cash, and each connection is cut; a phone
        // cannot tell what arrived.
        let mut pushes = Vec::new();
        let payers = [&c.members[0], &c.members[1], &c.president, &c.treasurer];
        for i in 0..PHONES {
            let mut phone = Phone::enroll(&app, &c.collector).await;
            let batch: Vec<Mutation> = (0..PER_PUSH)
                .map(|k| phone.pay(&c, payers[(i + k) % payers.len()], &session(&c)))
                .collect();
            let body = sync::encode_request(&phone.request(batch.clone()));
            let request = app
                .request(reqwest::Method::POST, "/sync", Some(&phone.token))
                .header("content-type", "application/cbor")
                .body(body);
            pushes.push((phone, batch, tokio::spawn(hang_up(request, spread(i)))));
        }
        while hung.join_next().await.is_some() {}
        let mut cut = Vec::new();
        for (phone, batch, hung_up) in pushes {
            cut.push((phone, batch, hung_up.await.unwrap()));
        }
        settle(&app).await;

        // The server still answers, and what the dropped requests did is whole: now without
        // hanging up, each member's payment is made or already there, exactly once.
        for member in &members {
            let resp = app
                .post("/api/v1/payments", c.collector.token(), &rest_body(member))
                .await;
            assert!(
                [StatusCode::CREATED, StatusCode::CONFLICT].contains(&resp.status()),
                "{}",
                resp.text().await.unwrap()
            );
        }
        // A batch is one transaction: each cut push is all there or not at all.
        let listed = every_item(
            &app,
            &format!("/api/v1/tontines/{}/payments", c.id()),
            c.treasurer.token(),
        )
        .await;
        let mut ran_to_the_end = 0;
        let mut devices = Vec::new();
        for (mut phone, batch, hung_up) in cut {
            let device = phone.device.to_string();
            let there = listed
                .iter()
                .filter(|p| p["device_id"] == device.as_str())
                .count();
            assert!(
                there == 0 || there == PER_PUSH,
                "a push half applied: {there}"
            );
            ran_to_the_end += usize::from(hung_up && there == PER_PUSH);
            // The phone sends it again: what is there is answered from the log, the rest
            // applies now.
            let answer = phone.sync(&app, batch).await;
            assert_eq!(answer.outcomes.len(), PER_PUSH);
            for o in &answer.outcomes {
                assert!(
                    !matches!(o.outcome, Outcome::Rejected { .. }),
                    "mutation {} rejected: {:?}",
                    o.seq,
                    o.outcome
                );
            }
            if there == PER_PUSH {
                assert!(!outcomes(&answer).contains(&"applied"), "{answer:?}");
            }
            devices.push(device);
        }
        // Pushes whose client hung up still ran to their commit (a push cancelled with its
        // client would have left all of them to apply now).
        assert!(
            ran_to_the_end > 0,
            "no push whose client hung up ran to its end"
        );

        let payments = every_item(
            &app,
            &format!("/api/v1/tontines/{}/payments", c.id()),
            c.treasurer.token(),
        )
        .await;
        let from_phones = payments
            .iter()
            .filter(|p| devices.iter().any(|d| p["device_id"] == d.as_str()))
            .count();
        assert_eq!(
            from_phones,
            PHONES * PER_PUSH,
            "each sync mutation applied once"
        );
        assert_eq!(payments.len(), PHONES * PER_PUSH + REST_MEMBERS);
        let by_member = payments.iter().filter(|p| p["device_id"].is_null()).fold(
            HashMap::<&str, usize>::new(),
            |mut m, p| {
                *m.entry(p["member_id"].as_str().unwrap()).or_default() += 1;
                m
            },
        );
        assert!(
            members
                .iter()
                .all(|m| by_member.get(m.as_str()) == Some(&1))
        );
        // Every stored payment has its audit entry, and no entry names a payment not stored.
        let audit = every_item(
            &app,
            &format!("/api/v1/tontines/{}/audit", c.id()),
            c.president.token(),
        )
        .await;
        let mut recorded: Vec<&str> = audit
            .iter()
            .filter(|e| e["action"] == "payment.recorded")
            .map(|e| e["entity_id"].as_str().unwrap())
            .collect();
        let mut stored: Vec<&str> = payments.iter().map(|p| p["id"].as_str().unwrap()).collect();
        recorded.sort_unstable();
        stored.sort_unstable();
        assert_eq!(recorded, stored);

        if app.engine == Engine::Postgres {
            let states = pg_states(&app).await;
            assert!(
                !states.keys().any(|s| s.starts_with("idle in transaction")),
                "a pooled connection was left inside a transaction: {states:?}"
            );
        }
        let _: Value = assert_status(app.get("/health", None).await, StatusCode::OK).await;
    }
);
