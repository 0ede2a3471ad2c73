//! End-to-end over real TCP sockets: a test guest that behaves like the driver (one
//! request per connection, notification listener with a 10 ms read timeout) against the
//! service in simulated mode.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use proxy_wifi::HostNetworkKind;
use proxy_wifi::protocol::{
    ConnectRequest, DisconnectedNotification, GuestBound, HostBound, Pmk, Security, SecurityKind, SessionId,
    SignalQualityNotification, Ssid, StatusCode,
};
use proxy_wifi::{Authorization, ConnectRequestArgs, FakeNetwork, Observer, OperationType, ScanMode};
use proxy_wifi_guest::{DEFAULT_SCAN_WAIT, scan_until_complete};

fn ssid(s: &str) -> Ssid {
    Ssid::new(s.as_bytes()).unwrap()
}

fn psk_request(name: &str, passphrase: &str) -> ConnectRequest {
    let ssid = ssid(name);
    ConnectRequest::wpa2_psk(ssid, Pmk::derive(passphrase.as_bytes(), &ssid))
}

#[tokio::test]
async fn scan_shows_the_three_simulated_networks() {
    let s = simulated().await;
    let response = s.guest.scan(None).await.unwrap();
    assert!(response.scan_complete);
    let names: Vec<String> = response.bss.iter().map(|b| b.ssid().unwrap().to_string()).collect();
    assert_eq!(names, ["FakeWpa2Psk", "FakeOpen", "Fake6GHz"]);
    let psk = &response.bss[0];
    assert_eq!((psk.frequency_khz, psk.rssi_dbm), (2_432_000, -50));
    assert_eq!(Security::from_bss(psk.capabilities, &psk.ies).kind, SecurityKind::Wpa2Psk);
    assert_eq!(Security::from_bss(response.bss[2].capabilities, &response.bss[2].ies).kind, SecurityKind::Open);
}

#[tokio::test]
async fn connect_with_right_and_wrong_pmk_then_disconnect() {
    let s = simulated().await;
    let wrong = s.guest.connect(psk_request("FakeWpa2Psk", "not-the-passphrase")).await.unwrap();
    assert_eq!(wrong.result_code, StatusCode::CHALLENGE_FAILURE);
    assert_eq!(wrong.session_id, SessionId(1));
    let right = s.guest.connect(psk_request("FakeWpa2Psk", "secretsecret")).await.unwrap();
    assert_eq!(right.result_code, StatusCode::SUCCESS);
    assert_eq!(right.bssid.to_string(), "00:00:00:00:00:01");
    assert_eq!(right.session_id, SessionId(2));
    assert!(connection(&s.service).is_some());
    s.guest.disconnect(right.session_id).await.unwrap();
    assert!(connection(&s.service).is_none());
    assert_eq!(s.service.simulation().unwrap().host_connection(), None);
}

#[tokio::test]
async fn signal_and_host_disconnection_reach_the_guest() {
    let mut s = simulated().await;
    let open = s.guest.connect(ConnectRequest::open(ssid("FakeOpen"))).await.unwrap();
    assert_eq!(open.result_code, StatusCode::SUCCESS);
    let sim = s.service.simulation().unwrap();
    sim.set_signal_quality(40);
    assert_eq!(
        next_notification(&mut s.listener).await,
        GuestBound::NotifSignalQuality(SignalQualityNotification { signal_dbm: -80 })
    );
    sim.host_disconnect().unwrap();
    assert_eq!(
        next_notification(&mut s.listener).await,
        GuestBound::NotifDisconnected(DisconnectedNotification { session_id: open.session_id })
    );
    // The status is published at the end of the handler's work item, which can come a
    // moment after the notification reached the guest.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while connection(&s.service).is_some() {
        assert!(std::time::Instant::now() < deadline, "the lost connection is still on the status board");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn guest_disconnect_is_not_notified_back() {
    let mut s = simulated().await;
    let open = s.guest.connect(ConnectRequest::open(ssid("FakeOpen"))).await.unwrap();
    s.guest.disconnect(open.session_id).await.unwrap();
    assert!(no_notification(&mut s.listener, Duration::from_millis(300)).await);
}

#[tokio::test]
async fn host_connection_is_mirrored_and_the_host_left_alone() {
    let mut s = simulated().await;
    let sim = s.service.simulation().unwrap();
    sim.host_connect(HostNetworkKind::Psk).unwrap();
    // No key at all: mirroring needs none.
    let mirrored = s.guest.connect(ConnectRequest::open(ssid("FakeWpa2Psk"))).await.unwrap();
    assert_eq!(mirrored.result_code, StatusCode::SUCCESS);
    s.guest.disconnect(mirrored.session_id).await.unwrap();
    assert!(sim.host_connection().is_some(), "the host keeps its connection");
    assert!(no_notification(&mut s.listener, Duration::from_millis(200)).await);
}

#[tokio::test]
async fn asynchronous_scan_completes_by_notification() {
    let mut s = simulated().await;
    s.service.simulation().unwrap().set_scan_mode(ScanMode::Asynchronous);
    let first = s.guest.scan(None).await.unwrap();
    assert!(!first.scan_complete);
    assert_eq!(first.bss.len(), 1);
    let outcome = scan_until_complete(&s.guest, Some(&mut s.listener), None, DEFAULT_SCAN_WAIT).await.unwrap();
    assert!(outcome.completed);
    assert_eq!(outcome.bss.len(), 3);
}

#[tokio::test]
async fn fake_networks_come_first_and_are_always_connected() {
    let s =
        simulated_with(|b| b.fake_networks(|| vec![FakeNetwork::new("Corp", "02:aa:00:00:00:01".parse().unwrap())]))
            .await;
    let response = s.guest.scan(None).await.unwrap();
    assert_eq!(response.bss[0].ssid().unwrap(), ssid("Corp"));
    assert_eq!(response.bss.len(), 4);
    let r = s.guest.connect(psk_request("Corp", "anything-at-all")).await.unwrap();
    assert_eq!(r.result_code, StatusCode::SUCCESS);
    let connection = connection(&s.service).unwrap();
    assert_eq!(connection.interface, "fake-networks");
    assert_eq!(connection.interface_id, "1b57e649-a1df-482f-85c2-a16063836418");
}

struct DenyDirected(Mutex<Vec<String>>);

impl Observer for DenyDirected {
    fn authorize_guest_connection_request(&self, kind: OperationType, request: &ConnectRequestArgs) -> Authorization {
        self.0.lock().unwrap().push(format!("{kind:?} {}", request.ssid));
        match kind {
            OperationType::GuestDirected => Authorization::Deny,
            OperationType::HostMirroring => Authorization::Approve,
        }
    }
}

#[tokio::test]
async fn observer_veto_is_honoured() {
    let observer = Arc::new(DenyDirected(Mutex::new(Vec::new())));
    let s = simulated_with(|b| b.observer(observer.clone())).await;
    let r = s.guest.connect(ConnectRequest::open(ssid("FakeOpen"))).await.unwrap();
    assert_eq!(r.result_code, StatusCode::DENIED_OTHER_REASON);
    assert_eq!(*observer.0.lock().unwrap(), ["GuestDirected FakeOpen"]);
}

#[tokio::test]
async fn notifications_before_the_first_request_are_dropped() {
    let mut s = simulated().await;
    s.service.simulation().unwrap().send_scan_results();
    assert!(no_notification(&mut s.listener, Duration::from_millis(300)).await);
    s.guest.scan(None).await.unwrap();
    s.service.simulation().unwrap().send_scan_results();
    assert!(matches!(next_notification(&mut s.listener).await, GuestBound::ScanResponse(r) if r.scan_complete));
    let status = s.service.status();
    assert_eq!(status.transport.notifications_gated, 1);
}

#[tokio::test]
async fn stop_frees_the_port_and_a_new_service_can_start() {
    let listener = guest_listener().await;
    let service = builder_for(&listener).start().unwrap();
    let addr = service.request_tcp_addr().unwrap();
    service.shutdown().await;
    drop(service);
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "listener closed");
    let again = proxy_wifi::Service::builder(proxy_wifi::TransportSettings::tcp(
        addr.ip(),
        addr.port(),
        None,
        listener.local_port(),
    ))
    .mode(proxy_wifi::OperationMode::Simulated)
    .start()
    .expect("same port again");
    again.stop();
}

#[test]
fn usable_from_plain_synchronous_code() {
    let service = proxy_wifi::Service::builder(proxy_wifi::TransportSettings::tcp(LOOPBACK, 0, None, 9))
        .mode(proxy_wifi::OperationMode::Simulated)
        .start()
        .unwrap();
    let addr = service.request_tcp_addr().unwrap();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    use std::io::{Read, Write};
    stream.write_all(&HostBound::Scan(Default::default()).to_bytes()).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    assert_eq!(answer[0], 2, "a scan response");
    service.stop();
}
