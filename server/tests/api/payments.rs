// Over 400 lines on purpose: the tests of one area, each standing alone; splitting them by size
// would separate the tests of one rule.
//! Sessions and manual payments: schedule, open, pay, validate (four eyes), close, audit,
//! and the bad input and races they must survive.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::*;
use crate::tontines::create_tontine;

/// A tontine with a president, a treasurer, a collector and two plain members, its first
/// session generated and opened.
pub struct Circle {
    pub tontine: Value,
    pub president: TestUser,
    pub treasurer: TestUser,
    pub collector: TestUser,
    pub members: Vec<TestUser>,
    /// member ids by user id
    pub member_ids: std::collections::HashMap<String, String>,
    pub session: Value,
}

impl Circle {
    pub fn id(&self) -> &str {
        self.tontine["id"].as_str().unwrap()
    }

    pub fn member_id(&self, user: &TestUser) -> &str {
        &self.member_ids[&user.id]
    }
}

pub async fn circle(app: &TestApp, extra: Value) -> Circle {
    circle_named(app, "", extra).await
}

/// Like `circle`, with user tags prefixed so several circles fit in one app.
pub async fn circle_named(app: &TestApp, prefix: &str, extra: Value) -> Circle {
    let president = app.user(&format!("{prefix}president")).await;
    let treasurer = app.user(&format!("{prefix}treasurer")).await;
    let collector = app.user(&format!("{prefix}collector")).await;
    let members = vec![
        app.user(&format!("{prefix}awa")).await,
        app.user(&format!("{prefix}moussa")).await,
    ];
    let mut settings = json!({"max_members": 10, "start_date": app.clock_today()});
    for (k, v) in extra.as_object().unwrap() {
        settings[k] = v.clone();
    }
    let tontine = create_tontine(app, &president, settings).await;
    let id = tontine["id"].as_str().unwrap().to_owned();
    let mut member_ids = std::collections::HashMap::new();
    for (user, role) in [
        (&treasurer, "tresorier"),
        (&collector, "collecteur"),
        (&members[0], "membre"),
        (&members[1], "membre"),
    ] {
        let m = app.add_existing(&president, &id, user, role).await;
        member_ids.insert(user.id.clone(), m["id"].as_str().unwrap().to_owned());
    }
    let all = assert_status(
        app.get(&format!("/api/v1/tontines/{id}/members"), president.token())
            .await,
        StatusCode::OK,
    )
    .await;
    let pid = all
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "president")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    member_ids.insert(president.id.clone(), pid);
    let sessions = assert_status(
        app.post(
            &format!("/api/v1/sessions/generate/{id}"),
            president.token(),
            &json!({"count": 5}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let sid = sessions[0]["id"].as_str().unwrap();
    let session = assert_status(
        app.post(
            &format!("/api/v1/sessions/{sid}/open"),
            treasurer.token(),
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    Circle {
        tontine,
        president,
        treasurer,
        collector,
        members,
        member_ids,
        session,
    }
}

pub async fn pay(
    app: &Http,
    c: &Circle,
    recorder: &TestUser,
    member: &TestUser,
) -> reqwest::Response {
    app.post(
        "/api/v1/payments",
        recorder.token(),
        &json!({"tontine_id": c.id(), "amount": 5000, "method": "especes", "member_id": c.member_id(member)}),
    )
    .await
}

dual_test!(
    generated_sessions_follow_the_calendar_and_clamp_month_ends,
    |app| async move {
        let p = app.user("president").await;
        let t = create_tontine(&app, &p, json!({"start_date": "2028-01-31"})).await;
        let id = t["id"].as_str().unwrap();
        let sessions = assert_status(
            app.post(
                &format!("/api/v1/sessions/generate/{id}"),
                p.token(),
                &json!({"count": 3}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let dates: Vec<&str> = sessions
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["scheduled_date"].as_str().unwrap())
            .collect();
        assert_eq!(dates, ["2028-01-31", "2028-02-29", "2028-03-31"]);
        assert_eq!(sessions[2]["session_number"], 3);
        // generating more continues after the last
        let more = assert_status(
            app.post(
                &format!("/api/v1/sessions/generate/{id}"),
                p.token(),
                &json!({"count": 1}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(more[0]["session_number"], 4);
        assert_eq!(more[0]["scheduled_date"], "2028-04-30");
        let page = assert_status(
            app.get(
                &format!("/api/v1/sessions/tontine/{id}?status=programmee"),
                p.token(),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(page["total"], 4);
        assert_error(
            app.post(
                &format!("/api/v1/sessions/generate/{id}"),
                p.token(),
                &json!({"count": 0}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
        )
        .await;
        assert_error(
            app.get(
                &format!("/api/v1/sessions/tontine/{id}?status=bogus"),
                p.token(),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
        )
        .await;
    }
);

dual_test!(
    opening_sets_the_expected_pot_and_notifies_members,
    |app| async move {
        let c = circle(&app, json!({})).await;
        assert_eq!(c.session["status"], "en_cours");
        assert_eq!(c.session["expected_amount"], "25000");
        let sid = c.session["id"].as_str().unwrap();
        // a second session opens beside this one (the first keeps collecting arrears)
        let list = assert_status(
            app.get(
                &format!("/api/v1/sessions/tontine/{}", c.id()),
                c.president.token(),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let second = list["items"][1]["id"].as_str().unwrap();
        let opened = assert_status(
            app.post(
                &format!("/api/v1/sessions/{second}/open"),
                c.president.token(),
                &json!({}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(opened["status"], "en_cours");
        assert_error(
            app.post(
                &format!("/api/v1/sessions/{sid}/open"),
                c.members[0].token(),
                &json!({}),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        let n = assert_status(
            app.get("/api/v1/notifications", c.members[0].token()).await,
            StatusCode::OK,
        )
        .await;
        assert!(
            n["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["type"] == "session_ouverte"),
            "{n}"
        );
    }
);

dual_test!(
    a_cash_payment_is_validated_by_another_manager_and_moves_the_totals,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let awa = &c.members[0];
        let p = assert_status(pay(&app, &c, &c.collector, awa).await, StatusCode::CREATED).await;
        assert_eq!(p["status"], "en_attente");
        assert_eq!(p["recorded_by_id"], c.collector.id.as_str());
        assert_eq!(p["user_id"], awa.id.as_str());
        assert_eq!(p["is_late"], false);
        assert_eq!(p["requires_validation"], true);
        let pid = p["id"].as_str().unwrap();
        // a collector cannot validate; a member cannot either
        assert_error(
            app.post(
                &format!("/api/v1/payments/{pid}/validate"),
                c.collector.token(),
                &json!({"action": "approve"}),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        assert_error(
            app.post(
                &format!("/api/v1/payments/{pid}/validate"),
                awa.token(),
                &json!({"action": "approve"}),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        let v = assert_status(
            app.post(
                &format!("/api/v1/payments/{pid}/validate"),
                c.treasurer.token(),
                &json!({"action": "approve"}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(v["status"], "valide");
        let receipt = v["receipt_code"].as_str().unwrap();
        assert_eq!(receipt.len(), 9, "{receipt}");
        let sid = c.session["id"].as_str().unwrap();
        let s = assert_status(
            app.get(&format!("/api/v1/sessions/{sid}"), awa.token())
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(s["collected_amount"], "5000");
        assert_eq!(s["collection_percentage"], "20");
        let members = assert_status(
            app.get(&format!("/api/v1/tontines/{}/members", c.id()), awa.token())
                .await,
            StatusCode::OK,
        )
        .await;
        let me = members
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["user_id"] == awa.id.as_str())
            .unwrap();
        assert_eq!(me["total_contributions"], "5000");
        // validated twice → 409, nothing moves
        assert_error(
            app.post(
                &format!("/api/v1/payments/{pid}/validate"),
                c.president.token(),
                &json!({"action": "approve"}),
            )
            .await,
            StatusCode::CONFLICT,
            "conflict",
        )
        .await;
        let s = assert_status(
            app.get(&format!("/api/v1/sessions/{sid}"), awa.token())
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(s["collected_amount"], "5000");
        // the audit shows the recording and the validation
        let audit = assert_status(
            app.get(
                &format!("/api/v1/tontines/{}/audit", c.id()),
                c.president.token(),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let actions: Vec<&str> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert!(
            actions.contains(&"payment.recorded") && actions.contains(&"payment.validated"),
            "{actions:?}"
        );
        assert_error(
            app.get(&format!("/api/v1/tontines/{}/audit", c.id()), awa.token())
                .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
);

dual_test!(
    the_recorder_never_validates_their_own_payment,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let p = assert_status(
            pay(&app, &c, &c.treasurer, &c.members[0]).await,
            StatusCode::CREATED,
        )
        .await;
        let pid = p["id"].as_str().unwrap();
        let err = assert_error(
            app.post(
                &format!("/api/v1/payments/{pid}/validate"),
                c.treasurer.token(),
                &json!({"action": "approve"}),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        assert!(
            err["detail"].as_str().unwrap().contains("quatre yeux"),
            "{err}"
        );
        assert_error(
            app.post(
                &format!("/api/v1/payments/{pid}/validate"),
                c.president.token(),
                &json!({"action": "reject"}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
        )
        .await;
        let r = assert_status(
            app.post(
                &format!("/api/v1/payments/{pid}/validate"),
                c.president.token(),
                &json!({"action": "reject", "rejection_reason": "Billets non reçus"}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(r["status"], "echoue");
        assert_eq!(r["rejection_reason"], "Billets non reçus");
        // a rejected payment frees the slot: the member may pay again
        assert_status(
            pay(&app, &c, &c.collector, &c.members[0]).await,
            StatusCode::CREATED,
        )
        .await;
    }
);

dual_test!(
    a_member_pays_once_per_session_even_when_requests_race,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let awa = &c.members[0];
        let attempts = (0..6).map(|_| pay(&app, &c, &c.collector, awa));
        let statuses: Vec<StatusCode> = futures::future::join_all(attempts)
            .await
            .iter()
            .map(|r| r.status())
            .collect();
        assert_eq!(
            statuses
                .iter()
                .filter(|s| **s == StatusCode::CREATED)
                .count(),
            1,
            "{statuses:?}"
        );
        assert!(
            statuses
                .iter()
                .all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT),
            "{statuses:?}"
        );
        let list = assert_status(
            app.get(&format!("/api/v1/payments/tontine/{}", c.id()), awa.token())
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(list["total"], 1);
    }
);

dual_test!(
    two_validations_racing_let_one_win_and_count_once,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let mut ids = Vec::new();
        for m in &c.members {
            let p = assert_status(pay(&app, &c, &c.collector, m).await, StatusCode::CREATED).await;
            ids.push(p["id"].as_str().unwrap().to_owned());
        }
        let body = json!({"action": "approve"});
        let paths: Vec<String> = ids
            .iter()
            .map(|id| format!("/api/v1/payments/{id}/validate"))
            .collect();
        let mut races = Vec::new();
        for path in &paths {
            for validator in [&c.president, &c.treasurer] {
                races.push(app.post(path, validator.token(), &body));
            }
        }
        let statuses: Vec<StatusCode> = futures::future::join_all(races)
            .await
            .iter()
            .map(|r| r.status())
            .collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == StatusCode::OK).count(),
            2,
            "{statuses:?}"
        );
        assert_eq!(
            statuses
                .iter()
                .filter(|s| **s == StatusCode::CONFLICT)
                .count(),
            2,
            "{statuses:?}"
        );
        let sid = c.session["id"].as_str().unwrap();
        let s = assert_status(
            app.get(&format!("/api/v1/sessions/{sid}"), c.president.token())
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(s["collected_amount"], "10000");
    }
);

dual_test!(
    bad_payment_input_gets_a_clear_4xx_and_stores_nothing,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let other = circle_named(&app, "other-", json!({"name": "Autre tontine"})).await;
        let awa = &c.members[0];
        let base = json!({"tontine_id": c.id(), "amount": 5000, "method": "especes", "member_id": c.member_id(awa)});
        let cases: Vec<(Value, StatusCode, &str)> = vec![
            (
                json!({"amount": -5000}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "amount",
            ),
            (
                json!({"amount": 0}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "amount",
            ),
            (
                json!({"amount": 5000.5}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "amount",
            ),
            (
                json!({"amount": "99999999999999999"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "amount",
            ),
            (
                json!({"amount": "cinq mille"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "amount",
            ),
            (
                json!({"method": "cheque"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "method",
            ),
            (
                json!({"method": "wave"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "transaction_id",
            ),
            (
                json!({"session_id": other.session["id"]}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "session_id",
            ),
            (
                json!({"member_id": other.member_id(&other.members[0])}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "member_id",
            ),
            (
                json!({"tontine_id": "not-a-uuid"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "tontine_id",
            ),
            (
                json!({"notes": "x".repeat(100_000)}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "notes",
            ),
        ];
        for (patch, status, field) in cases {
            let mut body = base.clone();
            for (k, v) in patch.as_object().unwrap() {
                body[k] = v.clone();
            }
            let err = assert_error(
                app.post("/api/v1/payments", c.collector.token(), &body)
                    .await,
                status,
                "validation_error",
            )
            .await;
            assert!(
                err["errors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["field"] == field),
                "{field}: {err}"
            );
        }
        let mut wrong = base.clone();
        wrong["amount"] = json!(4000);
        assert_error(
            app.post("/api/v1/payments", c.collector.token(), &wrong)
                .await,
            StatusCode::BAD_REQUEST,
            "business_rule",
        )
        .await;
        assert_error(
            app.post("/api/v1/payments", c.collector.token(), &json!({}))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
        )
        .await;
        // a plain member cannot record for someone else
        assert_error(
            app.post("/api/v1/payments", c.members[1].token(), &base)
                .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        let list = assert_status(
            app.get(&format!("/api/v1/payments/tontine/{}", c.id()), awa.token())
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(list["total"], 0);
    }
);

dual_test!(
    a_late_payment_bears_the_penalty_and_a_closed_session_refuses_payments,
    |app| async move {
        let c = circle(&app, json!({"penalty_amount": 500, "grace_period_days": 2})).await;
        app.clock.advance(chrono::TimeDelta::days(3));
        let awa = &app.relogin(&c.members[0]).await;
        let treasurer = app.relogin(&c.treasurer).await;
        let president = app.relogin(&c.president).await;
        let collector = app.relogin(&c.collector).await;
        let own = json!({"tontine_id": c.id(), "amount": "5000", "method": "especes"});
        let p = assert_status(
            app.post("/api/v1/payments", awa.token(), &own).await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(p["is_late"], true);
        assert_eq!(p["penalty_amount"], "500");
        assert_eq!(p["total_amount"], "5500");
        let inbox = assert_status(
            app.get("/api/v1/notifications", awa.token()).await,
            StatusCode::OK,
        )
        .await;
        assert!(
            inbox["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["type"] == "penalite"),
            "{inbox}"
        );
        let sid = c.session["id"].as_str().unwrap();
        // closing with missing payments needs force
        assert_error(
            app.post(
                &format!("/api/v1/sessions/{sid}/close"),
                treasurer.token(),
                &json!({}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "business_rule",
        )
        .await;
        let stats = assert_status(
            app.get(&format!("/api/v1/sessions/{sid}/stats"), president.token())
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(stats["missing_payments"], 5);
        assert_eq!(stats["pending_members"].as_array().unwrap().len(), 5);
        let closed = assert_status(
            app.post(
                &format!("/api/v1/sessions/{sid}/close"),
                treasurer.token(),
                &json!({"force": true, "notes": "fin"}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(closed["status"], "terminee");
        assert_error(
            pay(&app, &c, &collector, &c.members[1]).await,
            StatusCode::BAD_REQUEST,
            "business_rule",
        )
        .await;
    }
);

dual_test!(
    payments_are_visible_in_full_to_the_payer_and_managers_only,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let p = assert_status(
            pay(&app, &c, &c.collector, &c.members[0]).await,
            StatusCode::CREATED,
        )
        .await;
        let pid = p["id"].as_str().unwrap();
        let stranger = app.user("stranger").await;
        assert_status(
            app.get(&format!("/api/v1/payments/{pid}"), c.members[0].token())
                .await,
            StatusCode::OK,
        )
        .await;
        assert_status(
            app.get(&format!("/api/v1/payments/{pid}"), c.treasurer.token())
                .await,
            StatusCode::OK,
        )
        .await;
        // Another member sees who paid how much, not the details (see `listings.rs`).
        let seen = assert_status(
            app.get(&format!("/api/v1/payments/{pid}"), c.members[1].token())
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(seen["amount"], "5000");
        assert!(seen["user_phone"].is_null(), "{seen}");
        assert_error(
            app.get(&format!("/api/v1/payments/{pid}"), stranger.token())
                .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        assert_error(
            app.get(
                &format!("/api/v1/tontines/{}/payments", c.id()),
                stranger.token(),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        let mine = assert_status(
            app.get("/api/v1/payments", c.members[0].token()).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(mine["total"], 1);
        let theirs = assert_status(
            app.get("/api/v1/payments", c.members[1].token()).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(theirs["total"], 0);
        let managed = assert_status(
            app.get(
                &format!("/api/v1/payments?tontine_id={}&status=en_attente", c.id()),
                c.treasurer.token(),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(managed["total"], 1);
    }
);

dual_test!(
    an_admin_who_is_a_member_pays_like_a_member,
    |app| async move {
        let admin = app.admin("admin").await;
        let tontine = create_tontine(&app, &admin, json!({"start_date": app.clock_today()})).await;
        let id = tontine["id"].as_str().unwrap();
        let sessions = assert_status(
            app.post(
                &format!("/api/v1/sessions/generate/{id}"),
                admin.token(),
                &json!({"count": 1}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let sid = sessions[0]["id"].as_str().unwrap();
        assert_status(
            app.post(
                &format!("/api/v1/sessions/{sid}/open"),
                admin.token(),
                &json!({}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let own = json!({"tontine_id": id, "amount": 5000, "method": "especes"});
        let paid = assert_status(
            app.post("/api/v1/payments", admin.token(), &own).await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(paid["user_id"], admin.id.as_str());
        // and still never validates what they recorded
        let pid = paid["id"].as_str().unwrap();
        assert_error(
            app.post(
                &format!("/api/v1/payments/{pid}/validate"),
                admin.token(),
                &json!({"action": "approve"}),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
);

dual_test!(
    the_answer_to_a_recorded_payment_is_what_reading_it_back_gives,
    |app| async move {
        // The answer is built from what was written, without reading the row back: it must
        // be the row as a read gives it, to the same caller.
        let c = circle(&app, json!({"grace_period_days": 0, "penalty_amount": 500})).await;
        // On time, recorded by a collector for a member, with optional texts.
        let on_time = assert_status(
            app.post(
                "/api/v1/payments",
                c.collector.token(),
                &json!({"tontine_id": c.id(), "amount": "5000", "method": "especes",
                        "member_id": c.member_id(&c.members[0]), "notes": "Remis au marché",
                        "phone_number": "+221770000001", "proof_description": "reçu papier"}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(on_time["status"], "en_attente");
        assert_eq!(on_time["is_late"], false);
        assert_eq!(on_time["notes"], "Remis au marché");
        assert!(on_time["user_phone"].is_string(), "{on_time}");
        // Late (past the due date and a grace of zero days), declared by the member: it bears
        // the penalty.
        app.clock.advance(chrono::TimeDelta::days(40));
        let (collector, payer) = (
            app.relogin(&c.collector).await,
            app.relogin(&c.members[1]).await,
        );
        let late = assert_status(
            app.post(
                "/api/v1/payments",
                payer.token(),
                &json!({"tontine_id": c.id(), "amount": 5000, "method": "especes"}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(late["is_late"], true);
        assert_eq!(late["penalty_amount"], "500");
        for (answer, recorder) in [(&on_time, &collector), (&late, &payer)] {
            let id = answer["id"].as_str().unwrap();
            let read = assert_status(
                app.get(&format!("/api/v1/payments/{id}"), recorder.token())
                    .await,
                StatusCode::OK,
            )
            .await;
            assert_eq!(&read, answer);
        }
    }
);
