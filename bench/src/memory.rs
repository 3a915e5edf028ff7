//! Memory under hostile `/sync` bodies: a real `kobiri-server` process (its own allocator,
//! nothing of the bench in its heap) takes rounds of `--parallel` bodies of 8 MiB each, built to
//! cost as much as a decoder could make them cost, while its resident memory is sampled from
//! `/proc/<pid>/status`. The report gives the resident memory before, the peak (`VmHWM`), what
//! is still resident a few seconds after the last body, and again after a few seconds of
//! ordinary syncs.

use std::{
    path::PathBuf,
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context, bail, ensure};
use kobiri_core::{
    DeviceId,
    sync::{MAX_REQUEST_BYTES, PROTOCOL_VERSION},
};
use tokio::{process::Child, task::JoinSet};

use crate::sync::Api;

/// One kind of hostile body.
#[derive(Debug, Clone, Copy)]
enum Hostile {
    /// An unknown key holding an array of millions of one-byte integers.
    WideUnknownKey,
    /// `mutations` declaring millions of empty byte strings (far over the batch limit).
    ManyMutations,
    /// The most mutations a batch may hold, each a big map of small entries.
    FatMutations,
    /// Arrays nested millions deep.
    Deep,
}

const KINDS: [Hostile; 4] = [
    Hostile::WideUnknownKey,
    Hostile::ManyMutations,
    Hostile::FatMutations,
    Hostile::Deep,
];

/// A CBOR head: major type and argument, in the shortest form.
fn head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let major = major << 5;
    match arg {
        0..=23 => out.push(major | arg as u8),
        24..=0xff => out.extend([major | 24, arg as u8]),
        0x100..=0xffff => {
            out.push(major | 25);
            out.extend((arg as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(major | 26);
            out.extend((arg as u32).to_be_bytes());
        }
        _ => {
            out.push(major | 27);
            out.extend(arg.to_be_bytes());
        }
    }
}

fn text(out: &mut Vec<u8>, s: &str) {
    head(out, 3, s.len() as u64);
    out.extend(s.as_bytes());
}

/// The start of a request map of `keys` keys: `v` and `device`.
fn prelude(device: DeviceId, keys: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAX_REQUEST_BYTES);
    head(&mut out, 5, keys);
    text(&mut out, "v");
    head(&mut out, 0, u64::from(PROTOCOL_VERSION));
    text(&mut out, "device");
    head(&mut out, 2, 16);
    out.extend(device.as_uuid().as_bytes());
    out
}

/// A body of `kind`, as close to [`MAX_REQUEST_BYTES`] as it gets.
fn body(kind: Hostile, device: DeviceId) -> Vec<u8> {
    let room = MAX_REQUEST_BYTES - 64;
    match kind {
        Hostile::WideUnknownKey => {
            let mut out = prelude(device, 3);
            text(&mut out, "x");
            let n = room - out.len() - 9;
            head(&mut out, 4, n as u64);
            out.resize(out.len() + n, 0x00);
            out
        }
        Hostile::ManyMutations => {
            let mut out = prelude(device, 3);
            text(&mut out, "mutations");
            let n = room - out.len() - 9;
            head(&mut out, 4, n as u64);
            out.resize(out.len() + n, 0x40);
            out
        }
        Hostile::FatMutations => {
            let mut out = prelude(device, 3);
            text(&mut out, "mutations");
            let batch = kobiri_core::sync::MAX_BATCH;
            head(&mut out, 4, batch as u64);
            let each = (room - out.len()) / batch - 8;
            for seq in 0..batch {
                // {"seq": n (past any gap), then as many one-byte entries as fit}
                let mut m = Vec::with_capacity(each);
                let entries = (each - 16) / 2;
                head(&mut m, 5, entries as u64 + 1);
                text(&mut m, "seq");
                head(&mut m, 0, 1_000_000 + seq as u64);
                m.resize(m.len() + entries * 2, 0x00);
                head(&mut out, 2, m.len() as u64);
                out.extend(m);
            }
            out
        }
        Hostile::Deep => {
            let mut out = prelude(device, 3);
            text(&mut out, "cursors");
            let n = room - out.len() - 1;
            out.resize(out.len() + n, 0x81);
            out.push(0x00);
            out
        }
    }
}

/// A `kobiri-server` process on a fresh SQLite database, stopped on drop.
struct ServerProcess {
    child: Child,
    pid: u32,
    base: String,
    _dir: tempfile::TempDir,
}

impl ServerProcess {
    async fn start(binary: &std::path::Path) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let db = format!("sqlite://{}", dir.path().join("memory.db").display());
        let child = tokio::process::Command::new(binary)
            .env("DATABASE_URL", db)
            .env("ENVIRONMENT", "development")
            .env("SECRET_KEY", "bench-secret-key-bench-secret-key-0123")
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("LOG_DIR", dir.path().join("logs"))
            .env("LOG_LEVEL", "warn")
            .env("JOBS_INTERVAL_SECONDS", "0")
            .env("OUTBOX_INTERVAL_SECONDS", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot run {}", binary.display()))?;
        let pid = child.id().context("the server exited at once")?;
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if client
                .get(format!("{base}/health"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                break;
            }
            ensure!(
                Instant::now() < deadline,
                "the server never answered /health"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Self {
            child,
            pid,
            base,
            _dir: dir,
        })
    }

    /// A line of `/proc/<pid>/status`, in MiB.
    fn status_mib(&self, field: &str) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let line = status
            .lines()
            .find(|l| l.starts_with(field))
            .with_context(|| format!("no {field} in /proc/{}/status", self.pid))?;
        let kib: u64 = line
            .split_whitespace()
            .nth(1)
            .context("unreadable status line")?
            .parse()?;
        Ok(kib / 1024)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// What one run measured, in MiB.
pub struct MemoryRun {
    pub before: u64,
    pub peak: u64,
    /// Resident after the last body, the server idle.
    pub idle: u64,
    /// Resident after as long again of ordinary traffic.
    pub after: u64,
    pub bodies: usize,
    pub statuses: Vec<(String, u16, usize)>,
    pub elapsed: Duration,
}

impl std::fmt::Display for MemoryRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} hostile bodies of {} MiB in {:.1?}",
            self.bodies,
            MAX_REQUEST_BYTES >> 20,
            self.elapsed
        )?;
        for (kind, status, count) in &self.statuses {
            writeln!(f, "  {kind}: {count} answered {status}")?;
        }
        writeln!(
            f,
            "resident memory: before {} MiB, peak (VmHWM) {} MiB, {} s after the last body \
             (idle) {} MiB, then after {} s of ordinary syncs {} MiB",
            self.before,
            self.peak,
            SETTLE.as_secs(),
            self.idle,
            SETTLE.as_secs(),
            self.after
        )
    }
}

/// How long the server is left idle before the memory it still holds is read.
const SETTLE: Duration = Duration::from_secs(5);

/// Runs `rounds` rounds of `parallel` bodies of each hostile kind against `binary`.
// Long on purpose: a benchmark scenario: its steps run in order and read best as one sequence.
pub async fn run(binary: PathBuf, parallel: usize, rounds: usize) -> anyhow::Result<MemoryRun> {
    let server = ServerProcess::start(&binary).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(parallel)
        .build()?;
    let api = Api::at(client.clone(), &server.base);
    let (_, token) = api
        .account("memory@example.sn", "+221770009999", "Memoire")
        .await?;
    let (device, device_token) = api.enroll(&token, "memory").await?;
    let before = server.status_mib("VmRSS:")?;
    let start = Instant::now();
    let mut statuses: Vec<(String, u16, usize)> = Vec::new();
    let mut bodies = 0;
    for _ in 0..rounds {
        for kind in KINDS {
            let payload = body(kind, device);
            let mut set = JoinSet::new();
            for _ in 0..parallel {
                let (client, url, token, payload) = (
                    client.clone(),
                    format!("{}/sync", server.base),
                    device_token.clone(),
                    payload.clone(),
                );
                set.spawn(async move {
                    client
                        .post(url)
                        .bearer_auth(token)
                        .header("content-type", "application/cbor")
                        .body(payload)
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                });
            }
            while let Some(done) = set.join_next().await {
                let status = done??;
                bodies += 1;
                let name = format!("{kind:?}");
                match statuses
                    .iter_mut()
                    .find(|(k, s, _)| *k == name && *s == status)
                {
                    Some(entry) => entry.2 += 1,
                    None => statuses.push((name, status, 1)),
                }
            }
        }
    }
    let elapsed = start.elapsed();
    if statuses.iter().any(|(_, s, _)| *s >= 500) {
        bail!("the server failed on a hostile body: {statuses:?}");
    }
    tokio::time::sleep(SETTLE).await;
    let idle = server.status_mib("VmRSS:")?;
    // mimalloc hands freed pages back to the system once they have been free for its purge
    // delay, when the threads that freed them allocate or free again: ordinary traffic.
    let empty = kobiri_core::sync::encode_raw_request(PROTOCOL_VERSION, device, &[], &[]);
    let until = Instant::now() + SETTLE;
    while Instant::now() < until {
        let status = client
            .post(format!("{}/sync", server.base))
            .bearer_auth(&device_token)
            .header("content-type", "application/cbor")
            .body(empty.clone())
            .send()
            .await?
            .status();
        ensure!(status.is_success(), "an ordinary sync failed: {status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(MemoryRun {
        before,
        peak: server.status_mib("VmHWM:")?,
        idle,
        after: server.status_mib("VmRSS:")?,
        bodies,
        statuses,
        elapsed,
    })
}

/// The `kobiri-server` binary beside this bench's own executable (built by the same
/// `cargo build`).
pub fn default_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().context("the bench has no directory")?;
    let binary = dir.join("kobiri-server");
    ensure!(
        binary.exists(),
        "{} not found: build it first (cargo build --release -p kobiri-server -p kobiri-bench) \
         or pass --server-bin",
        binary.display()
    );
    Ok(binary)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hostile_bodies_fit_the_limit_and_decode_as_expected() {
        for kind in KINDS {
            let b = body(kind, DeviceId::new());
            assert!(b.len() <= MAX_REQUEST_BYTES, "{kind:?}: {}", b.len());
            assert!(
                b.len() > MAX_REQUEST_BYTES - 16 * 1024,
                "{kind:?}: {}",
                b.len()
            );
            let decoded = kobiri_core::sync::decode_request(&b);
            match kind {
                // An unknown key is skipped: an empty push.
                Hostile::WideUnknownKey => assert!(decoded.unwrap().mutations.is_empty()),
                // A batch whose mutations are each refused, but numbered.
                Hostile::FatMutations => {
                    let r = decoded.unwrap();
                    assert!(r.mutations.iter().all(|m| m.decode().is_err()));
                    assert!(r.mutations[0].seq_hint().is_some());
                }
                Hostile::ManyMutations | Hostile::Deep => assert!(decoded.is_err()),
            }
        }
    }
}
