//! Test helpers for sync: valid mutations and proptest strategies over every kind.

use super::mutation::{Mutation, MutationKind, ZERO_HASH};
use crate::{DeviceId, MemberId, PaymentId, SessionId, TontineId};
use proptest::prelude::*;
use uuid::Uuid;

fn id<T: From<Uuid> + std::fmt::Debug>() -> impl Strategy<Value = T> {
    any::<u128>().prop_map(|n| T::from(Uuid::from_u128(n)))
}

/// Any valid kind.
pub fn kind() -> impl Strategy<Value = MutationKind> {
    prop_oneof![
        (
            id(),
            id(),
            id(),
            id(),
            1u64..10_000_000,
            prop::sample::select(vec!["XOF", "EUR"])
        )
            .prop_map(|(payment_id, tontine_id, session_id, member_id, n, c)| {
                MutationKind::RecordCashPayment {
                    payment_id,
                    tontine_id,
                    session_id,
                    member_id,
                    amount: n.to_string(),
                    currency: c.to_owned(),
                }
            }),
        (
            id(),
            id(),
            id(),
            "[0-9]{8,15}",
            "[A-Za-zé]{1,20}",
            "[A-Za-z ]{0,10}[a-z]"
        )
            .prop_map(
                |(member_id, tontine_id, user_id, phone, first_name, last_name)| {
                    MutationKind::AddMember {
                        member_id,
                        tontine_id,
                        user_id,
                        phone,
                        first_name,
                        last_name,
                    }
                }
            ),
        (id(), 0u64..1_000_000).prop_map(|(passage_id, n)| MutationKind::ConfirmPayout {
            passage_id,
            amount_received: n.to_string(),
        }),
        (id(), id(), 0u64..1_000_000, "[a-zé ]{0,40}[a-z]").prop_map(
            |(payment_id, corrects, n, reason)| MutationKind::CorrectPayment {
                payment_id,
                corrects,
                amount: format!("{n}.5"),
                reason,
            }
        ),
    ]
}

/// Any valid mutation (seq 1 with a zero hash, or seq > 1 with a non-zero one).
pub fn mutation() -> impl Strategy<Value = Mutation> {
    (
        id(),
        1u64..u64::MAX,
        any::<[u8; 32]>(),
        any::<i64>(),
        kind(),
    )
        .prop_map(|(device_id, seq, mut prev_hash, recorded_at, kind)| {
            if seq == 1 {
                prev_hash = ZERO_HASH;
            } else if prev_hash == ZERO_HASH {
                prev_hash[0] = 1;
            }
            Mutation {
                device_id,
                seq,
                prev_hash,
                recorded_at,
                kind,
            }
        })
}

/// A valid cash payment, first of its device.
pub fn payment(device_id: DeviceId, seq: u64, prev_hash: [u8; 32]) -> Mutation {
    Mutation {
        device_id,
        seq,
        prev_hash,
        recorded_at: 1_760_000_000,
        kind: MutationKind::RecordCashPayment {
            payment_id: PaymentId::new(),
            tontine_id: TontineId::new(),
            session_id: SessionId::new(),
            member_id: MemberId::new(),
            amount: "5000".to_owned(),
            currency: "XOF".to_owned(),
        },
    }
}
