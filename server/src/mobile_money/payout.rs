//! Payouts of a passage's pot through a provider (MTN MoMo and Wave send money out; the
//! others do not). The idempotency key is reserved on the passage, with its audit entry,
//! before the provider is called, and a passage holds one live key at a time: a second
//! request answers 409 and never pays twice. The passage completes when the provider confirms
//! (at once, or later through the poller).

use kobiri_core::{Event, PaymentStatus, Phone};

use super::{
    Method, MobileMoney, PayoutRef, PayoutRequest, Provider, ProviderError, Status,
    handlers::provider_error,
};
use crate::{
    error::{ApiError, ApiResult},
    passages::{notify_beneficiary, passage_audit, payout::PayoutOrder},
    store::{
        AuditSource, MobilePayout, NewAudit, Passage, PassageWrite, PayoutReservation,
        PayoutSettlement, StoreResult, User,
    },
};

/// Whether Kobiri sends payouts through `provider`.
pub fn sends_payouts(provider: Provider) -> bool {
    matches!(provider, Provider::Mtn | Provider::Wave)
}

/// The method's name for people.
fn label(method: Method) -> &'static str {
    match method {
        Method::OrangeMoney => "Orange Money",
        Method::MtnMomo => "MTN MoMo",
        Method::Wave => "Wave",
        Method::FreeMoney => "Free Money",
        Method::MoovMoney => "Moov Money",
    }
}

/// Sends `order` (already checked: `en_cours`, unpaid, caller allowed, wallet proven,
/// approved where needed) out of `passage`'s pot to the wallet `order.phone`. The pot is
/// checked again in the transaction that reserves the idempotency key.
// Long on purpose: the checks, the reservation of the idempotency key in one transaction, the
// provider's call and its outcomes.
pub async fn send(
    mm: &MobileMoney,
    caller: &User,
    passage: &Passage,
    method: Method,
    order: &PayoutOrder,
) -> ApiResult<Passage> {
    let amount = order.amount;
    let provider = mm.providers.provider_for(method);
    mm.providers
        .for_method(method)
        .map_err(|e| provider_error(&e))?;
    if !sends_payouts(provider) {
        return Err(
            provider_error(&ProviderError::PayoutsUnsupported(provider)).with_detail(format!(
                "{} n'est pas disponible pour les versements",
                label(method)
            )),
        );
    }
    let phone = match &order.phone {
        Some(phone) => phone.clone(),
        None => Phone::parse(&passage.member_phone).map_err(|_| ApiError::internal())?,
    };
    let key = kobiri_core::new_uuid();
    let now = mm.now();
    let after = serde_json::json!({
        "payout_method": method.as_str(), "payout_provider": provider.as_str(),
        "payout_key": key, "payout_amount": amount.to_wire_string(),
        "payout_status": PaymentStatus::EnCours,
        "approval_request": order.approval.map(|a| a.request),
        "approved_by": order.approval.map(|a| a.by),
    });
    let reservation = PayoutReservation {
        passage: passage.id,
        tontine_id: passage.tontine_id,
        key,
        provider,
        method: passage_method(method),
        phone: phone.as_str().to_owned(),
        amount,
        pot: order.pot,
        approval: order.approval,
        audit: passage_audit(mm.now(), caller, passage, "passage.payout_sent", after),
        now,
    };
    match mm.store().reserve_payout(&reservation).await? {
        PassageWrite::Done => {}
        PassageWrite::Changed => {
            return Err(ApiError::new(kobiri_core::ErrorCode::Conflict)
                .with_detail("Un versement est déjà en cours ou enregistré pour ce passage"));
        }
        PassageWrite::Refused(refusal) => return Err(crate::passages::payout::exceeds(refusal)),
    }
    let payout = mm
        .store()
        .mobile_payout(key)
        .await?
        .ok_or_else(ApiError::internal)?;
    match start(mm, &payout).await {
        Ok(()) => {}
        Err(e) if e.is_transient() => {
            tracing::warn!(passage = %passage.id, error = %e,
                "mobile money: payout start failed for now; the poller retries it");
        }
        Err(e) => {
            let failed = Status::Failed {
                reason: e.to_string(),
            };
            settle(mm, &payout, &failed, AuditSource::Api).await?;
            return Err(provider_error(&e));
        }
    }
    mm.store()
        .passage_by_id(passage.id)
        .await?
        .ok_or_else(ApiError::not_found)
}

fn passage_method(method: Method) -> kobiri_core::PayoutMethod {
    use kobiri_core::PayoutMethod as P;
    match method {
        Method::OrangeMoney => P::OrangeMoney,
        Method::MtnMomo => P::MtnMomo,
        Method::Wave => P::Wave,
        Method::FreeMoney => P::FreeMoney,
        Method::MoovMoney => P::MoovMoney,
    }
}

/// Sends (or re-sends, with the same key) the payout and stores the operator's reference; a
/// final answer settles it.
async fn start(mm: &MobileMoney, payout: &MobilePayout) -> Result<(), ProviderError> {
    let adapter = mm
        .providers
        .for_provider(payout.provider)
        .ok_or(ProviderError::PayoutsUnsupported(payout.provider))?;
    let beneficiary =
        Phone::parse(&payout.phone).map_err(|e| ProviderError::Invalid(e.to_string()))?;
    let started = adapter
        .start_payout(&PayoutRequest {
            reference: payout.key,
            amount: payout.amount,
            beneficiary,
            note: "Versement du pot de la tontine (Kobiri)".to_owned(),
        })
        .await?;
    let store_error = |e: crate::store::StoreError| ProviderError::Transient(e.to_string());
    mm.store()
        .record_payout_start(payout.key, &started.operator_reference, mm.now())
        .await
        .map_err(store_error)?;
    settle(mm, payout, &started.status, AuditSource::Api)
        .await
        .map_err(store_error)?;
    Ok(())
}

/// One poll of a payout: start it if its start never got an answer, else ask its status.
/// `Ok(true)` when it is settled.
pub async fn poll(mm: &MobileMoney, payout: &MobilePayout) -> Result<bool, ProviderError> {
    let Some(operator_reference) = payout.operator_reference.clone() else {
        start(mm, payout).await?;
        return Ok(false);
    };
    let adapter = mm
        .providers
        .for_provider(payout.provider)
        .ok_or(ProviderError::PayoutsUnsupported(payout.provider))?;
    let status = adapter
        .payout_status(&PayoutRef {
            reference: payout.key,
            operator_reference,
        })
        .await?;
    settle(mm, payout, &status, AuditSource::Job)
        .await
        .map_err(|e| ProviderError::Transient(e.to_string()))
}

/// Ends a live payout from the provider's final status: success completes the passage and
/// credits the beneficiary (with a `paiement_recu` notification); failure records the reason
/// and frees the passage for another attempt. `false` when pending or settled meanwhile.
// Long on purpose: maps a provider's final word to the payout's status change, audit entry and
// notification, written in one guarded transaction.
pub async fn settle(
    mm: &MobileMoney,
    payout: &MobilePayout,
    status: &Status,
    source: AuditSource,
) -> StoreResult<bool> {
    let (succeeded, reason) = match status {
        Status::Pending => return Ok(false),
        Status::Succeeded { .. } => (true, None),
        Status::Failed { reason } => (false, Some(format!("Versement refusé : {reason}"))),
    };
    let now = mm.now();
    let mut notifications = Vec::new();
    if succeeded
        && let Some(passage) = mm.store().passage_by_id(payout.passage).await?
        && let Some(tontine) = mm.store().tontine_by_id(payout.tontine_id).await?
    {
        let event = Event::PotReceived {
            tontine: tontine.name,
            amount: payout.amount,
        };
        let dedup = format!("paiement_recu:passage:{}", passage.id);
        notifications.push(notify_beneficiary(mm.now(), &passage, &event, Some(dedup)));
    }
    let audit = NewAudit {
        id: kobiri_core::new_uuid(),
        tontine_id: Some(payout.tontine_id),
        actor_id: None,
        action: if succeeded {
            "passage.payout_confirmed"
        } else {
            "passage.payout_failed"
        },
        entity: "passage",
        entity_id: payout.passage.as_uuid(),
        before: Some(serde_json::json!({"payout_status": payout.status})),
        after: Some(serde_json::json!({
            "payout_status": if succeeded { PaymentStatus::Valide } else { PaymentStatus::Echoue },
            "reason": reason,
        })),
        source,
        device_id: None,
        at: now,
    };
    let done = mm
        .store()
        .settle_payout(&PayoutSettlement {
            payout: payout.clone(),
            succeeded,
            reason,
            audit,
            notifications,
            now,
        })
        .await?;
    if done {
        mm.cache.forget_tontine(payout.tontine_id);
        tracing::info!(passage = %payout.passage, succeeded, "mobile money: payout settled");
    }
    Ok(done)
}
