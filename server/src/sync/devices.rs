//! Devices: a collector's phone enrolls for sync and gets a long-lived, device-bound refresh
//! token; the owner lists their devices and revokes a lost one.

use axum::{Json, extract::State, http::StatusCode};
use kobiri_core::{DeviceId, ErrorCode, bounded_text};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    auth::{AuthUser, token_pair},
    error::{ApiError, ApiResult, ErrorBody},
    extract::{AppJson, PathId},
    state::AppState,
    store::{Device, NewDevice},
};

const NAME_MAX: usize = 100;
const PLATFORM_MAX: usize = 30;

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"name": "Tecno Spark d'Awa", "platform": "android"}))]
pub struct EnrollRequest {
    pub name: String,
    pub platform: String,
}

/// An enrolled device.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceResponse {
    pub device_id: uuid::Uuid,
    pub name: String,
    pub platform: String,
    /// The last mutation number the server applied from this device.
    pub last_seq: u64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_seen_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<Device> for DeviceResponse {
    fn from(d: Device) -> Self {
        Self {
            device_id: d.id.as_uuid(),
            name: d.name,
            platform: d.platform,
            last_seq: d.last_seq,
            created_at: d.created_at,
            last_seen_at: d.last_seen_at,
            revoked_at: d.revoked_at,
        }
    }
}

/// The enrolled device and its own token pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrollResponse {
    #[serde(flatten)]
    pub device: DeviceResponse,
    pub access_token: String,
    /// Bound to this device: long-lived, rotated on use, revoked with the device.
    pub refresh_token: String,
    pub token_type: String,
    pub expires_in: i64,
}

fn text(field: &str, value: &str, max: usize) -> ApiResult<String> {
    bounded_text(value, max)
        .map_err(|e| ApiError::field(field, e))?
        .ok_or_else(|| ApiError::field(field, "ce champ est obligatoire"))
}

/// Enroll the caller's phone for offline sync. The answer carries a refresh token bound to the
/// device: revoking the device revokes it.
#[utoipa::path(post, path = "/api/v1/devices", tag = "sync", security(("bearer" = [])),
    request_body = EnrollRequest,
    responses(
        (status = 201, description = "The device, enrolled, with its refresh token", body = EnrollResponse),
        (status = 422, description = "Invalid field", body = ErrorBody)))]
pub async fn enroll(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    AppJson(body): AppJson<EnrollRequest>,
) -> ApiResult<(StatusCode, Json<EnrollResponse>)> {
    let device = NewDevice {
        id: DeviceId::new(),
        user_id: caller.id,
        name: text("name", &body.name, NAME_MAX)?,
        platform: text("platform", &body.platform, PLATFORM_MAX)?.to_lowercase(),
        now: state.now(),
    };
    let device = state.store().insert_device(&device).await?;
    let (pair, record) = token_pair(&state, &caller, None, Some(device.id.as_uuid()))?;
    state.store().insert_refresh_token(&record).await?;
    Ok((
        StatusCode::CREATED,
        Json(EnrollResponse {
            device: device.into(),
            access_token: pair.access_token,
            refresh_token: pair.refresh_token,
            token_type: pair.token_type,
            expires_in: pair.expires_in,
        }),
    ))
}

/// The caller's devices, revoked ones included.
#[utoipa::path(get, path = "/api/v1/devices", tag = "sync", security(("bearer" = [])),
    responses((status = 200, description = "The caller's devices", body = Vec<DeviceResponse>)))]
pub async fn list(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> ApiResult<Json<Vec<DeviceResponse>>> {
    let devices = state.store().devices_of(caller.id).await?;
    Ok(Json(devices.into_iter().map(Into::into).collect()))
}

/// Revoke one of the caller's devices (a lost phone): its refresh and access tokens die and
/// `/sync` refuses it. An admin may revoke anyone's device.
#[utoipa::path(delete, path = "/api/v1/devices/{id}", tag = "sync", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "The device, now revoked", body = DeviceResponse),
        (status = 404, description = "Not one of the caller's devices", body = ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
) -> ApiResult<Json<DeviceResponse>> {
    let id = DeviceId::from_uuid(id);
    let device = state
        .store()
        .device_by_id(id)
        .await?
        .filter(|d| d.user_id == caller.id || caller.role.is_admin())
        .ok_or_else(ApiError::not_found)?;
    state.store().revoke_device(device.id, state.now()).await?;
    // Its sessions are closed: their access tokens stop working too.
    state.cache.forget_sessions_of(device.user_id);
    let device = state
        .store()
        .device_by_id(device.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(device.into()))
}

/// The caller's device, usable for sync: 403 for another user's or a revoked one.
pub(super) async fn usable_device(
    state: &AppState,
    caller: &crate::store::User,
    id: DeviceId,
) -> ApiResult<Device> {
    let device = state
        .store()
        .device_by_id(id)
        .await?
        .filter(|d| d.user_id == caller.id)
        .ok_or_else(|| {
            ApiError::new(ErrorCode::Forbidden)
                .with_detail("Cet appareil n'est pas enregistré à votre nom")
        })?;
    if device.revoked_at.is_some() {
        tracing::warn!(device = %device.id, user = %caller.id, "sync: revoked device refused");
        state.metrics.event(
            crate::metrics::Event::RevokedDevice,
            ErrorCode::DeviceRevoked.as_str(),
        );
        return Err(ApiError::new(ErrorCode::DeviceRevoked));
    }
    Ok(device)
}
