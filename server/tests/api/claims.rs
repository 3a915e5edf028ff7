//! Claiming a member's account without a password (added by phone by a president) needs the
//! code sent by SMS to that phone: registering with the phone alone takes nothing over.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::*;
use crate::tontines::create_tontine;

const PHONE: &str = "+221765550101";

/// A tontine whose president added Fatou by phone; returns (president, tontine id, Fatou's
/// member row).
async fn member_added_by_phone(app: &TestApp) -> (TestUser, String, Value) {
    let president = app.user("president").await;
    let tontine = create_tontine(app, &president, json!({"max_members": 10})).await;
    let id = tontine["id"].as_str().unwrap().to_owned();
    let member = assert_status(
        app.post(
            &format!("/api/v1/tontines/{id}/members"),
            president.token(),
            &json!({"phone": PHONE, "first_name": "Fatou", "last_name": "Ndiaye"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    (president, id, member)
}

fn attacker_registration() -> Value {
    with(
        registration("voleur@example.sn", PHONE),
        "first_name",
        json!("Voleur"),
    )
}

async fn register(app: &TestApp, body: &Value) -> reqwest::Response {
    app.post("/api/v1/auth/register", None, body).await
}

/// The member's account as the president sees it in the member list.
async fn listed(app: &TestApp, president: &TestUser, tontine: &str, user_id: &str) -> Value {
    let members = assert_status(
        app.get(
            &format!("/api/v1/tontines/{tontine}/members"),
            president.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_id"] == user_id)
        .cloned()
        .expect("still a member")
}

dual_test!(
    registering_with_a_members_phone_without_the_sms_code_takes_nothing_over,
    |app| async move {
        let (president, tontine, member) = member_added_by_phone(&app).await;
        let user_id = member["user_id"].as_str().unwrap().to_owned();

        let refused = assert_error(
            register(&app, &attacker_registration()).await,
            StatusCode::CONFLICT,
            "phone_needs_verification",
        )
        .await;
        assert!(
            refused["detail"].as_str().unwrap().contains("phone_code"),
            "the detail says what to do: {refused}"
        );
        // The code went to the member's phone, not to the registrant.
        assert!(app.last_sms_to(PHONE).await.is_some());
        assert!(app.last_email_to("voleur@example.sn").await.is_none());
        // A guessed code is refused, then the code is spent after five tries.
        for _ in 0..4 {
            let guess = with(attacker_registration(), "phone_code", json!("000000"));
            assert_error(
                register(&app, &guess).await,
                StatusCode::BAD_REQUEST,
                "invalid_code",
            )
            .await;
        }
        let guess = with(attacker_registration(), "phone_code", json!("000000"));
        assert_error(
            register(&app, &guess).await,
            StatusCode::BAD_REQUEST,
            "too_many_attempts",
        )
        .await;

        // Nothing was created or changed.
        let stored = app.stored_user(&user_id).await;
        assert!(stored.password_hash.is_none());
        assert!(stored.email.is_none());
        assert_eq!(stored.first_name, "Fatou");
        assert!(
            app.store
                .user_by_email(&kobiri_core::Email::parse("voleur@example.sn").unwrap())
                .await
                .unwrap()
                .is_none()
        );
        assert_error(
            app.login("voleur@example.sn", PASSWORD).await,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        )
        .await;
        let row = listed(&app, &president, &tontine, &user_id).await;
        assert_eq!(row["user_name"], "Fatou Ndiaye");
    }
);

dual_test!(
    the_member_claims_her_account_with_the_code_sent_to_her_phone,
    |app| async move {
        let (president, tontine, member) = member_added_by_phone(&app).await;
        let user_id = member["user_id"].as_str().unwrap().to_owned();
        let body = with(
            registration("fatou@example.sn", PHONE),
            "first_name",
            json!("Fatou Binetou"),
        );
        assert_error(
            register(&app, &body).await,
            StatusCode::CONFLICT,
            "phone_needs_verification",
        )
        .await;
        let code = code_in(&app.last_sms_to(PHONE).await.expect("a code by SMS"));

        let claimed = assert_status(
            register(&app, &with(body, "phone_code", json!(code))).await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(claimed["id"], user_id.as_str(), "the same account");
        assert_eq!(claimed["phone_verified"], true);
        let tokens = assert_status(
            app.login("fatou@example.sn", PASSWORD).await,
            StatusCode::OK,
        )
        .await;
        // Her membership came with the account.
        let mine = assert_status(
            app.get(
                &format!("/api/v1/tontines/{tontine}"),
                tokens["access_token"].as_str(),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(mine["id"], tontine.as_str());
        let row = listed(&app, &president, &tontine, &user_id).await;
        assert_eq!(row["user_name"], "Fatou Binetou Diop");
        // The code is spent: it cannot claim twice, and the phone is now taken.
        assert_error(
            register(
                &app,
                &with(attacker_registration(), "phone_code", json!(code)),
            )
            .await,
            StatusCode::CONFLICT,
            "phone_taken",
        )
        .await;
    }
);
