//! Register, login, me, refresh, change-password, logout and the rest of `/auth`.

use reqwest::StatusCode;
use serde_json::json;

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
