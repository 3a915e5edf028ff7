//! Notification handlers: the caller's inbox and choices, and reminders from managers.

use std::collections::HashSet;

use axum::{Json, extract::State};
use kobiri_core::{Action, ErrorCode, NotificationType, SessionId, SessionStatus, UserId};

use super::dto::{
    MarkReadRequest, MarkedCountResponse, NotificationListQuery, NotificationPage, PreferencesBody,
    ReminderDraft, SendReminderRequest, SentCountResponse, UnreadCountResponse,
};
use crate::{
    auth::AuthUser,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{AppJson, AppQuery, page_request},
    jobs::reminder_event,
    notify::plan::{Channels, Links, Plan},
    state::AppState,
    store::{MarkRead, Recipient},
    tontines::TontineAccess,
};

/// The caller's in-app notifications, newest first, with their unread count.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications",
    security(("bearer" = [])), params(NotificationListQuery),
    responses(
        (status = 200, description = "A page of the inbox and the unread count",
            body = NotificationPage),
        (status = 422, description = "Bad page or filter", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    AppQuery(query): AppQuery<NotificationListQuery>,
) -> ApiResult<Json<NotificationPage>> {
    let page = page_request(query.page, query.page_size)?;
    let store = state.store();
    let items = store
        .list_notifications(caller.id, query.unread_only.unwrap_or(false), page)
        .await?;
    let unread = store.count_unread_notifications(caller.id).await?;
    Ok(Json(NotificationPage::new(items, unread)))
}

/// How many of the caller's in-app notifications are unread.
#[utoipa::path(get, path = "/api/v1/notifications/unread-count", tag = "notifications",
    security(("bearer" = [])),
    responses((status = 200, description = "The unread count", body = UnreadCountResponse)))]
pub async fn unread_count(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> ApiResult<Json<UnreadCountResponse>> {
    let unread_count = state.store().count_unread_notifications(caller.id).await?;
    Ok(Json(UnreadCountResponse { unread_count }))
}

/// Marks notifications read (status `lue`, `read_at` set): the ids given, or all with
/// `{all: true}`. Only the caller's own unread ones count; other ids are ignored.
#[utoipa::path(post, path = "/api/v1/notifications/mark-read", tag = "notifications",
    security(("bearer" = [])), request_body = MarkReadRequest,
    responses(
        (status = 200, description = "How many were marked", body = MarkedCountResponse),
        (status = 422, description = "Neither ids nor all, or too many ids", body = ErrorBody)))]
pub async fn mark_read(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    AppJson(body): AppJson<MarkReadRequest>,
) -> ApiResult<Json<MarkedCountResponse>> {
    let which = MarkRead::try_from(body)?;
    let marked_count = state
        .store()
        .mark_notifications_read(caller.id, &which, state.now())
        .await?;
    Ok(Json(MarkedCountResponse { marked_count }))
}

/// Every notification type and channel with the caller's effective choice (their own, or the
/// default: in-app always; SMS for reminders, late alerts, payment confirmations, payout
/// turns and penalties; e-mail and push off).
#[utoipa::path(get, path = "/api/v1/notifications/preferences", tag = "notifications",
    security(("bearer" = [])),
    responses((status = 200, description = "The effective choices", body = PreferencesBody)))]
pub async fn get_preferences(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> ApiResult<Json<PreferencesBody>> {
    let stored = state.store().notification_preferences(caller.id).await?;
    Ok(Json(PreferencesBody::effective(&stored)))
}

/// Stores the listed choices (others keep their value) and answers the effective choices.
#[utoipa::path(put, path = "/api/v1/notifications/preferences", tag = "notifications",
    security(("bearer" = [])), request_body = PreferencesBody,
    responses(
        (status = 200, description = "The effective choices", body = PreferencesBody),
        (status = 422, description = "Unknown type or channel, or in-app turned off",
            body = ErrorBody)))]
pub async fn put_preferences(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    AppJson(body): AppJson<PreferencesBody>,
) -> ApiResult<Json<PreferencesBody>> {
    let choices = body.into_choices()?;
    let store = state.store();
    store
        .set_notification_preferences(caller.id, &choices)
        .await?;
    let stored = store.notification_preferences(caller.id).await?;
    Ok(Json(PreferencesBody::effective(&stored)))
}

/// Reminds the members of an open session who have no pending or validated payment for it
/// (president, treasurer or admin). In-app always; `channels` (or `channel`, default `sms`)
/// beside it, except where a member turned that channel off for reminders.
#[utoipa::path(post, path = "/api/v1/notifications/send-reminder", tag = "notifications",
    security(("bearer" = [])), request_body = SendReminderRequest,
    responses(
        (status = 200, description = "How many members were reminded", body = SentCountResponse),
        (status = 400, description = "The session is not open", body = ErrorBody),
        (status = 403, description = "Not a president or treasurer", body = ErrorBody),
        (status = 404, description = "Unknown session, or of a tontine the caller is not in",
            body = ErrorBody),
        (status = 422, description = "Invalid field, or a user who is not an active member",
            body = ErrorBody)))]
pub async fn send_reminder(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    AppJson(body): AppJson<SendReminderRequest>,
) -> ApiResult<Json<SentCountResponse>> {
    let store = state.store();
    let session = store
        .session_by_id(SessionId::from_uuid(body.session_id))
        .await?
        .ok_or_else(ApiError::not_found)?;
    let access = TontineAccess::load(&state, &caller, session.tontine_id).await?;
    access.require(Action::SendReminder)?;
    let draft = ReminderDraft::try_from(body)?;
    if session.status != SessionStatus::EnCours {
        return Err(ApiError::new(ErrorCode::BusinessRule)
            .with_detail("La session n'est pas ouverte : aucun rappel à envoyer"));
    }
    let mut recipients = crate::sessions::unpaid_recipients(
        store,
        &session,
        access.tontine.contribution,
        NotificationType::RappelCotisation,
    )
    .await?;
    if let Some(ids) = &draft.user_ids {
        check_members(&state, &access, ids).await?;
        recipients.retain(|r| ids.contains(&r.user_id));
    }
    let event = reminder_event(&access.tontine, &session, draft.custom_message);
    let rows = Plan::new(&event, Links::of_session(&session), state.now())
        .channels(Channels::Requested(&draft.channels))
        .for_all(&recipients);
    store.write_notifications(&rows).await?;
    Ok(Json(SentCountResponse {
        sent_count: reminded(&recipients),
    }))
}

/// Refuses (422) any id that is not an active member of the tontine.
async fn check_members(state: &AppState, access: &TontineAccess, ids: &[UserId]) -> ApiResult<()> {
    let members: HashSet<UserId> = state
        .store()
        .list_members(access.tontine.id)
        .await?
        .into_iter()
        .filter(|m| m.is_active)
        .map(|m| m.user_id)
        .collect();
    match ids.iter().position(|id| !members.contains(id)) {
        None => Ok(()),
        Some(i) => Err(ApiError::field(
            format!("user_ids[{i}]"),
            "cet utilisateur n'est pas membre actif de la tontine",
        )),
    }
}

fn reminded(recipients: &[Recipient]) -> u64 {
    u64::try_from(recipients.len()).unwrap_or(u64::MAX)
}
