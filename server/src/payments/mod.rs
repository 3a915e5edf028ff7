//! The `/payments` routes: manual payments (cash, bank transfer, mobile money declared by
//! hand), their validation, and the tontine's audit log.

pub mod dto;
pub mod handlers;
pub(crate) mod record;
pub mod visibility;

use axum::{
    Router,
    routing::{get, post},
};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/payments", post(handlers::create).get(handlers::list))
        .route(
            "/payments/tontine/{tontine_id}",
            get(handlers::list_for_tontine),
        )
        .route("/tontines/{id}/payments", get(handlers::list_under_tontine))
        .route("/tontines/{id}/audit", get(handlers::audit))
        .route("/payments/{id}", get(handlers::get_one))
        .route("/payments/{id}/validate", post(handlers::validate))
}
