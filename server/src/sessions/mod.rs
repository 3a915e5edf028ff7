//! The `/sessions` routes: plan, list, open, close and measure contribution sessions.

pub mod dto;
pub mod handlers;

use axum::{
    Router,
    routing::{get, post},
};
use kobiri_core::{Action, Amount, Dues, MemberId, PaymentFact, SessionId};

use crate::{
    error::{ApiError, ApiResult},
    state::AppState,
    store::{
        Member, Payment, PaymentFilter, Recipient, Session, Store, StoreResult, User, all_pages,
    },
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
    /// What each member owes: the tontine's contribution.
    pub owed: Amount,
}

impl SessionPicture {
    pub async fn load(state: &AppState, session: &Session, owed: Amount) -> ApiResult<Self> {
        let payments = session_payments(state.store(), session.id).await?;
        let members = state
            .store()
            .list_members(session.tontine_id)
            .await?
            .into_iter()
            .filter(|m| m.is_active)
            .collect();
        Ok(Self {
            payments,
            members,
            owed,
        })
    }

    /// Where `member` stands (see [`Dues`]).
    pub fn dues(&self, member: MemberId) -> Dues {
        dues_of(self.owed, &self.payments, member)
    }

    /// Active members who have not paid the session: their validated payments do not add up
    /// to the contribution.
    pub fn unpaid(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().filter(|m| !self.dues(m.id).is_paid())
    }

    /// Active members who have paid the session.
    pub fn paid(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().filter(|m| self.dues(m.id).is_paid())
    }

    pub fn validated(&self) -> impl Iterator<Item = &Payment> {
        self.payments
            .iter()
            .filter(|p| p.status == kobiri_core::PaymentStatus::Valide)
    }
}

/// Every payment of a session, flagged ones included.
pub async fn session_payments(store: &dyn Store, session: SessionId) -> StoreResult<Vec<Payment>> {
    let filter = PaymentFilter {
        session_id: Some(session),
        ..PaymentFilter::default()
    };
    all_pages(|page| store.list_payments(filter, page)).await
}

/// Where `member` stands among `payments` (of one session) when they owe `owed`.
pub fn dues_of(owed: Amount, payments: &[Payment], member: MemberId) -> Dues {
    Dues::of(
        owed,
        payments
            .iter()
            .filter(|p| p.member_id == member)
            .map(|p| PaymentFact {
                status: p.status,
                flagged: p.flagged,
                amount: p.amount,
            }),
    )
}

/// The recipients of `kind` among the active members who have not paid `session` at all
/// ([`Dues::Unpaid`]): reminders and late penalties follow each session on its own.
pub async fn unpaid_recipients(
    store: &dyn Store,
    session: &Session,
    owed: Amount,
    kind: kobiri_core::NotificationType,
) -> StoreResult<Vec<Recipient>> {
    let payments = session_payments(store, session.id).await?;
    Ok(store
        .tontine_recipients(session.tontine_id, kind)
        .await?
        .into_iter()
        .filter(|r| dues_of(owed, &payments, r.member_id).is_unpaid())
        .collect())
}
