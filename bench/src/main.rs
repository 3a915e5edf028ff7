//! `kobiri-bench`: starts a Kobiri server in this process on a fresh database (SQLite file or
//! a new PostgreSQL database) and measures it over real HTTP on loopback.
//!
//! ```text
//! cargo run --release -p kobiri-bench -- login --engine sqlite
//! cargo run --release -p kobiri-bench -- login --engine postgres --concurrency 2
//! cargo run --release -p kobiri-bench -- tontine --engine postgres
//! ```

#![allow(clippy::print_stdout)] // a command-line tool: its output is the point

mod server;
mod stats;
mod tontine;

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
    /// A tontine of 12 members and 50 sessions: authenticated `GET /api/v1/tontines/{id}` at
    /// `--read-connections`, then manual payments at `--payment-connections`.
    Tontine {
        #[arg(long, value_enum, default_value = "sqlite")]
        engine: Engine,
        #[arg(long, default_value_t = 64)]
        read_connections: usize,
        /// Seconds of reads.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, default_value_t = 16)]
        payment_connections: usize,
        /// Tontines paying at once (12 payments each per round).
        #[arg(long, default_value_t = 4)]
        payment_tontines: usize,
        /// Sessions paid per tontine.
        #[arg(long, default_value_t = 10)]
        rounds: usize,
        /// Drive the reads with `wrk` instead of the built-in generator.
        #[arg(long)]
        wrk: bool,
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
        Command::Tontine {
            engine,
            read_connections,
            seconds,
            payment_connections,
            payment_tontines,
            rounds,
            wrk,
        } => {
            let server = server::BenchServer::start(engine).await?;
            let mut prepared = Vec::new();
            for n in 0..payment_tontines.max(1) {
                prepared.push(tontine::prepare(&server, n).await?);
            }
            let duration = std::time::Duration::from_secs(seconds);
            println!(
                "GET /api/v1/tontines/{{id}} on {engine:?}, {read_connections} connections, {seconds}s"
            );
            if wrk {
                println!(
                    "{}",
                    tontine::reads_with_wrk(&server, &prepared[0], read_connections, duration)
                        .await?
                );
            } else {
                println!(
                    "{}",
                    tontine::reads(&server, &prepared[0], read_connections, duration).await?
                );
            }
            let payments =
                tontine::payments(&server, &prepared, payment_connections, rounds).await?;
            println!(
                "POST /api/v1/payments on {engine:?}, {payment_connections} connections, {payment_tontines} tontines x {rounds} sessions"
            );
            println!("{payments}");
        }
    }
    Ok(())
}
