//! Roles: `PlatformRole` on the whole platform and `TontineRole` inside one tontine.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A role string that is not one of the known wire strings. `Display` is in French.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[error("rôle inconnu : {0}")]
pub struct UnknownRole(pub String);

/// Defines a role enum whose variants carry their wire string exactly once.
macro_rules! role_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every role, in declaration order.
            pub const ALL: &[Self] = &[$(Self::$variant),+];

            /// The wire and database string.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl TryFrom<&str> for $name {
            type Error = UnknownRole;

            /// Accepts exactly the wire strings (case-sensitive, no trimming).
            fn try_from(s: &str) -> Result<Self, Self::Error> {
                match s {
                    $($wire => Ok(Self::$variant),)+
                    _ => Err(UnknownRole(s.chars().take(32).collect())),
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownRole;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::try_from(s)
            }
        }
    };
}

role_enum! {
    /// What a user may do on the platform as a whole.
    PlatformRole {
        /// An ordinary user.
        #[default]
        Membre => "membre",
        /// A platform administrator.
        Admin => "admin",
    }
}

role_enum! {
    /// What a member may do inside one tontine.
    TontineRole {
        /// An ordinary member: contributes and receives a passage.
        #[default]
        Membre => "membre",
        /// Runs the tontine.
        President => "president",
        /// Keeps the accounts.
        Tresorier => "tresorier",
        /// Collects contributions in cash.
        Collecteur => "collecteur",
    }
}

impl PlatformRole {
    /// True for platform administrators.
    pub fn is_admin(self) -> bool {
        matches!(self, PlatformRole::Admin)
    }
}

impl TontineRole {
    /// True for the roles that manage the tontine: president and treasurer.
    pub fn is_manager(self) -> bool {
        matches!(self, TontineRole::President | TontineRole::Tresorier)
    }

    /// True for the roles allowed to record cash contributions.
    pub fn can_collect_cash(self) -> bool {
        matches!(
            self,
            TontineRole::President | TontineRole::Tresorier | TontineRole::Collecteur
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wire_strings_are_exact() {
        let platform: Vec<_> = PlatformRole::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(platform, ["membre", "admin"]);
        let tontine: Vec<_> = TontineRole::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(tontine, ["membre", "president", "tresorier", "collecteur"]);
    }

    #[test]
    fn as_str_serde_and_parse_agree() {
        for &role in PlatformRole::ALL {
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(serde_json::from_str::<PlatformRole>(&json).unwrap(), role);
            assert_eq!(role.as_str().parse::<PlatformRole>(), Ok(role));
            assert_eq!(role.to_string(), role.as_str());
        }
        for &role in TontineRole::ALL {
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(serde_json::from_str::<TontineRole>(&json).unwrap(), role);
            assert_eq!(TontineRole::try_from(role.as_str()), Ok(role));
        }
    }

    #[test]
    fn unknown_or_differently_spelled_roles_are_refused() {
        let err = TontineRole::try_from("Président").unwrap_err();
        assert_eq!(err.to_string(), "rôle inconnu : Président");
        assert!("Admin".parse::<PlatformRole>().is_err());
        assert!(" membre".parse::<TontineRole>().is_err());
        assert!(serde_json::from_str::<TontineRole>("\"chef\"").is_err());
    }

    #[test]
    fn defaults_are_membre() {
        assert_eq!(PlatformRole::default(), PlatformRole::Membre);
        assert_eq!(TontineRole::default(), TontineRole::Membre);
    }

    #[test]
    fn permissions_follow_the_role() {
        assert!(PlatformRole::Admin.is_admin());
        assert!(!PlatformRole::Membre.is_admin());
        assert!(TontineRole::President.is_manager());
        assert!(TontineRole::Tresorier.is_manager());
        assert!(!TontineRole::Collecteur.is_manager());
        assert!(!TontineRole::Membre.is_manager());
        assert!(TontineRole::Collecteur.can_collect_cash());
        assert!(TontineRole::Tresorier.can_collect_cash());
        assert!(TontineRole::President.can_collect_cash());
        assert!(!TontineRole::Membre.can_collect_cash());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = s.parse::<PlatformRole>();
            let _ = s.parse::<TontineRole>();
        }
    }
}
