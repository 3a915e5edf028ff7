// Over 400 lines on purpose: the tests of one area, each standing alone; splitting them by size
// would separate the tests of one rule.
//! Tontines and members: create, list, get, update, delete, join, add, leave, limits.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::*;

/// Creates a monthly XOF tontine as `president` and returns it.
pub async fn create_tontine(app: &TestApp, president: &TestUser, extra: Value) -> Value {
    let mut body = json!({
        "name": "Tontine du marché Sandaga", "type": "rotative", "frequency": "mensuel",
        "contribution_amount": 5000, "start_date": "2027-01-31", "penalty_amount": "500",
        "max_members": 5, "min_members": 3
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    assert_status(
        app.post("/api/v1/tontines", president.token(), &body).await,
        StatusCode::CREATED,
    )
    .await
}

dual_test!(
    creating_a_tontine_makes_the_creator_its_president,
    |app| async move {
        let president = app.user("president").await;
        let tontine = create_tontine(&app, &president, json!({})).await;
        assert_eq!(tontine["contribution_amount"], "5000");
        assert_eq!(tontine["currency"], "XOF");
        assert_eq!(tontine["member_count"], 1);
        assert_eq!(tontine["total_pot"], "5000");
        let code = tontine["code"].as_str().unwrap();
        assert!((6..=10).contains(&code.len()));
        assert!(!code.contains(['0', 'O', '1', 'I']), "{code}");
        let id = tontine["id"].as_str().unwrap();
        let members = assert_status(
            app.get(&format!("/api/v1/tontines/{id}/members"), president.token())
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(members[0]["role"], "president");
        assert_eq!(members[0]["user_id"], president.id.as_str());
    }
);

dual_test!(
    bad_tontine_input_is_refused_with_the_field_named,
    |app| async move {
        let p = app.user("president").await;
        let base = json!({"name": "T", "type": "rotative", "frequency": "mensuel",
        "contribution_amount": 5000, "start_date": "2027-01-31"});
        let cases: Vec<(Value, &str)> = vec![
            (
                json!({"contribution_amount": 2500.5}),
                "contribution_amount",
            ),
            (json!({"contribution_amount": -5}), "contribution_amount"),
            (json!({"contribution_amount": 0}), "contribution_amount"),
            (
                json!({"contribution_amount": "1000000000000"}),
                "contribution_amount",
            ),
            (json!({"type": "bogus"}), "type"),
            (json!({"frequency": "annuel"}), "frequency"),
            (json!({"end_date": "2026-01-01"}), "end_date"),
            (json!({"max_members": 101}), "max_members"),
            (json!({"grace_period_days": 31}), "grace_period_days"),
            (json!({"currency": "ZZZ"}), "currency"),
            (json!({"name": "x".repeat(10_000)}), "name"),
            (json!({"start_date": "31/01/2027"}), "start_date"),
        ];
        for (patch, field) in cases {
            let mut body = base.clone();
            for (k, v) in patch.as_object().unwrap() {
                body[k] = v.clone();
            }
            let err = assert_error(
                app.post("/api/v1/tontines", p.token(), &body).await,
                StatusCode::UNPROCESSABLE_ENTITY,
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
        // EUR takes cents; FCFA reads as XOF.
        let eur = create_tontine(
            &app,
            &p,
            json!({"currency": "EUR", "contribution_amount": "25.50"}),
        )
        .await;
        assert_eq!(eur["contribution_amount"], "25.50");
        let fcfa = create_tontine(&app, &p, json!({"currency": "FCFA"})).await;
        assert_eq!(fcfa["currency"], "XOF");
    }
);

dual_test!(
    members_join_by_code_until_the_tontine_is_full,
    |app| async move {
        let president = app.user("president").await;
        let tontine = create_tontine(&app, &president, json!({"max_members": 3})).await;
        let code = tontine["code"].as_str().unwrap().to_lowercase();
        let a = app.user("a").await;
        let b = app.user("b").await;
        let c = app.user("c").await;
        let joined = assert_status(
            app.post("/api/v1/tontines/join", a.token(), &json!({"code": code}))
                .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(joined["role"], "membre");
        assert_error(
            app.post("/api/v1/tontines/join", a.token(), &json!({"code": code}))
                .await,
            StatusCode::CONFLICT,
            "conflict",
        )
        .await;
        assert_status(
            app.post("/api/v1/tontines/join", b.token(), &json!({"code": code}))
                .await,
            StatusCode::CREATED,
        )
        .await;
        assert_error(
            app.post("/api/v1/tontines/join", c.token(), &json!({"code": code}))
                .await,
            StatusCode::BAD_REQUEST,
            "business_rule",
        )
        .await;
        assert_error(
            app.post(
                "/api/v1/tontines/join",
                c.token(),
                &json!({"code": "ZZZZZZZZ"}),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        let id = tontine["id"].as_str().unwrap();
        let t = assert_status(
            app.get(&format!("/api/v1/tontines/{id}"), a.token()).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(t["member_count"], 3);
        assert_eq!(t["is_full"], true);
    }
);

dual_test!(
    concurrent_joins_never_exceed_the_maximum,
    |app| async move {
        let president = app.user("president").await;
        let tontine = create_tontine(&app, &president, json!({"max_members": 3})).await;
        let code = tontine["code"].as_str().unwrap().to_owned();
        let mut users = Vec::new();
        for i in 0..6 {
            users.push(app.user(&format!("u{i}")).await);
        }
        let body = json!({"code": code});
        let joins = users
            .iter()
            .map(|u| app.post("/api/v1/tontines/join", u.token(), &body));
        let statuses: Vec<StatusCode> = futures::future::join_all(joins)
            .await
            .iter()
            .map(|r| r.status())
            .collect();
        assert_eq!(
            statuses
                .iter()
                .filter(|s| **s == StatusCode::CREATED)
                .count(),
            2,
            "{statuses:?}"
        );
        let id = tontine["id"].as_str().unwrap();
        let t = assert_status(
            app.get(&format!("/api/v1/tontines/{id}"), president.token())
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(t["member_count"], 3);
    }
);

dual_test!(
    a_president_adds_a_member_without_a_smartphone_who_claims_the_account_later,
    |app| async move {
        let president = app.user("president").await;
        let tontine = create_tontine(&app, &president, json!({})).await;
        let id = tontine["id"].as_str().unwrap();
        let added = assert_status(
        app.post(&format!("/api/v1/tontines/{id}/members"), president.token(),
            &json!({"phone": "+221 76 555 12 34", "first_name": "Fatou", "last_name": "Ndiaye"})).await,
        StatusCode::CREATED,
    )
    .await;
        assert_eq!(added["user_phone"], "+221765551234");
        assert_eq!(added["user_email"], Value::Null);
        // Fatou registers later with her phone and the code sent to it: same account, her
        // membership kept.
        let body = json!({"email": "fatou@example.sn", "phone": "+221765551234",
            "password": PASSWORD, "confirm_password": PASSWORD, "first_name": "Fatou",
            "last_name": "Ndiaye"});
        let resp = app.post("/api/v1/auth/register", None, &body).await;
        assert_error(resp, StatusCode::CONFLICT, "phone_needs_verification").await;
        let code = app.last_code_sms_to("+221765551234").await;
        let body = with(body, "phone_code", json!(code));
        let resp = app.post("/api/v1/auth/register", None, &body).await;
        let user = assert_status(resp, StatusCode::CREATED).await;
        assert_eq!(user["id"], added["user_id"]);
        let tokens = assert_status(
            app.login("fatou@example.sn", PASSWORD).await,
            StatusCode::OK,
        )
        .await;
        let mine = assert_status(
            app.get("/api/v1/tontines", tokens["access_token"].as_str())
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(mine["items"][0]["id"], id);
    }
);

dual_test!(
    only_the_president_manages_members_and_outsiders_see_nothing,
    |app| async move {
        let president = app.user("president").await;
        let member = app.user("member").await;
        let outsider = app.user("outsider").await;
        let tontine = create_tontine(&app, &president, json!({})).await;
        let id = tontine["id"].as_str().unwrap();
        let joined = assert_status(
            app.post(
                "/api/v1/tontines/join",
                member.token(),
                &json!({"code": tontine["code"]}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let add = json!({"user_id": outsider.id});
        assert_error(
            app.post(
                &format!("/api/v1/tontines/{id}/members"),
                member.token(),
                &add,
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        assert_error(
            app.get(&format!("/api/v1/tontines/{id}"), outsider.token())
                .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        assert_error(
            app.get(&format!("/api/v1/tontines/{id}/members"), outsider.token())
                .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        let mid = joined["id"].as_str().unwrap();
        let promoted = assert_status(
            app.put(
                &format!("/api/v1/tontines/{id}/members/{mid}"),
                president.token(),
                &json!({"role": "tresorier", "order_position": 2}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(promoted["role"], "tresorier");
        assert_eq!(promoted["order_position"], 2);
        assert_error(
            app.put(
                &format!("/api/v1/tontines/{id}/members/{mid}"),
                member.token(),
                &json!({"role": "president"}),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        assert_error(
            app.put(
                &format!("/api/v1/tontines/{id}/members/not-a-uuid"),
                president.token(),
                &json!({}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
        )
        .await;
        // a member id of another tontine is not found here
        let other = create_tontine(&app, &president, json!({})).await;
        let oid = other["id"].as_str().unwrap();
        assert_error(
            app.put(
                &format!("/api/v1/tontines/{oid}/members/{mid}"),
                president.token(),
                &json!({}),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
);

dual_test!(
    the_last_president_cannot_leave_while_others_remain,
    |app| async move {
        let president = app.user("president").await;
        let member = app.user("member").await;
        let tontine = create_tontine(&app, &president, json!({})).await;
        let id = tontine["id"].as_str().unwrap();
        assert_status(
            app.post(
                "/api/v1/tontines/join",
                member.token(),
                &json!({"code": tontine["code"]}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_error(
            app.post(
                &format!("/api/v1/tontines/{id}/leave"),
                president.token(),
                &json!({}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "business_rule",
        )
        .await;
        let left = assert_status(
            app.post(
                &format!("/api/v1/tontines/{id}/leave"),
                member.token(),
                &json!({}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(left["is_active"], false);
        assert!(left["left_at"].is_string());
        // alone now, the president may leave
        assert_status(
            app.post(
                &format!("/api/v1/tontines/{id}/leave"),
                president.token(),
                &json!({}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
    }
);

dual_test!(
    the_ids_of_a_members_tontines_are_those_the_list_shows,
    |app| async move {
        use kobiri_core::{TontineId, UserId};
        use kobiri_server::store::{PageRequest, TontineFilter, all_pages};
        let president = app.user("president").await;
        let member = app.user("member").await;
        let mut joined = Vec::new();
        for _ in 0..3 {
            let t = create_tontine(&app, &president, json!({})).await;
            assert_status(
                app.post(
                    "/api/v1/tontines/join",
                    member.token(),
                    &json!({"code": t["code"]}),
                )
                .await,
                StatusCode::CREATED,
            )
            .await;
            joined.push(t["id"].as_str().unwrap().to_owned());
        }
        // A tontine the member left is no longer theirs; one they never joined never was.
        assert_status(
            app.post(
                &format!("/api/v1/tontines/{}/leave", joined[1]),
                member.token(),
                &json!({}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        create_tontine(&app, &president, json!({})).await;
        let user: UserId = member.id.parse().unwrap();
        let ids = app.store.tontine_ids_of_member(user).await.unwrap();
        let listed: Vec<TontineId> = all_pages(|page: PageRequest| {
            app.store.list_tontines(TontineFilter::MemberOf(user), page)
        })
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
        assert_eq!(ids, listed);
        let mut expected: Vec<TontineId> = [&joined[0], &joined[2]]
            .iter()
            .map(|id| id.parse().unwrap())
            .collect();
        expected.sort_by_key(|id| ids.iter().position(|i| i == id));
        assert_eq!(ids, expected);
        assert_eq!(
            app.store
                .tontine_ids_of_member(president.id.parse().unwrap())
                .await
                .unwrap()
                .len(),
            4
        );
    }
);

dual_test!(
    update_delete_and_public_listing_follow_the_roles,
    |app| async move {
        let president = app.user("president").await;
        let member = app.user("member").await;
        let stranger = app.user("stranger").await;
        let admin = app.admin("admin").await;
        let tontine = create_tontine(&app, &president, json!({"is_public": true})).await;
        let id = tontine["id"].as_str().unwrap();
        assert_status(
            app.post(
                "/api/v1/tontines/join",
                member.token(),
                &json!({"code": tontine["code"]}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let updated = assert_status(
            app.put(
                &format!("/api/v1/tontines/{id}"),
                president.token(),
                &json!({"name": "Sandaga 2027", "penalty_amount": 1000}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(updated["name"], "Sandaga 2027");
        assert_eq!(updated["penalty_amount"], "1000");
        assert_error(
            app.put(
                &format!("/api/v1/tontines/{id}"),
                member.token(),
                &json!({"name": "x"}),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        assert_error(
            app.put(
                &format!("/api/v1/tontines/{id}"),
                president.token(),
                &json!({"max_members": 1}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
        )
        .await;
        // a public tontine is visible to a stranger, and listed
        assert_status(
            app.get(&format!("/api/v1/tontines/{id}"), stranger.token())
                .await,
            StatusCode::OK,
        )
        .await;
        let public = assert_status(
            app.get("/api/v1/tontines?is_public=true", stranger.token())
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(public["total"], 1);
        let mine = assert_status(
            app.get("/api/v1/tontines", stranger.token()).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(mine["total"], 0);
        let all = assert_status(
            app.get("/api/v1/tontines", admin.token()).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(all["total"], 1);
        assert_error(
            app.delete(&format!("/api/v1/tontines/{id}"), member.token())
                .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        let deleted = assert_status(
            app.delete(&format!("/api/v1/tontines/{id}"), president.token())
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(deleted["is_active"], false);
        // inactive: no longer public, no longer joinable (its code finds nothing)
        assert_error(
            app.get(&format!("/api/v1/tontines/{id}"), stranger.token())
                .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        assert_error(
            app.post(
                "/api/v1/tontines/join",
                stranger.token(),
                &json!({"code": tontine["code"]}),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
);
