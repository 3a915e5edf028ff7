//! HTTP tests: the real router on a random port, every test on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod auth;
mod claims;
mod cli;
mod codes;
mod delivery_reports;
mod invitations;
mod jobs;
mod lifecycle;
mod matrix;
mod migrations;
mod mobile_money;
mod notifications;
mod ops;
mod outbox;
mod passages;
mod passwords;
mod payments;
mod replicas;
mod revocation;
mod sync;
mod tokens;
mod tontines;
mod users;
mod validation;
