// Over 400 lines on purpose: the REST scenario: its two load generators (built-in and wrk), the
// pgbench ceiling and the report.
//! The REST scenario of the original service's load tests: cash payments posted over
//! `POST /api/v1/payments`, each for a member-session pair of its own, at 16 connections; then
//! `GET /api/v1/payments?session_id=` and `GET /api/v1/tontines/{id}` at 64. On PostgreSQL the
//! same command first measures the database's own ceiling for the write: `pgbench` running a
//! transaction of three inserts (a payment, its audit entry, a notification) into copies of
//! those tables, at the same concurrency.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, ensure};
use serde_json::json;

use crate::{
    Engine,
    server::BenchServer,
    stats::RunStats,
    sync::{Api, CONTRIBUTION, Field, prepare_field},
};

/// What the run measured.
pub struct Writes {
    /// The pgbench transactions/s on PostgreSQL (`None` on SQLite).
    pub ceiling: Option<u64>,
    pub payments: Measured,
    pub session_list: Measured,
    pub tontine_reads: Measured,
    pub tontines: usize,
    pub setup: Duration,
}

/// A figure from the built-in generator or from wrk.
pub enum Measured {
    Builtin(RunStats),
    Wrk(WrkReport),
}

impl Measured {
    pub fn per_second(&self) -> u64 {
        match self {
            Measured::Builtin(s) => u64::try_from(s.per_second()).unwrap_or(u64::MAX),
            Measured::Wrk(w) => w.per_second,
        }
    }
}

impl std::fmt::Display for Measured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Measured::Builtin(s) => write!(f, "{s}"),
            Measured::Wrk(w) => write!(
                f,
                "{} requests ({} not 2xx): {}/s, p50 {}, p99 {} (wrk)",
                w.requests, w.non_2xx, w.per_second, w.p50, w.p99
            ),
        }
    }
}

/// The whole part of a decimal figure (`5231.87` is 5231).
fn whole(figure: &str) -> Option<u64> {
    figure.split('.').next()?.parse().ok()
}

/// What the bench reads of wrk's `--latency` report.
pub struct WrkReport {
    pub requests: u64,
    pub non_2xx: u64,
    pub per_second: u64,
    pub p50: String,
    pub p99: String,
}

impl WrkReport {
    /// Parses wrk's text report.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let field = |prefix: &str| -> Option<&str> {
            text.lines()
                .map(str::trim)
                .find_map(|l| l.strip_prefix(prefix))
                .map(str::trim)
        };
        let requests = text
            .lines()
            .find(|l| l.contains("requests in"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("no request count in wrk's report:\n{text}"))?;
        let per_second = field("Requests/sec:")
            .and_then(whole)
            .with_context(|| format!("no Requests/sec in wrk's report:\n{text}"))?;
        Ok(Self {
            requests,
            non_2xx: field("Non-2xx or 3xx responses:")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
            per_second,
            p50: field("50%").unwrap_or("?").to_owned(),
            p99: field("99%").unwrap_or("?").to_owned(),
        })
    }
}

pub struct Options {
    pub payments: usize,
    pub write_connections: usize,
    pub read_connections: usize,
    pub seconds: u64,
    pub members_per_tontine: usize,
    pub collectors: usize,
    pub wrk: bool,
}

/// The pgbench script: the shape of a recorded payment's transaction.
const CEILING_SCRIPT: &str = "BEGIN;
INSERT INTO ceiling_payments (id, tontine_id, session_id, member_id, user_id, amount, currency, method, status, penalty_amount, is_late, recorded_by_id, initiated_at, created_at, updated_at) VALUES (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 5000, 'XOF', 'especes', 'en_attente', 0, false, gen_random_uuid(), now(), now(), now());
INSERT INTO ceiling_audit (id, tontine_id, actor_id, action, entity, entity_id, after, source, created_at) VALUES (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 'payment.recorded', 'payment', gen_random_uuid(), '{\"amount\": \"5000\", \"status\": \"en_attente\"}', 'api', now());
INSERT INTO ceiling_notifications (id, user_id, type, channel, status, title, message, created_at) VALUES (gen_random_uuid(), gen_random_uuid(), 'penalite', 'in_app', 'en_attente', 'Paiement en retard', 'Une pénalité de 500 XOF s''applique.', now());
END;
";

/// Copies of the three tables (their columns, defaults, checks and indexes; no foreign keys),
/// dropped again after the run.
const CEILING_TABLES: [&str; 3] = [
    "CREATE TABLE ceiling_payments (LIKE payments INCLUDING ALL)",
    "CREATE TABLE ceiling_audit (LIKE audit_log INCLUDING ALL)",
    "CREATE TABLE ceiling_notifications (LIKE notifications INCLUDING ALL)",
];
const CEILING_DROP: &str = "DROP TABLE ceiling_payments, ceiling_audit, ceiling_notifications";

/// `pgbench -n -M prepared -c {connections} -j 2 -T {seconds}` with [`CEILING_SCRIPT`] on the
/// bench's database: its transactions per second.
async fn pgbench_ceiling(url: &str, connections: usize, seconds: u64) -> anyhow::Result<u64> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await?;
    for create in CEILING_TABLES {
        sqlx::query(create).execute(&mut conn).await?;
    }
    let dir = tempfile::tempdir()?;
    let script = dir.path().join("payment.sql");
    std::fs::write(&script, CEILING_SCRIPT)?;
    let output = tokio::process::Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-j", "2"])
        .arg(format!("-c{connections}"))
        .arg(format!("-T{seconds}"))
        .arg("-f")
        .arg(&script)
        .arg(url)
        .output()
        .await
        .context("cannot run pgbench (it comes with PostgreSQL)")?;
    sqlx::query(CEILING_DROP).execute(&mut conn).await?;
    let text = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success(),
        "pgbench failed: {}{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    text.lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(whole)
        .with_context(|| format!("no tps in pgbench's report:\n{text}"))
}

/// One JSON body per (member, session) pair of the field, the tontines taken in turn (the
/// first member of each, then the second…), each posted by its tontine's collector: payments
/// in flight at once are for different tontines, from different collectors, as from
/// collectors working in parallel, each recording one payment at a time. (Payments of one
/// tontine serialize on its sync counter, which each insert bumps, and the rows of one
/// recorder are locked by each payment's foreign keys.)
fn payment_posts(field: &Field, count: usize) -> Vec<Post> {
    let widest = field
        .tontines
        .iter()
        .map(|t| t.members.len())
        .max()
        .unwrap_or(0);
    (0..widest)
        .flat_map(|n| {
            field
                .tontines
                .iter()
                .filter_map(move |t| t.members.get(n).map(|m| (t, *m)))
        })
        .take(count)
        .map(|(t, member)| Post {
            token: field.collectors[t.collector].token.clone(),
            body: json!({
                "tontine_id": t.id, "session_id": t.session, "member_id": member,
                "amount": CONTRIBUTION.parse::<u64>().unwrap_or(5000), "method": "especes"
            })
            .to_string(),
        })
        .collect()
}

/// One payment to post, with the token of its tontine's collector.
pub struct Post {
    token: String,
    body: String,
}

/// Posts every body once with `connections` in flight (the built-in generator).
async fn post_all(
    api: &Api,
    posts: Arc<Vec<Post>>,
    connections: usize,
) -> anyhow::Result<RunStats> {
    let next = Arc::new(AtomicUsize::new(0));
    let url: Arc<str> = api.url("/api/v1/payments").into();
    let start = Instant::now();
    let mut workers = Vec::with_capacity(connections);
    for _ in 0..connections.max(1) {
        let (client, url, posts, next) = (
            api.client().clone(),
            url.clone(),
            posts.clone(),
            next.clone(),
        );
        workers.push(tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0usize);
            while let Some(post) = posts.get(next.fetch_add(1, Ordering::Relaxed)) {
                let t0 = Instant::now();
                let sent = client
                    .post(url.as_ref())
                    .bearer_auth(&post.token)
                    .header("content-type", "application/json")
                    .body(post.body.clone())
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == reqwest::StatusCode::CREATED => {
                        let _ = r.bytes().await;
                        latencies.push(t0.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    RunStats::gather(workers, start).await
}

/// The wrk script that posts each line of `posts.txt` (a token, a tab, a JSON body) once,
/// the threads taking every `threads`-th line. A thread whose lines ran out sends nothing more. wrk calls the
/// first thread's `request()` once before the run to check the script (and sends nothing):
/// that call gets a request without a body of the file.
const WRK_POST_SCRIPT: &str = r#"
local counter = 0
function setup(thread)
  thread:set("first", counter)
  counter = counter + 1
end
function init(args)
  tokens, bodies = {}, {}
  for line in io.lines(args[1]) do
    local tab = line:find("\t", 1, true)
    tokens[#tokens + 1] = line:sub(1, tab - 1)
    bodies[#bodies + 1] = line:sub(tab + 1)
  end
  step = tonumber(args[2])
  index = first + 1
  checked = first ~= 0
  headers = { ["Content-Type"] = "application/json", ["Authorization"] = "" }
end
function request()
  if not checked then
    checked = true
    return wrk.format("POST", "/api/v1/payments", headers, "{}")
  end
  local body = bodies[index]
  if body == nil then
    wrk.thread:stop()
    return ""
  end
  headers["Authorization"] = "Bearer " .. tokens[index]
  index = index + step
  return wrk.format("POST", "/api/v1/payments", headers, body)
end
"#;

const WRK_THREADS: usize = 2;

async fn run_wrk(args: &[String]) -> anyhow::Result<WrkReport> {
    let output = tokio::process::Command::new("wrk")
        .args(args)
        .output()
        .await
        .context("cannot run wrk (apt-get install wrk)")?;
    wrk_report(&output)
}

fn wrk_report(output: &std::process::Output) -> anyhow::Result<WrkReport> {
    let text = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success(),
        "wrk failed: {}{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    WrkReport::parse(&text)
}

/// The bench's own connection to the server's database, to watch the payments arrive.
enum Counter {
    Postgres(sqlx::PgConnection),
    Sqlite(sqlx::SqliteConnection),
}

impl Counter {
    async fn open(server: &BenchServer) -> anyhow::Result<Self> {
        use sqlx::Connection;
        Ok(match server.engine {
            Engine::Postgres => {
                Counter::Postgres(sqlx::PgConnection::connect(&server.database_url).await?)
            }
            Engine::Sqlite => {
                Counter::Sqlite(sqlx::SqliteConnection::connect(&server.database_url).await?)
            }
        })
    }

    async fn payments(&mut self) -> anyhow::Result<u64> {
        const SQL: &str = "SELECT COUNT(*) FROM payments";
        let n: i64 = match self {
            Counter::Postgres(c) => sqlx::query_scalar(SQL).fetch_one(c).await?,
            Counter::Sqlite(c) => sqlx::query_scalar(SQL).fetch_one(c).await?,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// Posts every body once through wrk at `connections`. wrk runs for a fixed time, and its
/// threads, once their bodies are sent, wait for it to end: so the bench watches the payments
/// arrive in the database (every 10 ms), ends wrk with SIGINT (it then prints its report) as
/// soon as they are all in, and gives the rate over that time itself.
async fn post_all_with_wrk(
    server: &BenchServer,
    posts: &[Post],
    connections: usize,
) -> anyhow::Result<WrkReport> {
    let dir = tempfile::tempdir()?;
    let (script, lines) = (dir.path().join("post.lua"), dir.path().join("posts.txt"));
    std::fs::write(&script, WRK_POST_SCRIPT)?;
    let text: Vec<String> = posts
        .iter()
        .map(|p| format!("{}\t{}", p.token, p.body))
        .collect();
    std::fs::write(&lines, text.join("\n"))?;
    let mut counter = Counter::open(server).await?;
    let before = counter.payments().await?;
    let want = before + posts.len() as u64;
    let start = Instant::now();
    let child = tokio::process::Command::new("wrk")
        .arg(format!("-t{WRK_THREADS}"))
        .arg(format!("-c{connections}"))
        .args(["-d600s", "--latency", "-s"])
        .arg(&script)
        .arg(server.url(""))
        .arg("--")
        .arg(&lines)
        .arg(WRK_THREADS.to_string())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("cannot run wrk (apt-get install wrk)")?;
    let pid = child.id().context("wrk exited at once")?;
    // Stops when all are in, or when none came in for 3 s (a lost request).
    let (mut seen, mut last_change) = (before, Instant::now());
    while seen < want && last_change.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let now = counter.payments().await?;
        if now != seen {
            (seen, last_change) = (now, Instant::now());
        }
    }
    let elapsed = start.elapsed();
    let stored = counter.payments().await? - before;
    tokio::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .await?;
    let mut report = wrk_report(&child.wait_with_output().await?)?;
    ensure!(
        stored == posts.len() as u64,
        "{stored} of {} payments stored in {elapsed:.1?}",
        posts.len()
    );
    let micros = u64::try_from(elapsed.as_micros())
        .unwrap_or(u64::MAX)
        .max(1);
    report.per_second = stored * 1_000_000 / micros;
    Ok(report)
}

/// Authenticated GETs of one URL for `duration` with `connections` in flight.
pub async fn get_for(
    api: &Api,
    path: &str,
    token: &str,
    connections: usize,
    duration: Duration,
    wrk: bool,
) -> anyhow::Result<Measured> {
    if wrk {
        let args = [
            format!("-t{WRK_THREADS}"),
            format!("-c{connections}"),
            format!("-d{}s", duration.as_secs()),
            "--latency".to_owned(),
            "-H".to_owned(),
            format!("Authorization: Bearer {token}"),
            api.url(path),
        ];
        return Ok(Measured::Wrk(run_wrk(&args).await?));
    }
    let url: Arc<str> = api.url(path).into();
    let token: Arc<str> = token.into();
    let start = Instant::now();
    let mut workers = Vec::with_capacity(connections);
    for _ in 0..connections.max(1) {
        let (client, url, token) = (api.client().clone(), url.clone(), token.clone());
        workers.push(tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0usize);
            while start.elapsed() < duration {
                let t0 = Instant::now();
                match client
                    .get(url.as_ref())
                    .bearer_auth(token.as_ref())
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        latencies.push(t0.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    Ok(Measured::Builtin(RunStats::gather(workers, start).await?))
}

/// Builds the field (untimed), measures the ceiling on PostgreSQL, then the three figures.
/// Fails unless every payment was recorded once.
pub async fn run(server: &BenchServer, o: &Options) -> anyhow::Result<Writes> {
    let started = Instant::now();
    let members = o.members_per_tontine.clamp(3, 100);
    let tontines = o.payments.div_ceil(members).max(1);
    let collectors = o.collectors.clamp(1, tontines);
    let field = prepare_field(server, collectors, tontines.div_ceil(collectors), members).await?;
    let setup = started.elapsed();
    let api = Api::new(server);
    // The reads: by the collector of the first tontine, whose session they list.
    let token = field
        .tontines
        .first()
        .map(|t| field.collectors[t.collector].token.clone())
        .context("no tontine")?;
    let posts = Arc::new(payment_posts(&field, o.payments));
    let duration = Duration::from_secs(o.seconds);
    let ceiling = match server.engine {
        Engine::Postgres => {
            Some(pgbench_ceiling(&server.database_url, o.write_connections, o.seconds).await?)
        }
        Engine::Sqlite => None,
    };
    let payments = if o.wrk {
        Measured::Wrk(post_all_with_wrk(server, &posts, o.write_connections).await?)
    } else {
        Measured::Builtin(post_all(&api, posts.clone(), o.write_connections).await?)
    };
    let mut recorded = 0;
    for t in &field.tontines {
        let collector = &field.collectors[t.collector].token;
        recorded += api.payment_total(collector, t.id).await?;
    }
    ensure!(
        recorded == posts.len() as u64,
        "{recorded} payments stored for {} posted",
        posts.len()
    );
    let first = field.tontines.first().context("no tontine")?;
    let session_list = get_for(
        &api,
        &format!("/api/v1/payments?session_id={}", first.session),
        &token,
        o.read_connections,
        duration,
        o.wrk,
    )
    .await?;
    let tontine_reads = get_for(
        &api,
        &format!("/api/v1/tontines/{}", first.id),
        &token,
        o.read_connections,
        duration,
        o.wrk,
    )
    .await?;
    Ok(Writes {
        ceiling,
        payments,
        session_list,
        tontine_reads,
        tontines: field.tontines.len(),
        setup,
    })
}

impl std::fmt::Display for Writes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "field: {} tontines with one open session each (set-up {:.1?})",
            self.tontines, self.setup
        )?;
        if let Some(ceiling) = self.ceiling {
            writeln!(
                f,
                "pgbench ceiling (payment + audit + notification inserts, one transaction): {ceiling} tps"
            )?;
        }
        writeln!(f, "POST /api/v1/payments: {}", self.payments)?;
        if let Some(ceiling) = self.ceiling {
            writeln!(
                f,
                "  = {}% of the pgbench ceiling (target >= 2400/s and >= 35%)",
                100 * self.payments.per_second() / ceiling.max(1)
            )?;
        } else {
            writeln!(f, "  (target >= 1500/s on SQLite)")?;
        }
        writeln!(
            f,
            "GET /api/v1/payments?session_id=: {} (target >= 8000/s)",
            self.session_list
        )?;
        write!(
            f,
            "GET /api/v1/tontines/{{id}}: {} (target >= 30000/s)",
            self.tontine_reads
        )
    }
}
