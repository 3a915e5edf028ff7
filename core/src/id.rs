//! Typed ids: one UUID v7 newtype per entity, so a `UserId` can't be passed as a `TontineId`.

use uuid::Uuid;

/// Why an id was refused. `Display` is a French message meant for users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum IdError {
    /// Not a UUID.
    #[error("identifiant invalide (UUID attendu)")]
    Invalid,
}

/// A new time-ordered UUID (v7), for ids and tokens.
pub fn new_uuid() -> Uuid {
    Uuid::now_v7()
}

/// The OpenAPI schema of every typed id: the bare UUID string it serializes as.
#[cfg(feature = "openapi")]
pub(crate) fn uuid_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
        .into()
}

macro_rules! typed_id {
    ($($(#[$meta:meta])* $name:ident;)+) => {$(
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new time-ordered id (UUID v7).
            pub fn new() -> Self {
                Self(new_uuid())
            }

            /// Wraps an existing UUID, for rows read from the database.
            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The underlying UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// Parses a UUID in any of its usual textual forms, surrounding spaces ignored.
            pub fn parse(s: &str) -> Result<Self, IdError> {
                Uuid::parse_str(s.trim()).map(Self).map_err(|_| IdError::Invalid)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        /// In an OpenAPI document: a UUID string.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::id::uuid_schema()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    )+};
}

typed_id! {
    /// A Kobiri account.
    UserId;
    /// A tontine (rotating savings group).
    TontineId;
    /// A user's membership in one tontine.
    MemberId;
    /// One collection session (round) of a tontine.
    SessionId;
    /// A contribution paid by a member.
    PaymentId;
    /// A payout ("passage") to the member whose turn it is.
    PassageId;
    /// A user's registered device.
    DeviceId;
    /// A notification sent to a user.
    NotificationId;
    /// A chain of refresh tokens; reuse of an old one revokes the whole family.
    TokenFamilyId;
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn new_ids_are_version_7_and_distinct() {
        let a = UserId::new();
        let b = UserId::default();
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert_ne!(a, b);
        assert_eq!(new_uuid().get_version_num(), 7);
    }

    #[test]
    fn display_and_parse_round_trip() {
        let id = TontineId::new();
        assert_eq!(TontineId::parse(&id.to_string()), Ok(id));
        assert_eq!(id.to_string().parse::<TontineId>(), Ok(id));
        assert_eq!(TontineId::parse(&format!(" {id} ")), Ok(id));
    }

    #[test]
    fn garbage_is_refused_with_a_french_message() {
        let err = PaymentId::parse("pas-un-uuid").unwrap_err();
        assert_eq!(err, IdError::Invalid);
        assert_eq!(err.to_string(), "identifiant invalide (UUID attendu)");
        assert!(PaymentId::parse("").is_err());
    }

    #[test]
    fn uuid_conversions_are_lossless() {
        let uuid = new_uuid();
        assert_eq!(MemberId::from_uuid(uuid).as_uuid(), uuid);
        assert_eq!(Uuid::from(SessionId::from(uuid)), uuid);
    }

    #[test]
    fn serde_is_the_bare_uuid_string() {
        let id = DeviceId::new();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<DeviceId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<DeviceId>("\"nope\"").is_err());
    }

    #[test]
    fn later_ids_sort_after_earlier_ones() {
        let first = NotificationId::new();
        let second = NotificationId::new();
        assert!(first < second);
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = PassageId::parse(&s);
            let _ = TokenFamilyId::parse(&s);
        }

        #[test]
        fn any_uuid_round_trips(n in any::<u128>()) {
            let id = UserId::from_uuid(Uuid::from_u128(n));
            prop_assert_eq!(UserId::parse(&id.to_string()), Ok(id));
        }
    }
}
