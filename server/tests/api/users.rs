// Over 400 lines on purpose: the tests of one area, each standing alone; splitting them by size
// would separate the tests of one rule.
//! `/users`: list (admin), get, update, deactivate.

use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::json;

use crate::dual_test;
use crate::helpers::*;

fn user_path(id: &str) -> String {
    format!("/api/v1/users/{id}")
}

dual_test!(
    an_admin_lists_users_in_pages_newest_first,
    |app| async move {
        let admin = app.admin("chef").await;
        for n in 1..=4 {
            app.clock.advance(TimeDelta::minutes(1));
            app.register(
                &format!("membre{n}@example.sn"),
                &format!("+22177000000{n}"),
            )
            .await;
        }
        let page = assert_status(
            app.get(
                &with_query("/api/v1/users", &[("page", "1"), ("page_size", "2")]),
                admin.token(),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let mut keys: Vec<&str> = page
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["items", "page", "page_size", "pages", "total"]);
        assert_eq!(page["total"], 5);
        assert_eq!(page["page"], 1);
        assert_eq!(page["page_size"], 2);
        assert_eq!(page["pages"], 3);
        let emails: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap())
            .collect();
        assert_eq!(emails, ["membre4@example.sn", "membre3@example.sn"]);
        assert!(page["items"][0].get("password_hash").is_none());

        let last = assert_status(
            app.get(
                &with_query("/api/v1/users", &[("page", "3"), ("page_size", "2")]),
                admin.token(),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(last["items"].as_array().unwrap().len(), 1);
        assert_eq!(last["items"][0]["email"], admin.email.as_str());

        let defaults = assert_status(
            app.get("/api/v1/users", admin.token()).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(defaults["page"], 1);
        assert_eq!(defaults["page_size"], 20);
        assert_eq!(defaults["pages"], 1);
        assert_eq!(defaults["items"].as_array().unwrap().len(), 5);
    }
);

dual_test!(
    an_admin_searches_users_by_email_name_or_phone,
    |app| async move {
        let admin = app.admin("chef").await;
        app.register("moussa.kone@example.ci", "+2250701020304")
            .await;
        let ndiaye = assert_status(
            app.post(
                "/api/v1/auth/register",
                None,
                &with(
                    registration("fatou@example.sn", "+221781112233"),
                    "last_name",
                    json!("Ndiaye"),
                ),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let search = |term: &str| with_query("/api/v1/users", &[("search", term)]);
        let by_email = assert_status(
            app.get(&search("KONE@"), admin.token()).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(by_email["total"], 1);
        assert_eq!(by_email["items"][0]["email"], "moussa.kone@example.ci");
        let by_name = assert_status(
            app.get(&search("ndiaye"), admin.token()).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(by_name["total"], 1);
        assert_eq!(by_name["items"][0]["id"], ndiaye["id"]);
        let by_phone = assert_status(
            app.get(&search("+22507"), admin.token()).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(by_phone["total"], 1);
        assert_eq!(by_phone["items"][0]["phone"], "+2250701020304");
        // Wildcards typed by the user are literal.
        let wildcard =
            assert_status(app.get(&search("%"), admin.token()).await, StatusCode::OK).await;
        assert_eq!(wildcard["total"], 0);
        assert_eq!(wildcard["pages"], 0);
        assert_eq!(wildcard["items"], json!([]));
    }
);

dual_test!(a_non_admin_cannot_list_users, |app| async move {
    let user = app.user("awa").await;
    assert_error(
        app.get("/api/v1/users", user.token()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.get("/api/v1/users", None).await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    )
    .await;
});

dual_test!(
    a_user_sees_themself_and_an_admin_sees_anyone,
    |app| async move {
        let user = app.user("awa").await;
        let admin = app.admin("chef").await;
        let me = assert_status(
            app.get(&user_path(&user.id), user.token()).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(me["email"], user.email.as_str());
        assert!(me.get("password_hash").is_none());
        let seen = assert_status(
            app.get(&user_path(&user.id), admin.token()).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(seen["id"], user.id.as_str());
        assert_error(
            app.get(&user_path(&uuid::Uuid::now_v7().to_string()), admin.token())
                .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
);

dual_test!(a_user_getting_another_user_gets_404, |app| async move {
    let awa = app.user("awa").await;
    let moussa = app.user("moussa").await;
    let hidden = assert_error(
        app.get(&user_path(&moussa.id), awa.token()).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // The same answer as for an id that does not exist.
    let missing = assert_error(
        app.get(&user_path(&uuid::Uuid::now_v7().to_string()), awa.token())
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(hidden, missing);
});

dual_test!(a_user_updates_their_own_names_and_city, |app| async move {
    let user = app.user("awa").await;
    let updated = assert_status(
        app.put(
            &user_path(&user.id),
            user.token(),
            &json!({"first_name": " Aminata ", "last_name": "Sow", "city": "Thiès"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(updated["first_name"], "Aminata");
    assert_eq!(updated["last_name"], "Sow");
    assert_eq!(updated["full_name"], "Aminata Sow");
    assert_eq!(updated["city"], "Thiès");
    assert_eq!(
        updated["email"],
        user.email.as_str(),
        "untouched fields stay"
    );
    let stored = app.stored_user(&user.id).await;
    assert_eq!(stored.first_name, "Aminata");
    assert_eq!(stored.city.as_deref(), Some("Thiès"));
    // A blank optional field clears it.
    let cleared = assert_status(
        app.put(&user_path(&user.id), user.token(), &json!({"city": ""}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cleared["city"], serde_json::Value::Null);
    assert_eq!(cleared["first_name"], "Aminata");
});

dual_test!(an_admin_changes_a_users_role, |app| async move {
    let user = app.user("awa").await;
    let admin = app.admin("chef").await;
    let promoted = assert_status(
        app.put(
            &user_path(&user.id),
            admin.token(),
            &json!({"role": "admin"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(promoted["role"], "admin");
    assert!(app.stored_user(&user.id).await.is_admin());
    // The promotion takes effect on the user's existing token.
    assert_status(app.get("/api/v1/users", user.token()).await, StatusCode::OK).await;
    assert_invalid(
        app.put(&user_path(&user.id), admin.token(), &json!({"role": "roi"}))
            .await,
        "role",
    )
    .await;
});

dual_test!(
    a_non_admin_sending_role_or_is_active_gets_403,
    |app| async move {
        let user = app.user("awa").await;
        assert_error(
            app.put(
                &user_path(&user.id),
                user.token(),
                &json!({"role": "admin"}),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        assert_error(
            app.put(
                &user_path(&user.id),
                user.token(),
                &json!({"city": "Dakar", "is_active": true}),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        let stored = app.stored_user(&user.id).await;
        assert!(!stored.is_admin());
        assert_eq!(stored.city, None, "a refused update changes nothing");
    }
);

dual_test!(
    a_user_cannot_update_or_deactivate_another_user,
    |app| async move {
        let awa = app.user("awa").await;
        let moussa = app.user("moussa").await;
        assert_error(
            app.put(
                &user_path(&moussa.id),
                awa.token(),
                &json!({"city": "Dakar"}),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        assert_error(
            app.delete(&user_path(&moussa.id), awa.token()).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        let stored = app.stored_user(&moussa.id).await;
        assert!(stored.is_active);
        assert_eq!(stored.city, None);
    }
);

dual_test!(
    changing_the_phone_to_a_taken_number_is_409_phone_taken,
    |app| async move {
        let awa = app.user("awa").await;
        let moussa = app.user("moussa").await;
        assert_error(
            app.put(
                &user_path(&awa.id),
                awa.token(),
                &json!({"phone": moussa.phone}),
            )
            .await,
            StatusCode::CONFLICT,
            "phone_taken",
        )
        .await;
        assert_invalid(
            app.put(&user_path(&awa.id), awa.token(), &json!({"phone": "12345"}))
                .await,
            "phone",
        )
        .await;
        assert_eq!(app.stored_user(&awa.id).await.phone.as_str(), awa.phone);
    }
);

dual_test!(
    changing_the_phone_clears_its_verification,
    |app| async move {
        let user = app.user("awa").await;
        assert_status(
            app.post(
                "/api/v1/auth/send-verification",
                user.token(),
                &json!({"channel": "sms"}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let code = code_in(&app.last_sms_to(&user.phone).await.unwrap());
        assert_status(
            app.post(
                "/api/v1/auth/verify",
                user.token(),
                &json!({"channel": "sms", "code": code}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        // Same number, other format: still verified.
        let same = assert_status(
            app.put(
                &user_path(&user.id),
                user.token(),
                &json!({"phone": user.phone.replace("+221", "+221 ")}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(same["phone_verified"], true);
        let moved = assert_status(
            app.put(
                &user_path(&user.id),
                user.token(),
                &json!({"phone": "+221700000099"}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(moved["phone"], "+221700000099");
        assert_eq!(
            moved["phone_verified"], false,
            "the new number is not verified"
        );
        assert_eq!(moved["is_verified"], false);
    }
);

dual_test!(a_user_deactivates_their_own_account, |app| async move {
    let user = app.user("awa").await;
    let gone = assert_status(
        app.delete(&user_path(&user.id), user.token()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(gone["is_active"], false);
    assert_eq!(gone["id"], user.id.as_str());
    assert!(
        !app.stored_user(&user.id).await.is_active,
        "soft: the row stays"
    );
    assert_error(
        app.get("/api/v1/auth/me", user.token()).await,
        StatusCode::FORBIDDEN,
        "account_inactive",
    )
    .await;
    assert_error(
        app.login(&user.email, PASSWORD).await,
        StatusCode::FORBIDDEN,
        "account_inactive",
    )
    .await;
});

dual_test!(an_admin_deactivates_a_user_once, |app| async move {
    let user = app.user("awa").await;
    let admin = app.admin("chef").await;
    let gone = assert_status(
        app.delete(&user_path(&user.id), admin.token()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(gone["is_active"], false);
    assert_error(
        app.delete(&user_path(&user.id), admin.token()).await,
        StatusCode::BAD_REQUEST,
        "business_rule",
    )
    .await;
    assert_error(
        app.refresh(&user.refresh).await,
        StatusCode::FORBIDDEN,
        "account_inactive",
    )
    .await;
    // The admin still sees the deactivated account.
    let seen = assert_status(
        app.get(&user_path(&user.id), admin.token()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(seen["is_active"], false);
});

dual_test!(
    an_admin_deactivates_and_reactivates_through_put,
    |app| async move {
        let user = app.user("awa").await;
        let admin = app.admin("chef").await;
        let off = assert_status(
            app.put(
                &user_path(&user.id),
                admin.token(),
                &json!({"is_active": false}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(off["is_active"], false);
        assert_eq!(
            app.refresh(&user.refresh).await.status(),
            StatusCode::FORBIDDEN
        );
        let on = assert_status(
            app.put(
                &user_path(&user.id),
                admin.token(),
                &json!({"is_active": true}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(on["is_active"], true);
        assert_status(app.login(&user.email, PASSWORD).await, StatusCode::OK).await;
    }
);
