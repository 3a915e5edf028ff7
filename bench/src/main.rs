//! `kobiri-bench`: starts a Kobiri server in this process on a fresh database (SQLite file or
//! a new PostgreSQL database) and measures it over real HTTP on loopback.
//!
//! ```text
//! cargo run --release -p kobiri-bench -- login --engine sqlite
//! cargo run --release -p kobiri-bench -- login --engine postgres --concurrency 2
//! ```

#![allow(clippy::print_stdout)] // a command-line tool: its output is the point

mod server;
mod stats;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Debug, Parser)]
#[command(
    name = "kobiri-bench",
    about = "Benchmarks of the Kobiri server over HTTP"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Login latency (argon2id verification + token issue): p50, p99 and logins/s.
    Login {
        #[arg(long, value_enum, default_value = "sqlite")]
        engine: Engine,
        /// Logins to time.
        #[arg(long, default_value_t = 200)]
        requests: usize,
        /// Logins in flight at once.
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    match Cli::parse().command {
        Command::Login {
            engine,
            requests,
            concurrency,
        } => {
            let server = server::BenchServer::start(engine).await?;
            let result = server::login(&server, requests, concurrency).await?;
            println!("login on {engine:?}, {requests} requests, concurrency {concurrency}");
            println!("{result}");
        }
    }
    Ok(())
}
