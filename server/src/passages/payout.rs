// Over 400 lines on purpose: the payout routes and the rules they share (pot, proven wallet, four
// eyes).
//! Payouts of a passage, bounded and watched (rules in core's `passage::pot`):
//!
//! - The amount (default: the expected pot) never exceeds what was collected and validated
//!   for the passage's pot minus what already left it: 409 `payout_exceeds_pot`. The check
//!   runs again inside the transaction that records or sends the payout.
//! - A mobile-money payout goes to the beneficiary's own number when it is verified
//!   (`phone_verified`), or to a number the beneficiary confirmed with the code Kobiri sent
//!   it (`POST /passages/{id}/payout-phone`, then `…/payout-phone/confirm`); any other number
//!   is 422 `payout_phone_unverified`. `payout_phone` is ignored for `especes` and `virement`.
//! - A payout to another number than the beneficiary's own, or above
//!   `PAYOUT_APPROVAL_THRESHOLD`, is stored as a request (202) and nothing moves until another
//!   manager than the requester approves it (`POST /passages/{id}/payout/approve`; a
//!   requester approving answers 403 `self_approval`) or rejects it (`…/payout/reject`).
//! - Each payout happens once: a second one is 409, a second pending request is 409.

use axum::{
    Json,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use kobiri_core::{
    Action, Amount, ErrorCode, PayoutMethod, PayoutRefusal, Phone, PotScope, approval_reasons,
    check_payout, pot_scope,
};

use super::{
    dto::{
        PassageResponse, PayoutPhoneConfirmRequest, PayoutPhoneRequest, PayoutRequest,
        PayoutRequestResponse, RejectPayoutRequest,
    },
    load_passage, passage_audit, refused,
};
use crate::{
    auth::AuthUser,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{AppJson, PathId},
    mobile_money::Method,
    notify::codes::CodeRecipient,
    state::AppState,
    store::{
        Approval, CodePurpose, NewAudit, NewPayoutPhone, NewPayoutRequest, Passage, PassageChange,
        PassageEdit, PassageWrite, PayoutRejection, RequestStatus, Tontine, User,
    },
    tontines::TontineAccess,
};

/// A payout ready to be recorded or sent.
#[derive(Debug, Clone)]
pub struct PayoutOrder {
    pub method: PayoutMethod,
    /// The wallet of a mobile-money payout (proven), `None` otherwise.
    pub phone: Option<Phone>,
    pub reference: Option<String>,
    pub amount: Amount,
    pub pot: Option<PotScope>,
    pub approval: Option<Approval>,
}

/// The API error of a refused amount.
pub(crate) fn exceeds(refusal: PayoutRefusal) -> ApiError {
    ApiError::new(refusal.code()).with_detail(refusal.to_string())
}

/// The pot `passage` pays out of: its session's (its own, or the session numbered like the
/// passage), or the whole tontine's for a cumulative one.
pub(crate) async fn pot_of(
    state: &AppState,
    tontine: &Tontine,
    passage: &Passage,
) -> ApiResult<Option<PotScope>> {
    let session = match passage.session_id {
        Some(s) => Some(s),
        None => state
            .store()
            .session_slots(tontine.id)
            .await?
            .into_iter()
            .find(|s| s.number == passage.order_number)
            .map(|s| s.id),
    };
    Ok(pot_scope(tontine.kind, session))
}

async fn beneficiary(state: &AppState, passage: &Passage) -> ApiResult<User> {
    state
        .store()
        .user_by_id(passage.member_user_id)
        .await?
        .ok_or_else(ApiError::internal)
}

/// Refuses a payout wallet the beneficiary has not proven.
async fn require_proven(state: &AppState, beneficiary: &User, phone: &Phone) -> ApiResult<()> {
    let own_verified = beneficiary.phone == *phone && beneficiary.phone_verified;
    if own_verified
        || state
            .store()
            .payout_phone_confirmed(beneficiary.id, phone.as_str())
            .await?
    {
        return Ok(());
    }
    Err(ApiError::new(ErrorCode::PayoutPhoneUnverified).with_field(
        "payout_phone",
        "numéro non vérifié : demandez un code (POST /passages/{id}/payout-phone) et \
         confirmez-le",
    ))
}

/// Checks `amount` against the pot now (the write checks again in its transaction).
async fn precheck(state: &AppState, passage: &Passage, order: &PayoutOrder) -> ApiResult<()> {
    let pot = state
        .store()
        .pot(
            passage.tontine_id,
            order.pot,
            passage.id,
            order.amount.currency(),
        )
        .await?;
    check_payout(order.amount, &pot).map_err(exceeds)
}

/// Records the payout, or sends it through the method's provider when Kobiri can (mobile
/// money, no operator reference, provider configured).
// Long on purpose: records the payout by hand or sends it through the provider, each with its audit
// entry and notification.
async fn execute(
    state: &AppState,
    caller: &User,
    passage: &Passage,
    order: PayoutOrder,
) -> ApiResult<Passage> {
    let to = passage.status.record_payout().map_err(refused)?;
    if let Ok(method) = Method::try_from(order.method)
        && order.reference.is_none()
        && state.mobile_money.providers.for_method(method).is_ok()
    {
        return crate::mobile_money::payout::send(
            &state.mobile_money,
            caller,
            passage,
            method,
            &order,
        )
        .await;
    }
    let date = state.now().date_naive();
    let after = serde_json::json!({
        "status": to.as_str(),
        "payout_method": order.method.as_str(),
        "payout_amount": order.amount.to_wire_string(),
        "payout_reference": order.reference,
        "actual_date": date,
        "approval_request": order.approval.map(|a| a.request),
        "approved_by": order.approval.map(|a| a.by),
    });
    let audit = passage_audit(
        state.now(),
        caller,
        passage,
        "passage.payout_recorded",
        after,
    );
    let change = PassageChange {
        id: passage.id,
        tontine_id: passage.tontine_id,
        from: passage.status,
        to,
        edit: PassageEdit::Payout {
            method: order.method,
            phone: order.phone.map(|p| p.as_str().to_owned()),
            reference: order.reference,
            amount: order.amount,
            date,
            pot: order.pot,
            approval: order.approval,
        },
        audit,
        notifications: Vec::new(),
        now: state.now(),
    };
    match state.store().change_passage(&change).await? {
        PassageWrite::Done => {}
        PassageWrite::Changed => return Err(super::changed_meanwhile()),
        PassageWrite::Refused(refusal) => return Err(exceeds(refusal)),
    }
    state.cache.forget_tontine(passage.tontine_id);
    state
        .store()
        .passage_by_id(passage.id)
        .await?
        .ok_or_else(ApiError::internal)
}

/// The passage as answered.
fn answer(state: &AppState, passage: Passage) -> Json<PassageResponse> {
    Json(PassageResponse::new(passage, state.now().date_naive()))
}

/// A manager of the passage's tontine, with the passage still awaiting its payout.
async fn payable(
    state: &AppState,
    caller: &User,
    id: uuid::Uuid,
) -> ApiResult<(Passage, TontineAccess)> {
    let (passage, access) = load_passage(state, caller, id).await?;
    access.require(Action::RecordPayout)?;
    if passage.is_paid() {
        return Err(ApiError::new(ErrorCode::Conflict)
            .with_detail("Le versement de ce passage est déjà enregistré"));
    }
    passage.status.record_payout().map_err(refused)?;
    Ok((passage, access))
}

/// Record or send the payout (president, tresorier or admin), once, while `en_cours`.
/// `amount` defaults to the expected pot and never exceeds what its pot holds. A mobile-money
/// payout goes to a proven wallet only. To another number or above the threshold, the
/// payout waits for a second manager: 202 with the request.
#[utoipa::path(post, path = "/api/v1/passages/{id}/payout", tag = "passages",
    security(("bearer" = [])), params(("id" = uuid::Uuid, Path)), request_body = PayoutRequest,
    responses(
        (status = 200, description = "Payout recorded or sent", body = PassageResponse),
        (status = 202, description = "Waits for a second manager's approval",
            body = PayoutRequestResponse),
        (status = 400, description = "Not en_cours", body = ErrorBody),
        (status = 403, description = "Not a manager", body = ErrorBody),
        (status = 409, description = "Payout already recorded or awaiting approval; more than \
            the pot holds (payout_exceeds_pot)", body = ErrorBody),
        (status = 422, description = "Invalid field; wallet not proven (payout_phone_unverified)",
            body = ErrorBody)))]
// Long on purpose: the payout request's checks (status, role, wallet, pot, approval) in the order
// their refusals take precedence.
pub async fn payout(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
    AppJson(body): AppJson<PayoutRequest>,
) -> ApiResult<Response> {
    let (passage, access) = payable(&state, &caller, id).await?;
    let draft = body.draft(passage.expected_amount)?;
    let beneficiary = beneficiary(&state, &passage).await?;
    let phone = match Method::try_from(body.payout_method) {
        Ok(_) => Some(draft.phone.unwrap_or_else(|| beneficiary.phone.clone())),
        Err(_) => None,
    };
    if let Some(phone) = &phone {
        require_proven(&state, &beneficiary, phone).await?;
    }
    let order = PayoutOrder {
        method: body.payout_method,
        phone,
        reference: draft.reference,
        amount: draft.amount,
        pot: pot_of(&state, &access.tontine, &passage).await?,
        approval: None,
    };
    precheck(&state, &passage, &order).await?;
    let other_phone = order
        .phone
        .as_ref()
        .is_some_and(|p| *p != beneficiary.phone);
    let threshold = state
        .config
        .payout_approval_threshold
        .for_currency(order.amount.currency());
    let reasons = approval_reasons(order.amount, threshold, other_phone);
    if reasons.is_empty() {
        let paid = execute(&state, &caller, &passage, order).await?;
        return Ok(answer(&state, paid).into_response());
    }
    let request = crate::store::PayoutRequest {
        id: kobiri_core::new_uuid(),
        passage_id: passage.id,
        tontine_id: passage.tontine_id,
        method: order.method,
        phone: order.phone.map(|p| p.as_str().to_owned()),
        reference: order.reference,
        amount: order.amount,
        reasons,
        status: RequestStatus::Pending,
        requested_by: caller.id,
        requested_at: state.now(),
        decided_by: None,
        decided_at: None,
        rejection_reason: None,
    };
    let after = serde_json::json!({
        "request": request.id, "payout_method": request.method.as_str(),
        "payout_amount": request.amount.to_wire_string(), "payout_phone": request.phone,
        "reasons": request.reasons.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
    });
    let audit = passage_audit(
        state.now(),
        &caller,
        &passage,
        "passage.payout_requested",
        after,
    );
    let stored = NewPayoutRequest {
        request: request.clone(),
        audit,
    };
    if !state.store().insert_payout_request(&stored).await? {
        return Err(ApiError::new(ErrorCode::Conflict)
            .with_detail("Un versement de ce passage attend déjà l'approbation d'un responsable"));
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(PayoutRequestResponse::from(request)),
    )
        .into_response())
}

/// The passage's pending payout request.
async fn pending(state: &AppState, passage: &Passage) -> ApiResult<crate::store::PayoutRequest> {
    state
        .store()
        .payout_requests(passage.id)
        .await?
        .into_iter()
        .find(|r| r.status == RequestStatus::Pending)
        .ok_or_else(|| {
            ApiError::new(ErrorCode::Conflict)
                .with_detail("Aucun versement de ce passage n'attend d'approbation")
        })
}

/// Approve the payout waiting for a second manager (president, tresorier or admin, other than
/// its requester): it is then recorded or sent, with the approval, in one transaction.
#[utoipa::path(post, path = "/api/v1/passages/{id}/payout/approve", tag = "passages",
    security(("bearer" = [])), params(("id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "Approved: payout recorded or sent", body = PassageResponse),
        (status = 403, description = "Not a manager, or the requester (self_approval)",
            body = ErrorBody),
        (status = 409, description = "Nothing pending; already paid; more than the pot holds",
            body = ErrorBody),
        (status = 422, description = "The wallet is not proven at approval time", body = ErrorBody)))]
pub async fn approve(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
) -> ApiResult<Json<PassageResponse>> {
    let (passage, access) = payable(&state, &caller, id).await?;
    let request = pending(&state, &passage).await?;
    if request.requested_by == caller.id {
        return Err(ApiError::new(ErrorCode::SelfApproval));
    }
    let phone = request
        .phone
        .as_deref()
        .map(Phone::parse)
        .transpose()
        .map_err(|_| ApiError::internal())?;
    if let Some(phone) = &phone {
        require_proven(&state, &beneficiary(&state, &passage).await?, phone).await?;
    }
    let order = PayoutOrder {
        method: request.method,
        phone,
        reference: request.reference,
        amount: request.amount,
        pot: pot_of(&state, &access.tontine, &passage).await?,
        approval: Some(Approval {
            request: request.id,
            by: caller.id,
        }),
    };
    let paid = execute(&state, &caller, &passage, order).await?;
    Ok(answer(&state, paid))
}

/// Reject the payout waiting for a second manager, with a reason (president, tresorier or
/// admin; the requester may withdraw their own request this way).
#[utoipa::path(post, path = "/api/v1/passages/{id}/payout/reject", tag = "passages",
    security(("bearer" = [])), params(("id" = uuid::Uuid, Path)),
    request_body = RejectPayoutRequest,
    responses(
        (status = 200, description = "Rejected", body = PayoutRequestResponse),
        (status = 403, description = "Not a manager", body = ErrorBody),
        (status = 409, description = "Nothing pending", body = ErrorBody),
        (status = 422, description = "Missing reason", body = ErrorBody)))]
pub async fn reject(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
    AppJson(body): AppJson<RejectPayoutRequest>,
) -> ApiResult<Json<PayoutRequestResponse>> {
    let (passage, access) = load_passage(&state, &caller, id).await?;
    access.require(Action::RecordPayout)?;
    let reason = body.reason()?;
    let request = pending(&state, &passage).await?;
    let now = state.now();
    let after = serde_json::json!({"request": request.id, "rejection_reason": reason});
    let rejection = PayoutRejection {
        request: request.id,
        by: caller.id,
        reason: reason.clone(),
        audit: passage_audit(
            state.now(),
            &caller,
            &passage,
            "passage.payout_rejected",
            after,
        ),
        now,
    };
    if !state.store().reject_payout_request(&rejection).await? {
        return Err(super::changed_meanwhile());
    }
    Ok(Json(PayoutRequestResponse::from(
        crate::store::PayoutRequest {
            status: RequestStatus::Rejected,
            decided_by: Some(caller.id),
            decided_at: Some(now),
            rejection_reason: Some(reason),
            ..request
        },
    )))
}

/// The passage's payout requests, newest first (president, tresorier or admin).
#[utoipa::path(get, path = "/api/v1/passages/{id}/payout-requests", tag = "passages",
    security(("bearer" = [])), params(("id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "Requests", body = Vec<PayoutRequestResponse>),
        (status = 403, description = "Not a manager", body = ErrorBody)))]
pub async fn requests(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
) -> ApiResult<Json<Vec<PayoutRequestResponse>>> {
    let (passage, access) = load_passage(&state, &caller, id).await?;
    access.require(Action::RecordPayout)?;
    let list = state.store().payout_requests(passage.id).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// The beneficiary, or a manager acting for them (a member without a smartphone).
async fn beneficiary_or_manager(
    state: &AppState,
    caller: &User,
    id: uuid::Uuid,
) -> ApiResult<Passage> {
    let (passage, access) = load_passage(state, caller, id).await?;
    if access.member.as_ref().map(|m| m.id) != Some(passage.member_id) {
        access.require(Action::RecordPayout)?;
    }
    Ok(passage)
}

/// Send a code by SMS to the number the beneficiary wants the pot on (the beneficiary, or a
/// manager for them). The code proves that number only, for 15 minutes and 5 tries.
#[utoipa::path(post, path = "/api/v1/passages/{id}/payout-phone", tag = "passages",
    security(("bearer" = [])), params(("id" = uuid::Uuid, Path)),
    request_body = PayoutPhoneRequest,
    responses(
        (status = 200, description = "Code queued for sending", body = crate::auth::dto::MessageResponse),
        (status = 403, description = "Neither the beneficiary nor a manager", body = ErrorBody),
        (status = 422, description = "Invalid phone", body = ErrorBody)))]
pub async fn request_phone_code(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
    AppJson(body): AppJson<PayoutPhoneRequest>,
) -> ApiResult<Json<crate::auth::dto::MessageResponse>> {
    let passage = beneficiary_or_manager(&state, &caller, id).await?;
    let phone = Phone::parse(&body.phone).map_err(|e| ApiError::field("phone", e))?;
    state
        .codes
        .issue_bound(
            state.store(),
            passage.member_user_id,
            CodePurpose::PayoutPhone,
            phone.as_str(),
            &CodeRecipient::Sms(phone.clone()),
            state.now(),
        )
        .await?;
    state.wake_outbox();
    Ok(Json(crate::auth::dto::MessageResponse::new(
        "Code envoyé par SMS au numéro du versement",
    )))
}

/// Confirm the payout number with the code it received: payouts of the beneficiary may then
/// go to it (to another number than their own, still with a second manager's approval).
#[utoipa::path(post, path = "/api/v1/passages/{id}/payout-phone/confirm", tag = "passages",
    security(("bearer" = [])), params(("id" = uuid::Uuid, Path)),
    request_body = PayoutPhoneConfirmRequest,
    responses(
        (status = 200, description = "Number confirmed", body = crate::auth::dto::MessageResponse),
        (status = 400, description = "Wrong, expired or exhausted code", body = ErrorBody),
        (status = 403, description = "Neither the beneficiary nor a manager", body = ErrorBody),
        (status = 422, description = "Invalid phone", body = ErrorBody)))]
pub async fn confirm_phone(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
    AppJson(body): AppJson<PayoutPhoneConfirmRequest>,
) -> ApiResult<Json<crate::auth::dto::MessageResponse>> {
    let passage = beneficiary_or_manager(&state, &caller, id).await?;
    let phone = Phone::parse(&body.phone).map_err(|e| ApiError::field("phone", e))?;
    let now = state.now();
    state
        .codes
        .redeem_bound(
            state.store(),
            passage.member_user_id,
            CodePurpose::PayoutPhone,
            phone.as_str(),
            &body.code,
            now,
        )
        .await?;
    let audit = NewAudit::api(
        caller.id,
        passage.tontine_id,
        "passage.payout_phone_confirmed",
        "passage",
        passage.id.as_uuid(),
        now,
    )
    .with_change(
        None,
        Some(serde_json::json!({"user_id": passage.member_user_id, "phone": phone.as_str()})),
    );
    state
        .store()
        .confirm_payout_phone(&NewPayoutPhone {
            user: passage.member_user_id,
            phone: phone.as_str().to_owned(),
            confirmed_by: caller.id,
            audit,
            now,
        })
        .await?;
    Ok(Json(crate::auth::dto::MessageResponse::new(
        "Numéro confirmé pour recevoir le versement",
    )))
}
