//! Invitations: a president who adds an existing account (one with a password) invites it;
//! the person lists their invitations and accepts (becoming a member) or refuses. Until then
//! the inviter learns nothing about the account: the invitation they get back names no one.

use axum::{
    Json, Router,
    extract::State,
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use kobiri_core::{ErrorCode, TontineRole};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    auth::AuthUser,
    error::{ApiError, ApiResult, ErrorBody},
    extract::PathId,
    state::AppState,
    store::{Invitation, InvitationStatus, NewInvitation, StoreError, User},
    tontines::{TontineAccess, dto::MemberResponse, members::enroll},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/invitations", get(list_invitations))
        .route("/invitations/{id}/accept", post(accept))
        .route("/invitations/{id}/refuse", post(refuse))
}

/// An invitation to join a tontine. It names the tontine and who invited, never the invited
/// person (the inviter must not learn who holds an account before they accept).
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationResponse {
    pub id: uuid::Uuid,
    pub tontine_id: uuid::Uuid,
    pub tontine_name: String,
    /// The role offered: `membre`, `collecteur`, `tresorier` or `president`.
    pub role: String,
    pub order_position: Option<u32>,
    /// `en_attente`, `acceptee` or `refusee`.
    pub status: String,
    pub invited_by_id: uuid::Uuid,
    pub invited_by_name: String,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl From<Invitation> for InvitationResponse {
    fn from(i: Invitation) -> Self {
        Self {
            id: i.id,
            tontine_id: i.tontine_id.as_uuid(),
            tontine_name: i.tontine_name,
            role: i.role.as_str().to_owned(),
            order_position: i.order_position,
            status: i.status.as_str().to_owned(),
            invited_by_id: i.invited_by.as_uuid(),
            invited_by_name: i.invited_by_name,
            created_at: i.created_at,
            decided_at: i.decided_at,
        }
    }
}

/// Invites `user` into `access`'s tontine (the caller may manage its members): 409 when they
/// already belong or an invitation already waits, 400 when the tontine is inactive.
pub(crate) async fn invite(
    state: &AppState,
    access: &TontineAccess,
    caller: &User,
    user: &User,
    role: TontineRole,
    order_position: Option<u32>,
) -> ApiResult<InvitationResponse> {
    let tontine = &access.tontine;
    if !tontine.is_active {
        return Err(
            ApiError::new(ErrorCode::BusinessRule).with_detail("Cette tontine est inactive")
        );
    }
    let member = state.store().member_of(tontine.id, user.id).await?;
    if member.is_some_and(|m| m.is_active) {
        return Err(ApiError::new(ErrorCode::Conflict).with_detail("Déjà membre de cette tontine"));
    }
    let new = NewInvitation {
        id: kobiri_core::new_uuid(),
        tontine_id: tontine.id,
        user_id: user.id,
        invited_by: caller.id,
        role,
        order_position,
        now: state.now(),
    };
    match state.store().insert_invitation(&new).await {
        Ok(()) => {}
        Err(StoreError::Conflict { .. }) => {
            return Err(ApiError::new(ErrorCode::Conflict)
                .with_detail("Une invitation attend déjà la réponse de cette personne"));
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(invitation = %new.id, tontine = %tontine.id, "account invited");
    let invitation = state
        .store()
        .invitation_by_id(new.id)
        .await?
        .ok_or_else(ApiError::internal)?;
    Ok(invitation.into())
}

/// The caller's invitations still waiting for an answer, newest first.
#[utoipa::path(get, path = "/api/v1/invitations", tag = "members", security(("bearer" = [])),
    responses(
        (status = 200, description = "Pending invitations", body = Vec<InvitationResponse>),
        (status = 401, description = "Not authenticated", body = ErrorBody)))]
pub async fn list_invitations(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> ApiResult<Json<Vec<InvitationResponse>>> {
    let pending = state
        .store()
        .invitations_of(caller.id, InvitationStatus::EnAttente)
        .await?;
    Ok(Json(pending.into_iter().map(Into::into).collect()))
}

/// The caller's pending invitation `id`: 404 for anyone else's, 409 once answered.
async fn pending_of(state: &AppState, caller: &User, id: uuid::Uuid) -> ApiResult<Invitation> {
    let invitation = state
        .store()
        .invitation_by_id(id)
        .await?
        .filter(|i| i.user_id == caller.id)
        .ok_or_else(ApiError::not_found)?;
    if invitation.status != InvitationStatus::EnAttente {
        return Err(answered());
    }
    Ok(invitation)
}

/// The answer to an invitation already accepted or refused.
pub(crate) fn answered() -> ApiError {
    ApiError::new(ErrorCode::Conflict).with_detail("Cette invitation a déjà reçu une réponse")
}

/// Accept an invitation: the caller becomes a member with the role offered.
#[utoipa::path(post, path = "/api/v1/invitations/{id}/accept", tag = "members",
    security(("bearer" = [])), params(("id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "Now a member", body = MemberResponse),
        (status = 400, description = "The tontine is full or inactive", body = ErrorBody),
        (status = 404, description = "Not one of the caller's invitations", body = ErrorBody),
        (status = 409, description = "Already answered, or already a member", body = ErrorBody)))]
pub async fn accept(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
) -> ApiResult<Json<MemberResponse>> {
    let invitation = pending_of(&state, &caller, id).await?;
    let tontine = state
        .store()
        .tontine_by_id(invitation.tontine_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let member = enroll(
        &state,
        &tontine,
        caller.id,
        invitation.role,
        invitation.order_position,
        Some(id),
    )
    .await?;
    tracing::info!(invitation = %id, tontine = %tontine.id, "invitation accepted");
    Ok(Json(member.into()))
}

/// Refuse an invitation: nothing changes in the tontine.
#[utoipa::path(post, path = "/api/v1/invitations/{id}/refuse", tag = "members",
    security(("bearer" = [])), params(("id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "Refused", body = InvitationResponse),
        (status = 404, description = "Not one of the caller's invitations", body = ErrorBody),
        (status = 409, description = "Already answered", body = ErrorBody)))]
pub async fn refuse(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
) -> ApiResult<Json<InvitationResponse>> {
    pending_of(&state, &caller, id).await?;
    if !state
        .store()
        .decide_invitation(id, InvitationStatus::Refusee, state.now())
        .await?
    {
        return Err(answered());
    }
    let invitation = state
        .store()
        .invitation_by_id(id)
        .await?
        .ok_or_else(ApiError::internal)?;
    Ok(Json(invitation.into()))
}
