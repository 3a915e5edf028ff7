//! The `/passages` routes: the payout order of a tontine (drawn or set by hand) and the life
//! of each payout (start, payout recorded, confirmed by the beneficiary, postponed).
//!
//! Rules where the contract is silent:
//! - The order covers the tontine's active members, and needs at least `min_members` of them;
//!   an inactive tontine gets no new order (400).
//! - `random` draws with core's seeded shuffle ([`kobiri_core::payout_order`]). The seed is
//!   the one given (0 to 2^63 − 1) or one drawn by the server below 2^53 (so JavaScript
//!   clients read it exactly); it is stored on the tontine (`payout_method`, `payout_seed`)
//!   and returned, so anyone can re-run the draw. A hand-set order clears both.
//! - Generating or setting the order replaces every passage, and is refused (400) once a
//!   passage is `complete` or has a payout recorded: money has moved, the order is history.
//! - Dates: passage `n` falls on session `n` (and points to it) when that session exists,
//!   otherwise on the n-th date of the tontine's calendar ([`kobiri_core::nth_session_date`]).
//! - The pot (`expected_amount`) is the contribution × the active members. A cumulative
//!   tontine ([`kobiri_core::PayoutRule::AllAtEnd`]) pays everyone at the end of the cycle
//!   (one session per member): each passage is dated on the tontine's `end_date`, or when
//!   it has none on the date of session N (N = the number of members), and points to session
//!   N when it exists. Each member then gets back their N contributions, the same figure.
//! - A payout can be recorded once (a second one is a 409), only `en_cours`; a passage whose
//!   payout was recorded cannot be postponed (400). Recording the payout sets `payout_amount`,
//!   `paid_at` and `actual_date`. It is bounded by the passage's pot, goes only to a proven
//!   wallet, and waits for a second manager to another number or above the threshold (see
//!   [`payout`]).
//! - Only the beneficiary confirms (others 403, outsiders 404), with a positive amount at most
//!   the recorded payout (or, with none, what remains in the pot); the amount is added to the
//!   member's `total_received` in the same transaction.
//! - Starting a passage tells the beneficiary (`tour_passage`, in-app); confirming sends them
//!   `paiement_recu`. Every write leaves an audit entry in its transaction.
//! - `is_pending`: `programme`, `en_cours` or `reporte`; `is_overdue`: pending and dated
//!   before today (UTC); `current_passage`: the first `en_cours` one; `next_passage`: the
//!   first `programme` or `reporte` one; `remaining_count` counts the pending ones.

pub mod dto;
pub mod handlers;
pub mod payout;

use axum::{
    Router,
    routing::{get, post, put},
};
use chrono::NaiveDate;
use kobiri_core::{
    Action, Channel, ErrorCode, Event, MemberId, OrderMethod, PassageId, PayoutRule,
    TransitionError, expected_amount, nth_session_date, payout_rule, render,
};

use crate::{
    error::{ApiError, ApiResult},
    state::AppState,
    store::{
        NewAudit, NewNotification, NewPassage, Passage, PassagePlan, ReplacePassages, SessionSlot,
        Timestamp, Tontine, User,
    },
    tontines::TontineAccess,
};

use dto::PassageOrderResponse;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/passages/generate/{tontine_id}", post(handlers::generate))
        .route("/passages/order/{tontine_id}", put(handlers::reorder))
        .route("/passages/tontine/{tontine_id}", get(handlers::list))
        .route(
            "/passages/tontine/{tontine_id}/schedule",
            get(handlers::schedule),
        )
        .route("/passages/{id}/start", post(handlers::start))
        .route("/passages/{id}/payout", post(payout::payout))
        .route("/passages/{id}/payout/approve", post(payout::approve))
        .route("/passages/{id}/payout/reject", post(payout::reject))
        .route("/passages/{id}/payout-requests", get(payout::requests))
        .route(
            "/passages/{id}/payout-phone",
            post(payout::request_phone_code),
        )
        .route(
            "/passages/{id}/payout-phone/confirm",
            post(payout::confirm_phone),
        )
        .route("/passages/{id}/confirm", post(handlers::confirm))
        .route("/passages/{id}/postpone", post(handlers::postpone))
}

/// A passage and the caller's standing in its tontine. Outsiders get a 404, as if the
/// passage did not exist.
pub(crate) async fn load_passage(
    state: &AppState,
    caller: &User,
    id: uuid::Uuid,
) -> ApiResult<(Passage, TontineAccess)> {
    let passage = state
        .store()
        .passage_by_id(PassageId::from_uuid(id))
        .await?
        .ok_or_else(ApiError::not_found)?;
    let access = TontineAccess::load(state, caller, passage.tontine_id).await?;
    access.require(Action::ViewMembers)?;
    Ok((passage, access))
}

/// A refused state transition: 400 with core's French message.
pub(crate) fn refused(err: TransitionError) -> ApiError {
    ApiError::new(ErrorCode::BusinessRule).with_detail(err.to_string())
}

/// A guarded write that found the passage changed by someone else meanwhile.
pub(crate) fn changed_meanwhile() -> ApiError {
    ApiError::new(ErrorCode::Conflict)
        .with_detail("Le passage a été modifié entre-temps : rechargez-le et réessayez")
}

/// An audit entry about `passage`, made through the API by `caller`.
pub(crate) fn passage_audit(
    now: Timestamp,
    caller: &User,
    passage: &Passage,
    action: &'static str,
    after: serde_json::Value,
) -> NewAudit {
    NewAudit::api(
        caller.id,
        passage.tontine_id,
        action,
        "passage",
        passage.id.as_uuid(),
        now,
    )
    .with_change(Some(dto::snapshot(passage)), Some(after))
}

/// An in-app notification of `event` to the beneficiary of `passage`.
pub(crate) fn notify_beneficiary(
    now: Timestamp,
    passage: &Passage,
    event: &Event,
    dedup_key: Option<String>,
) -> NewNotification {
    let text = render(event);
    NewNotification {
        id: kobiri_core::new_uuid(),
        user_id: passage.member_user_id,
        kind: event.kind(),
        channel: Channel::InApp,
        title: text.title,
        message: text.message,
        sms: text.sms,
        recipient: None,
        data: Some(serde_json::json!({ "passage_id": passage.id })),
        tontine_id: Some(passage.tontine_id),
        session_id: passage.session_id,
        payment_id: None,
        dedup_key,
        at: now,
    }
}

/// Replaces the tontine's passages with `order` (first to receive first) and answers with
/// the new order. `method`/`seed` are recorded on the tontine (`None` for a hand-set order).
// Long on purpose: the new order, its audit entry and its notifications, built and written
// together.
pub(crate) async fn store_order(
    state: &AppState,
    caller: &User,
    tontine: &Tontine,
    order: &[MemberId],
    method: Option<OrderMethod>,
    seed: Option<i64>,
) -> ApiResult<PassageOrderResponse> {
    if !tontine.is_active {
        return Err(
            ApiError::new(ErrorCode::BusinessRule).with_detail("Cette tontine est inactive")
        );
    }
    let count = u32::try_from(order.len()).map_err(|_| ApiError::internal())?;
    if count < tontine.min_members {
        return Err(ApiError::new(ErrorCode::BusinessRule).with_detail(format!(
            "Il faut au moins {} membres actifs pour établir l'ordre de passage",
            tontine.min_members
        )));
    }
    let slots = state.store().session_slots(tontine.id).await?;
    let passages = plan(tontine, order, &slots)?;
    let now = state.now();
    let audit = NewAudit::api(
        caller.id,
        tontine.id,
        "passages.ordered",
        "tontine",
        tontine.id.as_uuid(),
        now,
    )
    .with_change(
        None,
        Some(serde_json::json!({
            "method": method.map(OrderMethod::as_str),
            "seed": seed,
            "order": order,
        })),
    );
    let plan = PassagePlan {
        tontine_id: tontine.id,
        method,
        seed,
        passages,
        audit,
        now,
    };
    match state.store().replace_passages(&plan).await? {
        ReplacePassages::Replaced => {}
        ReplacePassages::Settled => {
            return Err(ApiError::new(ErrorCode::BusinessRule).with_detail(
                "Un passage est déjà versé ou terminé : l'ordre de passage ne peut plus changer",
            ));
        }
    }
    let today = now.date_naive();
    let passages = state.store().list_passages(tontine.id).await?;
    Ok(PassageOrderResponse {
        tontine_id: tontine.id.as_uuid(),
        method: method.map(|m| m.as_str().to_owned()),
        seed,
        passages: passages
            .into_iter()
            .map(|p| dto::PassageResponse::new(p, today))
            .collect(),
    })
}

/// The passages of `order`, numbered from 1, dated and valued by the module rules.
fn plan(
    tontine: &Tontine,
    order: &[MemberId],
    slots: &[SessionSlot],
) -> ApiResult<Vec<NewPassage>> {
    let count = u32::try_from(order.len()).map_err(|_| ApiError::internal())?;
    let pot = expected_amount(tontine.contribution, count).map_err(|e| {
        ApiError::new(ErrorCode::BusinessRule).with_detail(format!("Cagnotte impossible : {e}"))
    })?;
    let slot = |n: u32| -> ApiResult<(Option<kobiri_core::SessionId>, NaiveDate)> {
        match slots.iter().find(|s| s.number == n) {
            Some(s) => Ok((Some(s.id), s.date)),
            None => nth_session_date(tontine.start_date, tontine.frequency, n.saturating_sub(1))
                .map(|d| (None, d))
                .ok_or_else(|| {
                    ApiError::new(ErrorCode::BusinessRule)
                        .with_detail("Date de passage hors calendrier")
                }),
        }
    };
    let at_end = match payout_rule(tontine.kind) {
        PayoutRule::OnePerSession => None,
        PayoutRule::AllAtEnd => {
            let (session, date) = slot(count)?;
            Some((session, tontine.end_date.unwrap_or(date)))
        }
    };
    order
        .iter()
        .zip(1u32..)
        .map(|(&member_id, number)| {
            let (session_id, date) = match at_end {
                Some(end) => end,
                None => slot(number)?,
            };
            Ok(NewPassage {
                id: PassageId::new(),
                member_id,
                session_id,
                order_number: number,
                scheduled_date: Some(date),
                expected: pot,
            })
        })
        .collect()
}
