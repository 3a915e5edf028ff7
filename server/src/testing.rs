//! Support for tests and benchmarks that run a real server: a fresh database per run.
//!
//! PostgreSQL tests need a reachable server (`KOBIRI_TEST_POSTGRES_URL`, default the local
//! one). When it is unreachable they say so loudly and skip; with `CI=true` they fail instead.

use sqlx::Connection;

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

impl TestDatabase {
    /// A fresh SQLite file in a temporary directory, and its URL.
    pub fn sqlite() -> std::io::Result<(String, TestDatabase)> {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("kobiri.db").display());
        Ok((url, TestDatabase::Sqlite(dir)))
    }

    /// A new PostgreSQL database named `{prefix}_{random}`, and its URL; `None` (said on
    /// stderr) when PostgreSQL cannot be reached outside CI.
    ///
    /// # Panics
    /// In CI when PostgreSQL is unreachable, and when the database cannot be created.
    #[allow(clippy::panic, clippy::expect_used)]
    pub async fn postgres(prefix: &str) -> Option<(String, TestDatabase)> {
        let admin_url = postgres_admin_url();
        let mut conn = match sqlx::PgConnection::connect(&admin_url).await {
            Ok(conn) => conn,
            Err(e) => {
                assert!(
                    !in_ci(),
                    "PostgreSQL unreachable at {admin_url} with CI=true: {e}"
                );
                eprintln!(
                    "\n!!!!! SKIPPED: PostgreSQL half of this test: cannot reach {admin_url} \
                     ({e}). Set KOBIRI_TEST_POSTGRES_URL or start PostgreSQL. !!!!!\n"
                );
                return None;
            }
        };
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let create = format!("CREATE DATABASE \"{name}\"");
        sqlx::query(sqlx::AssertSqlSafe(create))
            .execute(&mut conn)
            .await
            .expect("create the test database");
        let mut url = url::Url::parse(&admin_url).expect("a PostgreSQL URL");
        url.set_path(&name);
        Some((url.to_string(), TestDatabase::Postgres { admin_url, name }))
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
