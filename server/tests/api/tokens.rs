//! Refresh tokens: rotation, re-use detection, expiry and logout.

use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::*;

fn tokens(pair: &Value) -> (String, String) {
    (
        pair["access_token"].as_str().unwrap().to_owned(),
        pair["refresh_token"].as_str().unwrap().to_owned(),
    )
}

dual_test!(
    refresh_rotates_the_pair_and_the_new_access_token_works,
    |app| async move {
        let user = app.user("awa").await;
        let pair = assert_status(app.refresh(&user.refresh).await, StatusCode::OK).await;
        assert_eq!(pair["token_type"], "bearer");
        assert_eq!(pair["expires_in"], 1800);
        let (access, refresh) = tokens(&pair);
        assert_ne!(refresh, user.refresh);
        assert_ne!(access, user.access);
        let me = assert_status(
            app.get("/api/v1/auth/me", Some(&access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(me["id"], user.id.as_str());
        // The new refresh token rotates in turn.
        assert_status(app.refresh(&refresh).await, StatusCode::OK).await;
    }
);

dual_test!(
    reusing_a_rotated_refresh_token_revokes_its_whole_family_but_not_other_sessions,
    |app| async move {
        let user = app.user("awa").await;
        let other_session =
            assert_status(app.login(&user.email, PASSWORD).await, StatusCode::OK).await;
        let (_, new_refresh) =
            tokens(&assert_status(app.refresh(&user.refresh).await, StatusCode::OK).await);

        assert_error(
            app.refresh(&user.refresh).await,
            StatusCode::UNAUTHORIZED,
            "token_reused",
        )
        .await;
        // The thief or the victim holds the newer token: it died with its family.
        let dead = app.refresh(&new_refresh).await;
        assert_eq!(dead.status(), StatusCode::UNAUTHORIZED);
        // Another login is another family: untouched.
        let (_, other_refresh) = tokens(&other_session);
        assert_status(app.refresh(&other_refresh).await, StatusCode::OK).await;
    }
);

dual_test!(
    two_concurrent_refreshes_with_one_token_let_exactly_one_through,
    |app| async move {
        let user = app.user("awa").await;
        let (a, b) = tokio::join!(app.refresh(&user.refresh), app.refresh(&user.refresh));
        let (status_a, status_b) = (a.status(), b.status());
        let bodies: Vec<Value> = vec![a.json().await.unwrap(), b.json().await.unwrap()];
        let mut statuses = [status_a, status_b];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::UNAUTHORIZED],
            "{bodies:?}"
        );
        let winner = bodies
            .iter()
            .find(|b| b["refresh_token"].is_string())
            .unwrap();
        let loser = bodies.iter().find(|b| b["code"].is_string()).unwrap();
        assert_eq!(loser["code"], "token_reused");
        // The re-use revoked the family, including the token the winner received.
        let (_, refresh) = tokens(winner);
        assert_eq!(
            app.refresh(&refresh).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
);

dual_test!(a_refresh_token_expires_after_7_days, |app| async move {
    let user = app.user("awa").await;
    app.clock.advance(TimeDelta::days(6));
    let later = assert_status(app.login(&user.email, PASSWORD).await, StatusCode::OK).await;
    assert_status(app.refresh(&user.refresh).await, StatusCode::OK).await;
    app.clock.advance(TimeDelta::days(2));
    // `later` was issued 2 days ago: still valid.
    let (_, later_refresh) = tokens(&later);
    let (_, latest) =
        tokens(&assert_status(app.refresh(&later_refresh).await, StatusCode::OK).await);
    app.clock.advance(TimeDelta::days(8));
    assert_error(
        app.refresh(&latest).await,
        StatusCode::UNAUTHORIZED,
        "token_expired",
    )
    .await;
});

dual_test!(
    an_unused_refresh_token_is_expired_8_days_after_login,
    |app| async move {
        let user = app.user("awa").await;
        app.clock.advance(TimeDelta::days(8));
        assert_error(
            app.refresh(&user.refresh).await,
            StatusCode::UNAUTHORIZED,
            "token_expired",
        )
        .await;
    }
);

dual_test!(
    logout_revokes_the_whole_family_and_only_that_family,
    |app| async move {
        let user = app.user("awa").await;
        let other = assert_status(app.login(&user.email, PASSWORD).await, StatusCode::OK).await;
        let (_, rotated) =
            tokens(&assert_status(app.refresh(&user.refresh).await, StatusCode::OK).await);
        let out = assert_status(
            app.post(
                "/api/v1/auth/logout",
                None,
                &json!({"refresh_token": rotated}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert!(out["detail"].is_string());
        assert_eq!(
            app.refresh(&rotated).await.status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            app.refresh(&user.refresh).await.status(),
            StatusCode::UNAUTHORIZED
        );
        let (_, other_refresh) = tokens(&other);
        assert_status(app.refresh(&other_refresh).await, StatusCode::OK).await;
    }
);

dual_test!(
    refresh_or_logout_with_an_unknown_token_is_401_token_invalid,
    |app| async move {
        let user = app.user("awa").await;
        assert_error(
            app.refresh("bm90LWEtcmVhbC10b2tlbg").await,
            StatusCode::UNAUTHORIZED,
            "token_invalid",
        )
        .await;
        // An access token is not a refresh token.
        assert_error(
            app.refresh(&user.access).await,
            StatusCode::UNAUTHORIZED,
            "token_invalid",
        )
        .await;
        assert_error(
            app.post(
                "/api/v1/auth/logout",
                None,
                &json!({"refresh_token": "bm90LWEtcmVhbC10b2tlbg"}),
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "token_invalid",
        )
        .await;
        // The real session was not touched.
        assert_status(app.refresh(&user.refresh).await, StatusCode::OK).await;
    }
);
