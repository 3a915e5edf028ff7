//! `POST /sync` request and answer: pushed mutations and their outcomes, pulled changes per scope.
//!
//! One round trip does both directions. Serde gives the JSON (debugging) and CBOR
//! (`application/cbor`, the default) bodies; the mutations inside keep their own fields, and
//! their hashes are always computed on their canonical CBOR ([`super::to_canonical_cbor`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::mutation::{Mutation, PROTOCOL_VERSION};
use crate::wire::wire_enum;
use crate::{DeviceId, TontineId};

/// Where a device's copy of one scope (a tontine) stands: the last server change it holds.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeCursor {
    /// The scope.
    pub tontine_id: TontineId,
    /// The server's change sequence up to which the device is current (0: nothing yet).
    pub cursor: u64,
}

/// The body of `POST /sync`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// The client's [`PROTOCOL_VERSION`].
    pub protocol_version: u32,
    /// The device sending.
    pub device_id: DeviceId,
    /// Mutations to push, in the device's sequence order.
    pub mutations: Vec<Mutation>,
    /// One pull cursor per scope the device holds.
    pub cursors: Vec<ScopeCursor>,
}

/// What became of one pushed mutation.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SyncOutcome))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Applied now.
    Applied,
    /// Applied earlier (the answer was lost and the phone retried): a success.
    Duplicate,
    /// Invalid in itself, refused for good.
    Rejected {
        /// A stable machine-readable code.
        code: String,
        /// A French message for the collector.
        message: String,
    },
    /// Kept, but for the treasurer to resolve (e.g. a payment for a session already closed).
    Flagged {
        /// Why, in French.
        reason: String,
    },
}

impl Outcome {
    /// True for `applied` and `duplicate`.
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Applied | Outcome::Duplicate)
    }
}

/// The outcome of the mutation numbered `seq` of the requesting device.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MutationOutcome {
    /// The mutation's number on its device.
    pub seq: u64,
    /// What became of it.
    pub outcome: Outcome,
}

wire_enum! {
    /// Where a page of changes leaves a scope.
    PageStatus("l'état de la synchronisation") {
        /// More changes follow: sync again with the new cursor.
        HasMore => "has_more",
        /// The device now holds everything.
        UpToDate => "up_to_date",
        /// The cursor is too old: drop the scope's copy (never unsynced cash) and pull again.
        MustReset => "must_reset",
    }
}

wire_enum! {
    /// The kind of row a change carries.
    Entity("le type d'enregistrement") {
        /// A tontine.
        Tontine => "tontine",
        /// A membership.
        Member => "member",
        /// A session.
        Session => "session",
        /// A payment.
        Payment => "payment",
        /// A payout.
        Passage => "passage",
    }
}

/// One row changed on the server, or a tombstone for a row deleted or hidden.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SyncChange))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The server's change sequence number (orders everything, never the phone's clock).
    pub change_seq: u64,
    /// The kind of row.
    pub entity: Entity,
    /// The row's id.
    pub id: Uuid,
    /// The row's fields as text, or `None` for a tombstone.
    pub row: Option<BTreeMap<String, String>>,
}

/// One page of changes for one scope.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeChanges {
    /// The scope.
    pub tontine_id: TontineId,
    /// The changes after the request's cursor, in `change_seq` order.
    pub changes: Vec<Change>,
    /// Whether more follow, the device is current, or it must reset.
    pub status: PageStatus,
    /// The scope's checksum once the device holds everything (lowercase hex), to verify its copy.
    pub checksum: Option<String>,
    /// The cursor to send next time.
    pub cursor: u64,
}

/// The answer to `POST /sync`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// The server's [`PROTOCOL_VERSION`].
    pub protocol_version: u32,
    /// The client is too old: nothing was applied; upgrade, keeping the outbox.
    pub upgrade_required: bool,
    /// One outcome per pushed mutation handled, in order.
    pub outcomes: Vec<MutationOutcome>,
    /// The changes per scope.
    pub scopes: Vec<ScopeChanges>,
}

impl SyncResponse {
    /// The answer to a client that must upgrade first: nothing applied, nothing pulled.
    pub fn upgrade_required() -> SyncResponse {
        SyncResponse {
            protocol_version: PROTOCOL_VERSION,
            upgrade_required: true,
            outcomes: Vec::new(),
            scopes: Vec::new(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::sync::fixtures::mutation;
    use crate::wire::assert_wire_strings;
    use proptest::prelude::*;

    fn cbor_round_trip<T: Serialize + serde::de::DeserializeOwned>(value: &T) -> T {
        let mut bytes = Vec::new();
        ciborium::into_writer(value, &mut bytes).unwrap();
        ciborium::from_reader(bytes.as_slice()).unwrap()
    }

    fn response() -> SyncResponse {
        let row = BTreeMap::from([("name".to_owned(), "Tontine des femmes".to_owned())]);
        SyncResponse {
            protocol_version: PROTOCOL_VERSION,
            upgrade_required: false,
            outcomes: vec![
                MutationOutcome {
                    seq: 1,
                    outcome: Outcome::Applied,
                },
                MutationOutcome {
                    seq: 2,
                    outcome: Outcome::Duplicate,
                },
                MutationOutcome {
                    seq: 3,
                    outcome: Outcome::Rejected {
                        code: "validation_error".to_owned(),
                        message: "montant invalide".to_owned(),
                    },
                },
                MutationOutcome {
                    seq: 4,
                    outcome: Outcome::Flagged {
                        reason: "séance clôturée".to_owned(),
                    },
                },
            ],
            scopes: vec![ScopeChanges {
                tontine_id: TontineId::new(),
                changes: vec![
                    Change {
                        change_seq: 7,
                        entity: Entity::Tontine,
                        id: Uuid::now_v7(),
                        row: Some(row),
                    },
                    Change {
                        change_seq: 8,
                        entity: Entity::Member,
                        id: Uuid::now_v7(),
                        row: None,
                    },
                ],
                status: PageStatus::UpToDate,
                checksum: Some("ab".repeat(32)),
                cursor: 8,
            }],
        }
    }

    #[test]
    fn page_statuses_and_entities_have_their_wire_strings() {
        assert_wire_strings(
            PageStatus::ALL,
            PageStatus::as_str,
            &["has_more", "up_to_date", "must_reset"],
        );
        assert_wire_strings(
            Entity::ALL,
            Entity::as_str,
            &["tontine", "member", "session", "payment", "passage"],
        );
    }

    #[test]
    fn outcomes_carry_their_tag_in_json() {
        let json = serde_json::to_value(response()).unwrap();
        let outcomes = &json["outcomes"];
        assert_eq!(outcomes[0]["outcome"]["outcome"], "applied");
        assert_eq!(outcomes[1]["outcome"]["outcome"], "duplicate");
        assert_eq!(outcomes[2]["outcome"]["code"], "validation_error");
        assert_eq!(outcomes[3]["outcome"]["reason"], "séance clôturée");
        assert!(json["scopes"][0]["changes"][1]["row"].is_null());
        assert_eq!(
            response()
                .outcomes
                .iter()
                .filter(|o| o.outcome.is_success())
                .count(),
            2
        );
    }

    #[test]
    fn responses_survive_json_and_cbor() {
        let r = response();
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<SyncResponse>(&json).unwrap(), r);
        assert_eq!(cbor_round_trip(&r), r);
        let up = SyncResponse::upgrade_required();
        assert!(up.upgrade_required && up.outcomes.is_empty() && up.scopes.is_empty());
    }

    proptest! {
        #[test]
        fn requests_survive_json_and_cbor(
            mutations in prop::collection::vec(mutation(), 0..4),
            cursor in any::<u64>(),
        ) {
            let request = SyncRequest {
                protocol_version: PROTOCOL_VERSION,
                device_id: DeviceId::new(),
                mutations,
                cursors: vec![ScopeCursor { tontine_id: TontineId::new(), cursor }],
            };
            let json = serde_json::to_string(&request).unwrap();
            prop_assert_eq!(&serde_json::from_str::<SyncRequest>(&json).unwrap(), &request);
            prop_assert_eq!(cbor_round_trip(&request), request);
        }
    }
}
