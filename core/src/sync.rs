//! The sync protocol's shared types: mutations, their canonical CBOR encoding and hash chain.
//!
//! A phone records [`Mutation`]s offline, numbers them per device and chains them by the
//! SHA-256 of their canonical CBOR ([`to_canonical_cbor`]); the server decodes them strictly
//! ([`from_cbor`]), checks the chain ([`verify_chain`]) and recomputes the member's
//! [`receipt_code`].

pub mod cbor;
pub mod chain;
pub mod checksum;
pub mod decode;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod mutation;
pub mod protocol;
mod reader;
pub mod wire;

pub use cbor::to_canonical_cbor;
pub use chain::{ChainError, mutation_hash, receipt_code, verify_chain};
pub use checksum::{row_digest, scope_checksum};
pub use decode::{DecodeError, MAX_MUTATION_BYTES, from_cbor};
pub use mutation::{MAX_REASON_CHARS, Mutation, MutationKind, PROTOCOL_VERSION, ZERO_HASH};
pub use protocol::{
    Change, Entity, MutationOutcome, Outcome, PageStatus, ScopeChanges, ScopeCursor, SyncRequest,
    SyncResponse,
};
pub use wire::{
    MAX_BATCH, MAX_REQUEST_BYTES, RawMutation, RequestError, WireRequest, decode_request,
    decode_response, encode_raw_request, encode_request, encode_response,
};
