//! `kobiri-bench`: starts a Kobiri server in this process on a fresh database (SQLite file or
//! a new PostgreSQL database) and measures it over real HTTP on loopback.
//!
//! ```text
//! cargo run --release -p kobiri-bench -- login --engine sqlite
//! cargo run --release -p kobiri-bench -- login --engine postgres --concurrency 2
//! cargo run --release -p kobiri-bench -- tontine --engine postgres
//! cargo run --release -p kobiri-bench -- sync --engine postgres --devices 2
//! cargo run --release -p kobiri-bench -- wire
//! cargo run --release -p kobiri-bench -- phone --engine sqlite
//! cargo run --release -p kobiri-bench -- link --engine postgres --offline 1000
//! cargo build --release -p kobiri-server -p kobiri-bench && target/release/kobiri-bench memory
//! ```

#![allow(clippy::print_stdout)] // a command-line tool: its output is the point

mod link;
mod memory;
mod phone;
mod server;
mod stats;
mod sync;
mod tontine;
mod wire;
mod writes;

use clap::{Parser, Subcommand};

/// The allocator of the `kobiri-server` binary (see its `main`): the bench measures what runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub use kobiri_server::store::Engine;

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
        #[arg(long, default_value = "sqlite")]
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
        #[arg(long, default_value = "sqlite")]
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
    /// Server ingest of `POST /sync`: cash-payment mutations pushed in CBOR batches by
    /// enrolled devices (each sequential, `--devices` in parallel); mutations/s and per-batch
    /// p50/p99. Every outcome must be `applied`.
    Sync {
        #[arg(long, default_value = "sqlite")]
        engine: Engine,
        /// Mutations pushed in all.
        #[arg(long, default_value_t = 10_000)]
        mutations: usize,
        /// Mutations per `POST /sync`.
        #[arg(long, default_value_t = 500)]
        batch: usize,
        /// Collectors pushing at once, each from its own device for its own tontines.
        #[arg(long, default_value_t = 1)]
        devices: usize,
        /// Members per tontine (3 to 100): payments are spread over as many tontines, each
        /// with one open session, as the distinct (member, session) pairs need.
        #[arg(long, default_value_t = 100)]
        members_per_tontine: usize,
    },
    /// Bytes on the wire per cash-payment mutation: canonical CBOR, the CBOR `/sync` body,
    /// zstd and gzip, and the same batch as JSON. No server.
    Wire {
        /// Mutations in the batch.
        #[arg(long, default_value_t = 500)]
        batch: usize,
        /// Tontines the batch's payments are spread over.
        #[arg(long, default_value_t = 5)]
        tontines: usize,
        /// Members per tontine.
        #[arg(long, default_value_t = 100)]
        members_per_tontine: usize,
    },
    /// The phone, with the real kobiri-mobile library: `record_cash_payment` latency in its
    /// SQLite, then `--offline` offline payments synced over loopback until the outbox is empty.
    Phone {
        #[arg(long, default_value = "sqlite")]
        engine: Engine,
        /// Timed `record_cash_payment` calls (on a phone that never syncs).
        #[arg(long, default_value_t = 2_000)]
        records: usize,
        /// Offline payments recorded, then synced.
        #[arg(long, default_value_t = 10_000)]
        offline: usize,
        /// Members per tontine (3 to 100).
        #[arg(long, default_value_t = 100)]
        members_per_tontine: usize,
        /// Mutations per round trip (the library's default is 200).
        #[arg(long)]
        phone_batch: Option<u32>,
    },
    /// Peak resident memory of a `kobiri-server` process (spawned, on SQLite) under rounds of
    /// `--parallel` hostile 8 MiB `/sync` bodies, read from `/proc/<pid>/status` (`VmHWM`),
    /// and what it still holds afterwards. Fails over `--limit-mib`.
    Memory {
        /// The server binary (default: `kobiri-server` beside this executable).
        #[arg(long)]
        server_bin: Option<std::path::PathBuf>,
        /// Bodies in flight at once.
        #[arg(long, default_value_t = 8)]
        parallel: usize,
        /// Rounds of each hostile kind.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// The most resident memory allowed at the peak, MiB.
        #[arg(long, default_value_t = 300)]
        limit_mib: u64,
    },
    /// The REST load of the original service's tests: `--payments` cash payments posted at
    /// `--write-connections`, each for a member-session pair of its own, beside the
    /// `pgbench` ceiling of the same write on PostgreSQL; then `GET /payments?session_id=`
    /// and `GET /tontines/{id}` at `--read-connections` for `--seconds`.
    Writes {
        #[arg(long, default_value = "sqlite")]
        engine: Engine,
        #[arg(long, default_value_t = 20_000)]
        payments: usize,
        #[arg(long, default_value_t = 16)]
        write_connections: usize,
        #[arg(long, default_value_t = 64)]
        read_connections: usize,
        /// Seconds of each read run, and of the pgbench run.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, default_value_t = 100)]
        members_per_tontine: usize,
        /// Collectors, each recording for its own tontines (the tontines in turn).
        #[arg(long, default_value_t = 16)]
        collectors: usize,
        /// Drive the load with `wrk` instead of the built-in generator.
        #[arg(long)]
        wrk: bool,
    },
    /// A phone's offline payments synced over an emulated 2G link (slow, distant, lossy,
    /// with dropped connections) until its outbox is empty.
    Link {
        #[arg(long, default_value = "sqlite")]
        engine: Engine,
        /// Offline payments recorded, then synced.
        #[arg(long, default_value_t = 1_000)]
        offline: usize,
        /// Members per tontine (3 to 100).
        #[arg(long, default_value_t = 100)]
        members_per_tontine: usize,
        /// Kilobits per second, each way.
        #[arg(long, default_value_t = 50)]
        rate_kbit: u64,
        /// Round-trip time, milliseconds.
        #[arg(long, default_value_t = 600)]
        rtt_ms: u64,
        /// Packets lost, in percent (each sent again after `--rto-ms`).
        #[arg(long, default_value_t = 5)]
        loss_percent: u32,
        #[arg(long, default_value_t = 1_000)]
        rto_ms: u64,
        /// Connections cut mid-answer, in percent.
        #[arg(long, default_value_t = 50)]
        cut_percent: u32,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 600)]
        deadline_s: u64,
    },
}

#[tokio::main]
// Long on purpose: one match arm per benchmark command, each only passing its options to its module
// and printing the result.
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // `RUST_LOG=sqlx::query=debug` shows every statement with its time, to see where a
    // request's time goes; silent otherwise.
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
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
            println!(
                "{}",
                tontine::reads(&server, &prepared[0], read_connections, duration, wrk).await?
            );
            let payments =
                tontine::payments(&server, &prepared, payment_connections, rounds).await?;
            println!(
                "POST /api/v1/payments on {engine:?}, {payment_connections} connections, {payment_tontines} tontines x {rounds} sessions"
            );
            println!("{payments}");
        }
        Command::Sync {
            engine,
            mutations,
            batch,
            devices,
            members_per_tontine,
        } => {
            let server = server::BenchServer::start(engine).await?;
            let run = sync::ingest(&server, mutations, batch, devices, members_per_tontine).await?;
            println!(
                "POST /sync ingest on {engine:?}: {mutations} record_cash_payment mutations, \
                 batches of {batch}, {devices} device(s), {} tontines (set-up {:.1?})",
                run.tontines, run.setup
            );
            println!(
                "{} mutations applied in {:.2?}: {} mutations/s (target >= 10000 on PostgreSQL)",
                run.mutations,
                run.elapsed,
                run.per_second()
            );
            println!(
                "per batch: p50 {:.2?}, p99 {:.2?}, max {:.2?} ({} batches); the same round \
                 trips pulled {} changes back ({} answer bytes)",
                run.batches.p50,
                run.batches.p99,
                run.batches.max,
                run.batches.count,
                run.pulled,
                run.answer_bytes
            );
            println!(
                "receipts: all {} written (SMS queued) {:.2?} after the first push, by the jobs the \
                 batches queued ({} payments/s with their receipts)",
                run.mutations,
                run.receipts_queued,
                (run.mutations as u128) * 1000 / run.receipts_queued.as_millis().max(1)
            );
        }
        Command::Wire {
            batch,
            tontines,
            members_per_tontine,
        } => {
            print!("{}", wire::report(batch, tontines, members_per_tontine)?);
        }
        Command::Phone {
            engine,
            records,
            offline,
            members_per_tontine,
            phone_batch,
        } => {
            let server = server::BenchServer::start(engine).await?;
            let run =
                phone::run(&server, records, offline, members_per_tontine, phone_batch).await?;
            println!("phone (kobiri-mobile) against the server on {engine:?}");
            println!("{run}");
            phone::check(&run)?;
        }
        Command::Memory {
            server_bin,
            parallel,
            rounds,
            limit_mib,
        } => {
            let binary = match server_bin {
                Some(path) => path,
                None => memory::default_binary()?,
            };
            let run = memory::run(binary, parallel, rounds).await?;
            println!("POST /sync memory, {parallel} bodies in parallel, {rounds} rounds");
            print!("{run}");
            anyhow::ensure!(
                run.peak <= limit_mib,
                "peak resident memory {} MiB is over the limit of {limit_mib} MiB",
                run.peak
            );
        }
        Command::Writes {
            engine,
            payments,
            write_connections,
            read_connections,
            seconds,
            members_per_tontine,
            collectors,
            wrk,
        } => {
            let server = server::BenchServer::start(engine).await?;
            let options = writes::Options {
                collectors,
                payments,
                write_connections,
                read_connections,
                seconds,
                members_per_tontine,
                wrk,
            };
            println!(
                "REST on {engine:?}: {payments} payments at {write_connections} connections, \
                 reads at {read_connections}"
            );
            println!("{}", writes::run(&server, &options).await?);
        }
        Command::Link {
            engine,
            offline,
            members_per_tontine,
            rate_kbit,
            rtt_ms,
            loss_percent,
            rto_ms,
            cut_percent,
            deadline_s,
        } => {
            let server = server::BenchServer::start(engine).await?;
            let profile = link::Profile {
                rate: rate_kbit * 1_000,
                one_way: std::time::Duration::from_millis(rtt_ms / 2),
                loss_percent,
                rto: std::time::Duration::from_millis(rto_ms),
                cut_percent,
            };
            let deadline = std::time::Duration::from_secs(deadline_s);
            let run =
                phone::over_link(&server, offline, members_per_tontine, profile, deadline).await?;
            println!("phone (kobiri-mobile) over an emulated link, server on {engine:?}");
            println!("{run}");
        }
    }
    Ok(())
}
