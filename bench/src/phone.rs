//! The phone scenarios, with the real `kobiri-mobile` library over loopback: recording a cash
//! payment durably in the phone's SQLite, then syncing a day (or a week) of offline payments.
//!
//! The library is synchronous (ureq, rusqlite): it runs on tokio's blocking pool while the
//! server runs on the runtime.

use std::{
    path::Path,
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use anyhow::ensure;
use kobiri_mobile::{KobiriClient, SyncReport};

use crate::{
    link,
    server::BenchServer,
    stats::RunStats,
    sync::{Api, CONTRIBUTION, PASSWORD, prepare_field},
};

/// What a phone run measured.
pub struct PhoneRun {
    pub setup: Duration,
    pub tontines: usize,
    /// The first pull of the whole field onto a fresh phone.
    pub first_pull: Duration,
    /// `record_cash_payment` latencies on the latency phone.
    pub record: RunStats,
    /// Recording the offline payments on the sync phone, in all.
    pub offline_record: Duration,
    pub offline: usize,
    /// `sync()` until the outbox is empty.
    pub sync: Duration,
    pub sync_calls: usize,
    pub report: SyncReport,
    pub batch_size: Option<u32>,
}

/// Tontine, session and member ids, as the app passes them.
type Pair = (String, String, String);

/// Every (tontine, open session, active member) on the phone, from its own copy.
fn pairs_on(phone: &KobiriClient) -> anyhow::Result<Vec<Pair>> {
    let mut pairs = Vec::new();
    for t in phone.list_tontines()? {
        let open: Vec<_> = phone
            .list_sessions(&t.id)?
            .into_iter()
            .filter(|s| s.status == "en_cours")
            .collect();
        let members = phone.list_members(&t.id)?;
        for s in &open {
            for m in members.iter().filter(|m| m.is_active) {
                pairs.push((t.id.clone(), s.id.clone(), m.id.clone()));
            }
        }
    }
    Ok(pairs)
}

/// A fresh phone: its own database in `dir`, logged in as `email`, enrolled, fully pulled.
fn fresh_phone(
    dir: &Path,
    name: &str,
    base: &str,
    email: &str,
) -> anyhow::Result<(Arc<KobiriClient>, Duration)> {
    let path = dir.join(format!("{name}.db"));
    let phone = KobiriClient::open(&path.to_string_lossy(), base)?;
    phone.login(email, PASSWORD)?;
    phone.enroll_device(name, "android")?;
    let t0 = Instant::now();
    let mut pulled = phone.pull()?;
    while pulled.has_more {
        pulled = phone.pull()?;
    }
    Ok((phone, t0.elapsed()))
}

/// Adds one `sync()` call's counts to the run's.
fn add(total: &mut SyncReport, r: &SyncReport) {
    total.pushed += r.pushed;
    total.applied += r.applied;
    total.duplicates += r.duplicates;
    total.flagged += r.flagged;
    total.rejected += r.rejected;
    total.pulled_changes += r.pulled_changes;
}

/// (a) `records` timed `record_cash_payment` calls on one phone (never synced), then (b)
/// `offline` payments recorded on a second phone and synced until its outbox is empty.
// Long on purpose: a benchmark scenario: its steps run in order and read best as one sequence.
pub async fn run(
    server: &BenchServer,
    records: usize,
    offline: usize,
    members: usize,
    batch_size: Option<u32>,
) -> anyhow::Result<PhoneRun> {
    let setup_start = Instant::now();
    let needed = records.max(offline).max(1);
    let field = prepare_field(server, 1, needed.div_ceil(members), members).await?;
    let setup = setup_start.elapsed();
    let base = server.base.clone();
    let email = field.collectors[0].email.clone();
    let mut run = tokio::task::spawn_blocking(move || -> anyhow::Result<PhoneRun> {
        let dir = tempfile::tempdir()?;
        // (a) Durable recording, one call at a time, as the app does it.
        let (latency_phone, first_pull) = fresh_phone(dir.path(), "latence", &base, &email)?;
        let pairs = pairs_on(&latency_phone)?;
        ensure!(
            pairs.len() >= needed,
            "the phone holds {} (member, open session) pairs, {needed} needed",
            pairs.len()
        );
        let mut latencies = Vec::with_capacity(records);
        let start = Instant::now();
        for (t, s, m) in pairs.iter().take(records) {
            let t0 = Instant::now();
            latency_phone.record_cash_payment(t, s, m, CONTRIBUTION)?;
            latencies.push(t0.elapsed());
        }
        let record = RunStats::new(latencies, 0, start.elapsed());
        drop(latency_phone);

        // (b) A collector's offline payments, then one sync until nothing is pending.
        let (phone, _) = fresh_phone(dir.path(), "terrain", &base, &email)?;
        if let Some(size) = batch_size {
            phone.set_batch_size(size)?;
        }
        let start = Instant::now();
        for (t, s, m) in pairs.iter().take(offline) {
            phone.record_cash_payment(t, s, m, CONTRIBUTION)?;
        }
        let offline_record = start.elapsed();
        let pending = phone.sync_status()?.pending_count;
        ensure!(
            pending == offline as u64,
            "{pending} pending after recording {offline}"
        );
        let mut report = SyncReport::default();
        let mut sync_calls = 0;
        eprintln!("{offline} payments recorded offline: syncing");
        let start = Instant::now();
        loop {
            let r = phone.sync()?;
            sync_calls += 1;
            add(&mut report, &r);
            let status = phone.sync_status()?;
            if status.pending_count == 0 && !r.has_more {
                break;
            }
            ensure!(
                sync_calls < 100,
                "sync() still has {} pending after {sync_calls} calls (last error: {:?})",
                status.pending_count,
                status.last_error
            );
        }
        let sync = start.elapsed();
        Ok(PhoneRun {
            setup,
            tontines: 0,
            first_pull,
            record,
            offline_record,
            offline,
            sync,
            sync_calls,
            report,
            batch_size,
        })
    })
    .await??;
    run.tontines = field.tontines.len();
    server_holds_each_once(server, &field, offline).await?;
    Ok(run)
}

/// The server's own count: every offline payment, once (none lost, none doubled).
async fn server_holds_each_once(
    server: &BenchServer,
    field: &crate::sync::Field,
    offline: usize,
) -> anyhow::Result<()> {
    let api = Api::new(server);
    let mut total = 0;
    for t in &field.tontines {
        total += api.payment_total(&field.president, t.id).await?;
    }
    ensure!(
        total == offline as u64,
        "the server lists {total} payments, the phone recorded {offline}: lost or doubled"
    );
    Ok(())
}

impl std::fmt::Display for PhoneRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "set-up: {} tontines (one open session each) in {:.1?}; first pull of the field \
             onto a fresh phone {:.2?}",
            self.tontines, self.setup, self.first_pull
        )?;
        writeln!(
            f,
            "(a) record_cash_payment, durable (WAL, synchronous=FULL): {} (target p50 < 2 ms)",
            self.record
        )?;
        writeln!(
            f,
            "(b) {} offline payments recorded in {:.2?}; sync() until the outbox is empty: \
             {:.2?} in {} call(s), batch size {} (target < 5 s)",
            self.offline,
            self.offline_record,
            self.sync,
            self.sync_calls,
            self.batch_size
                .map_or_else(|| "200 (library default)".to_owned(), |b| b.to_string())
        )?;
        let r = &self.report;
        write!(
            f,
            "    pushed {}, applied {}, duplicates {}, flagged {}, rejected {}, pulled changes {}",
            r.pushed, r.applied, r.duplicates, r.flagged, r.rejected, r.pulled_changes
        )
    }
}

/// What the run over an emulated link measured.
pub struct LinkRun {
    pub profile: link::Profile,
    pub offline: usize,
    /// `sync()` calls until the outbox was empty, and those that failed (the app calls again).
    pub sync_calls: usize,
    pub failed_calls: usize,
    pub sync: Duration,
    pub report: SyncReport,
    pub connections: u64,
    pub cut: u64,
    pub lost_packets: u64,
    pub up_bytes: u64,
    pub down_bytes: u64,
}

/// `offline` payments recorded on a phone that pulled its tontines over loopback, then synced
/// through an emulated link (`profile`) until its outbox is empty, calling `sync()` again
/// after a failure as the app does, for at most `deadline`. The server must hold each payment
/// exactly once.
// Long on purpose: a benchmark scenario: its steps run in order and read best as one sequence.
pub async fn over_link(
    server: &BenchServer,
    offline: usize,
    members: usize,
    profile: link::Profile,
    deadline: Duration,
) -> anyhow::Result<LinkRun> {
    let field = prepare_field(server, 1, offline.max(1).div_ceil(members), members).await?;
    let link = link::Link::start(profile, server.addr, 2026).await?;
    let (base, slow) = (server.base.clone(), link.base.clone());
    let email = field.collectors[0].email.clone();
    let mut run = tokio::task::spawn_blocking(move || -> anyhow::Result<LinkRun> {
        let dir = tempfile::tempdir()?;
        let (phone, _) = fresh_phone(dir.path(), "brousse", &base, &email)?;
        let pairs = pairs_on(&phone)?;
        ensure!(pairs.len() >= offline, "not enough (member, session) pairs");
        for (t, s, m) in pairs.iter().take(offline) {
            phone.record_cash_payment(t, s, m, CONTRIBUTION)?;
        }
        // The same phone (its database: session, device, outbox) back in network range,
        // over the slow link.
        drop(phone);
        let path = dir.path().join("brousse.db");
        let phone = KobiriClient::open(&path.to_string_lossy(), &slow)?;
        eprintln!("{offline} payments recorded offline: syncing over the emulated link");
        let mut report = SyncReport::default();
        let (mut sync_calls, mut failed_calls) = (0, 0);
        let start = Instant::now();
        loop {
            ensure!(
                start.elapsed() < deadline,
                "{} still pending after {deadline:?}",
                phone.sync_status()?.pending_count
            );
            sync_calls += 1;
            let more = match phone.sync() {
                Ok(r) => {
                    add(&mut report, &r);
                    r.has_more
                }
                Err(e) => {
                    failed_calls += 1;
                    eprintln!("sync() failed ({e}); calling again");
                    true
                }
            };
            if !more && phone.sync_status()?.pending_count == 0 {
                break;
            }
        }
        Ok(LinkRun {
            profile,
            offline,
            sync_calls,
            failed_calls,
            sync: start.elapsed(),
            report,
            connections: 0,
            cut: 0,
            lost_packets: 0,
            up_bytes: 0,
            down_bytes: 0,
        })
    })
    .await??;
    let c = &link.counters;
    run.connections = c.connections.load(Ordering::Relaxed);
    run.cut = c.cut.load(Ordering::Relaxed);
    run.lost_packets = c.lost_packets.load(Ordering::Relaxed);
    run.up_bytes = c.up_bytes.load(Ordering::Relaxed);
    run.down_bytes = c.down_bytes.load(Ordering::Relaxed);
    server_holds_each_once(server, &field, offline).await?;
    let r = &run.report;
    ensure!(
        r.flagged == 0 && r.rejected == 0,
        "payments flagged or rejected: {r:?}"
    );
    Ok(run)
}

impl std::fmt::Display for LinkRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = &self.profile;
        writeln!(
            f,
            "link: {} kbit/s each way, RTT {:?}, {}% packets lost (sent again after {:?}), \
             {}% of connections cut",
            p.rate / 1_000,
            p.one_way * 2,
            p.loss_percent,
            p.rto,
            p.cut_percent
        )?;
        writeln!(
            f,
            "{} offline payments reached the server, each once, in {:.1?} (target < 60 s): \
             {} sync() call(s), {} failed and called again",
            self.offline, self.sync, self.sync_calls, self.failed_calls
        )?;
        let r = &self.report;
        write!(
            f,
            "    applied {}, duplicates {} (answers lost on a cut connection), pulled changes {}; \
             {} connection(s), {} cut, {} packets lost; {} bytes up, {} bytes down",
            r.applied,
            r.duplicates,
            r.pulled_changes,
            self.connections,
            self.cut,
            self.lost_packets,
            self.up_bytes,
            self.down_bytes
        )
    }
}

/// Fails unless every pushed payment was applied (none flagged, rejected or left).
pub fn check(run: &PhoneRun) -> anyhow::Result<()> {
    let r = &run.report;
    ensure!(
        r.applied == run.offline as u64 && r.flagged == 0 && r.rejected == 0,
        "not every payment was applied: {r:?}"
    );
    Ok(())
}
