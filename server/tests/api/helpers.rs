// Over 400 lines on purpose: the API tests' harness: the app on both engines, users, requests and
// assertions.
//! The test harness: the real router on `127.0.0.1:0` against a fresh database, SQLite (a
//! temporary file) or PostgreSQL (a database created for the test and dropped after it), and
//! real `kobiri-server` processes for the tests that need several replicas.

use std::{
    net::SocketAddr,
    ops::Deref,
    sync::{Arc, Once},
    time::Duration,
};

use chrono::Utc;
use kobiri_core::{PlatformRole, UserId};
use kobiri_server::{
    AppState, Parts,
    clock::ManualClock,
    config::Config,
    notify::Recorder,
    store::{self, Store, UserPatch},
    testing::TestDatabase,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

pub const PASSWORD: &str = "Tontine2026";

pub use kobiri_server::store::Engine;

/// Runs one test body against both engines: `dual_test!(name, |app| async move { … });`
/// expands to `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! dual_test {
    ($name:ident, |$app:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $app = $crate::helpers::TestApp::spawn($crate::helpers::Engine::Sqlite)
                    .await
                    .expect("sqlite always runs");
                $body.await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($app) =
                    $crate::helpers::TestApp::spawn($crate::helpers::Engine::Postgres).await
                else {
                    return;
                };
                $body.await;
            }
        }
    };
}

/// Like `dual_test!`, with a hook that adjusts the configuration before the app starts:
/// `dual_test_with!(name, |c| c.max_body_bytes = 1024, |app| async move { … });`
#[macro_export]
macro_rules! dual_test_with {
    ($name:ident, $tweak:expr, |$app:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $app =
                    $crate::helpers::TestApp::spawn_with($crate::helpers::Engine::Sqlite, $tweak)
                        .await
                        .expect("sqlite always runs");
                $body.await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($app) =
                    $crate::helpers::TestApp::spawn_with($crate::helpers::Engine::Postgres, $tweak)
                        .await
                else {
                    return;
                };
                $body.await;
            }
        }
    };
}

/// An HTTP client for one server: the in-process app or a spawned process.
pub struct Http {
    /// `http://127.0.0.1:<port>`
    pub address: String,
    pub client: reqwest::Client,
}

pub struct TestApp {
    pub engine: Engine,
    pub http: Http,
    pub clock: Arc<ManualClock>,
    pub outbox: Recorder,
    pub store: Arc<dyn Store>,
    pub config: Config,
    /// The server's state, for tests that run job passes themselves.
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _db: TestDatabase,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Deref for TestApp {
    type Target = Http;

    fn deref(&self) -> &Http {
        &self.http
    }
}

impl Http {
    pub fn new(address: String) -> Self {
        install_rustls();
        Self {
            address,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let builder = self.client.request(method, self.url(path));
        match token {
            Some(t) => builder.bearer_auth(t),
            None => builder,
        }
    }

    /// How many `event`s (under `code`, or under any) `/metrics` counts so far.
    pub async fn security_events(&self, event: &str, code: Option<&str>) -> u64 {
        let text = self.get("/metrics", None).await.text().await.unwrap();
        text.lines()
            .filter(|l| l.starts_with("kobiri_security_events_total{"))
            .filter(|l| l.contains(&format!("event=\"{event}\"")))
            .filter(|l| code.is_none_or(|c| l.contains(&format!("code=\"{c}\""))))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
            .sum()
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::GET, path, token).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.request(Method::POST, path, token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.request(Method::PUT, path, token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::DELETE, path, token)
            .send()
            .await
            .unwrap()
    }

    /// Posts an `application/x-www-form-urlencoded` body.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.request(Method::POST, path, None)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Posts raw bytes with the given content type.
    pub async fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        self.request(Method::POST, path, token)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }
}

static RUSTLS: Once = Once::new();

/// reqwest is built without a default crypto provider: install ring's once per test binary.
fn install_rustls() {
    RUSTLS.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl TestApp {
    /// `None` when the engine is PostgreSQL and it cannot be reached outside CI.
    pub async fn spawn(engine: Engine) -> Option<Self> {
        Self::spawn_with(engine, |_| {}).await
    }

    /// Like `spawn`, with a hook to adjust the configuration.
    pub async fn spawn_with(engine: Engine, tweak: impl FnOnce(&mut Config)) -> Option<Self> {
        install_rustls();
        let (url, db) = match engine {
            Engine::Sqlite => TestDatabase::sqlite().unwrap(),
            Engine::Postgres => TestDatabase::postgres("kobiri_test").await?,
        };
        let mut config = Config::for_tests(&url);
        // The key of the test binary's server processes too, so that a test's processes
        // accept the tokens its in-process app issued (replicas).
        config.secret_key = shared_secret_key().to_owned();
        tweak(&mut config);
        let store = store::connect(&url, config.database_max_connections)
            .await
            .unwrap();
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let outbox = Recorder::default();
        let state = AppState::new(Parts {
            config: config.clone(),
            store: store.clone(),
            clock: clock.clone(),
            mailer: Arc::new(outbox.clone()),
            sms: Arc::new(outbox.clone()),
            mobile_money: kobiri_server::mobile_money::Registry::from_config(&config.mobile_money)
                .unwrap(),
        })
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(kobiri_server::serve(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        Some(Self {
            engine,
            http: Http::new(format!("http://{addr}")),
            clock,
            outbox,
            store,
            config,
            state,
            shutdown: Some(tx),
            _db: db,
        })
    }

    /// The server's current date (its injected clock), as `YYYY-MM-DD`.
    pub fn clock_today(&self) -> String {
        use kobiri_server::clock::Clock;
        self.clock.now().date_naive().to_string()
    }

    /// Registers an account and returns it as a JSON object.
    pub async fn register(&self, email: &str, phone: &str) -> Value {
        let resp = self
            .post(
                "/api/v1/auth/register",
                None,
                &json!({
                    "email": email, "phone": phone, "password": PASSWORD,
                    "confirm_password": PASSWORD, "first_name": "Awa", "last_name": "Diop"
                }),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED, "register {email}");
        resp.json().await.unwrap()
    }

    /// Logs in (JSON, by e-mail) and returns the token pair.
    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post(
            "/api/v1/auth/login",
            None,
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// Registers and logs in a fresh user; returns (user, access token, refresh token).
    pub async fn user(&self, tag: &str) -> TestUser {
        let email = format!("{tag}@example.sn");
        let phone = format!("+22177{:07}", phone_suffix(tag));
        let user = self.register(&email, &phone).await;
        let tokens: Value = assert_status(self.login(&email, PASSWORD).await, StatusCode::OK).await;
        TestUser {
            id: user["id"].as_str().unwrap().to_owned(),
            email,
            phone,
            access: tokens["access_token"].as_str().unwrap().to_owned(),
            refresh: tokens["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Logs `user` in again (after moving the clock past their access token's life).
    pub async fn relogin(&self, user: &TestUser) -> TestUser {
        let tokens: Value =
            assert_status(self.login(&user.email, PASSWORD).await, StatusCode::OK).await;
        TestUser {
            access: tokens["access_token"].as_str().unwrap().to_owned(),
            refresh: tokens["refresh_token"].as_str().unwrap().to_owned(),
            ..user.clone()
        }
    }

    /// A fresh user promoted to platform admin (as `create-admin` would), logged in.
    pub async fn admin(&self, tag: &str) -> TestUser {
        let user = self.user(tag).await;
        let id = UserId::parse(&user.id).unwrap();
        let patch = UserPatch {
            role: Some(PlatformRole::Admin),
            ..UserPatch::default()
        };
        self.store
            .update_user(id, &patch, Utc::now())
            .await
            .unwrap();
        user
    }

    /// Runs one pass of the server's outbox worker (the tests' servers run none on their
    /// own), sending what is due through the test recorder.
    pub async fn send_outbox(&self) -> kobiri_server::notify::OutboxReport {
        kobiri_server::notify::run_outbox_pass(&self.state)
            .await
            .unwrap()
    }

    /// Runs the jobs already queued and due (the tests' servers run no job runner), such as
    /// the receipts of a sync batch, without scheduling sessions' reminders; returns how many
    /// ran to completion.
    pub async fn run_jobs(&self) -> u32 {
        let (done, failed) = kobiri_server::jobs::run_due(self.store.as_ref(), self.clock.as_ref())
            .await
            .unwrap();
        assert_eq!(failed, 0, "a job failed");
        done
    }

    /// The last SMS text sent to `phone`, after an outbox pass.
    pub async fn last_sms_to(&self, phone: &str) -> Option<String> {
        self.send_outbox().await;
        self.outbox
            .sms()
            .into_iter()
            .rev()
            .find(|m| m.to.as_str() == phone)
            .map(|m| m.text)
    }

    /// Adds an existing account to a tontine the way it now happens: `inviter` invites it
    /// (202, an invitation), and `user` accepts. Returns the member row.
    pub async fn add_existing(
        &self,
        inviter: &TestUser,
        tontine: &str,
        user: &TestUser,
        role: &str,
    ) -> Value {
        let invitation = assert_status(
            self.post(
                &format!("/api/v1/tontines/{tontine}/members"),
                inviter.token(),
                &json!({"user_id": user.id, "role": role}),
            )
            .await,
            StatusCode::ACCEPTED,
        )
        .await;
        let id = invitation["id"].as_str().unwrap();
        assert_status(
            self.post(
                &format!("/api/v1/invitations/{id}/accept"),
                user.token(),
                &json!({}),
            )
            .await,
            StatusCode::OK,
        )
        .await
    }

    /// The code in the last SMS to `phone` that carries one (other SMS, such as
    /// notifications, may be sent to that phone in the same pass), after an outbox pass.
    pub async fn last_code_sms_to(&self, phone: &str) -> String {
        self.send_outbox().await;
        let text = self
            .outbox
            .sms()
            .into_iter()
            .rev()
            .find(|m| m.to.as_str() == phone && m.text.contains("code"))
            .map(|m| m.text)
            .unwrap_or_else(|| panic!("no code sent by SMS to {phone}"));
        code_in(&text)
    }

    /// The last e-mail text sent to `email`, after an outbox pass.
    pub async fn last_email_to(&self, email: &str) -> Option<String> {
        self.send_outbox().await;
        self.outbox
            .emails()
            .into_iter()
            .rev()
            .find(|m| m.to.as_str() == email)
            .map(|m| m.text)
    }
}

impl TestApp {
    /// Posts `/auth/verify` as `user` with `code` on `channel` (`email` or `sms`).
    pub async fn verify(&self, user: &TestUser, channel: &str, code: &str) -> Response {
        let body = json!({"channel": channel, "code": code});
        self.post("/api/v1/auth/verify", user.token(), &body).await
    }

    /// Verifies `user`'s phone through the API: a code by SMS, then `/auth/verify`.
    pub async fn verify_phone(&self, user: &TestUser) {
        let body = json!({"channel": "sms"});
        let sent = self
            .post("/api/v1/auth/send-verification", user.token(), &body)
            .await;
        assert_status(sent, StatusCode::OK).await;
        self.send_outbox().await;
        let sms = self
            .outbox
            .sms()
            .into_iter()
            .rev()
            .find(|m| m.to.as_str() == user.phone && m.text.contains("verification"))
            .map(|m| m.text)
            .expect("the code");
        let verified = self.verify(user, "sms", &code_in(&sms)).await;
        assert_status(verified, StatusCode::OK).await;
    }

    /// Marks `user`'s phone verified in the store (as `/auth/verify` would), for arrangements
    /// where another process may send the code.
    pub async fn mark_phone_verified(&self, user: &TestUser) {
        let id = UserId::parse(&user.id).unwrap();
        let sms = kobiri_server::store::VerifyChannel::Sms;
        self.store.mark_verified(id, sms, Utc::now()).await.unwrap();
    }

    /// Refreshes with `refresh_token`.
    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.post(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": refresh_token }),
        )
        .await
    }

    /// The user as the store has it, by id.
    pub async fn stored_user(&self, id: &str) -> kobiri_server::store::User {
        self.store
            .user_by_id(UserId::parse(id).unwrap())
            .await
            .unwrap()
            .expect("user stored")
    }
}

/// A registration body with the default password; adjust it with [`with`].
pub fn registration(email: &str, phone: &str) -> Value {
    json!({
        "email": email, "phone": phone, "password": PASSWORD,
        "confirm_password": PASSWORD, "first_name": "Awa", "last_name": "Diop"
    })
}

/// `body` with `key` set to `value` (`Value::Null` removes the key).
pub fn with(mut body: Value, key: &str, value: Value) -> Value {
    let object = body.as_object_mut().expect("a JSON object");
    if value.is_null() {
        object.remove(key);
    } else {
        object.insert(key.to_owned(), value);
    }
    body
}

/// `path?k=v&…`, url-encoded.
pub fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{path}?{query}")
}

/// The `field`s named in an error body's `errors`.
pub fn error_fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts a 422 `validation_error` naming `field`; returns the body.
pub async fn assert_invalid(resp: Response, field: &str) -> Value {
    let body = assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_error").await;
    assert!(
        error_fields(&body).iter().any(|f| f == field),
        "expected an error on {field:?}, body: {body}"
    );
    body
}

/// A six-digit code that is not `code`.
pub fn wrong_code(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

/// The six-digit code in a message.
pub fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap_or_else(|| panic!("no code in {text:?}"))
        .to_owned()
}

fn phone_suffix(tag: &str) -> u32 {
    tag.bytes().fold(7u32, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u32::from(b))
    }) % 10_000_000
}

#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub phone: String,
    pub access: String,
    pub refresh: String,
}

impl TestUser {
    pub fn token(&self) -> Option<&str> {
        Some(&self.access)
    }
}

/// Asserts the status (showing the body when it differs) and returns the JSON body.
pub async fn assert_status(resp: Response, expected: StatusCode) -> Value {
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(status, expected, "body: {text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    }
}

/// Asserts a contract error: status, stable code, and a French detail.
pub async fn assert_error(resp: Response, expected: StatusCode, code: &str) -> Value {
    let body = assert_status(resp, expected).await;
    assert_eq!(body["code"], code, "body: {body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "body: {body}"
    );
    assert!(body["errors"].is_array(), "body: {body}");
    body
}

impl TestApp {
    /// Runs one statement straight on the database, binding a text and an id (to set up what
    /// the API cannot, such as a rare collision).
    pub async fn execute(&self, sql: &'static str, text: &str, id: uuid::Uuid) {
        use sqlx::Connection;
        let url = &self.config.database_url;
        match self.engine {
            Engine::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
                sqlx::query(sql)
                    .bind(text)
                    .bind(id)
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            Engine::Postgres => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::query(sql)
                    .bind(text)
                    .bind(id)
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
        }
    }

    /// `(channel, recipient)` of every outbox row (messages waiting for the sender worker),
    /// read straight from the database.
    pub async fn outbox_rows(&self) -> Vec<(String, String)> {
        use sqlx::Connection;
        const SQL: &str = "SELECT channel, recipient FROM outbox ORDER BY created_at, id";
        let url = &self.config.database_url;
        match self.engine {
            Engine::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
                sqlx::query_as(SQL).fetch_all(&mut conn).await.unwrap()
            }
            Engine::Postgres => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::query_as(SQL).fetch_all(&mut conn).await.unwrap()
            }
        }
    }
}

/// A real `kobiri-server` process (the binary, as a replica runs in production) on a database,
/// listening on a loopback port; killed when dropped.
pub struct ServerProcess {
    http: Http,
    child: tokio::process::Child,
    _logs: tempfile::TempDir,
}

impl Deref for ServerProcess {
    type Target = Http;

    fn deref(&self) -> &Http {
        &self.http
    }
}

impl ServerProcess {
    /// Starts the binary on `database_url` with a quiet test configuration (job runner, poller
    /// and outbox worker off) overridden by `env`, and waits until `/health` answers.
    pub async fn spawn(database_url: &str, env: &[(&str, String)]) -> Self {
        let mut exits = Vec::new();
        for _ in 0..3 {
            match Self::try_spawn(database_url, env).await {
                Ok(process) => return process,
                Err(stderr) => exits.push(stderr),
            }
        }
        panic!("kobiri-server exited at start three times: {exits:#?}");
    }

    /// `Err` with the process's stderr when it exited before answering (its port was taken
    /// meanwhile, or it refused the configuration).
    async fn try_spawn(database_url: &str, env: &[(&str, String)]) -> Result<Self, String> {
        // The server logs the port it was given, not the one it bound: hand it a free one.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let logs = tempfile::tempdir().unwrap();
        let stderr_path = logs.path().join("stderr");
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_kobiri-server"));
        command
            .env("DATABASE_URL", database_url)
            .env("ENVIRONMENT", "test")
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("LOG_DIR", logs.path())
            .env("LOG_LEVEL", "warn")
            .env("JOBS_INTERVAL_SECONDS", "0")
            .env("OUTBOX_INTERVAL_SECONDS", "0")
            // One key for every process of the test binary, so replicas accept each other's
            // tokens and no key file is written (`SECRET_KEY=""` in `env` asks for one).
            .env("SECRET_KEY", shared_secret_key());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let http = Http::new(format!("http://127.0.0.1:{port}"));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while tokio::time::Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                return Err(std::fs::read_to_string(&stderr_path).unwrap_or_default());
            }
            let health = http.client.get(http.url("/health")).send().await;
            if health.is_ok_and(|r| r.status().is_success()) {
                return Ok(Self {
                    http,
                    child,
                    _logs: logs,
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("kobiri-server did not answer /health within 30 s");
    }

    /// Everything the process wrote to its log files (`LOG_DIR`) so far.
    pub fn log_text(&self) -> String {
        let mut text = String::new();
        for entry in std::fs::read_dir(self._logs.path()).unwrap().flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with("kobiri.log")
            {
                text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
            }
        }
        text
    }

    /// What the process wrote to its stderr so far.
    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(self._logs.path().join("stderr")).unwrap_or_default()
    }

    /// Kills the process and waits for it.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// The `SECRET_KEY` of the test binary's server processes: random, made once.
pub fn shared_secret_key() -> &'static str {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEY.get_or_init(kobiri_server::auth::tokens::random_token)
}

/// The variables that send a process's SMS through the Orange stand-in.
pub fn orange_sms_env(
    standin: &kobiri_server::notify::standin::StandIn,
) -> Vec<(&'static str, String)> {
    let orange = standin.orange_config();
    vec![
        ("SMS_PROVIDER", "orange".to_owned()),
        ("ORANGE_SMS_BASE_URL", orange.base_url),
        ("ORANGE_OAUTH_URL", orange.oauth_url),
        ("ORANGE_SMS_CLIENT_ID", orange.client_id),
        ("ORANGE_SMS_CLIENT_SECRET", orange.client_secret),
        ("ORANGE_SMS_SENDER", orange.sender),
    ]
}

/// The variables that configure MTN MoMo (collections and disbursements) at its stand-in.
pub fn mtn_env(
    stand_in: &kobiri_server::mobile_money::standin::StandIn,
) -> Vec<(&'static str, String)> {
    let mtn = kobiri_server::mobile_money::standin::mtn::config(stand_in);
    vec![
        ("MTN_MOMO_API_KEY", mtn.api_user.expose().to_owned()),
        ("MTN_MOMO_API_SECRET", mtn.api_key.expose().to_owned()),
        (
            "MTN_MOMO_SUBSCRIPTION_KEY",
            mtn.subscription_key.expose().to_owned(),
        ),
        (
            "MTN_MOMO_DISBURSEMENT_SUBSCRIPTION_KEY",
            mtn.disbursement_subscription_key.expose().to_owned(),
        ),
        ("MTN_MOMO_TARGET_ENVIRONMENT", mtn.target_environment),
        ("MTN_MOMO_BASE_URL", mtn.base_url),
    ]
}

impl TestApp {
    /// One row read straight from the database, binding `id`: `sql` on SQLite, `pg_sql` on
    /// PostgreSQL (where JSON columns need a cast to text).
    pub async fn fetch_row<T>(&self, sql: &'static str, pg_sql: &'static str, id: uuid::Uuid) -> T
    where
        T: Send
            + Unpin
            + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    {
        use sqlx::Connection;
        let url = &self.config.database_url;
        match self.engine {
            Engine::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
                let query = sqlx::query_as(sql).bind(id);
                query.fetch_one(&mut conn).await.unwrap()
            }
            Engine::Postgres => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                let query = sqlx::query_as(pg_sql).bind(id);
                query.fetch_one(&mut conn).await.unwrap()
            }
        }
    }

    /// An outbox row's payload as stored.
    pub async fn outbox_payload(&self, id: uuid::Uuid) -> Value {
        let (text,): (String,) = self
            .fetch_row(
                "SELECT payload FROM outbox WHERE id = $1",
                "SELECT payload::text FROM outbox WHERE id = $1",
                id,
            )
            .await;
        serde_json::from_str(&text).unwrap()
    }
}
