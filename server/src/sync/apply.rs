//! Applying a push: the whole batch in one transaction, planned again when the device's log or
//! a session moved under it.
//!
//! Every mutation gets its own outcome. The plan catches what the rules refuse; what only the
//! database can see (an id that is already another row's, in another tontine or another
//! account, or written by a concurrent request) makes it refuse the batch on a constraint.
//! Then the mutations are applied one by one, each in its own transaction, and the one the
//! database still refuses when planned alone is recorded `rejected` with the code `conflict`:
//! its number advances like any mutation refused for good, and the mutations after it still
//! apply, so one bad mutation never blocks a phone's queue. A batch-level error is left for
//! what is wrong with the batch itself (unreadable, another user's device, a newer protocol).

use kobiri_core::{
    ErrorCode,
    sync::{ChainError, MutationOutcome, Outcome, WireRequest},
};

use super::{devices, push};
use crate::{
    error::{ApiError, ApiResult},
    metrics::Event,
    state::AppState,
    store::{Applied, StoreError, User},
};

/// How many times a batch is planned again when the device's log or a session moved under it.
const PLAN_TRIES: usize = 3;

/// What the database refused a batch for: a constraint, named for the log.
struct Refused(String);

/// Applies `request`'s mutations for `caller` and answers one outcome per mutation.
pub async fn push(
    state: &AppState,
    caller: &User,
    request: &WireRequest,
) -> ApiResult<Vec<MutationOutcome>> {
    match apply(state, caller, request, None).await? {
        Ok(outcomes) => Ok(outcomes),
        Err(Refused(constraint)) => {
            tracing::warn!(
                device_id = %request.device_id,
                constraint,
                mutations = request.mutations.len(),
                "sync batch refused by a database constraint: applying its mutations one by one"
            );
            one_by_one(state, caller, request).await
        }
    }
}

/// Each mutation in its own transaction; one still refused alone is recorded as rejected.
async fn one_by_one(
    state: &AppState,
    caller: &User,
    request: &WireRequest,
) -> ApiResult<Vec<MutationOutcome>> {
    let mut outcomes = Vec::with_capacity(request.mutations.len());
    for (i, raw) in request.mutations.iter().enumerate() {
        let single = WireRequest {
            protocol_version: request.protocol_version,
            device_id: request.device_id,
            mutations: vec![raw.clone()],
            cursors: Vec::new(),
        };
        let answered = match apply(state, caller, &single, None).await? {
            Ok(answered) => answered,
            Err(Refused(constraint)) => {
                let refusal = conflict(&constraint);
                tracing::warn!(
                    device_id = %request.device_id,
                    seq = raw.seq_hint(),
                    constraint,
                    "sync mutation refused by a database constraint: rejected"
                );
                match apply(state, caller, &single, Some(&refusal)).await? {
                    Ok(answered) => answered,
                    Err(Refused(_)) => return Err(ApiError::internal()),
                }
            }
        };
        let gap = answered.iter().any(|o| is_gap(&o.outcome));
        outcomes.extend(answered);
        if gap {
            // Everything after a gap waits for the missing numbers: one plan answers it all,
            // with no effect and no second incident.
            let rest = WireRequest {
                mutations: request.mutations[i + 1..].to_vec(),
                ..single
            };
            if !rest.mutations.is_empty() {
                match apply(state, caller, &rest, None).await? {
                    Ok(answered) => outcomes.extend(answered),
                    Err(Refused(_)) => return Err(ApiError::internal()),
                }
            }
            break;
        }
    }
    Ok(outcomes)
}

fn is_gap(outcome: &Outcome) -> bool {
    let gap = ChainError::Gap {
        expected: 0,
        got: 0,
    };
    matches!(outcome, Outcome::Rejected { code, .. } if code == gap.code())
}

/// Plans `request` against the device's log as it stands and applies it in one transaction;
/// with `refusal`, every mutation it records is answered that instead and has no effect.
async fn apply(
    state: &AppState,
    caller: &User,
    request: &WireRequest,
    refusal: Option<&Outcome>,
) -> ApiResult<Result<Vec<MutationOutcome>, Refused>> {
    for _ in 0..PLAN_TRIES {
        let device = devices::usable_device(state, caller, request.device_id).await?;
        let mut plan = push::plan(state, caller, &device, request).await?;
        if let Some(outcome) = refusal {
            plan = plan.refused(outcome);
        }
        if plan.batch.recorded.is_empty() {
            state
                .store()
                .record_incidents(&plan.batch.incidents, device.id, state.now())
                .await?;
            report(state, &plan);
            return Ok(Ok(plan.outcomes));
        }
        match state.store().apply_sync(&plan.batch).await {
            Ok(Applied::Done) => {
                report(state, &plan);
                if plan.batch.receipts.is_some() {
                    state.wake_jobs();
                }
                return Ok(Ok(plan.outcomes));
            }
            Ok(Applied::Stale) => {}
            Err(e) => match refused_by(&e) {
                Some(constraint) => return Ok(Err(Refused(constraint))),
                None => return Err(e.into()),
            },
        }
    }
    Err(ApiError::new(ErrorCode::Conflict)
        .with_detail("Synchronisation concurrente pour cet appareil : réessayez"))
}

/// Logs at WARN and counts what a committed batch holds for a person to look at: its
/// integrity incidents, its flags and its rejected mutations (ids and codes, never content).
fn report(state: &AppState, plan: &push::Plan) {
    for i in &plan.batch.incidents {
        tracing::warn!(incident = %i.id, device = %i.device_id, user = %i.user_id,
            tontine = ?i.tontine_id.map(|t| t.as_uuid()), kind = i.kind,
            expected_seq = i.expected_seq, received_seq = i.received_seq,
            "sync: integrity incident");
        state.metrics.event(Event::IntegrityIncident, i.kind);
    }
    for f in &plan.batch.flags {
        tracing::warn!(flag = %f.id, device = %f.device_id, seq = f.seq,
            tontine = %f.tontine_id.as_uuid(), payment = ?f.payment_id.map(|p| p.as_uuid()),
            code = f.code, "sync: mutation flagged for review");
        state.metrics.event(Event::SyncFlag, f.code);
    }
    for r in &plan.batch.recorded {
        if let Outcome::Rejected { code, .. } = &r.outcome {
            tracing::warn!(device = %plan.batch.device_id, seq = r.seq, code = %code,
                "sync: mutation rejected");
            state.metrics.event(Event::SyncRejected, code);
        }
    }
}

/// The constraint a write broke because of what it wrote (not a failure of the database).
fn refused_by(err: &StoreError) -> Option<String> {
    use sqlx::error::ErrorKind;
    match err {
        StoreError::Conflict { constraint } => Some(constraint.clone()),
        StoreError::Database(sqlx::Error::Database(db))
            if matches!(
                db.kind(),
                ErrorKind::ForeignKeyViolation
                    | ErrorKind::NotNullViolation
                    | ErrorKind::CheckViolation
            ) =>
        {
            Some(db.constraint().unwrap_or(db.message()).to_owned())
        }
        _ => None,
    }
}

/// The outcome of a mutation the database refused on `constraint`: stable code `conflict`,
/// a French message that says which id was taken when the constraint tells.
fn conflict(constraint: &str) -> Outcome {
    let message = if constraint.starts_with("users") {
        "cet identifiant de compte ou ce numéro est déjà celui d'un autre utilisateur"
    } else if constraint.starts_with("members") {
        "cet identifiant de membre est déjà utilisé, dans cette tontine ou une autre"
    } else if constraint.starts_with("payments") {
        "cet identifiant de paiement est déjà utilisé"
    } else {
        "cette mutation contredit une donnée déjà enregistrée sur le serveur"
    };
    Outcome::Rejected {
        code: ErrorCode::Conflict.as_str().to_owned(),
        message: format!("{message} : mutation refusée"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_name_the_id_taken_on_both_engines() {
        for (constraint, words) in [
            ("users_pkey", "compte"),
            ("users.id", "compte"),
            ("members_pkey", "membre"),
            ("members.id", "membre"),
            ("payments_pkey", "paiement"),
            ("flags.id", "contredit"),
        ] {
            let Outcome::Rejected { code, message } = conflict(constraint) else {
                unreachable!()
            };
            assert_eq!(code, "conflict");
            assert!(message.contains(words), "{constraint}: {message}");
        }
        assert!(is_gap(&Outcome::Rejected {
            code: "sequence_gap".into(),
            message: String::new()
        }));
    }
}
