// Over 400 lines on purpose: the sync benchmarks' set-up and ingest share the field, the API handle
// and the devices.
//! The sync scenarios: a field of tontines, each with one open session and its collector, then
//! server ingest of cash payments pushed over `POST /sync` by enrolled devices.
//!
//! A member pays a session once (see `SessionStatus::payment_window` for the sessions that take
//! payments), and a tontine has at most 100 members: distinct (member, session) pairs therefore
//! come from many tontines, each with `members_per_tontine` members and its first session open.

use std::{
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, bail, ensure};
use kobiri_core::{
    DeviceId, MemberId, PaymentId, SessionId, TontineId,
    sync::{
        Mutation, MutationKind, MutationOutcome, Outcome, PROTOCOL_VERSION, PageStatus,
        ScopeCursor, SyncRequest, ZERO_HASH, encode_raw_request, encode_request, mutation_hash,
        to_canonical_cbor,
    },
};
use serde::{Deserialize, de::IgnoredAny};
use serde_json::{Value, json};
use tokio::{sync::Semaphore, task::JoinSet};

use crate::{server::BenchServer, stats::RunStats};

pub const PASSWORD: &str = "Tontine2026";
/// The contribution of every bench tontine, in XOF.
pub const CONTRIBUTION: &str = "5000";
pub const CURRENCY: &str = "XOF";
/// Tontine set-ups in flight at once (untimed).
const SETUP_CONCURRENCY: usize = 8;

/// A cheap handle on the server's HTTP API, for tasks.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    base: Arc<str>,
}

impl Api {
    pub fn new(server: &BenchServer) -> Api {
        Api {
            client: server.client.clone(),
            base: server.base.as_str().into(),
        }
    }

    /// A handle on a server at `base` (`http://host:port`) that the bench did not start.
    pub fn at(client: reqwest::Client, base: &str) -> Api {
        Api {
            client,
            base: base.into(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> anyhow::Result<Value> {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        ensure!(status.is_success(), "POST {path}: {status} {text}");
        Ok(serde_json::from_str(&text)?)
    }

    pub async fn get(&self, path: &str, token: &str) -> anyhow::Result<Value> {
        let resp = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await?;
        let status = resp.status();
        let text = resp.text().await?;
        ensure!(status.is_success(), "GET {path}: {status} {text}");
        Ok(serde_json::from_str(&text)?)
    }

    /// Registers an account with a password and logs it in: (user id, access token).
    pub async fn account(
        &self,
        email: &str,
        phone: &str,
        last_name: &str,
    ) -> anyhow::Result<(String, String)> {
        let user = self
            .post(
                "/api/v1/auth/register",
                None,
                &json!({
                    "email": email, "phone": phone, "password": PASSWORD,
                    "confirm_password": PASSWORD, "first_name": "Bench", "last_name": last_name
                }),
            )
            .await?;
        let tokens = self
            .post(
                "/api/v1/auth/login",
                None,
                &json!({"email": email, "password": PASSWORD}),
            )
            .await?;
        Ok((str_field(&user, "id")?, str_field(&tokens, "access_token")?))
    }

    /// Enrolls a device for the holder of `token`: (device id, the device's access token).
    pub async fn enroll(&self, token: &str, name: &str) -> anyhow::Result<(DeviceId, String)> {
        let enrolled = self
            .post(
                "/api/v1/devices",
                Some(token),
                &json!({"name": name, "platform": "android"}),
            )
            .await?;
        let device = DeviceId::parse(&str_field(&enrolled, "device_id")?)?;
        Ok((device, str_field(&enrolled, "access_token")?))
    }

    /// `total` of `GET /api/v1/payments?tontine_id=…&page_size=1`.
    pub async fn payment_total(&self, token: &str, tontine: TontineId) -> anyhow::Result<u64> {
        let page = self
            .get(
                &format!("/api/v1/payments?tontine_id={tontine}&page_size=1"),
                token,
            )
            .await?;
        page["total"]
            .as_u64()
            .context("payments page without total")
    }
}

pub fn str_field(v: &Value, key: &str) -> anyhow::Result<String> {
    v[key]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no `{key}` in {v}"))
}

/// A collector: an account with a password (the phone logs in with it).
pub struct Collector {
    pub email: String,
    pub user_id: String,
    pub token: String,
}

/// One tontine of the field: its open session and its members (president and collector
/// included), recorded for by collector `collector`.
pub struct FieldTontine {
    pub id: TontineId,
    pub session: SessionId,
    pub members: Vec<MemberId>,
    pub collector: usize,
}

/// Tontines with an open session each, and their collectors.
pub struct Field {
    pub president: String,
    pub collectors: Vec<Collector>,
    pub tontines: Vec<FieldTontine>,
}

impl Field {
    /// The distinct (tontine, session, member) triples of collector `c`, tontine by tontine.
    pub fn pairs(&self, c: usize) -> Vec<(TontineId, SessionId, MemberId)> {
        self.tontines
            .iter()
            .filter(|t| t.collector == c)
            .flat_map(|t| t.members.iter().map(|m| (t.id, t.session, *m)))
            .collect()
    }
}

/// Builds `tontines_per_collector` tontines for each of `collectors` collectors, each tontine
/// with `members` members (a president shared by all, its collector, and people without a
/// smartphone added by phone number) and its first session open.
// Long on purpose: a benchmark set-up: its requests run in order and read best as one sequence.
pub async fn prepare_field(
    server: &BenchServer,
    collectors: usize,
    tontines_per_collector: usize,
    members: usize,
) -> anyhow::Result<Field> {
    ensure!(
        (3..=100).contains(&members),
        "a tontine has 3 to 100 members (--members-per-tontine)"
    );
    let api = Api::new(server);
    let (_, president) = api
        .account("presidente@bench.sn", "+221700000000", "Presidente")
        .await?;
    let mut field = Field {
        president,
        collectors: Vec::new(),
        tontines: Vec::new(),
    };
    for c in 0..collectors.max(1) {
        let email = format!("collecteur{c}@bench.sn");
        let (user_id, token) = api
            .account(
                &email,
                &format!("+22170100{c:04}"),
                &format!("Collecteur{c}"),
            )
            .await?;
        field.collectors.push(Collector {
            email,
            user_id,
            token,
        });
    }
    let total = field.collectors.len() * tontines_per_collector.max(1);
    let collector_ids: Arc<Vec<(String, String)>> = Arc::new(
        field
            .collectors
            .iter()
            .map(|c| (c.user_id.clone(), c.token.clone()))
            .collect(),
    );
    let president = Arc::new(field.president.clone());
    // The first tontine creates the people added by phone; the others find them.
    let first = setup_tontine(
        api.clone(),
        president.clone(),
        collector_ids.clone(),
        0,
        members,
    )
    .await?;
    let mut built = vec![first];
    let permits = Arc::new(Semaphore::new(SETUP_CONCURRENCY));
    let mut tasks = JoinSet::new();
    for n in 1..total {
        let permit = permits.clone().acquire_owned().await?;
        let (api, president, ids) = (api.clone(), president.clone(), collector_ids.clone());
        tasks.spawn(async move {
            let t = setup_tontine(api, president, ids, n, members).await;
            drop(permit);
            t
        });
    }
    while let Some(t) = tasks.join_next().await {
        built.push(t??);
    }
    built.sort_by_key(|t| t.id.as_uuid());
    field.tontines = built;
    Ok(field)
}

// Long on purpose: a benchmark set-up: its requests run in order and read best as one sequence.
async fn setup_tontine(
    api: Api,
    president: Arc<String>,
    collectors: Arc<Vec<(String, String)>>,
    n: usize,
    members: usize,
) -> anyhow::Result<FieldTontine> {
    let collector = n % collectors.len();
    let tontine = api
        .post(
            "/api/v1/tontines",
            Some(&president),
            &json!({
                "name": format!("Sync {n}"), "type": "rotative", "frequency": "hebdomadaire",
                "contribution_amount": CONTRIBUTION, "currency": CURRENCY,
                "start_date": "2027-01-04", "max_members": members
            }),
        )
        .await?;
    let id = str_field(&tontine, "id")?;
    let path = format!("/api/v1/tontines/{id}/members");
    // An existing account is invited, and accepts.
    let (collector_id, collector_token) = &collectors[collector];
    let invitation = api
        .post(
            &path,
            Some(&president),
            &json!({"user_id": collector_id, "role": "collecteur"}),
        )
        .await?;
    let invitation = str_field(&invitation, "id")?;
    api.post(
        &format!("/api/v1/invitations/{invitation}/accept"),
        Some(collector_token),
        &json!({}),
    )
    .await?;
    // The president and the collector are members already.
    for p in 0..members.saturating_sub(2) {
        api.post(
            &path,
            Some(&president),
            &json!({"phone": format!("+22176{p:07}"), "first_name": "Awa",
                    "last_name": format!("Membre {p}"), "role": "membre"}),
        )
        .await?;
    }
    let listed = api.get(&path, &president).await?;
    let members = listed
        .as_array()
        .context("members")?
        .iter()
        .map(|m| MemberId::parse(&str_field(m, "id")?).map_err(anyhow::Error::from))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let sessions = api
        .post(
            &format!("/api/v1/sessions/generate/{id}"),
            Some(&president),
            &json!({"count": 1}),
        )
        .await?;
    let session = str_field(sessions.get(0).context("no session generated")?, "id")?;
    api.post(
        &format!("/api/v1/sessions/{session}/open"),
        Some(&president),
        &json!({"send_notifications": false}),
    )
    .await?;
    Ok(FieldTontine {
        id: TontineId::parse(&id)?,
        session: SessionId::parse(&session)?,
        members,
        collector,
    })
}

/// Unix seconds now, the phone's "recorded at".
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A cash payment of the contribution by `member` for `session` of `tontine`.
pub fn cash_payment(
    payment: PaymentId,
    (tontine, session, member): (TontineId, SessionId, MemberId),
) -> MutationKind {
    MutationKind::RecordCashPayment {
        payment_id: payment,
        tontine_id: tontine,
        session_id: session,
        member_id: member,
        amount: CONTRIBUTION.to_owned(),
        currency: CURRENCY.to_owned(),
    }
}

/// One device's log, numbered from 1 and hash-chained as a phone does: `(recorded at, kind)`.
pub fn chain(
    device: DeviceId,
    items: impl IntoIterator<Item = (i64, MutationKind)>,
) -> Vec<Mutation> {
    let mut log: Vec<Mutation> = Vec::new();
    for (i, (recorded_at, kind)) in items.into_iter().enumerate() {
        let prev_hash = log.last().map_or(ZERO_HASH, mutation_hash);
        log.push(Mutation {
            device_id: device,
            seq: i as u64 + 1,
            prev_hash,
            recorded_at,
            kind,
        });
    }
    log
}

/// One device's log of cash payments for `pairs`, all recorded at `recorded_at`.
pub fn payment_log(
    device: DeviceId,
    pairs: &[(TontineId, SessionId, MemberId)],
    recorded_at: i64,
) -> Vec<Mutation> {
    chain(
        device,
        pairs
            .iter()
            .map(|p| (recorded_at, cash_payment(PaymentId::new(), *p))),
    )
}

/// The CBOR `POST /sync` body pushing `mutations` with the pull `cursors`.
pub fn sync_body(device: DeviceId, mutations: &[Mutation], cursors: &[ScopeCursor]) -> Vec<u8> {
    encode_request(&SyncRequest {
        protocol_version: PROTOCOL_VERSION,
        device_id: device,
        mutations: mutations.to_vec(),
        cursors: cursors.to_vec(),
    })
}

/// An enrolled device as the bench drives it: like a phone, it sends its pull cursors with
/// every push and keeps the ones the server answers.
struct Device {
    id: DeviceId,
    token: String,
    cursors: Vec<ScopeCursor>,
}

/// What the bench reads of a `POST /sync` answer: the outcomes, and per scope its status,
/// cursor and how many changes came. The changes themselves are skipped, not built: the bench
/// shares the server's cores, and a phone decodes its answers on its own.
#[derive(Deserialize)]
struct Answer {
    outcomes: Vec<MutationOutcome>,
    scopes: Vec<ScopeHead>,
}

#[derive(Deserialize)]
struct ScopeHead {
    tontine_id: TontineId,
    changes: Vec<IgnoredAny>,
    status: PageStatus,
    cursor: u64,
}

/// One `POST /sync` round trip.
struct Round {
    answer: Answer,
    took: Duration,
    answer_bytes: usize,
}

impl Device {
    /// Pushes `mutations` (their canonical CBOR, encoded before the clock starts) and pulls;
    /// keeps the new cursors. `first` is the number of the first, for messages.
    async fn round(
        &mut self,
        api: &Api,
        mutations: &[Vec<u8>],
        first: u64,
    ) -> anyhow::Result<Round> {
        let body = encode_raw_request(PROTOCOL_VERSION, self.id, mutations, &self.cursors);
        let t0 = Instant::now();
        let resp = api
            .client
            .post(api.url("/sync"))
            .bearer_auth(&self.token)
            .header("content-type", "application/cbor")
            .header("accept", "application/cbor")
            .body(body)
            .send()
            .await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        let took = t0.elapsed();
        if !status.is_success() {
            bail!(
                "POST /sync (seq {first}…): {status} {}",
                String::from_utf8_lossy(&bytes)
            );
        }
        let answer: Answer =
            ciborium::from_reader(&bytes[..]).context("undecodable /sync answer")?;
        for scope in &answer.scopes {
            let cursor = match scope.status {
                PageStatus::MustReset => 0,
                PageStatus::HasMore | PageStatus::UpToDate => scope.cursor,
            };
            match self
                .cursors
                .iter_mut()
                .find(|c| c.tontine_id == scope.tontine_id)
            {
                Some(c) => c.cursor = cursor,
                None => self.cursors.push(ScopeCursor {
                    tontine_id: scope.tontine_id,
                    cursor,
                }),
            }
        }
        Ok(Round {
            answer,
            took,
            answer_bytes: bytes.len(),
        })
    }

    /// Pulls until every scope is up to date, as a phone does before it goes offline.
    async fn pull_all(&mut self, api: &Api) -> anyhow::Result<()> {
        for _ in 0..1_000 {
            let round = self.round(api, &[], 0).await?;
            if round
                .answer
                .scopes
                .iter()
                .all(|s| s.status == PageStatus::UpToDate)
            {
                return Ok(());
            }
        }
        bail!("the first pull did not end")
    }

    /// Pushes `log` (with `encoded`, the canonical CBOR of each of its mutations) in batches
    /// of `batch`, in order; fails on any outcome other than `applied`. Returns each round
    /// trip's time, the changes pulled and the answers' bytes.
    async fn push(
        &mut self,
        api: &Api,
        log: &[Mutation],
        encoded: &[Vec<u8>],
        batch: usize,
    ) -> anyhow::Result<(Vec<Duration>, usize, usize)> {
        let mut latencies = Vec::new();
        let (mut pulled, mut answer_bytes) = (0, 0);
        for (chunk, bytes) in log.chunks(batch).zip(encoded.chunks(batch)) {
            let round = self.round(api, bytes, chunk[0].seq).await?;
            latencies.push(round.took);
            pulled += round
                .answer
                .scopes
                .iter()
                .map(|s| s.changes.len())
                .sum::<usize>();
            answer_bytes += round.answer_bytes;
            let outcomes = &round.answer.outcomes;
            ensure!(
                outcomes.len() == chunk.len(),
                "POST /sync (seq {}…): {} outcomes for {} mutations",
                chunk[0].seq,
                outcomes.len(),
                chunk.len()
            );
            for (m, o) in chunk.iter().zip(outcomes) {
                ensure!(
                    o.seq == m.seq,
                    "outcome for seq {} where {} was expected",
                    o.seq,
                    m.seq
                );
                if o.outcome != Outcome::Applied {
                    bail!("mutation {} was not applied: {:?}", o.seq, o.outcome);
                }
            }
        }
        Ok((latencies, pulled, answer_bytes))
    }
}

/// What an ingest run measured.
pub struct Ingest {
    pub mutations: usize,
    pub elapsed: Duration,
    pub batches: RunStats,
    pub setup: Duration,
    pub tontines: usize,
    /// Changes the pushing devices pulled back in the same round trips.
    pub pulled: usize,
    pub answer_bytes: usize,
    /// From the first push until every payment's receipt was written (with its SMS queued).
    pub receipts_queued: Duration,
}

impl Ingest {
    pub fn per_second(&self) -> u128 {
        (self.mutations as u128) * 1_000_000 / self.elapsed.as_micros().max(1)
    }
}

/// Server ingest: `mutations` cash payments in batches of `batch`, from `devices` devices in
/// parallel (each sequential, as a device's log is), every outcome checked to be `applied`.
/// Each device first pulls its tontines (untimed), then pushes with its cursors like a phone.
// Long on purpose: the timed run and its checks together, so that the clock covers exactly the
// pushes.
pub async fn ingest(
    server: &BenchServer,
    mutations: usize,
    batch: usize,
    devices: usize,
    members: usize,
) -> anyhow::Result<Ingest> {
    ensure!(
        (1..=kobiri_core::sync::MAX_BATCH).contains(&batch),
        "--batch must be 1 to {}",
        kobiri_core::sync::MAX_BATCH
    );
    let devices = devices.max(1);
    let per_device: Vec<usize> = (0..devices)
        .map(|d| mutations / devices + usize::from(d < mutations % devices))
        .collect();
    let most = per_device.iter().copied().max().unwrap_or(0);
    let tontines_per_collector = most.div_ceil(members).max(1);
    let setup_start = Instant::now();
    let field = prepare_field(server, devices, tontines_per_collector, members).await?;
    let api = Api::new(server);
    // Before the clock starts: enrollment, the first pull, chaining.
    let mut pushes = Vec::new();
    let recorded_at = unix_now();
    for (c, count) in per_device.iter().enumerate() {
        let (id, token) = api
            .enroll(&field.collectors[c].token, &format!("Téléphone {c}"))
            .await?;
        let mut device = Device {
            id,
            token,
            cursors: Vec::new(),
        };
        device.pull_all(&api).await?;
        let pairs = field.pairs(c);
        ensure!(pairs.len() >= *count, "not enough (member, session) pairs");
        let log = payment_log(id, &pairs[..*count], recorded_at);
        let encoded: Vec<Vec<u8>> = log.iter().map(to_canonical_cbor).collect();
        pushes.push((device, log, encoded));
    }
    let setup = setup_start.elapsed();
    eprintln!("set-up done in {setup:.1?}: pushing");
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for (mut device, log, encoded) in pushes {
        let api = api.clone();
        tasks.spawn(async move { device.push(&api, &log, &encoded, batch).await });
    }
    let (mut latencies, mut pulled, mut answer_bytes) = (Vec::new(), 0, 0);
    while let Some(done) = tasks.join_next().await {
        let (l, p, b) = done??;
        latencies.extend(l);
        pulled += p;
        answer_bytes += b;
    }
    let elapsed = start.elapsed();
    // The receipts follow by the job each batch queued.
    loop {
        let queued = usize::try_from(server.receipts_written().await?)?;
        if queued >= mutations {
            break;
        }
        ensure!(
            start.elapsed() < Duration::from_secs(600),
            "only {queued} of {mutations} receipts were queued after 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let receipts_queued = start.elapsed();
    // The server's own count, tontine by tontine.
    let mut expected = vec![0u64; field.tontines.len()];
    for (c, count) in per_device.iter().enumerate() {
        let mut left = *count;
        for (i, t) in field.tontines.iter().enumerate() {
            if t.collector == c && left > 0 {
                let n = left.min(t.members.len());
                expected[i] = n as u64;
                left -= n;
            }
        }
    }
    for (t, want) in field.tontines.iter().zip(expected) {
        let total = api.payment_total(&field.president, t.id).await?;
        ensure!(
            total == want,
            "tontine {}: the server lists {total} payments, {want} were pushed",
            t.id
        );
    }
    Ok(Ingest {
        mutations,
        elapsed,
        batches: RunStats::new(latencies, 0, elapsed),
        setup,
        tontines: field.tontines.len(),
        pulled,
        answer_bytes,
        receipts_queued,
    })
}
