//! Secrets: credentials and tokens that are compared and sent, never printed, and compared in
//! constant time wherever a caller presents one.

use std::fmt;

use subtle::ConstantTimeEq;

/// A credential: compared and sent, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `presented` is this secret, compared in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), presented.as_bytes())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Whether `a` and `b` are equal, in a time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_match_only_exactly() {
        let secret = Secret::new("a-long-enough-token");
        assert!(secret.matches("a-long-enough-token"));
        assert!(!secret.matches("a-long-enough-tokeN"));
        assert!(!secret.matches("a-long-enough"));
        assert!(!secret.matches(""));
        assert_eq!(format!("{secret:?}"), "Secret(***)");
    }
}
