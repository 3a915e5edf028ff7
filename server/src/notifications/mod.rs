//! The `/notifications` routes: the caller's in-app inbox (list, unread count, mark read),
//! their channel choices per notification type, reminders sent by a tontine's managers, the
//! push tokens of the caller's devices, and the SMS gateways' delivery reports.
//!
//! The inbox is the caller's `in_app` notifications; the SMS and e-mail copies of the same
//! notification are delivery records for the outbox worker and are not listed.

pub mod delivery_reports;
pub mod dto;
pub mod handlers;
pub mod push_tokens;

use axum::{
    Router,
    routing::{get, post},
};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(handlers::list))
        .route("/notifications/unread-count", get(handlers::unread_count))
        .route("/notifications/mark-read", post(handlers::mark_read))
        .route(
            "/notifications/preferences",
            get(handlers::get_preferences).put(handlers::put_preferences),
        )
        .route(
            "/notifications/send-reminder",
            post(handlers::send_reminder),
        )
        .route("/devices/{id}/push-token", post(push_tokens::register))
        .route(
            "/notifications/delivery-reports/{gateway}",
            post(delivery_reports::delivery_report),
        )
}
