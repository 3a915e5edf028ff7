//! Support for tests and benchmarks that run a real server: a fresh database per run.
//!
//! PostgreSQL tests need a reachable server (`KOBIRI_TEST_POSTGRES_URL`, default the local
//! one). When it is unreachable they say so loudly and skip; with `CI=true` they fail instead.

use sqlx::Connection;

use crate::store::Engine;

/// The administrative PostgreSQL URL tests create their databases from.
pub fn postgres_admin_url() -> String {
    std::env::var("KOBIRI_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Whether this runs in CI, where a test that cannot run must fail.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A database made for one test or benchmark, dropped with this value.
pub enum TestDatabase {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

/// Why a database for a run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("cannot reach PostgreSQL at {url}: {source}")]
    Unreachable { url: String, source: sqlx::Error },
    #[error("cannot create the database: {0}")]
    Create(#[from] sqlx::Error),
    #[error("not a PostgreSQL URL: {0}")]
    Url(#[from] url::ParseError),
    #[error("cannot make a temporary directory: {0}")]
    Io(#[from] std::io::Error),
}

impl TestDatabase {
    /// A fresh database on `engine`, and its URL: a SQLite file in a temporary directory, or
    /// a PostgreSQL database named `{prefix}_{random}` made from `admin_url`.
    pub async fn create(
        engine: Engine,
        prefix: &str,
        admin_url: &str,
    ) -> Result<(String, TestDatabase), CreateError> {
        match engine {
            Engine::Sqlite => Ok(Self::sqlite()?),
            Engine::Postgres => Self::create_postgres(prefix, admin_url).await,
        }
    }

    /// A fresh SQLite file in a temporary directory, and its URL.
    pub fn sqlite() -> std::io::Result<(String, TestDatabase)> {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("kobiri.db").display());
        Ok((url, TestDatabase::Sqlite(dir)))
    }

    /// A new PostgreSQL database named `{prefix}_{random}` on the tests' server
    /// ([`postgres_admin_url`]), and its URL; `None` (said on stderr) when PostgreSQL cannot
    /// be reached outside CI.
    ///
    /// # Panics
    /// In CI when PostgreSQL is unreachable, and when the database cannot be created.
    #[allow(clippy::panic)]
    pub async fn postgres(prefix: &str) -> Option<(String, TestDatabase)> {
        match Self::create_postgres(prefix, &postgres_admin_url()).await {
            Ok(made) => Some(made),
            Err(e @ CreateError::Unreachable { .. }) => {
                assert!(!in_ci(), "{e} (CI=true: the test cannot be skipped)");
                eprintln!(
                    "\n!!!!! SKIPPED: PostgreSQL half of this test: {e}. Set \
                     KOBIRI_TEST_POSTGRES_URL or start PostgreSQL. !!!!!\n"
                );
                None
            }
            Err(e) => panic!("{e}"),
        }
    }

    async fn create_postgres(
        prefix: &str,
        admin_url: &str,
    ) -> Result<(String, TestDatabase), CreateError> {
        let mut conn = sqlx::PgConnection::connect(admin_url)
            .await
            .map_err(|source| CreateError::Unreachable {
                url: admin_url.to_owned(),
                source,
            })?;
        let mut url = url::Url::parse(admin_url)?;
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let create = format!("CREATE DATABASE \"{name}\"");
        sqlx::query(sqlx::AssertSqlSafe(create))
            .execute(&mut conn)
            .await?;
        url.set_path(&name);
        let admin_url = admin_url.to_owned();
        Ok((url.to_string(), TestDatabase::Postgres { admin_url, name }))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop may run inside a runtime: use a thread with its own.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                        let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                        let _ = sqlx::query(sqlx::AssertSqlSafe(drop))
                            .execute(&mut conn)
                            .await;
                    }
                });
            })
            .join();
        }
    }
}
