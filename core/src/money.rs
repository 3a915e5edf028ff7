//! Money: `Amount` is a non-negative `Decimal` checked against its currency's minor unit.

mod currency;
mod decimal;

use std::fmt;

use rust_decimal::Decimal;
use serde::{Serialize, Serializer};

pub use currency::Currency;
pub use decimal::parse_decimal_input;

/// The largest amount the database stores: `numeric(14,2)` holds 999 999 999 999.99.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(276_447_231, 23_283, 0, false, 2);

/// Why a money value was refused. `Display` is a French message meant for users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Not a plain decimal number.
    #[error("montant invalide (nombre décimal attendu, par exemple 5000 ou 2500.50)")]
    Invalid,
    /// Below zero.
    #[error("le montant ne peut pas être négatif")]
    Negative,
    /// Zero where a strictly positive amount is required.
    #[error("le montant doit être positif")]
    NotPositive,
    /// More decimal places than the currency allows.
    #[error("{}", too_precise_message(currency, minor_unit))]
    TooPrecise {
        /// The amount's currency.
        currency: Currency,
        /// The decimal places it allows.
        minor_unit: u32,
    },
    /// Above [`MAX_AMOUNT`].
    #[error("le montant dépasse le maximum autorisé (999 999 999 999,99)")]
    TooLarge,
    /// Two amounts in different currencies were combined.
    #[error("les montants doivent être dans la même devise")]
    CurrencyMismatch,
    /// A currency code Kobiri does not know.
    #[error("devise inconnue : {0}")]
    UnknownCurrency(String),
}

fn too_precise_message(currency: &Currency, minor_unit: &u32) -> String {
    match minor_unit {
        0 => format!("le montant en {currency} ne peut pas avoir de décimales"),
        1 => format!("le montant en {currency} ne peut pas avoir plus d'une décimale"),
        n => format!("le montant en {currency} ne peut pas avoir plus de {n} décimales"),
    }
}

/// A non-negative amount of money, at most [`MAX_AMOUNT`], with no more decimal places than
/// its currency's minor unit. The value is kept normalized (no trailing zeros).
///
/// `Ord` compares the value first and the currency second; compare amounts of one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Amount {
    value: Decimal,
    currency: Currency,
}

impl Amount {
    /// Checks sign, precision and size of `value` in `currency`.
    pub fn new(value: Decimal, currency: Currency) -> Result<Amount, MoneyError> {
        if value.is_zero() {
            return Ok(Amount::zero(currency));
        }
        if value.is_sign_negative() {
            return Err(MoneyError::Negative);
        }
        let value = value.normalize();
        let minor_unit = currency.minor_unit();
        if value.scale() > minor_unit {
            return Err(MoneyError::TooPrecise {
                currency,
                minor_unit,
            });
        }
        if value > MAX_AMOUNT {
            return Err(MoneyError::TooLarge);
        }
        Ok(Amount { value, currency })
    }

    /// Parses a trimmed decimal string (see [`parse_decimal_input`]) in `currency`.
    pub fn parse(s: &str, currency: Currency) -> Result<Amount, MoneyError> {
        Amount::new(parse_decimal_input(s)?, currency)
    }

    /// Zero in `currency`.
    pub fn zero(currency: Currency) -> Amount {
        Amount {
            value: Decimal::ZERO,
            currency,
        }
    }

    /// The normalized value.
    pub fn value(&self) -> Decimal {
        self.value
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// True for zero.
    pub fn is_zero(&self) -> bool {
        self.value.is_zero()
    }

    /// Refuses zero, for contributions and payments.
    pub fn require_positive(self) -> Result<Amount, MoneyError> {
        if self.is_zero() {
            Err(MoneyError::NotPositive)
        } else {
            Ok(self)
        }
    }

    /// `self + other`, refusing mixed currencies and results above [`MAX_AMOUNT`].
    pub fn checked_add(self, other: Amount) -> Result<Amount, MoneyError> {
        self.same_currency(other)?;
        let sum = self
            .value
            .checked_add(other.value)
            .ok_or(MoneyError::TooLarge)?;
        Amount::new(sum, self.currency)
    }

    /// `self - other`, refusing mixed currencies and negative results.
    pub fn checked_sub(self, other: Amount) -> Result<Amount, MoneyError> {
        self.same_currency(other)?;
        let difference = self
            .value
            .checked_sub(other.value)
            .ok_or(MoneyError::Negative)?;
        Amount::new(difference, self.currency)
    }

    /// `self * n`, refusing results above [`MAX_AMOUNT`].
    pub fn checked_mul(self, n: u32) -> Result<Amount, MoneyError> {
        let product = self
            .value
            .checked_mul(Decimal::from(n))
            .ok_or(MoneyError::TooLarge)?;
        Amount::new(product, self.currency)
    }

    /// The exact sum of `amounts` in `currency` (zero when there are none). A different
    /// currency or a total beyond the maximum is an error.
    pub fn sum(
        currency: Currency,
        amounts: impl IntoIterator<Item = Amount>,
    ) -> Result<Amount, MoneyError> {
        amounts
            .into_iter()
            .try_fold(Amount::zero(currency), Amount::checked_add)
    }

    /// The string sent on the wire and stored: normalized for 0-decimal currencies ("2500"),
    /// exactly `minor_unit` decimals otherwise ("2500.50").
    pub fn to_wire_string(&self) -> String {
        let mut value = self.value;
        value.rescale(self.currency.minor_unit());
        value.to_string()
    }

    fn same_currency(self, other: Amount) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch)
        }
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.value, f)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_wire_string())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn xof(s: &str) -> Amount {
        Amount::parse(s, Currency::Xof).unwrap()
    }

    fn eur(s: &str) -> Amount {
        Amount::parse(s, Currency::Eur).unwrap()
    }

    #[test]
    fn max_amount_is_the_numeric_14_2_limit() {
        assert_eq!(MAX_AMOUNT.to_string(), "999999999999.99");
    }

    #[test]
    fn xof_refuses_decimals_but_accepts_trailing_zeros() {
        let err = Amount::parse("2500.5", Currency::Xof).unwrap_err();
        assert_eq!(
            err,
            MoneyError::TooPrecise {
                currency: Currency::Xof,
                minor_unit: 0
            }
        );
        assert_eq!(
            err.to_string(),
            "le montant en XOF ne peut pas avoir de décimales"
        );
        assert_eq!(xof("2500.00").to_wire_string(), "2500");
    }

    #[test]
    fn eur_accepts_two_decimals_and_refuses_three() {
        assert_eq!(eur("2500.50").to_wire_string(), "2500.50");
        assert_eq!(eur("2500.5").to_string(), "2500.5");
        assert_eq!(eur("2500").to_wire_string(), "2500.00");
        assert_eq!(
            Amount::parse("2500.505", Currency::Eur),
            Err(MoneyError::TooPrecise {
                currency: Currency::Eur,
                minor_unit: 2
            })
        );
        assert_eq!(eur("2500.500"), eur("2500.5"));
    }

    #[test]
    fn negative_is_refused_and_negative_zero_is_zero() {
        assert_eq!(
            Amount::parse("-3", Currency::Xof),
            Err(MoneyError::Negative)
        );
        assert_eq!(
            Amount::parse("-0.01", Currency::Eur),
            Err(MoneyError::Negative)
        );
        assert!(xof("-0").is_zero());
        assert_eq!(xof("-0").to_wire_string(), "0");
    }

    #[test]
    fn max_is_accepted_and_one_cent_more_is_refused() {
        assert_eq!(eur("999999999999.99").value(), MAX_AMOUNT);
        assert_eq!(
            Amount::parse("1000000000000.00", Currency::Eur),
            Err(MoneyError::TooLarge)
        );
        assert_eq!(xof("999999999999").to_wire_string(), "999999999999");
        assert_eq!(
            Amount::parse("1000000000000", Currency::Xof),
            Err(MoneyError::TooLarge)
        );
    }

    #[test]
    fn require_positive_refuses_zero() {
        assert_eq!(
            Amount::zero(Currency::Xof).require_positive(),
            Err(MoneyError::NotPositive)
        );
        assert_eq!(xof("1").require_positive(), Ok(xof("1")));
        assert_eq!(
            MoneyError::NotPositive.to_string(),
            "le montant doit être positif"
        );
    }

    #[test]
    fn checked_arithmetic_refuses_overflow_mismatch_and_negative_results() {
        assert_eq!(xof("2500").checked_add(xof("500")), Ok(xof("3000")));
        assert_eq!(
            xof("999999999999").checked_add(xof("1")),
            Err(MoneyError::TooLarge)
        );
        assert_eq!(
            xof("1").checked_add(eur("1")),
            Err(MoneyError::CurrencyMismatch)
        );
        assert_eq!(eur("10.50").checked_sub(eur("0.50")), Ok(eur("10")));
        assert_eq!(xof("1").checked_sub(xof("2")), Err(MoneyError::Negative));
        assert_eq!(xof("5000").checked_mul(12), Ok(xof("60000")));
        assert_eq!(
            xof("999999999999").checked_mul(2),
            Err(MoneyError::TooLarge)
        );
        assert_eq!(
            xof("999999999999").checked_mul(u32::MAX),
            Err(MoneyError::TooLarge)
        );
        assert!(xof("5000").checked_mul(0).unwrap().is_zero());
    }

    #[test]
    fn serializes_as_the_wire_string() {
        assert_eq!(
            serde_json::to_string(&eur("2500.5")).unwrap(),
            "\"2500.50\""
        );
        assert_eq!(serde_json::to_string(&xof("5000")).unwrap(), "\"5000\"");
    }

    #[test]
    fn accessors_report_value_and_currency() {
        let a = eur("12.30");
        assert_eq!(a.value().to_string(), "12.3");
        assert_eq!(a.currency(), Currency::Eur);
        assert!(!a.is_zero());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = Amount::parse(&s, Currency::Xof);
            let _ = Amount::parse(&s, Currency::Eur);
        }

        #[test]
        fn parse_never_panics_on_numberish_input(s in "[-+ ]?[0-9]{0,40}[.]?[0-9]{0,40}") {
            let _ = Amount::parse(&s, Currency::Eur);
        }

        #[test]
        fn xof_wire_string_round_trips(n in 0u64..=999_999_999_999) {
            let a = Amount::new(Decimal::from(n), Currency::Xof).unwrap();
            prop_assert_eq!(a.to_wire_string(), n.to_string());
            prop_assert_eq!(Amount::parse(&a.to_wire_string(), Currency::Xof), Ok(a));
        }

        #[test]
        fn eur_wire_string_round_trips(cents in 0i64..=99_999_999_999_999) {
            let a = Amount::new(Decimal::new(cents, 2), Currency::Eur).unwrap();
            let wire = a.to_wire_string();
            prop_assert_eq!(wire.split_once('.').map(|(_, f)| f.len()), Some(2));
            prop_assert_eq!(Amount::parse(&wire, Currency::Eur), Ok(a));
        }

        #[test]
        fn addition_then_subtraction_is_identity(a in 0u64..=499_999_999_999, b in 0u64..=499_999_999_999) {
            let a = Amount::new(Decimal::from(a), Currency::Xof).unwrap();
            let b = Amount::new(Decimal::from(b), Currency::Xof).unwrap();
            prop_assert_eq!(a.checked_add(b).and_then(|s| s.checked_sub(b)), Ok(a));
        }
    }

    #[test]
    fn sums_are_exact_and_refuse_mixed_currencies() {
        let a = Amount::parse("2500", Currency::Xof).unwrap();
        assert_eq!(
            Amount::sum(Currency::Xof, []).unwrap(),
            Amount::zero(Currency::Xof)
        );
        assert_eq!(
            Amount::sum(Currency::Xof, [a, a]).unwrap(),
            Amount::parse("5000", Currency::Xof).unwrap()
        );
        let e = Amount::parse("1", Currency::Eur).unwrap();
        assert_eq!(
            Amount::sum(Currency::Xof, [a, e]),
            Err(MoneyError::CurrencyMismatch)
        );
    }
}
