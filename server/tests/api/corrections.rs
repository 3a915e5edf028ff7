//! Corrections pushed by phones: the amount rule of a new payment, four eyes on money that was
//! validated, and a member counted as paid only when validated payments reach the
//! contribution.

use kobiri_core::{
    PaymentId,
    sync::{Mutation, MutationKind},
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::*;
use crate::payments::{Circle, circle};
use crate::sync::{Phone, outcomes};

fn paid_id(m: &Mutation) -> PaymentId {
    match &m.kind {
        MutationKind::RecordCashPayment { payment_id, .. }
        | MutationKind::CorrectPayment { payment_id, .. } => *payment_id,
        _ => unreachable!(),
    }
}

fn correct(phone: &mut Phone, original: PaymentId, amount: &str) -> Mutation {
    phone.record(MutationKind::CorrectPayment {
        payment_id: PaymentId::new(),
        corrects: original,
        amount: amount.to_owned(),
        reason: "erreur de saisie".to_owned(),
    })
}

async fn payment(app: &Http, c: &Circle, id: PaymentId) -> Value {
    assert_status(
        app.get(&format!("/api/v1/payments/{id}"), c.president.token())
            .await,
        StatusCode::OK,
    )
    .await
}

async fn flags(app: &Http, c: &Circle) -> Vec<Value> {
    let all = assert_status(
        app.get(
            &format!("/api/v1/tontines/{}/flags", c.id()),
            c.president.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    all.as_array().unwrap().clone()
}

async fn resolve(app: &Http, c: &Circle, flag: &Value, by: &TestUser) -> reqwest::Response {
    app.post(
        &format!(
            "/api/v1/tontines/{}/flags/{}/resolve",
            c.id(),
            flag["id"].as_str().unwrap()
        ),
        by.token(),
        &json!({"resolution": "accepte", "note": "vérifié avec le membre"}),
    )
    .await
}

async fn validate(app: &Http, id: PaymentId, by: &TestUser) -> reqwest::Response {
    app.post(
        &format!("/api/v1/payments/{id}/validate"),
        by.token(),
        &json!({"action": "approve"}),
    )
    .await
}

async fn session_figures(app: &Http, c: &Circle) -> (Value, Value) {
    let sid = c.session["id"].as_str().unwrap();
    let session = assert_status(
        app.get(&format!("/api/v1/sessions/{sid}"), c.president.token())
            .await,
        StatusCode::OK,
    )
    .await;
    let stats = assert_status(
        app.get(
            &format!("/api/v1/sessions/{sid}/stats"),
            c.president.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    (session, stats)
}

/// The collector's phone, after it brought `member`'s 5,000 XOF that the treasurer validated.
async fn validated_cash(app: &Http, c: &Circle, member: &TestUser) -> (Phone, Mutation) {
    let sid = c.session["id"].as_str().unwrap().to_owned();
    let mut collector = Phone::enroll(app, &c.collector).await;
    let cash = collector.pay(c, member, &sid);
    assert_eq!(
        outcomes(&collector.sync(app, vec![cash.clone()]).await),
        ["applied"]
    );
    assert_status(
        validate(app, paid_id(&cash), &c.treasurer).await,
        StatusCode::OK,
    )
    .await;
    (collector, cash)
}

dual_test!(
    a_member_correcting_their_own_payment_to_one_franc_is_flagged_and_never_counts_as_paid,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let awa = &c.members[0];
        let sid = c.session["id"].as_str().unwrap().to_owned();
        let mut phone = Phone::enroll(&app, awa).await;
        let own = phone.pay(&c, awa, &sid);
        assert_eq!(
            outcomes(&phone.sync(&app, vec![own.clone()]).await),
            ["applied"]
        );
        let cheat = correct(&mut phone, paid_id(&own), "1");
        let answer = phone.sync(&app, vec![cheat.clone()]).await;
        assert_eq!(outcomes(&answer), ["flagged"], "{answer:?}");
        let open = flags(&app, &c).await;
        assert_eq!(open.len(), 1);
        assert_eq!(open[0]["code"], "wrong_amount");
        assert_eq!(open[0]["payment_id"], paid_id(&cheat).to_string());
        // Nothing moved: the original still waits, the 1 XOF entry cannot be validated.
        assert_eq!(
            payment(&app, &c, paid_id(&own)).await["status"],
            "en_attente"
        );
        assert_error(
            validate(&app, paid_id(&cheat), &c.treasurer).await,
            StatusCode::BAD_REQUEST,
            "business_rule",
        )
        .await;
        // Even if a treasurer lets it through, 1 XOF does not make Awa paid.
        assert_status(
            resolve(&app, &c, &open[0], &c.treasurer).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(payment(&app, &c, paid_id(&own)).await["status"], "annule");
        assert_status(
            validate(&app, paid_id(&cheat), &c.treasurer).await,
            StatusCode::OK,
        )
        .await;
        let (session, stats) = session_figures(&app, &c).await;
        assert_eq!(session["collected_amount"], "1");
        assert_eq!(stats["total_amount_collected"], "1");
        assert_eq!(stats["total_received_payments"], 0);
        assert_eq!(stats["missing_payments"], 5);
        assert!(
            stats["pending_members"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["user_id"] == awa.id.as_str()),
            "{stats}"
        );
    }
);

dual_test!(
    a_correction_to_the_contribution_of_a_pending_payment_applies_at_once,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let sid = c.session["id"].as_str().unwrap().to_owned();
        let mut phone = Phone::enroll(&app, &c.collector).await;
        let first = phone.pay(&c, &c.members[0], &sid);
        let fix = correct(&mut phone, paid_id(&first), "5000");
        assert_eq!(
            outcomes(&phone.sync(&app, vec![first.clone()]).await),
            ["applied"]
        );
        let answer = phone.sync(&app, vec![fix.clone()]).await;
        assert_eq!(outcomes(&answer), ["applied"]);
        assert_eq!(payment(&app, &c, paid_id(&first)).await["status"], "annule");
        let entry = payment(&app, &c, paid_id(&fix)).await;
        assert_eq!(entry["status"], "en_attente");
        // Its recorder cannot validate it; another manager can.
        assert_status(
            validate(&app, paid_id(&fix), &c.treasurer).await,
            StatusCode::OK,
        )
        .await;
        assert!(flags(&app, &c).await.is_empty());
    }
);

dual_test!(
    a_correction_of_a_validated_payment_waits_for_a_second_manager,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let (_collector, cash) = validated_cash(&app, &c, &c.members[0]).await;
        assert_eq!(
            session_figures(&app, &c).await.0["collected_amount"],
            "5000"
        );
        // The treasurer corrects the validated payment from a phone: it is only a request.
        let mut treasurer = Phone::enroll(&app, &c.treasurer).await;
        let fix = correct(&mut treasurer, paid_id(&cash), "5000");
        let answer = treasurer.sync(&app, vec![fix.clone()]).await;
        assert_eq!(outcomes(&answer), ["flagged"], "{answer:?}");
        let open = flags(&app, &c).await;
        assert_eq!(open[0]["code"], "correction");
        assert_eq!(payment(&app, &c, paid_id(&cash)).await["status"], "valide");
        assert_eq!(
            session_figures(&app, &c).await.0["collected_amount"],
            "5000"
        );
        // Four eyes: the author cannot accept their own correction.
        assert_error(
            resolve(&app, &c, &open[0], &c.treasurer).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        // The president accepts it: the validated payment is refunded and leaves the pot,
        // the compensating entry waits for validation again.
        assert_status(
            resolve(&app, &c, &open[0], &c.president).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            payment(&app, &c, paid_id(&cash)).await["status"],
            "rembourse"
        );
        let (session, stats) = session_figures(&app, &c).await;
        assert_eq!(session["collected_amount"], "0");
        assert_eq!(stats["total_received_payments"], 0);
        let entry = payment(&app, &c, paid_id(&fix)).await;
        assert_eq!(
            (entry["status"].as_str(), entry["amount"].as_str()),
            (Some("en_attente"), Some("5000"))
        );
        assert_error(
            validate(&app, paid_id(&fix), &c.treasurer).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        assert_status(
            validate(&app, paid_id(&fix), &c.president).await,
            StatusCode::OK,
        )
        .await;
        let (session, stats) = session_figures(&app, &c).await;
        assert_eq!(session["collected_amount"], "5000");
        assert_eq!(stats["total_received_payments"], 1);
    }
);

dual_test!(
    withdrawing_a_validated_payment_needs_a_review_and_a_rejection_keeps_it,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let (mut collector, cash) = validated_cash(&app, &c, &c.members[1]).await;
        let withdraw = correct(&mut collector, paid_id(&cash), "0");
        assert_eq!(
            outcomes(&collector.sync(&app, vec![withdraw]).await),
            ["flagged"]
        );
        let open = flags(&app, &c).await;
        assert_eq!(open[0]["code"], "withdrawal");
        assert_eq!(open[0]["payment_id"], paid_id(&cash).to_string());
        let reject = app
            .post(
                &format!(
                    "/api/v1/tontines/{}/flags/{}/resolve",
                    c.id(),
                    open[0]["id"].as_str().unwrap()
                ),
                c.president.token(),
                &json!({"resolution": "rejete", "note": "le membre a bien payé"}),
            )
            .await;
        assert_status(reject, StatusCode::OK).await;
        assert_eq!(payment(&app, &c, paid_id(&cash)).await["status"], "valide");
        assert_eq!(
            session_figures(&app, &c).await.0["collected_amount"],
            "5000"
        );
    }
);
