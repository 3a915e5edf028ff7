//! The push half of `POST /sync`: each mutation is checked against the device's log (exactly
//! once, no gaps, an unbroken hash chain), then planned by [`super::effects`]. The plan is one
//! [`SyncBatch`], applied in one transaction.

use std::collections::HashMap;

use kobiri_core::sync::{
    ChainError, DecodeError, Mutation, MutationOutcome, Outcome, RawMutation, WireRequest,
};

use super::effects::Effects;
use crate::{
    error::{ApiError, ApiResult},
    state::AppState,
    store::{Device, NewIncident, NewRecordedMutation, SyncBatch, User},
};

/// How far ahead of the server a phone's clock may be before its mutations are flagged.
const CLOCK_SKEW_SECONDS: i64 = 5 * 60;

/// The outcomes to answer and the batch that makes them true.
pub struct Plan {
    pub outcomes: Vec<MutationOutcome>,
    pub batch: SyncBatch,
}

impl Plan {
    /// The plan with every mutation it records and would apply answered `refusal` instead,
    /// and none of their effects: the numbers advance, nothing else is written.
    pub fn refused(mut self, refusal: &Outcome) -> Plan {
        let refuse = |o: &mut Outcome| {
            if !matches!(o, Outcome::Rejected { .. }) {
                *o = refusal.clone();
            }
        };
        for r in &mut self.batch.recorded {
            refuse(&mut r.outcome);
            if let Some(answer) = self.outcomes.iter_mut().find(|o| o.seq == r.seq) {
                answer.outcome = r.outcome.clone();
            }
        }
        Plan {
            outcomes: self.outcomes,
            batch: self.batch.without_effects(),
        }
    }
}

fn rejected(code: &str, message: impl Into<String>) -> Outcome {
    Outcome::Rejected {
        code: code.to_owned(),
        message: message.into(),
    }
}

/// Every pushed mutation must at least say which number it is.
fn seqs(request: &WireRequest) -> ApiResult<Vec<(u64, Result<Mutation, DecodeError>)>> {
    request
        .mutations
        .iter()
        .enumerate()
        .map(|(i, raw)| match raw.decode() {
            Ok(m) => Ok((m.seq, Ok(m))),
            Err(e) => raw
                .seq_hint()
                .map(|seq| (seq, Err(e.clone())))
                .ok_or_else(|| {
                    ApiError::new(kobiri_core::ErrorCode::InvalidSyncRequest)
                        .with_detail("Mutation illisible : son numéro est introuvable")
                        .with_field(format!("mutations[{i}]"), e.to_string())
                }),
        })
        .collect()
}

fn incident(
    device: &Device,
    tontine: Option<kobiri_core::TontineId>,
    kind: &'static str,
    expected: u64,
    received: u64,
    detail: String,
) -> NewIncident {
    NewIncident {
        id: kobiri_core::new_uuid(),
        tontine_id: tontine,
        device_id: device.id,
        user_id: device.user_id,
        kind,
        expected_seq: expected,
        received_seq: received,
        detail,
    }
}

/// Plans the pushed mutations of `request` against `device`'s log as it stands.
// Long on purpose: plans one batch in order (decode, device, chain, each mutation), carrying the
// batch's running state from one mutation to the next.
pub async fn plan(
    state: &AppState,
    caller: &User,
    device: &Device,
    request: &WireRequest,
) -> ApiResult<Plan> {
    let now = state.now();
    let items = seqs(request)?;
    let recorded: HashMap<u64, _> = match items.iter().map(|(s, _)| *s).min() {
        Some(low) if low <= device.last_seq => state
            .store()
            .recorded_mutations(device.id, low, device.last_seq)
            .await?
            .into_iter()
            .map(|r| (r.seq, r))
            .collect(),
        _ => HashMap::new(),
    };
    let mut effects = Effects::new(state, caller, device, now);
    let fresh: Vec<Mutation> = items
        .iter()
        .filter(|(seq, _)| *seq > device.last_seq)
        .filter_map(|(_, m)| m.as_ref().ok().cloned())
        .collect();
    effects.prefetch(&fresh).await?;
    let mut batch = SyncBatch {
        device_id: device.id,
        from_seq: device.last_seq,
        to_seq: device.last_seq,
        to_hash: device.last_hash,
        recorded: Vec::new(),
        payments: Vec::new(),
        cancellations: Vec::new(),
        members: Vec::new(),
        payouts: Vec::new(),
        flags: Vec::new(),
        incidents: Vec::new(),
        audits: Vec::new(),
        receipts: None,
        sessions: Vec::new(),
        now,
    };
    let mut outcomes = Vec::with_capacity(items.len());
    let mut gap = false;
    for ((seq, decoded), raw) in items.into_iter().zip(&request.mutations) {
        let tontine = decoded.as_ref().ok().and_then(Effects::tontine_of);
        let outcome = if seq <= device.last_seq {
            replayed(device, &recorded, seq, raw, tontine, &mut batch)
        } else if gap || seq != batch.to_seq + 1 {
            let expected = batch.to_seq + 1;
            let err = ChainError::Gap { expected, got: seq };
            if !gap {
                batch.incidents.push(incident(
                    device,
                    tontine,
                    "sequence_gap",
                    expected,
                    seq,
                    err.to_string(),
                ));
            }
            gap = true;
            // Not recorded and not counted: the missing mutations may still come.
            outcomes.push(MutationOutcome {
                seq,
                outcome: rejected(err.code(), err.to_string()),
            });
            continue;
        } else {
            let outcome = match decoded {
                Err(e) => rejected(e.code(), e.to_string()),
                Ok(m) if m.device_id != device.id => rejected(
                    ChainError::OtherDevice.code(),
                    ChainError::OtherDevice.to_string(),
                ),
                Ok(m) => {
                    let broken = m.prev_hash != batch.to_hash;
                    if broken {
                        let err = ChainError::BrokenLink;
                        batch.incidents.push(incident(
                            device,
                            tontine,
                            "broken_chain",
                            seq,
                            seq,
                            err.to_string(),
                        ));
                    }
                    let mut reasons = Vec::new();
                    if broken {
                        reasons.push(ChainError::BrokenLink.to_string());
                    }
                    if m.recorded_at > now.timestamp() + CLOCK_SKEW_SECONDS {
                        reasons.push(
                            "horloge du téléphone en avance sur le serveur de plus de 5 minutes"
                                .to_owned(),
                        );
                    }
                    effects.plan(&m, reasons, &mut batch).await?
                }
            };
            let hash = raw.hash();
            batch.recorded.push(NewRecordedMutation {
                seq,
                hash,
                outcome: outcome.clone(),
            });
            batch.to_seq = seq;
            batch.to_hash = hash;
            outcome
        };
        outcomes.push(MutationOutcome { seq, outcome });
    }
    batch.receipts =
        crate::jobs::receipts::job(device.id, batch.to_seq, &effects.take_receipts(), now);
    Ok(Plan { outcomes, batch })
}

/// A mutation at or below the device's last number: answered from the log, applying nothing.
/// The same number with other bytes is a forgery or a rewritten phone database.
fn replayed(
    device: &Device,
    recorded: &HashMap<u64, crate::store::RecordedMutation>,
    seq: u64,
    raw: &RawMutation,
    tontine: Option<kobiri_core::TontineId>,
    batch: &mut SyncBatch,
) -> Outcome {
    match recorded.get(&seq) {
        Some(r) if r.hash == raw.hash() => match &r.outcome {
            Outcome::Applied => Outcome::Duplicate,
            other => other.clone(),
        },
        Some(_) => {
            let message = format!(
                "la mutation n°{seq} de cet appareil a déjà été reçue avec un autre contenu"
            );
            batch.incidents.push(incident(
                device,
                tontine,
                "sequence_reused",
                seq,
                seq,
                message.clone(),
            ));
            rejected("sequence_reused", message)
        }
        None => Outcome::Duplicate,
    }
}
