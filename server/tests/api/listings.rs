// Over 400 lines on purpose: the tests of one area, each standing alone; splitting them by size
// would separate the tests of one rule.
//! Listings: payments by filter for managers, one visibility rule for payment details, and
//! what is current (members who left, deactivated tontines) left out unless asked for.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::*;
use crate::payments::{Circle, circle, pay};
use crate::tontines::create_tontine;

async fn get_ok(app: &TestApp, user: &TestUser, path: &str) -> Value {
    assert_status(app.get(path, user.token()).await, StatusCode::OK).await
}

fn total(page: &Value) -> u64 {
    page["total"].as_u64().unwrap()
}

/// A mobile-money transfer declared by hand for `member`, recorded by the collector, with the
/// details only a full view shows.
async fn declared_transfer(app: &TestApp, c: &Circle, member: &TestUser) -> Value {
    let body = json!({"tontine_id": c.id(), "amount": 5000, "method": "orange_money",
        "member_id": c.member_id(member), "transaction_id": "OM-2027-0131-77",
        "phone_number": "+221770001122", "proof_url": "https://exemple.sn/recu.png",
        "proof_description": "capture du SMS"});
    assert_status(
        app.post("/api/v1/payments", c.collector.token(), &body)
            .await,
        StatusCode::CREATED,
    )
    .await
}

async fn approve(app: &TestApp, c: &Circle, payment: &Value) -> Value {
    let path = format!(
        "/api/v1/payments/{}/validate",
        payment["id"].as_str().unwrap()
    );
    assert_status(
        app.post(&path, c.treasurer.token(), &json!({"action": "approve"}))
            .await,
        StatusCode::OK,
    )
    .await
}

dual_test!(
    managers_filter_a_tontines_payments_and_a_member_filters_their_own,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let admin = app.admin("admin").await;
        let outsider = app.user("outsider").await;
        let (t, s) = (
            c.id().to_owned(),
            c.session["id"].as_str().unwrap().to_owned(),
        );
        let awa = assert_status(
            pay(&app, &c, &c.collector, &c.members[0]).await,
            StatusCode::CREATED,
        )
        .await;
        assert_status(
            pay(&app, &c, &c.collector, &c.members[1]).await,
            StatusCode::CREATED,
        )
        .await;
        assert_status(
            pay(&app, &c, &c.president, &c.president).await,
            StatusCode::CREATED,
        )
        .await;
        approve(&app, &c, &awa).await;
        let moussa = &c.members[1].id;
        let queries = [
            format!("session_id={s}"),
            format!("tontine_id={t}"),
            format!("tontine_id={t}&status=valide"),
            format!("session_id={s}&user_id={moussa}"),
            format!("tontine_id={t}&session_id={s}&status=en_attente&user_id={moussa}"),
            format!("session_id={s}&status=en_attente"),
        ];
        let managers = [3, 3, 1, 1, 1, 2];
        for user in [&c.collector, &c.treasurer, &c.president, &admin] {
            for (q, expected) in queries.iter().zip(managers) {
                let page = get_ok(&app, user, &format!("/api/v1/payments?{q}")).await;
                assert_eq!(total(&page), expected, "{q}");
                assert_eq!(page["items"].as_array().unwrap().len() as u64, expected);
            }
        }
        // Managers see every field of what they filter.
        let page = get_ok(
            &app,
            &c.treasurer,
            &format!("/api/v1/payments?session_id={s}&user_id={moussa}"),
        )
        .await;
        assert_eq!(page["items"][0]["user_phone"], c.members[1].phone.as_str());
        // A member's filters apply to their own payments only.
        let member = [1, 1, 1, 0, 0, 0];
        for (q, expected) in queries.iter().zip(member) {
            let page = get_ok(&app, &c.members[0], &format!("/api/v1/payments?{q}")).await;
            assert_eq!(total(&page), expected, "membre: {q}");
            for p in page["items"].as_array().unwrap() {
                assert_eq!(p["user_id"], c.members[0].id.as_str());
            }
        }
        assert_eq!(
            total(&get_ok(&app, &c.members[0], "/api/v1/payments").await),
            1
        );
        // Without a tontine: one's own, or everything for an admin.
        assert_eq!(
            total(&get_ok(&app, &c.president, "/api/v1/payments").await),
            1
        );
        assert_eq!(total(&get_ok(&app, &admin, "/api/v1/payments").await), 3);
        assert_eq!(total(&get_ok(&app, &outsider, "/api/v1/payments").await), 0);
        // Someone outside the tontine learns nothing, not even that the session exists.
        for q in [format!("tontine_id={t}"), format!("session_id={s}")] {
            assert_error(
                app.get(&format!("/api/v1/payments?{q}"), outsider.token())
                    .await,
                StatusCode::NOT_FOUND,
                "not_found",
            )
            .await;
        }
        let unknown = uuid::Uuid::now_v7();
        assert_error(
            app.get(
                &format!("/api/v1/payments?session_id={unknown}"),
                c.president.token(),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        // A session of another tontine, with this tontine: nothing matches both.
        let other = create_tontine(&app, &c.president, json!({})).await;
        let page = get_ok(
            &app,
            &c.president,
            &format!(
                "/api/v1/payments?tontine_id={}&session_id={s}",
                other["id"].as_str().unwrap()
            ),
        )
        .await;
        assert_eq!(total(&page), 0);
        for (q, field) in [
            ("status=paye", "status"),
            ("session_id=42", "session_id"),
            ("user_id=x", "user_id"),
        ] {
            let err = assert_error(
                app.get(&format!("/api/v1/payments?{q}"), c.president.token())
                    .await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_error",
            )
            .await;
            assert_eq!(err["errors"][0]["field"], field, "{err}");
        }
    }
);

/// The fields only a full view of a payment shows.
const DETAILS: [&str; 7] = [
    "phone_number",
    "operator_transaction_id",
    "operator_reference",
    "proof_url",
    "proof_description",
    "receipt_code",
    "user_phone",
];

dual_test!(
    members_see_who_paid_how_much_but_only_managers_and_the_payer_see_the_details,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let admin = app.admin("admin").await;
        let outsider = app.user("outsider").await;
        let transfer = declared_transfer(&app, &c, &c.members[0]).await;
        let cash = assert_status(
            pay(&app, &c, &c.collector, &c.members[1]).await,
            StatusCode::CREATED,
        )
        .await;
        let cash = approve(&app, &c, &cash).await;
        let receipt = cash["receipt_code"].as_str().unwrap().to_owned();
        let tid = transfer["id"].as_str().unwrap();
        let one = format!("/api/v1/payments/{tid}");
        // In full: the payer, the collector, the treasurer, the president, an admin.
        for user in [
            &c.members[0],
            &c.collector,
            &c.treasurer,
            &c.president,
            &admin,
        ] {
            let p = get_ok(&app, user, &one).await;
            assert_eq!(p["operator_transaction_id"], "OM-2027-0131-77");
            assert_eq!(p["phone_number"], "+221770001122");
            assert_eq!(p["proof_url"], "https://exemple.sn/recu.png");
            assert_eq!(p["user_phone"], c.members[0].phone.as_str());
        }
        // Another member: who paid how much, for which session, and its status.
        let seen = get_ok(&app, &c.members[1], &one).await;
        assert_eq!(seen["amount"], "5000");
        assert_eq!(seen["user_id"], c.members[0].id.as_str());
        assert_eq!(seen["user_name"], transfer["user_name"]);
        assert_eq!(seen["status"], "en_attente");
        assert_eq!(seen["method"], "orange_money");
        for field in DETAILS {
            assert!(seen[field].is_null(), "{field}: {seen}");
        }
        // The same rule in both listings of the tontine.
        for path in [
            format!("/api/v1/payments/tontine/{}", c.id()),
            format!("/api/v1/tontines/{}/payments", c.id()),
        ] {
            let page = get_ok(&app, &c.members[1], &path).await;
            assert_eq!(total(&page), 2);
            for p in page["items"].as_array().unwrap() {
                if p["id"] == transfer["id"] {
                    for field in DETAILS {
                        assert!(p[field].is_null(), "{field}: {p}");
                    }
                } else {
                    // Their own payment, in full.
                    assert_eq!(p["receipt_code"], receipt.as_str());
                    assert_eq!(p["user_phone"], c.members[1].phone.as_str());
                }
            }
            let page = get_ok(&app, &c.collector, &path).await;
            let full = page["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["id"] == transfer["id"])
                .unwrap()
                .clone();
            assert_eq!(full["operator_transaction_id"], "OM-2027-0131-77");
        }
        // Someone outside the tontine sees nothing.
        assert_error(
            app.get(&one, outsider.token()).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        // A receipt code is a detail: only the payer and managers may check it.
        let check = format!("/api/v1/receipts/{receipt}");
        for user in [&c.members[1], &c.collector, &c.president] {
            assert_eq!(get_ok(&app, user, &check).await["payment_id"], cash["id"]);
        }
        assert_error(
            app.get(&check, c.members[0].token()).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
);

/// The user ids `user` sees in the tontine's member list, with `query`.
async fn listed_members(app: &TestApp, user: &TestUser, tontine: &str, query: &str) -> Vec<String> {
    let list = get_ok(
        app,
        user,
        &format!("/api/v1/tontines/{tontine}/members{query}"),
    )
    .await;
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| m["user_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn listed_tontines(app: &TestApp, user: &TestUser, query: &str) -> Vec<String> {
    let page = get_ok(app, user, &format!("/api/v1/tontines{query}")).await;
    let ids: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(total(&page), ids.len() as u64);
    ids
}

dual_test!(
    a_member_who_left_is_listed_only_on_request_of_a_manager,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let admin = app.admin("admin").await;
        let outsider = app.user("outsider").await;
        let leaver = &c.members[1];
        assert_status(
            app.post(
                &format!("/api/v1/tontines/{}/leave", c.id()),
                leaver.token(),
                &json!({}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let with_former = "?include_inactive=true";
        for (user, sees_former) in [
            (&c.members[0], false),
            (&c.collector, false),
            (&c.treasurer, true),
            (&c.president, true),
            (&admin, true),
        ] {
            let current = listed_members(&app, user, c.id(), "").await;
            assert_eq!(current.len(), 4, "{}", user.email);
            assert!(!current.contains(&leaver.id));
            let asked = listed_members(&app, user, c.id(), with_former).await;
            assert_eq!(asked.contains(&leaver.id), sees_former, "{}", user.email);
            assert_eq!(asked.len(), if sees_former { 5 } else { 4 });
        }
        let former = get_ok(
            &app,
            &c.president,
            &format!("/api/v1/tontines/{}/members{with_former}", c.id()),
        )
        .await;
        let row = former
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["user_id"] == leaver.id.as_str())
            .unwrap()
            .clone();
        assert_eq!(row["is_active"], false);
        assert!(row["left_at"].is_string());
        for query in ["", with_former] {
            assert_error(
                app.get(
                    &format!("/api/v1/tontines/{}/members{query}", c.id()),
                    outsider.token(),
                )
                .await,
                StatusCode::NOT_FOUND,
                "not_found",
            )
            .await;
        }
        let err = assert_error(
            app.get(
                &format!(
                    "/api/v1/tontines/{}/members?include_inactive=peut-etre",
                    c.id()
                ),
                c.president.token(),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
        )
        .await;
        assert_eq!(err["errors"][0]["field"], "include_inactive");
        // The tontine's own count never had them.
        let t = get_ok(&app, &c.president, &format!("/api/v1/tontines/{}", c.id())).await;
        assert_eq!(t["member_count"], 4);
    }
);

dual_test!(
    a_deactivated_tontine_is_listed_only_on_request_and_cannot_be_joined,
    |app| async move {
        let president = app.user("president").await;
        let treasurer = app.user("treasurer").await;
        let member = app.user("member").await;
        let admin = app.admin("admin").await;
        let stranger = app.user("stranger").await;
        let kept = create_tontine(&app, &president, json!({})).await;
        let closed = create_tontine(&app, &president, json!({})).await;
        let (kept_id, closed_id) = (
            kept["id"].as_str().unwrap().to_owned(),
            closed["id"].as_str().unwrap().to_owned(),
        );
        for t in [&kept_id, &closed_id] {
            for (user, role) in [(&treasurer, "tresorier"), (&member, "membre")] {
                app.add_existing(&president, t, user, role).await;
            }
        }
        assert_status(
            app.delete(&format!("/api/v1/tontines/{closed_id}"), president.token())
                .await,
            StatusCode::OK,
        )
        .await;
        let with_inactive = "?include_inactive=true";
        for (user, sees_closed) in [
            (&president, true),
            (&treasurer, true),
            (&member, false),
            (&admin, true),
        ] {
            let current = listed_tontines(&app, user, "").await;
            assert_eq!(current, std::slice::from_ref(&kept_id), "{}", user.email);
            let asked = listed_tontines(&app, user, with_inactive).await;
            assert_eq!(asked.contains(&closed_id), sees_closed, "{}", user.email);
            assert!(asked.contains(&kept_id));
        }
        assert!(
            listed_tontines(&app, &stranger, with_inactive)
                .await
                .is_empty()
        );
        // The public list never shows a deactivated tontine.
        assert!(
            !listed_tontines(&app, &admin, "?is_public=true&include_inactive=true")
                .await
                .contains(&closed_id)
        );
        // Its members still open it directly: it says it is inactive.
        let seen = get_ok(&app, &member, &format!("/api/v1/tontines/{closed_id}")).await;
        assert_eq!(seen["is_active"], false);
        // Joining it: its code finds nothing.
        assert_error(
            app.post(
                "/api/v1/tontines/join",
                stranger.token(),
                &json!({"code": closed["code"]}),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        assert_status(
            app.post(
                "/api/v1/tontines/join",
                stranger.token(),
                &json!({"code": kept["code"]}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        // Reactivated, it is back in the default listings.
        assert_status(
            app.put(
                &format!("/api/v1/tontines/{closed_id}"),
                president.token(),
                &json!({"is_active": true}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(listed_tontines(&app, &member, "").await.len(), 2);
    }
);

dual_test!(
    a_payment_page_counts_every_payment_the_filters_select,
    |app| async move {
        // A page takes its total with its rows; a page past the end counts on its own.
        let c = circle(&app, json!({})).await;
        for member in &c.members {
            assert_status(
                pay(&app, &c, &c.collector, member).await,
                StatusCode::CREATED,
            )
            .await;
        }
        assert_status(
            pay(&app, &c, &c.collector, &c.treasurer).await,
            StatusCode::CREATED,
        )
        .await;
        let session = c.session["id"].as_str().unwrap();
        for (query, rows, total) in [
            (format!("session_id={session}&page_size=2"), 2, 3),
            (format!("session_id={session}&page_size=2&page=2"), 1, 3),
            (format!("session_id={session}&page_size=2&page=5"), 0, 3),
            (format!("tontine_id={}&status=valide", c.id()), 0, 0),
            (
                format!(
                    "tontine_id={}&status=en_attente&user_id={}",
                    c.id(),
                    c.members[1].id
                ),
                1,
                1,
            ),
        ] {
            let page = assert_status(
                app.get(&format!("/api/v1/payments?{query}"), c.president.token())
                    .await,
                StatusCode::OK,
            )
            .await;
            assert_eq!(
                page["items"].as_array().unwrap().len(),
                rows,
                "{query}: {page}"
            );
            assert_eq!(page["total"], total, "{query}: {page}");
        }
    }
);
