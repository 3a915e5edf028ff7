// Over 400 lines on purpose: the session routes (generate, open, close, list), which share the
// access checks.
//! Session handlers.

use axum::{Json, extract::State, http::StatusCode};
use kobiri_core::{
    Action, Amount, ErrorCode, Event, MemberId, SessionFigures, SessionId, TontineId,
    TransitionError, bounded_text, expected_amount, schedule,
};

use super::{
    SessionPicture,
    dto::{
        CloseRequest, CreateSessionRequest, GenerateRequest, OpenRequest, PendingMember,
        SessionListQuery, SessionResponse, SessionStats,
    },
    load,
};
use crate::{
    auth::AuthUser,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{AppJson, AppQuery, PathId, page_request},
    notify::plan::{Links, Plan},
    state::AppState,
    store::{NewAudit, NewNotification, NewSession, Page, Session, SessionChange},
    tontines::TontineAccess,
};

const MAX_GENERATED: u32 = 120;
const NOTES_MAX: usize = 2000;

fn today(state: &AppState) -> chrono::NaiveDate {
    state.now().date_naive()
}

fn transition_error(e: &TransitionError) -> ApiError {
    ApiError::new(ErrorCode::BusinessRule).with_detail(e.to_string())
}

/// Plan one session (president or treasurer); its number follows the tontine's last one.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions", security(("bearer" = [])),
    request_body = CreateSessionRequest,
    responses(
        (status = 201, description = "Planned", body = SessionResponse),
        (status = 422, description = "Dates out of order, or a beneficiary of another tontine", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    AppJson(body): AppJson<CreateSessionRequest>,
) -> ApiResult<(StatusCode, Json<SessionResponse>)> {
    let access =
        TontineAccess::load(&state, &caller, TontineId::from_uuid(body.tontine_id)).await?;
    access.require(Action::CreateSession)?;
    if body.due_date < body.scheduled_date {
        return Err(ApiError::field(
            "due_date",
            "la date limite doit suivre la date prévue",
        ));
    }
    let beneficiary = match body.beneficiary_id {
        None => None,
        Some(id) => {
            let member = state
                .store()
                .member_by_id(access.tontine.id, MemberId::from_uuid(id))
                .await?;
            Some(
                member
                    .ok_or_else(|| {
                        ApiError::field(
                            "beneficiary_id",
                            "ce membre n'appartient pas à cette tontine",
                        )
                    })?
                    .id,
            )
        }
    };
    let notes = body
        .notes
        .as_deref()
        .map(|n| bounded_text(n, NOTES_MAX))
        .transpose()
        .map_err(|e| ApiError::field("notes", e))?
        .flatten();
    let new = NewSession {
        id: SessionId::new(),
        tontine_id: access.tontine.id,
        scheduled_date: body.scheduled_date.into(),
        due_date: body.due_date.into(),
        beneficiary_id: beneficiary,
        notes,
        currency: access.tontine.currency(),
        now: state.now(),
    };
    let mut created = state.store().create_sessions(&[new]).await?;
    let session = created.pop().ok_or_else(ApiError::internal)?;
    Ok((
        StatusCode::CREATED,
        Json(SessionResponse::new(session, today(&state))),
    ))
}

/// Plan the next `count` sessions from the tontine's start date and frequency (after any
/// already planned). `bimensuel` means every 14 days; month ends clamp (31 January, then 28 or
/// 29 February, then 31 March).
#[utoipa::path(post, path = "/api/v1/sessions/generate/{tontine_id}", tag = "sessions", security(("bearer" = [])),
    params(("tontine_id" = uuid::Uuid, Path)), request_body = GenerateRequest,
    responses((status = 201, description = "The planned sessions", body = Vec<SessionResponse>)))]
pub async fn generate(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
    AppJson(body): AppJson<GenerateRequest>,
) -> ApiResult<(StatusCode, Json<Vec<SessionResponse>>)> {
    let access = TontineAccess::load(&state, &caller, TontineId::from_uuid(id)).await?;
    access.require(Action::CreateSession)?;
    let t = &access.tontine;
    let count = body.count.unwrap_or(t.member_count.max(1));
    if !(1..=MAX_GENERATED).contains(&count) {
        return Err(ApiError::field(
            "count",
            format!("entre 1 et {MAX_GENERATED}"),
        ));
    }
    let existing = state
        .store()
        .list_sessions(t.id, None, page_request(Some(1), Some(1))?)
        .await?
        .total;
    let first = u32::try_from(existing).map_err(|_| ApiError::internal())?;
    let now = state.now();
    let mut sessions = Vec::with_capacity(count as usize);
    for index in first..first + count {
        let scheduled = schedule::nth_session_date(t.start_date, t.frequency, index)
            .ok_or_else(|| ApiError::field("count", "calendrier hors limites"))?;
        sessions.push(NewSession {
            id: SessionId::new(),
            tontine_id: t.id,
            scheduled_date: scheduled,
            due_date: schedule::due_date(scheduled),
            beneficiary_id: None,
            notes: None,
            currency: t.currency(),
            now,
        });
    }
    let created = state.store().create_sessions(&sessions).await?;
    let day = today(&state);
    Ok((
        StatusCode::CREATED,
        Json(
            created
                .into_iter()
                .map(|s| SessionResponse::new(s, day))
                .collect(),
        ),
    ))
}

/// The sessions of a tontine, by number; `?status=` filters.
#[utoipa::path(get, path = "/api/v1/sessions/tontine/{tontine_id}", tag = "sessions", security(("bearer" = [])),
    params(("tontine_id" = uuid::Uuid, Path), SessionListQuery),
    responses((status = 200, description = "A page of sessions", body = Page<SessionResponse>)))]
pub async fn list(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
    AppQuery(query): AppQuery<SessionListQuery>,
) -> ApiResult<Json<Page<SessionResponse>>> {
    let access = TontineAccess::load(&state, &caller, TontineId::from_uuid(id)).await?;
    access.require(Action::ViewSession)?;
    let page = page_request(query.page, query.page_size)?;
    let sessions = state
        .store()
        .list_sessions(access.tontine.id, query.status, page)
        .await?;
    let day = today(&state);
    Ok(Json(sessions.map(|s| SessionResponse::new(s, day))))
}

/// One session.
#[utoipa::path(get, path = "/api/v1/sessions/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "The session", body = SessionResponse),
        (status = 404, description = "No such session, or not visible to the caller", body = ErrorBody)))]
pub async fn get_one(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
) -> ApiResult<Json<SessionResponse>> {
    let (session, _) = load(
        &state,
        &caller,
        SessionId::from_uuid(id),
        Action::ViewSession,
    )
    .await?;
    Ok(Json(SessionResponse::new(session, today(&state))))
}

/// Open a session for payments (president or treasurer): `expected_amount` becomes the
/// contribution × the active members now, and members are notified (`session_ouverte`).
/// Several sessions of a tontine may be open at once: an earlier one keeps collecting
/// arrears while the next one collects its contributions.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/open", tag = "sessions", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)), request_body = OpenRequest,
    responses(
        (status = 200, description = "The session, now `en_cours`", body = SessionResponse),
        (status = 400, description = "Not openable from its status", body = ErrorBody),
        (status = 409, description = "Changed meanwhile", body = ErrorBody)))]
pub async fn open(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
    AppJson(body): AppJson<OpenRequest>,
) -> ApiResult<Json<SessionResponse>> {
    let (session, access) = load(
        &state,
        &caller,
        SessionId::from_uuid(id),
        Action::OpenSession,
    )
    .await?;
    let to = session.status.open().map_err(|e| transition_error(&e))?;
    // Read fresh, not from the read cache: the pot is money.
    let fresh = state
        .store()
        .tontine_by_id(access.tontine.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let t = &fresh;
    let expected = expected_amount(t.contribution, t.member_count)
        .map_err(|e| ApiError::new(ErrorCode::BusinessRule).with_detail(e.to_string()))?;
    let now = state.now();
    let notifications = if body.send_notifications {
        let event = Event::SessionOpened {
            tontine: t.name.clone(),
            session_number: session.session_number,
            due_date: session.due_date,
            amount: t.contribution,
        };
        notify_members(&state, &session, &event).await?
    } else {
        Vec::new()
    };
    let audit = NewAudit::api(
        caller.id,
        t.id,
        "session.opened",
        "session",
        session.id.as_uuid(),
        now,
    )
    .with_change(
        Some(serde_json::json!({"status": session.status})),
        Some(serde_json::json!({"status": to, "expected_amount": expected.to_wire_string()})),
    );
    let change = SessionChange {
        id: session.id,
        from: session.status,
        to,
        expected: Some(expected),
        notes: None,
        audit,
        notifications,
        now,
    };
    finish_change(&state, &change).await
}

/// Close a session (president or treasurer). Refused while some active member has not paid
/// (validated payments adding up to the contribution), unless `force`.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/close", tag = "sessions", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)), request_body = CloseRequest,
    responses(
        (status = 200, description = "The session, now `terminee`", body = SessionResponse),
        (status = 400, description = "Payments missing, or not open", body = ErrorBody)))]
pub async fn close(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
    AppJson(body): AppJson<CloseRequest>,
) -> ApiResult<Json<SessionResponse>> {
    let (session, access) = load(
        &state,
        &caller,
        SessionId::from_uuid(id),
        Action::CloseSession,
    )
    .await?;
    let picture = SessionPicture::load(&state, &session, access.tontine.contribution).await?;
    let missing = u32::try_from(picture.unpaid().count()).unwrap_or(u32::MAX);
    let to = session
        .status
        .close(missing, body.force)
        .map_err(|e| transition_error(&e))?;
    let notes = body
        .notes
        .as_deref()
        .map(|n| bounded_text(n, NOTES_MAX))
        .transpose()
        .map_err(|e| ApiError::field("notes", e))?
        .flatten();
    let now = state.now();
    let t = &access.tontine;
    let event = Event::SessionClosed {
        tontine: t.name.clone(),
        session_number: session.session_number,
        collected: session.collected_amount,
    };
    let notifications = notify_members(&state, &session, &event).await?;
    let audit = NewAudit::api(
        caller.id,
        t.id,
        "session.closed",
        "session",
        session.id.as_uuid(),
        now,
    )
    .with_change(
        Some(serde_json::json!({"status": session.status})),
        Some(serde_json::json!({"status": to, "missing_payments": missing, "forced": body.force})),
    );
    let change = SessionChange {
        id: session.id,
        from: session.status,
        to,
        expected: None,
        notes,
        audit,
        notifications,
        now,
    };
    finish_change(&state, &change).await
}

/// The notifications of `event` for every active member of the session's tontine, on the
/// channels each one chose.
async fn notify_members(
    state: &AppState,
    session: &Session,
    event: &Event,
) -> ApiResult<Vec<NewNotification>> {
    let recipients = state
        .store()
        .tontine_recipients(session.tontine_id, event.kind())
        .await?;
    Ok(Plan::new(event, Links::of_session(session), state.now()).for_all(&recipients))
}

async fn finish_change(
    state: &AppState,
    change: &SessionChange,
) -> ApiResult<Json<SessionResponse>> {
    if !state.store().change_session(change).await? {
        return Err(
            ApiError::new(ErrorCode::Conflict).with_detail("La séance a changé entre-temps")
        );
    }
    let session = state
        .store()
        .session_by_id(change.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(SessionResponse::new(session, today(state))))
}

/// Figures of a session, with the members who have not paid. A member counts as paid once
/// their validated payments for the session add up to the contribution.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/stats", tag = "sessions", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, description = "The session's figures", body = SessionStats)))]
pub async fn stats(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
) -> ApiResult<Json<SessionStats>> {
    let (session, access) = load(
        &state,
        &caller,
        SessionId::from_uuid(id),
        Action::ViewSession,
    )
    .await?;
    let picture = SessionPicture::load(&state, &session, access.tontine.contribution).await?;
    let currency = access.tontine.currency();
    let collected = Amount::sum(currency, picture.validated().map(|p| p.amount))
        .map_err(|_| ApiError::internal())?;
    let penalties = Amount::sum(currency, picture.validated().map(|p| p.penalty_amount))
        .map_err(|_| ApiError::internal())?;
    let members = u32::try_from(picture.members.len()).unwrap_or(u32::MAX);
    let expected = if session.expected_amount.is_zero() {
        expected_amount(access.tontine.contribution, members).map_err(|_| ApiError::internal())?
    } else {
        session.expected_amount
    };
    let rate = SessionFigures::new(expected, collected)
        .map_err(|_| ApiError::internal())?
        .collection_percentage();
    let pending: Vec<PendingMember> = picture
        .unpaid()
        .map(|m| PendingMember {
            member_id: m.id.as_uuid(),
            user_id: m.user_id.as_uuid(),
            name: m.user_name.clone(),
            phone: access
                .sees_contacts_of(m.user_id)
                .then(|| m.user_phone.as_str().to_owned()),
        })
        .collect();
    let received = u32::try_from(picture.paid().count()).unwrap_or(u32::MAX);
    Ok(Json(SessionStats {
        session_id: session.id.as_uuid(),
        total_expected_payments: members,
        total_received_payments: received,
        missing_payments: u32::try_from(pending.len()).unwrap_or(u32::MAX),
        total_amount_expected: expected.to_wire_string(),
        total_amount_collected: collected.to_wire_string(),
        collection_rate: rate.to_string(),
        late_payments: u32::try_from(picture.validated().filter(|p| p.is_late).count())
            .unwrap_or(u32::MAX),
        penalties_collected: penalties.to_wire_string(),
        pending_members: pending,
    }))
}
