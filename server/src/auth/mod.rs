//! Authentication: the `AuthUser` extractor, token pairs, and the `/auth` routes.

pub mod codes;
pub mod dto;
pub mod handlers;
pub mod password;
pub mod rate_limit;
pub mod tokens;

use axum::{
    Router,
    extract::FromRequestParts,
    http::request::Parts,
    routing::{get, post},
};
use kobiri_core::ErrorCode;

use crate::{
    error::{ApiError, ApiResult},
    state::AppState,
    store::{NewRefreshToken, User},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(handlers::register))
        .route("/auth/login", post(handlers::login))
        .route("/auth/refresh", post(handlers::refresh))
        .route("/auth/logout", post(handlers::logout))
        .route("/auth/me", get(handlers::me))
        .route("/auth/change-password", post(handlers::change_password))
        .route("/auth/forgot-password", post(handlers::forgot_password))
        .route("/auth/reset-password", post(handlers::reset_password))
        .route("/auth/send-verification", post(handlers::send_verification))
        .route("/auth/verify", post(handlers::verify))
}

/// The authenticated caller: a valid, unexpired access token of an active user, whose
/// session is still open (not logged out, not closed by a password change or reset or by
/// revoking its device). Both checks read the per-process cache (`READ_CACHE_TTL_MS`).
#[derive(Debug, Clone)]
pub struct AuthUser(pub User);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ApiError::new(ErrorCode::NotAuthenticated))?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::new(ErrorCode::NotAuthenticated))?;
        let claims = state.tokens.verify_access(token, state.now())?;
        let user = state
            .cache
            .user(state.store(), claims.user)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid))?;
        if !user.is_active {
            return Err(ApiError::new(ErrorCode::AccountInactive));
        }
        let owner = state
            .cache
            .session_owner(state.store(), claims.session)
            .await?;
        if owner != Some(user.id) {
            return Err(ApiError::new(ErrorCode::SessionRevoked));
        }
        Ok(AuthUser(user))
    }
}

/// Closes a session: its refresh tokens are revoked, and its access tokens stop working in
/// this process at once (in the others within `READ_CACHE_TTL_MS`).
pub(crate) async fn close_session(
    state: &AppState,
    family: kobiri_core::TokenFamilyId,
) -> ApiResult<u64> {
    let revoked = state.store().revoke_family(family, state.now()).await?;
    state.cache.forget_session(family);
    Ok(revoked)
}

/// Issues an access token and a refresh token. With `family` the refresh token continues that
/// family (rotation); without, it starts a new one (login).
pub(crate) fn token_pair(
    state: &AppState,
    user: &User,
    family: Option<kobiri_core::TokenFamilyId>,
    device_id: Option<uuid::Uuid>,
) -> Result<(dto::TokenPair, NewRefreshToken), ApiError> {
    let now = state.now();
    let family = family.unwrap_or_default();
    let access = state.tokens.issue_access(user.id, family, now)?;
    let minted = state.tokens.mint_refresh();
    let record = NewRefreshToken {
        id: kobiri_core::new_uuid(),
        user_id: user.id,
        family_id: family,
        hash: minted.hash,
        device_id,
        issued_at: now,
        expires_at: now + state.tokens.refresh_ttl(device_id.is_some()),
    };
    let pair = dto::TokenPair {
        access_token: access,
        refresh_token: minted.secret,
        token_type: "bearer".to_owned(),
        expires_in: state.tokens.access_ttl().num_seconds(),
    };
    Ok((pair, record))
}
