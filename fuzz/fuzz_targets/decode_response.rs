//! Fuzzes what a guest-side client reads from a host: framing + response decoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxy_wifi_protocol::{Decoded, GuestBound};

fuzz_target!(|data: &[u8]| {
    if let Ok(Decoded::Complete { message, consumed }) = GuestBound::decode_frame(data) {
        assert!(consumed <= data.len());
        let bytes = message.to_bytes();
        match GuestBound::decode_frame(&bytes) {
            Ok(Decoded::Complete { message: again, .. }) => assert_eq!(again, message),
            other => panic!("re-encoded message does not decode: {other:?}"),
        }
    }
});
