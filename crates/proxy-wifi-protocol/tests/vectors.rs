//! Golden vectors: each decodes to the documented values and re-encodes to the same bytes.

use proxy_wifi_protocol::{
    AkmSuite, AuthType, BssEntry, Bssid, Capabilities, CipherSuite, ConnectRequest, ConnectResponse, DecodeError,
    Decoded, DisconnectRequest, DisconnectedNotification, GuestAbi, GuestBound, HostBound, Key, Pmk, RsnElement,
    ScanRequest, ScanResponse, SessionId, SignalQualityNotification, Ssid, StatusCode, WpaVersions, push_rsn_element,
    push_ssid_element,
};

fn vector(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/vectors/{name}.hex", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    hex::decode(text.trim()).unwrap()
}

/// Decodes the request vector, checks it equals `expected`, and that encoding gives the same bytes.
fn check_request(name: &str, expected: HostBound) {
    check(name, expected, HostBound::decode_frame, HostBound::to_bytes);
}

/// Decodes the answer or notification vector, checks it equals `expected`, and that
/// encoding gives the same bytes.
fn check_answer(name: &str, expected: GuestBound) {
    check(name, expected, GuestBound::decode_frame, GuestBound::to_bytes);
}

fn check<M: PartialEq + std::fmt::Debug>(
    name: &str,
    expected: M,
    decode: fn(&[u8]) -> Result<Decoded<M>, DecodeError>,
    encode: fn(&M) -> Vec<u8>,
) {
    let bytes = vector(name);
    let decoded = match decode(&bytes).unwrap() {
        Decoded::Complete { message, consumed } => {
            assert_eq!(consumed, bytes.len(), "{name}: consumed");
            message
        }
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(decoded, expected, "{name}: decoded value");
    assert_eq!(hex::encode(encode(&expected)), hex::encode(&bytes), "{name}: re-encoding");
}

/// Decodes the legacy-layout vector, checks it equals `expected` (legacy responses are
/// always complete), that it re-encodes to the same bytes, and that today's layout refuses
/// or misreads it (the two layouts cannot be told apart, only configured).
fn check_legacy(name: &str, expected: ScanResponse) {
    let bytes = vector(name);
    let message = GuestBound::ScanResponse(expected);
    match GuestBound::decode_frame_as(&bytes, GuestAbi::Legacy).unwrap() {
        Decoded::Complete { message: decoded, consumed } => {
            assert_eq!(consumed, bytes.len(), "{name}: consumed");
            assert_eq!(decoded, message, "{name}: decoded value");
        }
        other => panic!("{name}: {other:?}"),
    }
    assert_eq!(hex::encode(message.to_bytes_as(GuestAbi::Legacy)), hex::encode(&bytes), "{name}: re-encoding");
    assert_ne!(GuestBound::decode_frame(&bytes).ok(), Some(Decoded::Complete { message, consumed: bytes.len() }));
}

fn ssid(s: &str) -> Ssid {
    Ssid::new(s.as_bytes()).unwrap()
}

fn ies(name: &str, rsn: Option<RsnElement>) -> Vec<u8> {
    let mut out = Vec::new();
    push_ssid_element(&mut out, &ssid(name));
    if let Some(rsn) = rsn {
        push_rsn_element(&mut out, &rsn);
    }
    out
}

#[test]
fn scan_requests() {
    check_request("scan_request_all", HostBound::Scan(ScanRequest { ssid: None }));
    check_request("scan_request_targeted", HostBound::Scan(ScanRequest { ssid: Some(ssid("HiddenNet")) }));
}

#[test]
fn scan_response_empty() {
    check_answer("scan_response_empty", GuestBound::ScanResponse(ScanResponse { scan_complete: true, bss: vec![] }));
    assert_eq!(vector("scan_response_empty").len(), 7 + 9);
}

fn two_networks() -> ScanResponse {
    let rsn = RsnElement {
        version: 1,
        group_cipher: CipherSuite::Ccmp,
        pairwise_ciphers: vec![CipherSuite::Ccmp],
        akm_suites: vec![AkmSuite::Psk],
        capabilities: 0,
    };
    ScanResponse {
        scan_complete: true,
        bss: vec![
            BssEntry {
                bssid: Bssid([0, 0, 0, 0, 0, 1]),
                capabilities: Capabilities(0x0011),
                rssi_dbm: -50,
                beacon_interval: 100,
                frequency_khz: 2_432_000,
                ies: ies("FakeWpa2Psk", Some(rsn)),
            },
            BssEntry {
                bssid: Bssid([0, 0, 0, 0, 0, 2]),
                capabilities: Capabilities(0x0001),
                rssi_dbm: -67,
                beacon_interval: 100,
                frequency_khz: 5_240_000,
                ies: ies("FakeOpen", None),
            },
        ],
    }
}

fn one_6ghz_network(scan_complete: bool) -> ScanResponse {
    ScanResponse {
        scan_complete,
        bss: vec![BssEntry {
            bssid: Bssid([2, 0, 0, 0, 0, 3]),
            capabilities: Capabilities::ESS,
            rssi_dbm: -80,
            beacon_interval: 100,
            frequency_khz: 6_115_000,
            ies: ies("Fake6GHz", None),
        }],
    }
}

#[test]
fn scan_response_two() {
    check_answer("scan_response_two", GuestBound::ScanResponse(two_networks()));
}

#[test]
fn scan_response_partial() {
    check_answer("scan_response_partial", GuestBound::ScanResponse(one_6ghz_network(false)));
}

#[test]
fn legacy_scan_responses() {
    check_legacy("scan_response_legacy_empty", ScanResponse { scan_complete: true, bss: vec![] });
    assert_eq!(vector("scan_response_legacy_empty").len(), 7 + 8);
    check_legacy("scan_response_legacy_two", two_networks());
    check_legacy("scan_response_legacy_partial", one_6ghz_network(true));
}

#[test]
fn a_legacy_response_is_the_current_one_without_its_scan_complete_byte() {
    for (current, legacy) in [
        ("scan_response_empty", "scan_response_legacy_empty"),
        ("scan_response_two", "scan_response_legacy_two"),
        ("scan_response_partial", "scan_response_legacy_partial"),
    ] {
        let (current, legacy) = (vector(current), vector(legacy));
        assert_eq!(current.len(), legacy.len() + 1);
        // Header (size one smaller), then the body without byte 0; total_size one smaller.
        assert_eq!(&current[..1], &legacy[..1]);
        assert_eq!(
            u32::from_le_bytes(current[1..5].try_into().unwrap()) - 1,
            u32::from_le_bytes(legacy[1..5].try_into().unwrap())
        );
        assert_eq!(&current[8..12], &legacy[7..11]);
        assert_eq!(&current[16..], &legacy[15..]);
    }
}

#[test]
fn connect_request_wpa2psk() {
    let ssid = ssid("FakeWpa2Psk");
    check_request(
        "connect_request_wpa2psk",
        HostBound::Connect(ConnectRequest {
            ssid,
            bssid: Bssid::ZERO,
            auth_type: AuthType::OpenSystem,
            wpa_versions: WpaVersions::WPA2,
            akm_suites: vec![AkmSuite::Psk],
            pairwise_cipher_suites: vec![CipherSuite::Ccmp],
            group_cipher_suite: CipherSuite::Ccmp,
            key: Key::from(Pmk::derive(b"secretsecret", &ssid)),
        }),
    );
}

#[test]
fn connect_request_open() {
    check_request("connect_request_open", HostBound::Connect(ConnectRequest::open(ssid("FakeOpen"))));
}

#[test]
fn connect_request_sae() {
    check_request(
        "connect_request_sae",
        HostBound::Connect(ConnectRequest {
            ssid: ssid("HomeWpa3"),
            bssid: "a0:b1:c2:d3:e4:f5".parse().unwrap(),
            auth_type: AuthType::Sae,
            wpa_versions: WpaVersions::WPA3,
            akm_suites: vec![AkmSuite::Sae],
            pairwise_cipher_suites: vec![CipherSuite::Ccmp, CipherSuite::Gcmp],
            group_cipher_suite: CipherSuite::Ccmp,
            key: Key::new(b"correct horse").unwrap(),
        }),
    );
}

#[test]
fn connect_responses() {
    check_answer(
        "connect_response_success",
        GuestBound::ConnectResponse(ConnectResponse {
            result_code: StatusCode::SUCCESS,
            bssid: Bssid([0, 0, 0, 0, 0, 1]),
            session_id: SessionId(1),
        }),
    );
    check_answer(
        "connect_response_failure",
        GuestBound::ConnectResponse(ConnectResponse {
            result_code: StatusCode::UNSPECIFIED_FAILURE,
            bssid: Bssid::ZERO,
            session_id: SessionId(2),
        }),
    );
}

#[test]
fn disconnect_and_notifications() {
    check_request("disconnect_request", HostBound::Disconnect(DisconnectRequest { session_id: SessionId(1) }));
    check_answer("disconnect_response", GuestBound::DisconnectResponse);
    check_answer(
        "notif_disconnected",
        GuestBound::NotifDisconnected(DisconnectedNotification { session_id: SessionId(7) }),
    );
    check_answer("notif_signal_quality", GuestBound::NotifSignalQuality(SignalQualityNotification { signal_dbm: -70 }));
    check_answer("error_response", GuestBound::Invalid);
}

#[test]
fn bss_entry_ssid_helper_reads_the_ssid_element() {
    let bytes = vector("scan_response_two");
    let Decoded::Complete { message: GuestBound::ScanResponse(response), .. } =
        GuestBound::decode_frame(&bytes).unwrap()
    else {
        panic!("not a scan response")
    };
    assert_eq!(response.bss[0].ssid(), Some(ssid("FakeWpa2Psk")));
    assert_eq!(response.bss[1].frequency_mhz(), 5240);
}

#[test]
fn wpa2_psk_constructor_gives_the_request_of_the_vector() {
    let name = ssid("FakeWpa2Psk");
    let request = ConnectRequest::wpa2_psk(name, Pmk::derive(b"secretsecret", &name));
    assert_eq!(HostBound::Connect(request).to_bytes(), vector("connect_request_wpa2psk"));
    let sae = ConnectRequest::wpa3_sae(ssid("HomeWpa3"), b"correct horse").unwrap();
    assert_eq!(
        (sae.auth_type, sae.wpa_versions, sae.akm_suites.as_slice()),
        (AuthType::Sae, WpaVersions::WPA3, &[AkmSuite::Sae][..])
    );
    assert!(ConnectRequest::wpa3_sae(ssid("X"), &[b'p'; 256]).is_err());
}
