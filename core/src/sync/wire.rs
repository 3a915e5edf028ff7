// Over 400 lines on purpose: the sync protocol's wire types and their CBOR forms in one place, the
// phone's and the server's contract.
//! The bodies of `POST /sync` on the wire.
//!
//! **Request, CBOR** (`application/cbor`): one map with text keys in this order:
//!
//! | key         | value                                                             |
//! |-------------|-------------------------------------------------------------------|
//! | `v`         | the client's [`PROTOCOL_VERSION`], unsigned integer               |
//! | `device`    | device id, 16-byte byte string                                    |
//! | `mutations` | array of byte strings, each one mutation's canonical CBOR ([`super::cbor`]) |
//! | `cursors`   | array of `[tontine id (16 bytes), cursor (unsigned)]` pairs       |
//!
//! Each mutation travels as the exact bytes that were hashed on the phone, so the server
//! hashes what it received and one undecodable mutation does not make the batch unreadable.
//!
//! **Request, JSON** (debugging): [`SyncRequest`] through serde, mutations as objects; the
//! server computes their canonical bytes itself ([`RawMutation::from_mutation`]).
//!
//! **Answer**: [`SyncResponse`] through serde, in CBOR or JSON as the client accepts.

use ciborium::Value;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::cbor::to_canonical_cbor;
use super::decode::{DecodeError, MAX_MUTATION_BYTES, from_cbor};
use super::mutation::{Mutation, PROTOCOL_VERSION};
use super::protocol::{ScopeCursor, SyncRequest, SyncResponse};
use super::reader::{Head, Malformed, Reader};
use crate::{DeviceId, TontineId};

/// Most mutations accepted in one request.
pub const MAX_BATCH: usize = 1_000;

/// Most scopes (tontines) one request may name.
pub const MAX_SCOPES: usize = 1_000;

/// Largest request body accepted (decompressed), checked before decoding.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024 * 1024;

/// Deepest nesting of a request (map → array → pair → id).
const REQUEST_RECURSION_LIMIT: usize = 4;

/// Most keys in a request's map (four are known; later versions may add a few).
const MAX_REQUEST_KEYS: u64 = 64;

/// How deep [`RawMutation::seq_hint`] follows a value it skips (a mutation is one flat map).
const SEQ_HINT_DEPTH: usize = 3;

/// Deepest nesting of an answer (map → scopes → scope → changes → change → row).
const RESPONSE_RECURSION_LIMIT: usize = 16;

/// One pushed mutation as received: its bytes, hashed as they are, decoded on demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMutation {
    bytes: Vec<u8>,
}

impl RawMutation {
    /// Bytes as received (they may not be a valid mutation).
    pub fn from_bytes(bytes: Vec<u8>) -> RawMutation {
        RawMutation { bytes }
    }

    /// The canonical bytes of a decoded mutation (the JSON path).
    pub fn from_mutation(m: &Mutation) -> RawMutation {
        RawMutation {
            bytes: to_canonical_cbor(m),
        }
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// SHA-256 of the bytes: the link the device's next mutation must carry.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(&self.bytes).into()
    }

    /// The mutation, strictly decoded.
    pub fn decode(&self) -> Result<Mutation, DecodeError> {
        from_cbor(&self.bytes)
    }

    /// The sequence number, read leniently from bytes that do not decode strictly, so that a
    /// mutation refused for good can still be answered and counted.
    pub fn seq_hint(&self) -> Option<u64> {
        if self.bytes.len() > MAX_MUTATION_BYTES {
            return None;
        }
        let mut reader = Reader::new(&self.bytes);
        let head = reader.head().ok()?;
        let entries = reader.check_count(head).ok()?;
        let Head::Map(_) = head else {
            return None;
        };
        for _ in 0..entries {
            let key = reader.text().ok()?;
            let value = reader.head().ok()?;
            match (key, value) {
                (Some("seq"), Head::Uint(n)) => return Some(n),
                _ => reader.skip_after(value, SEQ_HINT_DEPTH).ok()?,
            }
        }
        None
    }
}

/// A `POST /sync` request as the server handles it, whichever the body's format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireRequest {
    /// The client's protocol version.
    pub protocol_version: u64,
    /// The device sending.
    pub device_id: DeviceId,
    /// The pushed mutations, in the order sent.
    pub mutations: Vec<RawMutation>,
    /// One pull cursor per scope.
    pub cursors: Vec<ScopeCursor>,
}

impl From<&SyncRequest> for WireRequest {
    fn from(r: &SyncRequest) -> WireRequest {
        WireRequest {
            protocol_version: r.protocol_version.into(),
            device_id: r.device_id,
            mutations: r.mutations.iter().map(RawMutation::from_mutation).collect(),
            cursors: r.cursors.clone(),
        }
    }
}

/// Why a request body is unreadable. `Display` is a French message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// More than [`MAX_REQUEST_BYTES`].
    #[error("requête de synchronisation trop volumineuse ({len} octets, maximum {max})")]
    TooLarge {
        /// The size received.
        len: usize,
        /// The size accepted.
        max: usize,
    },
    /// More than [`MAX_BATCH`] mutations or [`MAX_SCOPES`] cursors.
    #[error("lot trop grand : {len} éléments pour « {field} » (maximum {max})")]
    BatchTooLarge {
        /// `mutations` or `cursors`.
        field: &'static str,
        /// The count received.
        len: usize,
        /// The count accepted.
        max: usize,
    },
    /// Not CBOR, truncated, followed by extra bytes, or nested too deep.
    #[error("requête de synchronisation illisible (CBOR invalide, tronqué ou trop imbriqué)")]
    Malformed,
    /// A field missing or of the wrong type.
    #[error("champ manquant ou invalide dans la requête de synchronisation : {0}")]
    InvalidField(&'static str),
}

impl RequestError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            RequestError::TooLarge { .. } => "sync_request_too_large",
            RequestError::BatchTooLarge { .. } => "sync_batch_too_large",
            RequestError::Malformed => "sync_request_malformed",
            RequestError::InvalidField(_) => "sync_request_invalid_field",
        }
    }

    /// The request field at fault, if one is.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            RequestError::BatchTooLarge { field, .. } | RequestError::InvalidField(field) => {
                Some(field)
            }
            _ => None,
        }
    }
}

impl WireRequest {
    /// Checks the counts that bound the work of one request.
    pub fn check_bounds(&self) -> Result<(), RequestError> {
        bounded("mutations", self.mutations.len(), MAX_BATCH)?;
        bounded("cursors", self.cursors.len(), MAX_SCOPES)
    }
}

fn bounded(field: &'static str, len: usize, max: usize) -> Result<(), RequestError> {
    if len > max {
        Err(RequestError::BatchTooLarge { field, len, max })
    } else {
        Ok(())
    }
}

/// The CBOR request body for `r` (see the module documentation).
pub fn encode_request(r: &SyncRequest) -> Vec<u8> {
    let mutations: Vec<Vec<u8>> = r.mutations.iter().map(to_canonical_cbor).collect();
    encode_raw_request(r.protocol_version, r.device_id, &mutations, &r.cursors)
}

/// The CBOR request body for mutations already in their canonical bytes (as a phone stores
/// them in its outbox): they travel exactly as stored, without being decoded again.
pub fn encode_raw_request(
    protocol_version: u32,
    device_id: DeviceId,
    mutations: &[Vec<u8>],
    cursors: &[ScopeCursor],
) -> Vec<u8> {
    let cursors = cursors
        .iter()
        .map(|c| {
            Value::Array(vec![
                Value::Bytes(c.tontine_id.as_uuid().as_bytes().to_vec()),
                Value::Integer(c.cursor.into()),
            ])
        })
        .collect();
    let mutations = mutations.iter().map(|m| Value::Bytes(m.clone())).collect();
    let value = Value::Map(vec![
        (text("v"), Value::Integer(protocol_version.into())),
        (
            text("device"),
            Value::Bytes(device_id.as_uuid().as_bytes().to_vec()),
        ),
        (text("mutations"), Value::Array(mutations)),
        (text("cursors"), Value::Array(cursors)),
    ]);
    write(&value)
}

/// Reads a CBOR request body: bounded in size, nesting and counts, strict in its fields.
///
/// The body is read head by head ([`Reader`]) straight into the request's fields: a count or a
/// length is checked (against [`MAX_BATCH`], [`MAX_SCOPES`] and the bytes that remain) before
/// anything is read or reserved for it, and an unknown key's value is skipped without being
/// built, so an 8 MiB body never costs more than its mutations' bytes. The mutations inside
/// are only split out here; each is decoded on its own.
pub fn decode_request(bytes: &[u8]) -> Result<WireRequest, RequestError> {
    if bytes.len() > MAX_REQUEST_BYTES {
        return Err(RequestError::TooLarge {
            len: bytes.len(),
            max: MAX_REQUEST_BYTES,
        });
    }
    let mut reader = Reader::new(bytes);
    let head = reader.head()?;
    let Head::Map(_) = head else {
        reader.skip_after(head, REQUEST_RECURSION_LIMIT)?;
        return Err(if reader.is_empty() {
            RequestError::InvalidField("v")
        } else {
            RequestError::Malformed
        });
    };
    let entries = reader.check_count(head)?;
    if entries > MAX_REQUEST_KEYS {
        return Err(RequestError::Malformed);
    }
    let (mut version, mut device, mut mutations, mut cursors) = (None, None, None, None);
    for _ in 0..entries {
        let Some(key) = reader.text()? else {
            return Err(RequestError::Malformed);
        };
        match key {
            "v" => version = Some(uint(&mut reader)?.ok_or(RequestError::InvalidField("v"))?),
            "device" => {
                device = Some(uuid(&mut reader)?.ok_or(RequestError::InvalidField("device"))?);
            }
            "mutations" => mutations = Some(raw_mutations(&mut reader)?),
            "cursors" => cursors = Some(scope_cursors(&mut reader)?),
            // Unknown keys are skipped unread, so a later version may add optional fields.
            _ => reader.skip(REQUEST_RECURSION_LIMIT - 1)?,
        }
    }
    if !reader.is_empty() {
        return Err(RequestError::Malformed);
    }
    let request = WireRequest {
        protocol_version: version.ok_or(RequestError::InvalidField("v"))?,
        device_id: DeviceId::from(device.ok_or(RequestError::InvalidField("device"))?),
        mutations: mutations.unwrap_or_default(),
        cursors: cursors.unwrap_or_default(),
    };
    request.check_bounds()?;
    Ok(request)
}

impl From<Malformed> for RequestError {
    fn from(_: Malformed) -> Self {
        RequestError::Malformed
    }
}

/// The head of an array of at most `max` items, checked before any item is read.
fn array(reader: &mut Reader<'_>, field: &'static str, max: usize) -> Result<u64, RequestError> {
    let head = reader.head()?;
    let Head::Array(len) = head else {
        return Err(RequestError::InvalidField(field));
    };
    bounded(field, usize::try_from(len).unwrap_or(usize::MAX), max)?;
    Ok(reader.check_count(head)?)
}

fn raw_mutations(reader: &mut Reader<'_>) -> Result<Vec<RawMutation>, RequestError> {
    let len = array(reader, "mutations", MAX_BATCH)?;
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    for _ in 0..len {
        let Head::Bytes(n) = reader.head()? else {
            return Err(RequestError::InvalidField("mutations"));
        };
        out.push(RawMutation::from_bytes(reader.string_bytes(n)?.to_vec()));
    }
    Ok(out)
}

fn scope_cursors(reader: &mut Reader<'_>) -> Result<Vec<ScopeCursor>, RequestError> {
    let len = array(reader, "cursors", MAX_SCOPES)?;
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    for _ in 0..len {
        let Head::Array(2) = reader.head()? else {
            return Err(RequestError::InvalidField("cursors"));
        };
        let (Some(id), Some(cursor)) = (uuid(reader)?, uint(reader)?) else {
            return Err(RequestError::InvalidField("cursors"));
        };
        out.push(ScopeCursor {
            tontine_id: TontineId::from(id),
            cursor,
        });
    }
    Ok(out)
}

/// An unsigned integer, or `None` (the item left unread) if the next item is something else.
fn uint(reader: &mut Reader<'_>) -> Result<Option<u64>, Malformed> {
    Ok(match reader.head()? {
        Head::Uint(n) => Some(n),
        _ => None,
    })
}

/// A 16-byte byte string as a UUID, or `None`.
fn uuid(reader: &mut Reader<'_>) -> Result<Option<Uuid>, Malformed> {
    Ok(match reader.head()? {
        Head::Bytes(16) => <[u8; 16]>::try_from(reader.string_bytes(16)?)
            .ok()
            .map(Uuid::from_bytes),
        _ => None,
    })
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn write<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    match ciborium::into_writer(value, &mut out) {
        Ok(()) => out,
        // Writing into a `Vec` never fails, and these values hold only integers, text, byte
        // strings, arrays and maps with text keys.
        Err(err) => unreachable!("encoding into memory failed: {err}"),
    }
}

/// The CBOR answer body.
pub fn encode_response(r: &SyncResponse) -> Vec<u8> {
    write(r)
}

/// Reads a CBOR answer (on the phone), nesting bounded.
pub fn decode_response(bytes: &[u8]) -> Result<SyncResponse, DecodeError> {
    decode_bounded(bytes)
}

fn decode_bounded<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    let mut rest = bytes;
    let value = ciborium::de::from_reader_with_recursion_limit(&mut rest, RESPONSE_RECURSION_LIMIT)
        .map_err(|_| DecodeError::Malformed)?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(DecodeError::Malformed)
    }
}

/// The version this code speaks, for callers that compare.
pub fn speaks(version: u64) -> bool {
    version == u64::from(PROTOCOL_VERSION)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::sync::fixtures::{mutation, payment};
    use crate::sync::mutation::ZERO_HASH;
    use crate::sync::protocol::{MutationOutcome, Outcome};
    use proptest::prelude::*;

    fn request(mutations: Vec<Mutation>) -> SyncRequest {
        SyncRequest {
            protocol_version: PROTOCOL_VERSION,
            device_id: DeviceId::new(),
            mutations,
            cursors: vec![ScopeCursor {
                tontine_id: TontineId::new(),
                cursor: 42,
            }],
        }
    }

    #[test]
    fn the_cbor_request_carries_each_mutation_as_its_hashed_bytes() {
        let device = DeviceId::new();
        let m = payment(device, 1, ZERO_HASH);
        let r = request(vec![m.clone()]);
        let decoded = decode_request(&encode_request(&r)).unwrap();
        assert_eq!(decoded, WireRequest::from(&r));
        assert_eq!(decoded.mutations[0].decode().unwrap(), m);
        assert_eq!(decoded.mutations[0].hash(), crate::sync::mutation_hash(&m));
        assert_eq!(decoded.mutations[0].seq_hint(), Some(1));
    }

    #[test]
    fn stored_bytes_encode_like_their_mutations() {
        let device = DeviceId::new();
        let r = request(vec![payment(device, 1, ZERO_HASH)]);
        let raw: Vec<Vec<u8>> = r.mutations.iter().map(to_canonical_cbor).collect();
        assert_eq!(
            encode_raw_request(r.protocol_version, r.device_id, &raw, &r.cursors),
            encode_request(&r)
        );
    }

    #[test]
    fn garbage_truncation_and_bombs_are_refused() {
        let bytes = encode_request(&request(vec![payment(DeviceId::new(), 1, ZERO_HASH)]));
        assert_eq!(
            decode_request(&bytes[..bytes.len() - 3]),
            Err(RequestError::Malformed)
        );
        assert_eq!(
            decode_request(b"\xff\x00garbage"),
            Err(RequestError::Malformed)
        );
        // 64 nested arrays.
        let bomb = [vec![0x81u8; 64], vec![0x00]].concat();
        assert_eq!(decode_request(&bomb), Err(RequestError::Malformed));
        // An array that declares 2^62 items and holds none: refused by its count, unread.
        let huge = [0xa1, 0x69]
            .iter()
            .copied()
            .chain(*b"mutations")
            .chain([0x9b, 0x40, 0, 0, 0, 0, 0, 0, 0])
            .collect::<Vec<u8>>();
        assert_eq!(
            decode_request(&huge).unwrap_err().code(),
            "sync_batch_too_large"
        );
        // Within the count, but more items declared than bytes left.
        let short = [0xa1, 0x69]
            .iter()
            .copied()
            .chain(*b"mutations")
            .chain([0x99, 0x03, 0xe8, 0x40])
            .collect::<Vec<u8>>();
        assert_eq!(decode_request(&short), Err(RequestError::Malformed));
        let too_big = vec![0u8; MAX_REQUEST_BYTES + 1];
        assert_eq!(
            decode_request(&too_big).unwrap_err().code(),
            "sync_request_too_large"
        );
    }

    #[test]
    fn unknown_keys_are_skipped_unbuilt_and_bounded_in_depth() {
        let device = DeviceId::new();
        let r = request(vec![payment(device, 1, ZERO_HASH)]);
        let value: Value = ciborium::from_reader(encode_request(&r).as_slice()).unwrap();
        let Value::Map(mut entries) = value else {
            unreachable!()
        };
        // A later version's optional field: a long array of small items, skipped.
        entries.push((
            text("x"),
            Value::Array(vec![Value::Integer(0.into()); 100_000]),
        ));
        let wide = write(&Value::Map(entries.clone()));
        assert_eq!(decode_request(&wide).unwrap(), WireRequest::from(&r));
        // Nested deeper than a request ever is.
        entries.push((text("y"), write_nested(8)));
        let deep = write(&Value::Map(entries));
        assert_eq!(decode_request(&deep), Err(RequestError::Malformed));
    }

    fn write_nested(depth: usize) -> Value {
        (0..depth).fold(Value::Integer(0.into()), |v, _| Value::Array(vec![v]))
    }

    #[test]
    fn oversized_batches_and_bad_fields_name_the_field() {
        let device = DeviceId::new();
        let mut r = request(Vec::new());
        r.mutations = (1..=MAX_BATCH as u64 + 1)
            .map(|seq| payment(device, seq, [1; 32]))
            .collect();
        let err = decode_request(&encode_request(&r)).unwrap_err();
        assert_eq!(err.field(), Some("mutations"));
        assert_eq!(err.code(), "sync_batch_too_large");
        let no_device = write(&Value::Map(vec![(text("v"), Value::Integer(1.into()))]));
        assert_eq!(
            decode_request(&no_device),
            Err(RequestError::InvalidField("device"))
        );
    }

    #[test]
    fn an_undecodable_mutation_still_gives_its_seq() {
        let raw = RawMutation::from_bytes(write(&Value::Map(vec![
            (text("v"), Value::Integer(9.into())),
            (text("seq"), Value::Integer(7.into())),
        ])));
        assert!(raw.decode().is_err());
        assert_eq!(raw.seq_hint(), Some(7));
        assert_eq!(RawMutation::from_bytes(vec![0xff]).seq_hint(), None);
    }

    #[test]
    fn answers_survive_cbor() {
        let r = SyncResponse {
            outcomes: vec![MutationOutcome {
                seq: 1,
                outcome: Outcome::Applied,
            }],
            ..SyncResponse::upgrade_required()
        };
        assert_eq!(decode_response(&encode_response(&r)).unwrap(), r);
        assert_eq!(decode_response(b"\x00\x00"), Err(DecodeError::Malformed));
        assert!(speaks(u64::from(PROTOCOL_VERSION)) && !speaks(2));
    }

    proptest! {
        #[test]
        fn requests_round_trip(mutations in prop::collection::vec(mutation(), 0..6)) {
            let r = request(mutations);
            let decoded = decode_request(&encode_request(&r)).unwrap();
            prop_assert_eq!(&decoded, &WireRequest::from(&r));
            for (raw, m) in decoded.mutations.iter().zip(&r.mutations) {
                prop_assert_eq!(&raw.decode().unwrap(), m);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(r) = decode_request(&bytes) {
                prop_assert!(r.mutations.len() <= MAX_BATCH && r.cursors.len() <= MAX_SCOPES);
            }
            prop_assert!(decode_response(&bytes).is_err() || !bytes.is_empty());
            let raw = RawMutation::from_bytes(bytes);
            if let Ok(m) = raw.decode() {
                prop_assert_eq!(raw.seq_hint(), Some(m.seq));
            }
        }
    }
}
