//! SMS delivery reports: the gateways' stand-ins send messages with real ids, then post their
//! own report formats to `/api/v1/notifications/delivery-reports/{gateway}`; the outbox row and
//! its notification become `delivree` or `echouee`, never backwards, on both engines.

use chrono::TimeDelta;
use kobiri_core::{Channel, NotificationStatus};
use kobiri_server::{
    config::Config, mobile_money::Secret, notify::standin::ReceivedSms, store::OutboxEntry,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::notifications::{Group, group};
use crate::outbox::{Gateway, Rig, pass, remind, rig, rows};
use crate::passwords::forgot;
use crate::{dual_test, dual_test_with};

const TOKEN: &str = "delivery-report-token-for-tests";

fn with_token(c: &mut Config) {
    c.notify.delivery_report_token = Some(Secret::new(TOKEN));
}

fn segment(gateway: Gateway) -> &'static str {
    match gateway {
        Gateway::Orange => "orange",
        Gateway::AfricasTalking => "africastalking",
    }
}

fn report_url(app: &TestApp, gateway: Gateway, token: &str) -> String {
    let path = format!(
        "/api/v1/notifications/delivery-reports/{}",
        segment(gateway)
    );
    app.url(&with_query(&path, &[("token", token)]))
}

/// A reminder by SMS to the group's four members, sent through `gateway`'s stand-in.
async fn sent_reminders(app: &TestApp, gateway: Gateway) -> (Rig, Group) {
    let rig = rig(gateway, 8).await;
    let g = group(app, "", 10).await;
    remind(app, &g, &["sms"]).await;
    assert_eq!(pass(app, &rig).await.sent, 4);
    (rig, g)
}

/// The SMS the stand-in accepted for `phone`.
fn sms_to(rig: &Rig, phone: &str) -> ReceivedSms {
    let all = rig.standin.sms();
    all.into_iter().find(|s| s.to == phone).expect("an SMS")
}

/// Posts `sms`'s report with `status` and the right token; returns the status and body.
async fn report(
    app: &TestApp,
    rig: &Rig,
    gateway: Gateway,
    sms: &ReceivedSms,
    status: &str,
) -> (StatusCode, Value) {
    let url = report_url(app, gateway, TOKEN);
    let resp = rig
        .standin
        .report_delivery(&url, sms, status)
        .await
        .unwrap();
    let code = resp.status();
    (code, resp.json().await.unwrap_or(Value::Null))
}

/// The outbox row of the SMS with `message_id`.
async fn row_of(app: &TestApp, message_id: &str) -> OutboxEntry {
    let all = rows(app, Channel::Sms).await;
    let found = all
        .into_iter()
        .find(|e| e.provider_message_id.as_deref() == Some(message_id));
    found.expect("an outbox row")
}

/// The status and whether `delivered_at` is set, of a notification row.
async fn notification(app: &TestApp, id: uuid::Uuid) -> (String, bool) {
    const SQL: &str = "SELECT status, delivered_at FROM notifications WHERE id = $1";
    let row: (String, Option<chrono::DateTime<chrono::Utc>>) = app.fetch_row(SQL, SQL, id).await;
    (row.0, row.1.is_some())
}

/// A delivered report marks that SMS and its notification `delivree`, and nothing else.
async fn delivered_marks_delivree(app: &TestApp, gateway: Gateway, status: &str) {
    let (rig, g) = sent_reminders(app, gateway).await;
    let sms = sms_to(&rig, &g.awa.phone);
    let (code, body) = report(app, &rig, gateway, &sms, status).await;
    assert_eq!(
        (code, &body),
        (StatusCode::OK, &json!({"status": "delivree"}))
    );
    let row = row_of(app, &sms.message_id).await;
    assert_eq!(row.status, NotificationStatus::Delivree);
    assert!(row.delivered_at.is_some());
    let notified = notification(app, row.notification_id.unwrap()).await;
    assert_eq!(notified, ("delivree".to_owned(), true));
    let others: Vec<_> = rows(app, Channel::Sms)
        .await
        .into_iter()
        .filter(|e| e.id != row.id)
        .map(|e| e.status)
        .collect();
    assert_eq!(others, [NotificationStatus::Envoyee; 3]);
}

dual_test_with!(
    a_success_report_from_africastalking_marks_the_sms_delivree,
    with_token,
    |app| async move {
        delivered_marks_delivree(&app, Gateway::AfricasTalking, "Success").await;
    }
);

dual_test_with!(
    a_delivered_to_terminal_report_from_orange_marks_the_sms_delivree,
    with_token,
    |app| async move {
        delivered_marks_delivree(&app, Gateway::Orange, "DeliveredToTerminal").await;
    }
);

/// A definitive failure marks that SMS and its notification `echouee`, with the reason.
async fn failure_marks_echouee(app: &TestApp, gateway: Gateway, status: &str, reason: &str) {
    let (rig, g) = sent_reminders(app, gateway).await;
    let sms = sms_to(&rig, &g.moussa.phone);
    let (code, body) = report(app, &rig, gateway, &sms, status).await;
    assert_eq!(
        (code, &body),
        (StatusCode::OK, &json!({"status": "echouee"}))
    );
    let row = row_of(app, &sms.message_id).await;
    assert_eq!(row.status, NotificationStatus::Echouee);
    assert!(row.delivered_at.is_none());
    let error = row.last_error.clone().unwrap();
    assert!(error.contains(reason), "{error}");
    let notified = notification(app, row.notification_id.unwrap()).await;
    assert_eq!(notified, ("echouee".to_owned(), false));
}

dual_test_with!(
    a_failed_report_from_africastalking_marks_the_sms_echouee_with_its_reason,
    with_token,
    |app| async move {
        failure_marks_echouee(&app, Gateway::AfricasTalking, "Failed", "AbsentSubscriber").await;
    }
);

dual_test_with!(
    a_delivery_impossible_report_from_orange_marks_the_sms_echouee,
    with_token,
    |app| async move {
        failure_marks_echouee(
            &app,
            Gateway::Orange,
            "DeliveryImpossible",
            "DeliveryImpossible",
        )
        .await;
    }
);

dual_test_with!(
    reports_never_move_a_message_backwards_and_repeats_change_nothing,
    with_token,
    |app| async move {
        let gateway = Gateway::AfricasTalking;
        let (rig, g) = sent_reminders(&app, gateway).await;
        let sms = sms_to(&rig, &g.awa.phone);
        // A step on the way changes nothing.
        let (code, body) = report(&app, &rig, gateway, &sms, "Buffered").await;
        assert_eq!((code, body), (StatusCode::OK, json!({"status": "envoyee"})));
        assert_eq!(
            row_of(&app, &sms.message_id).await.status,
            NotificationStatus::Envoyee
        );
        report(&app, &rig, gateway, &sms, "Success").await;
        let delivered = row_of(&app, &sms.message_id).await;
        app.clock.advance(TimeDelta::minutes(5));
        for status in ["Success", "Failed", "Rejected", "Sent"] {
            let (code, body) = report(&app, &rig, gateway, &sms, status).await;
            assert_eq!(
                (code, body),
                (StatusCode::OK, json!({"status": "delivree"})),
                "{status}"
            );
        }
        assert_eq!(row_of(&app, &sms.message_id).await, delivered, "unchanged");
        let notified = notification(&app, delivered.notification_id.unwrap()).await;
        assert_eq!(notified, ("delivree".to_owned(), true));
        // A failed message stays failed when a success comes late.
        let other = sms_to(&rig, &g.moussa.phone);
        report(&app, &rig, gateway, &other, "Rejected").await;
        let (_, body) = report(&app, &rig, gateway, &other, "Success").await;
        assert_eq!(body, json!({"status": "echouee"}));
    }
);

dual_test_with!(
    a_report_for_an_unknown_message_is_a_404_and_changes_nothing,
    with_token,
    |app| async move {
        let gateway = Gateway::Orange;
        let (rig, g) = sent_reminders(&app, gateway).await;
        let before = rows(&app, Channel::Sms).await;
        let mut unknown = sms_to(&rig, &g.awa.phone);
        unknown.message_id = "not-a-message-we-sent".into();
        let url = report_url(&app, gateway, TOKEN);
        let resp = rig
            .standin
            .report_delivery(&url, &unknown, "DeliveredToTerminal")
            .await
            .unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found"))
        );
        assert_eq!(body["detail"], "Message inconnu");
        assert_eq!(rows(&app, Channel::Sms).await, before);
    }
);

dual_test_with!(
    a_report_without_the_right_token_or_readable_body_is_refused,
    with_token,
    |app| async move {
        let gateway = Gateway::AfricasTalking;
        let (rig, g) = sent_reminders(&app, gateway).await;
        let before = rows(&app, Channel::Sms).await;
        let sms = sms_to(&rig, &g.awa.phone);
        for url in [
            report_url(&app, gateway, "delivery-report-token-for-testz"),
            report_url(&app, gateway, ""),
            app.url("/api/v1/notifications/delivery-reports/africastalking"),
        ] {
            let resp = rig
                .standin
                .report_delivery(&url, &sms, "Success")
                .await
                .unwrap();
            assert_error(resp, StatusCode::UNAUTHORIZED, "callback_rejected").await;
        }
        let path = with_query(
            "/api/v1/notifications/delivery-reports/twilio",
            &[("token", TOKEN)],
        );
        let unknown = rig
            .standin
            .report_delivery(&app.url(&path), &sms, "Success")
            .await
            .unwrap();
        assert_error(unknown, StatusCode::NOT_FOUND, "not_found").await;
        // Orange's JSON sent to the Africa's Talking route, and a form without an id.
        let resp = app
            .post(
                &with_query(
                    "/api/v1/notifications/delivery-reports/africastalking",
                    &[("token", TOKEN)],
                ),
                None,
                &json!({"id": sms.message_id}),
            )
            .await;
        let body = assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_error").await;
        assert!(body["detail"].as_str().unwrap().contains("id"), "{body}");
        let orange = with_query(
            "/api/v1/notifications/delivery-reports/orange",
            &[("token", TOKEN)],
        );
        let resp = app
            .post_raw(&orange, None, "application/json", "{not json")
            .await;
        assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_error").await;
        assert_eq!(rows(&app, Channel::Sms).await, before, "nothing changed");
    }
);

dual_test!(
    without_a_configured_token_delivery_reports_are_not_served,
    |app| async move {
        let gateway = Gateway::AfricasTalking;
        let (rig, g) = sent_reminders(&app, gateway).await;
        let sms = sms_to(&rig, &g.awa.phone);
        let url = report_url(&app, gateway, TOKEN);
        let resp = rig
            .standin
            .report_delivery(&url, &sms, "Success")
            .await
            .unwrap();
        assert_error(resp, StatusCode::NOT_FOUND, "not_found").await;
        assert_eq!(
            row_of(&app, &sms.message_id).await.status,
            NotificationStatus::Envoyee
        );
    }
);

dual_test_with!(
    a_code_sms_is_reported_delivered_like_any_other,
    with_token,
    |app| async move {
        let gateway = Gateway::Orange;
        let rig = rig(gateway, 8).await;
        let user = app.user("awa").await;
        forgot(&app, json!({"phone": user.phone})).await;
        assert_eq!(pass(&app, &rig).await.sent, 1);
        let sms = sms_to(&rig, &user.phone);
        let (code, body) = report(&app, &rig, gateway, &sms, "DeliveredToTerminal").await;
        assert_eq!(
            (code, body),
            (StatusCode::OK, json!({"status": "delivree"}))
        );
        let row = row_of(&app, &sms.message_id).await;
        assert_eq!(
            (row.status, row.notification_id),
            (NotificationStatus::Delivree, None)
        );
        assert!(row.delivered_at.is_some());
    }
);
