//! A Kobiri server started in-process on a fresh database, and the scenarios run against it.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use kobiri_server::{AppState, Parts, config::Config, store, testing::TestDatabase};
use serde_json::json;
use tokio::sync::Semaphore;

use crate::{Engine, stats::RunStats};

const PASSWORD: &str = "Tontine2026";

pub struct BenchServer {
    pub base: String,
    pub addr: std::net::SocketAddr,
    pub client: reqwest::Client,
    pub engine: Engine,
    pub database_url: String,
    _database: TestDatabase,
}

impl BenchServer {
    pub async fn start(engine: Engine) -> anyhow::Result<Self> {
        let admin_url = std::env::var("KOBIRI_BENCH_POSTGRES_URL")
            .unwrap_or_else(|_| kobiri_server::testing::postgres_admin_url());
        let (url, database) = TestDatabase::create(engine, "kobiri_bench", &admin_url).await?;
        let mut config = Config::for_tests(&url);
        config.rate_limits.register_per_ip = u32::MAX;
        config.database_max_connections = 16;
        // The job runner runs as in production (its default interval, woken by each sync
        // batch that queues receipts): the receipts are made while the devices push.
        config.jobs_interval = Duration::from_secs(60);
        let store = store::connect(&url, config.database_max_connections).await?;
        let state = AppState::new(Parts::from_config(config, store)?)?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(kobiri_server::serve(
            listener,
            state,
            std::future::pending(),
        ));
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()?;
        Ok(Self {
            base: format!("http://{addr}"),
            addr,
            client,
            engine,
            database_url: url,
            _database: database,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// How many payment receipts (`confirmation_paiement` notifications) the server has
    /// written, read from its database.
    pub async fn receipts_written(&self) -> anyhow::Result<i64> {
        use sqlx::Connection;
        const SQL: &str = "SELECT COUNT(*) FROM notifications WHERE type = 'confirmation_paiement'";
        Ok(match self.engine {
            Engine::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.database_url).await?;
                sqlx::query_scalar(SQL).fetch_one(&mut conn).await?
            }
            Engine::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.database_url).await?;
                sqlx::query_scalar(SQL).fetch_one(&mut conn).await?
            }
        })
    }
}

/// Registers one account, then times `requests` logins with `concurrency` in flight.
pub async fn login(
    server: &BenchServer,
    requests: usize,
    concurrency: usize,
) -> anyhow::Result<RunStats> {
    let body = json!({
        "email": "bench@example.sn", "phone": "+221770000001", "password": PASSWORD,
        "confirm_password": PASSWORD, "first_name": "Bench", "last_name": "Kobiri"
    });
    let resp = server
        .client
        .post(server.url("/api/v1/auth/register"))
        .json(&body)
        .send()
        .await?;
    anyhow::ensure!(
        resp.status().is_success(),
        "register failed: {}",
        resp.status()
    );
    let login = Arc::new(json!({"email": "bench@example.sn", "password": PASSWORD}));
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(requests);
    for _ in 0..requests {
        let permit = permits.clone().acquire_owned().await?;
        let (client, url, login) = (
            server.client.clone(),
            server.url("/api/v1/auth/login"),
            login.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let t0 = Instant::now();
            let ok = client
                .post(url)
                .json(&*login)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            drop(permit);
            (ok, t0.elapsed())
        }));
    }
    let mut latencies: Vec<Duration> = Vec::with_capacity(requests);
    let mut errors = 0;
    for task in tasks {
        let (ok, took) = task.await?;
        if ok {
            latencies.push(took);
        } else {
            errors += 1;
        }
    }
    Ok(RunStats::new(latencies, errors, start.elapsed()))
}
