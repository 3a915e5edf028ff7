//! `ReceiptCode`: the short code a member gets for a payment, "XXXX-XXXX" in the unambiguous
//! alphabet of tontine codes, easy to read aloud and to type from an SMS.

use std::fmt;
use std::str::FromStr;

use rand_core::RngCore;
use serde::{Deserialize, Serialize};

use crate::tontine::{is_symbol, symbol};

/// Symbols in a receipt code (40 bits: about 10^12 codes).
const SYMBOLS: usize = 8;

/// Why a receipt code was refused. `Display` is a French message meant for users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ReceiptCodeError {
    /// Not 8 symbols of the code alphabet, with an optional dash in the middle.
    #[error("code de reçu invalide (8 caractères, par exemple ABCD-2345)")]
    Invalid,
}

/// A receipt code, always stored and shown as "XXXX-XXXX" in upper case.
///
/// Serializes as that string; deserializing parses like [`ReceiptCode::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReceiptCode(String);

impl ReceiptCode {
    /// Parses a code typed by a user: case-insensitive; spaces and dashes anywhere are
    /// ignored, so "abcd2345", "ABCD-2345" and " abcd 2345 " are the same code.
    pub fn parse(s: &str) -> Result<ReceiptCode, ReceiptCodeError> {
        let compact: String = s
            .chars()
            .filter(|c| !(c.is_whitespace() || *c == '-'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if compact.len() == SYMBOLS && compact.chars().all(is_symbol) {
            Ok(ReceiptCode::format(&compact))
        } else {
            Err(ReceiptCodeError::Invalid)
        }
    }

    /// A new random code. The caller brings the randomness, so this stays pure.
    pub fn generate(rng: &mut impl RngCore) -> ReceiptCode {
        ReceiptCode::from_bits(rng.next_u64())
    }

    /// The code derived from a SHA-256 digest (of a sync mutation): its first 40 bits, 5 per
    /// symbol, most significant first. The server recomputes it from the same mutation, so a
    /// receipt handed out offline can be checked.
    pub fn from_digest(digest: &[u8; 32]) -> ReceiptCode {
        let bits = digest[..5]
            .iter()
            .fold(0u64, |acc, &byte| (acc << 8) | u64::from(byte));
        ReceiptCode::from_bits(bits)
    }

    /// The code, "XXXX-XXXX".
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The low 40 bits of `bits`, 5 per symbol, most significant first.
    fn from_bits(bits: u64) -> ReceiptCode {
        let compact: String = (0..SYMBOLS)
            .rev()
            .map(|i| symbol(bits >> (5 * i)))
            .collect();
        ReceiptCode::format(&compact)
    }

    /// "ABCD2345" → "ABCD-2345"; `compact` holds 8 ASCII symbols.
    fn format(compact: &str) -> ReceiptCode {
        let (head, tail) = compact.split_at(SYMBOLS / 2);
        ReceiptCode(format!("{head}-{tail}"))
    }
}

impl fmt::Display for ReceiptCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ReceiptCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for ReceiptCode {
    type Err = ReceiptCodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReceiptCode::parse(s)
    }
}

impl TryFrom<&str> for ReceiptCode {
    type Error = ReceiptCodeError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        ReceiptCode::parse(s)
    }
}

impl TryFrom<String> for ReceiptCode {
    type Error = ReceiptCodeError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        ReceiptCode::parse(&s)
    }
}

impl From<ReceiptCode> for String {
    fn from(code: ReceiptCode) -> String {
        code.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn parse_accepts_any_case_with_or_without_the_dash() {
        for input in ["ABCD-2345", "abcd2345", " abcd 2345 ", "Abcd-2345"] {
            assert_eq!(ReceiptCode::parse(input).unwrap().as_str(), "ABCD-2345");
        }
    }

    #[test]
    fn parse_refuses_wrong_length_or_ambiguous_symbols() {
        for input in [
            "ABCD-234",
            "ABCD-23456",
            "ABCD-2340",
            "ABCD-O345",
            "",
            "ÀBCD-2345",
        ] {
            assert_eq!(
                ReceiptCode::parse(input),
                Err(ReceiptCodeError::Invalid),
                "{input}"
            );
        }
        assert_eq!(
            ReceiptCodeError::Invalid.to_string(),
            "code de reçu invalide (8 caractères, par exemple ABCD-2345)"
        );
    }

    #[test]
    fn from_digest_reads_the_first_40_bits() {
        let mut digest = [0u8; 32];
        assert_eq!(ReceiptCode::from_digest(&digest).as_str(), "AAAA-AAAA");
        digest[..5].copy_from_slice(&[0xff; 5]);
        assert_eq!(ReceiptCode::from_digest(&digest).as_str(), "9999-9999");
        let mut one = [0u8; 32];
        one[4] = 1;
        one[5] = 0xff;
        assert_eq!(ReceiptCode::from_digest(&one).as_str(), "AAAA-AAAB");
    }

    #[test]
    fn serde_is_the_formatted_string() {
        let code = ReceiptCode::parse("wxyz2345").unwrap();
        assert_eq!(serde_json::to_string(&code).unwrap(), "\"WXYZ-2345\"");
        let back: ReceiptCode = serde_json::from_str("\"wxyz2345\"").unwrap();
        assert_eq!(back, code);
        assert!(serde_json::from_str::<ReceiptCode>("\"nope\"").is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = ReceiptCode::parse(&s);
        }

        #[test]
        fn generated_codes_round_trip(seed in any::<u64>()) {
            let code = ReceiptCode::generate(&mut ChaCha20Rng::seed_from_u64(seed));
            prop_assert_eq!(code.as_str().len(), 9);
            prop_assert_eq!(&code.as_str()[4..5], "-");
            prop_assert_eq!(ReceiptCode::parse(&code.as_str().replace('-', "")), Ok(code.clone()));
            prop_assert_eq!(ReceiptCode::parse(&code.as_str().to_lowercase()), Ok(code));
        }
    }
}
