//! The `/tontines` routes, and the access check every tontine-scoped handler uses.

pub mod dto;
pub mod handlers;
pub mod members;
pub mod stats;

use axum::{
    Router,
    routing::{get, post, put},
};
use kobiri_core::{Action, Actor, TontineId, may};

use crate::{
    error::{ApiError, ApiResult},
    state::AppState,
    store::{Member, Tontine, User},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tontines", post(handlers::create).get(handlers::list))
        .route("/tontines/join", post(members::join))
        .route(
            "/tontines/{id}",
            get(handlers::get_one)
                .put(handlers::update)
                .delete(handlers::delete),
        )
        .route(
            "/tontines/{id}/members",
            post(members::add).get(members::list),
        )
        .route("/tontines/{id}/members/{member_id}", put(members::update))
        .route("/tontines/{id}/leave", post(members::leave))
        .route("/tontines/{id}/stats", get(stats::stats))
}

/// The caller's standing in one tontine.
#[derive(Debug)]
pub struct TontineAccess {
    pub tontine: Tontine,
    pub actor: Actor,
    /// The caller's active membership, if any.
    pub member: Option<Member>,
}

impl TontineAccess {
    /// Loads the tontine and the caller's role in it. A tontine the caller may not see (not a
    /// member, not public, not admin) is a 404, so its existence does not leak.
    pub async fn load(state: &AppState, caller: &User, id: TontineId) -> ApiResult<Self> {
        let tontine = state
            .store()
            .tontine_by_id(id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        let member = state
            .store()
            .member_of(id, caller.id)
            .await?
            .filter(|m| m.is_active);
        let actor = match (&member, caller.is_admin()) {
            (_, true) => Actor::Admin,
            (Some(m), false) => Actor::Member(m.role),
            (None, false) => Actor::Outsider,
        };
        let visible = !matches!(actor, Actor::Outsider) || (tontine.is_public && tontine.is_active);
        if !visible {
            return Err(ApiError::not_found());
        }
        Ok(Self {
            tontine,
            actor,
            member,
        })
    }

    /// Refuses what the caller's role may not do: 404 to outsiders (they should not learn
    /// more), 403 to members. Anyone may view an active public tontine.
    pub fn require(&self, action: Action) -> ApiResult<()> {
        let public_view =
            action == Action::ViewTontine && self.tontine.is_public && self.tontine.is_active;
        if public_view || may(self.actor, action) {
            Ok(())
        } else if matches!(self.actor, Actor::Outsider) {
            Err(ApiError::not_found())
        } else {
            Err(ApiError::forbidden())
        }
    }
}
