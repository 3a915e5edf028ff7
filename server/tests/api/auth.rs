// Over 400 lines on purpose: the tests of one area, each standing alone; splitting them by size
// would separate the tests of one rule.
//! Register, login, me, refresh, change-password, logout and the rest of `/auth`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::*;

dual_test!(
    register_login_me_refresh_change_password_logout,
    |app| async move {
        let user = app.user("awa").await;
        let me = assert_status(
            app.get("/api/v1/auth/me", user.token()).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(me["email"], "awa@example.sn");
        assert!(me.get("password_hash").is_none());

        let pair = assert_status(
            app.post(
                "/api/v1/auth/refresh",
                None,
                &json!({"refresh_token": user.refresh}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let access = pair["access_token"].as_str().unwrap();
        let refresh = pair["refresh_token"].as_str().unwrap();

        assert_status(
        app.post(
            "/api/v1/auth/change-password",
            Some(access),
            &json!({"current_password": PASSWORD, "new_password": "Nouveau2027", "confirm_password": "Nouveau2027"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
        assert_error(
            app.login(&user.email, PASSWORD).await,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        )
        .await;
        let again =
            assert_status(app.login(&user.email, "Nouveau2027").await, StatusCode::OK).await;
        // change-password revoked the earlier refresh tokens
        assert_error(
            app.post(
                "/api/v1/auth/refresh",
                None,
                &json!({"refresh_token": refresh}),
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "token_reused",
        )
        .await;
        assert_status(
            app.post(
                "/api/v1/auth/logout",
                None,
                &json!({"refresh_token": again["refresh_token"]}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_error(
            app.post(
                "/api/v1/auth/refresh",
                None,
                &json!({"refresh_token": again["refresh_token"]}),
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "token_reused",
        )
        .await;
    }
);

dual_test!(
    register_answers_201_with_the_user_shape_and_no_password_hash,
    |app| async move {
        let body = json!({
            "email": "  Awa.Diop@Example.SN ", "phone": "+221 77-123 45 67",
            "password": PASSWORD, "confirm_password": PASSWORD,
            "first_name": " Awa ", "last_name": "Diop", "city": "Dakar", "country": "Sénégal"
        });
        let user = assert_status(
            app.post("/api/v1/auth/register", None, &body).await,
            StatusCode::CREATED,
        )
        .await;
        let mut keys: Vec<&str> = user
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "address",
                "city",
                "country",
                "created_at",
                "email",
                "email_verified",
                "first_name",
                "full_name",
                "id",
                "is_active",
                "is_verified",
                "last_login",
                "last_name",
                "phone",
                "phone_verified",
                "profile_picture",
                "role",
            ]
        );
        assert_eq!(user["email"], "awa.diop@example.sn");
        assert_eq!(user["phone"], "+221771234567");
        assert_eq!(user["first_name"], "Awa");
        assert_eq!(user["full_name"], "Awa Diop");
        assert_eq!(user["city"], "Dakar");
        assert_eq!(user["country"], "Sénégal");
        assert_eq!(user["address"], Value::Null);
        assert_eq!(user["role"], "membre");
        assert_eq!(user["is_active"], true);
        assert_eq!(user["is_verified"], false);
        assert_eq!(user["email_verified"], false);
        assert_eq!(user["phone_verified"], false);
        assert_eq!(user["last_login"], Value::Null);
        assert!(
            user["created_at"].as_str().unwrap().ends_with('Z'),
            "{user}"
        );
        let id = uuid::Uuid::parse_str(user["id"].as_str().unwrap()).unwrap();
        assert_eq!(id.get_version_num(), 7);
        let text = user.to_string();
        assert!(
            !text.contains("argon2") && !text.contains("password"),
            "{text}"
        );

        let stored = app.stored_user(user["id"].as_str().unwrap()).await;
        assert!(
            stored
                .password_hash
                .as_deref()
                .is_some_and(|h| h.starts_with("$argon2id$")),
            "the password is stored hashed"
        );
        assert_eq!(stored.phone.as_str(), "+221771234567");
    }
);

dual_test!(
    login_by_email_returns_a_bearer_pair_and_records_the_login,
    |app| async move {
        app.register("awa@example.sn", "+221771234567").await;
        let pair = assert_status(app.login("AWA@example.sn", PASSWORD).await, StatusCode::OK).await;
        assert_eq!(pair["token_type"], "bearer");
        assert_eq!(pair["expires_in"], 1800);
        assert!(
            pair["refresh_token"]
                .as_str()
                .is_some_and(|t| t.len() >= 40)
        );
        let access = pair["access_token"].as_str().unwrap();
        assert_eq!(access.split('.').count(), 3, "a JWT");
        let me = assert_status(
            app.get("/api/v1/auth/me", Some(access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(me["email"], "awa@example.sn");
        assert!(me["last_login"].is_string(), "{me}");
    }
);

dual_test!(
    login_by_phone_accepts_the_number_in_another_format,
    |app| async move {
        let user = app.register("awa@example.sn", "+221771234567").await;
        let pair = assert_status(
            app.post(
                "/api/v1/auth/login",
                None,
                &json!({"phone": "+221 77-123 45 67", "password": PASSWORD}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let me = assert_status(
            app.get("/api/v1/auth/me", pair["access_token"].as_str())
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(me["id"], user["id"]);
    }
);

dual_test!(
    login_accepts_the_oauth2_password_form_with_an_email_or_a_phone,
    |app| async move {
        let user = app.register("awa@example.sn", "+221771234567").await;
        for username in ["Awa@Example.sn", "+221 77 123 45 67"] {
            let pair = assert_status(
                app.post_form(
                    "/api/v1/auth/login",
                    &[("username", username), ("password", PASSWORD)],
                )
                .await,
                StatusCode::OK,
            )
            .await;
            assert_eq!(pair["token_type"], "bearer");
            let me = assert_status(
                app.get("/api/v1/auth/me", pair["access_token"].as_str())
                    .await,
                StatusCode::OK,
            )
            .await;
            assert_eq!(me["id"], user["id"], "username {username}");
        }
        assert_error(
            app.post_form(
                "/api/v1/auth/login",
                &[("username", "awa@example.sn"), ("password", "Mauvais2026")],
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        )
        .await;
        assert_invalid(
            app.post_form("/api/v1/auth/login", &[("username", "awa@example.sn")])
                .await,
            "password",
        )
        .await;
    }
);

dual_test!(
    wrong_password_and_unknown_account_get_the_same_401,
    |app| async move {
        app.register("awa@example.sn", "+221771234567").await;
        let wrong = assert_error(
            app.login("awa@example.sn", "Mauvais2026").await,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        )
        .await;
        let unknown = assert_error(
            app.login("personne@example.sn", PASSWORD).await,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        )
        .await;
        assert_eq!(
            wrong, unknown,
            "the answer must not reveal whether the account exists"
        );
        let unknown_phone = assert_error(
            app.post(
                "/api/v1/auth/login",
                None,
                &json!({"phone": "+221700000000", "password": PASSWORD}),
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        )
        .await;
        assert_eq!(wrong["detail"], unknown_phone["detail"]);
    }
);

dual_test!(
    a_deactivated_account_cannot_log_in_but_a_wrong_password_still_reads_401,
    |app| async move {
        let user = app.user("awa").await;
        assert_status(
            app.delete(&format!("/api/v1/users/{}", user.id), user.token())
                .await,
            StatusCode::OK,
        )
        .await;
        assert_error(
            app.login(&user.email, PASSWORD).await,
            StatusCode::FORBIDDEN,
            "account_inactive",
        )
        .await;
        assert_error(
            app.login(&user.email, "Mauvais2026").await,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        )
        .await;
    }
);

dual_test!(
    me_without_a_token_is_401_not_authenticated,
    |app| async move {
        let resp = app.get("/api/v1/auth/me", None).await;
        assert_eq!(
            resp.headers()
                .get(reqwest::header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok()),
            Some("Bearer")
        );
        assert_error(resp, StatusCode::UNAUTHORIZED, "not_authenticated").await;
        let basic = app
            .request(reqwest::Method::GET, "/api/v1/auth/me", None)
            .header(reqwest::header::AUTHORIZATION, "Basic YXdhOnNlY3JldA==")
            .send()
            .await
            .unwrap();
        assert_error(basic, StatusCode::UNAUTHORIZED, "not_authenticated").await;
    }
);

dual_test!(
    a_garbage_or_tampered_token_is_401_token_invalid,
    |app| async move {
        let user = app.user("awa").await;
        assert_error(
            app.get("/api/v1/auth/me", Some("not-a-jwt")).await,
            StatusCode::UNAUTHORIZED,
            "token_invalid",
        )
        .await;
        // Another key signed it.
        let claims = json!({
            "sub": user.id, "exp": chrono::Utc::now().timestamp() + 600,
            "iat": chrono::Utc::now().timestamp(), "jti": uuid::Uuid::new_v4(), "typ": "access"
        });
        let forged = jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(b"not-the-server-secret-not-the-server"),
        )
        .unwrap();
        assert_error(
            app.get("/api/v1/auth/me", Some(&forged)).await,
            StatusCode::UNAUTHORIZED,
            "token_invalid",
        )
        .await;
        // The refresh token is not an access token.
        assert_error(
            app.get("/api/v1/auth/me", Some(&user.refresh)).await,
            StatusCode::UNAUTHORIZED,
            "token_invalid",
        )
        .await;
    }
);

dual_test!(an_access_token_expires_after_30_minutes, |app| async move {
    let user = app.user("awa").await;
    app.clock.advance(chrono::TimeDelta::minutes(29));
    assert_status(
        app.get("/api/v1/auth/me", user.token()).await,
        StatusCode::OK,
    )
    .await;
    app.clock.advance(chrono::TimeDelta::minutes(2));
    assert_error(
        app.get("/api/v1/auth/me", user.token()).await,
        StatusCode::UNAUTHORIZED,
        "token_expired",
    )
    .await;
});

dual_test!(
    a_deactivated_users_tokens_are_refused_with_403,
    |app| async move {
        let user = app.user("awa").await;
        let admin = app.admin("chef").await;
        assert_status(
            app.delete(&format!("/api/v1/users/{}", user.id), admin.token())
                .await,
            StatusCode::OK,
        )
        .await;
        assert_error(
            app.get("/api/v1/auth/me", user.token()).await,
            StatusCode::FORBIDDEN,
            "account_inactive",
        )
        .await;
        assert_error(
            app.refresh(&user.refresh).await,
            StatusCode::FORBIDDEN,
            "account_inactive",
        )
        .await;
    }
);

dual_test!(
    a_duplicate_email_is_409_email_taken_whatever_its_case,
    |app| async move {
        app.register("awa@example.sn", "+221771234567").await;
        assert_error(
            app.post(
                "/api/v1/auth/register",
                None,
                &registration("AWA@Example.SN", "+221771234568"),
            )
            .await,
            StatusCode::CONFLICT,
            "email_taken",
        )
        .await;
        let admin = app.admin("chef").await;
        let page = assert_status(
            app.get(
                &with_query("/api/v1/users", &[("search", "awa@example.sn")]),
                admin.token(),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(page["total"], 1, "no second account was stored");
    }
);

dual_test!(
    a_duplicate_phone_is_409_phone_taken_whatever_its_format,
    |app| async move {
        app.register("awa@example.sn", "+221771234567").await;
        assert_error(
            app.post(
                "/api/v1/auth/register",
                None,
                &registration("moussa@example.sn", "+221 77 123-45-67"),
            )
            .await,
            StatusCode::CONFLICT,
            "phone_taken",
        )
        .await;
        assert_error(
            app.login("moussa@example.sn", PASSWORD).await,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        )
        .await;
    }
);

/// A member added by phone by a president: a user record with no password.
async fn passwordless_member(app: &TestApp, phone: &str) -> kobiri_server::store::User {
    use kobiri_core::{Phone, PlatformRole, UserId};
    app.store
        .insert_user(&kobiri_server::store::NewUser {
            id: UserId::new(),
            email: None,
            phone: Phone::parse(phone).unwrap(),
            password_hash: None,
            first_name: "Fatou".into(),
            last_name: "Ndiaye".into(),
            role: PlatformRole::Membre,
            address: None,
            city: Some("Kaolack".into()),
            country: None,
            now: chrono::Utc::now(),
        })
        .await
        .unwrap()
}

dual_test!(
    registering_with_the_phone_of_a_passwordless_member_claims_that_account,
    |app| async move {
        let ghost = passwordless_member(&app, "+221770000001").await;
        // No password: nobody can log in to it yet.
        assert_error(
            app.post(
                "/api/v1/auth/login",
                None,
                &json!({"phone": "+221770000001", "password": PASSWORD}),
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        )
        .await;
        let body = with(
            registration("fatou@example.sn", "+221 77 000 00 01"),
            "first_name",
            json!("Fatou Binetou"),
        );
        // Claiming needs the code sent by SMS to that phone.
        assert_error(
            app.post("/api/v1/auth/register", None, &body).await,
            StatusCode::CONFLICT,
            "phone_needs_verification",
        )
        .await;
        let code = code_in(
            &app.last_sms_to("+221770000001")
                .await
                .expect("a code by SMS"),
        );
        let claimed = assert_status(
            app.post(
                "/api/v1/auth/register",
                None,
                &with(body, "phone_code", json!(code)),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(claimed["id"], ghost.id.to_string());
        assert_eq!(claimed["email"], "fatou@example.sn");
        assert_eq!(claimed["first_name"], "Fatou Binetou");
        assert_eq!(claimed["city"], "Kaolack", "the member's history is kept");
        let stored = app.stored_user(claimed["id"].as_str().unwrap()).await;
        assert!(stored.password_hash.is_some());
        assert!(stored.phone_verified, "the code proved the phone");
        assert_status(
            app.login("fatou@example.sn", PASSWORD).await,
            StatusCode::OK,
        )
        .await;
        // Claimed once: the phone now belongs to a registered user.
        assert_error(
            app.post(
                "/api/v1/auth/register",
                None,
                &registration("autre@example.sn", "+221770000001"),
            )
            .await,
            StatusCode::CONFLICT,
            "phone_taken",
        )
        .await;
    }
);

dual_test!(
    claiming_with_an_email_already_in_use_is_409_and_leaves_the_member_untouched,
    |app| async move {
        app.register("awa@example.sn", "+221771234567").await;
        let ghost = passwordless_member(&app, "+221770000001").await;
        assert_error(
            app.post(
                "/api/v1/auth/register",
                None,
                &registration("awa@example.sn", "+221770000001"),
            )
            .await,
            StatusCode::CONFLICT,
            "email_taken",
        )
        .await;
        let stored = app.stored_user(&ghost.id.to_string()).await;
        assert!(stored.password_hash.is_none());
        assert!(stored.email.is_none());
    }
);

dual_test!(
    send_verification_and_verify_confirm_the_email_address,
    |app| async move {
        let user = app.user("awa").await;
        let sent = assert_status(
            app.post(
                "/api/v1/auth/send-verification",
                user.token(),
                &json!({"channel": "email"}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert!(sent["detail"].is_string());
        let code = code_in(
            &app.last_email_to(&user.email)
                .await
                .expect("an e-mail was sent"),
        );
        assert_error(
            app.post(
                "/api/v1/auth/verify",
                user.token(),
                &json!({"channel": "email", "code": wrong_code(&code)}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_code",
        )
        .await;
        let verified = assert_status(
            app.post(
                "/api/v1/auth/verify",
                user.token(),
                &json!({"channel": "email", "code": code}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(verified["email_verified"], true);
        assert_eq!(verified["is_verified"], true);
        assert_eq!(verified["phone_verified"], false);
        assert!(app.stored_user(&user.id).await.email_verified);
        // Used once.
        assert_error(
            app.post(
                "/api/v1/auth/verify",
                user.token(),
                &json!({"channel": "email", "code": code}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_code",
        )
        .await;
    }
);

dual_test!(
    send_verification_and_verify_confirm_the_phone_by_sms,
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
        let code = code_in(&app.last_sms_to(&user.phone).await.expect("an SMS was sent"));
        // An SMS code does not verify the e-mail address.
        assert_error(
            app.post(
                "/api/v1/auth/verify",
                user.token(),
                &json!({"channel": "email", "code": code}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_code",
        )
        .await;
        let verified = assert_status(app.verify(&user, "sms", &code).await, StatusCode::OK).await;
        assert_eq!(verified["phone_verified"], true);
        assert_eq!(verified["is_verified"], true);
        assert_eq!(verified["email_verified"], false);
        let me = assert_status(
            app.get("/api/v1/auth/me", user.token()).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(me["phone_verified"], true);
    }
);

dual_test!(
    a_verification_code_expires_after_15_minutes,
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
        app.clock.advance(chrono::TimeDelta::minutes(16));
        assert_error(
            app.post(
                "/api/v1/auth/verify",
                user.token(),
                &json!({"channel": "sms", "code": code}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "code_expired",
        )
        .await;
        assert!(!app.stored_user(&user.id).await.phone_verified);
    }
);

dual_test!(verification_routes_need_a_token, |app| async move {
    assert_error(
        app.post(
            "/api/v1/auth/send-verification",
            None,
            &json!({"channel": "sms"}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    )
    .await;
    assert_error(
        app.post(
            "/api/v1/auth/verify",
            None,
            &json!({"channel": "sms", "code": "123456"}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    )
    .await;
});
