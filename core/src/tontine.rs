//! Tontine configuration: type, frequency, join code, member limits and grace period.

mod code;
pub mod membership;

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::wire::wire_enum;

pub use code::{CODE_ALPHABET, TontineCode};
pub(crate) use code::{is_symbol, symbol};
pub use membership::{MemberRefusal, Roll, plan_member_addition};

wire_enum! {
    /// How the pot is paid out (see [`crate::passage::payout_rule`]).
    TontineType("le type de tontine") {
        /// Each session, one member receives the whole pot, in turn.
        Rotative => "rotative",
        /// Contributions accumulate and are shared out at the end.
        Cumulative => "cumulative",
        /// Rotates the pot like a rotative tontine; penalties and any surplus accumulate.
        Mixte => "mixte",
    }
}

wire_enum! {
    /// How often the tontine meets (see [`crate::schedule::session_dates`]).
    Frequency("la fréquence") {
        /// Every day.
        Quotidien => "quotidien",
        /// Every 7 days.
        Hebdomadaire => "hebdomadaire",
        /// Every 14 days (not the 1st and 15th of the month).
        Bimensuel => "bimensuel",
        /// Every month, on the start date's day (or the month's last day).
        Mensuel => "mensuel",
        /// Every three months, on the start date's day (or the month's last day).
        Trimestriel => "trimestriel",
    }
}

/// Why a tontine setting was refused. `Display` is a French message meant for users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TontineError {
    /// A join code of the wrong length.
    #[error("le code doit contenir entre {min} et {max} caractères")]
    CodeLength {
        /// Fewest symbols.
        min: usize,
        /// Most symbols.
        max: usize,
    },
    /// A join code with a character outside [`CODE_ALPHABET`].
    #[error(
        "caractère non autorisé dans le code : « {} » (lettres sauf I et O, chiffres de 2 à 9)",
        .0.escape_debug()
    )]
    CodeCharacter(char),
    /// `min_members` outside 2..=50.
    #[error("le nombre minimum de membres doit être compris entre 2 et 50")]
    MinMembers,
    /// `max_members` outside 3..=100.
    #[error("le nombre maximum de membres doit être compris entre 3 et 100")]
    MaxMembers,
    /// `min_members` above `max_members`.
    #[error("le nombre minimum de membres ne peut pas dépasser le nombre maximum")]
    MinAboveMax,
    /// `grace_period_days` above 30.
    #[error("le délai de grâce doit être compris entre 0 et 30 jours")]
    GracePeriod,
    /// `end_date` before `start_date`.
    #[error("la date de fin ne peut pas précéder la date de début")]
    EndBeforeStart,
}

/// How many members a tontine may have: `min` in 2..=50, `max` in 3..=100, `min <= max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemberLimits {
    min: u32,
    max: u32,
}

impl MemberLimits {
    /// Accepted values of `min`.
    pub const MIN_RANGE: std::ops::RangeInclusive<u32> = 2..=50;
    /// Accepted values of `max`.
    pub const MAX_RANGE: std::ops::RangeInclusive<u32> = 3..=100;

    /// Checks both bounds and their order.
    pub fn new(min: u32, max: u32) -> Result<MemberLimits, TontineError> {
        if !Self::MIN_RANGE.contains(&min) {
            return Err(TontineError::MinMembers);
        }
        if !Self::MAX_RANGE.contains(&max) {
            return Err(TontineError::MaxMembers);
        }
        if min > max {
            return Err(TontineError::MinAboveMax);
        }
        Ok(MemberLimits { min, max })
    }

    /// The same limits with a new maximum (an update of `max_members`).
    pub fn with_max(self, max: u32) -> Result<MemberLimits, TontineError> {
        MemberLimits::new(self.min, max)
    }

    /// Fewest members needed to run.
    pub fn min(self) -> u32 {
        self.min
    }

    /// Most members accepted.
    pub fn max(self) -> u32 {
        self.max
    }

    /// True when `active_members` leaves no room for another member.
    pub fn is_full(self, active_members: u32) -> bool {
        active_members >= self.max
    }

    /// True when `active_members` is enough to run the tontine.
    pub fn has_enough(self, active_members: u32) -> bool {
        active_members >= self.min
    }
}

impl Default for MemberLimits {
    /// The API's defaults: at least 3, at most 12.
    fn default() -> Self {
        MemberLimits { min: 3, max: 12 }
    }
}

/// Days after the due date during which a payment is not yet late: 0 to 30.
///
/// Serializes as the bare number; deserializing checks the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct GracePeriod(u32);

impl GracePeriod {
    /// The longest grace period.
    pub const MAX_DAYS: u32 = 30;

    /// Checks `days <= 30`.
    pub fn new(days: u32) -> Result<GracePeriod, TontineError> {
        if days <= Self::MAX_DAYS {
            Ok(GracePeriod(days))
        } else {
            Err(TontineError::GracePeriod)
        }
    }

    /// The number of days.
    pub fn days(self) -> u32 {
        self.0
    }
}

impl Default for GracePeriod {
    /// The API's default: 3 days.
    fn default() -> Self {
        GracePeriod(3)
    }
}

impl fmt::Display for GracePeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl TryFrom<u32> for GracePeriod {
    type Error = TontineError;

    fn try_from(days: u32) -> Result<Self, Self::Error> {
        GracePeriod::new(days)
    }
}

impl From<GracePeriod> for u32 {
    fn from(grace: GracePeriod) -> u32 {
        grace.0
    }
}

/// May a member with `role` leave, given the tontine's active presidents and active members
/// (both counting the one leaving)? The last president cannot leave while others remain;
/// alone, they may.
pub fn may_leave(role: crate::TontineRole, active_presidents: u64, active_members: u64) -> bool {
    role != crate::TontineRole::President || active_presidents > 1 || active_members <= 1
}

/// Refuses an `end_date` before the `start_date`; no end date is fine.
pub fn check_period(start: NaiveDate, end: Option<NaiveDate>) -> Result<(), TontineError> {
    match end {
        Some(end) if end < start => Err(TontineError::EndBeforeStart),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::wire::assert_wire_strings;
    use proptest::prelude::*;

    #[test]
    fn wire_strings_are_exact() {
        assert_wire_strings(
            TontineType::ALL,
            TontineType::as_str,
            &["rotative", "cumulative", "mixte"],
        );
        assert_wire_strings(
            Frequency::ALL,
            Frequency::as_str,
            &[
                "quotidien",
                "hebdomadaire",
                "bimensuel",
                "mensuel",
                "trimestriel",
            ],
        );
    }

    #[test]
    fn unknown_frequency_is_refused_in_french() {
        let err = "annuel".parse::<Frequency>().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("valeur inconnue pour la fréquence : « annuel »")
        );
    }

    #[test]
    fn member_limits_enforce_both_ranges_and_order() {
        assert_eq!(MemberLimits::new(1, 10), Err(TontineError::MinMembers));
        assert_eq!(MemberLimits::new(51, 100), Err(TontineError::MinMembers));
        assert_eq!(MemberLimits::new(2, 2), Err(TontineError::MaxMembers));
        assert_eq!(MemberLimits::new(2, 101), Err(TontineError::MaxMembers));
        assert_eq!(MemberLimits::new(10, 5), Err(TontineError::MinAboveMax));
        let limits = MemberLimits::new(2, 3).unwrap();
        assert_eq!((limits.min(), limits.max()), (2, 3));
        assert_eq!(MemberLimits::new(50, 50).unwrap().max(), 50);
        assert_eq!(limits.with_max(100).unwrap().max(), 100);
        assert_eq!(
            TontineError::MinAboveMax.to_string(),
            "le nombre minimum de membres ne peut pas dépasser le nombre maximum"
        );
    }

    #[test]
    fn member_limits_tell_full_and_enough() {
        let limits = MemberLimits::default();
        assert_eq!((limits.min(), limits.max()), (3, 12));
        assert!(!limits.is_full(11));
        assert!(limits.is_full(12));
        assert!(!limits.has_enough(2));
        assert!(limits.has_enough(3));
    }

    #[test]
    fn grace_period_is_zero_to_thirty_days() {
        assert_eq!(GracePeriod::new(0).unwrap().days(), 0);
        assert_eq!(GracePeriod::new(30).unwrap().days(), 30);
        assert_eq!(GracePeriod::new(31), Err(TontineError::GracePeriod));
        assert_eq!(GracePeriod::default().days(), 3);
        assert_eq!(serde_json::to_string(&GracePeriod::default()).unwrap(), "3");
        assert!(serde_json::from_str::<GracePeriod>("31").is_err());
        assert_eq!(
            serde_json::from_str::<GracePeriod>("7").unwrap(),
            GracePeriod::new(7).unwrap()
        );
    }

    #[test]
    fn end_date_may_not_precede_start_date() {
        let start = NaiveDate::from_ymd_opt(2026, 1, 31).unwrap();
        assert_eq!(check_period(start, None), Ok(()));
        assert_eq!(check_period(start, Some(start)), Ok(()));
        assert_eq!(
            check_period(start, start.pred_opt()),
            Err(TontineError::EndBeforeStart)
        );
    }

    proptest! {
        #[test]
        fn member_limits_accept_exactly_the_documented_values(min in 0u32..120, max in 0u32..120) {
            let valid = (2..=50).contains(&min) && (3..=100).contains(&max) && min <= max;
            prop_assert_eq!(MemberLimits::new(min, max).is_ok(), valid);
        }
    }

    #[test]
    fn the_last_president_stays_while_others_remain() {
        use crate::TontineRole::{Membre, President};
        assert!(!may_leave(President, 1, 3));
        assert!(may_leave(President, 2, 3));
        assert!(may_leave(President, 1, 1));
        assert!(may_leave(Membre, 1, 3));
    }
}
