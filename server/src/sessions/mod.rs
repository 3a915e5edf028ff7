//! The `/sessions` routes: plan, list, open, close and measure contribution sessions.

pub mod dto;
pub mod handlers;

use axum::{
    Router,
    routing::{get, post},
};
use kobiri_core::{Action, SessionId};

use crate::{
    error::{ApiError, ApiResult},
    state::AppState,
    store::{Member, Payment, PaymentFilter, Session, User, all_pages},
    tontines::TontineAccess,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions", post(handlers::create))
        .route("/sessions/generate/{tontine_id}", post(handlers::generate))
        .route("/sessions/tontine/{tontine_id}", get(handlers::list))
        .route("/sessions/{id}", get(handlers::get_one))
        .route("/sessions/{id}/open", post(handlers::open))
        .route("/sessions/{id}/close", post(handlers::close))
        .route("/sessions/{id}/stats", get(handlers::stats))
}

/// Loads a session and the caller's access to its tontine, requiring `action`. A session of
/// a tontine the caller cannot see is a 404.
pub async fn load(
    state: &AppState,
    caller: &User,
    id: SessionId,
    action: Action,
) -> ApiResult<(Session, TontineAccess)> {
    let session = state
        .store()
        .session_by_id(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let access = TontineAccess::load(state, caller, session.tontine_id).await?;
    access.require(action)?;
    Ok((session, access))
}

/// Who has paid what in a session: every payment, and the active members.
pub struct SessionPicture {
    pub payments: Vec<Payment>,
    pub members: Vec<Member>,
}

impl SessionPicture {
    pub async fn load(state: &AppState, session: &Session) -> ApiResult<Self> {
        let filter = PaymentFilter {
            session_id: Some(session.id),
            ..PaymentFilter::default()
        };
        let payments = all_pages(|page| state.store().list_payments(filter, page)).await?;
        let members = state
            .store()
            .list_members(session.tontine_id)
            .await?
            .into_iter()
            .filter(|m| m.is_active)
            .collect();
        Ok(Self { payments, members })
    }

    /// Active members with no validated payment for the session.
    pub fn unpaid(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().filter(|m| {
            !self
                .payments
                .iter()
                .any(|p| p.member_id == m.id && p.status == kobiri_core::PaymentStatus::Valide)
        })
    }

    pub fn validated(&self) -> impl Iterator<Item = &Payment> {
        self.payments
            .iter()
            .filter(|p| p.status == kobiri_core::PaymentStatus::Valide)
    }
}
