//! Prints what this crate makes of host messages, in the verdict lines of the guest
//! driver's fuzz replay (`guest/linux/fuzz/host_message.c` built with `PW_FUZZ_REPLAY`),
//! so that `scripts/fuzz-guest.sh diff` can check that the C parser and this crate agree:
//! what one accepts the other decodes to the same values, what one refuses the other
//! refuses.
//!
//! ```sh
//! cargo run -p proxy-wifi-protocol --example host_message_verdict -- KIND FILE...
//! ```
//!
//! KIND: 1 scan answer, 2 connect answer, 3 disconnect answer, 4 disconnected
//! notification, 5 signal notification, 6 scan-results notification. Each line is
//! `FILE<TAB>VERDICT`; the verdict is `cut` (not a whole message), `reject`, or `accept`
//! with the decoded values.

use std::process::ExitCode;

use proxy_wifi_protocol::{Decoded, GuestAbi, GuestBound, HEADER_LEN, ScanResponse};

/// The guest driver's own cap on a host message's body.
const GUEST_MAX_BODY_LEN: u32 = 512 * 1024;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(kind) = args.next().and_then(|k| k.parse::<u8>().ok()).filter(|k| (1..=6).contains(k)) else {
        eprintln!("usage: host_message_verdict KIND(1-6) FILE...");
        return ExitCode::from(2);
    };
    for file in args {
        let bytes = match std::fs::read(&file) {
            Ok(bytes) => bytes,
            Err(error) => {
                eprintln!("{file}: {error}");
                return ExitCode::from(2);
            }
        };
        println!("{file}\t{}", verdict(kind, &bytes));
    }
    ExitCode::SUCCESS
}

fn verdict(kind: u8, bytes: &[u8]) -> String {
    if bytes.len() < HEADER_LEN {
        return "cut".into();
    }
    let size = u32::from_le_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    if size > GUEST_MAX_BODY_LEN {
        return "reject".into();
    }
    let message = match GuestBound::decode_frame_as(bytes, GuestAbi::Current) {
        Ok(Decoded::Complete { message, .. }) => message,
        Ok(Decoded::Incomplete { .. }) => return "cut".into(),
        Err(_) => return "reject".into(),
    };
    match (kind, message) {
        (1 | 6, GuestBound::ScanResponse(scan)) => scan_verdict(&scan),
        (2, GuestBound::ConnectResponse(c)) => {
            format!("accept connect status={} bssid={} session={}", c.result_code.0, hex(&c.bssid.0), c.session_id.0)
        }
        (3, GuestBound::DisconnectResponse) => "accept disconnect-answer".into(),
        (4, GuestBound::NotifDisconnected(n)) => format!("accept disconnected session={}", n.session_id.0),
        (5, GuestBound::NotifSignalQuality(n)) => format!("accept signal dbm={}", n.signal_dbm),
        _ => "reject".into(),
    }
}

fn scan_verdict(scan: &ScanResponse) -> String {
    let mut line = format!("accept scan complete={} n={}", u8::from(scan.scan_complete), scan.bss.len());
    for bss in &scan.bss {
        line.push_str(&format!(
            " {}/{}/{}/{}/{}/{}/{:08x}",
            hex(&bss.bssid.0),
            bss.capabilities.0,
            bss.rssi_dbm,
            bss.beacon_interval,
            bss.frequency_khz,
            bss.ies.len(),
            fnv(&bss.ies)
        ));
    }
    line
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// FNV-1a, as the C replay hashes the IEs.
fn fnv(bytes: &[u8]) -> u32 {
    bytes.iter().fold(2_166_136_261u32, |h, &b| (h ^ u32::from(b)).wrapping_mul(16_777_619))
}
