//! Offline sync: device enrollment, `POST /sync` (push then pull in one round trip), the
//! treasurers' review queue, integrity incidents and receipt checks. The protocol is described
//! in `kobiri_core::sync` and in the README's "Offline sync"; this module applies it to the
//! store.

mod apply;
mod body;
pub(crate) mod devices;
mod digests;
mod effects;
mod pull;
mod push;
pub(crate) mod review;

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, State},
    http::HeaderMap,
    response::Response,
    routing::{delete, get, post},
};
use kobiri_core::{
    ErrorCode,
    sync::{MAX_REQUEST_BYTES, PROTOCOL_VERSION, SyncRequest, SyncResponse},
};
use tower_http::decompression::RequestDecompressionLayer;

pub use body::{CBOR, CborBytes};
pub use devices::{DeviceResponse, EnrollRequest, EnrollResponse};
pub use digests::DigestCache;
pub use review::{FlagResponse, IncidentResponse, ReceiptResponse, ResolveRequest};

use crate::{
    auth::AuthUser,
    error::{ApiError, ApiResult, ErrorBody},
    state::AppState,
};

/// The oldest client protocol this server still serves; older ones must upgrade.
pub const MIN_PROTOCOL_VERSION: u32 = 1;

/// The routes under `/api/v1`.
pub fn api_router() -> Router<AppState> {
    Router::new()
        .route("/devices", post(devices::enroll).get(devices::list))
        .route("/devices/{id}", delete(devices::revoke))
        .route("/receipts/{receipt_code}", get(review::receipt))
        .route("/tontines/{id}/flags", get(review::flags))
        .route(
            "/tontines/{id}/flags/{flag_id}/resolve",
            post(review::resolve),
        )
        .route("/tontines/{id}/incidents", get(review::incidents))
}

/// `POST /sync`, at the root like the contract says, with its own body limit (checked after
/// decompression, so a compressed bomb stops at the limit).
pub fn sync_router() -> Router<AppState> {
    Router::new()
        .route("/sync", post(sync))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .layer(RequestDecompressionLayer::new())
}

/// Push the device's mutations and pull the changes of its scopes, in one round trip.
///
/// Body: CBOR (`application/cbor`, the default; see `kobiri_core::sync::wire`) or JSON,
/// optionally gzip- or zstd-compressed (`Content-Encoding`). The answer follows `Accept`.
/// Each mutation is applied exactly once per device number, the whole batch in one
/// transaction, and gets its own outcome (one the database refuses is rejected alone, see
/// [`apply`]); a gap or a broken chain is recorded as an integrity incident. A client older
/// than the server supports gets `upgrade_required` and nothing is applied.
#[utoipa::path(post, path = "/sync", tag = "sync", security(("bearer" = [])),
    request_body(
        description = "JSON: a `SyncRequest`, mutations as objects. CBOR (the default): one map \
            `{v: protocol version, device: device id as 16 bytes, mutations: [each mutation's \
            canonical CBOR as a byte string], cursors: [[tontine id as 16 bytes, cursor]]}`. \
            Either may be gzip- or zstd-compressed (`Content-Encoding`).",
        content(
            (SyncRequest = "application/json"),
            (CborBytes = "application/cbor"))),
    responses(
        (status = 200, description = "One outcome per mutation and the changes per scope: a \
            `SyncResponse` in JSON, or the same fields in CBOR with UUIDs as 16-byte byte \
            strings. `upgrade_required: true` when the client is too old (nothing applied).",
            content(
                (SyncResponse = "application/json"),
                (CborBytes = "application/cbor"))),
        (status = 400, description = "A protocol version newer than the server's", body = ErrorBody),
        (status = 403, description = "Another user's device, or a revoked one", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "Neither CBOR nor JSON", body = ErrorBody),
        (status = 422, description = "Unreadable body or oversized batch", body = ErrorBody)))]
pub async fn sync(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let (request, format) = body::read_request(&headers, &body)?;
    let format = body::answer_format(&headers, format);
    if request.protocol_version < u64::from(MIN_PROTOCOL_VERSION) {
        return Ok(body::respond(&SyncResponse::upgrade_required(), format));
    }
    if request.protocol_version > u64::from(PROTOCOL_VERSION) {
        return Err(
            ApiError::new(ErrorCode::ProtocolVersionUnsupported).with_detail(format!(
                "Version du protocole {} non prise en charge : ce serveur parle la version {}",
                request.protocol_version, PROTOCOL_VERSION
            )),
        );
    }
    let outcomes = apply::push(&state, &caller, &request).await?;
    let device = devices::usable_device(&state, &caller, request.device_id).await?;
    let scopes = pull::pull(&state, &caller, &device, &request.cursors).await?;
    let response = SyncResponse {
        protocol_version: PROTOCOL_VERSION,
        upgrade_required: false,
        outcomes,
        scopes,
    };
    Ok(body::respond(&response, format))
}
