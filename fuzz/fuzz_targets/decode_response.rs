//! Fuzzes what a guest-side client reads from a host: framing + response decoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxy_wifi_protocol::{Decoded, Direction, decode_frame};

fuzz_target!(|data: &[u8]| {
    if let Ok(Decoded::Complete { message, consumed }) = decode_frame(data, Direction::HostToGuest) {
        assert!(consumed <= data.len());
        let bytes = message.to_bytes();
        match decode_frame(&bytes, Direction::HostToGuest) {
            Ok(Decoded::Complete { message: again, .. }) => assert_eq!(again, message),
            other => panic!("re-encoded message does not decode: {other:?}"),
        }
    }
});
