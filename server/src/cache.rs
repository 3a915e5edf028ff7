//! A short-lived, per-process cache of what every authenticated read needs: the caller's
//! account, whether their session is still open, and their standing in a tontine (and, kept
//! longer as it never changes, the tontine of a session). It turns the three or four queries of
//! a read into none on a hit.
//!
//! Writes made through this process forget the entries they change at once, so a process
//! never serves its own stale data. Another replica's writes are seen after at most the TTL
//! (`READ_CACHE_TTL_MS`, 1 s by default; 0 turns the cache off): a deactivated account, a
//! closed session (logout, password change, revoked device) or a removed member may read for
//! up to that long on the other replicas.

use std::{sync::Arc, time::Duration};

use kobiri_core::{SessionId, TokenFamilyId, TontineId, UserId};
use moka::sync::Cache;

use crate::store::{Member, Store, StoreResult, Tontine, User};

/// A tontine and the caller's membership of it (active or former), as last read.
pub type Standing = Arc<(Tontine, Option<Member>)>;

#[derive(Clone)]
pub struct ReadCache {
    users: Option<Cache<UserId, User>>,
    /// A session (refresh-token family) and its owner while it is open; `None` once closed.
    sessions: Option<Cache<TokenFamilyId, Option<UserId>>>,
    standings: Option<Cache<(TontineId, UserId), Standing>>,
    /// The tontine of a session: it never changes, so no write forgets it.
    session_tontines: Option<Cache<SessionId, TontineId>>,
}

impl std::fmt::Debug for ReadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadCache")
            .field("enabled", &self.users.is_some())
            .finish()
    }
}

const CAPACITY: u64 = 100_000;
/// A session's tontine unused for this long is forgotten.
const SESSION_IDLE: Duration = Duration::from_secs(600);

impl ReadCache {
    pub fn new(ttl: Duration) -> Self {
        if ttl.is_zero() {
            return Self {
                users: None,
                sessions: None,
                standings: None,
                session_tontines: None,
            };
        }
        Self {
            users: Some(
                Cache::builder()
                    .max_capacity(CAPACITY)
                    .time_to_live(ttl)
                    .build(),
            ),
            sessions: Some(
                Cache::builder()
                    .max_capacity(CAPACITY)
                    .time_to_live(ttl)
                    .support_invalidation_closures()
                    .build(),
            ),
            standings: Some(
                Cache::builder()
                    .max_capacity(CAPACITY)
                    .time_to_live(ttl)
                    .support_invalidation_closures()
                    .build(),
            ),
            session_tontines: Some(
                Cache::builder()
                    .max_capacity(CAPACITY)
                    .time_to_idle(SESSION_IDLE)
                    .build(),
            ),
        }
    }

    /// The tontine a session belongs to (`GET /payments?session_id=` asks it each time).
    pub async fn tontine_of_session(
        &self,
        store: &dyn Store,
        id: SessionId,
    ) -> StoreResult<Option<TontineId>> {
        if let Some(hit) = self.session_tontines.as_ref().and_then(|c| c.get(&id)) {
            return Ok(Some(hit));
        }
        let tontine = store.session_by_id(id).await?.map(|s| s.tontine_id);
        if let (Some(cache), Some(t)) = (&self.session_tontines, tontine) {
            cache.insert(id, t);
        }
        Ok(tontine)
    }

    pub async fn user(&self, store: &dyn Store, id: UserId) -> StoreResult<Option<User>> {
        if let Some(hit) = self.users.as_ref().and_then(|c| c.get(&id)) {
            return Ok(Some(hit));
        }
        let user = store.user_by_id(id).await?;
        if let (Some(cache), Some(u)) = (&self.users, &user) {
            cache.insert(id, u.clone());
        }
        Ok(user)
    }

    /// The owner of `session` while it is open (some refresh token of the family is not
    /// revoked); `None` once it was closed.
    pub async fn session_owner(
        &self,
        store: &dyn Store,
        session: TokenFamilyId,
    ) -> StoreResult<Option<UserId>> {
        if let Some(hit) = self.sessions.as_ref().and_then(|c| c.get(&session)) {
            return Ok(hit);
        }
        let owner = store.session_owner(session).await?;
        if let Some(cache) = &self.sessions {
            cache.insert(session, owner);
        }
        Ok(owner)
    }

    /// Forgets a session closed by this process (logout, a re-used refresh token).
    pub fn forget_session(&self, session: TokenFamilyId) {
        if let Some(c) = &self.sessions {
            c.invalidate(&session);
        }
    }

    /// Forgets every session of a user whose tokens this process revoked (password change or
    /// reset, deactivation, a revoked device).
    pub fn forget_sessions_of(&self, user: UserId) {
        if let Some(c) = &self.sessions {
            // Only fails when closures are not enabled, which `new` does.
            let _ = c.invalidate_entries_if(move |_, owner| *owner == Some(user));
        }
    }

    pub async fn standing(
        &self,
        store: &dyn Store,
        tontine: TontineId,
        user: UserId,
    ) -> StoreResult<Option<Standing>> {
        if let Some(hit) = self
            .standings
            .as_ref()
            .and_then(|c| c.get(&(tontine, user)))
        {
            return Ok(Some(hit));
        }
        let Some(t) = store.tontine_by_id(tontine).await? else {
            return Ok(None);
        };
        let member = store.member_of(tontine, user).await?;
        let standing: Standing = Arc::new((t, member));
        if let Some(cache) = &self.standings {
            cache.insert((tontine, user), standing.clone());
        }
        Ok(Some(standing))
    }

    /// Forgets a user changed by this process (profile, role, activation, verification).
    pub fn forget_user(&self, id: UserId) {
        if let Some(c) = &self.users {
            c.invalidate(&id);
        }
    }

    /// Forgets every standing in a tontine changed by this process (its settings, its
    /// members).
    pub fn forget_tontine(&self, id: TontineId) {
        if let Some(c) = &self.standings {
            // Only fails when closures are not enabled, which `new` does.
            let _ = c.invalidate_entries_if(move |(t, _), _| *t == id);
        }
    }
}
