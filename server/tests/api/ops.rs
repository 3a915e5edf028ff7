//! Health, readiness, metrics, docs, request ids and the error shape of bare failures.

use reqwest::StatusCode;

use crate::dual_test;
use crate::helpers::*;

dual_test!(health_and_ready_answer, |app| async move {
    let health = assert_status(app.get("/health", None).await, StatusCode::OK).await;
    assert_eq!(health["status"], "ok");
    let ready = assert_status(app.get("/ready", None).await, StatusCode::OK).await;
    let engine = match app.engine {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    };
    assert_eq!(ready["database"], engine);
});
