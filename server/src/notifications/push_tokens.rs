//! `POST /devices/{id}/push-token`: the caller's enrolled phone registers its FCM token, so
//! notifications with push enabled reach it. A device has one token (a new one replaces the
//! old); a token moves to the device that registers it last.

use axum::{extract::State, http::StatusCode};
use kobiri_core::DeviceId;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::{
    auth::AuthUser,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{AppJson, PathId},
    state::AppState,
    store::{NewPushToken, PushPlatform},
};

/// FCM registration tokens are about 160 characters; this leaves room.
const TOKEN_MAX: usize = 4096;

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"token": "dGVzdC10b2tlbi0xMjM0NTY3ODkw", "platform": "android"}))]
pub struct PushTokenRequest {
    /// The FCM registration token of the app on this device.
    pub token: String,
    /// `android`, `ios` or `web`.
    pub platform: String,
}

/// Register (or replace) the push token of one of the caller's devices. 204 on success; the
/// device of someone else, or none, is a 404; a revoked device a 403.
#[utoipa::path(post, path = "/api/v1/devices/{id}/push-token", tag = "notifications",
    security(("bearer" = [])), params(("id" = uuid::Uuid, Path)),
    request_body = PushTokenRequest,
    responses(
        (status = 204, description = "Token stored"),
        (status = 403, description = "The device is revoked", body = ErrorBody),
        (status = 404, description = "Not one of the caller's devices", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
    AppJson(body): AppJson<PushTokenRequest>,
) -> ApiResult<StatusCode> {
    let token = body.token.trim();
    if token.is_empty() || token.len() > TOKEN_MAX || token.chars().any(char::is_whitespace) {
        return Err(ApiError::field("token", "jeton push invalide"));
    }
    let platform = PushPlatform::parse(&body.platform.trim().to_lowercase())
        .ok_or_else(|| ApiError::field("platform", "valeurs possibles : android, ios, web"))?;
    let device = state
        .store()
        .device_by_id(DeviceId::from_uuid(id))
        .await?
        .filter(|d| d.user_id == caller.id)
        .ok_or_else(ApiError::not_found)?;
    if device.revoked_at.is_some() {
        return Err(ApiError::forbidden());
    }
    state
        .store()
        .set_push_token(&NewPushToken {
            user_id: caller.id,
            device_id: device.id,
            token: token.to_owned(),
            platform,
            now: state.now(),
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
