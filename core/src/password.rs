//! `Password`: a clear-text password that meets the policy and never shows in logs.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// Why a password was refused. `Display` is a French message meant for users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum PasswordError {
    /// Fewer than [`Password::MIN_CHARS`] characters.
    #[error("le mot de passe doit contenir au moins 8 caractères")]
    TooShort,
    /// More than [`Password::MAX_CHARS`] characters.
    #[error("le mot de passe ne doit pas dépasser 128 caractères")]
    TooLong,
    /// No uppercase letter.
    #[error("le mot de passe doit contenir au moins une lettre majuscule")]
    MissingUppercase,
    /// No lowercase letter.
    #[error("le mot de passe doit contenir au moins une lettre minuscule")]
    MissingLowercase,
    /// No digit.
    #[error("le mot de passe doit contenir au moins un chiffre")]
    MissingDigit,
}

/// A password that meets the policy: 8 to 128 characters (not bytes), at least one uppercase
/// and one lowercase letter (Unicode letters count) and one ASCII digit.
///
/// `Debug` prints `Password(***)`; there is deliberately no `Display` and no `Serialize`.
/// `Deserialize` goes through [`Password::parse`], so request bodies enforce the policy.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Fewest characters accepted.
    pub const MIN_CHARS: usize = 8;
    /// Most characters accepted (bounds the cost of hashing).
    pub const MAX_CHARS: usize = 128;

    /// Checks the policy; the first rule broken is reported.
    pub fn parse(s: String) -> Result<Password, PasswordError> {
        let count = s.chars().count();
        if count < Self::MIN_CHARS {
            return Err(PasswordError::TooShort);
        }
        if count > Self::MAX_CHARS {
            return Err(PasswordError::TooLong);
        }
        if !s.chars().any(char::is_uppercase) {
            return Err(PasswordError::MissingUppercase);
        }
        if !s.chars().any(char::is_lowercase) {
            return Err(PasswordError::MissingLowercase);
        }
        if !s.chars().any(|c| c.is_ascii_digit()) {
            return Err(PasswordError::MissingDigit);
        }
        Ok(Password(s))
    }

    /// The clear text, for hashing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

impl TryFrom<String> for Password {
    type Error = PasswordError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Password::parse(s)
    }
}

impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Password::parse(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(s: &str) -> Result<Password, PasswordError> {
        Password::parse(s.to_owned())
    }

    #[test]
    fn a_password_meeting_every_rule_is_accepted() {
        assert_eq!(parse("Tontine2024").unwrap().expose(), "Tontine2024");
        assert!(parse("Ééééééé1").is_ok());
    }

    #[test]
    fn short_passwords_are_refused() {
        assert_eq!(parse("Abc1234"), Err(PasswordError::TooShort));
        assert_eq!(parse(""), Err(PasswordError::TooShort));
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // 7 characters, 14 bytes: still too short.
        assert_eq!(parse("Éééééé1"), Err(PasswordError::TooShort));
        let at_max = format!("Aa1{}", "é".repeat(125));
        assert!(parse(&at_max).is_ok());
        let over_max = format!("Aa1{}", "é".repeat(126));
        assert_eq!(parse(&over_max), Err(PasswordError::TooLong));
    }

    #[test]
    fn each_character_class_is_required() {
        assert_eq!(parse("tontine2024"), Err(PasswordError::MissingUppercase));
        assert_eq!(parse("TONTINE2024"), Err(PasswordError::MissingLowercase));
        assert_eq!(parse("TontineKobiri"), Err(PasswordError::MissingDigit));
    }

    #[test]
    fn messages_are_french() {
        assert_eq!(
            PasswordError::TooShort.to_string(),
            "le mot de passe doit contenir au moins 8 caractères"
        );
        assert!(PasswordError::MissingDigit.to_string().contains("chiffre"));
    }

    #[test]
    fn debug_hides_the_clear_text() {
        let password = parse("Tontine2024").unwrap();
        assert_eq!(format!("{password:?}"), "Password(***)");
    }

    #[test]
    fn deserialize_enforces_the_policy() {
        let password: Password = serde_json::from_str("\"Tontine2024\"").unwrap();
        assert_eq!(password.expose(), "Tontine2024");
        assert!(serde_json::from_str::<Password>("\"short\"").is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = Password::parse(s);
        }

        #[test]
        fn generated_valid_passwords_are_accepted(
            upper in "[A-Z]", lower in "[a-z]", digit in "[0-9]", rest in "[ -~]{5,125}",
        ) {
            let s = format!("{rest}{upper}{lower}{digit}");
            prop_assert_eq!(Password::parse(s.clone()).map(|p| p.expose().to_owned()), Ok(s));
        }
    }
}
