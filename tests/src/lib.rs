//! The end-to-end harness: a real Kobiri server in this process on a fresh database (a
//! temporary SQLite file, or a new PostgreSQL database dropped afterwards), tontines set up
//! over its REST API, real phone clients (`kobiri-mobile`) on temporary SQLite files, and a
//! TCP stand-in that cuts connections the way a 2G link does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Once},
};

use kobiri_mobile::KobiriClient;
use kobiri_server::{
    AppState, Parts, clock::SystemClock, config::Config, notify::Recorder, store,
    testing::TestDatabase,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub const PASSWORD: &str = "Tontine2026";

pub use kobiri_server::store::Engine;

/// Runs an async test body once per engine, each on a fresh server.
#[macro_export]
macro_rules! on_both_engines {
    ($name:ident, |$server:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $server = $crate::Server::start($crate::Engine::Sqlite).await.unwrap();
                $body.await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some($server) = $crate::Server::start($crate::Engine::Postgres).await {
                    $body.await;
                }
            }
        }
    };
}

static RUSTLS: Once = Once::new();

/// A running server and the HTTP client the tests set it up with.
pub struct Server {
    pub engine: Engine,
    pub address: String,
    pub http: reqwest::Client,
    /// Where the phones' databases live.
    pub phones_dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _db: TestDatabase,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Server {
    /// `None` for PostgreSQL when it cannot be reached outside CI (said loudly).
    pub async fn start(engine: Engine) -> Option<Server> {
        RUSTLS.call_once(|| {
            let _ = rustls::crypto::ring::default_provider().install_default();
        });
        let (url, db) = match engine {
            Engine::Sqlite => TestDatabase::sqlite().unwrap(),
            Engine::Postgres => TestDatabase::postgres("kobiri_e2e").await?,
        };
        let config = Config::for_tests(&url);
        let store = store::connect(&url, config.database_max_connections)
            .await
            .unwrap();
        let outbox = Recorder::default();
        let mobile_money =
            kobiri_server::mobile_money::Registry::from_config(&config.mobile_money).unwrap();
        let state = AppState::new(Parts {
            config,
            store,
            clock: Arc::new(SystemClock),
            mailer: Arc::new(outbox.clone()),
            sms: Arc::new(outbox),
            mobile_money,
        })
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(kobiri_server::serve(listener, state, async move {
            let _ = rx.await;
        }));
        Some(Server {
            engine,
            address: format!("http://{addr}"),
            http: reqwest::Client::new(),
            phones_dir: tempfile::tempdir().unwrap(),
            shutdown: Some(tx),
            _db: db,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// `method path` with `token`, JSON `body` unless null; asserts `expected`; the answer.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: &Value,
        expected: StatusCode,
    ) -> Value {
        let mut request = self.http.request(method.clone(), self.url(path));
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
        if !body.is_null() {
            request = request.json(body);
        }
        let resp = request.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert_eq!(status, expected, "{method} {path}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub async fn get(&self, path: &str, token: &str) -> Value {
        self.call(
            reqwest::Method::GET,
            path,
            token,
            &Value::Null,
            StatusCode::OK,
        )
        .await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value, expected: StatusCode) -> Value {
        self.call(reqwest::Method::POST, path, token, &body, expected)
            .await
    }

    /// Registers and logs in a user; `n` makes the e-mail and phone unique.
    pub async fn user(&self, tag: &str, n: u32) -> User {
        let email = format!("{tag}@example.sn");
        let phone = format!("+22177{n:07}");
        let body = json!({"email": email, "phone": phone, "password": PASSWORD,
            "confirm_password": PASSWORD, "first_name": tag, "last_name": "Diop"});
        let user = self
            .post("/api/v1/auth/register", "", body, StatusCode::CREATED)
            .await;
        let id = user["id"]
            .as_str()
            .or(user["user"]["id"].as_str())
            .unwrap()
            .to_owned();
        let body = json!({"email": email, "password": PASSWORD});
        let pair = self
            .post("/api/v1/auth/login", "", body, StatusCode::OK)
            .await;
        User {
            id,
            email,
            token: pair["access_token"].as_str().unwrap().to_owned(),
        }
    }

    /// A new phone database path.
    pub fn phone_db(&self, name: &str) -> String {
        let path: PathBuf = self.phones_dir.path().join(format!("{name}.db"));
        path.display().to_string()
    }

    /// A phone for `user`, logged in and enrolled, talking to `server_url`.
    pub async fn phone(&self, user: &User, name: &str) -> Arc<KobiriClient> {
        let (db, url, email) = (
            self.phone_db(name),
            self.address.clone(),
            user.email.clone(),
        );
        blocking(move || {
            let phone = KobiriClient::open(&db, &url).unwrap();
            phone.set_retry_policy(2, 10).unwrap();
            phone.login(&email, PASSWORD).unwrap();
            phone
                .enroll_device("Téléphone de terrain", "android")
                .unwrap();
            phone
        })
        .await
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub email: String,
    pub token: String,
}

/// A tontine of 5 members with two open-able sessions, the first open.
pub struct Tontine {
    pub id: String,
    pub president: User,
    pub treasurer: User,
    pub collectors: [User; 2],
    pub members: [User; 2],
    /// Membership ids by user id.
    pub member_ids: std::collections::HashMap<String, String>,
    pub sessions: Vec<String>,
}

impl Tontine {
    pub async fn create(server: &Server) -> Tontine {
        let president = server.user("president", 1).await;
        let treasurer = server.user("tresoriere", 2).await;
        let collectors = [
            server.user("collecteur", 3).await,
            server.user("collectrice", 4).await,
        ];
        let members = [server.user("awa", 5).await, server.user("moussa", 6).await];
        let today = chrono::Utc::now().date_naive().to_string();
        let body = json!({"name": "Tontine du marché", "type": "rotative", "frequency": "mensuel",
            "contribution_amount": 5000, "start_date": today, "max_members": 10});
        let t = server
            .post(
                "/api/v1/tontines",
                &president.token,
                body,
                StatusCode::CREATED,
            )
            .await;
        let id = t["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/tontines/{id}/members");
        for (user, role) in [
            (&treasurer, "tresorier"),
            (&collectors[0], "collecteur"),
            (&collectors[1], "collecteur"),
            (&members[0], "membre"),
            (&members[1], "membre"),
        ] {
            // An existing account is invited, and accepts.
            let body = json!({"user_id": user.id, "role": role});
            let invitation = server
                .post(&path, &president.token, body, StatusCode::ACCEPTED)
                .await;
            let accept = format!(
                "/api/v1/invitations/{}/accept",
                invitation["id"].as_str().unwrap()
            );
            server
                .post(&accept, &user.token, json!({}), StatusCode::OK)
                .await;
        }
        let member_ids = server
            .get(&path, &president.token)
            .await
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let user = m["user_id"].as_str().unwrap().to_owned();
                (user, m["id"].as_str().unwrap().to_owned())
            })
            .collect();
        let path = format!("/api/v1/sessions/generate/{id}");
        let generated = server
            .post(
                &path,
                &president.token,
                json!({"count": 2}),
                StatusCode::CREATED,
            )
            .await;
        let sessions: Vec<String> = generated
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect();
        let path = format!("/api/v1/sessions/{}/open", sessions[0]);
        let body = json!({"send_notifications": false});
        server
            .post(&path, &president.token, body, StatusCode::OK)
            .await;
        Tontine {
            id,
            president,
            treasurer,
            collectors,
            members,
            member_ids,
            sessions,
        }
    }

    pub fn member(&self, user: &User) -> String {
        self.member_ids[&user.id].clone()
    }

    /// Every payment of the tontine as the treasurer sees it over REST.
    pub async fn payments(&self, server: &Server) -> Vec<Value> {
        let path = format!("/api/v1/payments?tontine_id={}&page_size=100", self.id);
        server.get(&path, &self.treasurer.token).await["items"]
            .as_array()
            .unwrap()
            .clone()
    }
}

/// Runs blocking phone calls off the runtime's workers.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

/// How the stand-in link fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The request reaches the server; the connection dies before any answer byte.
    BeforeAnswer,
    /// The answer starts, then the connection dies after this many bytes.
    MidAnswer(usize),
}

/// A TCP stand-in between a phone and the server that cuts every connection as told.
pub struct Proxy {
    pub address: String,
}

impl Proxy {
    pub async fn start(upstream: &str, cut: Cut) -> Proxy {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let (mut client_rx, mut client_tx) = client.into_split();
                    let (mut server_rx, mut server_tx) = server.into_split();
                    tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut client_rx, &mut server_tx).await;
                    });
                    let mut forwarded = 0usize;
                    let mut buf = vec![0u8; 4096];
                    while let Ok(n) = server_rx.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        let allowed = match cut {
                            Cut::BeforeAnswer => 0,
                            Cut::MidAnswer(limit) => limit.saturating_sub(forwarded).min(n),
                        };
                        if allowed > 0 {
                            let _ = client_tx.write_all(&buf[..allowed]).await;
                            forwarded += allowed;
                        }
                        if allowed < n {
                            break;
                        }
                    }
                    // Dropping both halves closes the phone's connection mid-answer.
                });
            }
        });
        Proxy { address }
    }
}

/// Opens a phone's database directly, as someone tampering with it would.
pub fn raw_db(path: &str) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}
