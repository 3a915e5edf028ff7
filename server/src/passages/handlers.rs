//! Passage handlers: generate or set the payout order, list it, and start, pay out, confirm
//! or postpone one passage. The rules are in the module doc of [`super`].

use axum::{Json, extract::State};
use kobiri_core::{
    Action, Candidate, ErrorCode, Event, MemberId, OrderMethod, PassageStatus, TontineId,
    confirmation_audit, payout_order, plan_confirmation, validate_manual_order,
};

use super::{
    changed_meanwhile,
    dto::{
        ConfirmRequest, GenerateRequest, PassageOrderResponse, PassageResponse, PostponeRequest,
        ReorderRequest, ScheduleResponse,
    },
    load_passage, notify_beneficiary, passage_audit, refused, store_order,
};
use crate::{
    auth::AuthUser,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{AppJson, PathId},
    state::AppState,
    store::{Member, NewAudit, Passage, PassageChange, PassageEdit, PassageWrite, User},
    tontines::TontineAccess,
};

/// The tontine's active members.
async fn active_members(state: &AppState, tontine: TontineId) -> ApiResult<Vec<Member>> {
    let members = state.store().list_members(tontine).await?;
    Ok(members.into_iter().filter(|m| m.is_active).collect())
}

/// Draw the payout order over the active members (president or admin). Replaces the
/// current order unless a passage is already paid or complete.
#[utoipa::path(post, path = "/api/v1/passages/generate/{tontine_id}", tag = "passages",
    security(("bearer" = [])), params(("tontine_id" = uuid::Uuid, Path)),
    request_body = GenerateRequest,
    responses(
        (status = 200, description = "The new order, with the seed of a random draw",
            body = PassageOrderResponse),
        (status = 400, description = "A passage is paid or complete; too few members",
            body = ErrorBody),
        (status = 403, description = "Not the president", body = ErrorBody),
        (status = 404, description = "Unknown tontine, or not a member", body = ErrorBody),
        (status = 422, description = "Unknown method, bad seed", body = ErrorBody)))]
pub async fn generate(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
    AppJson(body): AppJson<GenerateRequest>,
) -> ApiResult<Json<PassageOrderResponse>> {
    let access = TontineAccess::load(&state, &caller, TontineId::from_uuid(id)).await?;
    access.require(Action::ManagePassages)?;
    let seed = body.seed()?;
    let candidates: Vec<Candidate> = active_members(&state, access.tontine.id)
        .await?
        .into_iter()
        .map(|m| Candidate {
            member_id: m.id,
            name: m.user_name,
            joined_at: m.joined_at,
        })
        .collect();
    // The seed is non-negative, so it converts to the u64 core draws with.
    let order = payout_order(&candidates, body.method, seed.unsigned_abs());
    let seed = (body.method == OrderMethod::Random).then_some(seed);
    let response = store_order(
        &state,
        &caller,
        &access.tontine,
        &order,
        Some(body.method),
        seed,
    )
    .await?;
    Ok(Json(response))
}

/// Set the payout order by hand (president or admin): every active member once, numbers 1
/// to N. Replaces the current order unless a passage is already paid or complete.
#[utoipa::path(put, path = "/api/v1/passages/order/{tontine_id}", tag = "passages",
    security(("bearer" = [])), params(("tontine_id" = uuid::Uuid, Path)),
    request_body = ReorderRequest,
    responses(
        (status = 200, description = "The new order", body = PassageOrderResponse),
        (status = 400, description = "A passage is paid or complete", body = ErrorBody),
        (status = 403, description = "Not the president", body = ErrorBody),
        (status = 422, description = "A member missing or twice, a number repeated or out of range",
            body = ErrorBody)))]
pub async fn reorder(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
    AppJson(body): AppJson<ReorderRequest>,
) -> ApiResult<Json<PassageOrderResponse>> {
    let access = TontineAccess::load(&state, &caller, TontineId::from_uuid(id)).await?;
    access.require(Action::ManagePassages)?;
    let members: Vec<MemberId> = active_members(&state, access.tontine.id)
        .await?
        .iter()
        .map(|m| m.id)
        .collect();
    let mut entries = body.entries();
    validate_manual_order(&members, &entries).map_err(|e| ApiError::field("passages", e))?;
    entries.sort_by_key(|&(_, number)| number);
    let order: Vec<MemberId> = entries.into_iter().map(|(member, _)| member).collect();
    let response = store_order(&state, &caller, &access.tontine, &order, None, None).await?;
    Ok(Json(response))
}

/// The tontine's passages in payout order (its members, admins).
async fn tontine_passages(
    state: &AppState,
    caller: &User,
    id: uuid::Uuid,
) -> ApiResult<(TontineAccess, Vec<Passage>)> {
    let access = TontineAccess::load(state, caller, TontineId::from_uuid(id)).await?;
    access.require(Action::ViewMembers)?;
    let passages = state.store().list_passages(access.tontine.id).await?;
    Ok((access, passages))
}

/// The passages of a tontine, in payout order.
#[utoipa::path(get, path = "/api/v1/passages/tontine/{tontine_id}", tag = "passages",
    security(("bearer" = [])), params(("tontine_id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "Passages in payout order", body = Vec<PassageResponse>),
        (status = 404, description = "Unknown tontine, or not a member", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
) -> ApiResult<Json<Vec<PassageResponse>>> {
    let (access, passages) = tontine_passages(&state, &caller, id).await?;
    let today = state.now().date_naive();
    Ok(Json(
        passages
            .into_iter()
            .map(|p| PassageResponse::shown_to(p, today, &access))
            .collect(),
    ))
}

/// The payout schedule: every passage, the current and next ones, and the counts.
#[utoipa::path(get, path = "/api/v1/passages/tontine/{tontine_id}/schedule", tag = "passages",
    security(("bearer" = [])), params(("tontine_id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "The schedule", body = ScheduleResponse),
        (status = 404, description = "Unknown tontine, or not a member", body = ErrorBody)))]
pub async fn schedule(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
) -> ApiResult<Json<ScheduleResponse>> {
    let (access, passages) = tontine_passages(&state, &caller, id).await?;
    let today = state.now().date_naive();
    let first = |wanted: &[PassageStatus]| {
        passages
            .iter()
            .find(|p| wanted.contains(&p.status))
            .map(|p| PassageResponse::shown_to(p.clone(), today, &access))
    };
    let current_passage = first(&[PassageStatus::EnCours]);
    let next_passage = first(&[PassageStatus::Programme, PassageStatus::Reporte]);
    let count = |keep: fn(PassageStatus) -> bool| {
        u32::try_from(passages.iter().filter(|p| keep(p.status)).count()).unwrap_or(u32::MAX)
    };
    let completed_count = count(|s| s == PassageStatus::Complete);
    let remaining_count = count(PassageStatus::is_pending);
    Ok(Json(ScheduleResponse {
        tontine_id: access.tontine.id.as_uuid(),
        tontine_name: access.tontine.name.clone(),
        passages: passages
            .iter()
            .map(|p| PassageResponse::shown_to(p.clone(), today, &access))
            .collect(),
        current_passage,
        next_passage,
        completed_count,
        remaining_count,
    }))
}

/// Applies `change` and answers with the passage as it now is.
async fn apply(state: &AppState, change: PassageChange) -> ApiResult<Json<PassageResponse>> {
    match state.store().change_passage(&change).await? {
        PassageWrite::Done => {}
        PassageWrite::Changed => return Err(changed_meanwhile()),
        PassageWrite::Refused(refusal) => return Err(super::payout::exceeds(refusal)),
    }
    let passage = state
        .store()
        .passage_by_id(change.id)
        .await?
        .ok_or_else(ApiError::internal)?;
    Ok(Json(PassageResponse::new(
        passage,
        state.now().date_naive(),
    )))
}

/// A change of `passage` from its current status to `to`.
fn change(
    state: &AppState,
    passage: &Passage,
    to: PassageStatus,
    edit: PassageEdit,
    audit: NewAudit,
) -> PassageChange {
    PassageChange {
        id: passage.id,
        tontine_id: passage.tontine_id,
        from: passage.status,
        to,
        edit,
        audit,
        notifications: Vec::new(),
        now: state.now(),
    }
}

/// Start a passage (president, tresorier or admin): `programme` or `reporte` → `en_cours`.
/// The beneficiary is told it is their turn.
#[utoipa::path(post, path = "/api/v1/passages/{id}/start", tag = "passages",
    security(("bearer" = [])), params(("id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "Started", body = PassageResponse),
        (status = 400, description = "Not startable from its status", body = ErrorBody),
        (status = 403, description = "Not a manager", body = ErrorBody),
        (status = 404, description = "Unknown passage, or not a member", body = ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
) -> ApiResult<Json<PassageResponse>> {
    let (passage, access) = load_passage(&state, &caller, id).await?;
    access.require(Action::StartPassage)?;
    let to = passage.status.start().map_err(refused)?;
    let after = serde_json::json!({"status": to.as_str()});
    let audit = passage_audit(state.now(), &caller, &passage, "passage.started", after);
    let event = Event::YourTurn {
        tontine: access.tontine.name.clone(),
        date: passage
            .scheduled_date
            .unwrap_or_else(|| state.now().date_naive()),
        amount: passage.expected_amount,
    };
    let mut change = change(&state, &passage, to, PassageEdit::Start, audit);
    change
        .notifications
        .push(notify_beneficiary(state.now(), &passage, &event, None));
    apply(&state, change).await
}

/// The beneficiary confirms receiving the pot: `en_cours` → `complete`. The amount (at most
/// the recorded payout, or without one at most what remains in the pot: 409) is added to
/// their `total_received`, and they get a `paiement_recu` notification.
#[utoipa::path(post, path = "/api/v1/passages/{id}/confirm", tag = "passages",
    security(("bearer" = [])), params(("id" = uuid::Uuid, Path)), request_body = ConfirmRequest,
    responses(
        (status = 200, description = "Confirmed", body = PassageResponse),
        (status = 400, description = "Not en_cours", body = ErrorBody),
        (status = 403, description = "Not the beneficiary", body = ErrorBody),
        (status = 409, description = "More than was paid out (receipt_exceeds_payout) or than \
            the pot holds (payout_exceeds_pot)", body = ErrorBody),
        (status = 422, description = "Invalid amount", body = ErrorBody)))]
pub async fn confirm(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
    AppJson(body): AppJson<ConfirmRequest>,
) -> ApiResult<Json<PassageResponse>> {
    let (passage, access) = load_passage(&state, &caller, id).await?;
    let to = plan_confirmation(
        access.member.as_ref().map(|m| m.id),
        passage.member_id,
        Some(passage.status),
    )
    .map_err(|r| ApiError::new(r.code()).with_detail(r.to_string()))?;
    let (amount, notes) = body.parse(passage.expected_amount.currency())?;
    let date = state.now().date_naive();
    let after = confirmation_audit(to, amount, None);
    let audit = passage_audit(state.now(), &caller, &passage, "passage.confirmed", after);
    let event = Event::PotReceived {
        tontine: access.tontine.name.clone(),
        amount,
    };
    let dedup = format!("paiement_recu:passage:{}", passage.id);
    let edit = PassageEdit::Confirm {
        member: passage.member_id,
        amount_received: amount,
        notes,
        date,
        pot: super::payout::pot_of(&state, &access.tontine, &passage).await?,
    };
    let mut change = change(&state, &passage, to, edit, audit);
    change.notifications.push(notify_beneficiary(
        state.now(),
        &passage,
        &event,
        Some(dedup),
    ));
    apply(&state, change).await
}

/// Postpone a passage (president or admin) with a reason: `programme` or `en_cours` →
/// `reporte`. A passage whose payout was recorded cannot be postponed.
#[utoipa::path(post, path = "/api/v1/passages/{id}/postpone", tag = "passages",
    security(("bearer" = [])), params(("id" = uuid::Uuid, Path)), request_body = PostponeRequest,
    responses(
        (status = 200, description = "Postponed", body = PassageResponse),
        (status = 400, description = "Not postponable (status, payout recorded)", body = ErrorBody),
        (status = 403, description = "Not the president", body = ErrorBody),
        (status = 422, description = "Missing reason", body = ErrorBody)))]
pub async fn postpone(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
    AppJson(body): AppJson<PostponeRequest>,
) -> ApiResult<Json<PassageResponse>> {
    let (passage, access) = load_passage(&state, &caller, id).await?;
    access.require(Action::PostponePassage)?;
    let reason = body.reason()?;
    if passage.is_paid() {
        return Err(ApiError::new(ErrorCode::BusinessRule).with_detail(
            "Le versement est déjà enregistré : ce passage ne peut plus être reporté",
        ));
    }
    let to = passage.status.postpone().map_err(refused)?;
    let after = serde_json::json!({"status": to.as_str(), "postpone_reason": reason});
    let audit = passage_audit(state.now(), &caller, &passage, "passage.postponed", after);
    let edit = PassageEdit::Postpone { reason };
    apply(&state, change(&state, &passage, to, edit, audit)).await
}
