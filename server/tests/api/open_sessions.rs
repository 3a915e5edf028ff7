// Over 400 lines on purpose: the tests of one area, each standing alone; splitting them by size
// would separate the tests of one rule.
//! Several open sessions: arrears go to the session they belong to, a payment without a
//! session goes to the oldest open one the member has not paid, planned sessions take
//! advances (online and through sync), and reminders and late penalties follow each session.

use chrono::{Days, NaiveDate};
use kobiri_core::{
    TontineId,
    sync::{MutationKind, Outcome},
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::*;
use crate::notifications::{group, inbox};
use crate::payments::{Circle, circle};
use crate::sync::{Phone, outcomes};

/// The circle's sessions, by number (the first is open).
async fn sessions(app: &Http, c: &Circle) -> Vec<Value> {
    let page = assert_status(
        app.get(
            &format!("/api/v1/sessions/tontine/{}", c.id()),
            c.president.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    page["items"].as_array().unwrap().clone()
}

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

async fn open(app: &Http, c: &Circle, session: &Value) -> Value {
    assert_status(
        app.post(
            &format!("/api/v1/sessions/{}/open", id(session)),
            c.treasurer.token(),
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await
}

/// `member` declares their own 5,000 XOF, for `session` or (None) wherever the rule puts it.
async fn pay_own(app: &Http, c: &Circle, member: &TestUser, session: Option<&Value>) -> Value {
    let mut body = json!({"tontine_id": c.id(), "amount": 5000, "method": "especes"});
    if let Some(s) = session {
        body["session_id"] = json!(id(s));
    }
    assert_status(
        app.post("/api/v1/payments", member.token(), &body).await,
        StatusCode::CREATED,
    )
    .await
}

async fn approve(app: &Http, c: &Circle, payment: &Value) {
    assert_status(
        app.post(
            &format!("/api/v1/payments/{}/validate", id(payment)),
            c.treasurer.token(),
            &json!({"action": "approve"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
}

async fn session_now(app: &Http, c: &Circle, session: &Value) -> Value {
    assert_status(
        app.get(
            &format!("/api/v1/sessions/{}", id(session)),
            c.president.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await
}

dual_test!(
    two_sessions_stay_open_together_and_arrears_credit_their_own_session,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let all = sessions(&app, &c).await;
        let (first, second) = (&all[0], &all[1]);
        let opened = open(&app, &c, second).await;
        assert_eq!(opened["status"], "en_cours");
        let page = assert_status(
            app.get(
                &format!("/api/v1/sessions/tontine/{}?status=en_cours", c.id()),
                c.president.token(),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(page["total"], 2);
        // Moussa pays session 1's contribution late, naming it: arrears for session 1.
        let arrears = pay_own(&app, &c, &c.members[1], Some(first)).await;
        assert_eq!(arrears["session_id"], id(first));
        approve(&app, &c, &arrears).await;
        let awa = pay_own(&app, &c, &c.members[0], Some(second)).await;
        approve(&app, &c, &awa).await;
        assert_eq!(
            session_now(&app, &c, first).await["collected_amount"],
            "5000"
        );
        assert_eq!(
            session_now(&app, &c, second).await["collected_amount"],
            "5000"
        );
        let stats = assert_status(
            app.get(
                &format!("/api/v1/sessions/{}/stats", id(first)),
                c.treasurer.token(),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(stats["total_received_payments"], 1);
        assert_eq!(stats["missing_payments"], 4);
        let pending: Vec<&str> = stats["pending_members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["user_id"].as_str().unwrap())
            .collect();
        assert!(!pending.contains(&c.members[1].id.as_str()));
        assert!(pending.contains(&c.members[0].id.as_str()));
    }
);

dual_test!(
    a_payment_without_a_session_goes_to_the_oldest_open_session_the_member_has_not_paid,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let all = sessions(&app, &c).await;
        open(&app, &c, &all[1]).await;
        let awa = &c.members[0];
        let p1 = pay_own(&app, &c, awa, None).await;
        assert_eq!(
            p1["session_id"],
            id(&all[0]),
            "the oldest open session first"
        );
        // A payment waiting for validation already covers session 1: the next goes to 2.
        let p2 = pay_own(&app, &c, awa, None).await;
        assert_eq!(p2["session_id"], id(&all[1]));
        // Both open sessions covered: a third payment without a session is a duplicate.
        let refused = assert_error(
            app.post(
                "/api/v1/payments",
                awa.token(),
                &json!({"tontine_id": c.id(), "amount": 5000, "method": "especes"}),
            )
            .await,
            StatusCode::CONFLICT,
            "conflict",
        )
        .await;
        assert!(
            refused["detail"].as_str().unwrap().contains("session_id"),
            "{refused}"
        );
        // Once session 1's payment is rejected, session 1 is unpaid again and comes first.
        assert_status(
            app.post(
                &format!("/api/v1/payments/{}/validate", id(&p1)),
                c.treasurer.token(),
                &json!({"action": "reject", "rejection_reason": "billet faux"}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let again = pay_own(&app, &c, awa, None).await;
        assert_eq!(again["session_id"], id(&all[0]));
    }
);

dual_test!(
    a_planned_session_takes_an_advance_and_a_closed_one_takes_nothing,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let all = sessions(&app, &c).await;
        assert_eq!(all[2]["status"], "programmee");
        let advance = pay_own(&app, &c, &c.members[0], Some(&all[2])).await;
        assert_eq!(advance["session_id"], id(&all[2]));
        assert_eq!(advance["is_late"], false);
        approve(&app, &c, &advance).await;
        assert_eq!(
            session_now(&app, &c, &all[2]).await["collected_amount"],
            "5000"
        );
        // Closing still needs every member paid, or force.
        let close = format!("/api/v1/sessions/{}/close", id(&all[0]));
        assert_error(
            app.post(&close, c.treasurer.token(), &json!({})).await,
            StatusCode::BAD_REQUEST,
            "business_rule",
        )
        .await;
        assert_status(
            app.post(&close, c.treasurer.token(), &json!({"force": true}))
                .await,
            StatusCode::OK,
        )
        .await;
        let body = json!({"tontine_id": c.id(), "session_id": id(&all[0]), "amount": 5000,
            "method": "especes"});
        let refused = assert_error(
            app.post("/api/v1/payments", c.members[1].token(), &body)
                .await,
            StatusCode::BAD_REQUEST,
            "business_rule",
        )
        .await;
        assert!(refused["detail"].as_str().unwrap().contains("clôturée"));
    }
);

dual_test!(
    closing_a_session_waits_for_every_member_even_with_another_session_open,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let all = sessions(&app, &c).await;
        open(&app, &c, &all[1]).await;
        let everyone = [
            &c.president,
            &c.treasurer,
            &c.collector,
            &c.members[0],
            &c.members[1],
        ];
        for who in everyone {
            let p = pay_own(&app, &c, who, Some(&all[0])).await;
            let validator = if who.id == c.treasurer.id {
                &c.president
            } else {
                &c.treasurer
            };
            assert_status(
                app.post(
                    &format!("/api/v1/payments/{}/validate", id(&p)),
                    validator.token(),
                    &json!({"action": "approve"}),
                )
                .await,
                StatusCode::OK,
            )
            .await;
        }
        let closed = assert_status(
            app.post(
                &format!("/api/v1/sessions/{}/close", id(&all[0])),
                c.treasurer.token(),
                &json!({}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(closed["status"], "terminee");
        assert_eq!(closed["collected_amount"], "25000");
        // Session 2 is still open, and unpaid by everyone.
        assert_error(
            app.post(
                &format!("/api/v1/sessions/{}/close", id(&all[1])),
                c.treasurer.token(),
                &json!({}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "business_rule",
        )
        .await;
    }
);

dual_test!(
    a_phone_payment_for_a_planned_session_is_an_advance_applied_not_a_closed_session,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let all = sessions(&app, &c).await;
        let mut phone = Phone::enroll(&app, &c.collector).await;
        let advance = phone.pay(&c, &c.members[0], id(&all[1]));
        let answer = phone.sync(&app, vec![advance.clone()]).await;
        assert_eq!(outcomes(&answer), ["applied"], "{answer:?}");
        let flags = assert_status(
            app.get(
                &format!("/api/v1/tontines/{}/flags?status=tous", c.id()),
                c.treasurer.token(),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(flags, json!([]));
        let MutationKind::RecordCashPayment { payment_id, .. } = &advance.kind else {
            unreachable!()
        };
        let stored = assert_status(
            app.get(
                &format!("/api/v1/payments/{payment_id}"),
                c.treasurer.token(),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(stored["session_id"], id(&all[1]));
        assert_eq!(stored["status"], "en_attente");
    }
);

dual_test!(
    cash_for_a_closed_session_is_flagged_session_closed,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let all = sessions(&app, &c).await;
        assert_status(
            app.post(
                &format!("/api/v1/sessions/{}/close", id(&all[0])),
                c.president.token(),
                &json!({"force": true}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let mut phone = Phone::enroll(&app, &c.collector).await;
        let late = phone.pay(&c, &c.members[0], id(&all[0]));
        let answer = phone.sync(&app, vec![late]).await;
        let Outcome::Flagged { reason } = &answer.outcomes[0].outcome else {
            panic!("{answer:?}")
        };
        assert!(reason.contains("clôturée"), "{reason}");
        let flags = assert_status(
            app.get(
                &format!("/api/v1/tontines/{}/flags", c.id()),
                c.treasurer.token(),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(flags[0]["code"], "session_closed");
    }
);

dual_test!(
    reminders_and_late_penalties_follow_each_open_session,
    |app| async move {
        let g = group(&app, "", 10).await;
        // A second session, due five days after the first, open at the same time.
        let due2: NaiveDate = g.due.checked_add_days(Days::new(5)).unwrap();
        let body = json!({"tontine_id": g.tontine_id, "scheduled_date": due2, "due_date": due2});
        let second = assert_status(
            app.post("/api/v1/sessions", g.president.token(), &body)
                .await,
            StatusCode::CREATED,
        )
        .await;
        assert_status(
            app.post(
                &format!("/api/v1/sessions/{}/open", id(&second)),
                g.president.token(),
                &json!({}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        // Awa pays the second session only; Moussa pays nothing.
        let pay = json!({"tontine_id": g.tontine_id, "session_id": id(&second), "amount": 5000,
            "method": "especes"});
        assert_status(
            app.post("/api/v1/payments", g.awa.token(), &pay).await,
            StatusCode::CREATED,
        )
        .await;
        let run = |day: NaiveDate| {
            app.clock.set(day.and_hms_opt(9, 0, 0).unwrap().and_utc());
            kobiri_server::jobs::run_pass(app.store.as_ref(), app.clock.as_ref())
        };
        run(app.clock_today().parse().unwrap()).await.unwrap();
        run(g.due).await.unwrap();
        // On the first session's due day, Awa (behind on session 1) and Moussa hear of it.
        assert_eq!(inbox(&app, &g.awa, "rappel_cotisation").await.len(), 1);
        assert_eq!(inbox(&app, &g.moussa, "rappel_cotisation").await.len(), 1);
        // After both grace periods: Awa missed session 1 only, Moussa both.
        run(due2.checked_add_days(Days::new(4)).unwrap())
            .await
            .unwrap();
        let tontine = TontineId::parse(&g.tontine_id).unwrap();
        let members = app.store.list_members(tontine).await.unwrap();
        let missed = |user: &TestUser| {
            members
                .iter()
                .find(|m| m.user_id.to_string() == user.id)
                .unwrap()
                .missed_payments
        };
        assert_eq!((missed(&g.awa), missed(&g.moussa)), (1, 2));
        assert_eq!(inbox(&app, &g.moussa, "alerte_retard").await.len(), 2);
    }
);
