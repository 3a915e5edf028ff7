//! Access tokens die with their session: logout, a password change or reset, and revoking a
//! device stop them at once on this server, and within `READ_CACHE_TTL_MS` on the others.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::passwords::{forgot, reset_ok};
use crate::{dual_test, dual_test_with};

const NEW_PASSWORD: &str = "Nouveau2027";

async fn me(app: &TestApp, access: &str) -> reqwest::Response {
    app.get("/api/v1/auth/me", Some(access)).await
}

async fn assert_works(app: &TestApp, access: &str) {
    assert_status(me(app, access).await, StatusCode::OK).await;
}

async fn assert_revoked(app: &TestApp, access: &str) {
    assert_error(
        me(app, access).await,
        StatusCode::UNAUTHORIZED,
        "session_revoked",
    )
    .await;
}

/// A second session of `user` (another login): its access token.
async fn second_session(app: &TestApp, user: &TestUser) -> String {
    let pair: Value = assert_status(app.login(&user.email, PASSWORD).await, StatusCode::OK).await;
    pair["access_token"].as_str().unwrap().to_owned()
}

dual_test!(
    logout_stops_the_access_tokens_of_that_session_and_only_that_session,
    |app| async move {
        let user = app.user("awa").await;
        let other = second_session(&app, &user).await;
        // A token issued by a rotation belongs to the same session.
        let rotated: Value = assert_status(app.refresh(&user.refresh).await, StatusCode::OK).await;
        let rotated_access = rotated["access_token"].as_str().unwrap();
        assert_works(&app, &user.access).await;
        assert_works(&app, rotated_access).await;

        let body = json!({"refresh_token": rotated["refresh_token"]});
        assert_status(
            app.post("/api/v1/auth/logout", None, &body).await,
            StatusCode::OK,
        )
        .await;

        assert_revoked(&app, &user.access).await;
        assert_revoked(&app, rotated_access).await;
        assert_works(&app, &other).await;
    }
);

dual_test!(
    change_password_stops_every_access_token_of_the_account,
    |app| async move {
        let user = app.user("awa").await;
        let other = second_session(&app, &user).await;
        let stranger = app.user("moussa").await;
        let body = json!({
            "current_password": PASSWORD, "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD
        });
        assert_status(
            app.post("/api/v1/auth/change-password", user.token(), &body)
                .await,
            StatusCode::OK,
        )
        .await;

        assert_revoked(&app, &user.access).await;
        assert_revoked(&app, &other).await;
        assert_works(&app, &stranger.access).await;
        // The new password opens a new session that works.
        let pair: Value =
            assert_status(app.login(&user.email, NEW_PASSWORD).await, StatusCode::OK).await;
        assert_works(&app, pair["access_token"].as_str().unwrap()).await;
    }
);

dual_test!(
    reset_password_stops_every_access_token_of_the_account,
    |app| async move {
        let user = app.user("awa").await;
        let other = second_session(&app, &user).await;
        forgot(&app, json!({"phone": user.phone})).await;
        let code = code_in(&app.last_sms_to(&user.phone).await.expect("a code by SMS"));
        reset_ok(&app, "phone", &user.phone, &code).await;

        assert_revoked(&app, &user.access).await;
        assert_revoked(&app, &other).await;
        let pair: Value =
            assert_status(app.login(&user.email, NEW_PASSWORD).await, StatusCode::OK).await;
        assert_works(&app, pair["access_token"].as_str().unwrap()).await;
    }
);

dual_test!(
    revoking_a_device_stops_its_access_tokens_but_not_the_owners_other_sessions,
    |app| async move {
        let user = app.user("awa").await;
        let body = json!({"name": "Téléphone de terrain", "platform": "android"});
        let enrolled: Value = assert_status(
            app.post("/api/v1/devices", user.token(), &body).await,
            StatusCode::CREATED,
        )
        .await;
        let device_access = enrolled["access_token"].as_str().unwrap();
        // The device's refreshed token is the device's session too.
        let refreshed: Value = assert_status(
            app.refresh(enrolled["refresh_token"].as_str().unwrap())
                .await,
            StatusCode::OK,
        )
        .await;
        let refreshed_access = refreshed["access_token"].as_str().unwrap();
        assert_works(&app, device_access).await;

        let path = format!(
            "/api/v1/devices/{}",
            enrolled["device_id"].as_str().unwrap()
        );
        assert_status(app.delete(&path, user.token()).await, StatusCode::OK).await;

        assert_revoked(&app, device_access).await;
        assert_revoked(&app, refreshed_access).await;
        assert_works(&app, &user.access).await;
    }
);

dual_test_with!(
    a_session_closed_by_another_replica_stops_working_within_the_cache_ttl,
    |c| c.read_cache_ttl = Duration::from_millis(200),
    |app| async move {
        let user = app.user("awa").await;
        assert_works(&app, &user.access).await;
        // Another replica logs the session out: this process's cache does not hear of it.
        let hash = kobiri_server::auth::tokens::hash_refresh(&user.refresh);
        let token = app
            .store
            .refresh_token_by_hash(&hash)
            .await
            .unwrap()
            .unwrap();
        app.store
            .revoke_family(token.family_id, chrono::Utc::now())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_revoked(&app, &user.access).await;
    }
);
