//! The `/users` routes: list (admin), get, update, deactivate.

use axum::{Json, Router, extract::State, routing::get};
use kobiri_core::{Action, Actor, ErrorCode, UserId};

use crate::{
    auth::{
        AuthUser,
        dto::{UserListQuery, UserResponse, UserUpdateRequest},
    },
    error::{ApiError, ApiResult, ErrorBody},
    extract::{AppJson, AppQuery, PathId, page_request},
    state::AppState,
    store::{Page, User},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/users", get(list_users)).route(
        "/users/{id}",
        get(get_user).put(update_user).delete(deactivate_user),
    )
}

/// Who may manage a user: themselves and admins.
fn may_manage(caller: &User, target: UserId) -> bool {
    caller.id == target || caller.is_admin()
}

/// Loads a user the caller may manage (update, deactivate). Refused: a 403 to someone who
/// may see that user (a co-member of a tontine), a 404 to anyone else, so existence does not
/// leak.
async fn load_managed(state: &AppState, caller: &User, id: UserId) -> ApiResult<User> {
    if !may_manage(caller, id) {
        return Err(if state.store().share_tontine(caller.id, id).await? {
            ApiError::forbidden()
        } else {
            ApiError::not_found()
        });
    }
    state
        .store()
        .user_by_id(id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// Loads a user the caller may see: themselves, anyone for an admin, and the members of the
/// tontines the caller belongs to.
async fn load_visible(state: &AppState, caller: &User, id: UserId) -> ApiResult<User> {
    if !may_manage(caller, id) && !state.store().share_tontine(caller.id, id).await? {
        return Err(ApiError::not_found());
    }
    state
        .store()
        .user_by_id(id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// All users (admin only), newest first, searchable by e-mail, name or phone.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])),
    params(UserListQuery),
    responses(
        (status = 200, description = "A page of users", body = Page<UserResponse>),
        (status = 403, description = "Not an admin", body = ErrorBody)))]
pub async fn list_users(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    AppQuery(query): AppQuery<UserListQuery>,
) -> ApiResult<Json<Page<UserResponse>>> {
    if !caller.is_admin() {
        return Err(ApiError::forbidden());
    }
    let page = page_request(query.page, query.page_size)?;
    let users = state
        .store()
        .list_users(query.search.as_deref(), page)
        .await?;
    Ok(Json(users.map(UserResponse::from)))
}

/// Whether `caller` may see `target`'s contact details (e-mail, phone, address): oneself, an
/// admin, and a collector, treasurer or president of a tontine where both are members.
async fn sees_contacts(state: &AppState, caller: &User, target: UserId) -> ApiResult<bool> {
    if may_manage(caller, target) {
        return Ok(true);
    }
    let roles = state.store().roles_beside(caller.id, target).await?;
    Ok(roles
        .into_iter()
        .any(|r| kobiri_core::may(Actor::Member(r), Action::ViewMemberContacts)))
}

/// One user: oneself, anyone for an admin, and fellow members of the caller's tontines. A
/// fellow member's e-mail, phone and address are shown only to the collectors, treasurers
/// and presidents of a tontine they share; other members get them as `null`.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = UserResponse),
        (status = 404, description = "No such user, or not visible to the caller", body = ErrorBody)))]
pub async fn get_user(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
) -> ApiResult<Json<UserResponse>> {
    let user = load_visible(&state, &caller, UserId::from_uuid(id)).await?;
    let shown = UserResponse::from(user.clone());
    Ok(Json(if sees_contacts(&state, &caller, user.id).await? {
        shown
    } else {
        shown.without_contacts()
    }))
}

/// Update a profile: oneself or an admin; only an admin may change `role` or `is_active`.
#[utoipa::path(put, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "User id")),
    request_body = UserUpdateRequest,
    responses(
        (status = 200, description = "The updated user", body = UserResponse),
        (status = 403, description = "Another member's account, or role or is_active sent by a non-admin", body = ErrorBody),
        (status = 404, description = "No such user, or not visible to the caller", body = ErrorBody),
        (status = 409, description = "Phone already used", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody)))]
pub async fn update_user(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
    AppJson(body): AppJson<UserUpdateRequest>,
) -> ApiResult<Json<UserResponse>> {
    let target = load_managed(&state, &caller, UserId::from_uuid(id)).await?;
    let patch = body.into_patch()?;
    if (patch.role.is_some() || patch.is_active.is_some()) && !caller.is_admin() {
        return Err(ApiError::forbidden().with_detail(
            "Seul un administrateur peut modifier le rôle ou l'activation d'un compte",
        ));
    }
    let user = state
        .store()
        .update_user(target.id, &patch, state.now())
        .await?;
    state.cache.forget_user(target.id);
    if patch.is_active == Some(false) {
        // Deactivation by an admin through PUT has the same effect as DELETE.
        let user = state.store().deactivate_user(user.id, state.now()).await?;
        state.cache.forget_user(user.id);
        state.cache.forget_sessions_of(user.id);
        return Ok(Json(user.into()));
    }
    Ok(Json(user.into()))
}

/// Deactivate an account (soft delete): oneself or an admin. Its tokens stop working.
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The deactivated user", body = UserResponse),
        (status = 403, description = "Another member's account", body = ErrorBody),
        (status = 404, description = "No such user, or not visible to the caller", body = ErrorBody)))]
pub async fn deactivate_user(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
) -> ApiResult<Json<UserResponse>> {
    let target = load_managed(&state, &caller, UserId::from_uuid(id)).await?;
    if !target.is_active {
        return Err(
            ApiError::new(ErrorCode::BusinessRule).with_detail("Ce compte est déjà désactivé")
        );
    }
    let user = state
        .store()
        .deactivate_user(target.id, state.now())
        .await?;
    state.cache.forget_user(target.id);
    state.cache.forget_sessions_of(target.id);
    tracing::info!(user_id = %user.id, by = %caller.id, "account deactivated");
    Ok(Json(user.into()))
}
