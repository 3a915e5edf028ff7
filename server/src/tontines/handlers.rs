//! Tontine handlers: create, list, get, update, soft delete.

use axum::{Json, extract::State, http::StatusCode};
use kobiri_core::{Action, Actor, MemberId, TontineCode, TontineId, TontineRole, may};

use super::{
    TontineAccess,
    dto::{
        CreateTontineRequest, TontineDraft, TontineListQuery, TontineResponse, UpdateTontineRequest,
    },
};
use crate::{
    auth::AuthUser,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{AppJson, AppQuery, PathId, page_request},
    state::AppState,
    store::{NewMember, NewTontine, Page, TontineFilter, TontinePatch, Unique},
};

/// Length of generated join codes (the contract allows 6 to 10).
const CODE_LEN: usize = 8;
/// A fresh code colliding with an existing one is retried this many times.
const CODE_TRIES: usize = 5;

/// Create a tontine; the caller becomes its president.
#[utoipa::path(post, path = "/api/v1/tontines", tag = "tontines", security(("bearer" = [])),
    request_body = CreateTontineRequest,
    responses(
        (status = 201, description = "Created", body = TontineResponse),
        (status = 422, description = "Invalid field", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    AppJson(body): AppJson<CreateTontineRequest>,
) -> ApiResult<(StatusCode, Json<TontineResponse>)> {
    let draft = TontineDraft::try_from(body)?;
    let now = state.now();
    for _ in 0..CODE_TRIES {
        let tontine = NewTontine {
            id: TontineId::new(),
            name: draft.name.clone(),
            description: draft.description.clone(),
            code: TontineCode::generate(&mut rand::rng(), CODE_LEN),
            kind: draft.kind,
            frequency: draft.frequency,
            contribution: draft.contribution,
            max_members: draft.limits.max(),
            min_members: draft.limits.min(),
            start_date: draft.start_date,
            end_date: draft.end_date,
            rules: draft.rules.clone(),
            penalty: draft.penalty,
            grace_period_days: draft.grace.days(),
            is_public: draft.is_public,
            created_by_id: caller.id,
            now,
        };
        let president = NewMember {
            id: MemberId::new(),
            tontine_id: tontine.id,
            user_id: caller.id,
            role: TontineRole::President,
            order_position: None,
            now,
        };
        match state.store().create_tontine(&tontine, &president).await {
            Ok(created) => return Ok((StatusCode::CREATED, Json(created.into()))),
            Err(e) if e.unique() == Some(Unique::TontineCode) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::internal())
}

/// The caller's tontines; `?is_public=true` lists public ones; an admin sees all. Deactivated
/// tontines are left out unless `?include_inactive=true`, which shows an admin every one and
/// anyone else those they manage (treasurer or president); for others it changes nothing.
#[utoipa::path(get, path = "/api/v1/tontines", tag = "tontines", security(("bearer" = [])),
    params(TontineListQuery),
    responses((status = 200, description = "A page of tontines", body = Page<TontineResponse>)))]
pub async fn list(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    AppQuery(query): AppQuery<TontineListQuery>,
) -> ApiResult<Json<Page<TontineResponse>>> {
    let page = page_request(query.page, query.page_size)?;
    let inactive = query.include_inactive == Some(true);
    let filter = match (query.is_public, caller.is_admin(), inactive) {
        (Some(true), _, _) => TontineFilter::Public,
        (_, true, false) => TontineFilter::All,
        (_, true, true) => TontineFilter::AllWithInactive,
        (_, false, false) => TontineFilter::MemberOf(caller.id),
        (_, false, true) => {
            TontineFilter::MemberOfWithInactive(caller.id, roles_allowed(Action::ViewInactive))
        }
    };
    let tontines = state.store().list_tontines(filter, page).await?;
    Ok(Json(tontines.map(TontineResponse::from)))
}

/// The tontine roles that may do `action`.
fn roles_allowed(action: Action) -> Vec<TontineRole> {
    TontineRole::ALL
        .iter()
        .copied()
        .filter(|r| may(Actor::Member(*r), action))
        .collect()
}

/// One tontine: for its members, for anyone if it is public, for admins.
#[utoipa::path(get, path = "/api/v1/tontines/{id}", tag = "tontines", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "The tontine", body = TontineResponse),
        (status = 404, description = "Unknown or not visible", body = ErrorBody)))]
pub async fn get_one(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
) -> ApiResult<Json<TontineResponse>> {
    let access = TontineAccess::load(&state, &caller, TontineId::from_uuid(id)).await?;
    access.require(Action::ViewTontine)?;
    Ok(Json(access.tontine.into()))
}

/// Update a tontine (president or admin).
#[utoipa::path(put, path = "/api/v1/tontines/{id}", tag = "tontines", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)), request_body = UpdateTontineRequest,
    responses(
        (status = 200, description = "Updated", body = TontineResponse),
        (status = 403, description = "Not the president", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
    AppJson(body): AppJson<UpdateTontineRequest>,
) -> ApiResult<Json<TontineResponse>> {
    let access = TontineAccess::load(&state, &caller, TontineId::from_uuid(id)).await?;
    access.require(Action::UpdateTontine)?;
    let patch = body.into_patch(&access.tontine)?;
    let tontine = state
        .store()
        .update_tontine(access.tontine.id, &patch, state.now())
        .await?;
    state.cache.forget_tontine(access.tontine.id);
    Ok(Json(tontine.into()))
}

/// Soft delete: the tontine becomes inactive (president or admin).
#[utoipa::path(delete, path = "/api/v1/tontines/{id}", tag = "tontines", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "Deactivated", body = TontineResponse),
        (status = 403, description = "Not the president", body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
) -> ApiResult<Json<TontineResponse>> {
    let access = TontineAccess::load(&state, &caller, TontineId::from_uuid(id)).await?;
    access.require(Action::DeleteTontine)?;
    let patch = TontinePatch {
        is_active: Some(false),
        ..TontinePatch::default()
    };
    let tontine = state
        .store()
        .update_tontine(access.tontine.id, &patch, state.now())
        .await?;
    state.cache.forget_tontine(access.tontine.id);
    Ok(Json(tontine.into()))
}
