//! The mobile-money sandbox of a development server, on the real binary with no provider
//! configured: initiate, approve or refuse on the sandbox page, the provider's genuine
//! callback verified, a forged one refused; in production the sandbox is not there.

use kobiri_server::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// A fresh server process on its own database of `engine` in `environment`, with no
/// provider set; `None` when PostgreSQL is asked for and cannot be reached outside CI.
async fn server(environment: &str, engine: Engine) -> Option<(ServerProcess, TestDatabase)> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (url, db) = match engine {
        Engine::Sqlite => TestDatabase::sqlite().unwrap(),
        Engine::Postgres => TestDatabase::postgres("kobiri_sandbox").await?,
    };
    let env = [
        ("ENVIRONMENT", environment.to_owned()),
        (
            "SECRET_KEY",
            "a-production-secret-of-more-than-thirty-two-characters".to_owned(),
        ),
        ("CORS_ORIGINS", "http://localhost".to_owned()),
    ];
    Some((ServerProcess::spawn(&url, &env).await, db))
}

/// A registered, logged-in president of a tontine whose first session is open; returns
/// (token, phone, session id).
async fn open_session(server: &Http) -> (String, String, String) {
    let phone = "+221770004455";
    let body = registration("sandbox@example.sn", phone);
    let resp = server.post("/api/v1/auth/register", None, &body).await;
    assert_status(resp, StatusCode::CREATED).await;
    let login = json!({"email": "sandbox@example.sn", "password": PASSWORD});
    let tokens = assert_status(
        server.post("/api/v1/auth/login", None, &login).await,
        StatusCode::OK,
    )
    .await;
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let tontine = json!({"name": "Tontine d'essai", "type": "rotative", "frequency": "mensuel",
        "contribution_amount": 5000, "start_date": "2027-01-31"});
    let tontine = assert_status(
        server
            .post("/api/v1/tontines", Some(&token), &tontine)
            .await,
        StatusCode::CREATED,
    )
    .await;
    let path = format!(
        "/api/v1/sessions/generate/{}",
        tontine["id"].as_str().unwrap()
    );
    let sessions = assert_status(
        server.post(&path, Some(&token), &json!({"count": 1})).await,
        StatusCode::CREATED,
    )
    .await;
    let session = sessions[0]["id"].as_str().unwrap().to_owned();
    let open = format!("/api/v1/sessions/{session}/open");
    assert_status(
        server.post(&open, Some(&token), &json!({})).await,
        StatusCode::OK,
    )
    .await;
    (token, phone.to_owned(), session)
}

async fn initiate(server: &Http, token: &str, session: &str, phone: &str, method: &str) -> Value {
    let body = json!({"session_id": session, "method": method, "phone_number": phone});
    assert_status(
        server
            .post("/api/v1/payments/initiate", Some(token), &body)
            .await,
        StatusCode::CREATED,
    )
    .await
}

async fn status_of(server: &Http, token: &str, payment: &Value) -> String {
    let path = format!("/api/v1/payments/{}", payment["id"].as_str().unwrap());
    let got = assert_status(server.get(&path, Some(token)).await, StatusCode::OK).await;
    got["status"].as_str().unwrap().to_owned()
}

/// The sandbox page of `payment`, on this server (its `payment_url` names `localhost`).
fn page(payment: &Value) -> String {
    let url = payment["payment_url"].as_str().expect("a payment_url");
    let id = payment["id"].as_str().unwrap();
    let path = format!("/sandbox/payments/{id}");
    assert!(url.ends_with(&path), "{url}");
    path
}

/// Each test, on each engine.
macro_rules! sandbox_test {
    ($name:ident) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(Engine::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(Engine::Postgres).await;
            }
        }
    };
}

sandbox_test!(a_fresh_development_server_pays_through_its_sandbox);
sandbox_test!(a_production_server_runs_no_sandbox);

async fn a_fresh_development_server_pays_through_its_sandbox(engine: Engine) {
    let Some((server, _db)) = server("development", engine).await else {
        return;
    };
    let (token, phone, session) = open_session(&server).await;

    // Orange Money: the payer refuses; a forged notification is refused first.
    let orange = initiate(&server, &token, &session, &phone, "orange_money").await;
    assert_eq!(orange["status"], "en_cours");
    let page_path = page(&orange);
    let shown = server.get(&page_path, None).await;
    assert_eq!(shown.status(), StatusCode::OK);
    let html = shown.text().await.unwrap();
    assert!(
        html.contains("5000") && html.contains("Approuver"),
        "{html}"
    );
    let forged = json!({"status": "SUCCESS", "notif_token": "not-the-token", "txnid": "TX-1"});
    let forged_url = format!(
        "/api/v1/payments/callback/orange?reference={}",
        orange["id"].as_str().unwrap()
    );
    let resp = server.post(&forged_url, None, &forged).await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "callback_rejected").await;
    assert_eq!(status_of(&server, &token, &orange).await, "en_cours");
    let refused = server
        .post(&format!("{page_path}/refuse"), None, &json!({}))
        .await;
    assert_eq!(refused.status(), StatusCode::OK);
    assert_eq!(status_of(&server, &token, &orange).await, "echoue");

    // Wave: a forged signature is refused; approving sends the signed webhook.
    let wave = initiate(&server, &token, &session, &phone, "wave").await;
    let page_path = page(&wave);
    let body = json!({"type": "checkout.session.completed", "data": {
        "id": wave["operator_reference"], "client_reference": wave["id"],
        "payment_status": "succeeded"}});
    let raw = serde_json::to_vec(&body).unwrap();
    let t = chrono::Utc::now().timestamp();
    let signature = kobiri_server::mobile_money::standin::wave::signature("forged", t, &raw);
    let resp = server
        .client
        .post(server.url("/api/v1/payments/callback/wave"))
        .header("content-type", "application/json")
        .header("wave-signature", signature)
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_error(resp, StatusCode::UNAUTHORIZED, "callback_rejected").await;
    assert_eq!(status_of(&server, &token, &wave).await, "en_cours");
    let approved = server
        .post(&format!("{page_path}/approve"), None, &json!({}))
        .await;
    assert_eq!(approved.status(), StatusCode::OK);
    assert!(approved.text().await.unwrap().contains("200"));
    assert_eq!(status_of(&server, &token, &wave).await, "valide");
    // Deciding twice changes nothing.
    let again = server
        .post(&format!("{page_path}/approve"), None, &json!({}))
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    server.stop().await;
}

async fn a_production_server_runs_no_sandbox(engine: Engine) {
    let Some((server, _db)) = server("production", engine).await else {
        return;
    };
    let (token, phone, session) = open_session(&server).await;
    let body = json!({"session_id": session, "method": "wave", "phone_number": phone});
    let resp = server
        .post("/api/v1/payments/initiate", Some(&token), &body)
        .await;
    assert_error(resp, StatusCode::BAD_REQUEST, "provider_not_configured").await;
    let page = format!("/sandbox/payments/{}", uuid::Uuid::now_v7());
    assert_eq!(
        server.get(&page, None).await.status(),
        StatusCode::NOT_FOUND
    );
    let approve = server
        .post(&format!("{page}/approve"), None, &json!({}))
        .await;
    assert_eq!(approve.status(), StatusCode::NOT_FOUND);
    server.stop().await;
}
