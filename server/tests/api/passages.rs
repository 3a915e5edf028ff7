// Over 400 lines on purpose: the tests of one area, each standing alone; splitting them by size
// would separate the tests of one rule.
//! Passages: generating and setting the payout order, and each payout from start to the
//! beneficiary's confirmation.

use chrono::{TimeZone, Utc};
use kobiri_core::TontineId;
use kobiri_server::store::PageRequest;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::*;
use crate::tontines::create_tontine;

/// A tontine with its president (Awa Diop) and three members who joined in this order:
/// Moussa Sarr, Binta Fall, émile Ndiaye.
struct Circle {
    president: TestUser,
    members: Vec<TestUser>,
    /// Member ids: the president's first, then the members' in joining order.
    member_ids: Vec<String>,
    id: String,
}

impl Circle {
    fn path(&self, route: &str) -> String {
        format!("/api/v1/passages/{route}/{}", self.id)
    }
}

fn phone_for(tag: &str) -> String {
    let n = tag.bytes().fold(11u32, |acc, b| {
        acc.wrapping_mul(37).wrapping_add(u32::from(b))
    }) % 10_000_000;
    format!("+22178{n:07}")
}

/// Registers `first last`, logs in and joins the tontine with `code`; returns the user and
/// the membership id.
async fn join_as(app: &TestApp, code: &Value, first: &str, last: &str) -> (TestUser, String) {
    let tag = last.to_lowercase();
    let email = format!("{tag}@example.sn");
    let phone = phone_for(&tag);
    let body = with(
        with(registration(&email, &phone), "first_name", json!(first)),
        "last_name",
        json!(last),
    );
    let user: Value = assert_status(
        app.post("/api/v1/auth/register", None, &body).await,
        StatusCode::CREATED,
    )
    .await;
    let tokens = assert_status(app.login(&email, PASSWORD).await, StatusCode::OK).await;
    let user = TestUser {
        id: user["id"].as_str().unwrap().to_owned(),
        email,
        phone,
        access: tokens["access_token"].as_str().unwrap().to_owned(),
        refresh: tokens["refresh_token"].as_str().unwrap().to_owned(),
    };
    let member = assert_status(
        app.post(
            "/api/v1/tontines/join",
            user.token(),
            &json!({"code": code}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    (user, member["id"].as_str().unwrap().to_owned())
}

async fn circle(app: &TestApp, extra: Value) -> Circle {
    let president = app.user("president").await;
    let names = [("Moussa", "Sarr"), ("Binta", "Fall"), ("émile", "Ndiaye")];
    circle_of(app, president, extra, names).await
}

/// A tontine of `president` joined by `names`, in that order.
async fn circle_of(
    app: &TestApp,
    president: TestUser,
    extra: Value,
    names: [(&str, &str); 3],
) -> Circle {
    let tontine = create_tontine(app, &president, extra).await;
    let id = tontine["id"].as_str().unwrap().to_owned();
    let members = assert_status(
        app.get(&format!("/api/v1/tontines/{id}/members"), president.token())
            .await,
        StatusCode::OK,
    )
    .await;
    let mut member_ids = vec![members[0]["id"].as_str().unwrap().to_owned()];
    let mut users = Vec::new();
    for (first, last) in names {
        let (user, member_id) = join_as(app, &tontine["code"], first, last).await;
        users.push(user);
        member_ids.push(member_id);
    }
    Circle {
        president,
        members: users,
        member_ids,
        id,
    }
}

async fn generate(app: &TestApp, c: &Circle, user: &TestUser, body: Value) -> Response {
    app.post(&c.path("generate"), user.token(), &body).await
}

/// Generates the order as the president and returns the response body.
async fn generated(app: &TestApp, c: &Circle, body: Value) -> Value {
    assert_status(generate(app, c, &c.president, body).await, StatusCode::OK).await
}

fn names(order: &Value) -> Vec<String> {
    order["passages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["member_name"].as_str().unwrap().to_owned())
        .collect()
}

fn member_order(order: &Value) -> Vec<String> {
    order["passages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["member_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn act(
    app: &TestApp,
    passage: &Value,
    action: &str,
    user: &TestUser,
    body: Value,
) -> Response {
    let id = passage["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/passages/{id}/{action}"),
        user.token(),
        &body,
    )
    .await
}

/// The user whose membership is `passage`'s.
fn beneficiary<'a>(c: &'a Circle, passage: &Value) -> &'a TestUser {
    let index = c
        .member_ids
        .iter()
        .position(|m| passage["member_id"] == m.as_str())
        .unwrap();
    if index == 0 {
        &c.president
    } else {
        &c.members[index - 1]
    }
}

/// Fills the pot of passage `number`: every member's 5000 paid for session `number` and
/// validated with four eyes (the president validates the members' own declarations; Moussa,
/// made tresorier for the moment, validates the president's).
async fn fund(app: &TestApp, c: &Circle, number: usize) {
    let sessions_path = format!("/api/v1/sessions/tontine/{}", c.id);
    let listed = assert_status(
        app.get(&sessions_path, c.president.token()).await,
        StatusCode::OK,
    )
    .await;
    if listed["items"].as_array().unwrap().len() < number {
        let path = format!("/api/v1/sessions/generate/{}", c.id);
        let body = json!({"count": 4});
        assert_status(
            app.post(&path, c.president.token(), &body).await,
            StatusCode::CREATED,
        )
        .await;
    }
    let listed = assert_status(
        app.get(&sessions_path, c.president.token()).await,
        StatusCode::OK,
    )
    .await;
    let session = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["session_number"] == number)
        .expect("the session")
        .clone();
    let sid = session["id"].as_str().unwrap();
    assert_status(
        app.post(
            &format!("/api/v1/sessions/{sid}/open"),
            c.president.token(),
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let declare = |who: &TestUser| {
        let body = json!({"tontine_id": c.id, "session_id": sid, "amount": 5000,
            "method": "especes"});
        let token = who.token().map(str::to_owned);
        async move {
            let resp = app.post("/api/v1/payments", token.as_deref(), &body).await;
            assert_status(resp, StatusCode::CREATED).await
        }
    };
    let validate = |payment: Value, by: &TestUser| {
        let path = format!(
            "/api/v1/payments/{}/validate",
            payment["id"].as_str().unwrap()
        );
        let token = by.token().map(str::to_owned);
        async move {
            let body = json!({"action": "approve"});
            let resp = app.post(&path, token.as_deref(), &body).await;
            assert_status(resp, StatusCode::OK).await;
        }
    };
    for member in &c.members {
        let payment = declare(member).await;
        validate(payment, &c.president).await;
    }
    let moussa = format!("/api/v1/tontines/{}/members/{}", c.id, c.member_ids[1]);
    let role = |r: &'static str| {
        let path = moussa.clone();
        async move {
            let resp = app
                .put(&path, c.president.token(), &json!({"role": r}))
                .await;
            assert_status(resp, StatusCode::OK).await;
        }
    };
    role("tresorier").await;
    let own = declare(&c.president).await;
    validate(own, &c.members[0]).await;
    role("membre").await;
}

/// Starts, pays out and confirms `passage`; returns the confirmed passage.
async fn complete(app: &TestApp, c: &Circle, passage: &Value, received: Value) -> Value {
    let number = passage["order_number"].as_u64().unwrap() as usize;
    fund(app, c, number).await;
    assert_status(
        act(app, passage, "start", &c.president, json!({})).await,
        StatusCode::OK,
    )
    .await;
    let payout = json!({"payout_method": "especes"});
    assert_status(
        act(app, passage, "payout", &c.president, payout).await,
        StatusCode::OK,
    )
    .await;
    let confirm = json!({"amount_received": received});
    let who = beneficiary(c, passage);
    assert_status(
        act(app, passage, "confirm", who, confirm).await,
        StatusCode::OK,
    )
    .await
}

dual_test!(
    alphabetical_generation_orders_by_name_ignoring_accents_and_dates_each_passage,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let order = generated(&app, &c, json!({"method": "alphabetical"})).await;
        assert_eq!(
            names(&order),
            ["Awa Diop", "Binta Fall", "émile Ndiaye", "Moussa Sarr"]
        );
        assert_eq!(order["method"], "alphabetical");
        assert_eq!(order["seed"], Value::Null);
        let passages = order["passages"].as_array().unwrap();
        let dates: Vec<&str> = passages
            .iter()
            .map(|p| p["scheduled_date"].as_str().unwrap())
            .collect();
        assert_eq!(
            dates,
            ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30"]
        );
        for (p, n) in passages.iter().zip(1..) {
            assert_eq!(p["order_number"], n);
            assert_eq!(p["status"], "programme");
            assert_eq!(p["expected_amount"], "20000");
            assert_eq!(p["amount_difference"], Value::Null);
            assert_eq!(p["is_pending"], true);
            assert_eq!(p["session_id"], Value::Null);
        }
        assert_eq!(passages[0]["member_email"], "president@example.sn");
        // the members' order positions follow the passages
        let members = assert_status(
            app.get(
                &format!("/api/v1/tontines/{}/members", c.id),
                c.president.token(),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let binta = members
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["user_name"] == "Binta Fall")
            .unwrap();
        assert_eq!(binta["order_position"], 2);
    }
);

dual_test!(
    a_random_draw_with_the_same_seed_gives_the_same_order_and_the_seed_is_kept,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let first = generated(&app, &c, json!({"method": "random", "seed": 42})).await;
        assert_eq!(first["seed"], 42);
        assert_eq!(first["method"], "random");
        let other = generated(&app, &c, json!({"method": "random", "seed": 7})).await;
        assert_eq!(other["seed"], 7);
        let again = generated(&app, &c, json!({"method": "random", "seed": 42})).await;
        assert_eq!(member_order(&again), member_order(&first));
        let tontine = app
            .store
            .tontine_by_id(TontineId::parse(&c.id).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(tontine.payout_seed, Some(42));
        assert_eq!(
            tontine.payout_method,
            Some(kobiri_core::OrderMethod::Random)
        );
        // without a seed the server draws one and returns it; it re-runs the same draw
        let drawn = generated(&app, &c, json!({"method": "random"})).await;
        let seed = drawn["seed"].as_i64().unwrap();
        assert!((0..1i64 << 53).contains(&seed));
        let replay = generated(&app, &c, json!({"method": "random", "seed": seed})).await;
        assert_eq!(member_order(&replay), member_order(&drawn));
    }
);

dual_test!(
    join_date_generation_follows_the_order_in_which_members_joined,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let order = generated(&app, &c, json!({"method": "join_date"})).await;
        assert_eq!(member_order(&order), c.member_ids);
    }
);

dual_test!(
    a_cumulative_tontine_pays_everyone_at_the_end_of_the_cycle,
    |app| async move {
        let c = circle(
            &app,
            json!({"type": "cumulative", "end_date": "2027-12-31"}),
        )
        .await;
        let order = generated(&app, &c, json!({"method": "join_date"})).await;
        for p in order["passages"].as_array().unwrap() {
            assert_eq!(p["scheduled_date"], "2027-12-31");
            assert_eq!(p["expected_amount"], "20000");
        }
        let others = [("Ousmane", "Ba"), ("Fatou", "Sow"), ("Aminata", "Kane")];
        let open_ended = circle_of(
            &app,
            c.president.clone(),
            json!({"type": "cumulative"}),
            others,
        )
        .await;
        let order = generated(&app, &open_ended, json!({"method": "join_date"})).await;
        for p in order["passages"].as_array().unwrap() {
            // the fourth monthly session from 2027-01-31
            assert_eq!(p["scheduled_date"], "2027-04-30");
        }
    }
);

dual_test!(
    a_passage_falls_on_the_session_with_its_number_when_there_is_one,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let session = assert_status(
            app.post(
                "/api/v1/sessions",
                c.president.token(),
                &json!({"tontine_id": c.id, "scheduled_date": "2027-02-05",
                    "due_date": "2027-02-10"}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(session["session_number"], 1);
        let order = generated(&app, &c, json!({"method": "join_date"})).await;
        let passages = order["passages"].as_array().unwrap();
        assert_eq!(passages[0]["session_id"], session["id"]);
        assert_eq!(passages[0]["scheduled_date"], "2027-02-05");
        assert_eq!(passages[1]["session_id"], Value::Null);
        assert_eq!(passages[1]["scheduled_date"], "2027-02-28");
    }
);

dual_test!(
    a_president_sets_the_order_by_hand_and_bad_orders_are_refused,
    |app| async move {
        let c = circle(&app, json!({})).await;
        generated(&app, &c, json!({"method": "alphabetical"})).await;
        let wanted: Vec<&String> = c.member_ids.iter().rev().collect();
        let body = json!({"passages": wanted.iter().zip(1..)
            .map(|(m, n)| json!({"member_id": m, "order_number": n})).collect::<Vec<_>>()});
        let order = assert_status(
            app.put(&c.path("order"), c.president.token(), &body).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            member_order(&order),
            wanted.iter().map(|m| m.as_str()).collect::<Vec<_>>()
        );
        assert_eq!(order["method"], Value::Null);
        assert_eq!(order["passages"][3]["scheduled_date"], "2027-04-30");
        let listed = assert_status(
            app.get(&c.path("tontine"), c.members[0].token()).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(listed[0]["member_id"], c.member_ids[3].as_str());

        let entry = |i: usize, n: u32| json!({"member_id": c.member_ids[i], "order_number": n});
        let duplicate = json!({"passages": [entry(0, 1), entry(1, 1), entry(2, 3), entry(3, 4)]});
        let missing = json!({"passages": [entry(0, 1), entry(1, 2), entry(2, 3)]});
        let outsider = json!({"passages": [entry(0, 1), entry(1, 2), entry(2, 3), entry(3, 4),
            {"member_id": uuid::Uuid::now_v7(), "order_number": 5}]});
        let zero = json!({"passages": [entry(0, 0), entry(1, 2), entry(2, 3), entry(3, 4)]});
        for bad in [duplicate, missing, outsider, zero] {
            assert_invalid(
                app.put(&c.path("order"), c.president.token(), &bad).await,
                "passages",
            )
            .await;
        }
    }
);

dual_test!(
    start_payout_and_confirmation_complete_a_passage_and_credit_the_beneficiary,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let order = generated(&app, &c, json!({"method": "join_date"})).await;
        let first = &order["passages"][0];
        fund(&app, &c, 1).await;
        let started = assert_status(
            act(&app, first, "start", &c.president, json!({})).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(started["status"], "en_cours");
        // A transfer made by hand to the beneficiary's own number, verified.
        app.verify_phone(&c.president).await;
        let spaced = format!("{} {}", &c.president.phone[..4], &c.president.phone[4..]);
        let payout = json!({"payout_method": "orange_money", "payout_phone": spaced,
            "payout_reference": "OM-0131"});
        let paid = assert_status(
            act(&app, first, "payout", &c.president, payout.clone()).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(paid["status"], "en_cours");
        assert_eq!(paid["payout_method"], "orange_money");
        assert_eq!(paid["payout_phone"], c.president.phone.as_str());
        assert_eq!(paid["payout_amount"], "20000");
        assert!(paid["actual_date"].is_string());
        assert_error(
            act(&app, first, "payout", &c.president, payout).await,
            StatusCode::CONFLICT,
            "conflict",
        )
        .await;
        let confirmed = assert_status(
            act(
                &app,
                first,
                "confirm",
                &c.president,
                json!({"amount_received": "19500",
                "notes": "Il manquait 500"}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(confirmed["status"], "complete");
        assert_eq!(confirmed["is_complete"], true);
        assert_eq!(confirmed["is_pending"], false);
        assert_eq!(confirmed["confirmed_by_member"], true);
        assert!(confirmed["confirmed_at"].is_string());
        assert_eq!(confirmed["amount_received"], "19500");
        assert_eq!(confirmed["amount_difference"], "-500");
        assert_eq!(confirmed["notes"], "Il manquait 500");
        let members = assert_status(
            app.get(
                &format!("/api/v1/tontines/{}/members", c.id),
                c.president.token(),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let president = members
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == c.member_ids[0].as_str())
            .unwrap();
        assert_eq!(president["total_received"], "19500");
        let tontine = TontineId::parse(&c.id).unwrap();
        let audit = app
            .store
            .list_audit(tontine, PageRequest::default())
            .await
            .unwrap();
        let actions: Vec<&str> = audit.items.iter().map(|a| a.action.as_str()).collect();
        for action in [
            "passages.ordered",
            "passage.started",
            "passage.payout_recorded",
            "passage.confirmed",
        ] {
            assert!(actions.contains(&action), "{action} in {actions:?}");
        }
        let entry = audit
            .items
            .iter()
            .find(|a| a.action == "passage.confirmed")
            .unwrap();
        assert_eq!(
            entry.actor_id.map(|u| u.to_string()),
            Some(c.president.id.clone())
        );
        assert_eq!(entry.after.as_ref().unwrap()["amount_received"], "19500");
        // the beneficiary was told it was their turn, then that the pot was received
        let inbox = assert_status(
            app.get("/api/v1/notifications", c.president.token()).await,
            StatusCode::OK,
        )
        .await;
        let kinds: Vec<&str> = inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap())
            .collect();
        assert!(kinds.contains(&"tour_passage"), "{inbox}");
        assert!(kinds.contains(&"paiement_recu"), "{inbox}");
        // nothing leaves complete
        assert_error(
            act(&app, first, "start", &c.president, json!({})).await,
            StatusCode::BAD_REQUEST,
            "business_rule",
        )
        .await;
    }
);

dual_test!(
    only_the_beneficiary_confirms_and_outsiders_do_not_see_the_passage,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let outsider = app.user("outsider").await;
        let order = generated(&app, &c, json!({"method": "join_date"})).await;
        let moussas = &order["passages"][1];
        fund(&app, &c, 2).await;
        assert_status(
            act(&app, moussas, "start", &c.president, json!({})).await,
            StatusCode::OK,
        )
        .await;
        let body = json!({"amount_received": 20000});
        for someone_else in [&c.president, &c.members[1]] {
            assert_error(
                act(&app, moussas, "confirm", someone_else, body.clone()).await,
                StatusCode::FORBIDDEN,
                "forbidden",
            )
            .await;
        }
        assert_error(
            act(&app, moussas, "confirm", &outsider, body.clone()).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        assert_invalid(
            act(
                &app,
                moussas,
                "confirm",
                &c.members[0],
                json!({"amount_received": 0}),
            )
            .await,
            "amount_received",
        )
        .await;
        let confirmed = assert_status(
            act(&app, moussas, "confirm", &c.members[0], body).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(confirmed["amount_difference"], "0");
    }
);

dual_test!(
    a_postponement_needs_a_reason_and_can_be_started_again,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let order = generated(&app, &c, json!({"method": "join_date"})).await;
        let first = &order["passages"][0];
        assert_invalid(
            act(&app, first, "postpone", &c.president, json!({})).await,
            "reason",
        )
        .await;
        assert_invalid(
            act(
                &app,
                first,
                "postpone",
                &c.president,
                json!({"reason": "  "}),
            )
            .await,
            "reason",
        )
        .await;
        let postponed = assert_status(
            act(
                &app,
                first,
                "postpone",
                &c.president,
                json!({"reason": "En voyage"}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(postponed["status"], "reporte");
        assert_eq!(postponed["postpone_reason"], "En voyage");
        assert_eq!(postponed["is_pending"], true);
        let restarted = assert_status(
            act(&app, first, "start", &c.president, json!({})).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(restarted["status"], "en_cours");
        // once the payout is recorded, the passage can no longer be postponed
        fund(&app, &c, 1).await;
        assert_status(
            act(
                &app,
                first,
                "payout",
                &c.president,
                json!({"payout_method": "especes"}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_error(
            act(
                &app,
                first,
                "postpone",
                &c.president,
                json!({"reason": "Trop tard"}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "business_rule",
        )
        .await;
    }
);

dual_test!(
    the_order_cannot_change_once_a_passage_is_complete,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let order = generated(&app, &c, json!({"method": "join_date"})).await;
        complete(&app, &c, &order["passages"][0], json!(20000)).await;
        assert_error(
            generate(&app, &c, &c.president, json!({"method": "alphabetical"})).await,
            StatusCode::BAD_REQUEST,
            "business_rule",
        )
        .await;
        let body = json!({"passages": c.member_ids.iter().zip(1..)
            .map(|(m, n)| json!({"member_id": m, "order_number": n})).collect::<Vec<_>>()});
        assert_error(
            app.put(&c.path("order"), c.president.token(), &body).await,
            StatusCode::BAD_REQUEST,
            "business_rule",
        )
        .await;
        let listed = assert_status(
            app.get(&c.path("tontine"), c.president.token()).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(listed[0]["status"], "complete");
    }
);

dual_test!(
    the_schedule_shows_the_current_and_next_passages_and_the_counts,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let order = generated(&app, &c, json!({"method": "join_date"})).await;
        let passages = order["passages"].as_array().unwrap();
        complete(&app, &c, &passages[0], json!(20000)).await;
        assert_status(
            act(&app, &passages[1], "start", &c.president, json!({})).await,
            StatusCode::OK,
        )
        .await;
        // 15 March 2027; tokens issued before have expired by then, so log in again
        app.clock
            .set(Utc.with_ymd_and_hms(2027, 3, 15, 9, 0, 0).unwrap());
        let tokens = assert_status(
            app.login(&c.members[2].email, PASSWORD).await,
            StatusCode::OK,
        )
        .await;
        let schedule = assert_status(
            app.get(
                &format!("{}/schedule", c.path("tontine")),
                tokens["access_token"].as_str(),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(schedule["tontine_id"], c.id.as_str());
        assert_eq!(schedule["tontine_name"], "Tontine du marché Sandaga");
        assert_eq!(schedule["completed_count"], 1);
        assert_eq!(schedule["remaining_count"], 3);
        assert_eq!(schedule["current_passage"]["id"], passages[1]["id"]);
        assert_eq!(schedule["next_passage"]["id"], passages[2]["id"]);
        assert_eq!(schedule["passages"].as_array().unwrap().len(), 4);
        // on 15 March 2027 the pending passage of 28 February is overdue, not the complete one
        let overdue: Vec<bool> = schedule["passages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["is_overdue"].as_bool().unwrap())
            .collect();
        assert_eq!(overdue, [false, true, false, false]);
    }
);

dual_test!(
    members_cannot_manage_passages_and_outsiders_see_nothing,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let outsider = app.user("outsider").await;
        let membre = &c.members[1];
        assert_error(
            generate(&app, &c, membre, json!({"method": "random"})).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        assert_error(
            generate(&app, &c, &outsider, json!({"method": "random"})).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        let order = generated(&app, &c, json!({"method": "join_date"})).await;
        let first = &order["passages"][0];
        for action in ["start", "payout", "postpone"] {
            let body = json!({"payout_method": "especes", "reason": "x"});
            assert_error(
                act(&app, first, action, membre, body.clone()).await,
                StatusCode::FORBIDDEN,
                "forbidden",
            )
            .await;
            assert_error(
                act(&app, first, action, &outsider, body).await,
                StatusCode::NOT_FOUND,
                "not_found",
            )
            .await;
        }
        for path in [c.path("tontine"), format!("{}/schedule", c.path("tontine"))] {
            assert_error(
                app.get(&path, outsider.token()).await,
                StatusCode::NOT_FOUND,
                "not_found",
            )
            .await;
        }
        // a tresorier starts and pays out, but neither reorders nor postpones
        let tresorier_id = &c.member_ids[1];
        assert_status(
            app.put(
                &format!("/api/v1/tontines/{}/members/{tresorier_id}", c.id),
                c.president.token(),
                &json!({"role": "tresorier"}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let tresorier = &c.members[0];
        assert_error(
            generate(&app, &c, tresorier, json!({"method": "random"})).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        assert_error(
            act(&app, first, "postpone", tresorier, json!({"reason": "x"})).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        assert_status(
            act(&app, first, "start", tresorier, json!({})).await,
            StatusCode::OK,
        )
        .await;
        // the president's pot, paid and validated, is paid out by the tresorier
        let paid = json!({"payout_method": "especes"});
        assert_error(
            act(&app, first, "payout", tresorier, paid.clone()).await,
            StatusCode::CONFLICT,
            "payout_exceeds_pot",
        )
        .await;
        let promote = |role: &'static str| {
            let path = format!("/api/v1/tontines/{}/members/{tresorier_id}", c.id);
            let token = c.president.token().map(str::to_owned);
            let app = &app;
            async move {
                let resp = app
                    .put(&path, token.as_deref(), &json!({"role": role}))
                    .await;
                assert_status(resp, StatusCode::OK).await;
            }
        };
        fund(&app, &c, 1).await;
        promote("tresorier").await;
        assert_status(
            act(&app, first, "payout", tresorier, paid).await,
            StatusCode::OK,
        )
        .await;
    }
);

dual_test!(
    bad_ids_methods_seeds_and_amounts_are_refused_as_invalid,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let p = &c.president;
        assert_invalid(
            app.post("/api/v1/passages/not-a-uuid/start", p.token(), &json!({}))
                .await,
            "id",
        )
        .await;
        assert_invalid(
            app.post(
                "/api/v1/passages/generate/not-a-uuid",
                p.token(),
                &json!({"method": "random"}),
            )
            .await,
            "tontine_id",
        )
        .await;
        assert_invalid(
            app.get("/api/v1/passages/tontine/42", p.token()).await,
            "tontine_id",
        )
        .await;
        assert_invalid(
            generate(&app, &c, p, json!({"method": "lottery"})).await,
            "method",
        )
        .await;
        assert_invalid(generate(&app, &c, p, json!({})).await, "method").await;
        assert_invalid(
            generate(&app, &c, p, json!({"method": "random", "seed": -1})).await,
            "seed",
        )
        .await;
        let unknown = uuid::Uuid::now_v7();
        assert_error(
            app.post(
                &format!("/api/v1/passages/{unknown}/start"),
                p.token(),
                &json!({}),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        let order = generated(&app, &c, json!({"method": "join_date"})).await;
        let first = &order["passages"][0];
        // a payout only while en_cours
        assert_error(
            act(
                &app,
                first,
                "payout",
                p,
                json!({"payout_method": "especes"}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "business_rule",
        )
        .await;
        assert_status(
            act(&app, first, "start", p, json!({})).await,
            StatusCode::OK,
        )
        .await;
        let bad_payouts = [
            (json!({"payout_method": "cheque"}), "payout_method"),
            (
                json!({"payout_method": "especes", "amount": "2500.5"}),
                "amount",
            ),
            (json!({"payout_method": "especes", "amount": -3}), "amount"),
            (
                json!({"payout_method": "wave", "payout_phone": "12"}),
                "payout_phone",
            ),
        ];
        for (body, field) in bad_payouts {
            assert_invalid(act(&app, first, "payout", p, body).await, field).await;
        }
        fund(&app, &c, 1).await;
        let paid = assert_status(
            act(
                &app,
                first,
                "payout",
                p,
                json!({"payout_method": "especes", "amount": 15000}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(paid["payout_amount"], "15000");
    }
);

dual_test!(
    an_order_needs_the_minimum_number_of_active_members,
    |app| async move {
        let president = app.user("president").await;
        let tontine = create_tontine(&app, &president, json!({"min_members": 3})).await;
        join_as(&app, &tontine["code"], "Moussa", "Sarr").await;
        let id = tontine["id"].as_str().unwrap();
        assert_error(
            app.post(
                &format!("/api/v1/passages/generate/{id}"),
                president.token(),
                &json!({"method": "alphabetical"}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "business_rule",
        )
        .await;
    }
);
