//! `from_cbor` on arbitrary bytes: it must never panic, and whatever it accepts must be the
//! canonical encoding of what it decoded (the server hashes the bytes it received).

#![no_main]

use kobiri_core::sync::{from_cbor, to_canonical_cbor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = from_cbor(data) {
        assert_eq!(
            to_canonical_cbor(&m),
            data,
            "a decoded mutation does not re-encode to its bytes"
        );
    }
});
