//! Liveness and readiness.

use axum::{Json, extract::State, http::StatusCode};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    error::{ApiError, ErrorBody},
    state::AppState,
};
use kobiri_core::ErrorCode;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok", "version": "0.1.0"}))]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ready", "database": "sqlite"}))]
pub struct Ready {
    pub status: &'static str,
    pub database: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/health", tag = "ops", responses((status = 200, description = "The process is up, with its version", body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// The database answers.
#[utoipa::path(get, path = "/ready", tag = "ops", responses(
    (status = 200, description = "The database answered", body = Ready),
    (status = 503, description = "Database unreachable", body = ErrorBody)))]
pub async fn ready(State(state): State<AppState>) -> Result<(StatusCode, Json<Ready>), ApiError> {
    let store = state.store();
    match store.ping().await {
        Ok(()) => Ok((
            StatusCode::OK,
            Json(Ready {
                status: "ready",
                database: store.engine().as_str(),
            }),
        )),
        Err(e) => {
            tracing::error!(error = %e, "readiness check failed");
            Err(ApiError::new(ErrorCode::ServiceUnavailable)
                .with_detail("Base de données injoignable"))
        }
    }
}
