//! The tontine scenarios: a prepared tontine of 12 members and 50 sessions, then
//! authenticated reads of `GET /api/v1/tontines/{id}` and manual payments recorded by a
//! collector.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::{
    server::BenchServer,
    stats::RunStats,
    sync::Api,
    writes::{Measured, get_for},
};

const PASSWORD: &str = "Tontine2026";
const MEMBERS: usize = 12;
const SESSIONS: u32 = 50;

/// A prepared tontine: its id, the president's and collector's tokens, member ids, session
/// ids in order.
pub struct Prepared {
    pub id: String,
    pub president: String,
    pub collector: String,
    pub member_ids: Vec<String>,
    pub session_ids: Vec<String>,
}

async fn post(
    server: &BenchServer,
    path: &str,
    token: Option<&str>,
    body: &Value,
) -> anyhow::Result<Value> {
    let mut req = server.client.post(server.url(path)).json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await?;
    let status = resp.status();
    let text = resp.text().await?;
    anyhow::ensure!(status.is_success(), "{path}: {status} {text}");
    Ok(serde_json::from_str(&text)?)
}

async fn account(server: &BenchServer, tag: usize, n: usize) -> anyhow::Result<(String, String)> {
    let email = format!("t{tag}m{n}@bench.sn");
    let phone = format!("+2217{tag:04}{n:04}");
    let user = post(
        server,
        "/api/v1/auth/register",
        None,
        &json!({
            "email": email, "phone": phone, "password": PASSWORD, "confirm_password": PASSWORD,
            "first_name": "Membre", "last_name": format!("{tag}{n}")
        }),
    )
    .await?;
    let tokens = post(
        server,
        "/api/v1/auth/login",
        None,
        &json!({"email": email, "password": PASSWORD}),
    )
    .await?;
    let id = user["id"].as_str().context("user id")?.to_owned();
    Ok((
        id,
        tokens["access_token"].as_str().context("token")?.to_owned(),
    ))
}

/// Builds the tontine: a president, a collector and 10 more members (12 in all), 50 sessions.
// Long on purpose: a benchmark set-up: its requests run in order and read best as one sequence.
pub async fn prepare(server: &BenchServer, tag: usize) -> anyhow::Result<Prepared> {
    let (_, president) = account(server, tag, 0).await?;
    let tontine = post(
        server,
        "/api/v1/tontines",
        Some(&president),
        &json!({
            "name": format!("Bench {tag}"), "type": "rotative", "frequency": "hebdomadaire",
            "contribution_amount": 5000, "start_date": "2027-01-04", "max_members": MEMBERS
        }),
    )
    .await?;
    let id = tontine["id"].as_str().context("tontine id")?.to_owned();
    let mut collector = String::new();
    for n in 1..MEMBERS {
        let (user_id, token) = account(server, tag, n).await?;
        let role = if n == 1 { "collecteur" } else { "membre" };
        // An existing account is invited, and accepts.
        let invitation = post(
            server,
            &format!("/api/v1/tontines/{id}/members"),
            Some(&president),
            &json!({"user_id": user_id, "role": role}),
        )
        .await?;
        let invitation = invitation["id"].as_str().context("invitation id")?;
        post(
            server,
            &format!("/api/v1/invitations/{invitation}/accept"),
            Some(&token),
            &json!({}),
        )
        .await?;
        if n == 1 {
            collector = token;
        }
    }
    let members = server
        .client
        .get(server.url(&format!("/api/v1/tontines/{id}/members")))
        .bearer_auth(&president)
        .send()
        .await?
        .json::<Value>()
        .await?;
    let member_ids = members
        .as_array()
        .context("members")?
        .iter()
        .filter_map(|m| m["id"].as_str().map(str::to_owned))
        .collect();
    let sessions = post(
        server,
        &format!("/api/v1/sessions/generate/{id}"),
        Some(&president),
        &json!({"count": SESSIONS}),
    )
    .await?;
    let session_ids = sessions
        .as_array()
        .context("sessions")?
        .iter()
        .filter_map(|s| s["id"].as_str().map(str::to_owned))
        .collect();
    Ok(Prepared {
        id,
        president,
        collector,
        member_ids,
        session_ids,
    })
}

/// Authenticated reads of one tontine with `connections` requests in flight for `duration`,
/// by the built-in generator or by `wrk` (a C load generator, lighter than the built-in one).
pub async fn reads(
    server: &BenchServer,
    t: &Prepared,
    connections: usize,
    duration: Duration,
    wrk: bool,
) -> anyhow::Result<Measured> {
    let path = format!("/api/v1/tontines/{}", t.id);
    get_for(
        &Api::new(server),
        &path,
        &t.president,
        connections,
        duration,
        wrk,
    )
    .await
}

/// Manual cash payments recorded by the collectors with `connections` in flight: each session
/// of each tontine is opened (untimed), every member's payment recorded (timed), then closed.
// Long on purpose: a benchmark scenario: its steps run in order and read best as one sequence.
pub async fn payments(
    server: &BenchServer,
    tontines: &[Prepared],
    connections: usize,
    rounds: usize,
) -> anyhow::Result<RunStats> {
    let permits = Arc::new(Semaphore::new(connections.max(1)));
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut timed = Duration::ZERO;
    for round in 0..rounds.min(SESSIONS as usize) {
        for t in tontines {
            post(
                server,
                &format!("/api/v1/sessions/{}/open", t.session_ids[round]),
                Some(&t.president),
                &json!({"send_notifications": false}),
            )
            .await?;
        }
        let start = Instant::now();
        let mut tasks = Vec::new();
        for t in tontines {
            for member in &t.member_ids {
                let permit = permits.clone().acquire_owned().await?;
                let body = json!({"tontine_id": t.id, "amount": 5000, "method": "especes", "member_id": member});
                let (client, url, token) = (
                    server.client.clone(),
                    server.url("/api/v1/payments"),
                    t.collector.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    let t0 = Instant::now();
                    let ok = client
                        .post(url)
                        .bearer_auth(token)
                        .json(&body)
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success());
                    drop(permit);
                    (ok, t0.elapsed())
                }));
            }
        }
        for task in tasks {
            let (ok, took) = task.await?;
            if ok {
                latencies.push(took);
            } else {
                errors += 1;
            }
        }
        timed += start.elapsed();
        for t in tontines {
            post(
                server,
                &format!("/api/v1/sessions/{}/close", t.session_ids[round]),
                Some(&t.president),
                &json!({"force": true}),
            )
            .await?;
        }
    }
    Ok(RunStats::new(latencies, errors, timed))
}
