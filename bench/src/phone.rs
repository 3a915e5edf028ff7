//! The phone scenarios, with the real `kobiri-mobile` library over loopback: recording a cash
//! payment durably in the phone's SQLite, then syncing a day (or a week) of offline payments.
//!
//! The library is synchronous (ureq, rusqlite): it runs on tokio's blocking pool while the
//! server runs on the runtime.

use std::{
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::ensure;
use kobiri_mobile::{KobiriClient, SyncReport};

use crate::{
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

/// (a) `records` timed `record_cash_payment` calls on one phone (never synced), then (b)
/// `offline` payments recorded on a second phone and synced until its outbox is empty.
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
            report.pushed += r.pushed;
            report.applied += r.applied;
            report.duplicates += r.duplicates;
            report.flagged += r.flagged;
            report.rejected += r.rejected;
            report.pulled_changes += r.pulled_changes;
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
    // The server's own count: every offline payment, once.
    let api = Api::new(server);
    let mut total = 0;
    for t in &field.tontines {
        total += api.payment_total(&field.president, t.id).await?;
    }
    ensure!(
        total == offline as u64,
        "the server lists {total} payments, the phone synced {offline}"
    );
    Ok(run)
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

/// Fails unless every pushed payment was applied (none flagged, rejected or left).
pub fn check(run: &PhoneRun) -> anyhow::Result<()> {
    let r = &run.report;
    ensure!(
        r.applied == run.offline as u64 && r.flagged == 0 && r.rejected == 0,
        "not every payment was applied: {r:?}"
    );
    Ok(())
}
