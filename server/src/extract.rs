//! Extractors whose rejections are contract errors (422 with the field named), never axum's
//! plain-text rejections.

use std::net::{IpAddr, SocketAddr};

use axum::{
    body::Bytes,
    extract::{ConnectInfo, FromRequest, FromRequestParts, Request},
    http::{header, request::Parts},
};
use kobiri_core::ErrorCode;
use serde::de::DeserializeOwned;

use crate::{error::ApiError, state::AppState, store::PageRequest};

/// A JSON body. An empty body reads as `{}` (action endpoints accept one); a malformed
/// document, a missing field, a wrong type or an unknown enum value is a 422 naming the field.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppJson<T>(pub T);

impl<S, T> FromRequest<S> for AppJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = content_type(req.headers());
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|r| body_rejection(&r))?;
        let has_body = !bytes.iter().all(u8::is_ascii_whitespace);
        if has_body && content_type.is_some_and(|ct| !is_json(&ct)) {
            return Err(ApiError::new(ErrorCode::UnsupportedMediaType));
        }
        parse_json(&bytes).map(AppJson)
    }
}

/// Parses a JSON document (empty means `{}`) into `T`, naming the field at fault.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        json_error(&path, &inner)
    })
}

fn json_error(path: &str, err: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let message = err.to_string();
    match err.classify() {
        Category::Syntax | Category::Eof | Category::Io => ApiError::new(ErrorCode::InvalidJson)
            .with_detail(format!(
                "JSON invalide (ligne {}, colonne {})",
                err.line(),
                err.column()
            )),
        Category::Data => {
            // "missing field `x` at line 1 column 2": the field is in the message, not the path.
            let field = missing_field(&message)
                .map(|f| join_path(path, f))
                .unwrap_or_else(|| {
                    if path == "." {
                        "body".to_owned()
                    } else {
                        path.to_owned()
                    }
                });
            let reason = if missing_field(&message).is_some() {
                "champ obligatoire".to_owned()
            } else {
                french_data_error(&message)
            };
            ApiError::field(field, reason)
        }
    }
}

fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

fn join_path(path: &str, field: &str) -> String {
    if path.is_empty() || path == "." {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

/// serde's messages are English; keep the useful part (our own validation messages are French
/// already) and translate the common shapes.
fn french_data_error(message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or(message);
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let found = rest.split(", expected").next().unwrap_or(rest);
        let expected = rest.split(", expected ").nth(1).unwrap_or("autre chose");
        return format!("type invalide ({found}), attendu : {expected}");
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        return match rest.split_once(", expected one of ") {
            Some((value, expected)) => {
                format!("valeur inconnue {value} (valeurs acceptées : {expected})")
            }
            None => format!("valeur inconnue {rest}"),
        };
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        return format!("champ inconnu {rest}");
    }
    message.to_owned()
}

fn content_type(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase)
}

pub(crate) fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence == "application/json" || essence.ends_with("+json")
}

pub(crate) fn body_rejection(rejection: &axum::extract::rejection::BytesRejection) -> ApiError {
    if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(ErrorCode::PayloadTooLarge)
    } else {
        ApiError::new(ErrorCode::InvalidJson).with_detail("Corps de requête illisible")
    }
}

/// Query parameters; a wrong one is a 422 naming it.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for AppQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(AppQuery)
            .map_err(|err| {
                let field = err.path().to_string();
                let message = french_data_error(&err.into_inner().to_string());
                ApiError::field(
                    if field == "." {
                        "query".to_owned()
                    } else {
                        field
                    },
                    message,
                )
            })
    }
}

/// `?page=&page_size=` into a page request: page from 1, page_size 1 to 100 (default 20).
pub fn page_request(page: Option<u32>, page_size: Option<u32>) -> Result<PageRequest, ApiError> {
    let page_size = page_size.unwrap_or(PageRequest::DEFAULT_PAGE_SIZE);
    let page = page.unwrap_or(1);
    if page == 0 {
        return Err(ApiError::field("page", "la page commence à 1"));
    }
    PageRequest::new(page, page_size)
        .ok_or_else(|| ApiError::field("page_size", "page_size doit être entre 1 et 100"))
}

/// A path parameter that must be a UUID: anything else is a 422 naming it.
#[derive(Debug, Clone, Copy)]
pub struct PathId(pub uuid::Uuid);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let PathIds(first, _) = PathIds::read(parts, state, 1).await?;
        Ok(PathId(first))
    }
}

/// Two UUID path parameters (`/tontines/{id}/members/{member_id}`).
#[derive(Debug, Clone, Copy)]
pub struct PathIds(pub uuid::Uuid, pub uuid::Uuid);

impl<S: Send + Sync> FromRequestParts<S> for PathIds {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Self::read(parts, state, 2).await
    }
}

impl PathIds {
    /// Reads `count` (1 or 2) UUID path parameters; a bad one is a 422 naming it.
    async fn read<S: Send + Sync>(
        parts: &mut Parts,
        state: &S,
        count: usize,
    ) -> Result<Self, ApiError> {
        let axum::extract::Path(params): axum::extract::Path<Vec<(String, String)>> =
            axum::extract::Path::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::field("id", "identifiant manquant"))?;
        let parse = |(name, raw): &(String, String)| {
            uuid::Uuid::parse_str(raw)
                .map_err(|_| ApiError::field(name.clone(), "identifiant invalide (UUID attendu)"))
        };
        match (params.as_slice(), count) {
            ([a], 1) => Ok(PathIds(parse(a)?, uuid::Uuid::nil())),
            ([a, b], 2) => Ok(PathIds(parse(a)?, parse(b)?)),
            _ => Err(ApiError::field("id", "identifiant manquant")),
        }
    }
}

/// The client's address, for rate limits: the TCP peer, or what a trusted proxy forwarded
/// (`client_ip`).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([127, 0, 0, 1]), |ConnectInfo(addr)| addr.ip());
        Ok(ClientIp(
            state.config.trusted_proxies.client_ip(peer, &parts.headers),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        count: u32,
        kind: Kind,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Rotative,
    }

    fn field_of(err: &ApiError) -> String {
        format!("{err:?}")
    }

    #[test]
    fn missing_field_is_named() {
        let err = parse_json::<Body>(br#"{"name": "a", "kind": "rotative"}"#).unwrap_err();
        assert_eq!(err.code(), ErrorCode::ValidationError);
        assert!(field_of(&err).contains("field: \"count\""), "{err:?}");
    }

    #[test]
    fn wrong_type_and_bad_enum_are_named() {
        let err =
            parse_json::<Body>(br#"{"name": "a", "count": "x", "kind": "rotative"}"#).unwrap_err();
        assert!(field_of(&err).contains("field: \"count\""), "{err:?}");
        let err = parse_json::<Body>(br#"{"name": "a", "count": 1, "kind": "bogus"}"#).unwrap_err();
        assert!(field_of(&err).contains("field: \"kind\""), "{err:?}");
    }

    #[test]
    fn malformed_json_is_invalid_json_and_empty_is_an_empty_object() {
        let err = parse_json::<Body>(b"{\"name\": ").unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidJson);
        #[derive(Debug, Deserialize)]
        struct Empty {
            #[serde(default)]
            force: bool,
        }
        assert!(!parse_json::<Empty>(b"").unwrap().force);
    }
}
