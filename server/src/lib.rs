//! Kobiri server: the axum service behind the tontine apps, on PostgreSQL or embedded SQLite.
//!
//! `main.rs` is a thin CLI over this library so that the tests build exactly the app the
//! binary runs.

pub mod app;
pub mod auth;
pub mod cache;
pub mod cli;
pub mod client_ip;
pub mod clock;
pub mod complete;
pub mod config;
pub mod date_input;
pub mod docs;
pub mod error;
pub mod extract;
pub mod health;
pub mod invitations;
pub mod jobs;
pub mod metrics;
pub mod mobile_money;
pub mod money_input;
pub mod notifications;
pub mod notify;
pub mod passages;
pub mod payments;
pub mod secret;
pub mod secret_key;
pub mod sessions;
pub mod state;
/// The storage boundary, a crate of its own (`store/`): the server reaches it as `crate::store`.
pub use kobiri_store as store;
pub mod sync;
pub mod telemetry;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod tontines;
pub mod users;

pub use app::{router, serve, shutdown_signal};
pub use state::{AppState, Parts};
