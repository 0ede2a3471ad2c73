//! Guests of the older driver generation (`GuestAbi::Legacy`): scan answers without
//! `scan_complete`, never a scan-results notification; per guest in multi-guest mode.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use proxy_wifi::protocol::{
    ConnectRequest, Decoded, GuestAbi, GuestBound, HostBound, Operation, ScanRequest, SignalQualityNotification, Ssid,
};
use proxy_wifi::{ScanMode, Service, TransportSettings};
use proxy_wifi_guest::{GuestClient, GuestConfig, GuestError, GuestTransport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Sends `request` on `stream` and returns the raw answer bytes.
async fn raw_request(mut stream: TcpStream, request: &HostBound) -> Vec<u8> {
    stream.write_all(&request.to_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut bytes)).await.unwrap().unwrap();
    bytes
}

/// Sends one scan request from `stream` and returns the raw answer bytes.
async fn raw_scan(stream: TcpStream) -> Vec<u8> {
    raw_request(stream, &HostBound::Scan(ScanRequest::default())).await
}

/// Connects the guest to `FakeOpen` (so host events about that interface concern it).
async fn connect_open(addr: SocketAddr) {
    let request = HostBound::Connect(ConnectRequest::open(Ssid::new(b"FakeOpen").unwrap()));
    let answer = raw_request(TcpStream::connect(addr).await.unwrap(), &request).await;
    assert_eq!(answer[0], Operation::ConnectResponse as u8);
    assert_eq!(&answer[7..9], &[0, 0], "connect succeeded");
}

/// The whole message in `bytes`, read in the layout `abi` (panics if it is not exactly one).
fn decode_whole(bytes: &[u8], abi: GuestAbi) -> GuestBound {
    match GuestBound::decode_frame_as(bytes, abi).unwrap() {
        Decoded::Complete { message, consumed } if consumed == bytes.len() => message,
        other => panic!("not one whole {abi} message: {other:?}"),
    }
}

/// The operation of each notification connection made to `listener` within `wait`.
async fn notifications_within(listener: &TcpListener, wait: Duration) -> Vec<Operation> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Ok((mut stream, _))) = tokio::time::timeout_at(deadline, listener.accept()).await {
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await.unwrap();
        seen.push(Operation::from_code(bytes[0]).unwrap());
    }
    seen
}

#[tokio::test]
async fn a_legacy_guest_gets_the_legacy_layout_and_no_scan_results_notification() {
    // The guest's notification listener, read raw: what the service sends, not what a
    // client accepts.
    let notifications = TcpListener::bind((common::LOOPBACK, 0)).await.unwrap();
    let service =
        Service::builder(TransportSettings::tcp(common::LOOPBACK, 0, None, notifications.local_addr().unwrap().port()))
            .mode(proxy_wifi::OperationMode::Simulated)
            .guest_abi(GuestAbi::Legacy)
            .start()
            .unwrap();
    let addr = service.request_tcp_addr().unwrap();
    let simulation = service.simulation().unwrap();
    simulation.set_scan_mode(ScanMode::Asynchronous);

    // The answer is exactly one legacy message: 8-byte fixed part, no scan_complete.
    let bytes = raw_scan(TcpStream::connect(addr).await.unwrap()).await;
    let GuestBound::ScanResponse(response) = decode_whole(&bytes, GuestAbi::Legacy) else {
        panic!("not a scan answer")
    };
    assert_eq!(response.bss.len(), 1, "async mode answers with the first network only");
    assert_eq!(u32::from_le_bytes(bytes[1..5].try_into().unwrap()) as usize, 8 + 26 + response.bss[0].ies.len());

    // The scan stays open on the service's side; the rest of it would come as a
    // notification: a legacy guest is not sent it, while a signal update still reaches it.
    connect_open(addr).await;
    simulation.send_scan_results();
    simulation.set_signal_quality(40);
    let seen = notifications_within(&notifications, Duration::from_secs(2)).await;
    assert!(!seen.contains(&Operation::ScanResponse), "a legacy guest got scan results: {seen:?}");
    assert!(seen.contains(&Operation::NotifSignalQuality), "the signal update is missing: {seen:?}");
    service.stop();
}

#[tokio::test]
async fn the_guest_client_speaks_either_generation_and_a_mismatch_is_an_error() {
    let setup = common::simulated_with(|builder| builder.guest_abi(GuestAbi::Legacy)).await;
    let mut legacy_config = setup.guest.config().clone();
    legacy_config.abi = GuestAbi::Legacy;
    let legacy = GuestClient::new(legacy_config).scan(None).await.unwrap();
    assert_eq!(legacy.bss.len(), 3);
    assert!(legacy.scan_complete);

    // Today's client reads the legacy bytes one field off: the checks catch it.
    let error = setup.guest.scan(None).await.unwrap_err();
    assert!(matches!(error, GuestError::Decode { .. }), "{error}");
    setup.service.stop();
}

#[cfg(unix)]
#[tokio::test]
async fn each_guest_of_a_multi_guest_service_has_its_own_generation() {
    let current_ip: std::net::IpAddr = "127.0.0.2".parse().unwrap();
    let legacy_ip: std::net::IpAddr = "127.0.0.3".parse().unwrap();
    let service =
        Service::builder(TransportSettings::TcpMulti { listen: "127.0.0.1:0".parse().unwrap(), notification_port: 9 })
            .mode(proxy_wifi::OperationMode::Simulated)
            .guest_abi_for(proxy_wifi::GuestId::Tcp(legacy_ip), GuestAbi::Legacy)
            .start()
            .unwrap();
    let addr = service.request_tcp_addr().unwrap();
    let from = |ip| async move {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(ip, 0)).unwrap();
        socket.connect(addr).await.unwrap()
    };
    let current = raw_scan(from(current_ip).await).await;
    let legacy = raw_scan(from(legacy_ip).await).await;
    assert_eq!(current.len(), legacy.len() + 1);
    assert_eq!(decode_whole(&current, GuestAbi::Current), decode_whole(&legacy, GuestAbi::Legacy));
    service.stop();
}

#[tokio::test]
async fn a_legacy_client_skips_scan_results_sent_as_notifications() {
    // A service of today's layout sends scan results; a listener of the legacy generation
    // takes only the signal update that follows, as the old driver does.
    let mut config = GuestConfig::with_transport(GuestTransport::Tcp { host: common::LOOPBACK });
    config.notification_port = 0;
    config.abi = GuestAbi::Legacy;
    let mut legacy_listener = proxy_wifi_guest::NotificationListener::bind(&config).await.unwrap();
    let service = common::builder_for(&legacy_listener).start().unwrap();
    let addr = service.request_tcp_addr().unwrap();
    let simulation = service.simulation().unwrap();
    simulation.set_scan_mode(ScanMode::Asynchronous);
    let _ = raw_scan(TcpStream::connect(addr).await.unwrap()).await;
    connect_open(addr).await;
    simulation.send_scan_results();
    simulation.set_signal_quality(40);
    assert_eq!(
        common::next_notification(&mut legacy_listener).await,
        GuestBound::NotifSignalQuality(SignalQualityNotification { signal_dbm: -80 })
    );
    service.stop();
}
