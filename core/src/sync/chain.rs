//! The per-device hash chain: each mutation carries the SHA-256 of the previous one.

use sha2::{Digest, Sha256};

use super::cbor::to_canonical_cbor;
use super::mutation::{Mutation, ZERO_HASH};
use crate::ReceiptCode;

/// Why a mutation does not follow the previous one. `Display` is a French message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// The sequence number is not the next one.
    #[error("mutation hors séquence : numéro {expected} attendu, {got} reçu")]
    Gap {
        /// The number expected.
        expected: u64,
        /// The number received.
        got: u64,
    },
    /// `prev_hash` is not the hash of the previous mutation.
    #[error("chaîne de mutations rompue : l'empreinte précédente ne correspond pas")]
    BrokenLink,
    /// The two mutations come from different devices.
    #[error("les deux mutations viennent d'appareils différents")]
    OtherDevice,
}

impl ChainError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ChainError::Gap { .. } => "sequence_gap",
            ChainError::BrokenLink => "broken_chain",
            ChainError::OtherDevice => "other_device",
        }
    }
}

/// SHA-256 of the mutation's canonical CBOR.
pub fn mutation_hash(m: &Mutation) -> [u8; 32] {
    Sha256::digest(to_canonical_cbor(m)).into()
}

/// Checks that `next` follows `prev` on the same device (`None`: `next` must be the first).
pub fn verify_chain(prev: Option<&Mutation>, next: &Mutation) -> Result<(), ChainError> {
    let (expected, link) = match prev {
        None => (1, ZERO_HASH),
        Some(prev) => {
            if prev.device_id != next.device_id {
                return Err(ChainError::OtherDevice);
            }
            (prev.seq.saturating_add(1), mutation_hash(prev))
        }
    };
    if next.seq != expected {
        return Err(ChainError::Gap {
            expected,
            got: next.seq,
        });
    }
    if next.prev_hash != link {
        return Err(ChainError::BrokenLink);
    }
    Ok(())
}

/// The receipt code shown to the member for this mutation, recomputable by the server.
pub fn receipt_code(m: &Mutation) -> ReceiptCode {
    ReceiptCode::from_digest(&mutation_hash(m))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::DeviceId;
    use crate::sync::fixtures::{kind, mutation, payment};
    use proptest::prelude::*;

    fn chain(kinds: Vec<crate::sync::MutationKind>) -> Vec<Mutation> {
        let device_id = DeviceId::new();
        let mut out: Vec<Mutation> = Vec::new();
        for (i, kind) in kinds.into_iter().enumerate() {
            let prev_hash = out.last().map_or(ZERO_HASH, mutation_hash);
            let seq = i as u64 + 1;
            out.push(Mutation {
                kind,
                ..payment(device_id, seq, prev_hash)
            });
        }
        out
    }

    /// The index of the first mutation that does not follow its predecessor.
    fn first_break(ms: &[Mutation]) -> Option<usize> {
        (0..ms.len()).find(|&i| verify_chain(i.checked_sub(1).map(|p| &ms[p]), &ms[i]).is_err())
    }

    #[test]
    fn the_hash_is_sha256_of_the_encoding_and_gives_the_receipt() {
        let m = payment(DeviceId::new(), 1, ZERO_HASH);
        let hash = mutation_hash(&m);
        let hex = hex::encode(Sha256::digest(to_canonical_cbor(&m)));
        assert_eq!(hex::encode(hash), hex);
        assert_eq!(receipt_code(&m), ReceiptCode::from_digest(&hash));
    }

    #[test]
    fn a_first_mutation_needs_seq_1_and_a_zero_hash() {
        assert_eq!(
            verify_chain(None, &payment(DeviceId::new(), 1, ZERO_HASH)),
            Ok(())
        );
        let err = verify_chain(None, &payment(DeviceId::new(), 2, ZERO_HASH)).unwrap_err();
        assert_eq!(
            err,
            ChainError::Gap {
                expected: 1,
                got: 2
            }
        );
        assert_eq!(
            err.to_string(),
            "mutation hors séquence : numéro 1 attendu, 2 reçu"
        );
        let err = verify_chain(None, &payment(DeviceId::new(), 1, [1; 32])).unwrap_err();
        assert_eq!(err.code(), "broken_chain");
    }

    #[test]
    fn mutations_of_another_device_do_not_chain() {
        let first = payment(DeviceId::new(), 1, ZERO_HASH);
        let next = payment(DeviceId::new(), 2, mutation_hash(&first));
        assert_eq!(
            verify_chain(Some(&first), &next),
            Err(ChainError::OtherDevice)
        );
    }

    proptest! {
        #[test]
        fn any_single_byte_change_changes_the_hash(
            m in mutation(), at in any::<prop::sample::Index>(), flip in 1u8..=255,
        ) {
            let mut bytes = to_canonical_cbor(&m);
            let at = at.index(bytes.len());
            bytes[at] ^= flip;
            let changed: [u8; 32] = Sha256::digest(&bytes).into();
            prop_assert_ne!(changed, mutation_hash(&m));
            if let Ok(decoded) = crate::sync::from_cbor(&bytes) {
                prop_assert_ne!(mutation_hash(&decoded), mutation_hash(&m));
            }
        }

        #[test]
        fn a_built_chain_verifies(kinds in prop::collection::vec(kind(), 1..12)) {
            prop_assert_eq!(first_break(&chain(kinds)), None);
        }

        #[test]
        fn removing_a_mutation_breaks_the_chain_where_it_was(
            kinds in prop::collection::vec(kind(), 2..12), at in any::<prop::sample::Index>(),
        ) {
            let mut ms = chain(kinds);
            let at = at.index(ms.len());
            ms.remove(at);
            let expected = if at == ms.len() { None } else { Some(at) };
            prop_assert_eq!(first_break(&ms), expected);
        }

        #[test]
        fn altering_a_mutation_breaks_the_chain_just_after_it(
            kinds in prop::collection::vec(kind(), 2..12),
            at in any::<prop::sample::Index>(),
            delta in 1i64..1_000_000,
        ) {
            let mut ms = chain(kinds);
            let at = at.index(ms.len() - 1);
            ms[at].recorded_at = ms[at].recorded_at.wrapping_add(delta);
            prop_assert_eq!(first_break(&ms), Some(at + 1));
            prop_assert_eq!(verify_chain(Some(&ms[at]), &ms[at + 1]), Err(ChainError::BrokenLink));
        }
    }
}
