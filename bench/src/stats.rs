//! Latency percentiles and throughput of a run.

use std::{fmt, time::Duration};

#[derive(Debug)]
pub struct RunStats {
    pub count: usize,
    pub errors: usize,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl RunStats {
    pub fn new(mut latencies: Vec<Duration>, errors: usize, elapsed: Duration) -> Self {
        latencies.sort_unstable();
        let at = |q: usize| -> Duration {
            if latencies.is_empty() {
                return Duration::ZERO;
            }
            let idx = (latencies.len() * q).div_ceil(100).saturating_sub(1);
            latencies[idx.min(latencies.len() - 1)]
        };
        Self {
            count: latencies.len(),
            errors,
            elapsed,
            p50: at(50),
            p99: at(99),
            max: latencies.last().copied().unwrap_or_default(),
        }
    }

    /// Waits for load workers that each return their latencies and error count, and sums them
    /// into the stats of a run that began at `start`.
    pub async fn gather(
        workers: Vec<tokio::task::JoinHandle<(Vec<Duration>, usize)>>,
        start: std::time::Instant,
    ) -> anyhow::Result<Self> {
        let (mut latencies, mut errors) = (Vec::new(), 0);
        for w in workers {
            let (l, e) = w.await?;
            latencies.extend(l);
            errors += e;
        }
        Ok(Self::new(latencies, errors, start.elapsed()))
    }

    pub fn per_second(&self) -> u128 {
        let micros = self.elapsed.as_micros().max(1);
        (self.count as u128) * 1_000_000 / micros
    }
}

impl fmt::Display for RunStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ok, {} errors in {:.2?}: {}/s, p50 {:.2?}, p99 {:.2?}, max {:.2?}",
            self.count,
            self.errors,
            self.elapsed,
            self.per_second(),
            self.p50,
            self.p99,
            self.max
        )
    }
}
