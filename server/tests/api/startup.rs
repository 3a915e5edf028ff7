//! What the real binary does at start-up with its secrets: the key file made when
//! `SECRET_KEY` is unset, what production refuses, and that production never logs a code.

use std::{path::Path, time::Duration};

use kobiri_server::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// The key the server used before it had none of its own: anyone could sign with it.
const OLD_DEFAULT_KEY: &str = "change-me-in-production-kobiri-dev-secret";

/// An access token for `user_id` in login session `sid`, as the server's tokens are made,
/// signed with `key`.
fn forge_access_token(user_id: &str, sid: &str, key: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "sub": user_id, "exp": now + 600, "iat": now,
        "jti": uuid::Uuid::new_v4(), "typ": "access", "sid": sid,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(key.as_bytes()),
    )
    .unwrap()
}

/// The login session (`sid`) a real access token names, read from its payload.
fn session_of(token: &str) -> String {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let claims: Value = serde_json::from_slice(&bytes).unwrap();
    claims["sid"].as_str().unwrap().to_owned()
}

/// A process with no `SECRET_KEY` makes `key_file` (mode 0600) at first start, signs with it,
/// refuses tokens signed with the old built-in key, and reuses the file when started again.
async fn key_file_is_made_private_and_reused(
    database_url: &str,
    key_file: &Path,
    env: &[(&str, String)],
) {
    let mut env = env.to_vec();
    env.push(("SECRET_KEY", String::new()));
    let server = ServerProcess::spawn(database_url, &env).await;
    let key = std::fs::read_to_string(key_file).expect("the key file exists");
    let key = key.trim();
    assert!(key.len() >= 32, "{key:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    }
    let body = registration("awa@example.sn", "+221771234567");
    let user: Value = assert_status(
        server.post("/api/v1/auth/register", None, &body).await,
        StatusCode::CREATED,
    )
    .await;
    let user_id = user["id"].as_str().unwrap();
    let login = json!({"email": "awa@example.sn", "password": PASSWORD});
    let tokens: Value = assert_status(
        server.post("/api/v1/auth/login", None, &login).await,
        StatusCode::OK,
    )
    .await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    // A token forged with the old built-in key is refused; the same claims (the real login
    // session's) signed with the file's key pass, so the forgery was well made.
    let sid = session_of(&access);
    let forged = forge_access_token(user_id, &sid, OLD_DEFAULT_KEY);
    let resp = server.get("/api/v1/auth/me", Some(&forged)).await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "token_invalid").await;
    let signed = forge_access_token(user_id, &sid, key);
    assert_status(
        server.get("/api/v1/auth/me", Some(&signed)).await,
        StatusCode::OK,
    )
    .await;
    server.stop().await;

    // Started again: the same key, so the token issued before still works.
    let again = ServerProcess::spawn(database_url, &env).await;
    assert_eq!(std::fs::read_to_string(key_file).unwrap().trim(), key);
    assert_status(
        again.get("/api/v1/auth/me", Some(&access)).await,
        StatusCode::OK,
    )
    .await;
    again.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_secret_key_sqlite_keeps_a_private_key_file_beside_the_database() {
    let (url, db) = TestDatabase::sqlite().unwrap();
    let TestDatabase::Sqlite(dir) = &db else {
        unreachable!()
    };
    let key_file = dir.path().join("kobiri.db.secret");
    key_file_is_made_private_and_reused(&url, &key_file, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_secret_key_postgres_keeps_a_private_key_file_at_secret_key_file() {
    let Some((url, _db)) = TestDatabase::postgres("kobiri_test").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("keys").join("kobiri.secret");
    let env = [("SECRET_KEY_FILE", key_file.display().to_string())];
    key_file_is_made_private_and_reused(&url, &key_file, &env).await;
}

/// Runs the binary with `env` until it exits (within 30 s); returns its stderr.
async fn refused_start(env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kobiri.db").display());
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_kobiri-server"));
    command
        .env_clear()
        .env("DATABASE_URL", &url)
        .env("LOG_DIR", dir.path())
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .current_dir(dir.path())
        .envs(env.iter().copied())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .expect("the server exits")
        .unwrap();
    assert!(!output.status.success(), "it started: {output:?}");
    assert!(
        !dir.path().join("kobiri.db.secret").exists(),
        "production made a key file"
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_refuses_to_start_without_a_strong_key_or_cors_origins() {
    let cors = ("CORS_ORIGINS", "https://app.kobiri.sn");
    let strong = ("SECRET_KEY", "a-real-secret-of-more-than-thirty-two-chars");
    let production = ("ENVIRONMENT", "production");
    let missing = refused_start(&[production, cors]).await;
    assert!(missing.contains("SECRET_KEY"), "{missing}");
    let short = refused_start(&[production, cors, ("SECRET_KEY", "short-key")]).await;
    assert!(short.contains("SECRET_KEY"), "{short}");
    let no_cors = refused_start(&[production, strong]).await;
    assert!(no_cors.contains("CORS_ORIGINS must be set"), "{no_cors}");
}

/// Registers an account, asks for a reset code by e-mail, waits until the log shows the first
/// `handled` line, then by SMS (a new code replaces the one not yet sent) and the second line;
/// returns the log.
async fn ask_for_codes_and_read_the_log(env: &[(&str, String)], handled: [&str; 2]) -> String {
    let (url, _db) = TestDatabase::sqlite().unwrap();
    let mut env = env.to_vec();
    env.extend([
        ("LOG_LEVEL", "info".to_owned()),
        ("OUTBOX_INTERVAL_SECONDS", "1".to_owned()),
    ]);
    let server = ServerProcess::spawn(&url, &env).await;
    let body = registration("awa@example.sn", "+221771234567");
    assert_status(
        server.post("/api/v1/auth/register", None, &body).await,
        StatusCode::CREATED,
    )
    .await;
    let asks = [
        json!({"email": "awa@example.sn"}),
        json!({"phone": "+221771234567"}),
    ];
    for (who, line) in asks.iter().zip(handled) {
        let resp = server.post("/api/v1/auth/forgot-password", None, who).await;
        assert_status(resp, StatusCode::OK).await;
        let mut seen = false;
        for _ in 0..200 {
            if server.log_text().contains(line) {
                seen = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            seen,
            "the log never showed {line:?}:\n{}\nstderr: {}",
            server.log_text(),
            server.stderr_text()
        );
    }
    let log = server.log_text();
    server.stop().await;
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_never_writes_an_account_code_to_the_log() {
    // In development the log stands in for the gateways and shows the codes: the check below
    // would see them.
    let dev =
        ask_for_codes_and_read_the_log(&[], ["e-mail (development", "SMS (development: not sent)"])
            .await;
    assert!(dev.contains("votre code de reinitialisation est"), "{dev}");
    assert!(dev.contains("Votre code de réinitialisation"), "{dev}");

    let prod = ask_for_codes_and_read_the_log(
        &[
            ("ENVIRONMENT", "production".to_owned()),
            ("CORS_ORIGINS", "*".to_owned()),
        ],
        ["e-mail not sent", "SMS not sent: no SMS gateway configured"],
    )
    .await;
    assert!(!prod.contains("code de reinitialisation"), "{prod}");
    assert!(!prod.contains("code de réinitialisation"), "{prod}");
    // The start-up warnings of production are there too.
    assert!(prod.contains("CORS_ORIGINS=*"), "{prod}");
    assert!(prod.contains("/metrics is off"), "{prod}");
}
