//! Wire-string enums: one macro gives each status or kind its exact wire string once.
//!
//! Every enum made with the crate-private `wire_enum!` macro derives serde with
//! `rename_all = "snake_case"`, has `ALL` (every variant, in declaration order), `WIRE` (their
//! wire strings, same order), a written-out `as_str` match, `Display`, and
//! `FromStr`/`TryFrom<&str>` that accept exactly the wire strings (case-sensitive, no
//! trimming, like the database `CHECK` constraints) and refuse anything else with an
//! [`UnknownVariant`] whose `Display` is French.

/// A string that is not one of an enum's wire strings. `Display` is a French message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[error("valeur inconnue pour {what} : « {value} » (valeurs acceptées : {})", .expected.join(", "))]
pub struct UnknownVariant {
    /// What was being parsed, in French (e.g. "la fréquence").
    pub what: &'static str,
    /// The refused input, cut to 32 characters.
    pub value: String,
    /// The accepted wire strings.
    pub expected: &'static [&'static str],
}

impl UnknownVariant {
    /// Builds the error, keeping at most 32 characters of `value` to echo back.
    pub fn new(what: &'static str, value: &str, expected: &'static [&'static str]) -> Self {
        Self {
            what,
            value: value.chars().take(32).collect(),
            expected,
        }
    }
}

/// The OpenAPI schema of a wire-string enum: a string restricted to its wire strings.
#[cfg(feature = "openapi")]
pub(crate) fn enum_schema(
    wire: &'static [&'static str],
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(wire.iter().copied()))
        .into()
}

/// Defines a wire-string enum: `wire_enum! { /// doc \n Name("la chose") { Variant => "wire", } }`.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident ($what:literal) {
            $($(#[$vmeta:meta])* $variant:ident => $wire:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &[Self] = &[$(Self::$variant),+];

            /// Every wire string, in declaration order.
            pub const WIRE: &[&str] = &[$($wire),+];

            /// The wire and database string.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl TryFrom<&str> for $name {
            type Error = $crate::wire::UnknownVariant;

            /// Accepts exactly the wire strings (case-sensitive, no trimming).
            fn try_from(s: &str) -> Result<Self, Self::Error> {
                match s {
                    $($wire => Ok(Self::$variant),)+
                    _ => Err($crate::wire::UnknownVariant::new($what, s, Self::WIRE)),
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::wire::UnknownVariant;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::try_from(s)
            }
        }

        /// In an OpenAPI document: a string, one of the wire strings.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::wire::enum_schema(Self::WIRE)
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

pub(crate) use wire_enum;

/// Test helper: checks that `as_str`, `Display`, `FromStr` and serde agree on every value and
/// that the wire strings are exactly `expected`.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn assert_wire_strings<T>(all: &[T], as_str: fn(T) -> &'static str, expected: &[&str])
where
    T: Copy
        + std::fmt::Debug
        + std::fmt::Display
        + PartialEq
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::str::FromStr,
    <T as std::str::FromStr>::Err: std::fmt::Debug,
{
    let wire: Vec<&str> = all.iter().map(|&v| as_str(v)).collect();
    assert_eq!(wire, expected);
    for &value in all {
        let s = as_str(value);
        let json = serde_json::to_string(&value).unwrap();
        assert_eq!(json, format!("\"{s}\""));
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), value);
        assert_eq!(s.parse::<T>().unwrap(), value);
        assert_eq!(value.to_string(), s);
        assert!(
            s.to_uppercase().parse::<T>().is_err(),
            "{s} parsed in upper case"
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    wire_enum! {
        /// A test enum.
        Fruit("le fruit") {
            /// A mango.
            Mangue => "mangue",
            /// A baobab fruit.
            PainDeSinge => "pain_de_singe",
        }
    }

    #[test]
    fn wire_strings_serde_and_parsing_agree() {
        assert_wire_strings(Fruit::ALL, Fruit::as_str, &["mangue", "pain_de_singe"]);
        assert_eq!(Fruit::WIRE, ["mangue", "pain_de_singe"]);
    }

    #[test]
    fn unknown_values_are_refused_with_a_french_message() {
        let err = Fruit::try_from("banane").unwrap_err();
        assert_eq!(
            err.to_string(),
            "valeur inconnue pour le fruit : « banane » (valeurs acceptées : mangue, pain_de_singe)"
        );
        assert!(" mangue".parse::<Fruit>().is_err());
        assert!(serde_json::from_str::<Fruit>("\"Mangue\"").is_err());
        let long = "x".repeat(100);
        assert_eq!(Fruit::try_from(long.as_str()).unwrap_err().value.len(), 32);
    }
}
