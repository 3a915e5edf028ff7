//! The API error: one type, mapped in one place to the contract's
//! `{"detail", "code", "errors"}` body and its status code.

use std::borrow::Cow;

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use kobiri_core::{ErrorCode, FieldError, FieldErrors};
use serde::Serialize;

use crate::store::{StoreError, Unique};

/// An error answered to an API client.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    detail: Cow<'static, str>,
    errors: Vec<FieldError>,
    retry_after_secs: Option<u64>,
}

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "detail": "Données invalides",
    "code": "validation_error",
    "errors": [{"field": "phone", "message": "numéro de téléphone invalide"}]
}))]
pub struct ErrorBody {
    /// A message in French, for people.
    pub detail: String,
    /// A stable snake_case code, for programs.
    pub code: String,
    /// The fields at fault, for validation errors.
    pub errors: Vec<FieldErrorBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FieldErrorBody {
    pub field: String,
    pub message: String,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with the code's default French message.
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            detail: Cow::Borrowed(code.default_message()),
            errors: vec![],
            retry_after_secs: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<Cow<'static, str>>) -> Self {
        self.detail = detail.into();
        self
    }

    /// A 422 naming the fields at fault.
    pub fn validation(errors: FieldErrors) -> Self {
        let errors = errors.into_vec();
        let detail = match errors.as_slice() {
            [one] => Cow::Owned(format!("{} : {}", one.field, one.message)),
            _ => Cow::Borrowed(ErrorCode::ValidationError.default_message()),
        };
        Self {
            code: ErrorCode::ValidationError,
            detail,
            errors,
            retry_after_secs: None,
        }
    }

    /// A 422 on one field.
    pub fn field(field: impl Into<String>, message: impl ToString) -> Self {
        let mut errors = FieldErrors::new();
        errors.push(field, message);
        Self::validation(errors)
    }

    /// Names a field at fault, keeping the code and detail.
    pub fn with_field(mut self, field: impl Into<String>, message: impl ToString) -> Self {
        let mut errors = FieldErrors::new();
        errors.push(field, message);
        self.errors.extend(errors.into_vec());
        self
    }

    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound)
    }

    pub fn forbidden() -> Self {
        Self::new(ErrorCode::Forbidden)
    }

    pub fn internal() -> Self {
        Self::new(ErrorCode::InternalError)
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut err = Self::new(ErrorCode::RateLimited);
        err.retry_after_secs = Some(retry_after_secs.max(1));
        err
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The `Retry-After` of a 429, in seconds.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after_secs
    }

    pub fn status(&self) -> StatusCode {
        status_of(self.code)
    }
}

/// The status of each error code: the one place where codes meet HTTP.
pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode as C;
    match code {
        C::ValidationError | C::InvalidJson | C::PasswordMismatch | C::InvalidSyncRequest => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        C::NotAuthenticated
        | C::TokenInvalid
        | C::TokenExpired
        | C::TokenReused
        | C::SessionRevoked => StatusCode::UNAUTHORIZED,
        C::InvalidCredentials => StatusCode::UNAUTHORIZED,
        C::AccountInactive | C::Forbidden | C::DeviceRevoked => StatusCode::FORBIDDEN,
        C::NotFound => StatusCode::NOT_FOUND,
        C::EmailTaken | C::PhoneTaken | C::PhoneNeedsVerification | C::Conflict => {
            StatusCode::CONFLICT
        }
        C::WrongPassword
        | C::InvalidCode
        | C::CodeExpired
        | C::TooManyAttempts
        | C::BusinessRule
        | C::ProtocolVersionUnsupported => StatusCode::BAD_REQUEST,
        C::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        C::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        C::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        C::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        C::Timeout => StatusCode::REQUEST_TIMEOUT,
        C::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        C::ProviderNotConfigured | C::PayoutUnavailable => StatusCode::BAD_REQUEST,
        C::ProviderUnavailable | C::ProviderRejected => StatusCode::BAD_GATEWAY,
        C::CallbackRejected => StatusCode::UNAUTHORIZED,
        C::AmountMismatch | C::PayoutExceedsPot | C::ReceiptExceedsPayout => StatusCode::CONFLICT,
        C::PayoutPhoneUnverified => StatusCode::UNPROCESSABLE_ENTITY,
        C::SelfApproval => StatusCode::FORBIDDEN,
        C::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The code answered for a bare status (a route that does not exist, a wrong method, a body
/// over the limit, a timeout) when no handler produced a contract error.
pub fn code_for_status(status: StatusCode) -> ErrorCode {
    match status {
        StatusCode::UNAUTHORIZED => ErrorCode::NotAuthenticated,
        StatusCode::FORBIDDEN => ErrorCode::Forbidden,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => ErrorCode::Timeout,
        StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => ErrorCode::ValidationError,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::ServiceUnavailable,
        s if s.is_server_error() => ErrorCode::InternalError,
        _ => ErrorCode::NotFound,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(code = self.code.as_str(), detail = %self.detail, "request failed");
        }
        let body = ErrorBody {
            detail: self.detail.into_owned(),
            code: self.code.as_str().to_owned(),
            errors: self
                .errors
                .into_iter()
                .map(|e| FieldErrorBody {
                    field: e.field,
                    message: e.message,
                })
                .collect(),
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Conflict { .. } => ApiError::new(match err.unique() {
                Some(Unique::UserEmail) => ErrorCode::EmailTaken,
                Some(Unique::UserPhone) => ErrorCode::PhoneTaken,
                _ => ErrorCode::Conflict,
            }),
            other => {
                // The detail stays in the log, inside the request's span; the client gets
                // nothing internal.
                tracing::error!(error = %other, "store error");
                ApiError::internal()
            }
        }
    }
}

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        ApiError::validation(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_status_and_only_internal_is_500() {
        for code in ErrorCode::ALL {
            let status = status_of(*code);
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{code:?}"
            );
            if status == StatusCode::INTERNAL_SERVER_ERROR {
                assert_eq!(*code, ErrorCode::InternalError);
            }
        }
    }

    #[test]
    fn unique_violations_name_the_taken_field() {
        let email = ApiError::from(StoreError::Conflict {
            constraint: "users_email_key".into(),
        });
        assert_eq!(email.code(), ErrorCode::EmailTaken);
        let phone = ApiError::from(StoreError::Conflict {
            constraint: "users.phone".into(),
        });
        assert_eq!(phone.code(), ErrorCode::PhoneTaken);
        assert_eq!(phone.status(), StatusCode::CONFLICT);
        // By exact name: another constraint that merely mentions a phone is a plain conflict.
        let other = ApiError::from(StoreError::Conflict {
            constraint: "payout_phones_pkey".into(),
        });
        assert_eq!(other.code(), ErrorCode::Conflict);
    }

    #[test]
    fn a_single_field_error_names_the_field_in_the_detail() {
        let err = ApiError::field("email", "adresse e-mail invalide");
        assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(err.detail.contains("email"));
    }
}
