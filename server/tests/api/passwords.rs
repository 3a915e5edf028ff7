// Over 400 lines on purpose: the tests of one area, each standing alone; splitting them by size
// would separate the tests of one rule.
//! Change password, forgot password and reset password.

use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::{dual_test, dual_test_with};

const NEW_PASSWORD: &str = "Nouveau2027";

pub async fn forgot(app: &TestApp, body: Value) -> Value {
    assert_status(
        app.post("/api/v1/auth/forgot-password", None, &body).await,
        StatusCode::OK,
    )
    .await
}

fn reset_body(key: &str, who: &str, code: &str) -> Value {
    json!({
        key: who, "code": code, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD
    })
}

pub async fn reset(app: &TestApp, key: &str, who: &str, code: &str) -> reqwest::Response {
    app.post(
        "/api/v1/auth/reset-password",
        None,
        &reset_body(key, who, code),
    )
    .await
}

/// Resets the password of the account named by `key` (`email` or `phone`) = `who` with
/// `code`, which must work; returns the answer's body.
pub async fn reset_ok(app: &TestApp, key: &str, who: &str, code: &str) -> Value {
    assert_status(reset(app, key, who, code).await, StatusCode::OK).await
}

dual_test!(
    change_password_swaps_the_password_and_revokes_refresh_tokens,
    |app| async move {
        let user = app.user("awa").await;
        let done = assert_status(
            app.post(
                "/api/v1/auth/change-password",
                user.token(),
                &json!({
                    "current_password": PASSWORD, "new_password": NEW_PASSWORD,
                    "confirm_password": NEW_PASSWORD
                }),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert!(done["detail"].is_string());
        assert_eq!(
            app.refresh(&user.refresh).await.status(),
            StatusCode::UNAUTHORIZED
        );
        assert_error(
            app.login(&user.email, PASSWORD).await,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        )
        .await;
        assert_status(app.login(&user.email, NEW_PASSWORD).await, StatusCode::OK).await;
    }
);

dual_test!(
    change_password_refuses_a_wrong_current_password_and_a_weak_new_one,
    |app| async move {
        let user = app.user("awa").await;
        let change = |current: &str, new: &str, confirm: &str| json!({"current_password": current, "new_password": new, "confirm_password": confirm});
        assert_error(
            app.post(
                "/api/v1/auth/change-password",
                user.token(),
                &change("Mauvais2026", NEW_PASSWORD, NEW_PASSWORD),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "wrong_password",
        )
        .await;
        let weak = assert_invalid(
            app.post(
                "/api/v1/auth/change-password",
                user.token(),
                &change(PASSWORD, "faible", "faible"),
            )
            .await,
            "new_password",
        )
        .await;
        assert_eq!(error_fields(&weak), ["new_password"]);
        assert_invalid(
            app.post(
                "/api/v1/auth/change-password",
                user.token(),
                &change(PASSWORD, NEW_PASSWORD, "Nouveau2028"),
            )
            .await,
            "confirm_password",
        )
        .await;
        assert_error(
            app.post(
                "/api/v1/auth/change-password",
                None,
                &change(PASSWORD, NEW_PASSWORD, NEW_PASSWORD),
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "not_authenticated",
        )
        .await;
        // Nothing changed.
        assert_status(app.login(&user.email, PASSWORD).await, StatusCode::OK).await;
    }
);

dual_test!(
    forgot_and_reset_by_email_set_a_new_password_and_revoke_every_session,
    |app| async move {
        let user = app.user("awa").await;
        let second = assert_status(app.login(&user.email, PASSWORD).await, StatusCode::OK).await;
        forgot(&app, json!({"email": "Awa@Example.sn"})).await;
        let mail = app
            .last_email_to(&user.email)
            .await
            .expect("a reset e-mail");
        let code = code_in(&mail);
        let done = reset_ok(&app, "email", &user.email, &code).await;
        assert!(done["detail"].is_string());
        assert_status(app.login(&user.email, NEW_PASSWORD).await, StatusCode::OK).await;
        assert_error(
            app.login(&user.email, PASSWORD).await,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        )
        .await;
        assert_eq!(
            app.refresh(&user.refresh).await.status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            app.refresh(second["refresh_token"].as_str().unwrap())
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
);

dual_test!(
    forgot_and_reset_by_phone_use_an_sms_code,
    |app| async move {
        let user = app.user("awa").await;
        forgot(&app, json!({"phone": user.phone.replace("+221", "+221 ")})).await;
        assert!(
            app.last_email_to(&user.email).await.is_none(),
            "asked by phone, answered by SMS"
        );
        let code = code_in(&app.last_sms_to(&user.phone).await.expect("a reset SMS"));
        reset_ok(&app, "phone", &user.phone, &code).await;
        assert_status(
            app.post(
                "/api/v1/auth/login",
                None,
                &json!({"phone": user.phone, "password": NEW_PASSWORD}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
    }
);

dual_test!(
    forgot_password_answers_the_same_whether_or_not_the_account_exists,
    |app| async move {
        let user = app.user("awa").await;
        let unknown_email = forgot(&app, json!({"email": "personne@example.sn"})).await;
        let unknown_phone = forgot(&app, json!({"phone": "+221700000000"})).await;
        assert_eq!(
            app.send_outbox().await,
            Default::default(),
            "nothing queued"
        );
        assert!(
            app.outbox.emails().is_empty(),
            "nothing sent for an unknown account"
        );
        assert!(
            app.outbox.sms().is_empty(),
            "nothing sent for an unknown account"
        );
        let known = forgot(&app, json!({"email": user.email})).await;
        assert_eq!(known, unknown_email);
        assert_eq!(known, unknown_phone);
        assert_eq!(app.send_outbox().await.sent, 1);
        assert_eq!(app.outbox.emails().len(), 1);
        // Resetting an unknown account reads like a wrong code.
        assert_error(
            reset(&app, "email", "personne@example.sn", "123456").await,
            StatusCode::BAD_REQUEST,
            "invalid_code",
        )
        .await;
    }
);

dual_test!(a_deactivated_account_gets_no_reset_code, |app| async move {
    let user = app.user("awa").await;
    assert_status(
        app.delete(&format!("/api/v1/users/{}", user.id), user.token())
            .await,
        StatusCode::OK,
    )
    .await;
    forgot(&app, json!({"email": user.email})).await;
    assert!(app.last_email_to(&user.email).await.is_none());
});

dual_test!(a_reset_code_expires_after_15_minutes, |app| async move {
    let user = app.user("awa").await;
    forgot(&app, json!({"email": user.email})).await;
    let code = code_in(&app.last_email_to(&user.email).await.unwrap());
    app.clock.advance(TimeDelta::minutes(16));
    assert_error(
        reset(&app, "email", &user.email, &code).await,
        StatusCode::BAD_REQUEST,
        "code_expired",
    )
    .await;
    // A new code, used within its 15 minutes, works.
    forgot(&app, json!({"email": user.email})).await;
    let code = code_in(&app.last_email_to(&user.email).await.unwrap());
    app.clock.advance(TimeDelta::minutes(14));
    reset_ok(&app, "email", &user.email, &code).await;
});

dual_test!(
    five_wrong_codes_exhaust_the_code_even_for_the_right_one,
    |app| async move {
        let user = app.user("awa").await;
        forgot(&app, json!({"email": user.email})).await;
        let code = code_in(&app.last_email_to(&user.email).await.unwrap());
        let wrong = wrong_code(&code);
        for attempt in 1..=4 {
            let body = assert_error(
                reset(&app, "email", &user.email, &wrong).await,
                StatusCode::BAD_REQUEST,
                "invalid_code",
            )
            .await;
            assert!(body["detail"].is_string(), "attempt {attempt}");
        }
        assert_error(
            reset(&app, "email", &user.email, &wrong).await,
            StatusCode::BAD_REQUEST,
            "too_many_attempts",
        )
        .await;
        assert_error(
            reset(&app, "email", &user.email, &code).await,
            StatusCode::BAD_REQUEST,
            "too_many_attempts",
        )
        .await;
        assert_status(app.login(&user.email, PASSWORD).await, StatusCode::OK).await;
    }
);

dual_test!(
    a_new_forgot_password_retires_the_earlier_code,
    |app| async move {
        let user = app.user("awa").await;
        forgot(&app, json!({"email": user.email})).await;
        let first = code_in(&app.last_email_to(&user.email).await.unwrap());
        forgot(&app, json!({"email": user.email})).await;
        let second = code_in(&app.last_email_to(&user.email).await.unwrap());
        if first != second {
            assert_error(
                reset(&app, "email", &user.email, &first).await,
                StatusCode::BAD_REQUEST,
                "invalid_code",
            )
            .await;
        }
        reset_ok(&app, "email", &user.email, &second).await;
    }
);

dual_test!(a_reset_code_can_be_used_once, |app| async move {
    let user = app.user("awa").await;
    forgot(&app, json!({"phone": user.phone})).await;
    let code = code_in(&app.last_sms_to(&user.phone).await.unwrap());
    reset_ok(&app, "phone", &user.phone, &code).await;
    assert_error(
        app.post(
            "/api/v1/auth/reset-password",
            None,
            &json!({
                "phone": user.phone, "code": code,
                "new_password": "Troisieme2028", "confirm_password": "Troisieme2028"
            }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_code",
    )
    .await;
    assert_status(app.login(&user.email, NEW_PASSWORD).await, StatusCode::OK).await;
});

dual_test!(
    reset_password_names_the_new_password_fields_it_refuses,
    |app| async move {
        let user = app.user("awa").await;
        forgot(&app, json!({"email": user.email})).await;
        let code = code_in(&app.last_email_to(&user.email).await.unwrap());
        let weak = assert_invalid(
            app.post(
                "/api/v1/auth/reset-password",
                None,
                &json!({
                    "email": user.email, "code": code,
                    "new_password": "tontine2027", "confirm_password": "tontine2027"
                }),
            )
            .await,
            "new_password",
        )
        .await;
        assert!(
            weak["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("majuscule"),
            "{weak}"
        );
        assert_invalid(
            app.post(
                "/api/v1/auth/reset-password",
                None,
                &json!({
                    "email": user.email, "code": code,
                    "new_password": NEW_PASSWORD, "confirm_password": "Nouveau2028"
                }),
            )
            .await,
            "confirm_password",
        )
        .await;
        // Refused input did not burn the code.
        reset_ok(&app, "email", &user.email, &code).await;
    }
);

dual_test_with!(
    forgot_password_is_rate_limited_per_account,
    |c| c.rate_limits.forgot_per_account = 2,
    |app| async move {
        let user = app.user("awa").await;
        forgot(&app, json!({"email": user.email})).await;
        forgot(&app, json!({"email": user.email})).await;
        let resp = app
            .post(
                "/api/v1/auth/forgot-password",
                None,
                &json!({"email": user.email}),
            )
            .await;
        let retry_after: u64 = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .expect("Retry-After")
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry_after >= 1);
        assert_error(resp, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
        assert_eq!(
            app.store.list_outbox().await.unwrap().len(),
            2,
            "the refused request queued nothing"
        );
        // An unknown account is limited the same way: the limit does not reveal existence.
        forgot(&app, json!({"email": "personne@example.sn"})).await;
        forgot(&app, json!({"email": "personne@example.sn"})).await;
        assert_error(
            app.post(
                "/api/v1/auth/forgot-password",
                None,
                &json!({"email": "personne@example.sn"}),
            )
            .await,
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
        )
        .await;
    }
);

dual_test_with!(
    forgot_password_is_rate_limited_per_address,
    |c| c.rate_limits.forgot_per_ip = 3,
    |app| async move {
        for n in 0..3 {
            forgot(&app, json!({"email": format!("personne{n}@example.sn")})).await;
        }
        assert_error(
            app.post(
                "/api/v1/auth/forgot-password",
                None,
                &json!({"email": "personne9@example.sn"}),
            )
            .await,
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
        )
        .await;
    }
);
