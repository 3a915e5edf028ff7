//! HTTP tests: the real router on a random port, every test on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod auth;
mod cli;
mod ops;
mod passwords;
mod tokens;
mod tontines;
mod users;
mod validation;
