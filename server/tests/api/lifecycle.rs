// Over 400 lines on purpose: the tests of one area, each standing alone; splitting them by size
// would separate the tests of one rule.
//! The whole life of a tontine, told as one story: it is created, five members join (one
//! without a smartphone), the schedule and the payout order are set, and every session is
//! opened, paid (once late, with the penalty), validated with four eyes, closed and paid out
//! to its beneficiary, until the last passage is confirmed and every total agrees.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, TimeDelta};
use kobiri_server::jobs;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::*;

/// The contribution, in XOF.
const CONTRIBUTION: i64 = 5_000;
/// The president and the five members.
const MEMBERS: usize = 6;
/// What each session collects and each beneficiary receives.
const POT: i64 = CONTRIBUTION * MEMBERS as i64;

// Who is who: indexes into `Circle::people`.
const PRESIDENT: usize = 0;
const TREASURER: usize = 1;
const COLLECTOR: usize = 2;
/// Ousmane, who pays three days late once.
const LATE_PAYER: usize = 3;
/// Mariama, who has no smartphone: the collector records her cash.
const NO_SMARTPHONE: usize = 5;
/// The session (from 0) in which the late payer pays late.
const LATE_SESSION: usize = 2;

/// `(first name, last name, e-mail, phone)` of each person, in the order above.
const PEOPLE: [(&str, &str, &str, &str); MEMBERS] = [
    ("Aminata", "Diallo", "aminata@example.sn", "+221770000101"),
    ("Moussa", "Sarr", "moussa@example.sn", "+221770000102"),
    ("Binta", "Fall", "binta@example.sn", "+221770000103"),
    ("Ousmane", "Ndiaye", "ousmane@example.sn", "+221770000104"),
    ("Fatou", "Sow", "fatou@example.sn", "+221770000105"),
    ("Mariama", "Ba", "mariama@example.sn", "+221780000106"),
];

/// One person of the tontine as the story follows them.
struct Person {
    user_id: String,
    member_id: String,
    /// Their session; `None` while they have no account to log in with (Mariama until she
    /// claims hers).
    login: Option<TestUser>,
}

struct Circle {
    id: String,
    people: Vec<Person>,
}

impl Circle {
    fn token(&self, who: usize) -> Option<&str> {
        self.people[who]
            .login
            .as_ref()
            .unwrap_or_else(|| panic!("{} cannot log in yet", PEOPLE[who].0))
            .token()
    }

    fn by_member(&self, member_id: &Value) -> usize {
        self.people
            .iter()
            .position(|p| *member_id == p.member_id.as_str())
            .unwrap_or_else(|| panic!("no member {member_id}"))
    }

    fn by_user(&self, user_id: &Value) -> usize {
        self.people
            .iter()
            .position(|p| *user_id == p.user_id.as_str())
            .unwrap_or_else(|| panic!("no user {user_id}"))
    }

    /// Access tokens live 30 minutes: after the clock moves, everyone logs in again.
    async fn log_everyone_in_again(&mut self, app: &TestApp) {
        for person in &mut self.people {
            if let Some(login) = &person.login {
                person.login = Some(app.relogin(login).await);
            }
        }
    }
}

/// Registers `PEOPLE[who]` and logs them in (by e-mail).
async fn sign_up(app: &TestApp, who: usize) -> (Value, TestUser) {
    let (first, last, email, phone) = PEOPLE[who];
    let body = with(
        with(registration(email, phone), "first_name", json!(first)),
        "last_name",
        json!(last),
    );
    let user = assert_status(
        app.post("/api/v1/auth/register", None, &body).await,
        StatusCode::CREATED,
    )
    .await;
    let tokens = assert_status(app.login(email, PASSWORD).await, StatusCode::OK).await;
    let login = TestUser {
        id: user["id"].as_str().unwrap().to_owned(),
        email: email.to_owned(),
        phone: phone.to_owned(),
        access: tokens["access_token"].as_str().unwrap().to_owned(),
        refresh: tokens["refresh_token"].as_str().unwrap().to_owned(),
    };
    (user, login)
}

/// Every item of a paginated list, page after page.
pub async fn every_item(app: &TestApp, path: &str, token: Option<&str>) -> Vec<Value> {
    let mut items = Vec::new();
    for page in 1u64.. {
        let url = with_query(path, &[("page", &page.to_string()), ("page_size", "100")]);
        let body = assert_status(app.get(&url, token).await, StatusCode::OK).await;
        items.extend(body["items"].as_array().unwrap().iter().cloned());
        if page >= body["pages"].as_u64().unwrap() {
            break;
        }
    }
    items
}

/// An amount in XOF (no minor unit) as the API writes it.
fn xof(value: &Value) -> i64 {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a decimal string: {value}"))
        .parse()
        .unwrap()
}

/// The server's clock moves forward to `day`, same time of day.
fn move_clock_to(app: &TestApp, day: NaiveDate) {
    let today: NaiveDate = app.clock_today().parse().unwrap();
    assert!(day >= today, "the story only moves forward");
    app.clock.advance(day - today);
}

/// `who` contributes to the open session: with a phone they declare their own mobile-money
/// payment; Mariama hands cash to the collector, who records it for her.
async fn contribute(app: &TestApp, c: &Circle, who: usize, session: &Value) -> Value {
    let sid = session["id"].as_str().unwrap();
    let member_id = c.people[who].member_id.as_str();
    let (recorder, body) = if who == NO_SMARTPHONE {
        let body = json!({"tontine_id": c.id, "session_id": sid, "amount": CONTRIBUTION,
            "method": "especes", "member_id": member_id, "notes": "Espèces reçues au marché"});
        (COLLECTOR, body)
    } else {
        let reference = format!("OM-{}-{who}", session["session_number"]);
        let body = json!({"tontine_id": c.id, "amount": CONTRIBUTION.to_string(),
            "method": "orange_money", "transaction_id": reference, "phone_number": PEOPLE[who].3});
        (who, body)
    };
    let payment = assert_status(
        app.post("/api/v1/payments", c.token(recorder), &body).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(payment["status"], "en_attente", "{payment}");
    assert_eq!(payment["session_id"], sid);
    assert_eq!(payment["member_id"], member_id);
    assert_eq!(payment["user_id"], c.people[who].user_id.as_str());
    assert_eq!(
        payment["recorded_by_id"],
        c.people[recorder].user_id.as_str()
    );
    assert_eq!(xof(&payment["amount"]), CONTRIBUTION);
    assert_eq!(payment["currency"], "XOF");
    payment
}

/// The treasurer approves the payment, or the president when the treasurer recorded it:
/// never the recorder (four eyes).
async fn validate(app: &TestApp, c: &Circle, payment: &Value) -> Value {
    let recorder = c.by_user(&payment["recorded_by_id"]);
    let validator = if recorder == TREASURER {
        PRESIDENT
    } else {
        TREASURER
    };
    let path = format!(
        "/api/v1/payments/{}/validate",
        payment["id"].as_str().unwrap()
    );
    let approve = json!({"action": "approve"});
    if recorder == PRESIDENT || recorder == TREASURER {
        // a manager who declared their own payment cannot approve it
        assert_error(
            app.post(&path, c.token(recorder), &approve).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    let validated = assert_status(
        app.post(&path, c.token(validator), &approve).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(validated["status"], "valide", "{validated}");
    assert_eq!(
        validated["validated_by_id"],
        c.people[validator].user_id.as_str()
    );
    assert_ne!(validated["validated_by_id"], validated["recorded_by_id"]);
    // cash gets a receipt code the member can check; mobile money has the operator's reference
    assert_eq!(
        validated["receipt_code"].is_string(),
        validated["method"] == "especes",
        "{validated}"
    );
    validated
}

/// Mariama registers with the phone the president gave: she claims the account made for her,
/// keeps her membership and what she paid, and logs in with her phone.
async fn claim_the_account_without_smartphone(app: &TestApp, c: &mut Circle, paid: i64) {
    let (first, last, email, phone) = PEOPLE[NO_SMARTPHONE];
    let password_login = json!({"phone": phone, "password": PASSWORD});
    assert_status(
        app.post("/api/v1/auth/login", None, &password_login).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let body = with(
        with(registration(email, phone), "first_name", json!(first)),
        "last_name",
        json!(last),
    );
    // The phone is proven by the code sent to it by SMS.
    assert_error(
        app.post("/api/v1/auth/register", None, &body).await,
        StatusCode::CONFLICT,
        "phone_needs_verification",
    )
    .await;
    let code = app.last_code_sms_to(phone).await;
    let user = assert_status(
        app.post(
            "/api/v1/auth/register",
            None,
            &with(body, "phone_code", json!(code)),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(user["id"], c.people[NO_SMARTPHONE].user_id.as_str());
    let tokens = assert_status(
        app.post("/api/v1/auth/login", None, &password_login).await,
        StatusCode::OK,
    )
    .await;
    c.people[NO_SMARTPHONE].login = Some(TestUser {
        id: c.people[NO_SMARTPHONE].user_id.clone(),
        email: email.to_owned(),
        phone: phone.to_owned(),
        access: tokens["access_token"].as_str().unwrap().to_owned(),
        refresh: tokens["refresh_token"].as_str().unwrap().to_owned(),
    });
    let members = assert_status(
        app.get(
            &format!("/api/v1/tontines/{}/members", c.id),
            c.token(NO_SMARTPHONE),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let me = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == c.people[NO_SMARTPHONE].member_id.as_str())
        .expect("Mariama is still a member");
    assert_eq!(me["user_id"], user["id"]);
    assert_eq!(me["user_email"], email);
    assert_eq!(me["is_active"], true);
    assert_eq!(xof(&me["total_contributions"]), paid);
}

/// The president draws the payout order at random with `seed`.
async fn draw_the_order(app: &TestApp, c: &Circle, seed: u64) -> Value {
    assert_status(
        app.post(
            &format!("/api/v1/passages/generate/{}", c.id),
            c.token(PRESIDENT),
            &json!({"method": "random", "seed": seed}),
        )
        .await,
        StatusCode::OK,
    )
    .await
}

/// `field` of each passage of a payout order, in order.
fn column(order: &Value, field: &str) -> Vec<String> {
    order["passages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[field].as_str().unwrap().to_owned())
        .collect()
}

/// The beneficiary's passage of `session`: started by the president, paid out in cash by a
/// manager other than the beneficiary, confirmed by the beneficiary.
async fn pay_out(app: &TestApp, c: &mut Circle, session: &Value, number: usize) -> usize {
    let passages = assert_status(
        app.get(
            &format!("/api/v1/passages/tontine/{}", c.id),
            c.token(PRESIDENT),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let passage = passages
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["session_id"] == session["id"])
        .expect("a passage for each session")
        .clone();
    assert_eq!(passage["status"], "programme");
    assert_eq!(passage["order_number"], session["session_number"]);
    let beneficiary = c.by_member(&passage["member_id"]);
    if beneficiary == NO_SMARTPHONE {
        claim_the_account_without_smartphone(app, c, CONTRIBUTION * number as i64).await;
    }
    let path = |action: &str| {
        format!(
            "/api/v1/passages/{}/{action}",
            passage["id"].as_str().unwrap()
        )
    };
    let started = assert_status(
        app.post(&path("start"), c.token(PRESIDENT), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(started["status"], "en_cours");
    let payer = if beneficiary == TREASURER {
        PRESIDENT
    } else {
        TREASURER
    };
    let paid = assert_status(
        app.post(
            &path("payout"),
            c.token(payer),
            &json!({"payout_method": "especes"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(xof(&paid["payout_amount"]), POT);
    assert_eq!(paid["actual_date"], app.clock_today().as_str());
    let confirmed = assert_status(
        app.post(
            &path("confirm"),
            c.token(beneficiary),
            &json!({"amount_received": POT.to_string(), "notes": "Reçu en main propre"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(confirmed["status"], "complete", "{confirmed}");
    assert_eq!(confirmed["confirmed_by_member"], true);
    assert_eq!(xof(&confirmed["amount_received"]), POT);
    assert_eq!(confirmed["amount_difference"], "0");
    beneficiary
}

dual_test!(
    a_tontine_lives_from_creation_to_its_last_payout_and_every_total_agrees,
    // A cycle logs everyone in again after each move of the clock, all from the test's single
    // address: successful logins never count against it.
    |app| async move {
        // Prologue: the story starts today at 09:00 UTC, after the hour the jobs fire.
        let today: NaiveDate = app.clock_today().parse().unwrap();
        app.clock.set(today.and_hms_opt(9, 0, 0).unwrap().and_utc());

        // Act 1: Aminata creates a weekly rotative tontine starting today.
        let (_, president) = sign_up(&app, PRESIDENT).await;
        let tontine = assert_status(
            app.post(
                "/api/v1/tontines",
                president.token(),
                &json!({"name": "Tontine des commerçantes de Sandaga", "type": "rotative",
                    "frequency": "hebdomadaire", "contribution_amount": CONTRIBUTION,
                    "currency": "XOF", "penalty_amount": 500, "grace_period_days": 2,
                    "start_date": today, "max_members": MEMBERS, "min_members": 3}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let id = tontine["id"].as_str().unwrap().to_owned();
        assert_eq!(tontine["member_count"], 1);
        let founders = assert_status(
            app.get(&format!("/api/v1/tontines/{id}/members"), president.token())
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(founders[0]["role"], "president");
        let mut c = Circle {
            id: id.clone(),
            people: vec![Person {
                user_id: president.id.clone(),
                member_id: founders[0]["id"].as_str().unwrap().to_owned(),
                login: Some(president),
            }],
        };

        // Four members join with the code the president shared (typed in lower case).
        let code = tontine["code"].as_str().unwrap().to_lowercase();
        for who in 1..=4 {
            let (user, login) = sign_up(&app, who).await;
            let member = assert_status(
                app.post(
                    "/api/v1/tontines/join",
                    login.token(),
                    &json!({"code": code}),
                )
                .await,
                StatusCode::CREATED,
            )
            .await;
            assert_eq!(member["role"], "membre");
            assert_eq!(member["tontine_id"], id.as_str());
            assert_eq!(member["user_id"], user["id"]);
            c.people.push(Person {
                user_id: login.id.clone(),
                member_id: member["id"].as_str().unwrap().to_owned(),
                login: Some(login),
            });
        }

        // Mariama has no smartphone: the president adds her by phone and names.
        let (first, last, _, phone) = PEOPLE[NO_SMARTPHONE];
        let mariama = assert_status(
            app.post(
                &format!("/api/v1/tontines/{id}/members"),
                c.token(PRESIDENT),
                &json!({"phone": phone, "first_name": first, "last_name": last}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(mariama["role"], "membre");
        assert_eq!(mariama["user_phone"], phone);
        assert_eq!(mariama["user_email"], Value::Null);
        assert_eq!(mariama["user_name"], "Mariama Ba");
        c.people.push(Person {
            user_id: mariama["user_id"].as_str().unwrap().to_owned(),
            member_id: mariama["id"].as_str().unwrap().to_owned(),
            login: None,
        });

        // Moussa becomes the treasurer and Binta the field collector.
        for (who, role) in [(TREASURER, "tresorier"), (COLLECTOR, "collecteur")] {
            let updated = assert_status(
                app.put(
                    &format!("/api/v1/tontines/{id}/members/{}", c.people[who].member_id),
                    c.token(PRESIDENT),
                    &json!({"role": role}),
                )
                .await,
                StatusCode::OK,
            )
            .await;
            assert_eq!(updated["role"], role);
        }
        let tontine = assert_status(
            app.get(&format!("/api/v1/tontines/{id}"), c.token(PRESIDENT))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(tontine["member_count"], MEMBERS);
        assert_eq!(tontine["is_full"], true);
        assert_eq!(xof(&tontine["total_pot"]), POT);

        // Act 2: the schedule, one session a week for each of the six members...
        let sessions = assert_status(
            app.post(
                &format!("/api/v1/sessions/generate/{id}"),
                c.token(PRESIDENT),
                &json!({"count": MEMBERS}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let sessions = sessions.as_array().unwrap().clone();
        assert_eq!(sessions.len(), MEMBERS);
        for (k, s) in sessions.iter().enumerate() {
            let day = today + TimeDelta::weeks(i64::try_from(k).unwrap());
            assert_eq!(s["session_number"], k + 1);
            assert_eq!(s["scheduled_date"], day.to_string());
            assert_eq!(s["due_date"], day.to_string());
            assert_eq!(s["status"], "programmee");
        }

        // ...and the payout order, drawn at random with seed 42; the same seed draws the same
        // order again, so anyone can check the draw.
        let first_draw = draw_the_order(&app, &c, 42).await;
        assert_eq!(first_draw["method"], "random");
        assert_eq!(first_draw["seed"], 42);
        let order = draw_the_order(&app, &c, 42).await;
        assert_eq!(
            column(&order, "member_id"),
            column(&first_draw, "member_id")
        );
        assert!(
            column(&order, "id")
                .iter()
                .all(|p| !column(&first_draw, "id").contains(p)),
            "the order was drawn again, not left in place"
        );
        let drawn: HashSet<String> = column(&order, "member_id").into_iter().collect();
        let everyone: HashSet<String> = c.people.iter().map(|p| p.member_id.clone()).collect();
        assert_eq!(drawn, everyone, "each member receives the pot once");
        for (p, s) in order["passages"].as_array().unwrap().iter().zip(&sessions) {
            assert_eq!(p["session_id"], s["id"]);
            assert_eq!(p["scheduled_date"], s["scheduled_date"]);
            assert_eq!(xof(&p["expected_amount"]), POT);
            assert_eq!(p["status"], "programme");
        }

        // Act 3: each week, a session from opening to payout.
        let mut payment_ids: HashSet<String> = HashSet::new();
        let mut late_payment = Value::Null;
        let mut paid_out: Vec<usize> = Vec::new();
        for (k, session) in sessions.iter().enumerate() {
            let sid = session["id"].as_str().unwrap();
            let day: NaiveDate = session["scheduled_date"].as_str().unwrap().parse().unwrap();
            move_clock_to(&app, day);
            c.log_everyone_in_again(&app).await;

            // The treasurer opens the session: the pot to collect is everyone's contribution.
            let opened = assert_status(
                app.post(
                    &format!("/api/v1/sessions/{sid}/open"),
                    c.token(TREASURER),
                    &json!({"send_notifications": true}),
                )
                .await,
                StatusCode::OK,
            )
            .await;
            assert_eq!(opened["status"], "en_cours");
            assert_eq!(xof(&opened["expected_amount"]), POT);
            assert!(opened["opened_at"].is_string());
            // Everyone pays on the day (but Ousmane in the third week), and each payment is
            // validated by a manager who did not record it.
            for who in 0..MEMBERS {
                if k == LATE_SESSION && who == LATE_PAYER {
                    continue;
                }
                let payment = contribute(&app, &c, who, session).await;
                assert_eq!(payment["is_late"], false);
                assert_eq!(xof(&payment["penalty_amount"]), 0);
                let validated = validate(&app, &c, &payment).await;
                payment_ids.insert(validated["id"].as_str().unwrap().to_owned());
            }

            if k == LATE_SESSION {
                // The session cannot close while Ousmane owes his contribution.
                assert_error(
                    app.post(
                        &format!("/api/v1/sessions/{sid}/close"),
                        c.token(TREASURER),
                        &json!({}),
                    )
                    .await,
                    StatusCode::BAD_REQUEST,
                    "business_rule",
                )
                .await;
                // Three days later, past the two days of grace, the server's late job alerts
                // him; he pays, and his payment bears the penalty.
                app.clock.advance(TimeDelta::days(3));
                c.log_everyone_in_again(&app).await;
                let pass = jobs::run_pass(app.store.as_ref(), app.clock.as_ref())
                    .await
                    .unwrap();
                assert_eq!(pass.failed, 0, "{pass:?}");
                let payment = contribute(&app, &c, LATE_PAYER, session).await;
                assert_eq!(payment["is_late"], true);
                assert_eq!(payment["penalty_amount"], "500");
                assert_eq!(payment["total_amount"], "5500");
                late_payment = validate(&app, &c, &payment).await;
                payment_ids.insert(late_payment["id"].as_str().unwrap().to_owned());
                let stats = assert_status(
                    app.get(&format!("/api/v1/sessions/{sid}/stats"), c.token(PRESIDENT))
                        .await,
                    StatusCode::OK,
                )
                .await;
                assert_eq!(stats["total_received_payments"], MEMBERS);
                assert_eq!(stats["missing_payments"], 0);
                assert_eq!(stats["late_payments"], 1);
                assert_eq!(stats["penalties_collected"], "500");
                assert_eq!(xof(&stats["total_amount_collected"]), POT);
            }

            // The pot is complete; the treasurer closes the session.
            let collected = assert_status(
                app.get(&format!("/api/v1/sessions/{sid}"), c.token(COLLECTOR))
                    .await,
                StatusCode::OK,
            )
            .await;
            assert_eq!(xof(&collected["collected_amount"]), POT);
            assert_eq!(collected["remaining_amount"], "0");
            assert_eq!(collected["is_complete"], true);
            let closed = assert_status(
                app.post(
                    &format!("/api/v1/sessions/{sid}/close"),
                    c.token(TREASURER),
                    &json!({"notes": format!("Séance {} bouclée", k + 1)}),
                )
                .await,
                StatusCode::OK,
            )
            .await;
            assert_eq!(closed["status"], "terminee");
            assert!(closed["closed_at"].is_string());

            // The week's beneficiary receives the pot in cash and confirms it.
            paid_out.push(pay_out(&app, &mut c, session, k + 1).await);
        }

        // Act 4: the tontine is complete.
        let president = c.token(PRESIDENT);
        let passages = assert_status(
            app.get(&format!("/api/v1/passages/tontine/{id}"), president)
                .await,
            StatusCode::OK,
        )
        .await;
        let passages = passages.as_array().unwrap();
        assert_eq!(passages.len(), MEMBERS);
        for p in passages {
            assert_eq!(p["status"], "complete", "{p}");
            assert_eq!(p["confirmed_by_member"], true);
            assert_eq!(xof(&p["amount_received"]), POT);
        }
        let paid_out: HashSet<usize> = paid_out.into_iter().collect();
        assert_eq!(paid_out.len(), MEMBERS, "each member was paid once");
        let schedule = assert_status(
            app.get(
                &format!("/api/v1/passages/tontine/{id}/schedule"),
                president,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(schedule["completed_count"], MEMBERS);
        assert_eq!(schedule["remaining_count"], 0);
        assert_eq!(schedule["current_passage"], Value::Null);
        assert_eq!(schedule["next_passage"], Value::Null);
        // the order is history now: no new draw
        assert_error(
            app.post(
                &format!("/api/v1/passages/generate/{id}"),
                president,
                &json!({"method": "random", "seed": 42}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "business_rule",
        )
        .await;
        let sessions_now =
            every_item(&app, &format!("/api/v1/sessions/tontine/{id}"), president).await;
        assert_eq!(sessions_now.len(), MEMBERS);
        for s in &sessions_now {
            assert_eq!(s["status"], "terminee", "{s}");
            assert_eq!(xof(&s["collected_amount"]), POT);
        }

        // Every member paid six contributions and received one pot; only Ousmane missed a
        // deadline.
        let members = assert_status(
            app.get(&format!("/api/v1/tontines/{id}/members"), president)
                .await,
            StatusCode::OK,
        )
        .await;
        let members = members.as_array().unwrap();
        assert_eq!(members.len(), MEMBERS);
        for m in members {
            let who = c.by_member(&m["id"]);
            assert_eq!(m["is_active"], true);
            assert_eq!(
                xof(&m["total_contributions"]),
                CONTRIBUTION * MEMBERS as i64,
                "{m}"
            );
            assert_eq!(xof(&m["total_received"]), POT, "{m}");
            let missed = u64::from(who == LATE_PAYER);
            assert_eq!(m["missed_payments"], missed, "{m}");
        }

        // The tontine's figures.
        let stats = assert_status(
            app.get(&format!("/api/v1/tontines/{id}/stats"), president)
                .await,
            StatusCode::OK,
        )
        .await;
        let total_collected = CONTRIBUTION * (MEMBERS * MEMBERS) as i64;
        assert_eq!(stats["total_members"], MEMBERS);
        assert_eq!(stats["active_members"], MEMBERS);
        assert_eq!(stats["total_sessions"], MEMBERS);
        assert_eq!(stats["completed_sessions"], MEMBERS);
        assert_eq!(xof(&stats["total_collected"]), total_collected);
        assert_eq!(xof(&stats["total_distributed"]), POT * MEMBERS as i64);
        assert_eq!(stats["average_contribution_rate"], "100");
        assert_eq!(stats["next_session_date"], Value::Null);
        assert_eq!(stats["next_beneficiary_name"], Value::Null);

        // The payments listed add up to what was collected; one was late, with its penalty.
        let payments = every_item(&app, &format!("/api/v1/payments/tontine/{id}"), president).await;
        assert_eq!(payments.len(), MEMBERS * MEMBERS);
        let listed: HashSet<String> = payments
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(listed, payment_ids);
        assert!(payments.iter().all(|p| p["status"] == "valide"));
        let sum: i64 = payments.iter().map(|p| xof(&p["amount"])).sum();
        assert_eq!(sum, total_collected);
        assert_eq!(sum, xof(&stats["total_collected"]));
        let late: Vec<&Value> = payments.iter().filter(|p| p["is_late"] == true).collect();
        assert_eq!(late.len(), 1);
        assert_eq!(late[0]["id"], late_payment["id"]);
        assert_eq!(
            late[0]["member_id"],
            c.people[LATE_PAYER].member_id.as_str()
        );
        assert_eq!(late[0]["session_id"], sessions[LATE_SESSION]["id"]);
        let penalties: i64 = payments.iter().map(|p| xof(&p["penalty_amount"])).sum();
        assert_eq!(penalties, 500);

        // The audit log has one validation per payment.
        let audit = every_item(&app, &format!("/api/v1/tontines/{id}/audit"), president).await;
        let validated: Vec<String> = audit
            .iter()
            .filter(|e| e["action"] == "payment.validated")
            .map(|e| e["entity_id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(validated.len(), MEMBERS * MEMBERS);
        assert_eq!(validated.into_iter().collect::<HashSet<_>>(), payment_ids);
        let mut actions: HashMap<&str, usize> = HashMap::new();
        for e in &audit {
            *actions.entry(e["action"].as_str().unwrap()).or_default() += 1;
        }
        assert_eq!(
            actions["payment.recorded"],
            MEMBERS * MEMBERS,
            "{actions:?}"
        );
        for action in ["session.opened", "session.closed", "passage.confirmed"] {
            assert_eq!(actions[action], MEMBERS, "{action}: {actions:?}");
        }

        // Everyone's inbox: each session's opening, a confirmation of each of their payments,
        // their turn and the pot received; Ousmane was also warned he was late.
        let session_ids: HashSet<&str> =
            sessions.iter().map(|s| s["id"].as_str().unwrap()).collect();
        for (who, &(name, ..)) in PEOPLE.iter().enumerate() {
            let inbox = every_item(&app, "/api/v1/notifications", c.token(who)).await;
            let of = |kind: &str| -> Vec<&Value> {
                inbox.iter().filter(|n| n["type"] == kind).collect()
            };
            let opened: HashSet<&str> = of("session_ouverte")
                .iter()
                .map(|n| n["session_id"].as_str().unwrap())
                .collect();
            assert_eq!(of("session_ouverte").len(), MEMBERS, "{name}");
            assert_eq!(opened, session_ids, "{name}");
            let confirmed: HashSet<&str> = of("confirmation_paiement")
                .iter()
                .map(|n| n["payment_id"].as_str().unwrap())
                .collect();
            let theirs: HashSet<&str> = payments
                .iter()
                .filter(|p| p["member_id"] == c.people[who].member_id.as_str())
                .map(|p| p["id"].as_str().unwrap())
                .collect();
            assert_eq!(theirs.len(), MEMBERS, "{name}");
            assert_eq!(confirmed, theirs, "{name}");
            assert_eq!(of("tour_passage").len(), 1, "{name}");
            assert_eq!(of("paiement_recu").len(), 1, "{name}");
            let alerts = of("alerte_retard");
            if who == LATE_PAYER {
                assert_eq!(alerts.len(), 1, "{name}");
                assert_eq!(alerts[0]["session_id"], sessions[LATE_SESSION]["id"]);
                assert!(confirmed.contains(late_payment["id"].as_str().unwrap()));
            } else {
                assert!(alerts.is_empty(), "{name}: {alerts:?}");
            }
        }
    }
);
