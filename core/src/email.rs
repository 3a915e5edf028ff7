//! `Email`: a trimmed, lowercased e-mail address with a plausible local part and domain.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an e-mail address was refused. `Display` is a French message meant for users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum EmailError {
    /// Not a plausible address.
    #[error("adresse e-mail invalide")]
    Invalid,
}

/// An e-mail address, trimmed and lowercased.
///
/// The check is deliberately simple (no quoted local parts, no IP literals, ASCII domains
/// only): the real proof is the confirmation code sent to the address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Longest address accepted, in bytes (RFC 5321 path limit).
    pub const MAX_LEN: usize = 254;
    const MAX_LOCAL_LEN: usize = 64;
    const MAX_LABEL_LEN: usize = 63;

    /// Normalizes and checks an address typed by a user.
    pub fn parse(s: &str) -> Result<Email, EmailError> {
        // ASCII lowercasing only: Unicode folding could turn a non-ASCII character (the
        // Kelvin sign) into an ASCII letter and let a look-alike address through.
        let normalized = s.trim().to_ascii_lowercase();
        if normalized.len() > Self::MAX_LEN {
            return Err(EmailError::Invalid);
        }
        let (local, domain) = normalized.split_once('@').ok_or(EmailError::Invalid)?;
        if valid_local_part(local) && valid_domain(domain) {
            Ok(Email(normalized))
        } else {
            Err(EmailError::Invalid)
        }
    }

    /// The normalized address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 1 to 64 printable ASCII characters other than space and '@', no leading, trailing or
/// doubled '.'.
fn valid_local_part(local: &str) -> bool {
    (1..=Email::MAX_LOCAL_LEN).contains(&local.len())
        && local.bytes().all(|b| b.is_ascii_graphic() && b != b'@')
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
}

/// At least two labels of 1 to 63 `[a-z0-9-]` not starting or ending with '-', the last one
/// (the TLD) made of at least two letters.
fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let valid_label = |label: &&str| {
        (1..=Email::MAX_LABEL_LEN).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let tld_ok = labels
        .last()
        .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_lowercase()));
    labels.len() >= 2 && labels.iter().all(valid_label) && tld_ok
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Email {
    type Err = EmailError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Email::parse(s)
    }
}

impl TryFrom<&str> for Email {
    type Error = EmailError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Email::parse(s)
    }
}

impl Serialize for Email {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Email::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn addresses_are_trimmed_and_lowercased() {
        let email = Email::parse("  Awa.Diop+Tontine@Example.SN ").unwrap();
        assert_eq!(email.as_str(), "awa.diop+tontine@example.sn");
        assert_eq!(email.to_string(), email.as_str());
    }

    #[test]
    fn common_addresses_are_accepted() {
        for s in [
            "a@b.co",
            "moussa_kone@mail.example.ci",
            "x-y@sub-domain.example.com",
            "1234@123.fr",
        ] {
            assert!(Email::parse(s).is_ok(), "{s:?}");
        }
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for s in [
            "",
            "plainaddress",
            "@example.com",
            "a@",
            "a@@example.com",
            "a@b@example.com",
            "a b@example.com",
            ".a@example.com",
            "a.@example.com",
            "a..b@example.com",
            "a@example",
            "a@example.c",
            "a@example.c0m",
            "a@-example.com",
            "a@example-.com",
            "a@exa_mple.com",
            "a@example..com",
            "a@.example.com",
            "a@example.com.",
            "é@example.com",
            "a@exämple.com",
            "a@\u{212A}.com",
        ] {
            assert_eq!(Email::parse(s), Err(EmailError::Invalid), "{s:?}");
        }
    }

    #[test]
    fn length_limits_are_enforced() {
        let local64 = "a".repeat(64);
        assert!(Email::parse(&format!("{local64}@example.com")).is_ok());
        assert!(Email::parse(&format!("{local64}a@example.com")).is_err());
        let label63 = "b".repeat(63);
        assert!(Email::parse(&format!("a@{label63}.com")).is_ok());
        assert!(Email::parse(&format!("a@{label63}b.com")).is_err());
        let long_domain = vec!["c".repeat(60); 5].join(".");
        assert!(Email::parse(&format!("a@{long_domain}.com")).is_err());
    }

    #[test]
    fn error_message_is_french_and_serde_goes_through_parse() {
        assert_eq!(EmailError::Invalid.to_string(), "adresse e-mail invalide");
        let email: Email = serde_json::from_str("\"A@B.CO\"").unwrap();
        assert_eq!(serde_json::to_string(&email).unwrap(), "\"a@b.co\"");
        assert!(serde_json::from_str::<Email>("\"nope\"").is_err());
    }

    proptest! {
        #[test]
        fn generated_valid_addresses_parse_lowercased(
            local in "[A-Za-z0-9_+%-]{1,20}(\\.[A-Za-z0-9_+%-]{1,10}){0,2}",
            labels in prop::collection::vec("[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?", 1..4),
            tld in "[A-Za-z]{2,6}",
        ) {
            let typed = format!(" {local}@{}.{tld} ", labels.join("."));
            let email = Email::parse(&typed).unwrap();
            prop_assert_eq!(email.as_str(), typed.trim().to_ascii_lowercase());
        }

        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = Email::parse(&s);
        }

        #[test]
        fn parsed_addresses_are_lowercase_ascii(s in "[ -~]{0,40}") {
            if let Ok(email) = Email::parse(&s) {
                prop_assert!(email.as_str().bytes().all(|b| !b.is_ascii_uppercase()));
                prop_assert_eq!(Email::parse(email.as_str()), Ok(email.clone()));
            }
        }
    }
}
