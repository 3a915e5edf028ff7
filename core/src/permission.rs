//! Who may do what inside a tontine: one table, [`minimum_role`], read by [`may`].
//!
//! Roles nest: membre < collecteur < tresorier < president, and a role may do everything the
//! roles below it may. A platform administrator acts as a president, except that an
//! administrator who is not a member has no payment of their own to record. Someone outside
//! the tontine may do nothing (public tontines are listed by the tontine queries, not here).

use crate::id::UserId;
use crate::role::{PlatformRole, TontineRole};

/// Something a user may want to do in a tontine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// See the tontine's details.
    ViewTontine,
    /// Change the tontine's settings.
    UpdateTontine,
    /// Deactivate the tontine.
    DeleteTontine,
    /// Add members, change their role or order, deactivate them.
    ManageMembers,
    /// List the members.
    ViewMembers,
    /// See the members' e-mail addresses and phone numbers (everyone sees their own).
    ViewMemberContacts,
    /// Plan sessions.
    CreateSession,
    /// Open a session.
    OpenSession,
    /// Close a session.
    CloseSession,
    /// See sessions and their figures.
    ViewSession,
    /// Declare one's own payment.
    RecordOwnPayment,
    /// Record a payment for another member (cash collected).
    RecordPaymentForOthers,
    /// Approve or reject a payment (never one's own record: four eyes).
    ValidatePayment,
    /// See every member's payments.
    ViewAllPayments,
    /// Read the audit log.
    ViewAudit,
    /// Generate or set the payout order.
    ManagePassages,
    /// Start a passage.
    StartPassage,
    /// Record a payout.
    RecordPayout,
    /// Postpone a passage.
    PostponePassage,
    /// Send payment reminders.
    SendReminder,
    /// See the tontine's statistics.
    ViewStats,
    /// List former members (and, in `GET /tontines`, a deactivated tontine) on request.
    ViewInactive,
}

impl Action {
    /// Every action, in declaration order.
    pub const ALL: &[Action] = &[
        Action::ViewTontine,
        Action::UpdateTontine,
        Action::DeleteTontine,
        Action::ManageMembers,
        Action::ViewMembers,
        Action::ViewMemberContacts,
        Action::CreateSession,
        Action::OpenSession,
        Action::CloseSession,
        Action::ViewSession,
        Action::RecordOwnPayment,
        Action::RecordPaymentForOthers,
        Action::ValidatePayment,
        Action::ViewAllPayments,
        Action::ViewAudit,
        Action::ManagePassages,
        Action::StartPassage,
        Action::RecordPayout,
        Action::PostponePassage,
        Action::SendReminder,
        Action::ViewStats,
        Action::ViewInactive,
    ];
}

/// Who is acting, as far as one tontine is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A platform administrator who is not a member of the tontine.
    Admin,
    /// A member of the tontine, with their role.
    Member(TontineRole),
    /// Anyone else.
    Outsider,
}

impl Actor {
    /// The actor for a user with `platform_role` and, if a member, `membership`. A member
    /// keeps their member role even if they are an administrator; use [`may_as`] to grant
    /// the union of both.
    pub fn of(platform_role: PlatformRole, membership: Option<TontineRole>) -> Actor {
        match (membership, platform_role) {
            (Some(role), _) => Actor::Member(role),
            (None, PlatformRole::Admin) => Actor::Admin,
            (None, PlatformRole::Membre) => Actor::Outsider,
        }
    }
}

/// Who acts, for core's planners: the user, their platform role, and their **active** membership's role in the
/// tontine (none when they are not a member or have left).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub user: UserId,
    pub platform: PlatformRole,
    pub membership: Option<TontineRole>,
}

impl Caller {
    /// May the caller do `action` in the tontine (core's permission table)?
    pub fn may(&self, action: Action) -> bool {
        may_as(self.platform, self.membership, action)
    }
}

/// THE table: the least senior member role allowed to do `action`.
pub fn minimum_role(action: Action) -> TontineRole {
    use Action::*;
    match action {
        ViewTontine | ViewMembers | ViewSession | RecordOwnPayment | ViewStats => {
            TontineRole::Membre
        }
        // A collector meets members in the field, many without a smartphone, and must be
        // able to call them: he sees contacts as the managers do.
        RecordPaymentForOthers | ViewAllPayments | ViewMemberContacts => TontineRole::Collecteur,
        CreateSession | OpenSession | CloseSession | ValidatePayment | ViewAudit | StartPassage
        | RecordPayout | SendReminder | ViewInactive => TontineRole::Tresorier,
        UpdateTontine | DeleteTontine | ManageMembers | ManagePassages | PostponePassage => {
            TontineRole::President
        }
    }
}

/// The seniority of a member role: membre 0, collecteur 1, tresorier 2, president 3.
fn seniority(role: TontineRole) -> u8 {
    match role {
        TontineRole::Membre => 0,
        TontineRole::Collecteur => 1,
        TontineRole::Tresorier => 2,
        TontineRole::President => 3,
    }
}

/// May `actor` do `action`? See the module rules and [`minimum_role`].
pub fn may(actor: Actor, action: Action) -> bool {
    match actor {
        Actor::Outsider => false,
        Actor::Admin => action != Action::RecordOwnPayment,
        Actor::Member(role) => seniority(role) >= seniority(minimum_role(action)),
    }
}

/// May a user with `platform_role` and `membership` do `action`, as an administrator or as
/// a member, whichever allows more.
pub fn may_as(
    platform_role: PlatformRole,
    membership: Option<TontineRole>,
    action: Action,
) -> bool {
    (platform_role.is_admin() && may(Actor::Admin, action))
        || membership.is_some_and(|role| may(Actor::Member(role), action))
}

/// How much of a payment someone sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentView {
    /// Every field.
    Full,
    /// Who paid how much, when, how and with what outcome; not the payer's phone numbers, the
    /// provider's references, the proof of a transfer or the receipt code.
    Public,
}

/// THE payment visibility rule, for REST and sync alike: the payer and whoever may see all
/// payments ([`Action::ViewAllPayments`]: collecteur and up, admins) see a payment in full;
/// the tontine's other members see its public part (tontines value transparency: everyone
/// knows who paid how much); anyone else sees nothing (`None`).
pub fn payment_view(
    platform_role: PlatformRole,
    membership: Option<TontineRole>,
    is_payer: bool,
) -> Option<PaymentView> {
    if is_payer || may_as(platform_role, membership, Action::ViewAllPayments) {
        Some(PaymentView::Full)
    } else if membership.is_some() {
        Some(PaymentView::Public)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACTORS: [(Actor, &str); 6] = [
        (Actor::Member(TontineRole::Membre), "membre"),
        (Actor::Member(TontineRole::Collecteur), "collecteur"),
        (Actor::Member(TontineRole::Tresorier), "tresorier"),
        (Actor::Member(TontineRole::President), "president"),
        (Actor::Admin, "admin"),
        (Actor::Outsider, "outsider"),
    ];

    fn matrix() -> String {
        let mut out = String::from("action                  mem col tre pre adm out\n");
        for &action in Action::ALL {
            out.push_str(&format!("{:<24}", format!("{action:?}")));
            for (actor, _) in ACTORS {
                out.push_str(if may(actor, action) { "  x " } else { "  . " });
            }
            out = out.trim_end().to_owned();
            out.push('\n');
        }
        out
    }

    #[test]
    fn the_whole_matrix_is_as_specified() {
        let expected = "\
action                  mem col tre pre adm out
ViewTontine               x   x   x   x   x   .
UpdateTontine             .   .   .   x   x   .
DeleteTontine             .   .   .   x   x   .
ManageMembers             .   .   .   x   x   .
ViewMembers               x   x   x   x   x   .
ViewMemberContacts        .   x   x   x   x   .
CreateSession             .   .   x   x   x   .
OpenSession               .   .   x   x   x   .
CloseSession              .   .   x   x   x   .
ViewSession               x   x   x   x   x   .
RecordOwnPayment          x   x   x   x   .   .
RecordPaymentForOthers    .   x   x   x   x   .
ValidatePayment           .   .   x   x   x   .
ViewAllPayments           .   x   x   x   x   .
ViewAudit                 .   .   x   x   x   .
ManagePassages            .   .   .   x   x   .
StartPassage              .   .   x   x   x   .
RecordPayout              .   .   x   x   x   .
PostponePassage           .   .   .   x   x   .
SendReminder              .   .   x   x   x   .
ViewStats                 x   x   x   x   x   .
ViewInactive              .   .   x   x   x   .
";
        let actual = matrix();
        assert_eq!(actual, expected, "\n{actual}");
        assert_eq!(Action::ALL.len(), 22);
    }

    #[test]
    fn roles_nest_and_the_president_may_do_everything() {
        for &action in Action::ALL {
            assert!(may(Actor::Member(TontineRole::President), action));
            for pair in ACTORS[..4].windows(2) {
                assert!(
                    !may(pair[0].0, action) || may(pair[1].0, action),
                    "{action:?}"
                );
            }
        }
    }

    #[test]
    fn actor_of_prefers_the_membership() {
        use PlatformRole::*;
        let tresorier = Some(TontineRole::Tresorier);
        assert_eq!(Actor::of(Admin, None), Actor::Admin);
        assert_eq!(Actor::of(Membre, None), Actor::Outsider);
        assert_eq!(
            Actor::of(Admin, tresorier),
            Actor::Member(TontineRole::Tresorier)
        );
        assert!(may_as(Admin, tresorier, Action::ManageMembers));
        assert!(may_as(Admin, tresorier, Action::RecordOwnPayment));
        assert!(!may_as(Admin, None, Action::RecordOwnPayment));
        assert!(!may_as(Membre, None, Action::ViewTontine));
        assert!(!may_as(
            Membre,
            Some(TontineRole::Membre),
            Action::ViewAudit
        ));
    }

    #[test]
    fn members_see_who_paid_how_much_and_managers_and_the_payer_see_everything() {
        use PaymentView::*;
        use PlatformRole::{Admin, Membre};
        let member = Some(TontineRole::Membre);
        assert_eq!(payment_view(Membre, member, false), Some(Public));
        assert_eq!(payment_view(Membre, member, true), Some(Full));
        for role in [
            TontineRole::Collecteur,
            TontineRole::Tresorier,
            TontineRole::President,
        ] {
            assert_eq!(payment_view(Membre, Some(role), false), Some(Full));
        }
        assert_eq!(payment_view(Admin, None, false), Some(Full));
        assert_eq!(payment_view(Membre, None, false), None);
    }
}
