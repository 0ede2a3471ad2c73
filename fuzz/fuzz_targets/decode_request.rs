//! Fuzzes what a host reads from a guest: framing + request decoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxy_wifi_protocol::{Decoded, HostBound};

fuzz_target!(|data: &[u8]| {
    if let Ok(Decoded::Complete { message, consumed }) = HostBound::decode_frame(data) {
        assert!(consumed <= data.len());
        // A decoded request re-encodes to a valid request of the same operation.
        let bytes = message.to_bytes();
        match HostBound::decode_frame(&bytes) {
            Ok(Decoded::Complete { message: again, .. }) => assert_eq!(again, message),
            other => panic!("re-encoded request does not decode: {other:?}"),
        }
    }
});
