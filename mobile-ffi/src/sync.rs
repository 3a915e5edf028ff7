//! The sync loop: push the oldest pending mutations and pull every scope in one round trip,
//! apply the answer in one transaction, and go on until nothing is left (in bounded rounds).

use std::collections::BTreeSet;

use kobiri_core::sync::wire::encode_raw_request;
use kobiri_core::sync::{PROTOCOL_VERSION, ScopeCursor, SyncResponse, decode_response};
use kobiri_core::{DeviceId, TontineId};

use crate::apply::{self, Round};
use crate::auth::success;
use crate::client::Client;
use crate::error::{Error, MobileError, Result};
use crate::http::{Payload, zstd_compress};
use crate::meta::{self, Key};
use crate::record::device_id;
use crate::records::SyncReport;
use crate::{outbox, rows};

const SYNC: &str = "/sync";

/// Rounds allowed beyond those the outbox needs: pages of changes, resets.
const EXTRA_ROUNDS: u64 = 100;

impl Client {
    /// Pushes the outbox (when `push`) and pulls every scope, until done.
    pub(crate) fn sync(&self, push: bool) -> Result<SyncReport> {
        let _network = self.network();
        let device = self.db.read(device_id)?;
        self.db.write(|tx| meta::clear(tx, Key::LastError))?;
        let result = self
            .ensure_identity()
            .and_then(|()| self.rounds(device, push));
        if let Err(e) = &result {
            let message = e.to_string();
            // Best effort: the sync's own error matters more than failing to note it.
            let _noted = self.db.write(|tx| meta::set(tx, Key::LastError, &message));
        }
        result
    }

    fn rounds(&self, device: DeviceId, push: bool) -> Result<SyncReport> {
        let batch_size = self.settings().batch_size;
        let pending = self.db.read(outbox::pending_summary)?.0;
        let max_rounds = pending / batch_size.max(1) as u64 + EXTRA_ROUNDS;
        let mut report = SyncReport::default();
        let mut resets = BTreeSet::new();
        for _ in 0..max_rounds {
            let (batch, cursors) = self.db.read(|c| {
                let batch = if push {
                    outbox::pending(c, device, batch_size)?
                } else {
                    Vec::new()
                };
                Ok((batch, rows::cursors(c)?))
            })?;
            let (sent, mutations): (Vec<u64>, Vec<Vec<u8>>) = batch.into_iter().unzip();
            let body = request_body(device, &mutations, &cursors)?;
            let response = self.post(&body)?;
            let now = self.now();
            let round = self
                .db
                .write(|tx| apply::apply(tx, device, &sent, &response, now, &mut resets))?;
            add(&mut report, &round, sent.len());
            if round.upgrade_required {
                return Err(MobileError::upgrade_required().into());
            }
            if let Some(gap) = round.gap {
                return Err(Error::integrity(gap));
            }
            if !sent.is_empty() && round.acknowledged == 0 {
                let message = "le serveur n'a répondu pour aucune des mutations envoyées";
                self.db.write(|tx| meta::set(tx, Key::LastError, message))?;
                report.has_more = true;
                return Ok(report);
            }
            let more_to_push = push && !self.db.read(|c| outbox::pending(c, device, 1))?.is_empty();
            if !round.more && !more_to_push {
                report.has_more = false;
                return Ok(report);
            }
        }
        report.has_more = true;
        Ok(report)
    }

    /// Posts one request body (zstd unless the server refused it) and decodes the answer.
    fn post(&self, body: &[u8]) -> Result<SyncResponse> {
        if self.settings().compress {
            let compressed = zstd_compress(body)?;
            let payload = Payload::Cbor {
                body: &compressed,
                encoding: Some("zstd"),
            };
            let answer = self.authed(SYNC, &payload)?;
            if answer.status != 415 {
                return decode(&success(answer)?.decoded_body()?);
            }
            // The server does not take compressed bodies: send them plain from now on.
            self.set_compression(false);
        }
        let payload = Payload::Cbor {
            body,
            encoding: None,
        };
        decode(&success(self.authed(SYNC, &payload)?)?.decoded_body()?)
    }
}

fn decode(bytes: &[u8]) -> Result<SyncResponse> {
    decode_response(bytes).map_err(|e| {
        Error::Public(MobileError::Server {
            server_code: "invalid_response".to_owned(),
            detail: format!("réponse de synchronisation illisible : {e}"),
        })
    })
}

/// The CBOR request: the outbox's bytes exactly as stored (never decoded and re-encoded: they
/// are what was hashed and chained, and if someone altered them on the phone the server must
/// see the alteration, not a clean re-encoding) and every scope's cursor.
pub(crate) fn request_body(
    device_id: DeviceId,
    mutations: &[Vec<u8>],
    cursors: &[(String, u64)],
) -> Result<Vec<u8>> {
    let cursors = cursors
        .iter()
        .map(|(tontine_id, cursor)| {
            let tontine_id =
                TontineId::parse(tontine_id).map_err(|e| Error::Corrupt(e.to_string()))?;
            Ok(ScopeCursor {
                tontine_id,
                cursor: *cursor,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(encode_raw_request(
        PROTOCOL_VERSION,
        device_id,
        mutations,
        &cursors,
    ))
}

fn add(report: &mut SyncReport, round: &Round, sent: usize) {
    report.pushed += sent as u64;
    report.applied += round.applied;
    report.duplicates += round.duplicates;
    report.flagged += round.flagged;
    report.rejected += round.rejected;
    report.pulled_changes += round.pulled_changes;
}
