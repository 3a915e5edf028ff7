// Over 400 lines on purpose: the tests of one area, each standing alone; splitting them by size
// would separate the tests of one rule.
//! Notifications: the inbox (list, unread count, mark read), channel choices and their effect
//! on the outbox, and reminders sent by managers.

use std::collections::HashMap;

use chrono::{Days, NaiveDate};
use kobiri_core::UserId;
use kobiri_server::{
    clock::Clock,
    store::{Notification, PageRequest},
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::*;
use crate::tontines::create_tontine;

/// A tontine (grace period 3 days, penalty 500) with a president, a treasurer and two members,
/// and one open session due `due_in` days after the clock's today.
pub struct Group {
    pub tontine_id: String,
    pub president: TestUser,
    pub treasurer: TestUser,
    pub awa: TestUser,
    pub moussa: TestUser,
    /// member id by user id
    pub member_ids: HashMap<String, String>,
    pub session_id: String,
    pub due: NaiveDate,
}

impl Group {
    pub fn everyone(&self) -> [&TestUser; 4] {
        [&self.president, &self.treasurer, &self.awa, &self.moussa]
    }
}

pub async fn group(app: &TestApp, prefix: &str, due_in: u64) -> Group {
    let president = app.user(&format!("{prefix}pres")).await;
    let treasurer = app.user(&format!("{prefix}treso")).await;
    let awa = app.user(&format!("{prefix}awa")).await;
    let moussa = app.user(&format!("{prefix}moussa")).await;
    let today = app.clock.now().date_naive();
    let tontine = create_tontine(
        app,
        &president,
        json!({"max_members": 10, "start_date": today, "grace_period_days": 3}),
    )
    .await;
    let id = tontine["id"].as_str().unwrap().to_owned();
    for (u, role) in [
        (&treasurer, "tresorier"),
        (&awa, "membre"),
        (&moussa, "membre"),
    ] {
        app.add_existing(&president, &id, u, role).await;
    }
    let members = assert_status(
        app.get(&format!("/api/v1/tontines/{id}/members"), president.token())
            .await,
        StatusCode::OK,
    )
    .await;
    let member_ids = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["user_id"].as_str().unwrap().to_owned(),
                m["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let due = today.checked_add_days(Days::new(due_in)).unwrap();
    let body = json!({"tontine_id": id, "scheduled_date": due, "due_date": due});
    let session = assert_status(
        app.post("/api/v1/sessions", president.token(), &body).await,
        StatusCode::CREATED,
    )
    .await;
    let session_id = session["id"].as_str().unwrap().to_owned();
    let open = format!("/api/v1/sessions/{session_id}/open");
    assert_status(
        app.post(&open, president.token(), &json!({})).await,
        StatusCode::OK,
    )
    .await;
    Group {
        tontine_id: id,
        president,
        treasurer,
        awa,
        moussa,
        member_ids,
        session_id,
        due,
    }
}

/// `member` declares their own cash payment for the group's session (status `en_attente`).
pub async fn pay_own(app: &TestApp, g: &Group, member: &TestUser) {
    let body = json!({"tontine_id": g.tontine_id, "session_id": g.session_id, "amount": 5000,
        "method": "especes"});
    assert_status(
        app.post("/api/v1/payments", member.token(), &body).await,
        StatusCode::CREATED,
    )
    .await;
}

/// `user`'s in-app notifications of type `kind`, read from the store (no token needed, so the
/// clock may move past the tokens' life).
pub async fn inbox(app: &TestApp, user: &TestUser, kind: &str) -> Vec<Notification> {
    let page = app
        .store
        .list_notifications(
            UserId::parse(&user.id).unwrap(),
            false,
            PageRequest::new(1, 100).unwrap(),
        )
        .await
        .unwrap();
    page.items
        .into_iter()
        .filter(|n| n.kind.as_str() == kind)
        .collect()
}

async fn remind(app: &TestApp, g: &Group, by: &TestUser, extra: Value) -> reqwest::Response {
    let mut body = json!({"session_id": g.session_id});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.post("/api/v1/notifications/send-reminder", by.token(), &body)
        .await
}

fn ids_of_type(page: &Value, kind: &str) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == kind)
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect()
}

dual_test!(
    the_inbox_lists_counts_and_marks_read_only_the_callers_own,
    |app| async move {
        let g = group(&app, "", 10).await;
        let sent = assert_status(
            remind(&app, &g, &g.treasurer, json!({})).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(sent["sent_count"], 4);
        let page = assert_status(
            app.get("/api/v1/notifications", g.awa.token()).await,
            StatusCode::OK,
        )
        .await;
        let total = page["total"].as_u64().unwrap();
        assert!(total >= 1, "{page}");
        assert_eq!(page["unread_count"], total);
        assert_eq!(page["page"], 1);
        let items = page["items"].as_array().unwrap();
        assert!(
            items
                .iter()
                .all(|n| n["channel"] == "in_app" && n["is_read"] == false),
            "{page}"
        );
        let reminder = items
            .iter()
            .find(|n| n["type"] == "rappel_cotisation")
            .unwrap();
        assert_eq!(reminder["status"], "delivree");
        assert_eq!(reminder["session_id"], g.session_id.as_str());
        assert!(
            reminder["message"].as_str().unwrap().contains("5000 XOF"),
            "{reminder}"
        );
        let awa_reminder = reminder["id"].as_str().unwrap().to_owned();
        let moussa_page = assert_status(
            app.get("/api/v1/notifications", g.moussa.token()).await,
            StatusCode::OK,
        )
        .await;
        let moussa_reminder = ids_of_type(&moussa_page, "rappel_cotisation").remove(0);
        // Awa marks her reminder and Moussa's: only hers changes.
        let body = json!({"notification_ids": [awa_reminder, moussa_reminder]});
        let marked = assert_status(
            app.post("/api/v1/notifications/mark-read", g.awa.token(), &body)
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(marked["marked_count"], 1);
        let again = app
            .post("/api/v1/notifications/mark-read", g.awa.token(), &body)
            .await;
        assert_eq!(
            assert_status(again, StatusCode::OK).await["marked_count"],
            0
        );
        let count = assert_status(
            app.get("/api/v1/notifications/unread-count", g.moussa.token())
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(count["unread_count"], moussa_page["unread_count"]);
        let unread = assert_status(
            app.get("/api/v1/notifications?unread_only=true", g.awa.token())
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(unread["total"].as_u64().unwrap(), total - 1);
        assert!(
            ids_of_type(&unread, "rappel_cotisation").is_empty(),
            "{unread}"
        );
        let read = assert_status(
            app.get("/api/v1/notifications", g.awa.token()).await,
            StatusCode::OK,
        )
        .await;
        let read = read["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["id"] == awa_reminder.as_str());
        let read = read.unwrap();
        assert_eq!(
            (read["status"].as_str(), read["is_read"].as_bool()),
            (Some("lue"), Some(true))
        );
        assert!(read["read_at"].is_string());
        // {all: true} marks the rest; then nothing is unread.
        let all = app
            .post(
                "/api/v1/notifications/mark-read",
                g.awa.token(),
                &json!({"all": true}),
            )
            .await;
        assert_eq!(
            assert_status(all, StatusCode::OK).await["marked_count"],
            total - 1
        );
        let count = app
            .get("/api/v1/notifications/unread-count", g.awa.token())
            .await;
        assert_eq!(
            assert_status(count, StatusCode::OK).await["unread_count"],
            0
        );
        let empty = app
            .post("/api/v1/notifications/mark-read", g.awa.token(), &json!({}))
            .await;
        assert_invalid(empty, "notification_ids").await;
        let bad = app
            .get("/api/v1/notifications?unread_only=maybe", g.awa.token())
            .await;
        assert_invalid(bad, "unread_only").await;
    }
);

dual_test!(
    preferences_round_trip_and_sms_turned_off_queues_no_sms,
    |app| async move {
        let g = group(&app, "", 10).await;
        let path = "/api/v1/notifications/preferences";
        let defaults = assert_status(app.get(path, g.awa.token()).await, StatusCode::OK).await;
        let find = |body: &Value, kind: &str, channel: &str| {
            body["preferences"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["type"] == kind && p["channel"] == channel)
                .map(|p| p["enabled"].as_bool().unwrap())
        };
        assert_eq!(defaults["preferences"].as_array().unwrap().len(), 12 * 4);
        assert_eq!(find(&defaults, "rappel_cotisation", "sms"), Some(true));
        assert_eq!(find(&defaults, "nouveau_membre", "sms"), Some(false));
        assert_eq!(find(&defaults, "information", "email"), Some(false));
        assert_eq!(find(&defaults, "information", "in_app"), Some(true));
        let body = json!({"preferences": [
            {"type": "rappel_cotisation", "channel": "sms", "enabled": false},
            {"type": "information", "channel": "email", "enabled": true}
        ]});
        let saved = assert_status(app.put(path, g.awa.token(), &body).await, StatusCode::OK).await;
        assert_eq!(find(&saved, "rappel_cotisation", "sms"), Some(false));
        let read = assert_status(app.get(path, g.awa.token()).await, StatusCode::OK).await;
        assert_eq!(find(&read, "rappel_cotisation", "sms"), Some(false));
        assert_eq!(find(&read, "information", "email"), Some(true));
        assert_eq!(find(&read, "alerte_retard", "sms"), Some(true));
        // Other users keep the defaults.
        let moussa = assert_status(app.get(path, g.moussa.token()).await, StatusCode::OK).await;
        assert_eq!(find(&moussa, "rappel_cotisation", "sms"), Some(true));
        let off = json!({"preferences": [{"type": "information", "channel": "in_app", "enabled": false}]});
        assert_invalid(
            app.put(path, g.awa.token(), &off).await,
            "preferences[0].enabled",
        )
        .await;
        let bogus = json!({"preferences": [{"type": "bogus", "channel": "sms", "enabled": true}]});
        assert_invalid(
            app.put(path, g.awa.token(), &bogus).await,
            "preferences[0].type",
        )
        .await;
        // A reminder by SMS: Moussa gets a queued SMS, Awa only the in-app one.
        let sent = assert_status(
            remind(&app, &g, &g.president, json!({})).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(sent["sent_count"], 4);
        let outbox = app.outbox_rows().await;
        let to = |u: &TestUser| {
            outbox
                .iter()
                .filter(|(c, r)| c == "sms" && *r == u.phone)
                .count()
        };
        assert_eq!((to(&g.moussa), to(&g.awa)), (1, 0), "{outbox:?}");
        assert_eq!(inbox(&app, &g.awa, "rappel_cotisation").await.len(), 1);
    }
);

dual_test!(
    send_reminder_reaches_only_members_who_have_not_paid,
    |app| async move {
        let g = group(&app, "", 10).await;
        pay_own(&app, &g, &g.awa).await;
        let sent = assert_status(
            remind(
                &app,
                &g,
                &g.president,
                json!({"custom_message": "Merci de payer avant samedi."}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(sent["sent_count"], 3);
        assert!(inbox(&app, &g.awa, "rappel_cotisation").await.is_empty());
        let moussa = inbox(&app, &g.moussa, "rappel_cotisation").await;
        assert!(
            moussa[0].message.ends_with("Merci de payer avant samedi."),
            "{}",
            moussa[0].message
        );
        // Restricted to some users: those who paid are skipped.
        let only = json!({"user_ids": [g.awa.id, g.moussa.id], "channels": ["email", "sms"]});
        let sent = assert_status(remind(&app, &g, &g.treasurer, only).await, StatusCode::OK).await;
        assert_eq!(sent["sent_count"], 1);
        assert_eq!(inbox(&app, &g.moussa, "rappel_cotisation").await.len(), 2);
        assert!(inbox(&app, &g.awa, "rappel_cotisation").await.is_empty());
        let emails = app
            .outbox_rows()
            .await
            .into_iter()
            .filter(|(c, _)| c == "email")
            .count();
        assert_eq!(emails, 1, "Moussa's e-mail, asked for by the treasurer");
        // A user outside the tontine is refused, naming the entry.
        let outsider = app.user("outsider").await;
        let bad = json!({"user_ids": [g.moussa.id, outsider.id]});
        assert_invalid(remind(&app, &g, &g.president, bad).await, "user_ids[1]").await;
        let long = json!({"custom_message": "x".repeat(501)});
        assert_invalid(remind(&app, &g, &g.president, long).await, "custom_message").await;
        let channel = json!({"channel": "pigeon"});
        assert_invalid(remind(&app, &g, &g.president, channel).await, "channel").await;
    }
);

dual_test!(
    send_reminder_is_refused_to_members_and_hidden_from_outsiders,
    |app| async move {
        let g = group(&app, "", 10).await;
        let resp = remind(&app, &g, &g.awa, json!({})).await;
        assert_error(resp, StatusCode::FORBIDDEN, "forbidden").await;
        let outsider = app.user("outsider").await;
        let resp = remind(&app, &g, &outsider, json!({})).await;
        assert_error(resp, StatusCode::NOT_FOUND, "not_found").await;
        let unknown = json!({"session_id": uuid::Uuid::now_v7()});
        let resp = app
            .post(
                "/api/v1/notifications/send-reminder",
                g.president.token(),
                &unknown,
            )
            .await;
        assert_error(resp, StatusCode::NOT_FOUND, "not_found").await;
        assert!(inbox(&app, &g.moussa, "rappel_cotisation").await.is_empty());
        // A session that is not open takes no reminder.
        let due = g.due.checked_add_days(Days::new(30)).unwrap();
        let body = json!({"tontine_id": g.tontine_id, "scheduled_date": due, "due_date": due});
        let planned = assert_status(
            app.post("/api/v1/sessions", g.president.token(), &body)
                .await,
            StatusCode::CREATED,
        )
        .await;
        let body = json!({"session_id": planned["id"]});
        let resp = app
            .post(
                "/api/v1/notifications/send-reminder",
                g.president.token(),
                &body,
            )
            .await;
        assert_error(resp, StatusCode::BAD_REQUEST, "business_rule").await;
        let anonymous = app
            .post("/api/v1/notifications/send-reminder", None, &body)
            .await;
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    }
);

dual_test!(
    the_openapi_document_describes_the_notification_routes,
    |app| async move {
        let doc = assert_status(app.get("/openapi.json", None).await, StatusCode::OK).await;
        for path in [
            "/api/v1/notifications",
            "/api/v1/notifications/unread-count",
            "/api/v1/notifications/mark-read",
            "/api/v1/notifications/preferences",
            "/api/v1/notifications/send-reminder",
            "/api/v1/notifications/delivery-reports/{gateway}",
        ] {
            assert!(doc["paths"][path].is_object(), "{path} missing");
        }
        assert!(doc["paths"]["/api/v1/notifications/preferences"]["put"].is_object());
        for schema in [
            "NotificationPage",
            "PreferencesBody",
            "SendReminderRequest",
            "MarkReadRequest",
            "DeliveryReportResponse",
        ] {
            assert!(
                doc["components"]["schemas"][schema].is_object(),
                "{schema} missing"
            );
        }
    }
);
