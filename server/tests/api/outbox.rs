// Over 400 lines on purpose: the tests of one area, each standing alone; splitting them by size
// would separate the tests of one rule.
//! The outbox: notifications written with their cause, sent by the worker to stand-ins of
//! the real providers (Orange SMS, Africa's Talking, FCM, SMTP), with retries, backoff, dead
//! letters and leases, on both engines.

use std::{sync::Arc, time::Duration};

use chrono::TimeDelta;
use kobiri_core::{Channel, NotificationStatus, NotificationType, UserId};
use kobiri_server::{
    notify::{
        AfricasTalkingSms, FcmPush, OrangeSms, OutboxReport, OutboxWorker, Senders, SmsSender,
        SmtpMailer,
        config::OutboxConfig,
        standin::{Service, StandIn},
        worker::{self, LEASE},
    },
    store::{self, NewNotification, OutboxEntry, Store},
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::notifications::{Group, group};
use crate::{dual_test, dual_test_with};

/// The stand-ins and a worker whose senders point at them.
pub struct Rig {
    pub standin: StandIn,
    pub worker: OutboxWorker,
    _key: tempfile::NamedTempFile,
}

#[derive(Clone, Copy)]
pub enum Gateway {
    Orange,
    AfricasTalking,
}

pub async fn rig(gateway: Gateway, max_attempts: u32) -> Rig {
    let standin = StandIn::start().await;
    let (fcm, key) = standin.fcm_config();
    let sms: Arc<dyn SmsSender> = match gateway {
        Gateway::Orange => Arc::new(OrangeSms::new(standin.orange_config()).unwrap()),
        Gateway::AfricasTalking => {
            Arc::new(AfricasTalkingSms::new(standin.africastalking_config()).unwrap())
        }
    };
    let worker = OutboxWorker {
        senders: Senders {
            sms,
            mailer: Arc::new(SmtpMailer::new(&standin.smtp_config()).unwrap()),
            push: Arc::new(FcmPush::from_config(&fcm).unwrap()),
        },
        config: OutboxConfig {
            max_attempts,
            interval: Duration::ZERO,
            base_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(3600),
        },
        app_name: "Kobiri".into(),
    };
    Rig {
        standin,
        worker,
        _key: key,
    }
}

pub async fn pass(app: &TestApp, rig: &Rig) -> OutboxReport {
    worker::run_pass(app.store.as_ref(), app.clock.as_ref(), &rig.worker)
        .await
        .unwrap()
}

pub async fn rows(app: &TestApp, channel: Channel) -> Vec<OutboxEntry> {
    let all = app.store.list_outbox().await.unwrap();
    all.into_iter().filter(|e| e.channel == channel).collect()
}

/// The status and `sent_at` of a notification row (any channel).
pub async fn notification(app: &TestApp, id: uuid::Uuid) -> (String, bool) {
    const SQL: &str = "SELECT status, sent_at FROM notifications WHERE id = $1";
    let row: (String, Option<chrono::DateTime<chrono::Utc>>) = app.fetch_row(SQL, SQL, id).await;
    (row.0, row.1.is_some())
}

pub async fn remind(app: &TestApp, g: &Group, channels: &[&str]) {
    let body = json!({"session_id": g.session_id, "channels": channels});
    assert_status(
        app.post(
            "/api/v1/notifications/send-reminder",
            g.president.token(),
            &body,
        )
        .await,
        StatusCode::OK,
    )
    .await;
}

async fn enroll(app: &TestApp, user: &TestUser) -> String {
    let body = json!({"name": "Itel A70", "platform": "android"});
    let device = assert_status(
        app.post("/api/v1/devices", user.token(), &body).await,
        StatusCode::CREATED,
    )
    .await;
    device["device_id"].as_str().unwrap().to_owned()
}

async fn register_token(app: &TestApp, user: &TestUser, device: &str, token: &str) -> StatusCode {
    let path = format!("/api/v1/devices/{device}/push-token");
    let body = json!({"token": token, "platform": "android"});
    app.post(&path, user.token(), &body).await.status()
}

dual_test!(
    a_reminder_goes_out_by_sms_with_the_provider_id_and_status_envoyee,
    |app| async move {
        let rig = rig(Gateway::Orange, 8).await;
        let g = group(&app, "", 10).await;
        remind(&app, &g, &["sms"]).await;
        let report = pass(&app, &rig).await;
        assert_eq!((report.sent, report.retried, report.failed), (4, 0, 0));
        let received = rig.standin.sms();
        assert_eq!(received.len(), 4);
        for entry in rows(&app, Channel::Sms).await {
            assert_eq!(entry.status, NotificationStatus::Envoyee);
            assert_eq!(entry.attempts, 1);
            assert!(entry.sent_at.is_some());
            let id = entry.provider_message_id.clone().unwrap();
            let sms = received.iter().find(|s| s.message_id == id).unwrap();
            assert_eq!(sms.to, entry.recipient);
            assert!(sms.text.is_ascii() && sms.text.len() <= 160, "{}", sms.text);
            let (status, sent) = notification(&app, entry.notification_id.unwrap()).await;
            assert_eq!((status.as_str(), sent), ("envoyee", true));
        }
        assert_eq!(pass(&app, &rig).await, OutboxReport::default(), "sent once");
        assert_eq!(rig.standin.sms().len(), 4);
    }
);

dual_test!(
    when_the_gateway_is_down_the_outbox_backs_off_and_catches_up,
    |app| async move {
        let rig = rig(Gateway::AfricasTalking, 8).await;
        let g = group(&app, "", 10).await;
        rig.standin.set_service_down(Service::AfricasTalking, true);
        remind(&app, &g, &["sms"]).await;
        assert_eq!(pass(&app, &rig).await.retried, 4);
        rig.standin.set_service_down(Service::AfricasTalking, false);
        // Back up, but the first retry waits 30 s.
        assert_eq!(pass(&app, &rig).await, OutboxReport::default());
        assert!(rig.standin.sms().is_empty());
        app.clock.advance(TimeDelta::seconds(29));
        assert_eq!(pass(&app, &rig).await.sent, 0);
        app.clock.advance(TimeDelta::seconds(1));
        assert_eq!(pass(&app, &rig).await.sent, 4);
        let entries = rows(&app, Channel::Sms).await;
        assert!(entries.iter().all(|e| {
            e.status == NotificationStatus::Envoyee
                && e.attempts == 2
                && e.provider_message_id
                    .as_deref()
                    .is_some_and(|id| id.starts_with("ATXid_"))
        }));
        assert_eq!(rig.standin.sms().len(), 4);
        assert_eq!(rig.standin.refused(Service::AfricasTalking), 4);
    }
);

dual_test!(
    after_the_last_try_a_message_is_a_dead_letter,
    |app| async move {
        let rig = rig(Gateway::Orange, 3).await;
        let g = group(&app, "", 10).await;
        rig.standin.set_service_down(Service::Orange, true);
        remind(&app, &g, &["sms"]).await;
        assert_eq!(pass(&app, &rig).await.retried, 4);
        app.clock.advance(TimeDelta::seconds(30));
        assert_eq!(pass(&app, &rig).await.retried, 4);
        app.clock.advance(TimeDelta::seconds(59));
        assert_eq!(
            pass(&app, &rig).await,
            OutboxReport::default(),
            "1 min after try 2"
        );
        app.clock.advance(TimeDelta::seconds(1));
        let report = pass(&app, &rig).await;
        assert_eq!((report.retried, report.failed), (0, 4));
        rig.standin.set_service_down(Service::Orange, false);
        app.clock.advance(TimeDelta::days(1));
        assert_eq!(
            pass(&app, &rig).await,
            OutboxReport::default(),
            "never retried"
        );
        for entry in rows(&app, Channel::Sms).await {
            assert_eq!(entry.status, NotificationStatus::Echouee);
            assert_eq!(entry.attempts, 3);
            assert!(entry.last_error.as_deref().unwrap().contains("503"));
            let (status, sent) = notification(&app, entry.notification_id.unwrap()).await;
            assert_eq!((status.as_str(), sent), ("echouee", false));
        }
        assert!(rig.standin.sms().is_empty());
    }
);

dual_test!(
    a_push_to_a_dead_fcm_token_removes_the_token_and_fails,
    |app| async move {
        let rig = rig(Gateway::Orange, 8).await;
        let g = group(&app, "", 10).await;
        let awa_device = enroll(&app, &g.awa).await;
        let moussa_device = enroll(&app, &g.moussa).await;
        assert_eq!(
            register_token(&app, &g.awa, &awa_device, "awa-token").await,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            register_token(&app, &g.moussa, &moussa_device, "moussa-token").await,
            StatusCode::NO_CONTENT
        );
        rig.standin.unregister("awa-token");
        remind(&app, &g, &["push"]).await;
        let push = rows(&app, Channel::Push).await;
        assert_eq!(push.len(), 2, "only users with a token get a push row");
        let report = pass(&app, &rig).await;
        assert_eq!(
            (report.sent, report.failed, report.tokens_removed),
            (1, 1, 1)
        );
        let awa = UserId::parse(&g.awa.id).unwrap();
        assert!(app.store.push_tokens_of(awa).await.unwrap().is_empty());
        let moussa = UserId::parse(&g.moussa.id).unwrap();
        assert_eq!(
            app.store.push_tokens_of(moussa).await.unwrap(),
            ["moussa-token"]
        );
        for entry in rows(&app, Channel::Push).await {
            let (status, _) = notification(&app, entry.notification_id.unwrap()).await;
            if entry.recipient == g.awa.id {
                assert_eq!(entry.status, NotificationStatus::Echouee);
                assert!(entry.last_error.unwrap().contains("UNREGISTERED"));
                assert_eq!(status, "echouee");
            } else {
                assert_eq!(entry.status, NotificationStatus::Envoyee);
                assert!(
                    entry
                        .provider_message_id
                        .unwrap()
                        .starts_with("projects/kobiri-test/")
                );
                assert_eq!(status, "envoyee");
            }
        }
        let got = rig.standin.push();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].token, "moussa-token");
        assert_eq!(got[0].title, "Rappel de cotisation");
        // Awa has no live token now: the next reminder plans no push for her.
        remind(&app, &g, &["push"]).await;
        assert_eq!(rows(&app, Channel::Push).await.len(), 3);
    }
);

dual_test!(
    an_email_reaches_the_smtp_sink_with_text_and_html_parts,
    |app| async move {
        let rig = rig(Gateway::Orange, 8).await;
        let g = group(&app, "", 10).await;
        remind(&app, &g, &["email"]).await;
        assert_eq!(pass(&app, &rig).await.sent, 4);
        let mails = rig.standin.emails();
        assert_eq!(mails.len(), 4);
        let to_awa = mails
            .iter()
            .find(|m| m.rcpt_to == [g.awa.email.clone()])
            .unwrap();
        let data = &to_awa.data;
        assert!(data.contains("multipart/alternative"), "{data}");
        assert!(
            data.contains("text/plain") && data.contains("text/html"),
            "{data}"
        );
        assert!(data.contains("Subject:"), "{data}");
        assert!(
            rows(&app, Channel::Email)
                .await
                .iter()
                .all(|e| e.status == NotificationStatus::Envoyee)
        );
    }
);

dual_test!(an_sms_turned_off_is_not_queued, |app| async move {
    let rig = rig(Gateway::Orange, 8).await;
    let g = group(&app, "", 10).await;
    let body = json!({"preferences": [
            {"type": "rappel_cotisation", "channel": "sms", "enabled": false}]});
    assert_status(
        app.put("/api/v1/notifications/preferences", g.awa.token(), &body)
            .await,
        StatusCode::OK,
    )
    .await;
    remind(&app, &g, &["sms"]).await;
    let sms = rows(&app, Channel::Sms).await;
    assert_eq!(sms.len(), 3);
    assert!(sms.iter().all(|e| e.recipient != g.awa.phone));
    pass(&app, &rig).await;
    assert!(rig.standin.sms().iter().all(|s| s.to != g.awa.phone));
});

dual_test!(
    a_row_whose_worker_died_is_sent_after_its_lease,
    |app| async move {
        let rig = rig(Gateway::Orange, 8).await;
        let g = group(&app, "", 10).await;
        remind(&app, &g, &["sms"]).await;
        // A worker claims the rows and dies before sending.
        let now = kobiri_server::clock::Clock::now(app.clock.as_ref());
        let claimed = app.store.claim_outbox(now, now + LEASE, 100).await.unwrap();
        assert_eq!(claimed.len(), 4);
        assert_eq!(pass(&app, &rig).await, OutboxReport::default(), "leased");
        app.clock.advance(LEASE + TimeDelta::seconds(1));
        assert_eq!(pass(&app, &rig).await.sent, 4);
        // The dead worker's late answer changes nothing.
        let outcome = kobiri_server::store::OutboxOutcome::Failed {
            error: "late".into(),
        };
        let now = kobiri_server::clock::Clock::now(app.clock.as_ref());
        assert!(
            !app.store
                .finish_outbox(&claimed[0], &outcome, now)
                .await
                .unwrap()
        );
        assert_eq!(rig.standin.sms().len(), 4);
    }
);

/// Many messages for one user, written directly (as any cause's transaction writes them).
async fn queue_many(app: &TestApp, user: &TestUser, n: usize) {
    let now = kobiri_server::clock::Clock::now(app.clock.as_ref());
    let list: Vec<NewNotification> = (0..n)
        .map(|i| NewNotification {
            id: kobiri_core::new_uuid(),
            user_id: UserId::parse(&user.id).unwrap(),
            kind: NotificationType::Information,
            channel: Channel::Sms,
            title: "Info".into(),
            message: format!("Message {i}"),
            sms: format!("Message {i}"),
            recipient: Some(user.phone.clone()),
            data: None,
            tontine_id: None,
            session_id: None,
            payment_id: None,
            dedup_key: None,
            at: now,
        })
        .collect();
    assert_eq!(
        app.store.write_notifications(&list).await.unwrap(),
        n as u64
    );
}

dual_test!(
    two_workers_on_one_database_send_each_message_exactly_once,
    |app| async move {
        const N: usize = 120;
        let rig_a = rig(Gateway::Orange, 8).await;
        let user = app.user("racer").await;
        queue_many(&app, &user, N).await;
        // Two workers with their own connection pools, as two server processes have.
        let url = &app.config.database_url;
        let a: Arc<dyn Store> = store::connect(url, 4).await.unwrap();
        let b: Arc<dyn Store> = store::connect(url, 4).await.unwrap();
        let (clock, w) = (app.clock.clone(), rig_a.worker.clone());
        let run = |s: Arc<dyn Store>| {
            let (clock, w) = (clock.clone(), w.clone());
            tokio::spawn(async move { worker::run_pass(s.as_ref(), clock.as_ref(), &w).await })
        };
        let (ra, rb) = (run(a), run(b));
        let (ra, rb) = (ra.await.unwrap().unwrap(), rb.await.unwrap().unwrap());
        assert_eq!(ra.sent + rb.sent, N as u32, "{ra:?} {rb:?}");
        assert_eq!(ra.lost + rb.lost, 0);
        let mut texts: Vec<String> = rig_a.standin.sms().into_iter().map(|s| s.text).collect();
        texts.sort();
        texts.dedup();
        assert_eq!(texts.len(), N, "each message once");
        assert_eq!(rig_a.standin.sms().len(), N);
        let entries = rows(&app, Channel::Sms).await;
        assert!(
            entries
                .iter()
                .all(|e| e.attempts == 1 && e.status == NotificationStatus::Envoyee)
        );
    }
);

dual_test!(
    a_push_token_is_registered_on_the_callers_own_live_device,
    |app| async move {
        let awa = app.user("awa").await;
        let moussa = app.user("moussa").await;
        let device = enroll(&app, &awa).await;
        let other = enroll(&app, &awa).await;
        assert_eq!(
            register_token(&app, &awa, &device, "tok-1").await,
            StatusCode::NO_CONTENT
        );
        // Someone else's device, or none: 404.
        assert_eq!(
            register_token(&app, &moussa, &device, "tok-2").await,
            StatusCode::NOT_FOUND
        );
        let unknown = uuid::Uuid::now_v7().to_string();
        assert_eq!(
            register_token(&app, &awa, &unknown, "tok-2").await,
            StatusCode::NOT_FOUND
        );
        let path = format!("/api/v1/devices/{device}/push-token");
        let bad = json!({"token": "tok-3", "platform": "symbian"});
        assert_invalid(app.post(&path, awa.token(), &bad).await, "platform").await;
        let empty = json!({"token": " ", "platform": "ios"});
        assert_invalid(app.post(&path, awa.token(), &empty).await, "token").await;
        let no_auth: Value = json!({"token": "tok-4", "platform": "ios"});
        assert_eq!(
            app.post(&path, None, &no_auth).await.status(),
            StatusCode::UNAUTHORIZED
        );
        // A device has one token; a token moves to the device that registers it last.
        assert_eq!(
            register_token(&app, &awa, &device, "tok-5").await,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            register_token(&app, &awa, &other, "tok-5").await,
            StatusCode::NO_CONTENT
        );
        let id = UserId::parse(&awa.id).unwrap();
        assert_eq!(app.store.push_tokens_of(id).await.unwrap(), ["tok-5"]);
        // A revoked device cannot register, and its token is no longer live.
        assert_status(
            app.delete(&format!("/api/v1/devices/{other}"), awa.token())
                .await,
            StatusCode::OK,
        )
        .await;
        assert!(app.store.push_tokens_of(id).await.unwrap().is_empty());
        assert_eq!(
            register_token(&app, &awa, &other, "tok-6").await,
            StatusCode::FORBIDDEN
        );
    }
);

/// Two real `kobiri-server` processes on one PostgreSQL database, their outbox workers
/// running every second against the Orange stand-in: every message goes out exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_on_one_postgres_send_each_message_exactly_once() {
    const N: usize = 60;
    let Some(app) = TestApp::spawn(Engine::Postgres).await else {
        return;
    };
    let standin = StandIn::start().await;
    // Slow enough that one process cannot send everything before the other starts.
    standin.set_latency(Duration::from_millis(50));
    let user = app.user("racer").await;
    queue_many(&app, &user, N).await;
    let mut env = orange_sms_env(&standin);
    env.push(("OUTBOX_INTERVAL_SECONDS", "1".to_owned()));
    let url = &app.config.database_url;
    let (first, second) = tokio::join!(
        ServerProcess::spawn(url, &env),
        ServerProcess::spawn(url, &env)
    );
    for _ in 0..600 {
        if standin.sms().len() >= N {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Give a duplicate, if any, the time to arrive.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    first.stop().await;
    second.stop().await;
    let mut texts: Vec<String> = standin.sms().into_iter().map(|s| s.text).collect();
    assert_eq!(texts.len(), N, "every message sent, none twice");
    assert_eq!(standin.oauth_tokens_issued(), 2, "both processes sent some");
    texts.sort();
    texts.dedup();
    assert_eq!(texts.len(), N);
    let entries = rows(&app, Channel::Sms).await;
    assert!(
        entries
            .iter()
            .all(|e| e.attempts == 1 && e.status == NotificationStatus::Envoyee)
    );
}

dual_test_with!(
    the_server_runs_its_outbox_worker_every_interval,
    |c| c.notify.outbox.interval = Duration::from_millis(50),
    |app| async move {
        let g = group(&app, "", 10).await;
        remind(&app, &g, &["sms"]).await;
        // The app's own worker sends through its SMS sender (the test recorder).
        // The sender hears a message just before the worker commits its status: wait for
        // both (on a loaded machine the commit can trail the send).
        let mut sent = Vec::new();
        let mut entries = Vec::new();
        for _ in 0..200 {
            sent = app.outbox.sms();
            entries = rows(&app, Channel::Sms).await;
            let committed = entries
                .iter()
                .all(|e| e.status == NotificationStatus::Envoyee);
            if sent.len() == 4 && committed {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(sent.len(), 4);
        assert!(sent.iter().any(|s| s.to.as_str() == g.awa.phone));
        assert!(
            entries
                .iter()
                .all(|e| e.status == NotificationStatus::Envoyee)
        );
    }
);
