//! `POST /sync` bodies: CBOR by default, JSON for debugging, either way in and out. Request
//! compression (gzip, zstd) is undone by the route's decompression layer, within the body limit.

use axum::{
    body::Bytes,
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
};
use kobiri_core::{
    ErrorCode,
    sync::{self, SyncRequest, SyncResponse, WireRequest},
};

use crate::error::{ApiError, ApiResult};

pub const CBOR: &str = "application/cbor";
const JSON: &str = "application/json";

/// A CBOR body in the OpenAPI document: bytes whose form the body's description gives.
pub struct CborBytes;

impl utoipa::PartialSchema for CborBytes {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .content_media_type(CBOR)
            .description(Some("CBOR bytes (`application/cbor`)"))
            .into()
    }
}

impl utoipa::ToSchema for CborBytes {}

/// The format of a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Cbor,
    Json,
}

fn media_type(value: Option<&HeaderValue>) -> Option<String> {
    let v = value?.to_str().ok()?;
    Some(v.split(';').next()?.trim().to_ascii_lowercase())
}

/// Reads the request in the format its `Content-Type` names.
pub fn read_request(headers: &HeaderMap, body: &Bytes) -> ApiResult<(WireRequest, Format)> {
    match media_type(headers.get(header::CONTENT_TYPE)).as_deref() {
        Some(CBOR) => {
            let request = sync::decode_request(body).map_err(|e| {
                let error = ApiError::new(ErrorCode::InvalidSyncRequest).with_detail(e.to_string());
                match e.field() {
                    Some(field) => error.with_field(field, e.to_string()),
                    None => error,
                }
            })?;
            Ok((request, Format::Cbor))
        }
        Some(JSON) => {
            let mut de = serde_json::Deserializer::from_slice(body);
            let request: SyncRequest = serde_path_to_error::deserialize(&mut de).map_err(|e| {
                let field = e.path().to_string();
                ApiError::new(ErrorCode::InvalidSyncRequest)
                    .with_detail(format!(
                        "Requête de synchronisation invalide : {}",
                        e.inner()
                    ))
                    .with_field(field, e.inner().to_string())
            })?;
            let request = WireRequest::from(&request);
            request.check_bounds().map_err(|e| {
                ApiError::new(ErrorCode::InvalidSyncRequest).with_detail(e.to_string())
            })?;
            Ok((request, Format::Json))
        }
        _ => Err(ApiError::new(ErrorCode::UnsupportedMediaType).with_detail(
            "Type de contenu non pris en charge (application/cbor ou application/json)",
        )),
    }
}

/// The answer's format: what `Accept` names, else the request's.
pub fn answer_format(headers: &HeaderMap, request: Format) -> Format {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.contains(CBOR) {
        Format::Cbor
    } else if accept.contains(JSON) {
        Format::Json
    } else {
        request
    }
}

/// The answer as a response in `format`.
pub fn respond(response: &SyncResponse, format: Format) -> Response {
    match format {
        Format::Cbor => (
            [(header::CONTENT_TYPE, HeaderValue::from_static(CBOR))],
            sync::encode_response(response),
        )
            .into_response(),
        Format::Json => axum::Json(response).into_response(),
    }
}
