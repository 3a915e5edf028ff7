// Over 400 lines on purpose: the payment routes, which share the access checks and the response
// shaping.
//! Payment handlers.

use axum::{Json, extract::State, http::StatusCode};
use kobiri_core::{
    Action, Dues, ErrorCode, Event, MemberId, PaymentFacts, PaymentId, PaymentStatus, ReceiptCode,
    SessionId, TontineId, UserId, Via, bounded_text, may_record, payment::may_validate,
    plan_payment, session_to_pay,
};

use super::{
    dto::{
        CreatePaymentRequest, Decision, PaymentListQuery, PaymentResponse, TontinePaymentsQuery,
        ValidateRequest,
    },
    record,
    visibility::Viewer,
};
use crate::{
    auth::AuthUser,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{AppJson, AppQuery, PathId, page_request},
    notify::{notify_payer, plan::Links},
    state::AppState,
    store::{
        AuditEntry, Member, NewAudit, NewNotification, NewPayment, Page, Payment, PaymentDecision,
        PaymentFilter, Session, StoreError, Tontine, Unique,
    },
    tontines::TontineAccess,
};

const TEXT_MAX: usize = 500;
/// A receipt code colliding with an existing one is drawn again this many times.
const RECEIPT_TRIES: usize = 5;

fn text(field: &str, value: Option<&str>) -> ApiResult<Option<String>> {
    value
        .map(|v| bounded_text(v, TEXT_MAX))
        .transpose()
        .map_err(|e| ApiError::field(field, e))
        .map(Option::flatten)
}

pub(crate) fn rule(detail: impl Into<std::borrow::Cow<'static, str>>) -> ApiError {
    ApiError::new(ErrorCode::BusinessRule).with_detail(detail)
}

/// The paying member: the one named (a manager recording for someone), else the caller. Who
/// may record for whom is the planner's rule.
async fn paying_member(
    state: &AppState,
    access: &TontineAccess,
    body: &CreatePaymentRequest,
) -> ApiResult<Member> {
    let t = access.tontine.id;
    let named = match (body.member_id, body.user_id) {
        (Some(id), _) => Some(
            state
                .store()
                .member_by_id(t, MemberId::from_uuid(id))
                .await?
                .ok_or_else(|| {
                    ApiError::field("member_id", "ce membre n'appartient pas à cette tontine")
                })?,
        ),
        (None, Some(uid)) => Some(
            state
                .store()
                .member_of(t, UserId::from_uuid(uid))
                .await?
                .ok_or_else(|| {
                    ApiError::field(
                        "user_id",
                        "cet utilisateur n'est pas membre de cette tontine",
                    )
                })?,
        ),
        (None, None) => None,
    };
    match named {
        Some(m) => Ok(m),
        None => access
            .member
            .clone()
            .ok_or_else(|| ApiError::field("member_id", "précisez le membre qui paie")),
    }
}

/// The session paid for: the one named (it must belong to the tontine and take payments:
/// open, or planned for an advance), else the oldest open session `member` has not paid
/// ([`kobiri_core::session_to_pay`]), so arrears go to the session they belong to.
pub(crate) async fn target_session(
    state: &AppState,
    tontine: &Tontine,
    member: &Member,
    session_id: Option<uuid::Uuid>,
) -> ApiResult<Session> {
    let session = match session_id {
        Some(id) => state
            .store()
            .session_by_id(SessionId::from_uuid(id))
            .await?
            .filter(|s| s.tontine_id == tontine.id)
            .ok_or_else(|| {
                ApiError::field(
                    "session_id",
                    "cette séance n'appartient pas à cette tontine",
                )
            })?,
        None => oldest_unpaid_session(state, tontine, member).await?,
    };
    if let Err(e) = session.status.payment_window() {
        return Err(rule(format!(
            "La séance n°{} n'accepte pas de paiement ({e})",
            session.session_number
        )));
    }
    Ok(session)
}

/// The oldest open session `member` has not paid: 400 when none is open, 409 when each open
/// session already has the member's payment.
async fn oldest_unpaid_session(
    state: &AppState,
    tontine: &Tontine,
    member: &Member,
) -> ApiResult<Session> {
    let open = state
        .store()
        .open_sessions_paid_by(tontine.id, member.id)
        .await?;
    if open.is_empty() {
        return Err(rule("Aucune séance ouverte pour cette tontine"));
    }
    let candidates = open.into_iter().map(|(session, paid)| {
        let dues = Dues::of(tontine.contribution, paid);
        let (number, status) = (session.session_number, session.status);
        (session, number, status, dues)
    });
    // Every open session already has its payment: a second one is a duplicate (409), as when
    // the session is named.
    session_to_pay(candidates).ok_or_else(|| {
        ApiError::new(ErrorCode::Conflict).with_detail(
            "Ce membre a déjà un paiement pour chaque séance ouverte : précisez session_id \
             (une séance programmée reçoit une avance)",
        )
    })
}

/// Record a manual payment. A member declares their own; a president, treasurer or collector
/// records one for another member. It waits (`en_attente`) for validation. The amount is the
/// tontine's contribution; after `due_date + grace_period_days` it is late and bears the
/// tontine's penalty. Without `session_id` it goes to the oldest open session the member has
/// not paid (arrears first); a planned session named by `session_id` takes an advance.
#[utoipa::path(post, path = "/api/v1/payments", tag = "payments", security(("bearer" = [])),
    request_body = CreatePaymentRequest,
    responses(
        (status = 201, description = "The payment, `en_attente`", body = PaymentResponse),
        (status = 400, description = "No open session left to pay, session closed, wrong amount", body = ErrorBody),
        (status = 409, description = "The member already paid for this session (or, without session_id, for every open session)", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody)))]
// Long on purpose: the request's fields are checked one by one, then the planner and one write;
// every rule it applies lives in core.
pub async fn create(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    AppJson(body): AppJson<CreatePaymentRequest>,
) -> ApiResult<(StatusCode, Json<PaymentResponse>)> {
    let access =
        TontineAccess::load(&state, &caller, TontineId::from_uuid(body.tontine_id)).await?;
    access.require(Action::ViewTontine)?;
    let t = &access.tontine;
    let amount = body
        .amount
        .amount(t.currency())
        .and_then(|a| a.require_positive())
        .map_err(|e| ApiError::field("amount", e))?;
    if !body.method.is_manual()
        && body
            .transaction_id
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
    {
        return Err(ApiError::field(
            "transaction_id",
            "obligatoire pour un transfert mobile déclaré à la main",
        ));
    }
    let member = paying_member(&state, &access, &body).await?;
    let caller = record::caller(&access, caller.id);
    may_record(caller, member.user_id).map_err(|r| record::refused(&r))?;
    let session = target_session(&state, t, &member, body.session_id).await?;
    let facts = PaymentFacts {
        caller,
        terms: record::terms(t),
        payer: record::payer(&member),
        session: record::target(&session),
        // The database's unique index tells (below).
        already_paid: false,
        amount,
        now: state.now(),
        via: Via::Api {
            method: body.method,
        },
    };
    let plan = plan_payment(&facts).map_err(|r| record::refused(&r))?;
    let payment = NewPayment {
        operator_transaction_id: text("transaction_id", body.transaction_id.as_deref())?,
        phone_number: text("phone_number", body.phone_number.as_deref())?,
        proof_url: text("proof_url", body.proof_url.as_deref())?,
        proof_description: text("proof_description", body.proof_description.as_deref())?,
        notes: text("notes", body.notes.as_deref())?,
        ..record::new_payment(PaymentId::new(), t, &facts, &plan)
    };
    let audit = record::audit(&payment, &plan);
    // A late payment tells the member about the penalty it bears.
    let notifications = if plan.is_late && !plan.penalty.is_zero() {
        let event = Event::Penalty {
            tontine: t.name.clone(),
            amount: plan.penalty,
        };
        let links = Links {
            tontine_id: Some(t.id),
            session_id: Some(session.id),
            payment_id: Some(payment.id.as_uuid()),
            data: None,
        };
        notify_payer(state.store(), state.now(), &event, links, member.user_id).await?
    } else {
        Vec::new()
    };
    match state
        .store()
        .insert_payment(&payment, &audit, &notifications)
        .await
    {
        Ok(()) => {
            let phone = Some(member.user_phone.as_str().to_owned());
            let stored = Payment::recorded(payment, member.user_name, phone);
            Ok((StatusCode::CREATED, Json(stored.into())))
        }
        Err(StoreError::Conflict { .. }) => Err(record::duplicate()),
        Err(e) => Err(e.into()),
    }
}

/// Approve or reject a pending payment: a president or treasurer who did not record it.
/// Approval adds it to the session's `collected_amount`, gives a cash payment its receipt
/// code, and notifies the member.
#[utoipa::path(post, path = "/api/v1/payments/{id}/validate", tag = "payments", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)), request_body = ValidateRequest,
    responses(
        (status = 200, description = "The payment, `valide` or `echoue`", body = PaymentResponse),
        (status = 403, description = "Not a manager, or the recorder (four eyes)", body = ErrorBody),
        (status = 409, description = "Already decided", body = ErrorBody)))]
// Long on purpose: the four-eyes rule, the receipt code (drawn again on a collision) and the
// notification around one guarded write.
pub async fn validate(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
    AppJson(body): AppJson<ValidateRequest>,
) -> ApiResult<Json<PaymentResponse>> {
    let payment = state
        .store()
        .payment_by_id(PaymentId::from_uuid(id))
        .await?
        .ok_or_else(ApiError::not_found)?;
    let access = TontineAccess::load(&state, &caller, payment.tontine_id).await?;
    access.require(Action::ViewTontine)?;
    may_validate(
        access.actor_for(Action::ValidatePayment),
        caller.id,
        payment.recorded_by_id,
    )
    .map_err(|e| ApiError::forbidden().with_detail(e.to_string()))?;
    let reason = text("rejection_reason", body.rejection_reason.as_deref())?;
    let to = match body.action {
        Decision::Approve => payment.status.approve(),
        Decision::Reject if reason.is_none() => {
            return Err(ApiError::field(
                "rejection_reason",
                "obligatoire pour un rejet",
            ));
        }
        Decision::Reject => payment.status.reject(),
    }
    .map_err(|e| ApiError::new(ErrorCode::Conflict).with_detail(e.to_string()))?;
    if payment.flagged && to == PaymentStatus::Valide {
        return Err(rule(
            "Ce paiement est signalé : le trésorier doit d'abord traiter le signalement",
        ));
    }
    let now = state.now();
    let audit = NewAudit::api(
        caller.id,
        payment.tontine_id,
        if to == PaymentStatus::Valide {
            "payment.validated"
        } else {
            "payment.rejected"
        },
        "payment",
        payment.id.as_uuid(),
        now,
    )
    .with_change(
        Some(serde_json::json!({"status": payment.status})),
        Some(serde_json::json!({"status": to, "rejection_reason": reason})),
    );
    for _ in 0..RECEIPT_TRIES {
        let receipt =
            (to == PaymentStatus::Valide && payment.method == kobiri_core::PaymentMethod::Especes)
                .then(|| {
                    // Cash from a phone keeps the code its receipt already shows.
                    payment.receipt_code.clone().unwrap_or_else(|| {
                        ReceiptCode::generate(&mut rand::rng()).as_str().to_owned()
                    })
                });
        let notifications = match body.action {
            Decision::Approve => {
                confirmation(&state, &access, &payment, receipt.as_deref()).await?
            }
            Decision::Reject => Vec::new(),
        };
        let decision = PaymentDecision {
            id: payment.id,
            to,
            validator: caller.id,
            receipt_code: receipt,
            rejection_reason: reason.clone(),
            audit: audit.clone(),
            notifications,
            now,
        };
        match state.store().decide_payment(&decision).await {
            Ok(Some(done)) => {
                // The member's totals changed.
                state.cache.forget_tontine(done.tontine_id);
                return Ok(Json(done.into()));
            }
            Ok(None) => {
                return Err(
                    ApiError::new(ErrorCode::Conflict).with_detail("Ce paiement a déjà été traité")
                );
            }
            Err(e) if e.unique() == Some(Unique::ReceiptCode) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::internal())
}

/// `confirmation_paiement` for the payer, on the channels they chose.
async fn confirmation(
    state: &AppState,
    access: &TontineAccess,
    p: &Payment,
    receipt: Option<&str>,
) -> ApiResult<Vec<NewNotification>> {
    let event = Event::PaymentConfirmed {
        tontine: access.tontine.name.clone(),
        amount: p.amount,
        receipt_code: receipt.map(str::to_owned),
    };
    let links = Links {
        tontine_id: Some(p.tontine_id),
        session_id: Some(p.session_id),
        payment_id: Some(p.id.as_uuid()),
        data: Some(serde_json::json!({"payment_id": p.id})),
    };
    Ok(notify_payer(state.store(), state.now(), &event, links, p.user_id).await?)
}

/// The caller's payments, or, for a tontine's collectors, treasurer, president and admins,
/// that tontine's payments by filter: `tontine_id`, `session_id` (its tontine), `status` and
/// `user_id`, combined. A member's filters apply to their own payments (the whole tontine's
/// list, with other members' details hidden, is `GET /payments/tontine/{id}`); an admin
/// filters across all tontines.
#[utoipa::path(get, path = "/api/v1/payments", tag = "payments", security(("bearer" = [])),
    params(PaymentListQuery),
    responses(
        (status = 200, description = "A page of payments, newest first", body = Page<PaymentResponse>),
        (status = 404, description = "Unknown tontine or session, or not visible", body = ErrorBody),
        (status = 422, description = "Invalid filter", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    AppQuery(q): AppQuery<PaymentListQuery>,
) -> ApiResult<Json<Page<PaymentResponse>>> {
    let page = page_request(q.page, q.page_size)?;
    let mut filter = PaymentFilter {
        tontine_id: q.tontine_id.map(TontineId::from_uuid),
        session_id: q.session_id.map(SessionId::from_uuid),
        user_id: q.user_id.map(UserId::from_uuid),
        status: q.status,
    };
    // The tontine the filters are about: the one named, else the named session's.
    let tontine = match (filter.tontine_id, filter.session_id) {
        (Some(t), _) => Some(t),
        (None, Some(s)) => Some(
            state
                .cache
                .tontine_of_session(state.store(), s)
                .await?
                .ok_or_else(ApiError::not_found)?,
        ),
        (None, None) => None,
    };
    let viewer = match tontine {
        Some(t) => Some(Viewer::new(
            &TontineAccess::load(&state, &caller, t).await?,
            caller.id,
        )),
        None => None,
    };
    let sees_all = viewer.map_or(caller.is_admin(), |v| v.sees_all_in_full());
    if !sees_all {
        if filter.user_id.is_some_and(|u| u != caller.id) {
            return Ok(Json(Page::new(Vec::new(), 0, page)));
        }
        filter.user_id = Some(caller.id);
    }
    let payments = state.store().list_payments(filter, page).await?;
    Ok(Json(match viewer {
        Some(v) => v.show(payments),
        // Without a tontine: an admin's search, or the caller's own payments.
        None => payments.map(PaymentResponse::from),
    }))
}

/// The payments of a tontine, for its members: collectors and up (and the payer) see every
/// field; other members see who paid how much, without phone numbers, provider references,
/// proofs or receipt codes.
#[utoipa::path(get, path = "/api/v1/payments/tontine/{tontine_id}", tag = "payments", security(("bearer" = [])),
    params(("tontine_id" = uuid::Uuid, Path), TontinePaymentsQuery),
    responses(
        (status = 200, description = "One page of the tontine's payments", body = Page<PaymentResponse>),
        (status = 404, description = "No such tontine, or the caller is not a member", body = ErrorBody)))]
pub async fn list_for_tontine(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
    AppQuery(q): AppQuery<TontinePaymentsQuery>,
) -> ApiResult<Json<Page<PaymentResponse>>> {
    let access = TontineAccess::load(&state, &caller, TontineId::from_uuid(id)).await?;
    if access.is_outsider() {
        return Err(ApiError::not_found());
    }
    let page = page_request(q.page, q.page_size)?;
    let filter = PaymentFilter {
        tontine_id: Some(access.tontine.id),
        status: q.status,
        ..PaymentFilter::default()
    };
    let payments = state.store().list_payments(filter, page).await?;
    Ok(Json(Viewer::new(&access, caller.id).show(payments)))
}

/// The payments of a tontine, for its members (the same list under the tontine's path).
#[utoipa::path(get, path = "/api/v1/tontines/{id}/payments", tag = "payments", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path), TontinePaymentsQuery),
    responses(
        (status = 200, description = "One page of the tontine's payments", body = Page<PaymentResponse>),
        (status = 404, description = "No such tontine, or the caller is not a member", body = ErrorBody)))]
pub async fn list_under_tontine(
    state: State<AppState>,
    caller: AuthUser,
    id: PathId,
    query: AppQuery<TontinePaymentsQuery>,
) -> ApiResult<Json<Page<PaymentResponse>>> {
    list_for_tontine(state, caller, id, query).await
}

/// One payment: in full for the payer, the tontine's collectors, treasurer and president, and
/// admins; its public part (who paid how much) for the tontine's other members.
#[utoipa::path(get, path = "/api/v1/payments/{id}", tag = "payments", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "The payment", body = PaymentResponse),
        (status = 404, description = "No such payment, or not the caller's to see", body = ErrorBody)))]
pub async fn get_one(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
) -> ApiResult<Json<PaymentResponse>> {
    let payment = state
        .store()
        .payment_by_id(PaymentId::from_uuid(id))
        .await?
        .ok_or_else(ApiError::not_found)?;
    let access = TontineAccess::load(&state, &caller, payment.tontine_id).await?;
    let seen = Viewer::new(&access, caller.id)
        .see(payment)
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(seen.into()))
}

/// The tontine's audit log, newest first (president and treasurer).
#[utoipa::path(get, path = "/api/v1/tontines/{id}/audit", tag = "payments", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path), TontinePaymentsQuery),
    responses(
        (status = 200, description = "One page of audit entries, newest first", body = Page<AuditEntry>),
        (status = 403, description = "Not the president or treasurer", body = ErrorBody)))]
pub async fn audit(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
    AppQuery(q): AppQuery<TontinePaymentsQuery>,
) -> ApiResult<Json<Page<AuditEntry>>> {
    let access = TontineAccess::load(&state, &caller, TontineId::from_uuid(id)).await?;
    access.require(Action::ViewAudit)?;
    let page = page_request(q.page, q.page_size)?;
    Ok(Json(
        state.store().list_audit(access.tontine.id, page).await?,
    ))
}
