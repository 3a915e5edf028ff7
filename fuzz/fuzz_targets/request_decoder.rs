//! `decode_request` on arbitrary bytes, then every pushed mutation decoded and its sequence
//! number read leniently, as the server does: nothing may panic.

#![no_main]

use kobiri_core::sync::{decode_request, to_canonical_cbor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = decode_request(data) {
        for raw in &request.mutations {
            let _ = raw.hash();
            let hint = raw.seq_hint();
            if let Ok(m) = raw.decode() {
                assert_eq!(to_canonical_cbor(&m), raw.bytes());
                assert_eq!(hint, Some(m.seq), "seq_hint disagrees with the decoded seq");
            }
        }
    }
});
