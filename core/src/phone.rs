//! `Phone`: a phone number reduced to an optional '+' and 8 to 15 digits.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a phone number was refused. `Display` is a French message meant for users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum PhoneError {
    /// Not 8 to 15 digits after removing separators, with an optional leading '+'.
    #[error("numéro de téléphone invalide (8 à 15 chiffres, « + » facultatif)")]
    Invalid,
}

/// A phone number: an optional leading '+' followed by 8 to 15 ASCII digits.
///
/// Parsing removes whitespace, dashes, dots and parentheses, so "+221 77-123-45-67" and
/// "+221771234567" are the same number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Smallest number of digits accepted.
    pub const MIN_DIGITS: usize = 8;
    /// Largest number of digits accepted (E.164).
    pub const MAX_DIGITS: usize = 15;

    /// Normalizes and checks a phone number typed by a user.
    pub fn parse(s: &str) -> Result<Phone, PhoneError> {
        let compact: String = s
            .chars()
            .filter(|c| !(c.is_whitespace() || matches!(c, '-' | '.' | '(' | ')')))
            .collect();
        let digits = compact.strip_prefix('+').unwrap_or(&compact);
        let well_formed = (Self::MIN_DIGITS..=Self::MAX_DIGITS).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit());
        if well_formed {
            Ok(Phone(compact))
        } else {
            Err(PhoneError::Invalid)
        }
    }

    /// The normalized number, with its '+' when one was given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits only, without the leading '+'.
    pub fn digits(&self) -> &str {
        self.0.strip_prefix('+').unwrap_or(&self.0)
    }
}

impl AsRef<str> for Phone {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Phone {
    type Err = PhoneError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Phone::parse(s)
    }
}

impl TryFrom<&str> for Phone {
    type Error = PhoneError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Phone::parse(s)
    }
}

impl Serialize for Phone {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Phone {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Phone::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn separators_are_removed_and_plus_is_kept() {
        let phone = Phone::parse("+221 77-123-45-67").unwrap();
        assert_eq!(phone.as_str(), "+221771234567");
        assert_eq!(phone.digits(), "221771234567");
        assert_eq!(phone.to_string(), "+221771234567");
    }

    #[test]
    fn dots_parentheses_and_surrounding_spaces_are_removed() {
        let phone = Phone::parse("  (77) 123.45.67  ").unwrap();
        assert_eq!(phone.as_str(), "771234567");
        assert_eq!(phone.digits(), phone.as_str());
    }

    #[test]
    fn lengths_between_8_and_15_digits_are_accepted() {
        assert!(Phone::parse("12345678").is_ok());
        assert!(Phone::parse("+123456789012345").is_ok());
    }

    #[test]
    fn too_short_or_too_long_numbers_are_refused() {
        assert_eq!(Phone::parse("1234567"), Err(PhoneError::Invalid));
        assert_eq!(Phone::parse("1234567890123456"), Err(PhoneError::Invalid));
        assert_eq!(Phone::parse("+1234567890123456"), Err(PhoneError::Invalid));
    }

    #[test]
    fn letters_misplaced_plus_and_empty_input_are_refused() {
        for s in [
            "",
            "+",
            "77 123 45 6a",
            "77+1234567",
            "++22177123456",
            "٧٧١٢٣٤٥٦٧",
        ] {
            assert_eq!(Phone::parse(s), Err(PhoneError::Invalid), "{s:?}");
        }
    }

    #[test]
    fn error_message_is_french() {
        assert_eq!(
            PhoneError::Invalid.to_string(),
            "numéro de téléphone invalide (8 à 15 chiffres, « + » facultatif)"
        );
    }

    #[test]
    fn serde_round_trips_through_parse() {
        let phone: Phone = serde_json::from_str("\"+221 77 123 45 67\"").unwrap();
        assert_eq!(serde_json::to_string(&phone).unwrap(), "\"+221771234567\"");
        assert!(serde_json::from_str::<Phone>("\"123\"").is_err());
    }

    fn with_separators(digits: &str, seps: &[usize]) -> String {
        const SEPARATORS: [&str; 6] = [" ", "-", ".", "(", ")", ""];
        digits
            .chars()
            .zip(seps.iter().cycle())
            .map(|(c, &i)| format!("{c}{}", SEPARATORS[i % SEPARATORS.len()]))
            .collect()
    }

    proptest! {
        #[test]
        fn valid_numbers_with_separators_parse_to_their_digits(
            plus in any::<bool>(),
            digits in "[0-9]{8,15}",
            seps in prop::collection::vec(0usize..6, 1..16),
        ) {
            let typed = format!("{}{}", if plus { "+" } else { "" }, with_separators(&digits, &seps));
            let phone = Phone::parse(&typed).unwrap();
            prop_assert_eq!(phone.digits(), digits.as_str());
            prop_assert_eq!(phone.as_str().starts_with('+'), plus);
        }

        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = Phone::parse(&s);
        }

        #[test]
        fn wrong_digit_counts_are_refused(digits in "[0-9]{0,7}|[0-9]{16,30}") {
            prop_assert_eq!(Phone::parse(&digits), Err(PhoneError::Invalid));
        }
    }
}
