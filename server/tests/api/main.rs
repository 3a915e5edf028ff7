//! HTTP tests: the real router on a random port, every test on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod auth;
mod claims;
mod cli;
mod codes;
mod corrections;
mod dates;
mod delivery_reports;
mod dropped;
mod invitations;
mod jobs;
mod lifecycle;
mod limits;
mod listings;
mod matrix;
mod migrations;
mod mobile_money;
mod notifications;
mod open_sessions;
mod openapi;
mod ops;
mod outbox;
mod passages;
mod passwords;
mod payments;
mod payouts;
mod replicas;
mod revocation;
mod sandbox;
mod startup;
mod sync;
mod sync_outcomes;
mod tokens;
mod tontines;
mod users;
mod validation;
