//! What sync leaves for people: the treasurers' review queue of flagged items, the integrity
//! incidents of devices, and receipt checks for members.

use axum::{
    Json,
    extract::{Path, State},
};
use kobiri_core::{
    Action, ErrorCode, PaymentId, PaymentView, ReceiptCode, TontineId, bounded_text,
    payment::may_validate,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    auth::AuthUser,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{AppJson, AppQuery, PathId, PathIds},
    payments::visibility::Viewer,
    state::AppState,
    store::{AuditSource, Flag, FlagResolution, Incident, NewAudit, StoreError},
    tontines::TontineAccess,
};

const NOTE_MAX: usize = 500;

/// The flag code of a correction to zero that waits for review (core's planner gives it).
pub use kobiri_core::payment::correction::WITHDRAWAL;

/// A flagged sync item: kept, waiting for a treasurer.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagResponse {
    pub id: uuid::Uuid,
    pub tontine_id: uuid::Uuid,
    pub payment_id: Option<uuid::Uuid>,
    pub device_id: uuid::Uuid,
    /// The mutation's number on its device.
    pub seq: u64,
    /// `session_closed`, `session_cancelled`, `session_on_hold`, `duplicate_payment`,
    /// `wrong_amount`, `member_inactive`, `receipt_collision`, `correction` (a correction
    /// waiting for a second person), `withdrawal` (a correction to zero waiting likewise) or
    /// `integrity`.
    pub code: String,
    pub reason: String,
    /// `ouvert` or `resolu`.
    pub status: String,
    /// `accepte` or `rejete`.
    pub resolution: Option<String>,
    pub resolution_note: Option<String>,
    pub resolved_by_id: Option<uuid::Uuid>,
    pub resolved_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<Flag> for FlagResponse {
    fn from(f: Flag) -> Self {
        Self {
            id: f.id,
            tontine_id: f.tontine_id.as_uuid(),
            payment_id: f.payment_id.map(|p| p.as_uuid()),
            device_id: f.device_id.as_uuid(),
            seq: f.seq,
            code: f.code,
            reason: f.reason,
            status: f.status,
            resolution: f.resolution,
            resolution_note: f.resolution_note,
            resolved_by_id: f.resolved_by_id.map(|u| u.as_uuid()),
            resolved_at: f.resolved_at,
            created_at: f.created_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlagQuery {
    /// `ouvert` (default), `resolu` or `tous`.
    pub status: Option<String>,
}

/// The review queue of a tontine: flagged sync items (treasurer, president, admin).
#[utoipa::path(get, path = "/api/v1/tontines/{id}/flags", tag = "sync", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path), FlagQuery),
    responses(
        (status = 200, description = "The flags, by `status`", body = Vec<FlagResponse>),
        (status = 403, description = "Not a treasurer", body = ErrorBody)))]
pub async fn flags(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
    AppQuery(query): AppQuery<FlagQuery>,
) -> ApiResult<Json<Vec<FlagResponse>>> {
    let access = TontineAccess::load(&state, &caller, TontineId::from_uuid(id)).await?;
    access.require(Action::ValidatePayment)?;
    let status = match query.status.as_deref() {
        None | Some("ouvert") => Some("ouvert"),
        Some("resolu") => Some("resolu"),
        Some("tous") => None,
        Some(_) => {
            return Err(ApiError::field(
                "status",
                "valeurs possibles : ouvert, resolu, tous",
            ));
        }
    };
    let flags = state.store().flags_of(access.tontine.id, status).await?;
    Ok(Json(flags.into_iter().map(Into::into).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"resolution": "accepte", "note": "Espèces remises au trésorier"}))]
pub struct ResolveRequest {
    /// `accepte`: the payment becomes an ordinary pending payment; `rejete`: it is cancelled.
    pub resolution: String,
    /// Why, 1 to 500 characters.
    pub note: String,
}

/// Resolve a flag with a reason. Accepting a flagged payment puts it in the validation queue
/// (409 if another live payment holds its member and session: reject one of them first);
/// rejecting cancels it. Accepting a flagged correction (by someone other than its author)
/// also retires the payment it corrects: cancelled if pending, refunded and taken out of the
/// session's collected amount if validated; the compensating entry then waits for validation
/// like any payment. The phone sees the result at its next sync.
#[utoipa::path(post, path = "/api/v1/tontines/{id}/flags/{flag_id}/resolve", tag = "sync",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path), ("flag_id" = uuid::Uuid, Path)),
    request_body = ResolveRequest,
    responses(
        (status = 200, description = "The flag, resolved", body = FlagResponse),
        (status = 403, description = "Not a treasurer", body = ErrorBody),
        (status = 409, description = "Already resolved, or the slot is taken", body = ErrorBody)))]
// Long on purpose: each way of resolving a flag (accept, reject, correct) with its own audit entry
// and notification, around one guarded write.
pub async fn resolve(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathIds(id, flag_id): PathIds,
    AppJson(body): AppJson<ResolveRequest>,
) -> ApiResult<Json<FlagResponse>> {
    let access = TontineAccess::load(&state, &caller, TontineId::from_uuid(id)).await?;
    access.require(Action::ValidatePayment)?;
    let flag = state
        .store()
        .flag_by_id(flag_id)
        .await?
        .filter(|f| f.tontine_id == access.tontine.id)
        .ok_or_else(ApiError::not_found)?;
    let accept = match body.resolution.as_str() {
        "accepte" => true,
        "rejete" => false,
        _ => {
            return Err(ApiError::field(
                "resolution",
                "valeurs possibles : accepte, rejete",
            ));
        }
    };
    let note = bounded_text(&body.note, NOTE_MAX)
        .map_err(|e| ApiError::field("note", e))?
        .ok_or_else(|| ApiError::field("note", "précisez la raison de la décision"))?;
    let now = state.now();
    let mut audit = NewAudit::api(
        caller.id,
        access.tontine.id,
        "flag.resolved",
        "sync_flag",
        flag.id,
        now,
    )
    .with_change(
        Some(serde_json::json!({"status": flag.status})),
        Some(serde_json::json!({"status": "resolu", "accepted": accept, "note": note})),
    );
    audit.source = AuditSource::Api;
    let (payment, retire) = reviewed_payments(&state, &flag).await?;
    if accept && retire.is_some() {
        // Four eyes on a correction: its author cannot accept it.
        let author = state
            .store()
            .device_by_id(flag.device_id)
            .await?
            .map(|d| d.user_id);
        if let Some(author) = author {
            may_validate(access.actor_for(Action::ValidatePayment), caller.id, author)
                .map_err(|e| ApiError::forbidden().with_detail(e.to_string()))?;
        }
    }
    let resolution = FlagResolution {
        flag: flag.id,
        accept,
        note,
        by: caller.id,
        payment,
        retire,
        audit,
        now,
    };
    match state.store().resolve_flag(&resolution).await {
        Ok(true) => {}
        Ok(false) => {
            return Err(
                ApiError::new(ErrorCode::Conflict).with_detail("Ce signalement est déjà traité")
            );
        }
        Err(StoreError::Conflict { constraint }) if constraint == "payment_with_operator" => {
            return Err(ApiError::new(ErrorCode::Conflict).with_detail(
                "Le paiement corrigé attend encore l'opérateur : réessayez une fois réglé",
            ));
        }
        Err(StoreError::Conflict { .. }) => {
            return Err(ApiError::new(ErrorCode::Conflict).with_detail(
                "Un autre paiement actif existe pour ce membre et cette séance : rejetez l'un des deux",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let flag = state
        .store()
        .flag_by_id(flag.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(flag.into()))
}

/// What resolving `flag` acts on: the flagged payment (unflagged when accepted, cancelled
/// when rejected) and the payment a correction replaces or withdraws (retired when
/// accepted). A `withdrawal` flag names the payment to withdraw; a flagged compensating entry
/// names the payment it corrects. A `correction` flag on a payment that corrects nothing
/// (from before corrections were entries) acts on no payment.
async fn reviewed_payments(
    state: &AppState,
    flag: &Flag,
) -> ApiResult<(Option<PaymentId>, Option<PaymentId>)> {
    let Some(id) = flag.payment_id else {
        return Ok((None, None));
    };
    if flag.code == WITHDRAWAL {
        return Ok((None, Some(id)));
    }
    let corrects = state
        .store()
        .payment_by_id(id)
        .await?
        .and_then(|p| p.corrects_id);
    match corrects {
        Some(original) => Ok((Some(id), Some(original))),
        None if flag.code == "correction" => Ok((None, None)),
        None => Ok((Some(id), None)),
    }
}

/// A gap or a broken hash chain seen in a device's log.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentResponse {
    pub id: uuid::Uuid,
    pub tontine_id: Option<uuid::Uuid>,
    pub device_id: uuid::Uuid,
    pub user_id: uuid::Uuid,
    /// `sequence_gap`, `broken_chain` or `sequence_reused`.
    pub kind: String,
    pub expected_seq: u64,
    pub received_seq: u64,
    pub detail: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<Incident> for IncidentResponse {
    fn from(i: Incident) -> Self {
        Self {
            id: i.id,
            tontine_id: i.tontine_id.map(|t| t.as_uuid()),
            device_id: i.device_id.as_uuid(),
            user_id: i.user_id.as_uuid(),
            kind: i.kind,
            expected_seq: i.expected_seq,
            received_seq: i.received_seq,
            detail: i.detail,
            created_at: i.created_at,
        }
    }
}

/// Integrity incidents of the devices that synced into a tontine (treasurer, president, admin).
#[utoipa::path(get, path = "/api/v1/tontines/{id}/incidents", tag = "sync",
    security(("bearer" = [])), params(("id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "The tontine's integrity incidents", body = Vec<IncidentResponse>),
        (status = 403, description = "Not a treasurer", body = ErrorBody)))]
pub async fn incidents(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
) -> ApiResult<Json<Vec<IncidentResponse>>> {
    let access = TontineAccess::load(&state, &caller, TontineId::from_uuid(id)).await?;
    access.require(Action::ValidatePayment)?;
    let list = state.store().incidents_of(access.tontine.id).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// What the server knows of a receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptResponse {
    pub receipt_code: String,
    pub payment_id: uuid::Uuid,
    pub tontine_id: uuid::Uuid,
    pub session_id: uuid::Uuid,
    pub member_id: uuid::Uuid,
    pub amount: String,
    pub currency: String,
    pub status: String,
    pub flagged: bool,
    pub recorded_by_id: uuid::Uuid,
    pub device_id: Option<uuid::Uuid>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Check a receipt handed out offline: open to the member who paid and to the tontine's
/// collectors, treasurer and president (and admins). Anyone else gets 404.
#[utoipa::path(get, path = "/api/v1/receipts/{receipt_code}", tag = "sync",
    security(("bearer" = [])), params(("receipt_code" = String, Path)),
    responses(
        (status = 200, description = "The receipt's payment: amount and status", body = ReceiptResponse),
        (status = 404, description = "Unknown receipt, or not the caller's to see", body = ErrorBody),
        (status = 422, description = "Not a receipt code", body = ErrorBody)))]
pub async fn receipt(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(code): Path<String>,
) -> ApiResult<Json<ReceiptResponse>> {
    let code = ReceiptCode::parse(&code).map_err(|e| ApiError::field("receipt_code", e))?;
    let payment = state
        .store()
        .payment_by_receipt(code.as_str())
        .await?
        .ok_or_else(ApiError::not_found)?;
    let access = TontineAccess::load(&state, &caller, payment.tontine_id).await?;
    // The receipt code is among what only a full view of the payment shows.
    if Viewer::new(&access, caller.id).view(&payment) != Some(PaymentView::Full) {
        return Err(ApiError::not_found());
    }
    Ok(Json(ReceiptResponse {
        receipt_code: code.to_string(),
        payment_id: payment.id.as_uuid(),
        tontine_id: payment.tontine_id.as_uuid(),
        session_id: payment.session_id.as_uuid(),
        member_id: payment.member_id.as_uuid(),
        amount: payment.amount.to_wire_string(),
        currency: payment.amount.currency().to_string(),
        status: payment.status.to_string(),
        flagged: payment.flagged,
        recorded_by_id: payment.recorded_by_id.as_uuid(),
        device_id: payment.device_id,
        created_at: payment.created_at,
    }))
}
