//! Free text from users: names and optional profile fields, trimmed and bounded.

use std::fmt;

/// A person's first or last name: trimmed, 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PersonName(String);

/// Why a piece of free text was refused. `Display` is a French message meant for users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Blank after trimming where a value is required.
    #[error("ce champ ne peut pas être vide")]
    Empty,
    /// Longer than `max` characters after trimming.
    #[error("ce champ dépasse {max} caractères")]
    TooLong {
        /// The largest number of characters accepted.
        max: usize,
    },
    /// Contains a control character other than a newline or a tab.
    #[error("ce champ contient des caractères de contrôle")]
    ControlCharacter,
}

impl PersonName {
    /// Most characters accepted.
    pub const MAX_CHARS: usize = 100;

    /// Trims and checks a name typed by a user.
    pub fn parse(s: &str) -> Result<Self, TextError> {
        match bounded_text(s, Self::MAX_CHARS)? {
            Some(name) => Ok(Self(name)),
            None => Err(TextError::Empty),
        }
    }

    /// The trimmed name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The trimmed name, owned.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for PersonName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Trims `s`; an empty result is `None`; more than `max` characters or a control character
/// (other than a newline or a tab) is an error.
pub fn bounded_text(s: &str, max: usize) -> Result<Option<String>, TextError> {
    let trimmed = s.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().count() > max {
        return Err(TextError::TooLong { max });
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(TextError::ControlCharacter);
    }
    Ok(Some(trimmed.to_owned()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(PersonName::parse("  Awa ").unwrap().as_str(), "Awa");
        assert_eq!(PersonName::parse("   "), Err(TextError::Empty));
        assert_eq!(
            PersonName::parse(&"a".repeat(101)),
            Err(TextError::TooLong { max: 100 })
        );
        assert_eq!(
            PersonName::parse("Ndèye Fatou").unwrap().as_str(),
            "Ndèye Fatou"
        );
        assert_eq!(
            PersonName::parse("A\u{0}B"),
            Err(TextError::ControlCharacter)
        );
    }

    #[test]
    fn optional_text_is_none_when_blank() {
        assert_eq!(bounded_text("", 10), Ok(None));
        assert_eq!(bounded_text(" Dakar ", 10), Ok(Some("Dakar".into())));
        assert!(bounded_text("Rue 10\nDakar", 50).unwrap().is_some());
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_respects_the_bound(s in ".{0,300}") {
            if let Ok(name) = PersonName::parse(&s) {
                prop_assert!(name.as_str().chars().count() <= PersonName::MAX_CHARS);
                prop_assert_eq!(name.as_str().trim(), name.as_str());
            }
        }
    }
}
