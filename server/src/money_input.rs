//! Money as clients send it: a JSON number or a decimal string, read from its exact text
//! (serde_json keeps the digits with `arbitrary_precision`), never through a binary float.

use kobiri_core::{Amount, Currency, MoneyError, parse_decimal_input};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};

/// An amount as typed by the client, not yet checked against a currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoneyInput(String);

impl MoneyInput {
    pub fn decimal(&self) -> Result<Decimal, MoneyError> {
        parse_decimal_input(&self.0)
    }

    /// The amount in `currency` (sign, minor unit and range checked).
    pub fn amount(&self, currency: Currency) -> Result<Amount, MoneyError> {
        Amount::new(self.decimal()?, currency)
    }
}

impl<'de> Deserialize<'de> for MoneyInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) => Ok(Self(n.to_string())),
            serde_json::Value::String(s) => Ok(Self(s)),
            _ => Err(serde::de::Error::custom(
                "montant attendu (nombre ou chaîne décimale)",
            )),
        }
    }
}

impl utoipa::PartialSchema for MoneyInput {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                utoipa::openapi::schema::Type::String,
                utoipa::openapi::schema::Type::Number,
            ]))
            .description(Some(
                "A decimal amount: a JSON number or a string such as \"5000\" or \"2500.50\"",
            ))
            .examples(["5000"])
            .into()
    }
}

impl utoipa::ToSchema for MoneyInput {}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Body {
        amount: MoneyInput,
    }

    fn read(json: &str) -> Result<Decimal, String> {
        let body: Body = serde_json::from_str(json).map_err(|e| e.to_string())?;
        body.amount.decimal().map_err(|e| e.to_string())
    }

    #[test]
    fn numbers_and_strings_read_exactly() {
        assert_eq!(read(r#"{"amount": 5000}"#).unwrap(), Decimal::new(5000, 0));
        assert_eq!(
            read(r#"{"amount": "2500.50"}"#).unwrap(),
            Decimal::new(250050, 2)
        );
        // 0.1 + 0.2 style values stay exact: no float on the way.
        assert_eq!(
            read(r#"{"amount": 0.30000000000000004}"#)
                .unwrap()
                .to_string(),
            "0.30000000000000004"
        );
    }

    #[test]
    fn other_json_types_and_exponents_are_refused() {
        assert!(read(r#"{"amount": true}"#).is_err());
        assert!(read(r#"{"amount": 1e3}"#).is_err());
        assert!(read(r#"{"amount": "abc"}"#).is_err());
    }

    #[test]
    fn fractional_xof_is_refused() {
        let input: Body = serde_json::from_str(r#"{"amount": 2500.5}"#).unwrap();
        assert!(input.amount.amount(Currency::Xof).is_err());
        assert!(input.amount.amount(Currency::Eur).is_ok());
    }
}
