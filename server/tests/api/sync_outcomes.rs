//! `/sync` answers one outcome per mutation: a mutation the database refuses (an id that is
//! already another row's) is rejected alone, and the mutations after it still apply.

use kobiri_core::{
    MemberId, PaymentId, SessionId, UserId,
    sync::{Mutation, MutationKind, Outcome},
};
use reqwest::StatusCode;
use serde_json::json;

use crate::dual_test;
use crate::helpers::*;
use crate::payments::{Circle, circle, circle_named};
use crate::sync::{Phone, outcomes, session, tontine};

fn add_member(c: &Circle, member_id: MemberId, user_id: UserId, phone: &str) -> MutationKind {
    MutationKind::AddMember {
        member_id,
        tontine_id: tontine(c),
        user_id,
        phone: phone.to_owned(),
        first_name: "Aminata".to_owned(),
        last_name: "Ba".to_owned(),
    }
}

fn pay(c: &Circle, member_id: MemberId) -> MutationKind {
    MutationKind::RecordCashPayment {
        payment_id: PaymentId::new(),
        tontine_id: tontine(c),
        session_id: SessionId::from_uuid(session(c).parse().unwrap()),
        member_id,
        amount: "5000".to_owned(),
        currency: "XOF".to_owned(),
    }
}

fn member_of(c: &Circle, user: &TestUser) -> MemberId {
    MemberId::from_uuid(c.member_id(user).parse().unwrap())
}

fn rejection(outcome: &Outcome) -> (&str, &str) {
    match outcome {
        Outcome::Rejected { code, message } => (code, message),
        other => panic!("not rejected: {other:?}"),
    }
}

async fn members_listed(app: &TestApp, c: &Circle) -> Vec<String> {
    let path = format!("/api/v1/tontines/{}/members", c.id());
    let members = assert_status(app.get(&path, c.president.token()).await, StatusCode::OK).await;
    members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn payments_total(app: &TestApp, c: &Circle) -> u64 {
    let path = with_query("/api/v1/payments", &[("tontine_id", c.id())]);
    let listed = assert_status(app.get(&path, c.treasurer.token()).await, StatusCode::OK).await;
    listed["total"].as_u64().unwrap()
}

dual_test!(
    an_add_member_naming_a_taken_user_id_is_rejected_alone_and_the_queue_moves_on,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let mut phone = Phone::enroll(&app, &c.president).await;
        // The phone names, for a new number, an account id that is already someone else's.
        let taken = UserId::parse(&c.members[0].id).unwrap();
        let bad = phone.record(add_member(&c, MemberId::new(), taken, "+221765550101"));
        let paid = phone.record(pay(&c, member_of(&c, &c.members[1])));
        let fresh = MemberId::new();
        let good = phone.record(add_member(&c, fresh, UserId::new(), "+221765550102"));
        let batch: Vec<Mutation> = vec![bad, paid, good];
        let answer = phone.sync(&app, batch.clone()).await;
        assert_eq!(
            outcomes(&answer),
            ["rejected", "applied", "applied"],
            "{answer:?}"
        );
        let (code, message) = rejection(&answer.outcomes[0].outcome);
        assert_eq!(code, "conflict");
        assert!(message.contains("autre utilisateur"), "{message}");
        assert_eq!(payments_total(&app, &c).await, 1);
        let listed = members_listed(&app, &c).await;
        assert!(listed.contains(&fresh.to_string()));
        assert_eq!(listed.len(), 6, "{listed:?}");
        // The answer was lost: the same batch again gives the same outcomes, applying nothing.
        let again = phone.sync(&app, batch).await;
        assert_eq!(outcomes(&again), ["rejected", "duplicate", "duplicate"]);
        assert_eq!(rejection(&again.outcomes[0].outcome).0, "conflict");
        // The refused mutation counted: the next number applies.
        let next = phone.record(pay(&c, fresh));
        assert_eq!(outcomes(&phone.sync(&app, vec![next]).await), ["applied"]);
        assert_eq!(payments_total(&app, &c).await, 2);
    }
);

dual_test!(
    a_member_id_used_in_another_tontine_is_rejected_alone,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let other = circle_named(&app, "b", json!({})).await;
        let mut phone = Phone::enroll(&app, &c.president).await;
        // The membership id of someone in another tontine.
        let elsewhere = member_of(&other, &other.members[0]);
        let before = members_listed(&app, &c).await.len();
        let first = phone.record(pay(&c, member_of(&c, &c.members[0])));
        let bad = phone.record(add_member(&c, elsewhere, UserId::new(), "+221765550201"));
        let last = phone.record(pay(&c, member_of(&c, &c.members[1])));
        let answer = phone.sync(&app, vec![first, bad, last]).await;
        assert_eq!(
            outcomes(&answer),
            ["applied", "rejected", "applied"],
            "{answer:?}"
        );
        let (code, message) = rejection(&answer.outcomes[1].outcome);
        assert_eq!(code, "conflict");
        assert!(message.contains("membre"), "{message}");
        assert_eq!(payments_total(&app, &c).await, 2);
        assert_eq!(members_listed(&app, &c).await.len(), before);
        // Nothing moved in the other tontine, and no account was made for the number.
        assert!(
            members_listed(&app, &other)
                .await
                .contains(&elsewhere.to_string())
        );
        let ok = phone.record(add_member(
            &c,
            MemberId::new(),
            UserId::new(),
            "+221765550201",
        ));
        assert_eq!(outcomes(&phone.sync(&app, vec![ok]).await), ["applied"]);
    }
);

dual_test!(
    an_offline_member_for_a_deactivated_tontine_is_rejected_as_online,
    |app| async move {
        // Core's add-member planner: the sync path refuses what REST refuses (a deactivated
        // tontine takes no member), where it used to add them.
        let c = circle(&app, json!({})).await;
        let mut phone = Phone::enroll(&app, &c.president).await;
        let before = members_listed(&app, &c).await.len();
        assert_status(
            app.delete(&format!("/api/v1/tontines/{}", c.id()), c.president.token())
                .await,
            StatusCode::OK,
        )
        .await;
        let added = phone.record(add_member(
            &c,
            MemberId::new(),
            UserId::new(),
            "+221765550301",
        ));
        let answer = phone.sync(&app, vec![added]).await;
        assert_eq!(outcomes(&answer), ["rejected"], "{answer:?}");
        let (code, message) = rejection(&answer.outcomes[0].outcome);
        assert_eq!(
            (code, message),
            ("business_rule", "cette tontine est inactive")
        );
        let path = with_query(
            &format!("/api/v1/tontines/{}/members", c.id()),
            &[("include_inactive", "true")],
        );
        let listed = assert_status(app.get(&path, c.president.token()).await, StatusCode::OK).await;
        assert_eq!(listed.as_array().map(Vec::len), Some(before), "{listed}");
    }
);
