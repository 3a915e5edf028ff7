//! The one place where a provider's word ends a mobile-money payment: callbacks and the
//! poller both confirm through [`confirm`] and settle through [`settle`].

use kobiri_core::{Event, PaymentStatus};

use super::{Method, MobileMoney, PaymentRef, PaymentRequest, ProviderError, Started, Status};
use crate::{
    notify::{notify_payer, plan::Links},
    store::{
        AuditSource, MobilePayment, NewAudit, Payment, PaymentStart, Settlement, StoreError,
        StoreResult,
    },
};

/// What confirming a payment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// The provider has no final answer yet (or could not be asked): the poller asks again.
    Pending,
    /// Validated or failed now.
    Done(Payment),
    /// The provider confirmed another amount: the payment failed with the reason.
    Mismatch(Payment),
    /// Settled before (a duplicate callback, another poller): nothing changed.
    Already,
}

/// Why a confirmation could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

/// `{PUBLIC_BASE_URL}/api/v1/payments/callback/{segment}`.
pub fn notify_url(mm: &MobileMoney, method: Method) -> String {
    format!(
        "{}/api/v1/payments/callback/{}",
        mm.public_base_url,
        method.callback_segment()
    )
}

/// The provider request for a stored payment (the same at the first start and at a retry:
/// the payment id is the idempotency key).
pub fn payment_request(
    mm: &MobileMoney,
    payment: &Payment,
    method: Method,
) -> Result<PaymentRequest, ProviderError> {
    let phone = payment
        .phone_number
        .as_deref()
        .ok_or_else(|| ProviderError::Invalid("numéro de téléphone manquant".into()))
        .and_then(|p| {
            kobiri_core::Phone::parse(p).map_err(|e| ProviderError::Invalid(e.to_string()))
        })?;
    Ok(PaymentRequest {
        reference: payment.id.as_uuid(),
        amount: payment.amount,
        payer: phone,
        description: "Cotisation de tontine (Kobiri)".to_owned(),
        notify_url: notify_url(mm, method),
        return_url: format!("{}/", mm.public_base_url),
    })
}

/// Asks the provider to collect a stored payment and stores its answer.
pub async fn start(mm: &MobileMoney, mp: &MobilePayment) -> Result<Started, ConfirmError> {
    let method =
        Method::try_from(mp.payment.method).map_err(|e| ProviderError::Invalid(e.to_string()))?;
    let adapter = mm
        .providers
        .for_provider(mp.provider)
        .ok_or(ProviderError::NotConfigured(method))?;
    let request = payment_request(mm, &mp.payment, method)?;
    let mut started = adapter.start_payment(&request).await?;
    if let Some(page) = mm.providers.sandbox_page(mp.provider, mp.payment.id) {
        started.payment_url = Some(page);
    }
    mm.store()
        .record_payment_start(&PaymentStart {
            id: mp.payment.id,
            operator_reference: started.operator_reference.clone(),
            payment_url: started.payment_url.clone(),
            callback_secret: started.callback_secret.clone(),
            now: mm.now(),
        })
        .await?;
    Ok(started)
}

/// Asks the provider where the payment stands and settles it when the answer is final.
/// A payment no longer `en_cours` is left alone.
pub async fn confirm(
    mm: &MobileMoney,
    mp: &MobilePayment,
    source: AuditSource,
) -> Result<Settled, ConfirmError> {
    if mp.payment.status != PaymentStatus::EnCours {
        return Ok(Settled::Already);
    }
    let method =
        Method::try_from(mp.payment.method).map_err(|e| ProviderError::Invalid(e.to_string()))?;
    let adapter = mm
        .providers
        .for_provider(mp.provider)
        .ok_or(ProviderError::NotConfigured(method))?;
    let query = PaymentRef {
        reference: mp.payment.id.as_uuid(),
        // Empty until the start's answer is stored (a callback may overtake it; MTN asks by
        // our reference anyway).
        operator_reference: mp.payment.operator_reference.clone().unwrap_or_default(),
        amount: mp.payment.amount,
    };
    let status = adapter.payment_status(&query).await?;
    Ok(settle(mm, &mp.payment, &status, source).await?)
}

/// Ends a payment `en_cours` from a provider's final status, in one transaction guarded by
/// `en_cours`: `valide` (session and member totals, audit, `confirmation_paiement`) when the
/// amount matches what the provider reports, `echoue` with the reason otherwise.
// Long on purpose: maps each final provider status to its status change, audit entry and
// notifications, then writes them in one guarded transaction.
pub async fn settle(
    mm: &MobileMoney,
    payment: &Payment,
    status: &Status,
    source: AuditSource,
) -> StoreResult<Settled> {
    let now = mm.now();
    let (to, transaction_id, reason, action, mismatch) = match status {
        Status::Pending => return Ok(Settled::Pending),
        Status::Succeeded {
            amount: Some(reported),
            ..
        } if reported.value() != payment.amount.value() => {
            tracing::warn!(payment = %payment.id, reported = %reported.to_wire_string(),
                expected = %payment.amount.to_wire_string(),
                "mobile money: the provider confirmed another amount; payment not validated");
            let reason = format!(
                "Montant confirmé par le fournisseur ({}) différent du montant attendu ({})",
                reported.to_wire_string(),
                payment.amount.to_wire_string()
            );
            (
                PaymentStatus::Echoue,
                None,
                Some(reason),
                "payment.amount_mismatch",
                true,
            )
        }
        Status::Succeeded { transaction_id, .. } => (
            PaymentStatus::Valide,
            transaction_id.clone(),
            None,
            "payment.confirmed",
            false,
        ),
        Status::Failed { reason } => (
            PaymentStatus::Echoue,
            None,
            Some(format!("Échec du paiement mobile : {reason}")),
            "payment.failed",
            false,
        ),
    };
    let notifications = if to == PaymentStatus::Valide {
        let tontine = mm
            .store()
            .tontine_by_id(payment.tontine_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let event = Event::PaymentConfirmed {
            tontine: tontine.name,
            amount: payment.amount,
            receipt_code: None,
        };
        let links = Links {
            tontine_id: Some(payment.tontine_id),
            session_id: Some(payment.session_id),
            payment_id: Some(payment.id.as_uuid()),
            data: Some(serde_json::json!({"payment_id": payment.id})),
        };
        notify_payer(mm.store(), mm.now(), &event, links, payment.user_id).await?
    } else {
        Vec::new()
    };
    let audit = NewAudit {
        id: kobiri_core::new_uuid(),
        tontine_id: Some(payment.tontine_id),
        actor_id: None,
        action,
        entity: "payment",
        entity_id: payment.id.as_uuid(),
        before: Some(serde_json::json!({"status": payment.status})),
        after: Some(serde_json::json!({
            "status": to, "operator_transaction_id": transaction_id, "rejection_reason": reason,
        })),
        source,
        device_id: None,
        at: now,
    };
    let settlement = Settlement {
        id: payment.id,
        to,
        transaction_id,
        reason,
        audit,
        notifications,
        now,
    };
    Ok(match mm.store().settle_payment(&settlement).await? {
        Some(done) => {
            mm.cache.forget_tontine(done.tontine_id);
            tracing::info!(payment = %done.id, status = %done.status, "mobile money: payment settled");
            if mismatch {
                Settled::Mismatch(done)
            } else {
                Settled::Done(done)
            }
        }
        None => Settled::Already,
    })
}
