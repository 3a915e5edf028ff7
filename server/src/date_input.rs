//! Calendar dates as clients send them: `"2026-12-03"` or an RFC 3339 instant
//! (`"2026-12-03T17:05:00Z"`), read by core's [`parse_date_input`] (an instant stands for its
//! UTC date). Every date field of a request body is a [`DateInput`].

use std::fmt;

use chrono::NaiveDate;
use kobiri_core::parse_date_input;
use serde::{Deserialize, Deserializer, de};

/// A calendar date read from a plain date or an RFC 3339 instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateInput(NaiveDate);

impl DateInput {
    pub fn date(self) -> NaiveDate {
        self.0
    }
}

impl From<DateInput> for NaiveDate {
    fn from(d: DateInput) -> Self {
        d.0
    }
}

struct DateVisitor;

impl de::Visitor<'_> for DateVisitor {
    type Value = DateInput;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("une date (AAAA-MM-JJ ou instant RFC 3339)")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<DateInput, E> {
        parse_date_input(v).map(DateInput).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for DateInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(DateVisitor)
    }
}

impl utoipa::PartialSchema for DateInput {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
            .description(Some(
                "A calendar date. Also accepts an RFC 3339 instant (`2027-01-31T08:00:00Z`, or \
                 with an offset), which stands for its UTC date; an instant whose offset puts it \
                 on another day than in UTC, a date-time without a zone and an impossible date \
                 are refused (422).",
            ))
            .examples(["2027-01-31"])
            .into()
    }
}

impl utoipa::ToSchema for DateInput {}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[allow(dead_code)]
        due_date: DateInput,
    }

    #[test]
    fn both_forms_read_and_errors_are_french() {
        let read = |json: &str| serde_json::from_str::<Body>(json).map(|b| b.due_date.date());
        let day = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        assert_eq!(read(r#"{"due_date": "2026-12-03"}"#).unwrap(), day);
        assert_eq!(
            read(r#"{"due_date": "2026-12-03T17:05:00Z"}"#).unwrap(),
            day
        );
        let err = read(r#"{"due_date": "2026-02-30"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("date impossible"), "{err}");
        let err = read(r#"{"due_date": 20261203}"#).unwrap_err().to_string();
        assert!(err.contains("AAAA-MM-JJ"), "{err}");
    }
}
