//! Who the logged-in user is in a tontine, for core's planners, checked on the phone before
//! anything is queued.
//!
//! The rules are the server's: [`Standing::caller`] is the [`Caller`] that core's planners
//! (`plan_payment`, `plan_correction`, `plan_member_addition`, `plan_confirmation`) read with
//! the permission table (the user's platform role and their active membership, whichever
//! allows more, exactly as the server's `TontineAccess::may`), against the phone's copy of
//! the tontine. The user is the one
//! stored at login ([`Identity`]); their membership is the pulled member row whose `user_id` is
//! theirs. When the phone cannot tell (no identity yet, or no member row for the user in the
//! tontine's copy), recording is refused with [`MobileError::RoleUnknown`] rather than guessed.
//!
//! The server still decides at sync (a role may have changed meanwhile); this check only keeps
//! the phone from queueing what the server would refuse as `forbidden`.

use kobiri_core::{Caller, MemberId, TontineId, TontineRole};
use rusqlite::Connection;

use crate::auth::Identity;
use crate::error::{Error, MobileError, Result};
use crate::rows;

/// The logged-in user's standing in one tontine, from the phone's copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Standing {
    pub(crate) identity: Identity,
    /// The user's active membership: their member id and role.
    pub(crate) member: Option<(MemberId, TontineRole)>,
}

impl Standing {
    /// The standing of the logged-in user in `tontine_id` (which the phone holds).
    pub(crate) fn of(conn: &Connection, tontine_id: TontineId) -> Result<Standing> {
        let identity = Identity::load(conn)?.ok_or_else(|| {
            role_unknown(
                "cet appareil ne sait pas encore qui est connecté : synchronisez, puis \
                 réessayez",
            )
        })?;
        let mine =
            rows::members_of_user(conn, &tontine_id.to_string(), &identity.user_id.to_string())?;
        if mine.is_empty() && !identity.platform.is_admin() {
            return Err(role_unknown(
                "votre rôle dans cette tontine n'est pas encore connu sur cet appareil : \
                 synchronisez, puis réessayez",
            ));
        }
        // An inactive membership gives no rights (as on the server); an unknown role string
        // (from a newer server) counts as the least, `membre`.
        let member = mine.iter().find(|row| row.flag("is_active")).map(|row| {
            let role = TontineRole::try_from(row.text("role").as_str()).unwrap_or_default();
            (MemberId::from_uuid(row.id), role)
        });
        Ok(Standing { identity, member })
    }

    /// The user as core's planners see them.
    pub(crate) fn caller(&self) -> Caller {
        Caller {
            user: self.identity.user_id,
            platform: self.identity.platform,
            membership: self.member.map(|(_, role)| role),
        }
    }

    /// The user's active member id in this tontine.
    pub(crate) fn member_id(&self) -> Option<MemberId> {
        self.member.map(|(id, _)| id)
    }
}

fn role_unknown(message: &str) -> Error {
    Error::Public(MobileError::RoleUnknown {
        detail: message.to_owned(),
    })
}
