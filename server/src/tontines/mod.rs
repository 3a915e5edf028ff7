//! The `/tontines` routes, and the access check every tontine-scoped handler uses.

pub mod dto;
pub mod handlers;
pub mod members;
pub mod stats;

use axum::{
    Router,
    routing::{get, post, put},
};
use kobiri_core::{Action, Actor, PlatformRole, TontineId, may, may_as};

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
    /// The caller's platform role: an admin who is also a member has the rights of both.
    pub platform: PlatformRole,
    /// The caller's active membership, if any.
    pub member: Option<Member>,
}

impl TontineAccess {
    /// Loads the tontine and the caller's role in it. A tontine the caller may not see (not a
    /// member, not public, not admin) is a 404, so its existence does not leak.
    pub async fn load(state: &AppState, caller: &User, id: TontineId) -> ApiResult<Self> {
        let standing = state
            .cache
            .standing(state.store(), id, caller.id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        let (tontine, member) = (
            standing.0.clone(),
            standing.1.clone().filter(|m| m.is_active),
        );
        let access = Self {
            tontine,
            platform: caller.role,
            member,
        };
        let visible =
            !access.is_outsider() || (access.tontine.is_public && access.tontine.is_active);
        if !visible {
            return Err(ApiError::not_found());
        }
        Ok(access)
    }

    /// Neither a member nor an admin.
    pub fn is_outsider(&self) -> bool {
        self.member.is_none() && !self.platform.is_admin()
    }

    /// Whether the caller may do `action`, as a member or as an admin, whichever allows more.
    pub fn may(&self, action: Action) -> bool {
        may_as(self.platform, self.member.as_ref().map(|m| m.role), action)
    }

    /// The role under which the caller does `action`: the one that allows it (admin or
    /// membership), else their membership.
    pub fn actor_for(&self, action: Action) -> Actor {
        let as_member = Actor::of(PlatformRole::Membre, self.member.as_ref().map(|m| m.role));
        if self.platform.is_admin() && (!may(as_member, action) || self.member.is_none()) {
            Actor::Admin
        } else {
            as_member
        }
    }

    /// Whether the caller may see `user`'s e-mail address and phone number in this tontine:
    /// their own, or anyone's for a collector, treasurer, president or admin.
    pub fn sees_contacts_of(&self, user: kobiri_core::UserId) -> bool {
        self.member.as_ref().is_some_and(|m| m.user_id == user)
            || self.may(Action::ViewMemberContacts)
    }

    /// Refuses what the caller's role may not do: 404 to outsiders (they should not learn
    /// more), 403 to members. Anyone may view an active public tontine.
    pub fn require(&self, action: Action) -> ApiResult<()> {
        let public_view =
            action == Action::ViewTontine && self.tontine.is_public && self.tontine.is_active;
        if public_view || self.may(action) {
            Ok(())
        } else if self.is_outsider() {
            Err(ApiError::not_found())
        } else {
            Err(ApiError::forbidden())
        }
    }
}
