//! The mobile-money routes: a member initiates the payment of their contribution, and
//! providers call back. Both end in [`super::settle`].

use axum::{
    Json,
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
};
use kobiri_core::{
    ErrorCode, PaymentFacts, PaymentId, PaymentMethod, Phone, SessionId, Via, plan_payment,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::settle::{self, ConfirmError, Settled};
use super::{
    CallbackCheck, CallbackHint, CallbackRequest, CallbackRoute, Method, PaymentKey, ProviderError,
    Status,
};
use crate::{
    auth::AuthUser,
    error::{ApiError, ApiResult, ErrorBody},
    extract::AppJson,
    payments::{dto::PaymentResponse, handlers::target_session, record},
    state::AppState,
    store::{AuditSource, MobilePayment, NewPayment, StoreError},
    tontines::TontineAccess,
};

/// The first status query comes this long after the start (a callback usually comes first).
const FIRST_POLL: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"session_id": "01935f3e-8d3c-7c4a-9b1e-2f6a4d8c9e11",
    "method": "wave", "phone_number": "+221770001122"}))]
pub struct InitiatePaymentRequest {
    pub session_id: uuid::Uuid,
    /// A mobile-money method: `orange_money`, `mtn_momo`, `wave`, `free_money`, `moov_money`.
    #[schema(value_type = String, example = "wave")]
    pub method: PaymentMethod,
    /// The wallet to charge.
    pub phone_number: String,
}

/// The API error for a provider failure; `Display` of [`ProviderError`] is French.
pub fn provider_error(e: &ProviderError) -> ApiError {
    let code = match e {
        ProviderError::NotConfigured(_) => ErrorCode::ProviderNotConfigured,
        ProviderError::Transient(_) => ErrorCode::ProviderUnavailable,
        ProviderError::Rejected { .. } | ProviderError::Protocol(_) => ErrorCode::ProviderRejected,
        ProviderError::Invalid(_) => ErrorCode::BusinessRule,
        ProviderError::PayoutsUnsupported(_) => ErrorCode::PayoutUnavailable,
    };
    let detail = e.to_string();
    let mut chars = detail.chars();
    let detail = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => detail,
    };
    ApiError::new(code).with_detail(detail)
}

/// Pay one's own contribution to an open session by mobile money. The payment is stored
/// `en_cours` (with its audit entry) before the provider is called, so a callback that
/// overtakes the provider's answer finds it. 201 with `operator_reference` and, when the
/// provider has a hosted page, `payment_url`. If the provider cannot be reached, the answer is
/// still 201 with the payment `en_cours` and no `operator_reference`: the poller retries the
/// start with the same idempotency key (the payment id), then follows its status. A provider
/// that refuses the request fails the payment (`echoue`) and answers 502.
#[utoipa::path(post, path = "/api/v1/payments/initiate", tag = "payments",
    security(("bearer" = [])), request_body = InitiatePaymentRequest,
    responses(
        (status = 201, description = "The payment, `en_cours`", body = PaymentResponse),
        (status = 400, description = "Session not open, provider not configured", body = ErrorBody),
        (status = 403, description = "Not an active member of the tontine", body = ErrorBody),
        (status = 404, description = "No such session", body = ErrorBody),
        (status = 409, description = "The member already has a payment for this session", body = ErrorBody),
        (status = 422, description = "Not a mobile-money method, invalid phone", body = ErrorBody),
        (status = 502, description = "The provider refused the payment", body = ErrorBody)))]
// Long on purpose: the request's checks, the payment planner, the stored payment, then the
// provider's call and the two ways it can end.
pub async fn initiate(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    AppJson(body): AppJson<InitiatePaymentRequest>,
) -> ApiResult<(StatusCode, Json<PaymentResponse>)> {
    let method = Method::try_from(body.method).map_err(|_| {
        ApiError::field(
            "method",
            "choisissez un moyen de paiement mobile (orange_money, mtn_momo, wave, free_money, \
             moov_money)",
        )
    })?;
    let phone = Phone::parse(&body.phone_number).map_err(|e| ApiError::field("phone_number", e))?;
    let session = state
        .store()
        .session_by_id(SessionId::from_uuid(body.session_id))
        .await?
        .ok_or_else(ApiError::not_found)?;
    let access = TontineAccess::load(&state, &caller, session.tontine_id).await?;
    if access.is_outsider() {
        return Err(ApiError::not_found());
    }
    // Only one's own contribution is paid by mobile money: the caller's active membership.
    let member = access
        .member
        .clone()
        .filter(|m| m.is_active)
        .ok_or_else(|| {
            ApiError::forbidden()
                .with_detail("Seul un membre actif de la tontine peut payer sa cotisation")
        })?;
    let t = &access.tontine;
    let session = target_session(&state, t, &member, Some(session.id.as_uuid())).await?;
    let adapter = state
        .mobile_money
        .providers
        .for_method(method)
        .map_err(|e| provider_error(&e))?;
    let provider = adapter.provider();
    let facts = PaymentFacts {
        caller: record::caller(&access, caller.id),
        terms: record::terms(t),
        payer: record::payer(&member),
        session: record::target(&session),
        // The database's unique index tells (below).
        already_paid: false,
        amount: t.contribution,
        now: state.now(),
        via: Via::MobileMoney {
            method: body.method,
            provider: provider.as_str(),
        },
    };
    let plan = plan_payment(&facts).map_err(|r| record::refused(&r))?;
    let payment = NewPayment {
        phone_number: Some(phone.as_str().to_owned()),
        ..record::new_payment(PaymentId::new(), t, &facts, &plan)
    };
    let audit = record::audit(&payment, &plan);
    let now = facts.now;
    let stored = match state
        .store()
        .insert_mobile_payment(&payment, provider, now + FIRST_POLL, &audit)
        .await
    {
        Ok(stored) => stored,
        Err(StoreError::Conflict { .. }) => return Err(record::duplicate()),
        Err(e) => return Err(e.into()),
    };
    let mp = MobilePayment {
        payment: stored,
        provider,
        callback_secret: None,
        payment_url: None,
    };
    let payment_url = match settle::start(&state.mobile_money, &mp).await {
        Ok(started) => started.payment_url,
        Err(ConfirmError::Provider(e)) if e.is_transient() => {
            tracing::warn!(payment = %payment.id, provider = %provider, error = %e,
                "mobile money: start failed for now; the poller retries it");
            None
        }
        Err(ConfirmError::Provider(e)) => {
            tracing::warn!(payment = %payment.id, provider = %provider, error = %e,
                "mobile money: the provider refused the payment");
            let failed = Status::Failed {
                reason: e.to_string(),
            };
            settle::settle(&state.mobile_money, &mp.payment, &failed, AuditSource::Api).await?;
            return Err(provider_error(&e));
        }
        Err(ConfirmError::Store(e)) => return Err(e.into()),
    };
    let current = state
        .store()
        .payment_by_id(payment.id)
        .await?
        .ok_or_else(ApiError::internal)?;
    let mut answer = PaymentResponse::from(current);
    answer.payment_url = payment_url;
    Ok((StatusCode::CREATED, Json(answer)))
}

/// A provider's notification about a payment (`orange`, `mtn`, `wave`, `free`, `moov`,
/// `cinetpay`). Public: it is authenticated per provider, not by a user (Wave's and
/// CinetPay's HMAC signature, Orange's `notif_token` stored at start, MTN: none), and never
/// trusted on its own word: Kobiri asks the provider's status API before settling. A
/// callback whose payment is settled already changes nothing (200). Unknown segment,
/// unconfigured provider or unknown payment: 404; bad signature or token: 401; unreadable
/// body: 422; confirmed amount different from the payment's: 409 (the payment fails).
#[utoipa::path(post, path = "/api/v1/payments/callback/{provider}", tag = "payments",
    params(("provider" = String, Path, description = "orange, mtn, wave, free, moov or cinetpay")),
    request_body(description = "The provider's raw notification: JSON or a form, as the provider sends it",
        content(
            (std::collections::HashMap<String, serde_json::Value> = "application/json"),
            (std::collections::HashMap<String, String> = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Processed (or already processed)"),
        (status = 401, description = "Signature or token invalid", body = ErrorBody),
        (status = 404, description = "Unknown provider or payment", body = ErrorBody),
        (status = 409, description = "Amount mismatch: the payment failed", body = ErrorBody),
        (status = 422, description = "Unreadable notification", body = ErrorBody)))]
// Long on purpose: authenticate, find the payment, confirm with the provider, and answer in the
// format each provider expects.
pub async fn callback(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<serde_json::Value>> {
    let route: CallbackRoute = segment.parse().map_err(|_| ApiError::not_found())?;
    let adapter = state
        .mobile_money
        .providers
        .for_callback(route)
        .map_err(|_| {
            tracing::warn!(
                route = route.as_str(),
                "mobile money: callback for an unconfigured provider"
            );
            ApiError::not_found()
        })?;
    let provider = adapter.provider();
    let request = CallbackRequest {
        headers: &headers,
        query: query.as_deref(),
        body: &body,
    };
    let refused = |e: super::CallbackError| {
        tracing::warn!(provider = %provider, error = %e, "mobile money: callback refused");
        state.metrics.event(
            crate::metrics::Event::CallbackRefused,
            &provider.to_string(),
        );
        if e.is_unauthenticated() {
            ApiError::new(ErrorCode::CallbackRejected)
                .with_detail(format!("Notification refusée : {e}"))
        } else {
            ApiError::new(ErrorCode::ValidationError)
                .with_detail(format!("Notification refusée : {e}"))
        }
    };
    let (hint, mp): (CallbackHint, MobilePayment) = match adapter
        .verify_callback(&request, state.now())
        .map_err(refused)?
    {
        CallbackCheck::Hint(hint) => {
            let mp = named_payment(&state, provider, &hint.payment).await?;
            (hint, mp)
        }
        CallbackCheck::NeedsStoredSecret(check) => {
            let mp = named_payment(&state, provider, check.payment()).await?;
            let stored = mp
                .callback_secret
                .clone()
                .ok_or_else(|| refused(super::CallbackError::WrongToken))?;
            (check.check(&stored).map_err(refused)?, mp)
        }
    };
    tracing::info!(payment = %mp.payment.id, provider = %provider, claim = ?hint.claim,
        "mobile money: callback verified; confirming with the provider");
    match settle::confirm(&state.mobile_money, &mp, AuditSource::Api).await {
        Ok(Settled::Done(p)) => Ok(Json(serde_json::json!({"status": p.status}))),
        Ok(Settled::Mismatch(_)) => Err(ApiError::new(ErrorCode::AmountMismatch)),
        Ok(Settled::Pending | Settled::Already) => {
            let now = state.store().payment_by_id(mp.payment.id).await?;
            let status = now.map_or(mp.payment.status, |p| p.status);
            Ok(Json(serde_json::json!({"status": status})))
        }
        Err(ConfirmError::Provider(e)) => {
            // Authentic, but unconfirmed for now: the poller settles it.
            tracing::warn!(payment = %mp.payment.id, provider = %provider, error = %e,
                "mobile money: status query after a callback failed");
            Ok(Json(serde_json::json!({"status": mp.payment.status})))
        }
        Err(ConfirmError::Store(e)) => Err(e.into()),
    }
}

/// The same callback sent with PUT (MTN's sandbox does).
#[utoipa::path(put, path = "/api/v1/payments/callback/{provider}", tag = "payments",
    params(("provider" = String, Path, description = "orange, mtn, wave, free, moov or cinetpay")),
    request_body(description = "The provider's raw notification: JSON or a form, as the provider sends it",
        content(
            (std::collections::HashMap<String, serde_json::Value> = "application/json"),
            (std::collections::HashMap<String, String> = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Processed (or already processed)"),
        (status = 401, description = "Signature or token invalid", body = ErrorBody),
        (status = 404, description = "Unknown provider or payment", body = ErrorBody)))]
pub async fn callback_put(
    state: State<AppState>,
    segment: Path<String>,
    query: RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<serde_json::Value>> {
    callback(state, segment, query, headers, body).await
}

/// The payment a verified callback names, if it was initiated through `provider`.
async fn named_payment(
    state: &AppState,
    provider: super::Provider,
    key: &PaymentKey,
) -> ApiResult<MobilePayment> {
    let found = match key {
        PaymentKey::Reference(id) => {
            state
                .store()
                .mobile_payment(PaymentId::from_uuid(*id))
                .await?
        }
        PaymentKey::OperatorReference(reference) => {
            state
                .store()
                .mobile_payment_by_operator_reference(provider, reference)
                .await?
        }
    };
    match found {
        Some(mp) if mp.provider == provider => Ok(mp),
        _ => {
            tracing::warn!(provider = %provider, ?key, "mobile money: callback names no payment of this provider");
            Err(ApiError::not_found().with_detail("Paiement inconnu"))
        }
    }
}
