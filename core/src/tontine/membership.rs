//! The one planner of adding a member: [`plan_member_addition`].
//!
//! A president adds a member through REST (`POST /tontines/{id}/members`, and joining by code
//! or accepting an invitation add one too), on the phone before it queues, or by a pushed
//! mutation. All call [`plan_member_addition`] with what they know of the tontine's roll: the
//! server reads it (inside the write's transaction online), the phone's copy does not hold it
//! and passes none, leaving the count to the server at sync.

use crate::error::ErrorCode;
use crate::permission::{Action, Caller};

/// Where the tontine's roll stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roll {
    /// Active members now (with those added earlier in the same sync batch).
    pub members: u32,
    pub max_members: u32,
    pub is_active: bool,
}

/// Why a member is not added. `Display` is the one French message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum MemberRefusal {
    /// Only the president (or an administrator) adds members.
    #[error("seul le président peut ajouter un membre")]
    NotAllowed,
    /// The tontine is deactivated.
    #[error("cette tontine est inactive")]
    Inactive,
    /// The tontine has `max_members` members.
    #[error("la tontine est complète")]
    Full,
    /// The person is a member already.
    #[error("déjà membre de cette tontine")]
    AlreadyMember,
}

impl MemberRefusal {
    /// The API error code of the refusal.
    pub fn code(self) -> ErrorCode {
        match self {
            MemberRefusal::NotAllowed => ErrorCode::Forbidden,
            MemberRefusal::Inactive | MemberRefusal::Full => ErrorCode::BusinessRule,
            MemberRefusal::AlreadyMember => ErrorCode::Conflict,
        }
    }
}

/// May `caller` add a member to a tontine whose roll is `roll` (when the path knows it)?
/// Someone joining by code or accepting an invitation adds themself: pass `None` as `caller`.
pub fn plan_member_addition(
    caller: Option<Caller>,
    roll: Option<Roll>,
) -> Result<(), MemberRefusal> {
    if caller.is_some_and(|c| !c.may(Action::ManageMembers)) {
        return Err(MemberRefusal::NotAllowed);
    }
    match roll {
        Some(roll) if !roll.is_active => Err(MemberRefusal::Inactive),
        Some(roll) if roll.members >= roll.max_members => Err(MemberRefusal::Full),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::UserId;
    use crate::role::{PlatformRole, TontineRole};

    fn roll(members: u32) -> Option<Roll> {
        Some(Roll {
            members,
            max_members: 10,
            is_active: true,
        })
    }

    #[test]
    fn the_president_or_an_administrator_adds_while_there_is_room() {
        for (platform, membership, allowed) in [
            (PlatformRole::Membre, Some(TontineRole::President), true),
            (PlatformRole::Admin, None, true),
            (PlatformRole::Membre, Some(TontineRole::Tresorier), false),
            (PlatformRole::Membre, Some(TontineRole::Collecteur), false),
            (PlatformRole::Membre, Some(TontineRole::Membre), false),
            (PlatformRole::Membre, None, false),
        ] {
            let caller = Caller {
                user: UserId::new(),
                platform,
                membership,
            };
            let planned = plan_member_addition(Some(caller), roll(9));
            assert_eq!(planned.is_ok(), allowed, "{platform:?} {membership:?}");
            if allowed {
                assert_eq!(
                    plan_member_addition(Some(caller), roll(10)),
                    Err(MemberRefusal::Full)
                );
                // The phone does not know the roll: the server counts at sync.
                assert_eq!(plan_member_addition(Some(caller), None), Ok(()));
            } else {
                assert_eq!(planned.unwrap_err().code(), ErrorCode::Forbidden);
            }
        }
    }

    #[test]
    fn nobody_joins_a_deactivated_or_full_tontine() {
        let closed = Some(Roll {
            members: 0,
            max_members: 10,
            is_active: false,
        });
        assert_eq!(
            plan_member_addition(None, closed),
            Err(MemberRefusal::Inactive)
        );
        assert_eq!(
            plan_member_addition(None, roll(10)),
            Err(MemberRefusal::Full)
        );
        assert_eq!(plan_member_addition(None, roll(3)), Ok(()));
        assert_eq!(MemberRefusal::AlreadyMember.code(), ErrorCode::Conflict);
    }
}
