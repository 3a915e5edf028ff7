//! Adding an existing account invites it (it accepts or refuses), and members' e-mail and
//! phone are shown only to themselves and to the tontine's collectors, treasurers,
//! presidents and admins.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::*;
use crate::payments::circle;
use crate::tontines::create_tontine;

async fn invite(app: &TestApp, president: &TestUser, tontine: &str, body: Value) -> Value {
    assert_status(
        app.post(
            &format!("/api/v1/tontines/{tontine}/members"),
            president.token(),
            &body,
        )
        .await,
        StatusCode::ACCEPTED,
    )
    .await
}

async fn members(app: &TestApp, viewer: &TestUser, tontine: &str) -> Vec<Value> {
    let list = assert_status(
        app.get(
            &format!("/api/v1/tontines/{tontine}/members"),
            viewer.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    list.as_array().unwrap().clone()
}

async fn pending(app: &TestApp, user: &TestUser) -> Vec<Value> {
    let list = assert_status(
        app.get("/api/v1/invitations", user.token()).await,
        StatusCode::OK,
    )
    .await;
    list.as_array().unwrap().clone()
}

async fn answer(app: &TestApp, user: &TestUser, id: &Value, verb: &str) -> reqwest::Response {
    let id = id.as_str().unwrap();
    app.post(
        &format!("/api/v1/invitations/{id}/{verb}"),
        user.token(),
        &json!({}),
    )
    .await
}

dual_test!(
    adding_an_existing_account_invites_it_and_reveals_nothing_about_it,
    |app| async move {
        let president = app.user("president").await;
        let by_id = app.user("awa").await;
        let by_phone = app.user("moussa").await;
        let by_email = app.user("binta").await;
        let tontine = create_tontine(&app, &president, json!({"max_members": 10})).await;
        let id = tontine["id"].as_str().unwrap();

        let names = json!({"first_name": "X", "last_name": "Y"});
        let mut phone_body = names.clone();
        phone_body["phone"] = json!(by_phone.phone);
        for body in [
            json!({"user_id": by_id.id, "role": "tresorier"}),
            phone_body,
            json!({"email": by_email.email}),
        ] {
            let invitation = invite(&app, &president, id, body).await;
            assert_eq!(invitation["status"], "en_attente");
            assert_eq!(invitation["tontine_id"], id);
            // Who holds the account is not in the answer.
            let text = invitation.to_string();
            for secret in [&by_id, &by_phone, &by_email] {
                assert!(!text.contains(&secret.email), "{text}");
                assert!(!text.contains(&secret.phone), "{text}");
                assert!(!text.contains(&secret.id), "{text}");
            }
        }
        // None of them is a member, and the president still may not read their profile.
        assert_eq!(members(&app, &president, id).await.len(), 1);
        assert_error(
            app.get(&format!("/api/v1/users/{}", by_id.id), president.token())
                .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        // A second invitation while one waits is a conflict.
        let again = json!({"user_id": by_id.id});
        assert_error(
            app.post(
                &format!("/api/v1/tontines/{id}/members"),
                president.token(),
                &again,
            )
            .await,
            StatusCode::CONFLICT,
            "conflict",
        )
        .await;
        // A brand-new phone-only member is still added at once.
        let added = assert_status(
            app.post(
                &format!("/api/v1/tontines/{id}/members"),
                president.token(),
                &json!({"phone": "+221765550999", "first_name": "Coumba", "last_name": "Ba"}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(added["role"], "membre");
    }
);

dual_test!(
    the_invited_person_accepts_or_refuses_and_only_they_may,
    |app| async move {
        let president = app.user("president").await;
        let awa = app.user("awa").await;
        let moussa = app.user("moussa").await;
        let tontine = create_tontine(&app, &president, json!({"max_members": 10})).await;
        let id = tontine["id"].as_str().unwrap();
        invite(
            &app,
            &president,
            id,
            json!({"user_id": awa.id, "role": "tresorier"}),
        )
        .await;
        invite(&app, &president, id, json!({"user_id": moussa.id})).await;

        let mine = pending(&app, &awa).await;
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0]["tontine_name"], tontine["name"]);
        assert_eq!(mine[0]["role"], "tresorier");
        assert_eq!(mine[0]["invited_by_id"], president.id.as_str());
        let awa_invitation = mine[0]["id"].clone();
        let moussa_invitation = pending(&app, &moussa).await[0]["id"].clone();
        // Nobody else may answer for them, not even the inviter.
        for stranger in [&president, &moussa] {
            assert_error(
                answer(&app, stranger, &awa_invitation, "accept").await,
                StatusCode::NOT_FOUND,
                "not_found",
            )
            .await;
        }

        let member = assert_status(
            answer(&app, &awa, &awa_invitation, "accept").await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(member["role"], "tresorier");
        assert_eq!(member["user_id"], awa.id.as_str());
        assert!(pending(&app, &awa).await.is_empty());
        assert_error(
            answer(&app, &awa, &awa_invitation, "refuse").await,
            StatusCode::CONFLICT,
            "conflict",
        )
        .await;

        let refused = assert_status(
            answer(&app, &moussa, &moussa_invitation, "refuse").await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(refused["status"], "refusee");
        assert_error(
            answer(&app, &moussa, &moussa_invitation, "accept").await,
            StatusCode::CONFLICT,
            "conflict",
        )
        .await;
        let listed = members(&app, &president, id).await;
        assert_eq!(listed.len(), 2, "the president and Awa");
        assert!(listed.iter().all(|m| m["user_id"] != moussa.id.as_str()));
        // Without a token: 401.
        assert_error(
            app.get("/api/v1/invitations", None).await,
            StatusCode::UNAUTHORIZED,
            "not_authenticated",
        )
        .await;
    }
);

/// Whether `viewer` sees `target`'s e-mail and phone in the member list and in
/// `GET /users/{id}`.
async fn sees_contacts(app: &TestApp, tontine: &str, viewer: &TestUser, target: &TestUser) -> bool {
    let row = members(app, viewer, tontine)
        .await
        .into_iter()
        .find(|m| m["user_id"] == target.id.as_str())
        .unwrap();
    let user = assert_status(
        app.get(&format!("/api/v1/users/{}", target.id), viewer.token())
            .await,
        StatusCode::OK,
    )
    .await;
    let in_list =
        row["user_email"] == target.email.as_str() && row["user_phone"] == target.phone.as_str();
    let in_profile =
        user["email"] == target.email.as_str() && user["phone"] == target.phone.as_str();
    assert_eq!(
        in_list, in_profile,
        "the list and the profile agree: {row} {user}"
    );
    if !in_list {
        assert!(
            row["user_email"].is_null() && row["user_phone"].is_null(),
            "{row}"
        );
        assert!(user["email"].is_null() && user["phone"].is_null(), "{user}");
        // The name still shows.
        assert!(user["full_name"].is_string());
    }
    in_list
}

dual_test!(
    members_contacts_show_to_themselves_and_managers_only,
    |app| async move {
        let c = circle(&app, json!({})).await;
        let id = c.id();
        let (awa, moussa) = (&c.members[0], &c.members[1]);
        // A plain member sees their own contacts, not another member's or a manager's.
        assert!(sees_contacts(&app, id, awa, awa).await);
        assert!(!sees_contacts(&app, id, awa, moussa).await);
        assert!(!sees_contacts(&app, id, awa, &c.president).await);
        // The collector, the treasurer and the president see everyone's.
        for manager in [&c.collector, &c.treasurer, &c.president] {
            assert!(sees_contacts(&app, id, manager, awa).await);
            assert!(sees_contacts(&app, id, manager, moussa).await);
        }
        // So does an admin, who is no member.
        let admin = app.admin("admin").await;
        let row = members(&app, &admin, id)
            .await
            .into_iter()
            .find(|m| m["user_id"] == awa.id.as_str())
            .unwrap();
        assert_eq!(row["user_email"], awa.email.as_str());
        // A non-member sees neither the list nor the profile.
        let outsider = app.user("outsider").await;
        assert_error(
            app.get(&format!("/api/v1/tontines/{id}/members"), outsider.token())
                .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        assert_error(
            app.get(&format!("/api/v1/users/{}", awa.id), outsider.token())
                .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        // The payments list of the tontine hides the payer's phone from plain members too.
        let path = format!("/api/v1/payments/tontine/{id}");
        assert_status(
            crate::payments::pay(&app, &c, &c.collector, moussa).await,
            StatusCode::CREATED,
        )
        .await;
        let seen_by_awa = assert_status(app.get(&path, awa.token()).await, StatusCode::OK).await;
        let row = &seen_by_awa["items"][0];
        assert_eq!(row["user_id"], moussa.id.as_str());
        assert!(row["user_phone"].is_null(), "{row}");
        let seen_by_treasurer =
            assert_status(app.get(&path, c.treasurer.token()).await, StatusCode::OK).await;
        assert_eq!(
            seen_by_treasurer["items"][0]["user_phone"],
            moussa.phone.as_str()
        );
    }
);

dual_test!(
    an_accept_and_a_refuse_at_once_give_one_answer_and_a_membership_only_if_accepted,
    |app| async move {
        let president = app.user("president").await;
        let tontine = create_tontine(&app, &president, json!({"max_members": 20})).await;
        let id = tontine["id"].as_str().unwrap();
        let mut invited = Vec::new();
        for i in 0..8 {
            let user = app.user(&format!("invitee{i}")).await;
            invite(&app, &president, id, json!({"user_id": user.id})).await;
            let invitation = pending(&app, &user).await[0]["id"].clone();
            invited.push((user, invitation));
        }
        for (user, invitation) in &invited {
            let (accepted, refused) = tokio::join!(
                answer(&app, user, invitation, "accept"),
                answer(&app, user, invitation, "refuse"),
            );
            let statuses = [accepted.status(), refused.status()];
            assert!(
                statuses == [StatusCode::OK, StatusCode::CONFLICT]
                    || statuses == [StatusCode::CONFLICT, StatusCode::OK],
                "exactly one answer wins: {statuses:?}"
            );
            let listed = members(&app, &president, id)
                .await
                .iter()
                .any(|m| m["user_id"] == user.id.as_str());
            assert_eq!(listed, statuses[0] == StatusCode::OK, "{statuses:?}");
        }
    }
);

dual_test!(
    accepting_an_invitation_to_a_full_tontine_leaves_it_pending,
    |app| async move {
        let president = app.user("president").await;
        let awa = app.user("awa").await;
        let binta = app.user("binta").await;
        let moussa = app.user("moussa").await;
        let tontine = create_tontine(
            &app,
            &president,
            json!({"max_members": 3, "min_members": 3}),
        )
        .await;
        let id = tontine["id"].as_str().unwrap();
        for user in [&awa, &binta, &moussa] {
            invite(&app, &president, id, json!({"user_id": user.id})).await;
        }
        for user in [&awa, &binta] {
            let invitation = pending(&app, user).await[0]["id"].clone();
            assert_status(
                answer(&app, user, &invitation, "accept").await,
                StatusCode::OK,
            )
            .await;
        }
        // The tontine is full: refused, and the invitation is still there to answer later.
        let moussa_invitation = pending(&app, &moussa).await[0]["id"].clone();
        assert_error(
            answer(&app, &moussa, &moussa_invitation, "accept").await,
            StatusCode::BAD_REQUEST,
            "business_rule",
        )
        .await;
        let still = pending(&app, &moussa).await;
        assert_eq!(still.len(), 1);
        assert_eq!(still[0]["id"], moussa_invitation);
        assert_eq!(members(&app, &president, id).await.len(), 3);
    }
);
