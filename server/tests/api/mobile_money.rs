// Over 400 lines on purpose: the tests of one area, each standing alone; splitting them by size
// would separate the tests of one rule.
//! Mobile money end to end, on both engines, against the providers' local stand-ins:
//! initiation, callbacks (genuine, duplicated, forged), the poller (late success, timeout,
//! retried start, two pollers racing) and payouts through MTN and Wave. The methods with a
//! hosted page and authenticated callbacks (Wave, Orange Money, and Free Money and Moov Money
//! through CinetPay) share one table of scenarios.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use kobiri_server::mobile_money::standin::{self, CallbackMessage, Outcome, StandIn};
use kobiri_server::mobile_money::{Registry, poll};
use kobiri_server::{AppState, Parts, notify::Recorder, store};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::*;
use crate::payments::{Circle, circle};

/// Where the configuration says providers reach Kobiri; tests rewrite it to the test server.
const PUBLIC: &str = "http://kobiri.test";

struct Momo {
    app: TestApp,
    mtn: StandIn,
    wave: StandIn,
    orange: StandIn,
    /// Serves Free Money and Moov Money (their default provider).
    cinetpay: StandIn,
}

impl Momo {
    /// A server with Orange, MTN, Wave and CinetPay configured at their stand-ins.
    async fn spawn(engine: Engine) -> Option<Self> {
        let mtn = StandIn::mtn().await.unwrap();
        let wave = StandIn::wave().await.unwrap();
        let orange = StandIn::orange().await.unwrap();
        let cinetpay = StandIn::cinetpay().await.unwrap();
        let (m, w, o, cp) = (
            standin::mtn::config(&mtn),
            standin::wave::config(&wave),
            standin::orange::config(&orange),
            standin::cinetpay::config(&cinetpay),
        );
        let app = TestApp::spawn_with(engine, move |c| {
            c.mobile_money.mtn = Some(m);
            c.mobile_money.wave = Some(w);
            c.mobile_money.orange = Some(o);
            c.mobile_money.cinetpay = Some(cp);
            c.public_base_url = PUBLIC.to_owned();
        })
        .await?;
        wave.set_webhook_url(&app.url("/api/v1/payments/callback/wave"));
        Some(Self {
            app,
            mtn,
            wave,
            orange,
            cinetpay,
        })
    }

    /// The stand-in of the provider serving `method`.
    fn stand_in(&self, method: &str) -> &StandIn {
        match method {
            "wave" => &self.wave,
            "orange_money" => &self.orange,
            "mtn_momo" => &self.mtn,
            "free_money" | "moov_money" => &self.cinetpay,
            other => panic!("no stand-in serves {other}"),
        }
    }

    /// The callback for `payment` with its proof of origin forged: a Wave signature made with
    /// another secret, an Orange `notif_token` that is not the stored one, a CinetPay `x-token`
    /// that is not the merchant secret's HMAC of the form.
    fn forged_callback(&self, method: &str, payment: &Value) -> CallbackMessage {
        let mut forged = self.callback(self.stand_in(method), payment);
        match method {
            "wave" => {
                let t = chrono::Utc::now().timestamp();
                let bad = standin::wave::signature("not-the-secret", t, &forged.body);
                forged
                    .headers
                    .insert("wave-signature", bad.parse().unwrap());
            }
            "orange_money" => {
                let mut body: Value = serde_json::from_slice(&forged.body).unwrap();
                body["notif_token"] = json!("not-the-token");
                forged.body = serde_json::to_vec(&body).unwrap();
            }
            "free_money" | "moov_money" => {
                let bad = "0".repeat(64);
                forged.headers.insert("x-token", bad.parse().unwrap());
            }
            other => panic!("no forgery for {other}"),
        }
        forged
    }

    /// `payer`'s own payments.
    async fn payments_of(&self, payer: &TestUser) -> Vec<Value> {
        let mine = assert_status(
            self.app.get("/api/v1/payments", payer.token()).await,
            StatusCode::OK,
        )
        .await;
        mine["items"].as_array().unwrap().clone()
    }

    async fn initiate(&self, c: &Circle, payer: &TestUser, method: &str) -> reqwest::Response {
        self.app
            .post(
                "/api/v1/payments/initiate",
                payer.token(),
                &json!({"session_id": c.session["id"], "method": method,
                    "phone_number": payer.phone}),
            )
            .await
    }

    /// Initiates and expects 201; returns the payment.
    async fn initiated(&self, c: &Circle, payer: &TestUser, method: &str) -> Value {
        assert_status(self.initiate(c, payer, method).await, StatusCode::CREATED).await
    }

    /// The stand-in's callback for `payment`, addressed to the test server.
    fn callback(&self, stand_in: &StandIn, payment: &Value) -> CallbackMessage {
        let id = uuid::Uuid::parse_str(payment["id"].as_str().unwrap()).unwrap();
        let mut message = stand_in
            .callback(id)
            .expect("the stand-in knows the payment");
        message.url = message.url.replacen(PUBLIC, &self.app.address, 1);
        message
    }

    async fn payment(&self, c: &Circle, payment: &Value) -> Value {
        let path = format!("/api/v1/payments/{}", payment["id"].as_str().unwrap());
        assert_status(
            self.app.get(&path, c.president.token()).await,
            StatusCode::OK,
        )
        .await
    }

    async fn collected(&self, c: &Circle) -> String {
        collected(&self.app, c).await
    }

    /// How many audit entries of the tontine have `action`.
    async fn audited(&self, c: &Circle, action: &str) -> usize {
        let path = format!("/api/v1/tontines/{}/audit?page_size=100", c.id());
        let audit = assert_status(
            self.app.get(&path, c.president.token()).await,
            StatusCode::OK,
        )
        .await;
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == action)
            .count()
    }

    /// Moves the clock by `by` and runs one poll pass.
    async fn poll_after(&self, by: TimeDelta) -> poll::PollReport {
        self.app.clock.advance(by);
        poll::run_pass(&self.app.state.mobile_money).await.unwrap()
    }
}

/// `name::sqlite` and `name::postgres`, each with a fresh server and fresh stand-ins.
macro_rules! momo_test {
    ($name:ident, |$m:ident| $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $m = Momo::spawn(Engine::Sqlite).await.unwrap();
                $body.await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($m) = Momo::spawn(Engine::Postgres).await else {
                    return;
                };
                $body.await;
            }
        }
    };
}

/// The shared API scenarios: `method_scenarios!(module, "method")` runs all of them for a
/// method with a hosted page and authenticated callbacks, on both engines
/// (`module::scenario::sqlite`, `module::scenario::postgres`); a list after the method runs
/// only those.
macro_rules! method_scenarios {
    ($module:ident, $method:literal) => {
        method_scenarios!($module, $method, [
            is_paid_once_by_its_callback,
            refuses_a_forged_callback,
            is_settled_by_the_poller_without_a_callback,
            ends_echoue_when_the_provider_says_no,
        ]);
    };
    ($module:ident, $method:literal, [$($scenario:ident),+ $(,)?]) => {
        mod $module {
            use super::*;

            $(momo_test!($scenario, |m| scenario::$scenario(&m, $method));)+
        }
    };
}

method_scenarios!(wave, "wave");
method_scenarios!(orange_money, "orange_money");
method_scenarios!(free_money, "free_money");
method_scenarios!(moov_money, "moov_money");
// MTN has no hosted page and nothing to forge (its callback is a mere trigger).
method_scenarios!(
    mtn_momo,
    "mtn_momo",
    [ends_echoue_when_the_provider_says_no]
);

mod scenario {
    use super::*;

    /// 201 with the provider's reference and hosted page; the genuine callback validates the
    /// payment, moves the session's total and tells the member; a duplicate changes nothing.
    pub async fn is_paid_once_by_its_callback(m: &Momo, method: &str) {
        let c = circle(&m.app, json!({})).await;
        let awa = &c.members[0];
        let payment = m.initiated(&c, awa, method).await;
        assert_eq!(payment["status"], "en_cours");
        assert_eq!(payment["method"], method);
        assert_eq!(payment["amount"], "5000");
        assert_eq!(payment["requires_validation"], false);
        assert!(payment["operator_reference"].is_string(), "{payment}");
        assert!(payment["payment_url"].is_string(), "{payment}");

        let callback = m.callback(m.stand_in(method), &payment);
        assert_eq!(callback.send().await.unwrap(), StatusCode::OK);
        assert_eq!(callback.send().await.unwrap(), StatusCode::OK, "duplicate");

        let paid = m.payment(&c, &payment).await;
        assert_eq!(paid["status"], "valide");
        assert_eq!(paid["requires_validation"], false);
        assert!(paid["validated_at"].is_string() && paid["completed_at"].is_string());
        assert_eq!(m.collected(&c).await, "5000");
        assert_eq!(m.audited(&c, "payment.initiated").await, 1);
        assert_eq!(m.audited(&c, "payment.confirmed").await, 1);
        let inbox = assert_status(
            m.app.get("/api/v1/notifications", awa.token()).await,
            StatusCode::OK,
        )
        .await;
        let confirmations = inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["type"] == "confirmation_paiement")
            .count();
        assert_eq!(confirmations, 1, "{inbox}");
    }

    /// A callback whose proof of origin is forged is 401 and changes nothing; the genuine one
    /// still settles the payment.
    pub async fn refuses_a_forged_callback(m: &Momo, method: &str) {
        let c = circle(&m.app, json!({})).await;
        let payment = m.initiated(&c, &c.members[0], method).await;
        let forged = m.forged_callback(method, &payment);
        assert_eq!(m.app.security_events("callback_refused", None).await, 0);
        assert_eq!(forged.send().await.unwrap(), StatusCode::UNAUTHORIZED);
        assert_eq!(m.app.security_events("callback_refused", None).await, 1);
        assert_eq!(m.payment(&c, &payment).await["status"], "en_cours");
        assert_eq!(m.collected(&c).await, "0");
        assert_eq!(m.audited(&c, "payment.confirmed").await, 0);
        let genuine = m.callback(m.stand_in(method), &payment);
        assert_eq!(genuine.send().await.unwrap(), StatusCode::OK);
        assert_eq!(m.payment(&c, &payment).await["status"], "valide");
        assert_eq!(m.collected(&c).await, "5000");
    }

    /// No callback ever comes: the poller asks the provider once, 30 s after the start, and
    /// settles the payment; it never asks again.
    pub async fn is_settled_by_the_poller_without_a_callback(m: &Momo, method: &str) {
        let c = circle(&m.app, json!({})).await;
        let payment = m.initiated(&c, &c.members[0], method).await;
        assert_eq!(
            m.poll_after(TimeDelta::seconds(5)).await,
            poll::PollReport::default()
        );
        let report = m.poll_after(TimeDelta::seconds(26)).await;
        assert_eq!(report.settled, 1, "{report:?}");
        assert_eq!(m.payment(&c, &payment).await["status"], "valide");
        assert_eq!(m.collected(&c).await, "5000");
        assert_eq!(m.audited(&c, "payment.confirmed").await, 1);
        assert_eq!(
            m.poll_after(TimeDelta::hours(1)).await,
            poll::PollReport::default()
        );
        let id = uuid::Uuid::parse_str(payment["id"].as_str().unwrap()).unwrap();
        assert_eq!(m.stand_in(method).payment(id).unwrap().queries, 1);
    }

    /// The payer refuses on the provider's side: the payment ends `echoue` with the reason,
    /// and the member may try again. A provider that refuses the start itself answers 502 and
    /// the payment is failed, not left pending.
    pub async fn ends_echoue_when_the_provider_says_no(m: &Momo, method: &str) {
        let c = circle(&m.app, json!({})).await;
        let stand_in = m.stand_in(method);
        stand_in.set_outcome(Outcome::Fail);
        let payment = m.initiated(&c, &c.members[0], method).await;
        let answer = m.callback(stand_in, &payment).send().await.unwrap();
        assert_eq!(answer, StatusCode::OK);
        let failed = m.payment(&c, &payment).await;
        assert_eq!(failed["status"], "echoue");
        assert!(failed["rejection_reason"].is_string(), "{failed}");
        assert_eq!(m.collected(&c).await, "0");
        stand_in.set_outcome(Outcome::Succeed);
        m.initiated(&c, &c.members[0], method).await;

        stand_in.fail_next(1, StatusCode::BAD_REQUEST);
        assert_error(
            m.initiate(&c, &c.members[1], method).await,
            StatusCode::BAD_GATEWAY,
            "provider_rejected",
        )
        .await;
        let refused = m.payments_of(&c.members[1]).await;
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0]["status"], "echoue", "{refused:?}");
        assert_eq!(m.collected(&c).await, "0");
    }
}

momo_test!(
    a_cinetpay_notification_on_the_aggregators_own_route_settles_the_payment,
    |m| async move {
        let c = circle(&m.app, json!({})).await;
        let free = m.initiated(&c, &c.members[0], "free_money").await;
        let moov = m.initiated(&c, &c.members[1], "moov_money").await;
        // Each method's notify_url names its own route…
        for (payment, segment) in [(&free, "free"), (&moov, "moov")] {
            let id = uuid::Uuid::parse_str(payment["id"].as_str().unwrap()).unwrap();
            let notify_url = m.cinetpay.payment(id).unwrap().notify_url.unwrap();
            assert_eq!(
                notify_url,
                format!("{PUBLIC}/api/v1/payments/callback/{segment}")
            );
        }
        // … and CinetPay's own route takes the notifications of both.
        let aggregator = m.app.url("/api/v1/payments/callback/cinetpay");
        for payment in [&free, &moov] {
            let mut message = m.callback(&m.cinetpay, payment);
            message.url.clone_from(&aggregator);
            let mut forged = m.forged_callback(payment["method"].as_str().unwrap(), payment);
            forged.url.clone_from(&aggregator);
            assert_eq!(forged.send().await.unwrap(), StatusCode::UNAUTHORIZED);
            assert_eq!(m.payment(&c, payment).await["status"], "en_cours");
            assert_eq!(message.send().await.unwrap(), StatusCode::OK);
            assert_eq!(m.payment(&c, payment).await["status"], "valide");
        }
        assert_eq!(m.collected(&c).await, "10000");
        assert_eq!(m.audited(&c, "payment.confirmed").await, 2);
    }
);

momo_test!(
    a_payment_pending_at_first_is_settled_later_by_the_poller,
    |m| async move {
        let c = circle(&m.app, json!({})).await;
        m.mtn.set_outcome(Outcome::PendingFor(2));
        let payment = m.initiated(&c, &c.members[0], "mtn_momo").await;
        // Not due yet.
        assert_eq!(m.poll_after(TimeDelta::seconds(5)).await.pending, 0);
        assert_eq!(m.poll_after(TimeDelta::seconds(30)).await.pending, 1);
        assert_eq!(m.poll_after(TimeDelta::seconds(40)).await.pending, 1);
        assert_eq!(m.payment(&c, &payment).await["status"], "en_cours");
        let report = m.poll_after(TimeDelta::minutes(2)).await;
        assert_eq!(report.settled, 1, "{report:?}");
        assert_eq!(m.payment(&c, &payment).await["status"], "valide");
        assert_eq!(m.collected(&c).await, "5000");
        // Settled: never polled again.
        assert_eq!(
            m.poll_after(TimeDelta::hours(1)).await,
            poll::PollReport::default()
        );
    }
);

momo_test!(
    a_payment_never_confirmed_fails_after_the_timeout,
    |m| async move {
        let mut c = circle(&m.app, json!({})).await;
        m.mtn.set_outcome(Outcome::PendingFor(10_000));
        let payment = m.initiated(&c, &c.members[0], "mtn_momo").await;
        for _ in 0..5 {
            m.poll_after(TimeDelta::minutes(5)).await;
        }
        assert_eq!(m.payment(&c, &payment).await["status"], "en_cours");
        m.poll_after(TimeDelta::minutes(20)).await;
        // 45 minutes later, the president's access token has expired.
        c.president = m.app.relogin(&c.president).await;
        let failed = m.payment(&c, &payment).await;
        assert_eq!(failed["status"], "echoue");
        assert!(
            failed["rejection_reason"]
                .as_str()
                .unwrap()
                .contains("30 minutes"),
            "{failed}"
        );
        assert_eq!(m.collected(&c).await, "0");
    }
);

momo_test!(
    a_callback_that_overtakes_the_initiate_answer_settles_the_payment,
    |m| async move {
        let c = circle(&m.app, json!({})).await;
        // A first payment caches MTN's token, so only the request to pay is slow below.
        m.initiated(&c, &c.members[0], "mtn_momo").await;
        m.mtn.set_delay(Some(Duration::from_millis(1500)));
        let moussa = c.members[1].clone();
        let initiate = m.initiate(&c, &moussa, "mtn_momo");
        let overtake = async {
            // The payment is stored before the provider is called: find it, and call back.
            let mut id = None;
            for _ in 0..50 {
                tokio::time::sleep(Duration::from_millis(20)).await;
                if let Some(p) = m.payments_of(&moussa).await.first() {
                    id = Some(p["id"].as_str().unwrap().to_owned());
                    break;
                }
            }
            let id = id.expect("the payment is stored before the provider answers");
            let sent_at = std::time::Instant::now();
            let body = json!({"externalId": id, "status": "SUCCESSFUL"});
            let answer = m
                .app
                .post("/api/v1/payments/callback/mtn", None, &body)
                .await;
            (answer.status(), id, sent_at)
        };
        let ((initiated, answered), (callback_status, id, sent_at)) = tokio::join!(
            async {
                let r = initiate.await;
                (r, std::time::Instant::now())
            },
            overtake
        );
        assert_status(initiated, StatusCode::CREATED).await;
        assert_eq!(callback_status, StatusCode::OK);
        assert!(
            sent_at < answered,
            "the callback was sent before the answer"
        );
        m.mtn.set_delay(None);
        let paid = m.payment(&c, &json!({"id": id})).await;
        assert_eq!(paid["status"], "valide", "{paid}");
        assert_eq!(m.collected(&c).await, "5000");
    }
);

momo_test!(
    forged_callbacks_are_refused_and_change_nothing,
    |m| async move {
        let c = circle(&m.app, json!({})).await;
        let payment = m.initiated(&c, &c.members[0], "wave").await;
        // MTN: a reference no payment has.
        let unknown = m
            .app
            .post(
                "/api/v1/payments/callback/mtn",
                None,
                &json!({"externalId": uuid::Uuid::new_v4(), "status": "SUCCESSFUL"}),
            )
            .await;
        assert_error(unknown, StatusCode::NOT_FOUND, "not_found").await;
        // A segment that names no provider.
        let nowhere = m
            .app
            .post("/api/v1/payments/callback/paypal", None, &json!({}))
            .await;
        assert_eq!(nowhere.status(), StatusCode::NOT_FOUND);
        assert_eq!(m.payment(&c, &payment).await["status"], "en_cours");
        assert_eq!(m.collected(&c).await, "0");

        // MTN confirms another amount than the payment's: not validated.
        m.mtn.report_amount(Decimal::from(4000));
        let short = m.initiated(&c, &c.members[1], "mtn_momo").await;
        let answer = m.callback(&m.mtn, &short).send().await.unwrap();
        assert_eq!(answer, StatusCode::CONFLICT);
        let flagged = m.payment(&c, &short).await;
        assert_eq!(flagged["status"], "echoue");
        assert!(
            flagged["rejection_reason"]
                .as_str()
                .unwrap()
                .contains("4000"),
            "{flagged}"
        );
        assert_eq!(m.collected(&c).await, "0");
        assert_eq!(m.audited(&c, "payment.amount_mismatch").await, 1);
    }
);

momo_test!(
    a_start_the_provider_could_not_answer_is_retried_by_the_poller,
    |m| async move {
        let c = circle(&m.app, json!({})).await;
        m.mtn.fail_next(1, StatusCode::SERVICE_UNAVAILABLE);
        let payment = m.initiated(&c, &c.members[0], "mtn_momo").await;
        assert_eq!(payment["status"], "en_cours");
        assert!(payment["operator_reference"].is_null(), "{payment}");
        let report = m.poll_after(TimeDelta::seconds(31)).await;
        assert_eq!(report.settled, 1, "{report:?}");
        let paid = m.payment(&c, &payment).await;
        assert_eq!(paid["status"], "valide");
        assert!(paid["operator_reference"].is_string(), "{paid}");
        assert_eq!(m.mtn.requests_to("/requesttopay").len(), 1);
        assert_eq!(m.collected(&c).await, "5000");
    }
);

momo_test!(
    initiating_refuses_bad_requests_with_contract_errors,
    |m| async move {
        let c = circle(&m.app, json!({})).await;
        let awa = &c.members[0];
        assert_invalid(m.initiate(&c, awa, "especes").await, "method").await;
        let bad_phone = m
            .app
            .post(
                "/api/v1/payments/initiate",
                awa.token(),
                &json!({"session_id": c.session["id"], "method": "wave", "phone_number": "12"}),
            )
            .await;
        assert_invalid(bad_phone, "phone_number").await;
        let outsider = m.app.user("outsider").await;
        assert_error(
            m.initiate(&c, &outsider, "wave").await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        // One live payment per member and session.
        m.initiated(&c, awa, "wave").await;
        assert_error(
            m.initiate(&c, awa, "mtn_momo").await,
            StatusCode::CONFLICT,
            "conflict",
        )
        .await;
    }
);

dual_test!(
    a_method_whose_provider_is_not_configured_is_refused,
    |app| async move {
        // No provider is configured for tests: Free Money's CinetPay among them.
        let c = circle(&app, json!({})).await;
        let body = json!({"session_id": c.session["id"], "method": "free_money",
            "phone_number": c.members[0].phone});
        assert_error(
            app.post("/api/v1/payments/initiate", c.members[0].token(), &body)
                .await,
            StatusCode::BAD_REQUEST,
            "provider_not_configured",
        )
        .await;
    }
);

/// The `collected_amount` of `c`'s open session.
pub async fn collected(server: &Http, c: &Circle) -> String {
    let path = format!("/api/v1/sessions/{}", c.session["id"].as_str().unwrap());
    let session = assert_status(server.get(&path, c.president.token()).await, StatusCode::OK).await;
    session["collected_amount"].as_str().unwrap().to_owned()
}

/// Awa's and Moussa's cash for `c`'s open session, recorded by the collector and validated by
/// the treasurer: 10000 in the pot of the first passage.
pub async fn fund_first_pot(app: &TestApp, c: &Circle) {
    for member in &c.members {
        let payment = assert_status(
            crate::payments::pay(app, c, &c.collector, member).await,
            StatusCode::CREATED,
        )
        .await;
        let path = format!(
            "/api/v1/payments/{}/validate",
            payment["id"].as_str().unwrap()
        );
        let body = json!({"action": "approve"});
        assert_status(
            app.post(&path, c.treasurer.token(), &body).await,
            StatusCode::OK,
        )
        .await;
    }
}

/// The first passage of `c`'s tontine (the president's), drawn and started; the president's
/// phone is verified, so a payout may go to it.
pub async fn started_passage(app: &TestApp, c: &Circle) -> Value {
    app.mark_phone_verified(&c.president).await;
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
    let passage = order["passages"][0].clone();
    let path = format!("/api/v1/passages/{}/start", passage["id"].as_str().unwrap());
    assert_status(
        app.post(&path, c.president.token(), &json!({})).await,
        StatusCode::OK,
    )
    .await
}

/// The treasurer asks `server` to send 10000 of `passage`'s pot with `method` to the
/// beneficiary's own (verified) number.
pub async fn payout(server: &Http, c: &Circle, passage: &Value, method: &str) -> reqwest::Response {
    let path = format!(
        "/api/v1/passages/{}/payout",
        passage["id"].as_str().unwrap()
    );
    server
        .post(
            &path,
            c.treasurer.token(),
            &json!({"payout_method": method, "amount": 10000}),
        )
        .await
}

/// Two payout requests at once: one sends, the other is refused; the provider pays once and
/// the passage completes when it confirms.
async fn pays_out_exactly_once(m: &Momo, stand_in: &StandIn, method: &str) {
    let c = circle(&m.app, json!({})).await;
    fund_first_pot(&m.app, &c).await;
    let passage = started_passage(&m.app, &c).await;
    let (a, b) = tokio::join!(
        payout(&m.app, &c, &passage, method),
        payout(&m.app, &c, &passage, method)
    );
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    m.poll_after(TimeDelta::seconds(1)).await;
    m.poll_after(TimeDelta::minutes(1)).await;
    let again = payout(&m.app, &c, &passage, method).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(stand_in.payouts().len(), 1, "{:?}", stand_in.payouts());
    assert!(
        stand_in.payouts()[0]
            .party
            .ends_with(&c.president.phone[4..])
    );
    let path = format!("/api/v1/passages/{}", passage["id"].as_str().unwrap());
    let list = assert_status(
        m.app
            .get(
                &format!("/api/v1/passages/tontine/{}", c.id()),
                c.president.token(),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    let done = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == passage["id"])
        .unwrap_or_else(|| panic!("{path} listed"));
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(done["payout_status"], "valide", "{done}");
    assert_eq!(done["payout_method"], method);
    assert_eq!(m.audited(&c, "passage.payout_sent").await, 1);
    assert_eq!(m.audited(&c, "passage.payout_confirmed").await, 1);
}

momo_test!(
    an_mtn_payout_is_sent_exactly_once_even_when_asked_twice,
    |m| async move { pays_out_exactly_once(&m, &m.mtn, "mtn_momo").await }
);

momo_test!(
    a_wave_payout_is_sent_exactly_once_even_when_asked_twice,
    |m| async move { pays_out_exactly_once(&m, &m.wave, "wave").await }
);

momo_test!(orange_money_cannot_send_payouts, |m| async move {
    let c = circle(&m.app, json!({})).await;
    fund_first_pot(&m.app, &c).await;
    let passage = started_passage(&m.app, &c).await;
    let body = assert_error(
        payout(&m.app, &c, &passage, "orange_money").await,
        StatusCode::BAD_REQUEST,
        "payout_unavailable",
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("n'est pas disponible pour les versements"),
        "{body}"
    );
    // A transfer made by hand is still recorded as declared.
    let path = format!(
        "/api/v1/passages/{}/payout",
        passage["id"].as_str().unwrap()
    );
    assert_status(
        m.app
            .post(
                &path,
                c.treasurer.token(),
                &json!({"payout_method": "orange_money", "payout_reference": "OM-42",
                    "amount": 10000}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
});

/// Two servers (two states, two pools) on one PostgreSQL database poll at once: each payment
/// is settled exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pollers_racing_on_postgres_settle_each_payment_once() {
    let Some(m) = Momo::spawn(Engine::Postgres).await else {
        return;
    };
    let c = circle(&m.app, json!({})).await;
    let payers: Vec<TestUser> = std::iter::once(c.president.clone())
        .chain([c.treasurer.clone(), c.collector.clone()])
        .chain(c.members.iter().cloned())
        .collect();
    for payer in &payers {
        m.initiated(&c, payer, "mtn_momo").await;
    }
    let config = m.app.config.clone();
    let other = AppState::new(Parts {
        store: store::connect(&config.database_url, 4).await.unwrap(),
        clock: m.app.clock.clone(),
        mailer: Arc::new(Recorder::default()),
        sms: Arc::new(Recorder::default()),
        mobile_money: Registry::from_config(&config.mobile_money).unwrap(),
        config,
    })
    .unwrap();
    m.app.clock.advance(TimeDelta::seconds(31));
    let (a, b) = tokio::join!(
        poll::run_pass(&m.app.state.mobile_money),
        poll::run_pass(&other.mobile_money)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.settled + b.settled, 5, "{a:?} {b:?}");
    assert_eq!(m.collected(&c).await, "25000");
    assert_eq!(m.audited(&c, "payment.confirmed").await, 5);
}
