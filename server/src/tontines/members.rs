//! Member handlers: join by code, add, list, update, leave.

use axum::{
    Json,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use kobiri_core::{
    Action, ErrorCode, MemberId, MemberRefusal, PlatformRole, TontineId, TontineRole, UserId,
    plan_member_addition,
};

use super::{
    TontineAccess,
    dto::{
        AddMemberRequest, JoinRequest, MemberListQuery, MemberResponse, NewMemberTarget,
        UpdateMemberRequest,
    },
};
use crate::{
    auth::AuthUser,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{AppJson, AppQuery, PathId, PathIds},
    invitations::InvitationResponse,
    state::AppState,
    store::{AddMember, Member, MemberPatch, NewMember, NewUser, Tontine},
};

fn refused(refusal: MemberRefusal) -> ApiError {
    ApiError::new(refusal.code()).with_detail(refusal.to_string())
}

/// Adds `user` to `tontine` and returns the membership, mapping the refusals to the contract:
/// full → 400, already a member → 409.
pub(crate) async fn enroll(
    state: &AppState,
    tontine: &Tontine,
    user: UserId,
    role: TontineRole,
    order_position: Option<u32>,
    accepts: Option<uuid::Uuid>,
) -> ApiResult<Member> {
    if !tontine.is_active {
        return Err(refused(MemberRefusal::Inactive));
    }
    let new = NewMember {
        id: MemberId::new(),
        tontine_id: tontine.id,
        user_id: user,
        role,
        order_position,
        now: state.now(),
    };
    let added = state.store().add_member(&new, accepts).await?;
    state.cache.forget_tontine(tontine.id);
    match added {
        AddMember::Added | AddMember::Rejoined => {}
        // The roll is counted inside the store's transaction: core's refusals, worded once.
        AddMember::Full => return Err(refused(MemberRefusal::Full)),
        AddMember::AlreadyMember => return Err(refused(MemberRefusal::AlreadyMember)),
        AddMember::InvitationAnswered => return Err(crate::invitations::answered()),
    }
    state
        .store()
        .member_of(tontine.id, user)
        .await?
        .ok_or_else(ApiError::internal)
}

/// Join a tontine with its code (case-insensitive).
#[utoipa::path(post, path = "/api/v1/tontines/join", tag = "members", security(("bearer" = [])),
    request_body = JoinRequest,
    responses(
        (status = 201, description = "Joined", body = MemberResponse),
        (status = 400, description = "The tontine is full", body = ErrorBody),
        (status = 404, description = "No active tontine with that code", body = ErrorBody),
        (status = 409, description = "Already a member", body = ErrorBody)))]
pub async fn join(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    AppJson(body): AppJson<JoinRequest>,
) -> ApiResult<(StatusCode, Json<MemberResponse>)> {
    let code = body.code()?;
    // A deactivated tontine is not joinable: to a newcomer it does not exist.
    let tontine = state
        .store()
        .tontine_by_code(&code)
        .await?
        .filter(|t| t.is_active)
        .ok_or_else(ApiError::not_found)?;
    let member = enroll(&state, &tontine, caller.id, TontineRole::Membre, None, None).await?;
    Ok((StatusCode::CREATED, Json(member.into())))
}

/// Add a member (president or admin). A person without a smartphone is added at once by
/// phone and names (a password-less account, which they claim later by registering with that
/// phone and the code sent to it by SMS), as is an existing password-less account. An
/// existing account with a password (by `user_id`, `email` or its phone) is invited instead:
/// 202 with the invitation, and it becomes a member only when that person accepts
/// (`POST /invitations/{id}/accept`). Nothing about the account is shown to the inviter
/// before that.
#[utoipa::path(post, path = "/api/v1/tontines/{id}/members", tag = "members", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)), request_body = AddMemberRequest,
    responses(
        (status = 201, description = "Added (a member without a password)", body = MemberResponse),
        (status = 202, description = "An existing account was invited", body = InvitationResponse),
        (status = 400, description = "The tontine is full", body = ErrorBody),
        (status = 403, description = "Not the president", body = ErrorBody),
        (status = 409, description = "Already a member, or already invited", body = ErrorBody)))]
// Long on purpose: three ways of adding a member (an existing account invited, by phone, by e-mail)
// that share the checks before them.
pub async fn add(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
    AppJson(body): AppJson<AddMemberRequest>,
) -> ApiResult<Response> {
    let access = TontineAccess::load(&state, &caller, TontineId::from_uuid(id)).await?;
    if access.is_outsider() {
        return Err(ApiError::not_found());
    }
    plan_member_addition(
        Some(crate::payments::record::caller(&access, caller.id)),
        None,
    )
    .map_err(refused)?;
    let role = body.role.unwrap_or_default();
    let user = match body.target()? {
        NewMemberTarget::Existing(user_id) => {
            let user = state.store().user_by_id(user_id).await?;
            user.filter(|u| u.is_active)
                .ok_or_else(|| ApiError::field("user_id", "utilisateur introuvable"))?
        }
        NewMemberTarget::ByEmail(email) => state
            .store()
            .user_by_email(&email)
            .await?
            .filter(|u| u.is_active)
            .ok_or_else(|| ApiError::field("email", "aucun compte avec cette adresse"))?,
        NewMemberTarget::ByPhone {
            phone,
            first_name,
            last_name,
        } => match state.store().user_by_phone(&phone).await? {
            Some(user) => user,
            None => {
                let user = NewUser {
                    id: UserId::new(),
                    email: None,
                    phone,
                    password_hash: None,
                    first_name: first_name.into_inner(),
                    last_name: last_name.into_inner(),
                    role: PlatformRole::Membre,
                    address: None,
                    city: None,
                    country: None,
                    now: state.now(),
                };
                state.store().insert_user(&user).await?
            }
        },
    };
    if user.password_hash.is_some() {
        let invitation =
            crate::invitations::invite(&state, &access, &caller, &user, role, body.order_position)
                .await?;
        return Ok((StatusCode::ACCEPTED, Json(invitation)).into_response());
    }
    let member = enroll(
        &state,
        &access.tontine,
        user.id,
        role,
        body.order_position,
        None,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(MemberResponse::from(member).shown_to(&access)),
    )
        .into_response())
}

/// The active members of a tontine; `?include_inactive=true` adds those who left, for the
/// treasurer, president and admins (for other members it changes nothing).
#[utoipa::path(get, path = "/api/v1/tontines/{id}/members", tag = "members", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path), MemberListQuery),
    responses((status = 200, description = "Members", body = Vec<MemberResponse>)))]
pub async fn list(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
    AppQuery(q): AppQuery<MemberListQuery>,
) -> ApiResult<Json<Vec<MemberResponse>>> {
    let access = TontineAccess::load(&state, &caller, TontineId::from_uuid(id)).await?;
    access.require(Action::ViewMembers)?;
    let former_too = q.include_inactive == Some(true) && access.may(Action::ViewInactive);
    let members = state.store().list_members(access.tontine.id).await?;
    Ok(Json(
        members
            .into_iter()
            .filter(|m| former_too || m.is_active)
            .map(|m| MemberResponse::from(m).shown_to(&access))
            .collect(),
    ))
}

/// Change a member's role, order position or activity (president or admin).
#[utoipa::path(put, path = "/api/v1/tontines/{id}/members/{member_id}", tag = "members",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path), ("member_id" = uuid::Uuid, Path)),
    request_body = UpdateMemberRequest,
    responses(
        (status = 200, description = "Updated", body = MemberResponse),
        (status = 404, description = "No such member in this tontine", body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathIds(id, member_id): PathIds,
    AppJson(body): AppJson<UpdateMemberRequest>,
) -> ApiResult<Json<MemberResponse>> {
    let access = TontineAccess::load(&state, &caller, TontineId::from_uuid(id)).await?;
    access.require(Action::ManageMembers)?;
    let member_id = MemberId::from_uuid(member_id);
    let member = state
        .store()
        .member_by_id(access.tontine.id, member_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if body.order_position == Some(0) {
        return Err(ApiError::field(
            "order_position",
            "la position commence à 1",
        ));
    }
    let patch = MemberPatch {
        role: body.role,
        order_position: body.order_position,
        is_active: body.is_active,
    };
    state
        .store()
        .update_member(member.id, &patch, state.now())
        .await?;
    state.cache.forget_tontine(access.tontine.id);
    let member = state
        .store()
        .member_by_id(access.tontine.id, member_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(member.into()))
}

/// Leave a tontine. The last president cannot leave while other members remain.
#[utoipa::path(post, path = "/api/v1/tontines/{id}/leave", tag = "members", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "Left", body = MemberResponse),
        (status = 400, description = "Last president", body = ErrorBody)))]
pub async fn leave(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
) -> ApiResult<Json<MemberResponse>> {
    let access = TontineAccess::load(&state, &caller, TontineId::from_uuid(id)).await?;
    let member = access.member.ok_or_else(ApiError::not_found)?;
    let left = state.store().leave_tontine(&member, state.now()).await?;
    state.cache.forget_tontine(access.tontine.id);
    if !left {
        return Err(ApiError::new(ErrorCode::BusinessRule).with_detail(
            "Le dernier président ne peut pas quitter la tontine tant qu'il reste des membres",
        ));
    }
    let member = state
        .store()
        .member_by_id(access.tontine.id, member.id)
        .await?
        .ok_or_else(ApiError::internal)?;
    Ok(Json(member.into()))
}
