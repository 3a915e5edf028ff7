//! `TontineCode`, the short code members type to join, and the unambiguous alphabet it shares
//! with receipt codes.

use std::fmt;
use std::str::FromStr;

use rand_core::RngCore;
use serde::{Deserialize, Serialize};

use super::TontineError;

/// The symbols of tontine and receipt codes: capital letters and digits without 0, O, 1 and I,
/// which are easily confused when read aloud or copied by hand. 32 symbols, 5 bits each.
pub const CODE_ALPHABET: &str = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// The alphabet as bytes; its length is a power of two, so `x & 31` picks a symbol uniformly.
const SYMBOLS: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// The symbol for the low 5 bits of `bits`.
pub(crate) fn symbol(bits: u64) -> char {
    // `bits & 31` is below 32, the length of SYMBOLS.
    char::from(SYMBOLS[(bits & 31) as usize])
}

/// True for a symbol of [`CODE_ALPHABET`] (upper case only).
pub(crate) fn is_symbol(c: char) -> bool {
    c.is_ascii() && SYMBOLS.contains(&(c as u8))
}

/// `len` symbols drawn uniformly from [`CODE_ALPHABET`].
fn random_symbols(rng: &mut impl RngCore, len: usize) -> String {
    (0..len)
        .map(|_| symbol(u64::from(rng.next_u32())))
        .collect()
}

/// The code of a tontine: 6 to 10 symbols of [`CODE_ALPHABET`], stored in upper case.
///
/// Serializes as the bare string; deserializing parses like [`TontineCode::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TontineCode(String);

impl TontineCode {
    /// Fewest symbols in a code.
    pub const MIN_LEN: usize = 6;
    /// Most symbols in a code.
    pub const MAX_LEN: usize = 10;
    /// The length new codes get: 32^8 ≈ 10^12 codes, so random collisions are rare (the
    /// database's unique constraint still decides).
    pub const DEFAULT_LEN: usize = 8;

    /// Parses a code typed by a user: surrounding spaces ignored, case-insensitive.
    pub fn parse(s: &str) -> Result<TontineCode, TontineError> {
        let code = s.trim().to_ascii_uppercase();
        let len = code.chars().count();
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&len) {
            return Err(TontineError::CodeLength {
                min: Self::MIN_LEN,
                max: Self::MAX_LEN,
            });
        }
        match code.chars().find(|&c| !is_symbol(c)) {
            Some(c) => Err(TontineError::CodeCharacter(c)),
            None => Ok(TontineCode(code)),
        }
    }

    /// A new random code of `len` symbols; `len` is clamped to `MIN_LEN..=MAX_LEN`.
    ///
    /// The caller brings the randomness (the server uses the OS generator), so this stays
    /// pure and tests can seed it.
    pub fn generate(rng: &mut impl RngCore, len: usize) -> TontineCode {
        let len = len.clamp(Self::MIN_LEN, Self::MAX_LEN);
        TontineCode(random_symbols(rng, len))
    }

    /// The code, in upper case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TontineCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for TontineCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for TontineCode {
    type Err = TontineError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TontineCode::parse(s)
    }
}

impl TryFrom<&str> for TontineCode {
    type Error = TontineError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        TontineCode::parse(s)
    }
}

impl TryFrom<String> for TontineCode {
    type Error = TontineError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        TontineCode::parse(&s)
    }
}

impl From<TontineCode> for String {
    fn from(code: TontineCode) -> String {
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
    fn the_alphabet_has_32_unambiguous_symbols() {
        assert_eq!(CODE_ALPHABET.len(), 32);
        assert_eq!(CODE_ALPHABET.as_bytes(), SYMBOLS);
        for c in ['0', 'O', '1', 'I', 'a'] {
            assert!(!is_symbol(c), "{c}");
        }
        let mut sorted: Vec<char> = CODE_ALPHABET.chars().collect();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 32);
    }

    #[test]
    fn parse_trims_and_upper_cases() {
        let code = TontineCode::parse("  abc234 ").unwrap();
        assert_eq!(code.as_str(), "ABC234");
        assert_eq!(code.to_string(), "ABC234");
        assert_eq!(
            "xyz98765".parse::<TontineCode>().unwrap().as_str(),
            "XYZ98765"
        );
    }

    #[test]
    fn wrong_length_is_refused_with_a_french_message() {
        let err = TontineCode::parse("ABC23").unwrap_err();
        assert_eq!(err, TontineError::CodeLength { min: 6, max: 10 });
        assert_eq!(
            err.to_string(),
            "le code doit contenir entre 6 et 10 caractères"
        );
        assert!(TontineCode::parse("ABCDEFGHJKL").is_err());
        assert!(TontineCode::parse("").is_err());
    }

    #[test]
    fn ambiguous_characters_are_refused() {
        assert_eq!(
            TontineCode::parse("ABC0EF"),
            Err(TontineError::CodeCharacter('0'))
        );
        assert_eq!(
            TontineCode::parse("abcoef"),
            Err(TontineError::CodeCharacter('O'))
        );
        let err = TontineCode::parse("ABC-EF").unwrap_err();
        assert_eq!(
            err.to_string(),
            "caractère non autorisé dans le code : « - » (lettres sauf I et O, chiffres de 2 à 9)"
        );
        assert!(TontineCode::parse("ABCÉEF").is_err());
    }

    #[test]
    fn generated_codes_are_clamped_and_reproducible() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        assert_eq!(TontineCode::generate(&mut rng, 0).as_str().len(), 6);
        assert_eq!(TontineCode::generate(&mut rng, 99).as_str().len(), 10);
        let a = TontineCode::generate(&mut ChaCha20Rng::seed_from_u64(1), 8);
        let b = TontineCode::generate(&mut ChaCha20Rng::seed_from_u64(1), 8);
        assert_eq!(a, b);
    }

    #[test]
    fn serde_is_the_bare_string_and_parses() {
        let code = TontineCode::parse("KOBIRI").unwrap_err();
        assert_eq!(code, TontineError::CodeCharacter('O'));
        let code = TontineCode::parse("KBR234").unwrap();
        assert_eq!(serde_json::to_string(&code).unwrap(), "\"KBR234\"");
        let back: TontineCode = serde_json::from_str("\" kbr234\"").unwrap();
        assert_eq!(back, code);
        assert!(serde_json::from_str::<TontineCode>("\"IIIIII\"").is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = TontineCode::parse(&s);
        }

        #[test]
        fn generated_codes_parse_back(seed in any::<u64>(), len in 0usize..20) {
            let code = TontineCode::generate(&mut ChaCha20Rng::seed_from_u64(seed), len);
            let expected_len = len.clamp(TontineCode::MIN_LEN, TontineCode::MAX_LEN);
            prop_assert_eq!(code.as_str().len(), expected_len);
            prop_assert_eq!(TontineCode::parse(&code.as_str().to_lowercase()), Ok(code));
        }
    }
}
