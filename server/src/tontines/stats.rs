//! `GET /tontines/{id}/stats`: the figures of a tontine, computed exactly from its sessions,
//! members and passages.

use axum::{Json, extract::State};
use chrono::NaiveDate;
use kobiri_core::{Action, Amount, PassageStatus, SessionFigures, SessionStatus, TontineId};
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

use super::TontineAccess;
use crate::{
    auth::AuthUser,
    error::{ApiError, ApiResult, ErrorBody},
    extract::PathId,
    state::AppState,
    store::all_pages,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct TontineStats {
    pub total_members: u32,
    pub active_members: u32,
    pub total_sessions: u32,
    pub completed_sessions: u32,
    /// Validated contributions over all sessions.
    pub total_collected: String,
    /// Pots handed out (confirmed or recorded payouts).
    pub total_distributed: String,
    /// Mean collection percentage of the sessions opened so far, 0 to 100.
    pub average_contribution_rate: String,
    pub next_session_date: Option<NaiveDate>,
    pub next_beneficiary_name: Option<String>,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Figures of a tontine, for its members.
#[utoipa::path(get, path = "/api/v1/tontines/{id}/stats", tag = "tontines", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "The tontine's figures", body = TontineStats),
        (status = 404, description = "No such tontine, or the caller is not a member", body = ErrorBody)))]
pub async fn stats(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathId(id): PathId,
) -> ApiResult<Json<TontineStats>> {
    let access = TontineAccess::load(&state, &caller, TontineId::from_uuid(id)).await?;
    access.require(Action::ViewStats)?;
    let t = &access.tontine;
    let members = state.store().list_members(t.id).await?;
    let sessions = all_pages(|page| state.store().list_sessions(t.id, None, page)).await?;
    let passages = state.store().list_passages(t.id).await?;
    let total_collected = Amount::sum(t.currency(), sessions.iter().map(|s| s.collected_amount))
        .map_err(|_| ApiError::internal())?;
    let total_distributed = Amount::sum(
        t.currency(),
        passages
            .iter()
            .filter_map(|p| p.amount_received.or(p.payout_amount)),
    )
    .map_err(|_| ApiError::internal())?;
    let opened: Vec<Decimal> = sessions
        .iter()
        .filter(|s| s.opened_at.is_some() && !s.expected_amount.is_zero())
        .filter_map(|s| SessionFigures::new(s.expected_amount, s.collected_amount).ok())
        .map(|f| f.collection_percentage())
        .collect();
    let average = match opened.len() {
        0 => Decimal::ZERO,
        n => (opened.iter().sum::<Decimal>() / Decimal::from(count(n)))
            .round_dp(2)
            .normalize(),
    };
    let next = sessions
        .iter()
        .find(|s| s.status == SessionStatus::Programmee);
    let next_beneficiary = passages
        .iter()
        .filter(|p| p.status.is_pending())
        .min_by_key(|p| p.order_number);
    Ok(Json(TontineStats {
        total_members: count(members.len()),
        active_members: count(members.iter().filter(|m| m.is_active).count()),
        total_sessions: count(sessions.len()),
        completed_sessions: count(
            sessions
                .iter()
                .filter(|s| s.status == SessionStatus::Terminee)
                .count(),
        ),
        total_collected: total_collected.to_wire_string(),
        total_distributed: total_distributed.to_wire_string(),
        average_contribution_rate: average.to_string(),
        next_session_date: next.map(|s| s.scheduled_date),
        next_beneficiary_name: next_beneficiary
            .filter(|p| p.status != PassageStatus::Complete)
            .map(|p| p.member_name.clone()),
    }))
}
