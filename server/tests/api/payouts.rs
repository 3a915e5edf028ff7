// Over 400 lines on purpose: the tests of one area, each standing alone; splitting them by size
// would separate the tests of one rule.
//! Money leaves only to whom it belongs: a payout is bounded by what its pot really holds
//! (per session for rotative tontines, one pot for cumulative ones), goes only to a proven
//! wallet, and waits for a second manager to another number or above the threshold. The
//! attack of issue 14 is replayed first.

use kobiri_server::mobile_money::standin::{self, StandIn};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dual_test_with;
use crate::helpers::*;
use crate::payments::{Circle, circle, pay};
use crate::tontines::create_tontine;

/// A server with Wave configured at its stand-in.
struct Wave {
    app: TestApp,
    wave: StandIn,
}

impl Wave {
    async fn spawn(engine: Engine) -> Option<Self> {
        let wave = StandIn::wave().await.unwrap();
        let config = standin::wave::config(&wave);
        let app = TestApp::spawn_with(engine, move |c| c.mobile_money.wave = Some(config)).await?;
        Some(Self { app, wave })
    }
}

macro_rules! wave_test {
    ($name:ident, |$w:ident| $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $w = Wave::spawn(Engine::Sqlite).await.unwrap();
                $body.await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($w) = Wave::spawn(Engine::Postgres).await else {
                    return;
                };
                $body.await;
            }
        }
    };
}

fn path(passage: &Value, action: &str) -> String {
    format!(
        "/api/v1/passages/{}/{action}",
        passage["id"].as_str().unwrap()
    )
}

async fn act(app: &TestApp, passage: &Value, action: &str, who: &TestUser, body: Value) -> Value {
    let resp = app.post(&path(passage, action), who.token(), &body).await;
    resp.json().await.unwrap_or(Value::Null)
}

/// The 5000 of each of `payers` for `c`'s open session, recorded by the collector and
/// validated by the treasurer; `pending` is recorded and left unvalidated.
async fn collect(app: &TestApp, c: &Circle, payers: &[&TestUser], pending: Option<&TestUser>) {
    for payer in payers {
        let payment =
            assert_status(pay(app, c, &c.collector, payer).await, StatusCode::CREATED).await;
        let validate = format!(
            "/api/v1/payments/{}/validate",
            payment["id"].as_str().unwrap()
        );
        assert_status(
            app.post(
                &validate,
                c.treasurer.token(),
                &json!({"action": "approve"}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
    }
    if let Some(payer) = pending {
        assert_status(pay(app, c, &c.collector, payer).await, StatusCode::CREATED).await;
    }
}

/// Everyone of `c` pays and is validated: 25000 in the first session.
async fn collect_all(app: &TestApp, c: &Circle) {
    let everyone = [
        &c.president,
        &c.treasurer,
        &c.collector,
        &c.members[0],
        &c.members[1],
    ];
    collect(app, c, &everyone, None).await;
}

/// The passages of `c` in join order (the president's first), `first` of them started.
async fn passages(app: &TestApp, c: &Circle, first: usize) -> Vec<Value> {
    let order = assert_status(
        app.post(
            &format!("/api/v1/passages/generate/{}", c.id()),
            c.president.token(),
            &json!({"method": "join_date"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let list = order["passages"].as_array().unwrap().clone();
    for passage in list.iter().take(first) {
        let resp = app
            .post(&path(passage, "start"), c.president.token(), &json!({}))
            .await;
        assert_status(resp, StatusCode::OK).await;
    }
    list
}

async fn total_received(app: &TestApp, tontine: &str, user: &TestUser) -> String {
    let members = assert_status(
        app.get(&format!("/api/v1/tontines/{tontine}/members"), user.token())
            .await,
        StatusCode::OK,
    )
    .await;
    members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_id"] == user.id.as_str())
        .unwrap()["total_received"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn audited(app: &TestApp, tontine: &str, who: &TestUser, action: &str) -> usize {
    let path = format!("/api/v1/tontines/{tontine}/audit?page_size=100");
    let audit = assert_status(app.get(&path, who.token()).await, StatusCode::OK).await;
    audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == action)
        .count()
}

wave_test!(
    the_attack_of_issue_14_pays_nothing_and_credits_nothing,
    |w| async move {
        let app = &w.app;
        // A stranger registers, creates a tontine (so is its president) with one member added
        // by phone, draws the order and starts their own passage: nothing was collected.
        let stranger = app.user("stranger").await;
        let tontine = create_tontine(app, &stranger, json!({"min_members": 2})).await;
        let id = tontine["id"].as_str().unwrap();
        let member = json!({"phone": "+221775550001", "first_name": "Fatou", "last_name": "Sow"});
        assert_status(
            app.post(
                &format!("/api/v1/tontines/{id}/members"),
                stranger.token(),
                &member,
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let order = assert_status(
            app.post(
                &format!("/api/v1/passages/generate/{id}"),
                stranger.token(),
                &json!({"method": "join_date"}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let mine = &order["passages"][0];
        let resp = app
            .post(&path(mine, "start"), stranger.token(), &json!({}))
            .await;
        assert_status(resp, StatusCode::OK).await;
        // The exact request of the issue: any number, any amount.
        let attack = json!({"payout_method": "wave", "amount": "999999999999",
            "payout_phone": "+221771112233"});
        let resp = app
            .post(&path(mine, "payout"), stranger.token(), &attack)
            .await;
        let body = assert_error(
            resp,
            StatusCode::UNPROCESSABLE_ENTITY,
            "payout_phone_unverified",
        )
        .await;
        assert_eq!(error_fields(&body), ["payout_phone"]);
        // To their own verified number: still nothing collected.
        app.verify_phone(&stranger).await;
        let own = json!({"payout_method": "wave", "amount": "999999999999"});
        let resp = app
            .post(&path(mine, "payout"), stranger.token(), &own)
            .await;
        let body = assert_error(resp, StatusCode::CONFLICT, "payout_exceeds_pot").await;
        assert!(body["detail"].as_str().unwrap().contains("0 XOF"), "{body}");
        // In cash, and by the beneficiary's own word: refused too.
        let cash = json!({"payout_method": "especes", "amount": "999999999999"});
        let resp = app
            .post(&path(mine, "payout"), stranger.token(), &cash)
            .await;
        assert_error(resp, StatusCode::CONFLICT, "payout_exceeds_pot").await;
        let confirm = json!({"amount_received": "999999999999"});
        let resp = app
            .post(&path(mine, "confirm"), stranger.token(), &confirm)
            .await;
        assert_error(resp, StatusCode::CONFLICT, "payout_exceeds_pot").await;
        assert!(w.wave.payouts().is_empty(), "{:?}", w.wave.payouts());
        assert_eq!(total_received(app, id, &stranger).await, "0");
        assert_eq!(
            audited(app, id, &stranger, "passage.payout_recorded").await,
            0
        );
        assert_eq!(audited(app, id, &stranger, "passage.payout_sent").await, 0);
    }
);

dual_test_with!(
    a_payout_never_exceeds_what_its_session_collected_and_validated,
    |_| {},
    |app| async move {
        let c = circle(&app, json!({})).await;
        // 15000 validated; the president's 5000 still awaits validation and does not count.
        let validated = [&c.collector, &c.members[0], &c.members[1]];
        collect(&app, &c, &validated, Some(&c.president)).await;
        let list = passages(&app, &c, 2).await;
        let (first, second) = (&list[0], &list[1]);
        let resp = app
            .post(
                &path(first, "payout"),
                c.treasurer.token(),
                &json!({"payout_method": "especes"}),
            )
            .await;
        let body = assert_error(resp, StatusCode::CONFLICT, "payout_exceeds_pot").await;
        assert!(
            body["detail"].as_str().unwrap().contains("15000 XOF"),
            "{body}"
        );
        let paid = act(
            &app,
            first,
            "payout",
            &c.treasurer,
            json!({"payout_method": "especes", "amount": 15000}),
        )
        .await;
        assert_eq!(paid["payout_amount"], "15000", "{paid}");
        let again = app
            .post(
                &path(first, "payout"),
                c.treasurer.token(),
                &json!({"payout_method": "especes", "amount": 1}),
            )
            .await;
        assert_error(again, StatusCode::CONFLICT, "conflict").await;
        // The second passage's session collected nothing: the first session's money stays.
        let resp = app
            .post(
                &path(second, "payout"),
                c.treasurer.token(),
                &json!({"payout_method": "especes", "amount": 1}),
            )
            .await;
        assert_error(resp, StatusCode::CONFLICT, "payout_exceeds_pot").await;
        // The beneficiary confirms at most what was paid out to them.
        let resp = app
            .post(
                &path(first, "confirm"),
                c.president.token(),
                &json!({"amount_received": 15001}),
            )
            .await;
        assert_error(resp, StatusCode::CONFLICT, "receipt_exceeds_payout").await;
        let confirmed = act(
            &app,
            first,
            "confirm",
            &c.president,
            json!({"amount_received": 15000}),
        )
        .await;
        assert_eq!(confirmed["status"], "complete", "{confirmed}");
        assert_eq!(total_received(&app, c.id(), &c.president).await, "15000");
    }
);

dual_test_with!(
    a_cumulative_tontine_pays_every_passage_out_of_one_shared_pot,
    |_| {},
    |app| async move {
        let c = circle(&app, json!({"type": "cumulative"})).await;
        collect_all(&app, &c).await;
        let list = passages(&app, &c, 3).await;
        let cash = |amount: Option<u32>| match amount {
            Some(a) => json!({"payout_method": "especes", "amount": a}),
            None => json!({"payout_method": "especes"}),
        };
        let paid = act(&app, &list[0], "payout", &c.treasurer, cash(Some(20000))).await;
        assert_eq!(paid["payout_amount"], "20000", "{paid}");
        let resp = app
            .post(&path(&list[1], "payout"), c.treasurer.token(), &cash(None))
            .await;
        let body = assert_error(resp, StatusCode::CONFLICT, "payout_exceeds_pot").await;
        assert!(
            body["detail"].as_str().unwrap().contains("5000 XOF"),
            "{body}"
        );
        let paid = act(&app, &list[1], "payout", &c.treasurer, cash(Some(5000))).await;
        assert_eq!(paid["payout_amount"], "5000", "{paid}");
        let resp = app
            .post(
                &path(&list[2], "payout"),
                c.treasurer.token(),
                &cash(Some(1)),
            )
            .await;
        assert_error(resp, StatusCode::CONFLICT, "payout_exceeds_pot").await;
    }
);

wave_test!(
    a_payout_to_another_number_needs_its_code_and_a_second_manager,
    |w| async move {
        let app = &w.app;
        let c = circle(app, json!({})).await;
        collect_all(app, &c).await;
        let list = passages(app, &c, 1).await;
        let first = &list[0];
        let other = "+221770009988";
        let to_other = json!({"payout_method": "wave", "payout_phone": other});
        let resp = app
            .post(&path(first, "payout"), c.treasurer.token(), &to_other)
            .await;
        assert_error(
            resp,
            StatusCode::UNPROCESSABLE_ENTITY,
            "payout_phone_unverified",
        )
        .await;
        // Only the beneficiary or a manager asks for the code; outsiders see nothing.
        let outsider = app.user("outsider").await;
        let ask = json!({"phone": other});
        let resp = app
            .post(&path(first, "payout-phone"), outsider.token(), &ask)
            .await;
        assert_error(resp, StatusCode::NOT_FOUND, "not_found").await;
        let resp = app
            .post(&path(first, "payout-phone"), c.members[0].token(), &ask)
            .await;
        assert_error(resp, StatusCode::FORBIDDEN, "forbidden").await;
        let resp = app
            .post(&path(first, "payout-phone"), c.president.token(), &ask)
            .await;
        assert_status(resp, StatusCode::OK).await;
        let code = code_in(&app.last_sms_to(other).await.expect("a code to that number"));
        // The code proves that number only, and a wrong code proves nothing.
        let confirm = |phone: &str, code: &str| json!({"phone": phone, "code": code});
        for body in [
            confirm(other, &wrong_code(&code)),
            confirm("+221770009999", &code),
        ] {
            let resp = app
                .post(
                    &path(first, "payout-phone/confirm"),
                    c.president.token(),
                    &body,
                )
                .await;
            assert_error(resp, StatusCode::BAD_REQUEST, "invalid_code").await;
        }
        let resp = app
            .post(
                &path(first, "payout-phone/confirm"),
                c.president.token(),
                &confirm(other, &code),
            )
            .await;
        assert_status(resp, StatusCode::OK).await;
        // Proven, but another number than the beneficiary's: it waits, nothing is sent.
        let resp = app
            .post(&path(first, "payout"), c.treasurer.token(), &to_other)
            .await;
        let request = assert_status(resp, StatusCode::ACCEPTED).await;
        assert_eq!(request["status"], "en_attente");
        assert_eq!(request["reasons"], json!(["autre_numero"]));
        assert_eq!(request["amount"], "25000");
        assert!(w.wave.payouts().is_empty());
        let resp = app
            .post(&path(first, "payout"), c.treasurer.token(), &to_other)
            .await;
        assert_error(resp, StatusCode::CONFLICT, "conflict").await;
        // Four eyes: not the requester, not a collector.
        let resp = app
            .post(
                &path(first, "payout/approve"),
                c.treasurer.token(),
                &json!({}),
            )
            .await;
        assert_error(resp, StatusCode::FORBIDDEN, "self_approval").await;
        let resp = app
            .post(
                &path(first, "payout/approve"),
                c.collector.token(),
                &json!({}),
            )
            .await;
        assert_error(resp, StatusCode::FORBIDDEN, "forbidden").await;
        let sent = assert_status(
            app.post(
                &path(first, "payout/approve"),
                c.president.token(),
                &json!({}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(sent["payout_method"], "wave", "{sent}");
        let payouts = w.wave.payouts();
        assert_eq!(payouts.len(), 1, "{payouts:?}");
        assert!(payouts[0].party.ends_with("770009988"), "{payouts:?}");
        let resp = app
            .post(
                &path(first, "payout/approve"),
                c.president.token(),
                &json!({}),
            )
            .await;
        assert_error(resp, StatusCode::CONFLICT, "conflict").await;
        let requests = assert_status(
            app.get(&path(first, "payout-requests"), c.treasurer.token())
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(requests[0]["status"], "approuve", "{requests}");
        assert_eq!(requests[0]["decided_by_id"], c.president.id.as_str());
        assert_eq!(w.wave.payouts().len(), 1);
    }
);

dual_test_with!(
    above_the_threshold_a_payout_waits_for_a_second_manager_who_may_reject_it,
    |c| c.payout_approval_threshold = "10000".parse().unwrap(),
    |app| async move {
        let c = circle(&app, json!({})).await;
        collect_all(&app, &c).await;
        let list = passages(&app, &c, 1).await;
        let first = &list[0];
        let cash = json!({"payout_method": "especes"});
        let resp = app
            .post(&path(first, "payout"), c.treasurer.token(), &cash)
            .await;
        let request = assert_status(resp, StatusCode::ACCEPTED).await;
        assert_eq!(request["reasons"], json!(["au_dessus_du_seuil"]));
        let listed = assert_status(
            app.get(
                &format!("/api/v1/passages/tontine/{}", c.id()),
                c.president.token(),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(listed[0]["payout_amount"], Value::Null, "nothing moved");
        assert_invalid(
            app.post(
                &path(first, "payout/reject"),
                c.president.token(),
                &json!({}),
            )
            .await,
            "reason",
        )
        .await;
        let rejected = act(
            &app,
            first,
            "payout/reject",
            &c.president,
            json!({"reason": "Le montant doit être vérifié en séance"}),
        )
        .await;
        assert_eq!(rejected["status"], "rejete", "{rejected}");
        let resp = app
            .post(
                &path(first, "payout/approve"),
                c.treasurer.token(),
                &json!({}),
            )
            .await;
        assert_error(resp, StatusCode::CONFLICT, "conflict").await;
        // Asked again, by the president this time: the tresorier approves.
        let resp = app
            .post(&path(first, "payout"), c.president.token(), &cash)
            .await;
        assert_status(resp, StatusCode::ACCEPTED).await;
        let resp = app
            .post(
                &path(first, "payout/approve"),
                c.president.token(),
                &json!({}),
            )
            .await;
        assert_error(resp, StatusCode::FORBIDDEN, "self_approval").await;
        let paid = act(&app, first, "payout/approve", &c.treasurer, json!({})).await;
        assert_eq!(paid["payout_amount"], "25000", "{paid}");
        for (action, count) in [
            ("passage.payout_requested", 2),
            ("passage.payout_rejected", 1),
            ("passage.payout_recorded", 1),
        ] {
            assert_eq!(
                audited(&app, c.id(), &c.president, action).await,
                count,
                "{action}"
            );
        }
    }
);
