// Over 400 lines on purpose: the account routes (register, login, refresh, logout, password), which
// share token issue.
//! The `/auth` handlers: they parse, call the store and the token services, and answer.

use axum::{
    Json,
    body::Bytes,
    extract::{FromRequest, Request, State},
    http::{StatusCode, header},
};
use kobiri_core::{ErrorCode, FieldErrors, PlatformRole};

use super::{
    AuthUser, close_session,
    dto::{
        ChangePasswordRequest, ForgotPasswordRequest, Identifier, LoginRequest, MessageResponse,
        RefreshRequest, RegisterRequest, Registration, ResetPasswordRequest,
        SendVerificationRequest, TokenPair, UserResponse, VerifyRequest, new_password,
    },
    token_pair,
};
use crate::{
    error::{ApiError, ApiResult, ErrorBody},
    extract::{AppJson, ClientIp, body_rejection, is_json, parse_json},
    notify::codes::CodeRecipient,
    state::AppState,
    store::{CodePurpose, NewUser, Rotation, User, VerifyChannel},
};

const FORGOT_ANSWER: &str =
    "Si un compte correspond à ces informations, un code de réinitialisation a été envoyé.";

/// Register a new account.
///
/// A phone number already held by a member without a password (added by a tontine president,
/// online or from a collector's phone) is not taken over on the registrant's word: without
/// `phone_code` the answer is 409 `phone_needs_verification`, nothing is created, and a code
/// is sent by SMS to that phone. The same registration repeated with that code in
/// `phone_code` claims the account: it gets the credentials, keeps its memberships and
/// history, and its phone counts as verified.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created, or a member's account claimed with the SMS code", body = UserResponse),
        (status = 400, description = "Wrong, expired or exhausted `phone_code`", body = ErrorBody),
        (status = 409, description = "E-mail or phone already used (`email_taken`, `phone_taken`), or `phone_needs_verification`: the phone is a member's account without a password; a code was sent by SMS to it, repeat the registration with `phone_code`", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
        (status = 429, description = "Too many registrations from this address", body = ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<UserResponse>)> {
    let reg = Registration::try_from(body)?;
    state.limits.check_register(ip, state.now())?;
    let store = state.store();
    let claimed = match store.user_by_phone(&reg.phone).await? {
        Some(existing) if existing.password_hash.is_none() => {
            prove_phone(&state, &existing, &reg).await?;
            Some(existing.id)
        }
        Some(_) => return Err(ApiError::new(ErrorCode::PhoneTaken)),
        None => None,
    };
    let hash = state
        .hasher
        .hash(reg.password.expose())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            ApiError::internal()
        })?;
    let new_user = NewUser {
        id: kobiri_core::UserId::new(),
        email: Some(reg.email),
        phone: reg.phone,
        password_hash: Some(hash),
        first_name: reg.first_name.into_inner(),
        last_name: reg.last_name.into_inner(),
        role: PlatformRole::Membre,
        address: reg.address,
        city: reg.city,
        country: reg.country,
        now: state.now(),
    };
    let user = match claimed {
        Some(id) => {
            let user = store
                .claim_user(id, &new_user)
                .await?
                .ok_or_else(|| ApiError::new(ErrorCode::PhoneTaken))?;
            state.cache.forget_user(id);
            tracing::info!(user_id = %user.id, "member account claimed with the SMS code");
            user
        }
        None => store.insert_user(&new_user).await?,
    };
    tracing::info!(user_id = %user.id, "account registered");
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Proof that the registrant holds the phone of `member` (an account without a password):
/// the SMS code in `phone_code`, redeemed. Without one, a code is sent to that phone and the
/// registration is refused with `phone_needs_verification`. An e-mail address already in use
/// is refused first, so no code is sent for a registration that cannot succeed.
async fn prove_phone(state: &AppState, member: &User, reg: &Registration) -> ApiResult<()> {
    if state.store().user_by_email(&reg.email).await?.is_some() {
        return Err(ApiError::new(ErrorCode::EmailTaken));
    }
    match reg.phone_code.as_deref() {
        Some(code) => {
            state
                .codes
                .redeem(
                    state.store(),
                    member.id,
                    CodePurpose::VerifyPhone,
                    code,
                    state.now(),
                )
                .await
        }
        None => {
            let to = CodeRecipient::Sms(member.phone.clone());
            send_code(state, member.id, CodePurpose::VerifyPhone, &to).await?;
            tracing::info!(user_id = %member.id, "registration on a member's phone: code sent");
            Err(ApiError::new(ErrorCode::PhoneNeedsVerification))
        }
    }
}

/// A login body: JSON (`email` or `phone`, and `password`) or the OAuth2 password form
/// (`username`, `password`) that Swagger UI's "Authorize" sends.
pub struct LoginBody(LoginRequest);

impl<S: Send + Sync> FromRequest<S> for LoginBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase);
        let is_form = content_type
            .as_deref()
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|r| body_rejection(&r))?;
        let has_body = !bytes.iter().all(u8::is_ascii_whitespace);
        if has_body && !is_form && content_type.as_deref().is_some_and(|ct| !is_json(ct)) {
            return Err(ApiError::new(ErrorCode::UnsupportedMediaType));
        }
        if is_form {
            let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(&bytes));
            serde_path_to_error::deserialize(de)
                .map(LoginBody)
                .map_err(|e| {
                    let field = e.path().to_string();
                    ApiError::field(
                        if field == "." {
                            "password".to_owned()
                        } else {
                            field
                        },
                        "champ obligatoire",
                    )
                })
        } else {
            parse_json(&bytes).map(LoginBody)
        }
    }
}

/// Log in with an e-mail address or a phone number. Failed attempts are limited per account
/// (a lockout that doubles after each further failure) and per client address (a high
/// ceiling); successful logins never count against an address.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    request_body(content(
        (LoginRequest = "application/json"),
        (LoginRequest = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Token pair", body = TokenPair),
        (status = 401, description = "Wrong credentials", body = ErrorBody),
        (status = 403, description = "Account deactivated", body = ErrorBody),
        (status = 415, description = "Neither JSON nor a form", body = ErrorBody),
        (status = 429, description = "Account locked after failed attempts, or too many failures from this address", body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    LoginBody(body): LoginBody,
) -> ApiResult<Json<TokenPair>> {
    let who = Identifier::from_fields(
        body.email.as_deref(),
        body.phone.as_deref(),
        body.username.as_deref(),
    )?;
    let now = state.now();
    state.limits.check_login(ip, who.key(), now)?;
    let user = find_user(&state, &who).await?;
    let ok = state
        .hasher
        .verify(
            &body.password,
            user.as_ref().and_then(|u| u.password_hash.as_deref()),
        )
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "password verification failed");
            ApiError::internal()
        })?;
    let user = match user {
        Some(user) if ok => user,
        _ => {
            state.limits.login_failed(ip, now);
            return Err(ApiError::new(ErrorCode::InvalidCredentials));
        }
    };
    state.limits.login_succeeded(who.key());
    if !user.is_active {
        return Err(ApiError::new(ErrorCode::AccountInactive));
    }
    let (pair, record) = token_pair(&state, &user, None, None)?;
    state.store().insert_refresh_token(&record).await?;
    state.store().record_login(user.id, state.now()).await?;
    state.cache.forget_user(user.id);
    Ok(Json(pair))
}

async fn find_user(state: &AppState, who: &Identifier) -> ApiResult<Option<User>> {
    Ok(match who {
        Identifier::Email(e) => state.store().user_by_email(e).await?,
        Identifier::Phone(p) => state.store().user_by_phone(p).await?,
    })
}

/// How long after its rotation a device's refresh token may be presented again (the answer
/// was lost on a 2G link) and still give a pair.
const DEVICE_REPLAY_GRACE: chrono::TimeDelta = chrono::TimeDelta::seconds(120);

/// Exchange a refresh token for a new pair. The old token dies; presenting a dead one again
/// revokes its whole family (the token was stolen or replayed).
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "New token pair", body = TokenPair),
        (status = 401, description = "Invalid, expired or re-used token", body = ErrorBody),
        (status = 403, description = "Account deactivated", body = ErrorBody)))]
pub async fn refresh(
    State(state): State<AppState>,
    AppJson(body): AppJson<RefreshRequest>,
) -> ApiResult<Json<TokenPair>> {
    let store = state.store();
    let now = state.now();
    let hash = super::tokens::hash_refresh(body.refresh_token.trim());
    let token = store
        .refresh_token_by_hash(&hash)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid))?;
    // Deactivation revokes every token; say why (403) rather than report a re-use.
    let user = store
        .user_by_id(token.user_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid))?;
    if !user.is_active {
        return Err(ApiError::new(ErrorCode::AccountInactive));
    }
    if token.is_spent() {
        let replay = token.is_lost_answer_replay(now, DEVICE_REPLAY_GRACE);
        let revoked = close_session(&state, token.family_id).await?;
        if replay {
            // The pair issued for the lost answer dies with the family; the phone gets a new
            // one, once: the old token is now revoked, so a second replay is a re-use.
            tracing::info!(family = %token.family_id, "device refresh retried after a lost answer");
            let (pair, record) = token_pair(&state, &user, Some(token.family_id), token.device_id)?;
            store.insert_refresh_token(&record).await?;
            return Ok(Json(pair));
        }
        tracing::warn!(family = %token.family_id, revoked, "refresh token re-used: family revoked");
        return Err(ApiError::new(ErrorCode::TokenReused));
    }
    if token.expires_at <= now {
        return Err(ApiError::new(ErrorCode::TokenExpired));
    }
    let (pair, record) = token_pair(&state, &user, Some(token.family_id), token.device_id)?;
    match store.rotate_refresh_token(token.id, &record, now).await? {
        Rotation::Rotated => Ok(Json(pair)),
        Rotation::AlreadyUsed => {
            close_session(&state, token.family_id).await?;
            Err(ApiError::new(ErrorCode::TokenReused))
        }
    }
}

/// Log out: the session is closed. Its refresh tokens are revoked and its access tokens stop
/// working (at once on this server, within `READ_CACHE_TTL_MS` on the other replicas).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "Logged out", body = MessageResponse),
        (status = 401, description = "Unknown token", body = ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    AppJson(body): AppJson<RefreshRequest>,
) -> ApiResult<Json<MessageResponse>> {
    let hash = super::tokens::hash_refresh(body.refresh_token.trim());
    let token = state
        .store()
        .refresh_token_by_hash(&hash)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid))?;
    close_session(&state, token.family_id).await?;
    Ok(Json(MessageResponse::new("Déconnexion réussie")))
}

/// The caller's account.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = UserResponse),
        (status = 401, description = "Not authenticated", body = ErrorBody)))]
pub async fn me(AuthUser(user): AuthUser) -> Json<UserResponse> {
    Json(user.into())
}

/// Change the caller's password; every session of the account is closed (its refresh and
/// access tokens stop working): the client logs in again with the new password.
#[utoipa::path(post, path = "/api/v1/auth/change-password", tag = "auth", security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "Password changed", body = MessageResponse),
        (status = 400, description = "Current password wrong", body = ErrorBody),
        (status = 422, description = "New password refused", body = ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppJson(body): AppJson<ChangePasswordRequest>,
) -> ApiResult<Json<MessageResponse>> {
    let mut errors = FieldErrors::new();
    let new = new_password(
        &mut errors,
        "new_password",
        body.new_password,
        &body.confirm_password,
    );
    let Some(new) = new.filter(|_| errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let ok = state
        .hasher
        .verify(&body.current_password, user.password_hash.as_deref())
        .await
        .map_err(|_| ApiError::internal())?;
    if !ok {
        return Err(ApiError::new(ErrorCode::WrongPassword));
    }
    let hash = state
        .hasher
        .hash(new.expose())
        .await
        .map_err(|_| ApiError::internal())?;
    state
        .store()
        .set_password(user.id, &hash, state.now())
        .await?;
    state.cache.forget_sessions_of(user.id);
    state.cache.forget_user(user.id);
    Ok(Json(MessageResponse::new("Mot de passe modifié")))
}

/// Ask for a password-reset code by e-mail or SMS. The answer is the same whether or not an
/// account exists. For an active account, the code and its message are stored in one
/// transaction and the outbox worker sends the message at once (with retries if the gateway
/// is down).
#[utoipa::path(post, path = "/api/v1/auth/forgot-password", tag = "auth",
    request_body = ForgotPasswordRequest,
    responses(
        (status = 200, description = "Code queued for sending if the account exists", body = MessageResponse),
        (status = 429, description = "Too many requests", body = ErrorBody)))]
pub async fn forgot_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<ForgotPasswordRequest>,
) -> ApiResult<Json<MessageResponse>> {
    let who = Identifier::from_fields(body.email.as_deref(), body.phone.as_deref(), None)?;
    state.limits.check_forgot(ip, who.key(), state.now())?;
    if let Some(user) = find_user(&state, &who).await?.filter(|u| u.is_active) {
        let to = match who {
            Identifier::Email(email) => CodeRecipient::Email(email),
            Identifier::Phone(phone) => CodeRecipient::Sms(phone),
        };
        send_code(&state, user.id, CodePurpose::PasswordReset, &to).await?;
    }
    Ok(Json(MessageResponse::new(FORGOT_ANSWER)))
}

/// Issues a code and queues the message that carries it, in one transaction, then wakes the
/// outbox worker so the code leaves now rather than at the worker's next tick.
async fn send_code(
    state: &AppState,
    user: kobiri_core::UserId,
    purpose: CodePurpose,
    to: &CodeRecipient,
) -> ApiResult<()> {
    state
        .codes
        .issue(state.store(), user, purpose, to, state.now())
        .await?;
    state.wake_outbox();
    Ok(())
}

/// Set a new password with the code received; every session of the account is closed (its
/// refresh and access tokens stop working).
#[utoipa::path(post, path = "/api/v1/auth/reset-password", tag = "auth",
    request_body = ResetPasswordRequest,
    responses(
        (status = 200, description = "Password reset", body = MessageResponse),
        (status = 400, description = "Wrong, expired or exhausted code", body = ErrorBody),
        (status = 422, description = "New password refused", body = ErrorBody)))]
pub async fn reset_password(
    State(state): State<AppState>,
    AppJson(body): AppJson<ResetPasswordRequest>,
) -> ApiResult<Json<MessageResponse>> {
    let who = Identifier::from_fields(body.email.as_deref(), body.phone.as_deref(), None)?;
    let mut errors = FieldErrors::new();
    let new = new_password(
        &mut errors,
        "new_password",
        body.new_password,
        &body.confirm_password,
    );
    let Some(new) = new.filter(|_| errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let user = find_user(&state, &who)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidCode))?;
    let now = state.now();
    state
        .codes
        .redeem(
            state.store(),
            user.id,
            CodePurpose::PasswordReset,
            &body.code,
            now,
        )
        .await?;
    let hash = state
        .hasher
        .hash(new.expose())
        .await
        .map_err(|_| ApiError::internal())?;
    state.store().set_password(user.id, &hash, now).await?;
    state.cache.forget_sessions_of(user.id);
    state.cache.forget_user(user.id);
    Ok(Json(MessageResponse::new("Mot de passe réinitialisé")))
}

/// Send a verification code to the caller's e-mail address or phone. The code and its
/// message are stored in one transaction and the outbox worker sends the message at once; the
/// answer is 200 as soon as it is queued. A gateway that is down does not fail the request:
/// the worker retries with backoff while the code is valid (15 minutes).
#[utoipa::path(post, path = "/api/v1/auth/send-verification", tag = "auth", security(("bearer" = [])),
    request_body = SendVerificationRequest,
    responses(
        (status = 200, description = "Code queued for sending", body = MessageResponse),
        (status = 400, description = "No e-mail address on the account", body = ErrorBody)))]
pub async fn send_verification(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppJson(body): AppJson<SendVerificationRequest>,
) -> ApiResult<Json<MessageResponse>> {
    let channel = VerifyChannel::from(body.channel);
    let to = match channel {
        VerifyChannel::Email => CodeRecipient::Email(user.email.clone().ok_or_else(|| {
            ApiError::new(ErrorCode::BusinessRule)
                .with_detail("Aucune adresse e-mail sur ce compte")
        })?),
        VerifyChannel::Sms => CodeRecipient::Sms(user.phone.clone()),
    };
    send_code(&state, user.id, channel.into(), &to).await?;
    Ok(Json(MessageResponse::new("Code de vérification envoyé")))
}

/// Confirm the e-mail address or phone with the code received.
#[utoipa::path(post, path = "/api/v1/auth/verify", tag = "auth", security(("bearer" = [])),
    request_body = VerifyRequest,
    responses(
        (status = 200, description = "Verified", body = UserResponse),
        (status = 400, description = "Wrong, expired or exhausted code", body = ErrorBody)))]
pub async fn verify(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppJson(body): AppJson<VerifyRequest>,
) -> ApiResult<Json<UserResponse>> {
    let channel = VerifyChannel::from(body.channel);
    let now = state.now();
    state
        .codes
        .redeem(state.store(), user.id, channel.into(), &body.code, now)
        .await?;
    let user = state.store().mark_verified(user.id, channel, now).await?;
    state.cache.forget_user(user.id);
    Ok(Json(user.into()))
}
