// Over 400 lines on purpose: the account routes' request and response types, with their OpenAPI
// schemas.
//! Request and response bodies of the auth and user routes, and their conversion into domain
//! values at the edge.

use chrono::{DateTime, Utc};
use kobiri_core::{
    Email, ErrorCode, FieldErrors, Password, PersonName, Phone, PlatformRole, bounded_text,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    error::ApiError,
    store::{User, VerifyChannel},
};

/// Longest accepted address; city and country take 100 characters.
const ADDRESS_MAX: usize = 255;
const PLACE_MAX: usize = 100;
const PICTURE_MAX: usize = 2048;

/// A user, as the contract shows it. Never a password hash.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01935f3e-8d3c-7c4a-9b1e-2f6a4d8c9e10", "email": "awa.diop@example.sn",
    "phone": "+221771234567", "first_name": "Awa", "last_name": "Diop", "full_name": "Awa Diop",
    "role": "membre", "is_active": true, "is_verified": false, "email_verified": false,
    "phone_verified": false, "profile_picture": null, "address": null, "city": "Dakar",
    "country": "Sénégal", "created_at": "2026-11-24T08:00:00Z", "last_login": null
}))]
pub struct UserResponse {
    pub id: uuid::Uuid,
    /// `null` for a fellow member who may not see contacts (see `GET /users/{id}`).
    pub email: Option<String>,
    /// `null` for a fellow member who may not see contacts (see `GET /users/{id}`).
    pub phone: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub full_name: String,
    /// `membre` or `admin`.
    pub role: String,
    pub is_active: bool,
    /// True once the e-mail address or the phone number is verified.
    pub is_verified: bool,
    pub email_verified: bool,
    pub phone_verified: bool,
    pub profile_picture: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_login: Option<DateTime<Utc>>,
}

impl UserResponse {
    /// Without the contact details (e-mail, phone, address): what a fellow member who may
    /// not see contacts gets.
    pub fn without_contacts(mut self) -> Self {
        self.email = None;
        self.phone = None;
        self.address = None;
        self
    }
}

impl From<User> for UserResponse {
    fn from(u: User) -> Self {
        Self {
            id: u.id.as_uuid(),
            full_name: u.full_name(),
            email: u.email.map(|e| e.as_str().to_owned()),
            phone: Some(u.phone.as_str().to_owned()),
            first_name: u.first_name,
            last_name: u.last_name,
            role: u.role.as_str().to_owned(),
            is_active: u.is_active,
            is_verified: u.email_verified || u.phone_verified,
            email_verified: u.email_verified,
            phone_verified: u.phone_verified,
            profile_picture: u.profile_picture,
            address: u.address,
            city: u.city,
            country: u.country,
            created_at: u.created_at,
            last_login: u.last_login,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJIUzI1NiJ9…", "refresh_token": "dGhpcyBpcyBub3QgYSByZWFsIHRva2Vu",
    "token_type": "bearer", "expires_in": 1800
}))]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `bearer`.
    pub token_type: String,
    /// Lifetime of the access token, in seconds.
    pub expires_in: i64,
}

/// A confirmation with a French message.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"detail": "Mot de passe modifié"}))]
pub struct MessageResponse {
    pub detail: String,
}

impl MessageResponse {
    pub fn new(detail: impl Into<String>) -> Self {
        Self {
            detail: detail.into(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "email": "awa.diop@example.sn", "phone": "+221 77 123 45 67", "password": "Tontine2026",
    "confirm_password": "Tontine2026", "first_name": "Awa", "last_name": "Diop", "city": "Dakar"
}))]
pub struct RegisterRequest {
    pub email: String,
    pub phone: String,
    pub password: String,
    pub confirm_password: String,
    pub first_name: String,
    pub last_name: String,
    pub address: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    /// The code sent by SMS when the phone belongs to a member added by a tontine (an account
    /// without a password): the registration answered 409 `phone_needs_verification` and sent
    /// it; repeat the same registration with it to claim that account.
    #[schema(example = "123456")]
    pub phone_code: Option<String>,
}

/// A registration, parsed.
#[derive(Debug)]
pub struct Registration {
    pub email: Email,
    pub phone: Phone,
    pub password: Password,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub address: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub phone_code: Option<String>,
}

impl TryFrom<RegisterRequest> for Registration {
    type Error = ApiError;

    fn try_from(r: RegisterRequest) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::new();
        let email = errors.check("email", Email::parse(&r.email));
        let phone = errors.check("phone", Phone::parse(&r.phone));
        let password = new_password(&mut errors, "password", r.password, &r.confirm_password);
        let first_name = errors.check("first_name", PersonName::parse(&r.first_name));
        let last_name = errors.check("last_name", PersonName::parse(&r.last_name));
        let address = optional(&mut errors, "address", r.address.as_deref(), ADDRESS_MAX);
        let city = optional(&mut errors, "city", r.city.as_deref(), PLACE_MAX);
        let country = optional(&mut errors, "country", r.country.as_deref(), PLACE_MAX);
        match (
            email, phone, password, first_name, last_name, address, city, country,
        ) {
            (
                Some(email),
                Some(phone),
                Some(password),
                Some(first_name),
                Some(last_name),
                Some(address),
                Some(city),
                Some(country),
            ) if errors.is_empty() => Ok(Self {
                email,
                phone,
                password,
                first_name,
                last_name,
                address,
                city,
                country,
                phone_code: r.phone_code.filter(|c| !c.trim().is_empty()),
            }),
            _ => Err(ApiError::validation(errors)),
        }
    }
}

/// Checks a new password against the policy and its confirmation. `field` is the name the
/// request gave the password (`password` on register, `new_password` on change and reset), so
/// the error names the field the client sent.
pub fn new_password(
    errors: &mut FieldErrors,
    field: &str,
    password: String,
    confirm: &str,
) -> Option<Password> {
    let matches = password == confirm;
    let parsed = errors.check(field, Password::parse(password));
    if !matches {
        errors.push(
            "confirm_password",
            ErrorCode::PasswordMismatch.default_message(),
        );
        return None;
    }
    parsed
}

/// An optional text field: `Some(None)` when absent or blank, `None` when invalid (the error
/// is recorded).
fn optional(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Option<Option<String>> {
    match value {
        None => Some(None),
        Some(v) => errors.check(field, bounded_text(v, max)),
    }
}

fn present(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// Who is logging in or asking for a code: an e-mail address or a phone number.
#[derive(Debug, Clone)]
pub enum Identifier {
    Email(Email),
    Phone(Phone),
}

impl Identifier {
    /// Reads `email`, `phone` or a free `username` (an e-mail address if it has an `@`).
    pub fn from_fields(
        email: Option<&str>,
        phone: Option<&str>,
        username: Option<&str>,
    ) -> Result<Self, ApiError> {
        if let Some(e) = present(email) {
            return Email::parse(e)
                .map(Self::Email)
                .map_err(|err| ApiError::field("email", err));
        }
        if let Some(p) = present(phone) {
            return Phone::parse(p)
                .map(Self::Phone)
                .map_err(|err| ApiError::field("phone", err));
        }
        if let Some(u) = present(username) {
            return if u.contains('@') {
                Email::parse(u)
                    .map(Self::Email)
                    .map_err(|err| ApiError::field("username", err))
            } else {
                Phone::parse(u)
                    .map(Self::Phone)
                    .map_err(|err| ApiError::field("username", err))
            };
        }
        Err(ApiError::field(
            "email",
            "adresse e-mail ou numéro de téléphone requis",
        ))
    }

    /// The key the per-account rate limit counts under.
    pub fn key(&self) -> &str {
        match self {
            Self::Email(e) => e.as_str(),
            Self::Phone(p) => p.as_str(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"email": "awa.diop@example.sn", "password": "Tontine2026"}))]
pub struct LoginRequest {
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The OAuth2 password form's field: an e-mail address or a phone number.
    pub username: Option<String>,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "current_password": "Tontine2026", "new_password": "Tontine2027", "confirm_password": "Tontine2027"
}))]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
    pub confirm_password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"phone": "+221771234567"}))]
pub struct ForgotPasswordRequest {
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "phone": "+221771234567", "code": "493817", "new_password": "Tontine2027",
    "confirm_password": "Tontine2027"
}))]
pub struct ResetPasswordRequest {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub code: String,
    pub new_password: String,
    pub confirm_password: String,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelDto {
    Email,
    Sms,
}

impl From<ChannelDto> for VerifyChannel {
    fn from(c: ChannelDto) -> Self {
        match c {
            ChannelDto::Email => VerifyChannel::Email,
            ChannelDto::Sms => VerifyChannel::Sms,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"channel": "sms"}))]
pub struct SendVerificationRequest {
    pub channel: ChannelDto,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"channel": "sms", "code": "493817"}))]
pub struct VerifyRequest {
    pub channel: ChannelDto,
    pub code: String,
}

/// `PUT /users/{id}`. Only an admin may send `role` or `is_active`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"city": "Thiès", "address": "Quartier Escale"}))]
pub struct UserUpdateRequest {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub profile_picture: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    #[schema(value_type = Option<String>, example = "admin")]
    pub role: Option<PlatformRole>,
    pub is_active: Option<bool>,
}

impl UserUpdateRequest {
    /// Parses the fields into a patch. A blank optional field clears it.
    pub fn into_patch(self) -> Result<crate::store::UserPatch, ApiError> {
        let mut errors = FieldErrors::new();
        let name = |errors: &mut FieldErrors, field: &str, v: Option<String>| {
            v.and_then(|v| {
                errors
                    .check(field, PersonName::parse(&v))
                    .map(PersonName::into_inner)
            })
        };
        let patch = crate::store::UserPatch {
            first_name: name(&mut errors, "first_name", self.first_name),
            last_name: name(&mut errors, "last_name", self.last_name),
            phone: self
                .phone
                .and_then(|p| errors.check("phone", Phone::parse(&p))),
            profile_picture: self
                .profile_picture
                .and_then(|v| errors.check("profile_picture", bounded_text(&v, PICTURE_MAX))),
            address: self
                .address
                .and_then(|v| errors.check("address", bounded_text(&v, ADDRESS_MAX))),
            city: self
                .city
                .and_then(|v| errors.check("city", bounded_text(&v, PLACE_MAX))),
            country: self
                .country
                .and_then(|v| errors.check("country", bounded_text(&v, PLACE_MAX))),
            role: self.role,
            is_active: self.is_active,
        };
        errors.into_result().map_err(ApiError::validation)?;
        Ok(patch)
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// Matches e-mail, name or phone.
    pub search: Option<String>,
    pub page: Option<u32>,
    pub page_size: Option<u32>,
}
