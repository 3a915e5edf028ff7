//! The receipts job: the SMS (or other outside channel) that tells a member their cash reached
//! the server, with the receipt code the collector showed them. A sync batch that brings cash
//! writes one such job in its own transaction (see [`job`]) instead of each message, so the
//! batch stays small and the messages follow within a pass of the runner, woken at once.
//!
//! Each payment's receipt has its own dedup key (`receipt:{payment_id}`): a job run twice, or
//! by two processes, sends each receipt once.

use std::collections::{BTreeMap, HashMap, hash_map::Entry};

use kobiri_core::{DeviceId, Event, NotificationType, PaymentId, UserId};
use serde_json::json;

use crate::{
    notify::plan::{Links, Plan},
    store::{JobKind, NewJob, NewNotification, Payment, Store, StoreError, StoreResult, Timestamp},
};

/// The job that sends the receipts of `payments`, brought by `device`'s batch ending at
/// `to_seq`; `None` when the batch brought no cash with a receipt code.
pub fn job(
    device: DeviceId,
    to_seq: u64,
    payments: &[PaymentId],
    now: Timestamp,
) -> Option<NewJob> {
    (!payments.is_empty()).then(|| NewJob {
        id: kobiri_core::new_uuid(),
        kind: JobKind::Receipts,
        dedup_key: format!("receipts:{device}:{to_seq}"),
        session_id: None,
        payload: json!({ "payments": payments }),
        run_at: now,
        now,
    })
}

/// The dedup key of a payment's receipt (the plan adds the channel).
fn receipt_key(payment: PaymentId) -> String {
    format!("receipt:{payment}")
}

fn payments_of(job: &crate::store::Job) -> StoreResult<Vec<PaymentId>> {
    job.payload
        .get("payments")
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(StoreError::corrupt)?
        .ok_or_else(|| StoreError::corrupt(format!("receipts job {} has no payments", job.id)))
}

/// Runs a receipts job; returns how many notification rows it wrote. A payment that has no
/// receipt code, or whose member left, gets nothing.
#[tracing::instrument(skip_all, fields(job = %job.id))]
pub(super) async fn run(
    store: &dyn Store,
    job: &crate::store::Job,
    now: Timestamp,
) -> StoreResult<u64> {
    let payments = store.payments_by_ids(&payments_of(job)?).await?;
    let mut by_tontine: BTreeMap<_, Vec<&Payment>> = BTreeMap::new();
    for p in &payments {
        by_tontine.entry(p.tontine_id).or_default().push(p);
    }
    let mut collectors: HashMap<UserId, String> = HashMap::new();
    let mut rows: Vec<NewNotification> = Vec::new();
    for (tontine_id, paid) in by_tontine {
        let Some(tontine) = store.tontine_by_id(tontine_id).await? else {
            continue;
        };
        let recipients = store
            .tontine_recipients(tontine_id, NotificationType::ConfirmationPaiement)
            .await?;
        for p in paid {
            let (Some(code), Some(recipient)) = (
                p.receipt_code.as_deref(),
                recipients.iter().find(|r| r.member_id == p.member_id),
            ) else {
                continue;
            };
            let collector = match collectors.entry(p.recorded_by_id) {
                Entry::Occupied(known) => known.get().clone(),
                Entry::Vacant(slot) => {
                    let name = store
                        .user_by_id(p.recorded_by_id)
                        .await?
                        .map(|u| u.full_name())
                        .unwrap_or_default();
                    slot.insert(name).clone()
                }
            };
            let event = Event::CashRecorded {
                tontine: tontine.name.clone(),
                amount: p.amount,
                receipt_code: code.to_owned(),
                collector,
            };
            let links = Links {
                tontine_id: Some(tontine_id),
                session_id: Some(p.session_id),
                payment_id: Some(p.id.as_uuid()),
                data: Some(json!({"payment_id": p.id, "receipt_code": code})),
            };
            // The member's app shows the payment itself: the receipt goes out on the channels
            // outside it (in-app only for a member who turned all of those off).
            rows.extend(
                Plan::new(&event, links, now).outside_app_for(recipient, Some(&receipt_key(p.id))),
            );
        }
    }
    store.write_notifications(&rows).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use chrono::Utc;

    use super::*;

    #[test]
    fn a_batch_without_cash_makes_no_job_and_one_with_cash_names_its_payments() {
        let device = DeviceId::new();
        assert!(job(device, 7, &[], Utc::now()).is_none());
        let paid = [PaymentId::new(), PaymentId::new()];
        let j = job(device, 7, &paid, Utc::now()).unwrap();
        assert_eq!(j.kind, JobKind::Receipts);
        assert_eq!(j.dedup_key, format!("receipts:{device}:7"));
        let claimed = crate::store::Job {
            id: j.id,
            kind: j.kind,
            session_id: None,
            payload: j.payload,
            run_at: j.run_at,
            attempts: 1,
        };
        assert_eq!(payments_of(&claimed).unwrap(), paid);
    }
}
