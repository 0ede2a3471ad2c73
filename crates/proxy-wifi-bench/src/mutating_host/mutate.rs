//! The answers and notifications of the mutating host, as bytes: the correct ones (built
//! with the protocol crate) and the mutations applied to them. No I/O here.

use std::time::Duration;

use proxy_wifi::protocol::{
    Bssid, Capabilities, ConnectRequest, ConnectResponse, DisconnectedNotification, GuestBound, HEADER_LEN, RsnElement,
    ScanResponseBuilder, SessionId, SignalQualityNotification, Ssid, StatusCode, push_rsn_element, push_ssid_element,
};
use rand::Rng;

/// The guest driver's cap on an answer's body: a header announcing more is refused.
pub const GUEST_MAX_BODY: u32 = 512 * 1024;

/// Operation codes (raw, so that wrong ones can be written too).
pub mod op {
    /// The host could not process a request.
    pub const INVALID: u8 = 0;
    /// Scan request.
    pub const SCAN_REQUEST: u8 = 1;
    /// Scan response / scan-results notification.
    pub const SCAN_RESPONSE: u8 = 2;
    /// Connect request.
    pub const CONNECT_REQUEST: u8 = 3;
    /// Connect response.
    pub const CONNECT_RESPONSE: u8 = 4;
    /// Disconnect request.
    pub const DISCONNECT_REQUEST: u8 = 5;
    /// Disconnect response.
    pub const DISCONNECT_RESPONSE: u8 = 6;
    /// Disconnected notification.
    pub const NOTIF_DISCONNECTED: u8 = 7;
    /// Signal quality notification.
    pub const NOTIF_SIGNAL_QUALITY: u8 = 8;
}

/// Security of a listed network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Open.
    Open,
    /// WPA2-PSK (RSN element with PSK).
    Wpa2,
    /// WPA3-SAE.
    Sae,
}

/// A network the mutating host lists.
#[derive(Debug, Clone, Copy)]
pub struct Network {
    /// SSID.
    pub ssid: &'static str,
    /// BSSID.
    pub bssid: [u8; 6],
    /// Channel centre frequency in MHz.
    pub freq_mhz: u32,
    /// Signal in dBm.
    pub rssi_dbm: i32,
    /// Security.
    pub security: Security,
}

/// The networks of every correct scan answer.
pub const NETWORKS: [Network; 4] = [
    Network {
        ssid: "HostileOpen",
        bssid: [0x02, 0, 0, 0, 0xb0, 0x01],
        freq_mhz: 2412,
        rssi_dbm: -45,
        security: Security::Open,
    },
    Network {
        ssid: "HostileWpa2",
        bssid: [0x02, 0, 0, 0, 0xb0, 0x02],
        freq_mhz: 2437,
        rssi_dbm: -55,
        security: Security::Wpa2,
    },
    Network {
        ssid: "HostileOpen5",
        bssid: [0x02, 0, 0, 0, 0xb0, 0x03],
        freq_mhz: 5180,
        rssi_dbm: -65,
        security: Security::Open,
    },
    Network {
        ssid: "HostileSae",
        bssid: [0x02, 0, 0, 0, 0xb0, 0x04],
        freq_mhz: 5745,
        rssi_dbm: -70,
        security: Security::Sae,
    },
];

/// Offsets in a whole scan-response frame (header included).
mod scan_off {
    use super::HEADER_LEN;
    pub const COMPLETE: usize = HEADER_LEN;
    pub const NUM_BSS: usize = HEADER_LEN + 1;
    pub const TOTAL_SIZE: usize = HEADER_LEN + 5;
    pub const ENTRIES: usize = HEADER_LEN + 9;
    pub const ENTRY_LEN: usize = 26;
    pub const FREQ: usize = 14;
    pub const IE_SIZE: usize = 18;
    pub const IE_OFFSET: usize = 22;
}

fn get_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// The body size a frame's header announces.
pub fn header_size(frame: &[u8]) -> u32 {
    get_u32(frame, 1)
}

fn set_header_size(frame: &mut [u8], size: u32) {
    put_u32(frame, 1, size);
}

/// The correct scan answer: every listed network (or those of the targeted SSID).
pub fn scan_answer(ssid: Option<&[u8]>, complete: bool) -> Vec<u8> {
    let mut builder = ScanResponseBuilder::new();
    for n in NETWORKS.iter().filter(|n| ssid.is_none_or(|s| s == n.ssid.as_bytes())) {
        let capabilities =
            if n.security == Security::Open { Capabilities::ESS } else { Capabilities::ESS | Capabilities::PRIVACY };
        builder.push_with(Bssid(n.bssid), capabilities, n.rssi_dbm, 100, n.freq_mhz * 1000, |ies| {
            push_ssid_element(ies, &Ssid::new(n.ssid.as_bytes()).expect("short SSID"));
            // Supported rates (1, 2, 5.5, 11, 6, 9, 12, 18 Mb/s).
            ies.extend_from_slice(&[1, 8, 0x82, 0x84, 0x8b, 0x96, 0x0c, 0x12, 0x18, 0x24]);
            match n.security {
                Security::Open => {}
                Security::Wpa2 => push_rsn_element(ies, &RsnElement::wpa2_psk()),
                Security::Sae => push_rsn_element(ies, &RsnElement::wpa3_sae()),
            }
        });
    }
    let mut out = Vec::new();
    builder.encode(complete, &mut out);
    out
}

/// The network a connect request names, if listed (the BSSID must match when given).
pub fn network_for(request: &ConnectRequest) -> Option<&'static Network> {
    NETWORKS.iter().find(|n| {
        n.ssid.as_bytes() == request.ssid.as_bytes() && (request.bssid.is_zero() || request.bssid.0 == n.bssid)
    })
}

/// The correct connect answer: success with the network's BSSID when it is listed,
/// unspecified failure otherwise.
pub fn connect_answer(request: &ConnectRequest, session: u64) -> Vec<u8> {
    let (result_code, bssid) = match network_for(request) {
        Some(n) => (StatusCode::SUCCESS, Bssid(n.bssid)),
        None => (StatusCode::UNSPECIFIED_FAILURE, Bssid::ZERO),
    };
    GuestBound::ConnectResponse(ConnectResponse { result_code, bssid, session_id: SessionId(session) }).to_bytes()
}

/// The correct disconnect answer (empty body).
pub fn disconnect_answer() -> Vec<u8> {
    GuestBound::DisconnectResponse.to_bytes()
}

/// The answer to a request that could not be parsed: an empty INVALID message.
pub fn invalid_answer() -> Vec<u8> {
    GuestBound::Invalid.to_bytes()
}

/// What was done to a correct answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mutation {
    /// Left as it is.
    Valid,
    /// The header's size is wrong (body unchanged).
    HeaderSize,
    /// The header's version is not 0x0001.
    HeaderVersion,
    /// The header's operation is another one.
    WrongOperation,
    /// An empty INVALID answer (valid message, "could not process").
    InvalidAnswer,
    /// The header announces more than 512 KiB; part of a body follows, then close.
    Oversized,
    /// A prefix of the answer, then close.
    Truncated,
    /// Nothing for 1-25 s, then the correct answer (the guest gives up at 20 s).
    Stall,
    /// Random bytes (half of the time behind a plausible header).
    Garbage,
    /// Extra bytes after the body, counted in the header's size.
    TrailingBytes,
    /// Scan: `num_bss` wrong.
    NumBss,
    /// Scan: `total_size` wrong.
    TotalSize,
    /// Scan: an entry's `ie_offset` out of range or pointing elsewhere.
    IeOffset,
    /// Scan: an entry's `ie_size` out of range.
    IeSize,
    /// Scan: bytes of the IEs flipped.
    IeBody,
    /// Scan: the length byte of an IE wrong.
    IeLength,
    /// Scan: one BSSID twice.
    DuplicateBss,
    /// Scan: a frequency the guest does not know.
    BadFrequency,
    /// Scan: `scan_complete = 0` (valid; a completing notification may follow).
    ScanIncomplete,
    /// Connect: success with a BSSID no scan listed.
    ConnectUnknownBssid,
    /// Connect: a failure status code.
    ConnectFailure,
    /// Connect: a session id out of order (0, u64::MAX, an old one).
    ConnectSession,
}

impl Mutation {
    /// Every kind.
    pub const ALL: [Mutation; 22] = [
        Mutation::Valid,
        Mutation::HeaderSize,
        Mutation::HeaderVersion,
        Mutation::WrongOperation,
        Mutation::InvalidAnswer,
        Mutation::Oversized,
        Mutation::Truncated,
        Mutation::Stall,
        Mutation::Garbage,
        Mutation::TrailingBytes,
        Mutation::NumBss,
        Mutation::TotalSize,
        Mutation::IeOffset,
        Mutation::IeSize,
        Mutation::IeBody,
        Mutation::IeLength,
        Mutation::DuplicateBss,
        Mutation::BadFrequency,
        Mutation::ScanIncomplete,
        Mutation::ConnectUnknownBssid,
        Mutation::ConnectFailure,
        Mutation::ConnectSession,
    ];

    /// The name in the statistics.
    pub fn name(self) -> &'static str {
        match self {
            Mutation::Valid => "valid",
            Mutation::HeaderSize => "header_size",
            Mutation::HeaderVersion => "header_version",
            Mutation::WrongOperation => "wrong_operation",
            Mutation::InvalidAnswer => "invalid_answer",
            Mutation::Oversized => "oversized",
            Mutation::Truncated => "truncated",
            Mutation::Stall => "stall",
            Mutation::Garbage => "garbage",
            Mutation::TrailingBytes => "trailing_bytes",
            Mutation::NumBss => "num_bss",
            Mutation::TotalSize => "total_size",
            Mutation::IeOffset => "ie_offset",
            Mutation::IeSize => "ie_size",
            Mutation::IeBody => "ie_body",
            Mutation::IeLength => "ie_length",
            Mutation::DuplicateBss => "duplicate_bss",
            Mutation::BadFrequency => "bad_frequency",
            Mutation::ScanIncomplete => "scan_incomplete",
            Mutation::ConnectUnknownBssid => "connect_unknown_bssid",
            Mutation::ConnectFailure => "connect_failure",
            Mutation::ConnectSession => "connect_session",
        }
    }

    /// Relative weight when picking a mutation (stalls are rare: each costs the guest
    /// up to 20 s).
    fn weight(self) -> u32 {
        match self {
            Mutation::Valid => 14,
            Mutation::Stall => 1,
            Mutation::InvalidAnswer | Mutation::Oversized | Mutation::HeaderVersion => 3,
            _ => 5,
        }
    }

    /// Whether the mutation applies to this correct answer.
    pub fn applies_to(self, frame: &[u8]) -> bool {
        let op = frame[0];
        let scan = op == op::SCAN_RESPONSE;
        let entries = if scan { get_u32(frame, scan_off::NUM_BSS) as usize } else { 0 };
        let connect_success = op == op::CONNECT_RESPONSE && frame[HEADER_LEN..HEADER_LEN + 2] == [0, 0];
        match self {
            Mutation::NumBss | Mutation::TotalSize | Mutation::ScanIncomplete => scan,
            Mutation::IeOffset | Mutation::IeSize | Mutation::IeBody | Mutation::IeLength | Mutation::BadFrequency => {
                scan && entries >= 1
            }
            Mutation::DuplicateBss => scan && entries >= 2,
            Mutation::ConnectUnknownBssid => connect_success,
            Mutation::ConnectFailure | Mutation::ConnectSession => op == op::CONNECT_RESPONSE,
            _ => true,
        }
    }

    /// Picks a mutation that applies to `frame`, by weight.
    pub fn pick(frame: &[u8], rng: &mut impl Rng) -> Mutation {
        let candidates: Vec<Mutation> = Mutation::ALL.into_iter().filter(|m| m.applies_to(frame)).collect();
        let total: u32 = candidates.iter().map(|m| m.weight()).sum();
        let mut x = rng.random_range(0..total);
        for m in candidates {
            if x < m.weight() {
                return m;
            }
            x -= m.weight();
        }
        Mutation::Valid
    }
}

/// A (possibly mutated) answer: wait `stall`, write `bytes`, close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The mutation applied.
    pub mutation: Mutation,
    /// What to write.
    pub bytes: Vec<u8>,
    /// How long to hold the connection first.
    pub stall: Option<Duration>,
}

fn pick<T: Copy>(rng: &mut impl Rng, choices: &[T]) -> T {
    choices[rng.random_range(0..choices.len())]
}

/// A value from `choices` (or random) different from `old`.
fn other_u32(rng: &mut impl Rng, old: u32, choices: &[u32]) -> u32 {
    for _ in 0..8 {
        let v = if rng.random_bool(0.8) { pick(rng, choices) } else { rng.random() };
        if v != old {
            return v;
        }
    }
    old ^ 0x8000_0001
}

/// Where entry `i` of a scan frame starts.
fn entry_at(i: usize) -> usize {
    scan_off::ENTRIES + i * scan_off::ENTRY_LEN
}

/// The frame range of entry `i`'s IEs (per its fields; assumes a correct frame).
fn ie_range(frame: &[u8], i: usize) -> std::ops::Range<usize> {
    let e = entry_at(i);
    let start = e + get_u32(frame, e + scan_off::IE_OFFSET) as usize;
    start..start + get_u32(frame, e + scan_off::IE_SIZE) as usize
}

/// Applies `mutation` to the correct answer `frame` (header and body).
///
/// # Panics
/// If the mutation does not apply to the frame ([`Mutation::applies_to`]).
pub fn mutate(mutation: Mutation, frame: &[u8], rng: &mut impl Rng) -> Answer {
    assert!(mutation.applies_to(frame), "{} does not apply to operation {}", mutation.name(), frame[0]);
    let mut b = frame.to_vec();
    let mut stall = None;
    let body_len = (b.len() - HEADER_LEN) as u32;
    let entries = if b[0] == op::SCAN_RESPONSE { get_u32(&b, scan_off::NUM_BSS) as usize } else { 0 };
    match mutation {
        Mutation::Valid => {}
        Mutation::HeaderSize => {
            let size = other_u32(
                rng,
                body_len,
                &[0, body_len + 1, body_len.saturating_sub(1), body_len + 26, body_len / 2, 9, 16, GUEST_MAX_BODY],
            ) % (GUEST_MAX_BODY + 1);
            set_header_size(&mut b, if size == body_len { body_len + 1 } else { size });
        }
        Mutation::HeaderVersion => {
            let v = loop {
                let r: u16 = rng.random();
                let v = pick(rng, &[0u16, 2, 0x0100, 0x0101, 0xffff, r]);
                if v != 1 {
                    break v;
                }
            };
            b[5..7].copy_from_slice(&v.to_le_bytes());
        }
        Mutation::WrongOperation => {
            let old = b[0];
            b[0] = loop {
                let o = if rng.random_bool(0.85) { rng.random_range(0..=8u8) } else { rng.random() };
                if o != old {
                    break o;
                }
            };
        }
        Mutation::InvalidAnswer => b = invalid_answer(),
        Mutation::Oversized => {
            let r: u32 = rng.random();
            let size = pick(rng, &[GUEST_MAX_BODY + 1, GUEST_MAX_BODY + 4096, 16 << 20, u32::MAX, r]);
            let size = size.max(GUEST_MAX_BODY + 1);
            set_header_size(&mut b, size);
            let pad = rng.random_range(0..4096);
            b.extend((0..pad).map(|_| rng.random::<u8>()));
        }
        Mutation::Truncated => {
            let keep = rng.random_range(0..b.len());
            b.truncate(keep);
        }
        Mutation::Stall => stall = Some(Duration::from_millis(rng.random_range(1_000..=25_000))),
        Mutation::Garbage => {
            let len = rng.random_range(1..=600usize);
            let mut g: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            if rng.random_bool(0.5) && len > HEADER_LEN {
                g[0] = b[0];
                put_u32(&mut g, 1, (len - HEADER_LEN) as u32);
                g[5..7].copy_from_slice(&1u16.to_le_bytes());
            }
            if g == b {
                g.push(0);
            }
            b = g;
        }
        Mutation::TrailingBytes => {
            let extra = rng.random_range(1..=64usize);
            b.extend((0..extra).map(|_| rng.random::<u8>()));
            set_header_size(&mut b, body_len + extra as u32);
        }
        Mutation::NumBss => {
            let n = entries as u32;
            let v = other_u32(rng, n, &[n + 1, n.wrapping_sub(1), n + 100, u32::MAX, u32::MAX / 26 + 1, 0x8000_0000]);
            put_u32(&mut b, scan_off::NUM_BSS, v);
        }
        Mutation::TotalSize => {
            let v = other_u32(rng, body_len, &[0, body_len + 1, body_len - 1, u32::MAX, 8, 9, GUEST_MAX_BODY + 1]);
            put_u32(&mut b, scan_off::TOTAL_SIZE, v);
        }
        Mutation::IeOffset => {
            let i = rng.random_range(0..entries);
            let e = entry_at(i);
            let old = get_u32(&b, e + scan_off::IE_OFFSET);
            let to_end = (b.len() - e) as u32;
            let v = other_u32(rng, old, &[to_end, to_end + 1, u32::MAX, u32::MAX - 8, 0, 1, old + 1, to_end * 2]);
            put_u32(&mut b, e + scan_off::IE_OFFSET, v);
        }
        Mutation::IeSize => {
            let i = rng.random_range(0..entries);
            let e = entry_at(i);
            let old = get_u32(&b, e + scan_off::IE_SIZE);
            let room = (b.len() - e) as u32 - get_u32(&b, e + scan_off::IE_OFFSET);
            let v = other_u32(rng, old, &[room + 1, u32::MAX, u32::MAX - 2, old + 1, 0x8000_0000, GUEST_MAX_BODY]);
            put_u32(&mut b, e + scan_off::IE_SIZE, v);
        }
        Mutation::IeBody => {
            let ies = ie_range(&b, rng.random_range(0..entries));
            for _ in 0..rng.random_range(1..=8) {
                let at = rng.random_range(ies.clone());
                b[at] ^= rng.random_range(1..=255u8);
            }
            if b == frame {
                b[ies.start] ^= 0x55;
            }
        }
        Mutation::IeLength => {
            let ies = ie_range(&b, rng.random_range(0..entries));
            // One of the entry's IEs, found by walking them.
            let mut starts = Vec::new();
            let mut at = ies.start;
            while at + 2 <= ies.end {
                starts.push(at);
                at += 2 + b[at + 1] as usize;
            }
            let at = pick(rng, &starts) + 1;
            let old = b[at];
            b[at] = loop {
                let r: u8 = rng.random();
                let v = pick(rng, &[255u8, 0, old.wrapping_add(1), old.wrapping_sub(1), r]);
                if v != old {
                    break v;
                }
            };
        }
        Mutation::DuplicateBss => {
            let (i, j) = (rng.random_range(0..entries), rng.random_range(0..entries));
            let (i, j) = if i == j { (i, (i + 1) % entries) } else { (i, j) };
            let bssid: [u8; 6] = b[entry_at(i)..entry_at(i) + 6].try_into().expect("6 bytes");
            b[entry_at(j)..entry_at(j) + 6].copy_from_slice(&bssid);
        }
        Mutation::BadFrequency => {
            let e = entry_at(rng.random_range(0..entries));
            let old = get_u32(&b, e + scan_off::FREQ);
            // MHz instead of kHz, off-channel, outside every band, zero, huge.
            let v = other_u32(rng, old, &[old / 1000, 2_411_000, 5_000_000, 0, u32::MAX, 60_480_000, 2_500_000]);
            put_u32(&mut b, e + scan_off::FREQ, v);
        }
        Mutation::ScanIncomplete => b[scan_off::COMPLETE] = 0,
        Mutation::ConnectUnknownBssid => {
            let mut bssid = [0x02, 0xba, 0xd0, rng.random(), rng.random(), rng.random()];
            if NETWORKS.iter().any(|n| n.bssid == bssid) {
                bssid[1] = 0xbb;
            }
            b[HEADER_LEN + 2..HEADER_LEN + 8].copy_from_slice(&bssid);
        }
        Mutation::ConnectFailure => {
            let r = rng.random_range(2..1000u16);
            let code = pick(rng, &[1u16, 12, 15, 16, 17, 0xffff, r]);
            b[HEADER_LEN..HEADER_LEN + 2].copy_from_slice(&code.to_le_bytes());
            if rng.random_bool(0.5) {
                b[HEADER_LEN + 2..HEADER_LEN + 8].fill(0);
            }
        }
        Mutation::ConnectSession => {
            let at = HEADER_LEN + 8;
            let old = u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
            let v = loop {
                let v = pick(rng, &[0, u64::MAX, old.saturating_sub(1), old.saturating_sub(5), 1, u64::MAX - 1]);
                if v != old {
                    break v;
                }
            };
            b[at..at + 8].copy_from_slice(&v.to_le_bytes());
        }
    }
    Answer { mutation, bytes: b, stall }
}

/// What a notification is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NotificationKind {
    /// Signal, a plausible value.
    Signal,
    /// Signal, an extreme value (-128, 0, 127).
    SignalExtreme,
    /// Disconnected, the newest session.
    DisconnectedCurrent,
    /// Disconnected, an older session (or 0).
    DisconnectedStale,
    /// Disconnected, session u64::MAX.
    DisconnectedMax,
    /// Scan results, correct (complete or not).
    ScanResults,
    /// Scan results with a scan mutation (counts, offsets, IEs).
    ScanResultsMutated,
    /// A notification whose body size is wrong for its operation.
    WrongSize,
    /// Bad header: version, unknown operation, a request's or an answer's operation.
    BadHeader,
    /// Random bytes.
    Garbage,
    /// A correct notification cut short.
    Truncated,
    /// A connection that sends nothing.
    Empty,
    /// A header announcing more than 512 KiB.
    Oversized,
}

impl NotificationKind {
    /// Every kind.
    pub const ALL: [NotificationKind; 13] = [
        NotificationKind::Signal,
        NotificationKind::SignalExtreme,
        NotificationKind::DisconnectedCurrent,
        NotificationKind::DisconnectedStale,
        NotificationKind::DisconnectedMax,
        NotificationKind::ScanResults,
        NotificationKind::ScanResultsMutated,
        NotificationKind::WrongSize,
        NotificationKind::BadHeader,
        NotificationKind::Garbage,
        NotificationKind::Truncated,
        NotificationKind::Empty,
        NotificationKind::Oversized,
    ];

    /// The name in the statistics.
    pub fn name(self) -> &'static str {
        match self {
            NotificationKind::Signal => "signal",
            NotificationKind::SignalExtreme => "signal_extreme",
            NotificationKind::DisconnectedCurrent => "disconnected_current",
            NotificationKind::DisconnectedStale => "disconnected_stale",
            NotificationKind::DisconnectedMax => "disconnected_max",
            NotificationKind::ScanResults => "scan_results",
            NotificationKind::ScanResultsMutated => "scan_results_mutated",
            NotificationKind::WrongSize => "wrong_size",
            NotificationKind::BadHeader => "bad_header",
            NotificationKind::Garbage => "garbage",
            NotificationKind::Truncated => "truncated",
            NotificationKind::Empty => "empty",
            NotificationKind::Oversized => "oversized",
        }
    }

    /// Whether the guest driver should accept it as a well-formed message.
    pub fn is_valid(self) -> bool {
        matches!(
            self,
            NotificationKind::Signal
                | NotificationKind::SignalExtreme
                | NotificationKind::DisconnectedCurrent
                | NotificationKind::DisconnectedStale
                | NotificationKind::DisconnectedMax
                | NotificationKind::ScanResults
        )
    }

    fn weight(self) -> u32 {
        match self {
            // Each drops the guest's link: some, not too many.
            NotificationKind::DisconnectedCurrent | NotificationKind::DisconnectedMax => 2,
            NotificationKind::Signal | NotificationKind::ScanResults | NotificationKind::ScanResultsMutated => 6,
            _ => 4,
        }
    }

    /// Picks a kind by weight.
    pub fn pick(rng: &mut impl Rng) -> NotificationKind {
        let total: u32 = NotificationKind::ALL.iter().map(|k| k.weight()).sum();
        let mut x = rng.random_range(0..total);
        for k in NotificationKind::ALL {
            if x < k.weight() {
                return k;
            }
            x -= k.weight();
        }
        NotificationKind::Signal
    }
}

/// The bytes of a notification of `kind`; `session` is the newest session id issued.
pub fn notification(kind: NotificationKind, session: u64, rng: &mut impl Rng) -> Vec<u8> {
    let disconnected = |s: u64| GuestBound::NotifDisconnected(DisconnectedNotification { session_id: SessionId(s) });
    let signal = |d: i8| GuestBound::NotifSignalQuality(SignalQualityNotification { signal_dbm: d });
    match kind {
        NotificationKind::Signal => signal(rng.random_range(-95..=-20)).to_bytes(),
        NotificationKind::SignalExtreme => signal(pick(rng, &[i8::MIN, 0, i8::MAX, -1, 1])).to_bytes(),
        NotificationKind::DisconnectedCurrent => disconnected(session).to_bytes(),
        NotificationKind::DisconnectedStale => {
            disconnected(if session > 1 { rng.random_range(0..session) } else { 0 }).to_bytes()
        }
        NotificationKind::DisconnectedMax => disconnected(u64::MAX).to_bytes(),
        NotificationKind::ScanResults => scan_answer(None, rng.random_bool(0.7)),
        NotificationKind::ScanResultsMutated => {
            let frame = scan_answer(None, true);
            let m = loop {
                let m = pick(
                    rng,
                    &[
                        Mutation::NumBss,
                        Mutation::TotalSize,
                        Mutation::IeOffset,
                        Mutation::IeSize,
                        Mutation::IeBody,
                        Mutation::IeLength,
                        Mutation::DuplicateBss,
                        Mutation::BadFrequency,
                        Mutation::HeaderSize,
                        Mutation::TrailingBytes,
                    ],
                );
                if m.applies_to(&frame) {
                    break m;
                }
            };
            mutate(m, &frame, rng).bytes
        }
        NotificationKind::WrongSize => {
            let (operation, good) = pick(rng, &[(op::NOTIF_SIGNAL_QUALITY, 1usize), (op::NOTIF_DISCONNECTED, 8)]);
            let len = loop {
                let r = rng.random_range(0..64usize);
                let len = pick(rng, &[0usize, good - 1, good + 1, 2, 7, 9, 16, r]);
                if len != good {
                    break len;
                }
            };
            let mut b = raw_header(operation, len as u32, 1).to_vec();
            b.extend((0..len).map(|_| rng.random::<u8>()));
            b
        }
        NotificationKind::BadHeader => {
            let mut b = notification(NotificationKind::Signal, session, rng);
            match rng.random_range(0..3) {
                0 => {
                    let v = pick(rng, &[0u16, 2, 0x0100, 0xffff]);
                    b[5..7].copy_from_slice(&v.to_le_bytes());
                }
                1 => {
                    let r = rng.random_range(9..=255u8);
                    b[0] = pick(rng, &[9u8, 0x7f, 0xff, r]);
                }
                _ => {
                    b[0] = pick(
                        rng,
                        &[
                            op::INVALID,
                            op::SCAN_REQUEST,
                            op::CONNECT_REQUEST,
                            op::CONNECT_RESPONSE,
                            op::DISCONNECT_REQUEST,
                            op::DISCONNECT_RESPONSE,
                        ],
                    )
                }
            }
            b
        }
        NotificationKind::Garbage => (0..rng.random_range(1..=200)).map(|_| rng.random()).collect(),
        NotificationKind::Truncated => {
            let full = match rng.random_range(0..3) {
                0 => signal(-50).to_bytes(),
                1 => disconnected(session).to_bytes(),
                _ => scan_answer(None, true),
            };
            let keep = rng.random_range(0..full.len());
            full[..keep].to_vec()
        }
        NotificationKind::Empty => Vec::new(),
        NotificationKind::Oversized => {
            let mut b = raw_header(op::SCAN_RESPONSE, GUEST_MAX_BODY + rng.random_range(1..=1 << 20), 1).to_vec();
            b.extend((0..rng.random_range(0..512)).map(|_| rng.random::<u8>()));
            b
        }
    }
}

/// A 7-byte header with any values.
pub fn raw_header(operation: u8, size: u32, version: u16) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0] = operation;
    h[1..5].copy_from_slice(&size.to_le_bytes());
    h[5..7].copy_from_slice(&version.to_le_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxy_wifi::protocol::{AuthType, Decoded, Pmk};
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn decode(bytes: &[u8]) -> Option<GuestBound> {
        match GuestBound::decode_frame(bytes) {
            Ok(Decoded::Complete { message, consumed }) if consumed == bytes.len() => Some(message),
            _ => None,
        }
    }

    fn open_request(ssid: &str) -> ConnectRequest {
        let mut r = ConnectRequest::open(Ssid::new(ssid.as_bytes()).unwrap());
        r.auth_type = AuthType::from_u8(8);
        r
    }

    /// Every scan entry's fields, checked against the body as the guest driver does.
    fn scan_consistent(b: &[u8]) -> bool {
        let body = b.len() - HEADER_LEN;
        if header_size(b) as usize != body || get_u32(b, scan_off::TOTAL_SIZE) as usize != body {
            return false;
        }
        let n = get_u32(b, scan_off::NUM_BSS) as u64;
        if 9 + 26 * n > body as u64 {
            return false;
        }
        (0..n as usize).all(|i| {
            let e = entry_at(i) as u64;
            let end = e
                + get_u32(b, e as usize + scan_off::IE_OFFSET) as u64
                + get_u32(b, e as usize + scan_off::IE_SIZE) as u64;
            end <= b.len() as u64
        })
    }

    #[test]
    fn honest_answers_decode() {
        let scan = scan_answer(None, true);
        let Some(GuestBound::ScanResponse(r)) = decode(&scan) else { panic!("scan answer does not decode") };
        assert!(r.scan_complete);
        assert_eq!(r.bss.len(), NETWORKS.len());
        for (entry, n) in r.bss.iter().zip(NETWORKS.iter()) {
            assert_eq!(entry.bssid.0, n.bssid);
            assert_eq!(entry.ssid().unwrap().as_bytes(), n.ssid.as_bytes());
            assert_eq!(entry.frequency_mhz(), n.freq_mhz);
        }
        assert!(scan_consistent(&scan));
        let targeted = scan_answer(Some(b"HostileWpa2"), true);
        let Some(GuestBound::ScanResponse(r)) = decode(&targeted) else { panic!() };
        assert_eq!(r.bss.len(), 1);
        let none = scan_answer(Some(b"Nope"), true);
        assert_eq!(none.len(), HEADER_LEN + 9);
        assert!(decode(&none).is_some());

        let c = connect_answer(&open_request("HostileOpen"), 7);
        let Some(GuestBound::ConnectResponse(r)) = decode(&c) else { panic!() };
        assert!(r.result_code.is_success());
        assert_eq!(r.bssid.0, NETWORKS[0].bssid);
        assert_eq!(r.session_id.0, 7);
        let ssid = Ssid::new(b"HostileWpa2").unwrap();
        let wpa2 = ConnectRequest {
            bssid: Bssid(NETWORKS[1].bssid),
            ..ConnectRequest::wpa2_psk(ssid, Pmk::derive(b"whatever1", &ssid))
        };
        let Some(GuestBound::ConnectResponse(r)) = decode(&connect_answer(&wpa2, 8)) else { panic!() };
        assert!(r.result_code.is_success());
        assert_eq!(r.bssid.0, NETWORKS[1].bssid);
        let Some(GuestBound::ConnectResponse(r)) = decode(&connect_answer(&open_request("Unknown"), 9)) else {
            panic!()
        };
        assert_eq!(r.result_code, StatusCode::UNSPECIFIED_FAILURE);
        assert_eq!(decode(&disconnect_answer()), Some(GuestBound::DisconnectResponse));
        assert_eq!(decode(&invalid_answer()), Some(GuestBound::Invalid));
    }

    #[test]
    fn valid_mutation_changes_nothing() {
        let mut rng = StdRng::seed_from_u64(1);
        let scan = scan_answer(None, true);
        assert_eq!(mutate(Mutation::Valid, &scan, &mut rng).bytes, scan);
    }

    #[test]
    fn each_mutation_changes_what_it_claims() {
        let scan = scan_answer(None, true);
        let connect = connect_answer(&open_request("HostileOpen"), 42);
        let disconnect = disconnect_answer();
        for seed in 0..300 {
            let mut rng = StdRng::seed_from_u64(seed);
            for frame in [&scan, &connect, &disconnect] {
                for m in Mutation::ALL.into_iter().filter(|m| m.applies_to(frame)) {
                    let a = mutate(m, frame, &mut rng);
                    let b = &a.bytes;
                    assert_eq!(a.mutation, m);
                    assert_eq!(a.stall.is_some(), m == Mutation::Stall, "{}", m.name());
                    let why = format!("{} (seed {seed}, op {})", m.name(), frame[0]);
                    match m {
                        Mutation::Valid | Mutation::Stall => assert_eq!(b, frame, "{why}"),
                        Mutation::HeaderSize => {
                            assert_ne!(header_size(b), header_size(frame), "{why}");
                            assert!(header_size(b) <= GUEST_MAX_BODY, "{why}");
                            assert_eq!(b[HEADER_LEN..], frame[HEADER_LEN..], "{why}");
                            assert!(decode(b).is_none(), "{why}");
                        }
                        Mutation::HeaderVersion => {
                            assert_ne!(b[5..7], [1, 0], "{why}");
                            assert!(decode(b).is_none(), "{why}");
                        }
                        Mutation::WrongOperation => {
                            assert_ne!(b[0], frame[0], "{why}");
                            assert_eq!(b[1..], frame[1..], "{why}");
                        }
                        Mutation::InvalidAnswer => assert_eq!(decode(b), Some(GuestBound::Invalid)),
                        Mutation::Oversized => {
                            assert!(header_size(b) > GUEST_MAX_BODY, "{why}");
                            assert!(b.len() < frame.len() + 4096, "{why}");
                        }
                        Mutation::Truncated => assert!(b.len() < frame.len() && frame.starts_with(b), "{why}"),
                        Mutation::Garbage => assert_ne!(b, frame, "{why}"),
                        Mutation::TrailingBytes => {
                            assert!(b.len() > frame.len(), "{why}");
                            assert_eq!(b[HEADER_LEN..frame.len()], frame[HEADER_LEN..], "{why}");
                            assert_eq!(header_size(b) as usize, b.len() - HEADER_LEN, "{why}");
                        }
                        Mutation::NumBss => {
                            assert_ne!(get_u32(b, scan_off::NUM_BSS), get_u32(frame, scan_off::NUM_BSS), "{why}");
                            assert!(!scan_consistent(b) || get_u32(b, scan_off::NUM_BSS) < 4, "{why}");
                        }
                        Mutation::TotalSize => {
                            assert_ne!(get_u32(b, scan_off::TOTAL_SIZE), header_size(b), "{why}");
                            assert!(!scan_consistent(b), "{why}");
                        }
                        Mutation::IeOffset | Mutation::IeSize => {
                            let field = if m == Mutation::IeOffset { scan_off::IE_OFFSET } else { scan_off::IE_SIZE };
                            let changed: Vec<usize> = (0..NETWORKS.len())
                                .filter(|&i| get_u32(b, entry_at(i) + field) != get_u32(frame, entry_at(i) + field))
                                .collect();
                            assert_eq!(changed.len(), 1, "{why}");
                            assert_eq!(b.len(), frame.len(), "{why}");
                        }
                        Mutation::IeBody | Mutation::IeLength => {
                            assert_eq!(b.len(), frame.len(), "{why}");
                            let ies_start = entry_at(NETWORKS.len());
                            assert_eq!(b[..ies_start], frame[..ies_start], "{why}: only IE bytes change");
                            assert_ne!(b, frame, "{why}");
                            assert!(scan_consistent(b), "{why}: the frame stays consistent");
                        }
                        Mutation::DuplicateBss => {
                            let bssids: Vec<&[u8]> =
                                (0..NETWORKS.len()).map(|i| &b[entry_at(i)..entry_at(i) + 6]).collect();
                            let mut unique = bssids.clone();
                            unique.sort();
                            unique.dedup();
                            assert_eq!(unique.len(), bssids.len() - 1, "{why}");
                            assert!(scan_consistent(b), "{why}");
                        }
                        Mutation::BadFrequency => {
                            let bad = (0..NETWORKS.len())
                                .filter(|&i| {
                                    let f = get_u32(b, entry_at(i) + scan_off::FREQ);
                                    f != get_u32(frame, entry_at(i) + scan_off::FREQ)
                                })
                                .count();
                            assert_eq!(bad, 1, "{why}");
                        }
                        Mutation::ScanIncomplete => {
                            let Some(GuestBound::ScanResponse(r)) = decode(b) else { panic!("{why}") };
                            assert!(!r.scan_complete);
                        }
                        Mutation::ConnectUnknownBssid => {
                            let Some(GuestBound::ConnectResponse(r)) = decode(b) else { panic!("{why}") };
                            assert!(r.result_code.is_success());
                            assert!(NETWORKS.iter().all(|n| n.bssid != r.bssid.0), "{why}");
                        }
                        Mutation::ConnectFailure => {
                            let Some(GuestBound::ConnectResponse(r)) = decode(b) else { panic!("{why}") };
                            assert!(!r.result_code.is_success(), "{why}");
                        }
                        Mutation::ConnectSession => {
                            let Some(GuestBound::ConnectResponse(r)) = decode(b) else { panic!("{why}") };
                            assert_ne!(r.session_id.0, 42, "{why}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn mutations_apply_only_where_they_make_sense() {
        let connect_fail = connect_answer(&open_request("Unknown"), 1);
        assert!(!Mutation::ConnectUnknownBssid.applies_to(&connect_fail));
        assert!(Mutation::ConnectFailure.applies_to(&connect_fail));
        assert!(!Mutation::NumBss.applies_to(&disconnect_answer()));
        let empty_scan = scan_answer(Some(b"Nope"), true);
        assert!(Mutation::NumBss.applies_to(&empty_scan));
        assert!(!Mutation::IeBody.applies_to(&empty_scan));
        let mut rng = StdRng::seed_from_u64(3);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..5000 {
            let m = Mutation::pick(&empty_scan, &mut rng);
            assert!(m.applies_to(&empty_scan));
            seen.insert(m);
            let a = mutate(m, &empty_scan, &mut rng);
            assert_eq!(a.mutation, m);
        }
        assert!(seen.contains(&Mutation::Valid) && seen.contains(&Mutation::NumBss) && seen.contains(&Mutation::Stall));
    }

    #[test]
    fn notifications_are_what_they_claim() {
        for seed in 0..300 {
            let mut rng = StdRng::seed_from_u64(seed);
            for kind in NotificationKind::ALL {
                let b = notification(kind, 10, &mut rng);
                let why = format!("{} (seed {seed})", kind.name());
                let decoded = decode(&b);
                if kind.is_valid() {
                    assert!(decoded.is_some(), "{why}");
                }
                match kind {
                    NotificationKind::DisconnectedCurrent => {
                        assert_eq!(
                            decoded,
                            Some(GuestBound::NotifDisconnected(DisconnectedNotification { session_id: SessionId(10) }))
                        )
                    }
                    NotificationKind::DisconnectedStale => {
                        let Some(GuestBound::NotifDisconnected(n)) = decoded else { panic!("{why}") };
                        assert!(n.session_id.0 < 10, "{why}");
                    }
                    NotificationKind::DisconnectedMax => {
                        let Some(GuestBound::NotifDisconnected(n)) = decoded else { panic!("{why}") };
                        assert_eq!(n.session_id.0, u64::MAX);
                    }
                    NotificationKind::Signal | NotificationKind::SignalExtreme => {
                        assert!(matches!(decoded, Some(GuestBound::NotifSignalQuality(_))), "{why}")
                    }
                    NotificationKind::ScanResults => {
                        assert!(matches!(decoded, Some(GuestBound::ScanResponse(_))), "{why}")
                    }
                    NotificationKind::WrongSize
                    | NotificationKind::BadHeader
                    | NotificationKind::Truncated
                    | NotificationKind::Empty
                    | NotificationKind::Oversized => assert!(decoded.is_none(), "{why}"),
                    NotificationKind::ScanResultsMutated => {
                        assert_ne!(b, scan_answer(None, true), "{why}");
                    }
                    NotificationKind::Garbage => assert!(!b.is_empty()),
                }
                if kind == NotificationKind::Oversized {
                    assert!(header_size(&b) > GUEST_MAX_BODY);
                }
            }
        }
    }
}
