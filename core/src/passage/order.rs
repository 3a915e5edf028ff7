//! The payout order: generated (random with a recorded seed, alphabetical, join date) or set
//! by hand and checked.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::ascii::fold_to_ascii;
use crate::id::MemberId;
use crate::wire::wire_enum;

wire_enum! {
    /// How the payout order is generated.
    OrderMethod("la méthode de tirage") {
        /// A seeded random draw (see [`payout_order`]).
        Random => "random",
        /// By name, case- and accent-insensitively.
        Alphabetical => "alphabetical",
        /// By the date each member joined.
        JoinDate => "join_date",
    }
}

/// A member taking part in the payout order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The membership.
    pub member_id: MemberId,
    /// The member's display name.
    pub name: String,
    /// When the member joined the tontine.
    pub joined_at: DateTime<Utc>,
}

/// The members of `candidates` in payout order (first to receive the pot first).
///
/// - `random`: the candidates are sorted by member id, then shuffled by Fisher–Yates driven by
///   `ChaCha20Rng::seed_from_u64(seed)` (rand_chacha 0.9): for `i` from `n - 1` down to 1, draw
///   `j` uniformly in `0..=i` and swap positions `i` and `j`. `j` comes from rejection sampling
///   on `next_u64` (a draw `x` is kept when `x < 2^64 - (2^64 mod (i + 1))`, and `j = x mod
///   (i + 1)`), so no member is favoured. The same seed and members always give the same
///   order, whatever order the candidates come in: the seed is stored with the passages so
///   anyone can re-run the draw and check it.
/// - `alphabetical`: by name, ignoring case and accents, then by member id.
/// - `join_date`: by `joined_at`, then by member id.
///
/// `seed` is ignored by the non-random methods.
pub fn payout_order(candidates: &[Candidate], method: OrderMethod, seed: u64) -> Vec<MemberId> {
    let mut ordered: Vec<&Candidate> = candidates.iter().collect();
    match method {
        OrderMethod::Random => {
            ordered.sort_by_key(|c| c.member_id);
            shuffle(&mut ordered, seed);
        }
        OrderMethod::Alphabetical => {
            ordered.sort_by_cached_key(|c| (name_key(&c.name), c.member_id));
        }
        OrderMethod::JoinDate => ordered.sort_by_key(|c| (c.joined_at, c.member_id)),
    }
    ordered.into_iter().map(|c| c.member_id).collect()
}

/// The sort key of a name: trimmed, accents folded, lower case.
fn name_key(name: &str) -> String {
    fold_to_ascii(name.trim()).to_lowercase()
}

/// Fisher–Yates with a ChaCha20 generator seeded from `seed` (see [`payout_order`]).
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    for i in (1..items.len()).rev() {
        let j = below(&mut rng, i as u64 + 1);
        // `j <= i`, an index of `items`.
        items.swap(i, j as usize);
    }
}

/// A uniform integer in `0..n` (`n >= 1`), by rejection sampling on 64-bit draws.
fn below(rng: &mut impl RngCore, n: u64) -> u64 {
    // 2^64 mod n: the draws at the top of the range that would favour small results.
    let excess = (u64::MAX % n + 1) % n;
    let last_kept = u64::MAX - excess;
    loop {
        let x = rng.next_u64();
        if x <= last_kept {
            return x % n;
        }
    }
}

/// Why a hand-made payout order was refused. `Display` is a French message meant for users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum OrderError {
    /// A member that is not one of the tontine's.
    #[error("le membre {0} ne fait pas partie de la tontine")]
    UnknownMember(MemberId),
    /// A member listed twice.
    #[error("le membre {0} apparaît plusieurs fois dans l'ordre de passage")]
    DuplicateMember(MemberId),
    /// A member of the tontine left out.
    #[error("le membre {0} n'a pas de rang de passage")]
    MissingMember(MemberId),
    /// An order number given twice.
    #[error("le rang {0} est attribué plusieurs fois")]
    DuplicateNumber(u32),
    /// An order number outside `1..=max`.
    #[error("le rang {number} est hors limites (de 1 à {max})")]
    NumberOutOfRange {
        /// The number given.
        number: u32,
        /// The number of members.
        max: u32,
    },
}

/// Checks a hand-made order: each of `members` exactly once, order numbers unique and in
/// `1..=n` (so exactly `1..=n`), where `n` is the number of members.
pub fn validate_manual_order(
    members: &[MemberId],
    order: &[(MemberId, u32)],
) -> Result<(), OrderError> {
    let known: HashSet<MemberId> = members.iter().copied().collect();
    let max = u32::try_from(known.len()).unwrap_or(u32::MAX);
    let mut placed = HashSet::new();
    let mut numbers = HashSet::new();
    for &(member, number) in order {
        if !known.contains(&member) {
            return Err(OrderError::UnknownMember(member));
        }
        if !placed.insert(member) {
            return Err(OrderError::DuplicateMember(member));
        }
        if number == 0 || number > max {
            return Err(OrderError::NumberOutOfRange { number, max });
        }
        if !numbers.insert(number) {
            return Err(OrderError::DuplicateNumber(number));
        }
    }
    match members.iter().find(|m| !placed.contains(m)) {
        Some(&missing) => Err(OrderError::MissingMember(missing)),
        None => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::wire::assert_wire_strings;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn id(n: u128) -> MemberId {
        MemberId::from_uuid(Uuid::from_u128(n))
    }

    fn candidate(n: u128, name: &str, joined: i64) -> Candidate {
        Candidate {
            member_id: id(n),
            name: name.into(),
            joined_at: DateTime::from_timestamp(joined, 0).unwrap(),
        }
    }

    fn sample() -> Vec<Candidate> {
        vec![
            candidate(3, "awa", 300),
            candidate(1, "Émile", 100),
            candidate(2, "Binta", 100),
            candidate(4, "Awa", 50),
            candidate(5, "Coumba", 200),
        ]
    }

    #[test]
    fn wire_strings_are_exact() {
        assert_wire_strings(
            OrderMethod::ALL,
            OrderMethod::as_str,
            &["random", "alphabetical", "join_date"],
        );
    }

    #[test]
    fn alphabetical_ignores_case_and_accents_then_uses_the_id() {
        let order = payout_order(&sample(), OrderMethod::Alphabetical, 0);
        assert_eq!(order, [id(3), id(4), id(2), id(5), id(1)]);
    }

    #[test]
    fn join_date_orders_by_joining_then_id() {
        let order = payout_order(&sample(), OrderMethod::JoinDate, 0);
        assert_eq!(order, [id(4), id(1), id(2), id(5), id(3)]);
    }

    #[test]
    fn random_draw_is_pinned_for_a_known_seed() {
        // The stored seed must give the same order forever: this pins the algorithm.
        let order = payout_order(&sample(), OrderMethod::Random, 42);
        assert_eq!(order, [id(4), id(1), id(3), id(5), id(2)]);
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let mut seen = [false; 7];
        for _ in 0..500 {
            let x = below(&mut rng, 7);
            seen[x as usize] = true;
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(below(&mut rng, 1), 0);
    }

    #[test]
    fn manual_order_must_place_each_member_once_with_ranks_1_to_n() {
        let members = [id(1), id(2), id(3)];
        assert_eq!(
            validate_manual_order(&members, &[(id(2), 1), (id(3), 3), (id(1), 2)]),
            Ok(())
        );
        let check = |order: &[(MemberId, u32)]| validate_manual_order(&members, order);
        assert_eq!(check(&[(id(9), 1)]), Err(OrderError::UnknownMember(id(9))));
        assert_eq!(
            check(&[(id(1), 1), (id(1), 2)]),
            Err(OrderError::DuplicateMember(id(1)))
        );
        assert_eq!(
            check(&[(id(1), 1), (id(2), 2)]),
            Err(OrderError::MissingMember(id(3)))
        );
        assert_eq!(
            check(&[(id(1), 1), (id(2), 1), (id(3), 3)]),
            Err(OrderError::DuplicateNumber(1))
        );
        let err = check(&[(id(1), 4)]).unwrap_err();
        assert_eq!(err, OrderError::NumberOutOfRange { number: 4, max: 3 });
        assert_eq!(err.to_string(), "le rang 4 est hors limites (de 1 à 3)");
        assert!(check(&[(id(1), 0)]).is_err());
        assert_eq!(validate_manual_order(&[], &[]), Ok(()));
    }

    fn candidates() -> impl Strategy<Value = Vec<Candidate>> {
        proptest::collection::hash_set(any::<u128>(), 0..40).prop_flat_map(|ids| {
            let n = ids.len();
            let ids: Vec<u128> = ids.into_iter().collect();
            proptest::collection::vec(("[a-zA-Zé ]{0,8}", 0i64..1_000), n).prop_map(move |rest| {
                ids.iter()
                    .zip(rest)
                    .map(|(&n, (name, joined))| candidate(n, &name, joined))
                    .collect()
            })
        })
    }

    proptest! {
        #[test]
        fn every_method_gives_a_permutation(
            cs in candidates(), seed in any::<u64>(), which in 0usize..3,
        ) {
            let method = OrderMethod::ALL[which];
            let mut order = payout_order(&cs, method, seed);
            let mut ids: Vec<MemberId> = cs.iter().map(|c| c.member_id).collect();
            order.sort();
            ids.sort();
            prop_assert_eq!(order, ids);
        }

        #[test]
        fn same_seed_same_order_whatever_the_input_order(cs in candidates(), seed in any::<u64>()) {
            let first = payout_order(&cs, OrderMethod::Random, seed);
            let mut reversed = cs.clone();
            reversed.reverse();
            prop_assert_eq!(payout_order(&reversed, OrderMethod::Random, seed), first);
        }

        #[test]
        fn generated_orders_pass_the_manual_check(cs in candidates(), seed in any::<u64>()) {
            let members: Vec<MemberId> = cs.iter().map(|c| c.member_id).collect();
            let order = payout_order(&cs, OrderMethod::Random, seed);
            let numbered: Vec<(MemberId, u32)> =
                order.into_iter().zip(1u32..).collect();
            prop_assert_eq!(validate_manual_order(&members, &numbered), Ok(()));
        }
    }
}
