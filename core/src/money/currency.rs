//! `Currency`: the ISO 4217 currencies Kobiri accepts, with their minor units.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::MoneyError;

/// A currency a tontine can collect in. The CFA franc of West Africa (XOF) is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Currency {
    /// CFA franc BCEAO (West Africa).
    #[default]
    Xof,
    /// CFA franc BEAC (Central Africa).
    Xaf,
    /// Guinean franc.
    Gnf,
    /// Euro.
    Eur,
    /// US dollar.
    Usd,
    /// Pound sterling.
    Gbp,
    /// Ghanaian cedi.
    Ghs,
    /// Nigerian naira.
    Ngn,
    /// Moroccan dirham.
    Mad,
}

impl Currency {
    /// Every supported currency, in declaration order.
    pub const ALL: &[Currency] = &[
        Currency::Xof,
        Currency::Xaf,
        Currency::Gnf,
        Currency::Eur,
        Currency::Usd,
        Currency::Gbp,
        Currency::Ghs,
        Currency::Ngn,
        Currency::Mad,
    ];

    /// Parses a trimmed, case-insensitive ISO code; "FCFA" and "CFA" mean XOF.
    pub fn parse(s: &str) -> Result<Currency, MoneyError> {
        let trimmed = s.trim();
        let code = trimmed.to_ascii_uppercase();
        match code.as_str() {
            "XOF" | "FCFA" | "CFA" => Ok(Currency::Xof),
            "XAF" => Ok(Currency::Xaf),
            "GNF" => Ok(Currency::Gnf),
            "EUR" => Ok(Currency::Eur),
            "USD" => Ok(Currency::Usd),
            "GBP" => Ok(Currency::Gbp),
            "GHS" => Ok(Currency::Ghs),
            "NGN" => Ok(Currency::Ngn),
            "MAD" => Ok(Currency::Mad),
            _ => Err(MoneyError::UnknownCurrency(shorten(trimmed))),
        }
    }

    /// The ISO 4217 code, as stored in the database and sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Currency::Xof => "XOF",
            Currency::Xaf => "XAF",
            Currency::Gnf => "GNF",
            Currency::Eur => "EUR",
            Currency::Usd => "USD",
            Currency::Gbp => "GBP",
            Currency::Ghs => "GHS",
            Currency::Ngn => "NGN",
            Currency::Mad => "MAD",
        }
    }

    /// Number of decimal places the currency allows (0 for the francs, 2 otherwise).
    pub fn minor_unit(self) -> u32 {
        match self {
            Currency::Xof | Currency::Xaf | Currency::Gnf => 0,
            Currency::Eur
            | Currency::Usd
            | Currency::Gbp
            | Currency::Ghs
            | Currency::Ngn
            | Currency::Mad => 2,
        }
    }
}

/// Keeps an unknown code short enough to echo back in an error message.
fn shorten(s: &str) -> String {
    const MAX_ECHO: usize = 16;
    let mut out: String = s.chars().take(MAX_ECHO).collect();
    if s.chars().nth(MAX_ECHO).is_some() {
        out.push('…');
    }
    out
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s)
    }
}

impl TryFrom<&str> for Currency {
    type Error = MoneyError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Currency::parse(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Currency::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn iso_codes_parse_case_insensitively_and_trimmed() {
        assert_eq!(Currency::parse("xof"), Ok(Currency::Xof));
        assert_eq!(Currency::parse("  Eur "), Ok(Currency::Eur));
        assert_eq!(Currency::parse("GNF"), Ok(Currency::Gnf));
    }

    #[test]
    fn fcfa_and_cfa_mean_xof() {
        assert_eq!(Currency::parse("FCFA"), Ok(Currency::Xof));
        assert_eq!(Currency::parse("cfa"), Ok(Currency::Xof));
    }

    #[test]
    fn unknown_code_is_refused_with_a_french_message() {
        let err = Currency::parse("BTC").unwrap_err();
        assert_eq!(err, MoneyError::UnknownCurrency("BTC".into()));
        assert_eq!(err.to_string(), "devise inconnue : BTC");
        assert!(Currency::parse("").is_err());
    }

    #[test]
    fn every_code_round_trips_and_minor_units_are_right() {
        for &c in Currency::ALL {
            assert_eq!(Currency::parse(c.as_str()), Ok(c));
            assert_eq!(c.to_string().parse::<Currency>(), Ok(c));
        }
        assert_eq!(Currency::Xof.minor_unit(), 0);
        assert_eq!(Currency::Xaf.minor_unit(), 0);
        assert_eq!(Currency::Eur.minor_unit(), 2);
        assert_eq!(Currency::default(), Currency::Xof);
    }

    #[test]
    fn serde_uses_the_code_and_accepts_fcfa() {
        assert_eq!(serde_json::to_string(&Currency::Eur).unwrap(), "\"EUR\"");
        let c: Currency = serde_json::from_str("\"FCFA\"").unwrap();
        assert_eq!(c, Currency::Xof);
        assert!(serde_json::from_str::<Currency>("\"ABC\"").is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = Currency::parse(&s);
        }
    }
}
