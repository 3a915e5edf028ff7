//! Requests that may write run to their end whatever the client does.
//!
//! hyper drops a request's future when the client goes away (a phone killed mid-sync, a 2G
//! link cut), and the timeout layer drops it too. A future dropped between `BEGIN` and
//! `COMMIT` can hand its database connection back to the pool with the transaction still
//! open, before sqlx's queued rollback has run: the next request on that connection then
//! fails with "there is already a transaction in progress". So every request whose method may
//! write (anything but `GET`, `HEAD` and `OPTIONS`: a sync batch, a payment, a validation, a
//! correction, a payout, a mobile-money callback, a session closed…) runs in a task of its
//! own, in its request's span: the connection's future only awaits the task's answer, and
//! dropping it leaves the work running to its commit or rollback. Reads stay inline.

use axum::{
    extract::Request,
    http::Method,
    middleware::Next,
    response::{IntoResponse, Response},
};
use tracing::Instrument;

use crate::error::ApiError;

/// The middleware (see the module documentation).
pub async fn run_to_completion(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let work = tokio::spawn(next.run(req).instrument(tracing::Span::current()));
    match work.await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "request task failed");
            ApiError::internal().into_response()
        }
    }
}
