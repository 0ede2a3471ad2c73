//! Property tests: round trips, arbitrary bytes, truncation, out-of-range fields.

use proptest::prelude::*;
use proxy_wifi_protocol::{
    AkmSuite, AuthType, BssEntry, Bssid, Capabilities, CipherSuite, ConnectRequest, ConnectResponse, DecodeError,
    Decoded, DisconnectRequest, DisconnectedNotification, GuestAbi, GuestBound, HostBound, Key, Operation, ScanRequest,
    ScanResponse, SessionId, SignalQualityNotification, Ssid, StatusCode, WpaVersions,
};

fn ssid() -> impl Strategy<Value = Ssid> {
    proptest::collection::vec(any::<u8>(), 0..=32).prop_map(|b| Ssid::new(&b).unwrap())
}

fn bssid() -> impl Strategy<Value = Bssid> {
    any::<[u8; 6]>().prop_map(Bssid)
}

fn akm() -> impl Strategy<Value = AkmSuite> {
    // Zero is the value of an unused slot; real suites are never zero.
    (1u32..).prop_map(AkmSuite::from_u32)
}

fn cipher() -> impl Strategy<Value = CipherSuite> {
    any::<u32>().prop_map(CipherSuite::from_u32)
}

fn connect_request() -> impl Strategy<Value = ConnectRequest> {
    (
        ssid(),
        bssid(),
        any::<u8>(),
        any::<u8>(),
        proptest::collection::vec(akm(), 0..=2),
        proptest::collection::vec(cipher(), 0..=5),
        cipher(),
        proptest::collection::vec(any::<u8>(), 0..=255),
    )
        .prop_map(|(ssid, bssid, auth, wpa, akm_suites, pairwise, group, key)| ConnectRequest {
            ssid,
            bssid,
            auth_type: AuthType::from_u8(auth),
            wpa_versions: WpaVersions::from_bits_retain(wpa),
            akm_suites,
            pairwise_cipher_suites: pairwise,
            group_cipher_suite: group,
            key: Key::new(&key).unwrap(),
        })
}

fn bss_entry() -> impl Strategy<Value = BssEntry> {
    (bssid(), any::<u16>(), any::<i32>(), any::<u16>(), any::<u32>(), proptest::collection::vec(any::<u8>(), 0..64))
        .prop_map(|(bssid, caps, rssi_dbm, beacon_interval, frequency_khz, ies)| BssEntry {
            bssid,
            capabilities: Capabilities(caps),
            rssi_dbm,
            beacon_interval,
            frequency_khz,
            ies,
        })
}

/// A message of either direction, so one property covers both enums.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Message {
    Host(HostBound),
    Guest(GuestBound),
}

/// Which enum to decode bytes as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    GuestToHost,
    HostToGuest,
}

impl Message {
    fn to_bytes(&self) -> Vec<u8> {
        match self {
            Message::Host(m) => m.to_bytes(),
            Message::Guest(m) => m.to_bytes(),
        }
    }

    fn body_len(&self) -> usize {
        match self {
            Message::Host(m) => m.body_len(),
            Message::Guest(m) => m.body_len(),
        }
    }

    fn operation(&self) -> Operation {
        match self {
            Message::Host(m) => m.operation(),
            Message::Guest(m) => m.operation(),
        }
    }
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        Just(Message::Guest(GuestBound::Invalid)),
        proptest::option::of(ssid().prop_filter("non-empty", |s| !s.is_empty()))
            .prop_map(|ssid| Message::Host(HostBound::Scan(ScanRequest { ssid }))),
        (any::<bool>(), proptest::collection::vec(bss_entry(), 0..8)).prop_map(|(scan_complete, bss)| {
            Message::Guest(GuestBound::ScanResponse(ScanResponse { scan_complete, bss }))
        }),
        connect_request().prop_map(|r| Message::Host(HostBound::Connect(r))),
        (any::<u16>(), bssid(), any::<u64>()).prop_map(|(code, bssid, session)| {
            Message::Guest(GuestBound::ConnectResponse(ConnectResponse {
                result_code: StatusCode(code),
                bssid,
                session_id: SessionId(session),
            }))
        }),
        any::<u64>().prop_map(|s| Message::Host(HostBound::Disconnect(DisconnectRequest { session_id: SessionId(s) }))),
        Just(Message::Guest(GuestBound::DisconnectResponse)),
        any::<u64>().prop_map(|s| Message::Guest(GuestBound::NotifDisconnected(DisconnectedNotification {
            session_id: SessionId(s)
        }))),
        any::<i8>().prop_map(|signal_dbm| Message::Guest(GuestBound::NotifSignalQuality(SignalQualityNotification {
            signal_dbm
        }))),
    ]
}

fn wrap<M>(decoded: Decoded<M>, wrap: impl FnOnce(M) -> Message) -> Decoded<Message> {
    match decoded {
        Decoded::Incomplete { needed } => Decoded::Incomplete { needed },
        Decoded::Complete { message, consumed } => Decoded::Complete { message: wrap(message), consumed },
    }
}

/// Decodes `bytes` as the enum of `direction`.
fn decode(bytes: &[u8], direction: Direction) -> Result<Decoded<Message>, DecodeError> {
    match direction {
        Direction::GuestToHost => HostBound::decode_frame(bytes).map(|d| wrap(d, Message::Host)),
        Direction::HostToGuest => GuestBound::decode_frame(bytes).map(|d| wrap(d, Message::Guest)),
    }
}

fn direction(message: &Message) -> Direction {
    match message {
        Message::Host(_) => Direction::GuestToHost,
        Message::Guest(_) => Direction::HostToGuest,
    }
}

fn decode_legacy(bytes: &[u8]) -> Result<Decoded<GuestBound>, DecodeError> {
    GuestBound::decode_frame_as(bytes, GuestAbi::Legacy)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn decode_of_encode_is_identity(m in message()) {
        let bytes = m.to_bytes();
        prop_assert_eq!(bytes.len(), 7 + m.body_len());
        let decoded = decode(&bytes, direction(&m)).unwrap();
        prop_assert_eq!(decoded, Decoded::Complete { message: m, consumed: bytes.len() });
    }

    #[test]
    fn builder_lays_out_the_same_bytes_as_the_message(complete in any::<bool>(), entries in proptest::collection::vec(bss_entry(), 0..12)) {
        let mut builder = proxy_wifi_protocol::ScanResponseBuilder::new();
        for (i, entry) in entries.iter().enumerate() {
            if i % 2 == 0 {
                builder.push(entry);
            } else {
                builder.push_with(entry.bssid, entry.capabilities, entry.rssi_dbm, entry.beacon_interval, entry.frequency_khz, |ies| ies.extend_from_slice(&entry.ies));
            }
        }
        let mut built = Vec::new();
        builder.encode(complete, &mut built);
        prop_assert_eq!(builder.body_len() + 7, built.len());
        prop_assert_eq!(built, GuestBound::ScanResponse(ScanResponse { scan_complete: complete, bss: entries }).to_bytes());
    }

    #[test]
    fn legacy_layout_round_trips_and_is_one_byte_shorter(entries in proptest::collection::vec(bss_entry(), 0..12)) {
        let message = GuestBound::ScanResponse(ScanResponse { scan_complete: true, bss: entries });
        let legacy = message.to_bytes_as(GuestAbi::Legacy);
        prop_assert_eq!(legacy.len() + 1, message.to_bytes().len());
        prop_assert_eq!(
            decode_legacy(&legacy).unwrap(),
            Decoded::Complete { message, consumed: legacy.len() }
        );
        for cut in 0..legacy.len() {
            let result = decode_legacy(&legacy[..cut]).unwrap();
            prop_assert_eq!(result, Decoded::Incomplete { needed: if cut < 7 { 7 - cut } else { legacy.len() - cut } });
        }
    }

    #[test]
    fn builder_lays_out_the_legacy_bytes_of_the_message(entries in proptest::collection::vec(bss_entry(), 0..12)) {
        let mut builder = proxy_wifi_protocol::ScanResponseBuilder::new();
        for entry in &entries {
            builder.push(entry);
        }
        let mut built = Vec::new();
        builder.encode_as(GuestAbi::Legacy, true, &mut built);
        prop_assert_eq!(builder.body_len_as(GuestAbi::Legacy) + 7, built.len());
        let message = GuestBound::ScanResponse(ScanResponse { scan_complete: true, bss: entries });
        prop_assert_eq!(built, message.to_bytes_as(GuestAbi::Legacy));
    }

    #[test]
    fn legacy_scan_response_counts_out_of_range(entries in proptest::collection::vec(bss_entry(), 0..4), extra in 1u32..) {
        let good = GuestBound::ScanResponse(ScanResponse { scan_complete: true, bss: entries.clone() }).to_bytes_as(GuestAbi::Legacy);
        let body_len = good.len() - 7;

        let mut bytes = good.clone();
        let claimed = (((body_len - 8) / 26) as u32).saturating_add(extra);
        bytes[7..11].copy_from_slice(&claimed.to_le_bytes());
        let num_bss_error = matches!(decode_legacy(&bytes), Err(DecodeError::FieldTooLarge { field: "num_bss", .. }));
        prop_assert!(num_bss_error);

        let mut bytes = good.clone();
        bytes[11..15].copy_from_slice(&(body_len as u32).wrapping_add(extra).to_le_bytes());
        let total_error = matches!(decode_legacy(&bytes), Err(DecodeError::FieldMismatch { field: "total_size", .. }));
        prop_assert!(total_error);

        if !entries.is_empty() {
            let mut bytes = good.clone();
            let at = 7 + 8 + 22;
            let offset = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
            bytes[at..at + 4].copy_from_slice(&offset.saturating_add(body_len as u32).to_le_bytes());
            let ie_error = matches!(decode_legacy(&bytes), Err(DecodeError::IesOutOfBounds { index: 0, .. }));
            prop_assert!(ie_error);
        }
    }

    #[test]
    fn trailing_bytes_after_a_message_are_left_unread(m in message(), extra in proptest::collection::vec(any::<u8>(), 1..16)) {
        let mut bytes = m.to_bytes();
        let len = bytes.len();
        bytes.extend_from_slice(&extra);
        match decode(&bytes, direction(&m)).unwrap() {
            Decoded::Complete { consumed, .. } => prop_assert_eq!(consumed, len),
            other => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn every_strict_prefix_is_incomplete(m in message()) {
        let bytes = m.to_bytes();
        for cut in 0..bytes.len() {
            let result = decode(&bytes[..cut], direction(&m)).unwrap();
            prop_assert_eq!(result, Decoded::Incomplete { needed: if cut < 7 { 7 - cut } else { bytes.len() - cut } });
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&bytes, Direction::GuestToHost);
        let _ = decode(&bytes, Direction::HostToGuest);
    }

    #[test]
    fn arbitrary_bodies_behind_valid_headers_never_panic(op in 0u8..=8, body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut bytes = vec![op];
        bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&1u16.to_le_bytes());
        bytes.extend_from_slice(&body);
        for direction in [Direction::GuestToHost, Direction::HostToGuest] {
            if let Ok(Decoded::Complete { message, consumed }) = decode(&bytes, direction) {
                prop_assert_eq!(consumed, bytes.len());
                prop_assert_eq!(message.operation() as u8, op);
            }
        }
    }

    #[test]
    fn version_other_than_0_1_is_rejected(m in message(), version in any::<u16>().prop_filter("not 1", |v| *v != 1)) {
        let mut bytes = m.to_bytes();
        bytes[5..7].copy_from_slice(&version.to_le_bytes());
        prop_assert_eq!(decode(&bytes, direction(&m)), Err(DecodeError::UnsupportedVersion { version }));
    }

    #[test]
    fn unknown_operation_is_rejected(code in 9u8..) {
        let bytes = [code, 0, 0, 0, 0, 1, 0];
        prop_assert_eq!(decode(&bytes, Direction::GuestToHost), Err(DecodeError::UnknownOperation { code }));
    }

    #[test]
    fn request_sizes_above_the_cap_are_rejected_from_the_header_alone(op in prop_oneof![Just(1u8), Just(3u8), Just(5u8)], size in 332u32..) {
        let mut bytes = vec![op];
        bytes.extend_from_slice(&size.to_le_bytes());
        bytes.extend_from_slice(&1u16.to_le_bytes());
        let is_size_error = matches!(decode(&bytes, Direction::GuestToHost), Err(DecodeError::BodySize { .. }));
        prop_assert!(is_size_error);
    }

    #[test]
    fn scan_request_ssid_len_out_of_range(len in 33u8..) {
        let mut bytes = HostBound::Scan(ScanRequest { ssid: None }).to_bytes();
        bytes[7] = len;
        prop_assert_eq!(
            decode(&bytes, Direction::GuestToHost).unwrap_err().to_string(),
            format!("scan request: ssid_len is {len}, at most 32")
        );
    }

    #[test]
    fn connect_request_counts_out_of_range(req in connect_request(), ssid_len in 33u8.., akm in 3u8.., pairwise in 6u8..) {
        let good = HostBound::Connect(req).to_bytes();
        let mut bytes = good.clone();
        bytes[7] = ssid_len;
        prop_assert_eq!(
            decode(&bytes, Direction::GuestToHost).unwrap_err().to_string(),
            format!("connect request: ssid_len is {ssid_len}, at most 32")
        );
        let mut bytes = good.clone();
        bytes[7 + 41] = akm;
        prop_assert_eq!(
            decode(&bytes, Direction::GuestToHost).unwrap_err().to_string(),
            format!("connect request: num_akm_suites is {akm}, at most 2")
        );
        let mut bytes = good.clone();
        bytes[7 + 50] = pairwise;
        prop_assert_eq!(
            decode(&bytes, Direction::GuestToHost).unwrap_err().to_string(),
            format!("connect request: num_pairwise_cipher_suites is {pairwise}, at most 5")
        );
    }

    #[test]
    fn connect_request_key_len_must_match_body(req in connect_request(), key_len in any::<u8>()) {
        let mut bytes = HostBound::Connect(req).to_bytes();
        let actual = bytes.len() - 7 - 76;
        prop_assume!(usize::from(key_len) != actual);
        bytes[7 + 75] = key_len;
        let expected = DecodeError::FieldMismatch {
            operation: Operation::ConnectRequest,
            field: "size (76 + key_len)",
            value: (76 + actual) as u64,
            expected: 76 + u64::from(key_len),
        };
        prop_assert_eq!(decode(&bytes, Direction::GuestToHost), Err(expected));
    }

    #[test]
    fn scan_response_counts_out_of_range(entries in proptest::collection::vec(bss_entry(), 0..4), extra in 1u32..) {
        let response = GuestBound::ScanResponse(ScanResponse { scan_complete: true, bss: entries.clone() });
        let good = response.to_bytes();
        let body_len = good.len() - 7;

        // num_bss larger than the body can hold.
        let max = ((body_len - 9) / 26) as u32;
        let mut bytes = good.clone();
        let claimed = max.saturating_add(extra);
        bytes[8..12].copy_from_slice(&claimed.to_le_bytes());
        let num_bss_error = matches!(
            decode(&bytes, Direction::HostToGuest),
            Err(DecodeError::FieldTooLarge { field: "num_bss", .. })
        );
        prop_assert!(num_bss_error);

        // total_size different from the body size.
        let mut bytes = good.clone();
        let wrong_total = (body_len as u32).wrapping_add(extra);
        bytes[12..16].copy_from_slice(&wrong_total.to_le_bytes());
        let total_error = matches!(
            decode(&bytes, Direction::HostToGuest),
            Err(DecodeError::FieldMismatch { field: "total_size", .. })
        );
        prop_assert!(total_error);

        // An entry's IEs pushed past the end of the body.
        if !entries.is_empty() {
            let mut bytes = good.clone();
            let ie_offset_at = 7 + 9 + 22;
            let offset = u32::from_le_bytes(bytes[ie_offset_at..ie_offset_at + 4].try_into().unwrap());
            bytes[ie_offset_at..ie_offset_at + 4].copy_from_slice(&offset.saturating_add(body_len as u32).to_le_bytes());
            let ie_error = matches!(decode(&bytes, Direction::HostToGuest), Err(DecodeError::IesOutOfBounds { index: 0, .. }));
            prop_assert!(ie_error);
        }
    }

    #[test]
    fn requests_are_refused_on_the_guest_side_and_answers_on_the_host_side(m in message()) {
        let bytes = m.to_bytes();
        let other = match direction(&m) {
            Direction::GuestToHost => Direction::HostToGuest,
            Direction::HostToGuest => Direction::GuestToHost,
        };
        let is_direction_error = matches!(decode(&bytes, other), Err(DecodeError::WrongDirection { .. }));
        prop_assert!(is_direction_error);
    }
}

#[test]
fn error_messages_name_the_field_and_value() {
    let mut bytes = hex_connect_open();
    bytes[7 + 41] = 7;
    assert_eq!(
        decode(&bytes, Direction::GuestToHost).unwrap_err().to_string(),
        "connect request: num_akm_suites is 7, at most 2"
    );
    let header = [3u8, 0xff, 0xff, 0xff, 0xff, 1, 0];
    assert_eq!(
        decode(&header, Direction::GuestToHost).unwrap_err().to_string(),
        "connect request: size is 4294967295, expected between 76 and 331"
    );
    let header = [1u8, 33, 0, 0, 0, 2, 0];
    assert_eq!(
        decode(&header, Direction::GuestToHost).unwrap_err().to_string(),
        "header: version is 0x0002, only 0x0001 (0.1) is supported"
    );
    let header = [2u8, 9, 0, 0, 0, 1, 0];
    assert_eq!(
        decode(&header, Direction::GuestToHost).unwrap_err().to_string(),
        "header: scan response (operation 2) is not sent from guest to host"
    );
}

#[test]
fn header_claiming_4_gib_is_refused_before_any_body() {
    for op in [1u8, 3, 5] {
        let header = [op, 0, 0, 0, 0x01, 1, 0];
        assert!(matches!(decode(&header, Direction::GuestToHost), Err(DecodeError::BodySize { .. })));
    }
    let header = [2u8, 0xff, 0xff, 0xff, 0xff, 1, 0];
    assert!(matches!(decode(&header, Direction::HostToGuest), Err(DecodeError::BodySize { .. })));
}

fn hex_connect_open() -> Vec<u8> {
    HostBound::Connect(ConnectRequest::open(Ssid::new(b"FakeOpen").unwrap())).to_bytes()
}

/// Overlapping IE ranges, each inside the body, whose sizes add up to more than the body:
/// refused (the guest driver refuses the same bytes), so a decoded answer never holds
/// more IE bytes than were sent.
#[test]
fn overlapping_ies_adding_up_to_more_than_the_body_are_refused() {
    let hex = "02 47000000 0100  01 02000000 47000000 \
               020000000099 0100 d8ffffff 6400 60ce2400 28000000 00000000 \
               02000000009a 0100 d8ffffff 6400 60ce2400 24000000 00000000 \
               00000000000000000000";
    let bytes: Vec<u8> = hex
        .split_whitespace()
        .collect::<String>()
        .as_bytes()
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect();
    let error = decode(&bytes, Direction::HostToGuest).unwrap_err();
    assert!(
        matches!(error, DecodeError::FieldTooLarge { field: "ie_size (all entries together)", value: 76, max: 71, .. }),
        "{error:?}"
    );
    // The same entries with the second one's IEs cut to fit are accepted.
    let mut fitting = bytes.clone();
    let second_ie_size = 7 + 9 + 26 + 18;
    fitting[second_ie_size..second_ie_size + 4].copy_from_slice(&31u32.to_le_bytes());
    assert!(decode(&fitting, Direction::HostToGuest).is_ok());
}
