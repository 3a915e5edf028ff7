//! `decode_response` (the phone reading the server's answer) on arbitrary bytes: no panic, and
//! an answer it accepts survives being encoded and decoded again unchanged.

#![no_main]

use kobiri_core::sync::{decode_response, encode_response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(response) = decode_response(data) {
        let again = decode_response(&encode_response(&response));
        assert_eq!(
            again.as_ref(),
            Ok(&response),
            "an answer does not survive a round trip"
        );
    }
});
