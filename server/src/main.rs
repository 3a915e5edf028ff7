//! `kobiri-server`: run the API (default), apply migrations, or create the first admin.

use clap::Parser;
use kobiri_server::{cli, config::Config, telemetry};

/// mimalloc rather than the system allocator: a sync batch allocates per row and per field
/// (rows decoded, CBOR and JSON values), from several threads at once, and glibc's malloc
/// took a tenth of the CPU of `/sync` ingest (measured with `perf`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // reqwest and lettre use rustls; install its ring provider once, before any client exists.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = cli::Cli::parse();
    let config = Config::from_env()?;
    let _log_guard = telemetry::init(&config)?;
    if let Err(e) = cli::run(cli, config).await {
        tracing::error!(error = %format!("{e:#}"), "fatal");
        return Err(e);
    }
    Ok(())
}
