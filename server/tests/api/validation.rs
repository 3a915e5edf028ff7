// Over 400 lines on purpose: the tests of one area, each standing alone; splitting them by size
// would separate the tests of one rule.
//! Bad input: every refusal is a contract error naming the field, never a 500 or plain text.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::*;

const REGISTER: &str = "/api/v1/auth/register";

fn valid() -> Value {
    registration("awa@example.sn", "+221771234567")
}

dual_test!(
    register_refuses_malformed_email_addresses,
    |app| async move {
        for email in [
            "awa.example.sn",
            "awa@",
            "awa@@example.sn",
            "awa@example",
            "",
        ] {
            let body = assert_invalid(
                app.post(REGISTER, None, &with(valid(), "email", json!(email)))
                    .await,
                "email",
            )
            .await;
            assert_eq!(error_fields(&body), ["email"], "{email:?}");
        }
    }
);

dual_test!(
    register_refuses_phones_that_are_too_short_too_long_or_not_digits,
    |app| async move {
        for phone in ["1234567", "+2217712345678901", "+221 77 ABC 45 67", "+"] {
            let body = assert_invalid(
                app.post(REGISTER, None, &with(valid(), "phone", json!(phone)))
                    .await,
                "phone",
            )
            .await;
            assert_eq!(error_fields(&body), ["phone"], "{phone:?}");
            assert!(body["detail"].as_str().unwrap().contains("phone"), "{body}");
        }
    }
);

dual_test!(
    register_refuses_each_weak_password_rule_with_its_message,
    |app| async move {
        let too_long = format!("Aa1{}", "x".repeat(200));
        for (password, words) in [
            ("Ton2026", "8 caractères"),
            ("tontine2026", "majuscule"),
            ("TONTINE2026", "minuscule"),
            ("TontineKobiri", "chiffre"),
            (too_long.as_str(), "128"),
        ] {
            let body = with(
                with(valid(), "password", json!(password)),
                "confirm_password",
                json!(password),
            );
            let err = assert_invalid(app.post(REGISTER, None, &body).await, "password").await;
            assert_eq!(error_fields(&err), ["password"]);
            assert!(
                err["errors"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains(words),
                "{password:?}: {err}"
            );
        }
    }
);

dual_test!(
    register_refuses_a_confirmation_that_differs,
    |app| async move {
        let body = with(valid(), "confirm_password", json!("Tontine2027"));
        let err = assert_invalid(app.post(REGISTER, None, &body).await, "confirm_password").await;
        assert_eq!(error_fields(&err), ["confirm_password"]);
    }
);

dual_test!(
    register_lists_every_invalid_field_at_once,
    |app| async move {
        let body = json!({
            "email": "nope", "phone": "12", "password": "court", "confirm_password": "autre",
            "first_name": "  ", "last_name": "Diop"
        });
        let err = assert_error(
            app.post(REGISTER, None, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
        )
        .await;
        let mut fields = error_fields(&err);
        fields.sort();
        assert_eq!(
            fields,
            [
                "confirm_password",
                "email",
                "first_name",
                "password",
                "phone"
            ]
        );
    }
);

dual_test!(register_names_a_missing_field, |app| async move {
    for field in [
        "email",
        "phone",
        "password",
        "confirm_password",
        "first_name",
        "last_name",
    ] {
        let err = assert_invalid(
            app.post(REGISTER, None, &with(valid(), field, Value::Null))
                .await,
            field,
        )
        .await;
        assert_eq!(error_fields(&err), [field]);
    }
});

dual_test!(register_names_a_field_of_the_wrong_type, |app| async move {
    assert_invalid(
        app.post(REGISTER, None, &with(valid(), "email", json!(12345)))
            .await,
        "email",
    )
    .await;
    assert_invalid(
        app.post(REGISTER, None, &with(valid(), "city", json!(["Dakar"])))
            .await,
        "city",
    )
    .await;
    // A body that is not an object.
    assert_error(
        app.post(REGISTER, None, &json!(["awa@example.sn"])).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_error",
    )
    .await;
});

dual_test!(register_refuses_huge_strings, |app| async move {
    let huge = "a".repeat(10_000);
    for field in [
        "first_name",
        "last_name",
        "city",
        "address",
        "country",
        "email",
    ] {
        let value = if field == "email" {
            format!("{huge}@example.sn")
        } else {
            huge.clone()
        };
        assert_invalid(
            app.post(REGISTER, None, &with(valid(), field, json!(value)))
                .await,
            field,
        )
        .await;
    }
    // A 10,000-character password is refused before any hashing.
    let password = format!("Aa1{huge}");
    let body = with(
        with(valid(), "password", json!(password)),
        "confirm_password",
        json!(password),
    );
    assert_invalid(app.post(REGISTER, None, &body).await, "password").await;
});

dual_test!(register_with_an_empty_body_is_422, |app| async move {
    let resp = app
        .request(Method::POST, REGISTER, None)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .send()
        .await
        .unwrap();
    let err = assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_error").await;
    assert!(!error_fields(&err).is_empty(), "{err}");
    let bare = app
        .request(Method::POST, REGISTER, None)
        .send()
        .await
        .unwrap();
    assert_error(bare, StatusCode::UNPROCESSABLE_ENTITY, "validation_error").await;
});

dual_test!(malformed_json_is_422_invalid_json, |app| async move {
    for path in [REGISTER, "/api/v1/auth/login", "/api/v1/auth/refresh"] {
        let err = assert_error(
            app.post_raw(
                path,
                None,
                "application/json",
                r#"{"email": "awa@example.sn","#,
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_json",
        )
        .await;
        assert!(
            err["detail"].as_str().unwrap().contains("JSON"),
            "{path}: {err}"
        );
    }
    let user = app.user("awa").await;
    assert_error(
        app.request(
            Method::PUT,
            &format!("/api/v1/users/{}", user.id),
            user.token(),
        )
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body("{city: Dakar}")
        .send()
        .await
        .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_json",
    )
    .await;
});

dual_test!(a_body_that_is_not_json_is_415, |app| async move {
    let json_text = valid().to_string();
    for content_type in [
        "text/plain",
        "application/xml",
        "application/x-www-form-urlencoded",
    ] {
        assert_error(
            app.post_raw(REGISTER, None, content_type, json_text.clone())
                .await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .await;
    }
    // Login takes JSON or the OAuth2 form, nothing else.
    assert_error(
        app.post_raw(
            "/api/v1/auth/login",
            None,
            "text/plain",
            json!({"email": "awa@example.sn", "password": PASSWORD}).to_string(),
        )
        .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    // A charset parameter is fine.
    assert_status(
        app.post_raw(REGISTER, None, "application/json; charset=utf-8", json_text)
            .await,
        StatusCode::CREATED,
    )
    .await;
});

dual_test!(an_unknown_channel_is_422_naming_channel, |app| async move {
    let user = app.user("awa").await;
    let err = assert_invalid(
        app.post(
            "/api/v1/auth/send-verification",
            user.token(),
            &json!({"channel": "pigeon"}),
        )
        .await,
        "channel",
    )
    .await;
    assert!(
        err["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("pigeon"),
        "{err}"
    );
    assert_invalid(
        app.post(
            "/api/v1/auth/verify",
            user.token(),
            &json!({"channel": "pigeon", "code": "123456"}),
        )
        .await,
        "channel",
    )
    .await;
    assert_invalid(
        app.post("/api/v1/auth/send-verification", user.token(), &json!({}))
            .await,
        "channel",
    )
    .await;
});

dual_test!(
    login_and_forgot_password_name_a_malformed_identifier,
    |app| async move {
        assert_invalid(
            app.post(
                "/api/v1/auth/login",
                None,
                &json!({"email": "pas-un-email", "password": PASSWORD}),
            )
            .await,
            "email",
        )
        .await;
        assert_invalid(
            app.post(
                "/api/v1/auth/login",
                None,
                &json!({"phone": "12", "password": PASSWORD}),
            )
            .await,
            "phone",
        )
        .await;
        assert_invalid(
            app.post(
                "/api/v1/auth/login",
                None,
                &json!({"email": "awa@example.sn"}),
            )
            .await,
            "password",
        )
        .await;
        assert_invalid(
            app.post(
                "/api/v1/auth/forgot-password",
                None,
                &json!({"phone": "abc"}),
            )
            .await,
            "phone",
        )
        .await;
        assert_invalid(
            app.post("/api/v1/auth/forgot-password", None, &json!({}))
                .await,
            "email",
        )
        .await;
        assert_invalid(
            app.post("/api/v1/auth/refresh", None, &json!({})).await,
            "refresh_token",
        )
        .await;
    }
);

dual_test!(page_and_page_size_out_of_range_are_422, |app| async move {
    let admin = app.admin("chef").await;
    for (key, value) in [
        ("page_size", "0"),
        ("page_size", "101"),
        ("page_size", "dix"),
        ("page_size", "-1"),
        ("page", "0"),
        ("page", "un"),
    ] {
        assert_invalid(
            app.get(&with_query("/api/v1/users", &[(key, value)]), admin.token())
                .await,
            key,
        )
        .await;
    }
    let max = assert_status(
        app.get(
            &with_query("/api/v1/users", &[("page_size", "100")]),
            admin.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(max["page_size"], 100);
});

dual_test!(a_path_id_that_is_not_a_uuid_is_422, |app| async move {
    let admin = app.admin("chef").await;
    let path = "/api/v1/users/not-a-uuid";
    assert_invalid(app.get(path, admin.token()).await, "id").await;
    assert_invalid(
        app.put(path, admin.token(), &json!({"city": "Dakar"}))
            .await,
        "id",
    )
    .await;
    assert_invalid(app.delete(path, admin.token()).await, "id").await;
});

dual_test!(update_refuses_invalid_profile_fields, |app| async move {
    let user = app.user("awa").await;
    let path = format!("/api/v1/users/{}", user.id);
    assert_invalid(
        app.put(
            &path,
            user.token(),
            &json!({"first_name": "a".repeat(10_000)}),
        )
        .await,
        "first_name",
    )
    .await;
    assert_invalid(
        app.put(&path, user.token(), &json!({"last_name": "   "}))
            .await,
        "last_name",
    )
    .await;
    assert_invalid(
        app.put(&path, user.token(), &json!({"city": 42})).await,
        "city",
    )
    .await;
    assert_eq!(app.stored_user(&user.id).await.first_name, "Awa");
});
