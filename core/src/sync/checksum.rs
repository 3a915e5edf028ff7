//! Scope checksums: the phone and the server digest the rows of one scope the same way, so the
//! phone can prove its copy equals the server's.
//!
//! A row's digest is the SHA-256 of the CBOR array `[entity, id (16 bytes), {field: text…}]`,
//! the fields in key order (a [`BTreeMap`]'s order). A scope's checksum is the SHA-256 of its
//! rows' digests sorted bytewise and concatenated, in lowercase hex: it does not depend on the
//! order rows arrived in. An empty scope's checksum is the SHA-256 of nothing.

use std::collections::BTreeMap;

use ciborium::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::protocol::Entity;

/// The digest of one row as the phone holds it.
pub fn row_digest(entity: Entity, id: Uuid, row: &BTreeMap<String, String>) -> [u8; 32] {
    let fields = row
        .iter()
        .map(|(k, v)| (Value::Text(k.clone()), Value::Text(v.clone())))
        .collect();
    let value = Value::Array(vec![
        Value::Text(entity.as_str().to_owned()),
        Value::Bytes(id.as_bytes().to_vec()),
        Value::Map(fields),
    ]);
    let mut bytes = Vec::with_capacity(256);
    match ciborium::into_writer(&value, &mut bytes) {
        Ok(()) => Sha256::digest(&bytes).into(),
        // Writing text and byte strings into a `Vec` never fails.
        Err(err) => unreachable!("encoding a row into memory failed: {err}"),
    }
}

/// The checksum of a scope from its rows' digests, in any order.
pub fn scope_checksum(digests: impl IntoIterator<Item = [u8; 32]>) -> String {
    let mut digests: Vec<[u8; 32]> = digests.into_iter().collect();
    digests.sort_unstable();
    let mut hasher = Sha256::new();
    for d in &digests {
        hasher.update(d);
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn row(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_row_digest_depends_on_every_part() {
        let id = Uuid::now_v7();
        let a = row(&[("amount", "5000"), ("status", "en_attente")]);
        let base = row_digest(Entity::Payment, id, &a);
        assert_ne!(base, row_digest(Entity::Member, id, &a));
        assert_ne!(base, row_digest(Entity::Payment, Uuid::now_v7(), &a));
        assert_ne!(
            base,
            row_digest(
                Entity::Payment,
                id,
                &row(&[("amount", "5001"), ("status", "en_attente")])
            )
        );
        // Moving text between a key and its value changes the digest.
        assert_ne!(
            row_digest(Entity::Payment, id, &row(&[("ab", "c")])),
            row_digest(Entity::Payment, id, &row(&[("a", "bc")]))
        );
    }

    #[test]
    fn the_empty_scope_has_a_fixed_checksum() {
        assert_eq!(
            scope_checksum([]),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    proptest! {
        #[test]
        fn the_checksum_ignores_order_but_not_content(
            mut digests in prop::collection::vec(any::<[u8; 32]>(), 1..20),
        ) {
            let sum = scope_checksum(digests.clone());
            digests.reverse();
            prop_assert_eq!(&scope_checksum(digests.clone()), &sum);
            digests.pop();
            prop_assert_ne!(scope_checksum(digests), sum);
        }
    }
}
