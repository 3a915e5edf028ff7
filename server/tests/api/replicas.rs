// Over 400 lines on purpose: the tests of one area, each standing alone; splitting them by size
// would separate the tests of one rule.
//! Replicas: two real `kobiri-server` processes on one PostgreSQL database, their job runners,
//! outbox workers and mobile-money pollers running every second, racing on the same
//! reminders, receipts, payments and payouts. Each happens exactly once.
//!
//! The processes run on the real clock, so the test moves the database's schedule instead:
//! reminder jobs due at 08:00 UTC today are brought forward to now (before 08:00 they would
//! wait), and pending polls are made due at once instead of 30 s after their start.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{NaiveTime, Utc};
use kobiri_core::sync::{self, MutationKind, Outcome};
use kobiri_core::{Channel, NotificationStatus, NotificationType, PassageStatus, PaymentStatus};
use kobiri_server::clock::Clock;
use kobiri_server::mobile_money::standin::{self as momo, StandIn as Provider};
use kobiri_server::notify::standin::StandIn as Gateway;
use kobiri_server::store::{JobKind, JobStatus, OutboxEntry, Passage, Payment};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::helpers::*;
use crate::mobile_money::{collected, payout, started_passage};
use crate::notifications::{Group, group};
use crate::payments::{Circle, circle_named, pay};
use crate::sync::{Phone, post_sync};

/// Tontines whose session reminds its members now: half due today, half in two days.
const GROUPS: usize = 4;
/// Tontines (due in ten days: no reminder) where cash, mobile money and payouts happen.
const CIRCLES: usize = 3;
/// Each member of a group is reminded once.
const REMINDERS: usize = GROUPS * 4;

/// What the test expects to happen once, by id.
#[derive(Default)]
struct Expected {
    /// Payment id → the payer's phone and, for cash, the receipt code the SMS must carry.
    receipts: HashMap<Uuid, (String, Option<String>)>,
    /// Mobile-money payments the pollers must settle.
    mobile_payments: Vec<Uuid>,
    /// Passages whose pot goes out through MTN.
    passages: Vec<Uuid>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_on_one_postgres_remind_receipt_and_pay_out_exactly_once() {
    let Some(app) = TestApp::spawn(Engine::Postgres).await else {
        return;
    };
    let gateway = Gateway::start().await;
    // Slow enough that one process cannot send everything before the other looks.
    gateway.set_latency(Duration::from_millis(50));
    let mtn = Provider::mtn().await.unwrap();
    let mut env = orange_sms_env(&gateway);
    env.extend(mtn_env(&mtn));
    env.extend([
        ("JOBS_INTERVAL_SECONDS", "1".to_owned()),
        ("OUTBOX_INTERVAL_SECONDS", "1".to_owned()),
    ]);
    let url = &app.config.database_url;
    // Half a second apart, so their one-second loops do not tick together (the first to claim
    // at a shared tick would take every small batch).
    let (a, b) = tokio::join!(ServerProcess::spawn(url, &env), async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        ServerProcess::spawn(url, &env).await
    });

    let mut groups = Vec::new();
    for i in 0..GROUPS {
        let due_in = if i % 2 == 0 { 0 } else { 2 };
        groups.push(group(&app, &format!("g{i}"), due_in).await);
    }
    let in_ten_days = app
        .clock
        .now()
        .date_naive()
        .checked_add_days(chrono::Days::new(10));
    let mut expected = Expected::default();
    let mut circles = Vec::new();
    for i in 0..CIRCLES {
        let c = circle_named(&app, &format!("c{i}"), json!({"start_date": in_ten_days})).await;
        validate_cash_through_both(&a, &b, &c, &mut expected).await;
        sync_cash_through_both(&a, &b, &c, &mut expected).await;
        let server = if i % 2 == 0 { &a } else { &b };
        pay_by_mtn(server, &c, &mut expected).await;
        circles.push(c);
    }
    // Pending at the start, confirmed at the first status query: the pollers finish them.
    mtn.set_outcome(momo::Outcome::PendingFor(1));
    for c in &circles {
        pay_out_through_both(&app, &a, &b, c, &mut expected).await;
    }

    let mut db = PgConnection::connect(url).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        bring_forward(&mut db).await;
        let progress = progress(&app, &mut db, &expected).await;
        if progress.is_done() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not done in 30 s: {progress:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Give a duplicate, if any, the time to arrive.
    tokio::time::sleep(Duration::from_secs(2)).await;
    a.stop().await;
    b.stop().await;

    let sms = sms_rows(&app, &mut db).await;
    each_sms_sent_once(&gateway, &sms);
    each_member_reminded_once(&groups, &sms);
    each_receipt_sent_once(&gateway, &sms, &expected);
    reminder_jobs_ran_once(&mut db).await;
    each_payment_polled_once(&app, &mtn, &expected).await;
    each_payout_sent_once(&app, &mtn, &expected).await;
    for c in &circles {
        // Two cash payments validated, one by mobile money; synced cash awaits validation.
        assert_eq!(collected(&app, c).await, "15000");
    }
    assert_eq!(gateway.oauth_tokens_issued(), 2, "both processes sent SMS");
}

/// The collector records Awa's cash through one process and Moussa's through the other; the
/// treasurer approves each through both at once: one approval, one conflict.
async fn validate_cash_through_both(
    a: &ServerProcess,
    b: &ServerProcess,
    c: &Circle,
    expected: &mut Expected,
) {
    for (server, member) in [(a, &c.members[0]), (b, &c.members[1])] {
        let recorded = assert_status(
            pay(server, c, &c.collector, member).await,
            StatusCode::CREATED,
        )
        .await;
        let path = format!(
            "/api/v1/payments/{}/validate",
            recorded["id"].as_str().unwrap()
        );
        let approve = json!({"action": "approve"});
        let (first, second) = tokio::join!(
            a.post(&path, c.treasurer.token(), &approve),
            b.post(&path, c.treasurer.token(), &approve)
        );
        let mut statuses = [first.status(), second.status()];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
        let path = format!("/api/v1/payments/{}", recorded["id"].as_str().unwrap());
        let validated =
            assert_status(a.get(&path, c.treasurer.token()).await, StatusCode::OK).await;
        assert_eq!(validated["status"], "valide");
        let code = validated["receipt_code"].as_str().unwrap().to_owned();
        let id = Uuid::parse_str(recorded["id"].as_str().unwrap()).unwrap();
        expected
            .receipts
            .insert(id, (member.phone.clone(), Some(code)));
    }
}

/// The collector's phone pushes the president's and the treasurer's cash; the answer is lost
/// and the phone pushes the same batch to the other process at the same time.
async fn sync_cash_through_both(
    a: &ServerProcess,
    b: &ServerProcess,
    c: &Circle,
    expected: &mut Expected,
) {
    let mut phone = Phone::enroll(a, &c.collector).await;
    let session = c.session["id"].as_str().unwrap();
    let payers = [&c.president, &c.treasurer];
    let batch: Vec<_> = payers.iter().map(|p| phone.pay(c, p, session)).collect();
    let body = sync::encode_request(&phone.request(batch.clone()));
    let (first, second) = tokio::join!(
        post_sync(a, &phone.token, "application/cbor", body.clone()),
        post_sync(b, &phone.token, "application/cbor", body)
    );
    let mut applied = vec![0; batch.len()];
    for answer in [first, second] {
        assert_eq!(answer.status(), StatusCode::OK);
        let answer = sync::decode_response(&answer.bytes().await.unwrap()).unwrap();
        for (i, o) in answer.outcomes.iter().enumerate() {
            assert!(o.outcome.is_success(), "{o:?}");
            applied[i] += usize::from(o.outcome == Outcome::Applied);
        }
    }
    assert_eq!(applied, [1, 1], "each mutation applied by one process");
    for (payer, m) in payers.iter().zip(&batch) {
        let MutationKind::RecordCashPayment { payment_id, .. } = &m.kind else {
            unreachable!("the phone records cash")
        };
        let code = sync::receipt_code(m).to_string();
        expected
            .receipts
            .insert(payment_id.as_uuid(), (payer.phone.clone(), Some(code)));
    }
}

/// The collector pays their own contribution with MTN MoMo through `server`; no callback
/// comes, so a poller must confirm it.
async fn pay_by_mtn(server: &ServerProcess, c: &Circle, expected: &mut Expected) {
    let body = json!({"session_id": c.session["id"], "method": "mtn_momo",
        "phone_number": c.collector.phone});
    let started = assert_status(
        server
            .post("/api/v1/payments/initiate", c.collector.token(), &body)
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(started["status"], "en_cours");
    let id = Uuid::parse_str(started["id"].as_str().unwrap()).unwrap();
    expected.mobile_payments.push(id);
    expected
        .receipts
        .insert(id, (c.collector.phone.clone(), None));
}

/// The treasurer asks both processes at once to send the first passage's pot by MTN MoMo.
async fn pay_out_through_both(
    app: &TestApp,
    a: &ServerProcess,
    b: &ServerProcess,
    c: &Circle,
    expected: &mut Expected,
) {
    let passage = started_passage(app, c).await;
    let (first, second) = tokio::join!(
        payout(a, c, &passage, "mtn_momo"),
        payout(b, c, &passage, "mtn_momo")
    );
    let mut statuses = [first.status(), second.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    let id = Uuid::parse_str(passage["id"].as_str().unwrap()).unwrap();
    expected.passages.push(id);
}

/// Today's 08:00 reminder jobs run now, and pending polls are due now.
async fn bring_forward(db: &mut PgConnection) {
    let now = Utc::now();
    let eight = now.date_naive().and_time(NaiveTime::MIN) + chrono::TimeDelta::hours(8);
    sqlx::query(
        "UPDATE jobs SET run_at = $1 \
         WHERE kind = $2 AND status = $3 AND run_at > $1 AND run_at <= $4",
    )
    .bind(now)
    .bind(JobKind::Reminder.as_str())
    .bind(JobStatus::Pending.as_str())
    .bind(eight.and_utc())
    .execute(&mut *db)
    .await
    .unwrap();
    sqlx::query("UPDATE mobile_money_polls SET next_poll_at = $1 WHERE next_poll_at > $1")
        .bind(now)
        .execute(&mut *db)
        .await
        .unwrap();
}

/// How far the processes got.
#[derive(Debug)]
struct Progress {
    reminders: usize,
    unsent: usize,
    settled_payments: usize,
    paid_passages: usize,
    expected_payments: usize,
    expected_passages: usize,
}

impl Progress {
    fn is_done(&self) -> bool {
        self.reminders == REMINDERS
            && self.unsent == 0
            && self.settled_payments == self.expected_payments
            && self.paid_passages == self.expected_passages
    }
}

async fn progress(app: &TestApp, db: &mut PgConnection, expected: &Expected) -> Progress {
    let sms = sms_rows(app, db).await;
    let mut settled_payments = 0;
    for id in &expected.mobile_payments {
        settled_payments += usize::from(payment(app, *id).await.status != PaymentStatus::EnCours);
    }
    let mut paid_passages = 0;
    for id in &expected.passages {
        paid_passages += usize::from(passage(app, *id).await.status == PassageStatus::Complete);
    }
    Progress {
        reminders: sms
            .iter()
            .filter(|s| s.kind == NotificationType::RappelCotisation.as_str())
            .count(),
        unsent: sms
            .iter()
            .filter(|s| s.entry.status == NotificationStatus::EnAttente)
            .count(),
        settled_payments,
        paid_passages,
        expected_payments: expected.mobile_payments.len(),
        expected_passages: expected.passages.len(),
    }
}

/// An SMS row of the outbox with what its notification is about.
#[derive(Debug)]
struct Sms {
    entry: OutboxEntry,
    kind: String,
    session_id: Option<Uuid>,
    payment_id: Option<Uuid>,
}

async fn sms_rows(app: &TestApp, db: &mut PgConnection) -> Vec<Sms> {
    type About = (Uuid, String, Option<Uuid>, Option<Uuid>);
    let about: Vec<About> = sqlx::query_as(
        "SELECT id, type, session_id, payment_id FROM notifications WHERE channel = $1",
    )
    .bind(Channel::Sms.as_str())
    .fetch_all(db)
    .await
    .unwrap();
    let about: HashMap<Uuid, About> = about.into_iter().map(|a| (a.0, a)).collect();
    let entries = app.store.list_outbox().await.unwrap();
    entries
        .into_iter()
        .filter(|e| e.channel == Channel::Sms)
        .map(|entry| {
            let (_, kind, session_id, payment_id) = about[&entry.notification_id.unwrap()].clone();
            Sms {
                entry,
                kind,
                session_id,
                payment_id,
            }
        })
        .collect()
}

/// Every SMS row went out on its first try, and the gateway received each exactly once.
fn each_sms_sent_once(gateway: &Gateway, sms: &[Sms]) {
    let received = gateway.sms();
    assert_eq!(received.len(), sms.len(), "one message per row, none twice");
    for row in sms {
        let e = &row.entry;
        assert_eq!(
            (e.status, e.attempts),
            (NotificationStatus::Envoyee, 1),
            "{row:?}"
        );
        let id = e.provider_message_id.as_deref().unwrap();
        let copies: Vec<_> = received.iter().filter(|r| r.message_id == id).collect();
        assert_eq!(copies.len(), 1, "{row:?}");
        assert_eq!(copies[0].to, e.recipient);
    }
}

/// One reminder SMS per member of each group's session.
fn each_member_reminded_once(groups: &[Group], sms: &[Sms]) {
    for g in groups {
        let session = Uuid::parse_str(&g.session_id).unwrap();
        for user in g.everyone() {
            let reminders = sms.iter().filter(|s| {
                s.kind == NotificationType::RappelCotisation.as_str()
                    && s.session_id == Some(session)
                    && s.entry.recipient == user.phone
            });
            assert_eq!(reminders.count(), 1, "{} in {}", user.phone, g.tontine_id);
        }
    }
}

/// One payment confirmation per payment, to the payer, with the receipt code for cash.
fn each_receipt_sent_once(gateway: &Gateway, sms: &[Sms], expected: &Expected) {
    let received = gateway.sms();
    for (payment, (phone, code)) in &expected.receipts {
        let receipts: Vec<_> = sms
            .iter()
            .filter(|s| {
                s.kind == NotificationType::ConfirmationPaiement.as_str()
                    && s.payment_id == Some(*payment)
            })
            .collect();
        assert_eq!(receipts.len(), 1, "payment {payment}: {receipts:?}");
        let entry = &receipts[0].entry;
        assert_eq!(&entry.recipient, phone);
        if let Some(code) = code {
            let id = entry.provider_message_id.as_deref().unwrap();
            let text = &received.iter().find(|r| r.message_id == id).unwrap().text;
            assert!(text.contains(code.as_str()), "{text}");
        }
    }
}

/// Every reminder job that ran was claimed once: by one process, on its first try.
async fn reminder_jobs_ran_once(db: &mut PgConnection) {
    let attempts: Vec<(i32,)> =
        sqlx::query_as("SELECT attempts FROM jobs WHERE kind = $1 AND status = $2")
            .bind(JobKind::Reminder.as_str())
            .bind(JobStatus::Done.as_str())
            .fetch_all(db)
            .await
            .unwrap();
    // A group due today runs its d-2 job (stale: nothing to send) and its d0 job; a group due
    // in two days runs its d-2 job.
    assert_eq!(attempts.len(), GROUPS / 2 * 2 + GROUPS / 2);
    assert!(attempts.iter().all(|(n,)| *n == 1), "{attempts:?}");
}

/// Each mobile-money payment was started once and asked about once, by one poller.
async fn each_payment_polled_once(app: &TestApp, mtn: &Provider, expected: &Expected) {
    let starts = mtn.requests_to("/collection/v1_0/requesttopay");
    assert_eq!(starts.len(), expected.mobile_payments.len());
    for id in &expected.mobile_payments {
        assert_eq!(mtn.payment(*id).unwrap().queries, 1, "payment {id}");
        assert_eq!(payment(app, *id).await.status, PaymentStatus::Valide);
    }
}

/// Each passage's pot was requested from MTN once, asked about at the start and once by a
/// poller, and the passage is complete.
async fn each_payout_sent_once(app: &TestApp, mtn: &Provider, expected: &Expected) {
    let transfers = mtn.requests_to("/disbursement/v1_0/transfer");
    assert_eq!(
        transfers.len(),
        expected.passages.len(),
        "one transfer each"
    );
    let payouts = mtn.payouts();
    assert_eq!(payouts.len(), expected.passages.len());
    assert!(payouts.iter().all(|p| p.queries == 2), "{payouts:?}");
    for id in &expected.passages {
        let passage = passage(app, *id).await;
        assert_eq!(passage.status, PassageStatus::Complete);
        assert_eq!(
            passage.payout_status.as_deref(),
            Some(PaymentStatus::Valide.as_str())
        );
    }
}

async fn payment(app: &TestApp, id: Uuid) -> Payment {
    let id = kobiri_core::PaymentId::from_uuid(id);
    app.store.payment_by_id(id).await.unwrap().unwrap()
}

async fn passage(app: &TestApp, id: Uuid) -> Passage {
    let id = kobiri_core::PassageId::from_uuid(id);
    app.store.passage_by_id(id).await.unwrap().unwrap()
}
