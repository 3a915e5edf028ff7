//! Bytes on the wire per cash-payment mutation: canonical CBOR, the CBOR `POST /sync` body,
//! compressed with zstd and gzip, and the same batch as JSON. No server needed.

use std::{fmt::Write as _, io::Write as _};

use kobiri_core::{
    DeviceId, MemberId, PaymentId, SessionId, TontineId,
    sync::{PROTOCOL_VERSION, SyncRequest, to_canonical_cbor},
};
use uuid::{NoContext, Timestamp, Uuid};

use crate::sync::{cash_payment, chain, sync_body, unix_now};

/// zstd at the phone's level (kobiri-mobile compresses `/sync` bodies at 9) and the default.
const ZSTD_LEVELS: [i32; 2] = [3, 9];
/// gzip at the default level and the best.
const GZIP_LEVELS: [u32; 2] = [6, 9];

fn zstd(bytes: &[u8], level: i32) -> anyhow::Result<usize> {
    Ok(zstd::bulk::compress(bytes, level)?.len())
}

fn gzip(bytes: &[u8], level: u32) -> anyhow::Result<usize> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    enc.write_all(bytes)?;
    Ok(enc.finish()?.len())
}

/// Bytes per mutation, with one decimal.
/// One line per compression of `body` (zstd and gzip at each level), bytes per mutation.
fn compressed(out: &mut String, body: &[u8], n: usize) -> anyhow::Result<()> {
    for level in ZSTD_LEVELS {
        let z = zstd(body, level)?;
        writeln!(
            out,
            "    zstd -{level}                         {:>7}   ({z} bytes)",
            per(z, n)
        )?;
    }
    for level in GZIP_LEVELS {
        let g = gzip(body, level)?;
        writeln!(
            out,
            "    gzip -{level}                         {:>7}   ({g} bytes)",
            per(g, n)
        )?;
    }
    Ok(())
}

fn per(total: usize, n: usize) -> String {
    let tenths = total * 10 / n.max(1);
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// A UUID v7 made at unix second `secs` (ids are made when their row is, on the server or the
/// phone: ids made in one tight loop would share their time bits and flatter compression).
fn id_at(secs: i64) -> Uuid {
    let secs = u64::try_from(secs).unwrap_or(0);
    Uuid::new_v7(Timestamp::from_unix(NoContext, secs, 0))
}

/// A batch of `batch` cash payments recorded by one phone across `tontines` tontines (one
/// open session each, `members` members each), as a collector's day produces them: members
/// who joined over past months, one payment every 30 seconds. Returns the report.
// Long on purpose: one line per encoding measured, in the order they are printed.
pub fn report(batch: usize, tontines: usize, members: usize) -> anyhow::Result<String> {
    anyhow::ensure!(
        batch > 0 && tontines > 0 && members > 0,
        "sizes must be positive"
    );
    let now = unix_now();
    let day = 86_400;
    let mut joined = now - 200 * day;
    let scopes: Vec<(TontineId, SessionId, Vec<MemberId>)> = (0..tontines)
        .map(|_| {
            let tontine = TontineId::from_uuid(id_at(joined));
            let session = SessionId::from_uuid(id_at(now - 3 * day));
            let ms = (0..members)
                .map(|_| {
                    joined += 3_607;
                    MemberId::from_uuid(id_at(joined))
                })
                .collect();
            (tontine, session, ms)
        })
        .collect();
    let pairs = scopes
        .iter()
        .flat_map(|(t, s, ms)| ms.iter().map(|m| (*t, *s, *m)))
        .cycle()
        .take(batch);
    let device = DeviceId::from_uuid(id_at(now - 30 * day));
    let start = now - 30 * i64::try_from(batch).unwrap_or(0);
    let log = chain(
        device,
        pairs.enumerate().map(|(i, p)| {
            let at = start + 30 * i64::try_from(i).unwrap_or(0);
            (at, cash_payment(PaymentId::from_uuid(id_at(at)), p))
        }),
    );
    let n = log.len();
    let mut out = String::new();
    writeln!(
        out,
        "{n} record_cash_payment mutations, one device, {tontines} tontines x {members} members \
         (bytes per mutation; target <= 80 compressed)"
    )?;
    let canonical: usize = log.iter().map(|m| to_canonical_cbor(m).len()).sum();
    writeln!(
        out,
        "  canonical CBOR (hashed, stored)   {:>7}",
        per(canonical, n)
    )?;
    let body = sync_body(device, &log, &[]);
    writeln!(
        out,
        "  CBOR /sync body                   {:>7}   ({} bytes)",
        per(body.len(), n),
        body.len()
    )?;
    compressed(&mut out, &body, n)?;
    let json = serde_json::to_vec(&SyncRequest {
        protocol_version: PROTOCOL_VERSION,
        device_id: device,
        mutations: log,
        cursors: Vec::new(),
    })?;
    writeln!(
        out,
        "  JSON /sync body                   {:>7}   ({} bytes)",
        per(json.len(), n),
        json.len()
    )?;
    compressed(&mut out, &json, n)?;
    Ok(out)
}
