//! Canonical CBOR for mutations: the bytes that are hashed, chained and sent on the wire.
//!
//! A mutation is one CBOR map (definite length) with text keys in this fixed order:
//!
//! | key      | value                                                       |
//! |----------|-------------------------------------------------------------|
//! | `v`      | [`PROTOCOL_VERSION`], unsigned integer (always first)       |
//! | `device` | device id, 16-byte byte string (the UUID's bytes)           |
//! | `seq`    | unsigned integer                                            |
//! | `prev`   | previous mutation's SHA-256, 32-byte byte string            |
//! | `at`     | recorded at, unix seconds, signed integer                   |
//! | `kind`   | `record_cash_payment`, `add_member`, `confirm_payout` or `correct_payment` |
//!
//! then the kind's own fields, in this order:
//!
//! - `record_cash_payment`: `payment`, `tontine`, `session`, `member` (ids), `amount`,
//!   `currency` (text);
//! - `add_member`: `member`, `tontine`, `user` (ids), `phone`, `first_name`, `last_name` (text);
//! - `confirm_payout`: `passage` (id), `amount_received` (text);
//! - `correct_payment`: `payment`, `corrects` (ids), `amount`, `reason` (text).
//!
//! Ids are 16-byte byte strings, amounts decimal text exactly as recorded, integers in their
//! shortest form, every length definite, no tags and no floats. [`from_cbor`] accepts only
//! this form: anything that does not re-encode to the same bytes is refused, so the hash of
//! the bytes received is the hash of the mutation decoded.

use ciborium::Value;
use uuid::Uuid;

use super::mutation::{Mutation, MutationKind, PROTOCOL_VERSION};

pub use super::decode::{DecodeError, MAX_MUTATION_BYTES, from_cbor};

/// The canonical CBOR encoding of `m` (see the module documentation).
pub fn to_canonical_cbor(m: &Mutation) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    match ciborium::into_writer(&to_value(m), &mut out) {
        Ok(()) => out,
        // Writing into a `Vec` never fails, and a `Value` of integers, byte strings, text and
        // one map has nothing that serde could refuse.
        Err(err) => unreachable!("encoding a mutation into memory failed: {err}"),
    }
}

/// The mutation as a CBOR value: one map, keys in the canonical order.
// Long on purpose: one match arm per CBOR major type.
pub(super) fn to_value(m: &Mutation) -> Value {
    let mut map = vec![
        entry("v", Value::Integer(PROTOCOL_VERSION.into())),
        entry("device", id(m.device_id.as_uuid())),
        entry("seq", Value::Integer(m.seq.into())),
        entry("prev", Value::Bytes(m.prev_hash.to_vec())),
        entry("at", Value::Integer(m.recorded_at.into())),
        entry("kind", Value::Text(m.kind.as_str().to_owned())),
    ];
    match &m.kind {
        MutationKind::RecordCashPayment {
            payment_id,
            tontine_id,
            session_id,
            member_id,
            amount,
            currency,
        } => map.extend([
            entry("payment", id(payment_id.as_uuid())),
            entry("tontine", id(tontine_id.as_uuid())),
            entry("session", id(session_id.as_uuid())),
            entry("member", id(member_id.as_uuid())),
            entry("amount", text(amount)),
            entry("currency", text(currency)),
        ]),
        MutationKind::AddMember {
            member_id,
            tontine_id,
            user_id,
            phone,
            first_name,
            last_name,
        } => map.extend([
            entry("member", id(member_id.as_uuid())),
            entry("tontine", id(tontine_id.as_uuid())),
            entry("user", id(user_id.as_uuid())),
            entry("phone", text(phone)),
            entry("first_name", text(first_name)),
            entry("last_name", text(last_name)),
        ]),
        MutationKind::ConfirmPayout {
            passage_id,
            amount_received,
        } => map.extend([
            entry("passage", id(passage_id.as_uuid())),
            entry("amount_received", text(amount_received)),
        ]),
        MutationKind::CorrectPayment {
            payment_id,
            corrects,
            amount,
            reason,
        } => map.extend([
            entry("payment", id(payment_id.as_uuid())),
            entry("corrects", id(corrects.as_uuid())),
            entry("amount", text(amount)),
            entry("reason", text(reason)),
        ]),
    }
    Value::Map(map)
}

fn entry(key: &str, value: Value) -> (Value, Value) {
    (Value::Text(key.to_owned()), value)
}

fn id(uuid: Uuid) -> Value {
    Value::Bytes(uuid.as_bytes().to_vec())
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::DeviceId;
    use crate::sync::fixtures::{mutation, payment};
    use crate::sync::mutation::ZERO_HASH;
    use proptest::prelude::*;

    #[test]
    fn the_version_comes_first_and_a_payment_is_small() {
        let bytes = to_canonical_cbor(&payment(DeviceId::new(), 1, ZERO_HASH));
        assert_eq!(bytes[..4], [0xac, 0x61, b'v', 0x01]);
        assert!(bytes.len() < 256, "{} bytes", bytes.len());
    }

    proptest! {
        #[test]
        fn encoding_round_trips_and_is_deterministic(m in mutation()) {
            let bytes = to_canonical_cbor(&m);
            prop_assert_eq!(to_canonical_cbor(&m.clone()), bytes.clone());
            prop_assert_eq!(from_cbor(&bytes), Ok(m));
        }
    }
}
