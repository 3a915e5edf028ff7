//! Account codes (password reset, verification) leave through the outbox: queued with the
//! code, sent by the worker (woken at once), retried while the gateway is down, never held
//! back by preferences, never in the inbox, and cleared once sent.

use std::time::Duration;

use chrono::TimeDelta;
use kobiri_core::{Channel, NotificationStatus, NotificationType};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::outbox::{Gateway, Rig, pass, rig, rows};
use crate::passwords::{forgot, reset_ok};
use crate::{dual_test, dual_test_with};

async fn send_verification(app: &TestApp, user: &TestUser, channel: &str) -> StatusCode {
    let body = json!({ "channel": channel });
    let resp = app
        .post("/api/v1/auth/send-verification", user.token(), &body)
        .await;
    resp.status()
}

/// A worker on stand-ins that are down, and a user: the outage a code must outlive.
async fn outage(app: &TestApp, gateway: Gateway, max_attempts: u32) -> (Rig, TestUser) {
    let rig = rig(gateway, max_attempts).await;
    rig.standin.set_down(true);
    (rig, app.user("awa").await)
}

/// The caller's inbox and unread count.
async fn inbox(app: &TestApp, user: &TestUser) -> (Value, Value) {
    let list = assert_status(
        app.get("/api/v1/notifications", user.token()).await,
        StatusCode::OK,
    )
    .await;
    let count = assert_status(
        app.get("/api/v1/notifications/unread-count", user.token())
            .await,
        StatusCode::OK,
    )
    .await;
    (list, count)
}

dual_test!(
    a_reset_code_is_queued_on_the_channel_asked_for_and_not_in_the_inbox,
    |app| async move {
        let user = app.user("awa").await;
        forgot(&app, json!({"phone": user.phone})).await;
        app.clock.advance(TimeDelta::seconds(1));
        forgot(&app, json!({"email": user.email})).await;
        let all = app.store.list_outbox().await.unwrap();
        let shape: Vec<_> = all
            .iter()
            .map(|e| (e.channel, e.recipient.as_str(), e.status, e.notification_id))
            .collect();
        assert_eq!(
            shape,
            [
                (
                    Channel::Sms,
                    user.phone.as_str(),
                    NotificationStatus::EnAttente,
                    None
                ),
                (
                    Channel::Email,
                    user.email.as_str(),
                    NotificationStatus::EnAttente,
                    None
                ),
            ]
        );
        assert!(app.outbox.sms().is_empty(), "nothing sent by the handler");
        let (list, count) = inbox(&app, &user).await;
        assert_eq!(list["items"], json!([]), "{list}");
        assert_eq!(count["unread_count"], 0);
        // Verification codes likewise.
        assert_eq!(send_verification(&app, &user, "sms").await, StatusCode::OK);
        assert_eq!(
            send_verification(&app, &user, "email").await,
            StatusCode::OK
        );
        let all = app.store.list_outbox().await.unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(
            (all[2].channel, all[3].channel),
            (Channel::Sms, Channel::Email)
        );
        assert!(all.iter().all(|e| e.notification_id.is_none()));
        app.send_outbox().await;
        let (list, count) = inbox(&app, &user).await;
        assert_eq!(list["items"], json!([]), "{list}");
        assert_eq!(count["unread_count"], 0);
    }
);

dual_test!(
    the_worker_delivers_a_queued_code_once_and_clears_it,
    |app| async move {
        let user = app.user("awa").await;
        forgot(&app, json!({"phone": user.phone})).await;
        let queued = &rows(&app, Channel::Sms).await[0];
        let payload = app.outbox_payload(queued.id).await;
        assert_eq!(payload["account_code"]["purpose"], "password_reset");
        assert_eq!(app.send_outbox().await.sent, 1);
        assert_eq!(app.send_outbox().await.sent, 0, "sent once");
        let sms = app.outbox.sms();
        assert_eq!(sms.len(), 1);
        assert_eq!(sms[0].to.as_str(), user.phone);
        let code = code_in(&sms[0].text);
        assert_eq!(payload["account_code"]["code"], code.as_str());
        let sent = &rows(&app, Channel::Sms).await[0];
        assert_eq!(sent.status, NotificationStatus::Envoyee);
        assert!(sent.sent_at.is_some());
        assert_eq!(
            app.outbox_payload(sent.id).await,
            json!({}),
            "the code in clear is gone once sent"
        );
        reset_ok(&app, "phone", &user.phone, &code).await;
    }
);

dual_test!(
    a_code_outlives_a_gateway_outage_and_arrives_once,
    |app| async move {
        let (rig, user) = outage(&app, Gateway::AfricasTalking, 8).await;
        forgot(&app, json!({"phone": user.phone})).await;
        assert_eq!(pass(&app, &rig).await.retried, 1);
        rig.standin.set_down(false);
        app.clock.advance(TimeDelta::seconds(30));
        assert_eq!(pass(&app, &rig).await.sent, 1);
        app.clock.advance(TimeDelta::minutes(5));
        assert_eq!(pass(&app, &rig).await.sent, 0);
        let got = rig.standin.sms();
        assert_eq!(got.len(), 1, "delivered once");
        assert_eq!(got[0].to, user.phone);
        let entry = &rows(&app, Channel::Sms).await[0];
        assert_eq!(entry.status, NotificationStatus::Envoyee);
        assert_eq!(entry.attempts, 2);
        assert_eq!(
            entry.provider_message_id.as_deref(),
            Some(got[0].message_id.as_str())
        );
        // Reset within the code's 15 minutes (5.5 have passed).
        reset_ok(&app, "phone", &user.phone, &code_in(&got[0].text)).await;
    }
);

dual_test!(
    send_verification_answers_200_while_the_gateway_is_down,
    |app| async move {
        let (rig, user) = outage(&app, Gateway::Orange, 8).await;
        assert_eq!(send_verification(&app, &user, "sms").await, StatusCode::OK);
        assert_eq!(pass(&app, &rig).await.retried, 1);
        rig.standin.set_down(false);
        app.clock.advance(TimeDelta::seconds(30));
        assert_eq!(pass(&app, &rig).await.sent, 1);
        let code = code_in(&rig.standin.sms()[0].text);
        let verified = assert_status(app.verify(&user, "sms", &code).await, StatusCode::OK).await;
        assert_eq!(verified["phone_verified"], true);
    }
);

dual_test!(
    a_code_not_sent_within_its_life_is_dropped_unsent,
    |app| async move {
        let (rig, user) = outage(&app, Gateway::Orange, 50).await;
        forgot(&app, json!({"phone": user.phone})).await;
        // Tries at 0, 4, 8 and 12 minutes; the next is due at 16, after the code's 15.
        for _ in 0..4 {
            assert_eq!(pass(&app, &rig).await.retried, 1);
            app.clock.advance(TimeDelta::minutes(4));
        }
        rig.standin.set_down(false);
        let report = pass(&app, &rig).await;
        assert_eq!((report.sent, report.failed), (0, 1));
        assert!(rig.standin.sms().is_empty(), "a dead code is not sent");
        let entry = &rows(&app, Channel::Sms).await[0];
        assert_eq!(entry.status, NotificationStatus::Echouee);
        assert!(entry.last_error.as_deref().unwrap().contains("expired"));
        assert_eq!(app.outbox_payload(entry.id).await, json!({}));
    }
);

dual_test!(
    preferences_that_turn_sms_off_do_not_hold_back_a_code,
    |app| async move {
        let user = app.user("awa").await;
        let off: Vec<Value> = NotificationType::ALL
            .iter()
            .flat_map(|t| {
                ["sms", "email"]
                    .map(|c| json!({"type": t.as_str(), "channel": c, "enabled": false}))
            })
            .collect();
        assert_status(
            app.put(
                "/api/v1/notifications/preferences",
                user.token(),
                &json!({ "preferences": off }),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        forgot(&app, json!({"phone": user.phone})).await;
        let code = code_in(&app.last_sms_to(&user.phone).await.expect("the code"));
        assert_eq!(
            send_verification(&app, &user, "email").await,
            StatusCode::OK
        );
        assert!(app.last_email_to(&user.email).await.is_some());
        reset_ok(&app, "phone", &user.phone, &code).await;
    }
);

dual_test_with!(
    a_queued_code_wakes_the_worker_instead_of_waiting_for_its_tick,
    |c| c.notify.outbox.interval = Duration::from_secs(3600),
    |app| async move {
        let user = app.user("awa").await;
        // The worker's first pass runs at start; the next tick is an hour away.
        forgot(&app, json!({"phone": user.phone})).await;
        let mut sent = Vec::new();
        for _ in 0..200 {
            sent = app.outbox.sms();
            if !sent.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(sent.len(), 1, "sent within 5 s, not after an hour");
        assert_eq!(sent[0].to.as_str(), user.phone);
        // The gateway has the message before the worker records it as sent: wait for that
        // write too (same pass, so well within a second).
        let mut status = NotificationStatus::EnAttente;
        for _ in 0..40 {
            status = rows(&app, Channel::Sms).await[0].status;
            if status == NotificationStatus::Envoyee {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(status, NotificationStatus::Envoyee);
    }
);

dual_test!(
    a_code_replaced_while_the_gateway_was_down_is_not_sent,
    |app| async move {
        let (rig, user) = outage(&app, Gateway::Orange, 8).await;
        forgot(&app, json!({"phone": user.phone})).await;
        assert_eq!(pass(&app, &rig).await.retried, 1);
        app.clock.advance(TimeDelta::seconds(10));
        // The user asks again: the first code is retired, its message must not arrive.
        forgot(&app, json!({"phone": user.phone})).await;
        rig.standin.set_down(false);
        app.clock.advance(TimeDelta::seconds(30));
        let report = pass(&app, &rig).await;
        assert_eq!((report.sent, report.failed), (1, 1));
        let got = rig.standin.sms();
        assert_eq!(got.len(), 1, "only the live code is sent");
        let entries = rows(&app, Channel::Sms).await;
        assert_eq!(entries[0].status, NotificationStatus::Echouee);
        assert!(
            entries[0]
                .last_error
                .as_deref()
                .unwrap()
                .contains("replaced")
        );
        assert_eq!(entries[1].status, NotificationStatus::Envoyee);
        reset_ok(&app, "phone", &user.phone, &code_in(&got[0].text)).await;
    }
);
