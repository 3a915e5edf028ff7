//! Decoding mutations from CBOR: strict, bounded, and only the canonical form.
//!
//! The format is described in [`super::cbor`]. Input is size-checked before any decoding,
//! read field by field with [`super::reader`] (every length checked before it is read, no
//! tree of values built), and the result must re-encode to exactly the bytes received.

use uuid::Uuid;

use super::cbor::to_canonical_cbor;
use super::mutation::{Mutation, MutationKind, PROTOCOL_VERSION};
use super::reader::{Head, Malformed, Reader};

/// Largest encoded mutation accepted, checked before decoding anything.
pub const MAX_MUTATION_BYTES: usize = 64 * 1024;

/// Deepest nesting the decoder follows (a mutation is one flat map).
const RECURSION_LIMIT: usize = 4;

/// Why bytes are not a mutation. `Display` is a French message; [`DecodeError::code`] is stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// More than [`MAX_MUTATION_BYTES`].
    #[error("mutation trop volumineuse ({len} octets, maximum {max})")]
    TooLarge {
        /// The size received.
        len: usize,
        /// The size accepted.
        max: usize,
    },
    /// Not CBOR, truncated, followed by extra bytes, or nested too deep.
    #[error("mutation illisible (CBOR invalide, tronqué ou trop imbriqué)")]
    Malformed,
    /// A protocol version this code does not speak.
    #[error("version de protocole non prise en charge : {got} (version attendue : {expected})")]
    UnsupportedVersion {
        /// The version received.
        got: u64,
        /// The version spoken here.
        expected: u32,
    },
    /// A `kind` this code does not know.
    #[error("type de mutation inconnu : « {0} »")]
    UnknownKind(String),
    /// A field missing, out of order or of the wrong type.
    #[error("champ manquant ou invalide dans la mutation : {0}")]
    InvalidField(&'static str),
    /// More entries than the kind has.
    #[error("champ inattendu dans la mutation")]
    UnexpectedField,
    /// Valid content in a non-canonical encoding.
    #[error("encodage de la mutation non canonique")]
    NotCanonical,
}

impl DecodeError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::TooLarge { .. } => "mutation_too_large",
            DecodeError::Malformed => "mutation_malformed",
            DecodeError::UnsupportedVersion { .. } => "unsupported_protocol_version",
            DecodeError::UnknownKind(_) => "unknown_mutation_kind",
            DecodeError::InvalidField(_) => "invalid_mutation_field",
            DecodeError::UnexpectedField => "unexpected_mutation_field",
            DecodeError::NotCanonical => "non_canonical_mutation",
        }
    }
}

/// Decodes one mutation: strictly, in the canonical form only, reading each field straight
/// from the bytes (no intermediate tree) so that nothing is built beyond what a mutation holds.
pub fn from_cbor(bytes: &[u8]) -> Result<Mutation, DecodeError> {
    if bytes.len() > MAX_MUTATION_BYTES {
        return Err(DecodeError::TooLarge {
            len: bytes.len(),
            max: MAX_MUTATION_BYTES,
        });
    }
    let mut reader = Reader::new(bytes);
    let head = reader.head()?;
    let Head::Map(_) = head else {
        // Valid CBOR that is not a map lacks its first field; anything else is unreadable.
        reader.skip_after(head, RECURSION_LIMIT)?;
        return Err(if reader.is_empty() {
            DecodeError::InvalidField("v")
        } else {
            DecodeError::Malformed
        });
    };
    let entries = reader.check_count(head)?;
    let mut fields = Fields {
        reader,
        left: entries,
    };
    let m = from_fields(&mut fields)?;
    if fields.left > 0 {
        return Err(DecodeError::UnexpectedField);
    }
    if !fields.reader.is_empty() {
        return Err(DecodeError::Malformed);
    }
    if to_canonical_cbor(&m) != bytes {
        return Err(DecodeError::NotCanonical);
    }
    Ok(m)
}

impl From<Malformed> for DecodeError {
    fn from(_: Malformed) -> Self {
        DecodeError::Malformed
    }
}

fn from_fields(fields: &mut Fields<'_>) -> Result<Mutation, DecodeError> {
    let version = fields.uint("v")?;
    if version != u64::from(PROTOCOL_VERSION) {
        return Err(DecodeError::UnsupportedVersion {
            got: version,
            expected: PROTOCOL_VERSION,
        });
    }
    let device_id = fields.id("device")?;
    let seq = fields.uint("seq")?;
    let prev_hash = fields.bytes::<32>("prev")?;
    let recorded_at = fields.int("at")?;
    let kind = fields.text("kind")?;
    let kind = match kind.as_str() {
        "record_cash_payment" => MutationKind::RecordCashPayment {
            payment_id: fields.id("payment")?,
            tontine_id: fields.id("tontine")?,
            session_id: fields.id("session")?,
            member_id: fields.id("member")?,
            amount: fields.text("amount")?,
            currency: fields.text("currency")?,
        },
        "add_member" => MutationKind::AddMember {
            member_id: fields.id("member")?,
            tontine_id: fields.id("tontine")?,
            user_id: fields.id("user")?,
            phone: fields.text("phone")?,
            first_name: fields.text("first_name")?,
            last_name: fields.text("last_name")?,
        },
        "confirm_payout" => MutationKind::ConfirmPayout {
            passage_id: fields.id("passage")?,
            amount_received: fields.text("amount_received")?,
        },
        "correct_payment" => MutationKind::CorrectPayment {
            payment_id: fields.id("payment")?,
            corrects: fields.id("corrects")?,
            amount: fields.text("amount")?,
            reason: fields.text("reason")?,
        },
        other => return Err(DecodeError::UnknownKind(other.chars().take(32).collect())),
    };
    Ok(Mutation {
        device_id,
        seq,
        prev_hash,
        recorded_at,
        kind,
    })
}

/// The map's entries, read in the canonical order straight from the bytes.
struct Fields<'a> {
    reader: Reader<'a>,
    /// Entries the map's head declared and that are not read yet.
    left: u64,
}

impl<'a> Fields<'a> {
    /// Reads the next key, which must be `key`, and the head of its value.
    fn next(&mut self, key: &'static str) -> Result<Head, DecodeError> {
        if self.left == 0 {
            return Err(DecodeError::InvalidField(key));
        }
        self.left -= 1;
        match self.reader.text()? {
            Some(k) if k == key => Ok(self.reader.head()?),
            _ => Err(DecodeError::InvalidField(key)),
        }
    }

    fn uint(&mut self, key: &'static str) -> Result<u64, DecodeError> {
        match self.next(key)? {
            Head::Uint(n) => Ok(n),
            _ => Err(DecodeError::InvalidField(key)),
        }
    }

    fn int(&mut self, key: &'static str) -> Result<i64, DecodeError> {
        let value = match self.next(key)? {
            Head::Uint(n) => i64::try_from(n).ok(),
            Head::Nint(n) => i64::try_from(n).ok().map(|n| -1 - n),
            _ => None,
        };
        value.ok_or(DecodeError::InvalidField(key))
    }

    fn text(&mut self, key: &'static str) -> Result<String, DecodeError> {
        let Head::Text(len) = self.next(key)? else {
            return Err(DecodeError::InvalidField(key));
        };
        let bytes = self.reader.string_bytes(len)?;
        let text = std::str::from_utf8(bytes).map_err(|_| DecodeError::Malformed)?;
        Ok(text.to_owned())
    }

    fn bytes<const N: usize>(&mut self, key: &'static str) -> Result<[u8; N], DecodeError> {
        let Head::Bytes(len) = self.next(key)? else {
            return Err(DecodeError::InvalidField(key));
        };
        let bytes = self.reader.string_bytes(len)?;
        bytes.try_into().map_err(|_| DecodeError::InvalidField(key))
    }

    fn id<T: From<Uuid>>(&mut self, key: &'static str) -> Result<T, DecodeError> {
        Ok(T::from(Uuid::from_bytes(self.bytes::<16>(key)?)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::DeviceId;
    use crate::sync::cbor::to_value;
    use crate::sync::fixtures::{mutation, payment};
    use crate::sync::mutation::ZERO_HASH;
    use ciborium::Value;
    use proptest::prelude::*;

    fn encode(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::into_writer(value, &mut out).unwrap();
        out
    }

    fn entries(m: &Mutation) -> Vec<(Value, Value)> {
        match to_value(m) {
            Value::Map(entries) => entries,
            _ => unreachable!(),
        }
    }

    #[test]
    fn another_version_is_refused_with_its_number() {
        let mut map = entries(&payment(DeviceId::new(), 1, ZERO_HASH));
        map[0].1 = Value::Integer(2.into());
        let err = from_cbor(&encode(&Value::Map(map))).unwrap_err();
        assert_eq!(
            err,
            DecodeError::UnsupportedVersion {
                got: 2,
                expected: 1
            }
        );
        assert_eq!(err.code(), "unsupported_protocol_version");
        assert_eq!(
            err.to_string(),
            "version de protocole non prise en charge : 2 (version attendue : 1)"
        );
    }

    #[test]
    fn unknown_kinds_missing_and_extra_fields_are_refused() {
        let base = entries(&payment(DeviceId::new(), 1, ZERO_HASH));
        let mut map = base.clone();
        map[5].1 = Value::Text("delete_everything".to_owned());
        let err = from_cbor(&encode(&Value::Map(map))).unwrap_err();
        assert_eq!(
            err,
            DecodeError::UnknownKind("delete_everything".to_owned())
        );
        let mut map = base.clone();
        map.pop();
        let err = from_cbor(&encode(&Value::Map(map))).unwrap_err();
        assert_eq!(err, DecodeError::InvalidField("currency"));
        let mut map = base.clone();
        map.push((Value::Text("extra".to_owned()), Value::Null));
        assert_eq!(
            from_cbor(&encode(&Value::Map(map))),
            Err(DecodeError::UnexpectedField)
        );
        let mut map = base;
        map.swap(1, 2);
        assert_eq!(
            from_cbor(&encode(&Value::Map(map))),
            Err(DecodeError::InvalidField("device"))
        );
        let err = from_cbor(&encode(&Value::Array(vec![]))).unwrap_err();
        assert_eq!(err.code(), "invalid_mutation_field");
    }

    #[test]
    fn a_long_form_integer_is_not_canonical() {
        let bytes = to_canonical_cbor(&payment(DeviceId::new(), 1, ZERO_HASH));
        let at = bytes
            .windows(4)
            .position(|w| w == [0x63, b's', b'e', b'q'])
            .unwrap()
            + 4;
        assert_eq!(bytes[at], 0x01);
        let mut long = bytes[..at].to_vec();
        long.extend([0x18, 0x01]);
        long.extend(&bytes[at + 1..]);
        assert_eq!(from_cbor(&long), Err(DecodeError::NotCanonical));
    }

    #[test]
    fn garbage_trailing_bytes_and_oversized_input_are_refused() {
        assert_eq!(from_cbor(&[]), Err(DecodeError::Malformed));
        assert_eq!(from_cbor(&[0xff, 0x00, 0x13]), Err(DecodeError::Malformed));
        let mut bytes = to_canonical_cbor(&payment(DeviceId::new(), 1, ZERO_HASH));
        bytes.push(0x00);
        assert_eq!(from_cbor(&bytes), Err(DecodeError::Malformed));
        let big = vec![0u8; MAX_MUTATION_BYTES + 1];
        let err = from_cbor(&big).unwrap_err();
        assert_eq!(err.code(), "mutation_too_large");
        assert_eq!(
            err.to_string(),
            "mutation trop volumineuse (65537 octets, maximum 65536)"
        );
    }

    #[test]
    fn cbor_bombs_are_refused_without_allocating() {
        let deep = [vec![0x81; 10_000], vec![0x00]].concat();
        assert_eq!(from_cbor(&deep), Err(DecodeError::Malformed));
        let huge_bytes = [0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(from_cbor(&huge_bytes), Err(DecodeError::Malformed));
        let huge_array = [0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(from_cbor(&huge_array), Err(DecodeError::Malformed));
        let huge_map = [0xbb, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(from_cbor(&huge_map), Err(DecodeError::Malformed));
    }

    proptest! {
        #[test]
        fn every_truncation_is_refused(m in mutation(), cut in any::<prop::sample::Index>()) {
            let bytes = to_canonical_cbor(&m);
            let cut = cut.index(bytes.len());
            prop_assert!(from_cbor(&bytes[..cut]).is_err());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = from_cbor(&bytes);
        }
    }
}
