//! Logs: pretty in development, JSON in production, to stdout and to `LOG_DIR/kobiri.log`
//! rotated daily.

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::{EnvFilter, Layer, fmt, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::Config;

/// Installs the global subscriber. Keep the guard alive for the life of the process: dropping
/// it flushes the file writer.
pub fn init(config: &Config) -> anyhow::Result<WorkerGuard> {
    std::fs::create_dir_all(&config.log_dir)?;
    let appender = tracing_appender::rolling::daily(&config.log_dir, "kobiri.log");
    let (file_writer, guard) = tracing_appender::non_blocking(appender);
    let filter = || {
        EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| {
            EnvFilter::new(format!("{},tower_http=info,sqlx=warn", config.log_level))
        })
    };
    let registry = tracing_subscriber::registry();
    if config.environment.is_production() {
        registry
            .with(
                fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_filter(filter()),
            )
            .with(
                fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_writer(file_writer)
                    .with_filter(filter()),
            )
            .try_init()?;
    } else {
        registry
            .with(fmt::layer().pretty().with_filter(filter()))
            .with(
                fmt::layer()
                    .with_ansi(false)
                    .with_writer(file_writer)
                    .with_filter(filter()),
            )
            .try_init()?;
    }
    Ok(guard)
}
