//! Whole-service scenarios on the fake WLAN service: a [`Service`] over loopback TCP with the
//! WLAN backend and a guest client, to show what the guest sees.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proxy_wifi_protocol::{
    AuthType, Bssid, ConnectRequest, DisconnectedNotification, GuestBound, Security, SecurityKind, SessionId,
    SignalQualityNotification, StatusCode,
};

use super::api::{WlanError, win32};
use super::backend::WlanBackend;
use super::fake::{FakeTimings, FakeWlanApi};
use super::test_data::*;
use crate::handler::Timeouts;
use crate::observer::{ConnectRequestArgs, ConnectionArgs, Observer, OperationType};
use crate::{FakeNetwork, Service, ServiceHandle, TransportSettings};
use proxy_wifi_guest::{GuestClient, GuestConfig, GuestTransport, NotificationListener};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Recorder {
    fn log(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl Observer for Recorder {
    fn on_host_connection(&self, c: &ConnectionArgs) {
        self.0.lock().unwrap().push(format!("host-connected {} {}", c.ssid, c.auth));
    }
    fn on_host_disconnection(&self, c: &ConnectionArgs) {
        self.0.lock().unwrap().push(format!("host-disconnected {}", c.ssid));
    }
    fn authorize_guest_connection_request(
        &self,
        kind: OperationType,
        r: &ConnectRequestArgs,
    ) -> crate::observer::Authorization {
        self.0.lock().unwrap().push(format!("authorize {kind:?} {} {}", r.ssid, r.auth));
        crate::observer::Authorization::Approve
    }
}

struct Setup {
    fake: FakeWlanApi,
    service: ServiceHandle,
    guest: GuestClient,
    listener: NotificationListener,
    recorder: Arc<Recorder>,
}

const QUICK: FakeTimings = FakeTimings {
    scan: Duration::from_millis(200),
    connect: Duration::from_millis(50),
    disconnect: Duration::from_millis(20),
};

async fn service(fake: FakeWlanApi, backend: WlanBackend, timeouts: Timeouts) -> Setup {
    let mut config = GuestConfig::with_transport(GuestTransport::Tcp { host: LOOPBACK });
    config.notification_port = 0;
    // The driver's 10 ms read window is for a guest; on a loaded test machine a
    // notification's bytes can come later than that, and a dropped one (a coalesced signal
    // update) is not sent again: this reader waits for them.
    config.notification_read_timeout = Duration::from_secs(2);
    let listener = NotificationListener::bind(&config).await.unwrap();
    let recorder = Arc::new(Recorder::default());
    let service = Service::builder(TransportSettings::tcp(LOOPBACK, 0, None, listener.local_port()))
        .allow_tcp_host_mode(true)
        .fake_networks(|| vec![FakeNetwork::new("fake-net", Bssid([0x02, 0xfa, 0xce, 0, 0, 1]))])
        .host_backend(Box::new(backend))
        .observer(recorder.clone())
        .timeouts(timeouts)
        .start()
        .unwrap();
    config.request_port = service.request_tcp_addr().unwrap().port();
    config.notification_port = listener.local_port();
    config.io_timeout = Duration::from_secs(15);
    let guest = GuestClient::new(config);
    Setup { fake, service, guest, listener, recorder }
}

async fn service_with(fake: FakeWlanApi) -> Setup {
    fake.set_timings(QUICK);
    let backend = WlanBackend::new(Arc::new(fake.clone()));
    service(fake, backend, Timeouts::default()).await
}

/// The connection of the (only) guest.
fn guest_connection(service: &ServiceHandle) -> Option<crate::status::ConnectionStatus> {
    service.status().board.guests.into_values().next().and_then(|g| g.connection)
}

/// Waits (real time) until `condition` holds.
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..500 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting until {what}");
}

async fn next_notification(listener: &mut NotificationListener) -> GuestBound {
    tokio::time::timeout(Duration::from_secs(5), listener.next()).await.expect("a notification").unwrap()
}

#[tokio::test]
async fn service_host_disconnection_under_the_guest_connection_notifies_the_guest() {
    let mut s = service_with(fake_with(&[IF1], vec![home(), cafe()], vec![])).await;
    eventually("the interface is registered", || s.service.status().board.interfaces.len() == 2).await;

    let scan = s.guest.scan(None).await.unwrap();
    assert!(scan.scan_complete);
    let connected = s.guest.connect(psk_request("home", HOME_PASSPHRASE)).await.unwrap();
    assert_eq!(connected.result_code, StatusCode::SUCCESS);
    assert_eq!(connected.bssid, bssid(1));
    assert_eq!(s.fake.connected_to(IF1), Some(ssid("home")));

    s.fake.host_disconnect(IF1);
    loop {
        match next_notification(&mut s.listener).await {
            GuestBound::NotifDisconnected(n) => {
                assert_eq!(n, DisconnectedNotification { session_id: connected.session_id });
                break;
            }
            // Results of the host scan the guest's scan started.
            GuestBound::ScanResponse(_) => continue,
            other => panic!("{other:?}"),
        }
    }
    eventually("the observer heard of it", || s.recorder.log().contains(&"host-disconnected home".to_owned())).await;
    // The status is published at the end of the handler's work item, after the notification.
    eventually("the guest connection is forgotten", || guest_connection(&s.service).is_none()).await;
}

#[tokio::test]
async fn service_guest_connect_then_disconnect_leaves_the_host_network() {
    let mut s = service_with(fake_with(&[IF1], vec![cafe()], vec![])).await;
    eventually("the interface is registered", || s.service.status().board.interfaces.len() == 2).await;
    let mut request = ConnectRequest::open(ssid("cafe"));
    request.auth_type = AuthType::Automatic;
    let connected = s.guest.connect(request).await.unwrap();
    assert_eq!(connected.result_code, StatusCode::SUCCESS);
    assert_eq!(connected.session_id, SessionId(1));

    s.guest.disconnect(connected.session_id).await.unwrap();
    assert_eq!(s.fake.calls().disconnects, 1);
    assert_eq!(s.fake.connected_to(IF1), None);
    // The guest's own disconnection is not notified back to it.
    let quiet = tokio::time::timeout(Duration::from_millis(300), s.listener.next()).await;
    assert!(quiet.is_err(), "{quiet:?}");
}

#[tokio::test]
async fn service_guest_mirrors_a_host_connection_to_an_enterprise_network() {
    let fake = fake_with(&[IF1], vec![corp(), home()], vec![]);
    fake.connect_quietly(IF1, "corp");
    let s = service_with(fake).await;
    eventually("the interface is registered", || s.service.status().board.interfaces.len() == 2).await;

    let scan = s.guest.scan(None).await.unwrap();
    let corp_entry = scan.bss.iter().find(|b| b.bssid == bssid(3)).expect("corp listed");
    assert_eq!(Security::from_bss(corp_entry.capabilities, &corp_entry.ies).kind, SecurityKind::Wpa2Psk);
    assert!(scan.bss.iter().any(|b| b.ssid() == Some(ssid("fake-net"))), "fake networks first");

    let mirrored = s.guest.connect(psk_request("corp", "any key at all")).await.unwrap();
    assert_eq!(mirrored.result_code, StatusCode::SUCCESS);
    assert_eq!(mirrored.bssid, bssid(3));
    assert!(s.fake.calls().connects.is_empty(), "the host was not touched");
    assert!(s.recorder.log().contains(&"authorize HostMirroring corp wpa2-psk".to_owned()), "{:?}", s.recorder.log());
    assert!(s.recorder.log().contains(&"host-connected corp wpa2-psk".to_owned()));
}

#[tokio::test]
async fn service_signal_quality_reaches_the_guest_for_its_interface_only() {
    let fake = fake_with(&[IF1, IF2], vec![home()], vec![]);
    let mut s = service_with(fake).await;
    eventually("the interfaces are registered", || s.service.status().board.interfaces.len() == 3).await;
    let connected = s.guest.connect(psk_request("home", HOME_PASSPHRASE)).await.unwrap();
    assert_eq!(connected.result_code, StatusCode::SUCCESS);
    let backing = guest_connection(&s.service).unwrap().interface_id;
    let (mine, other) = if backing == IF1.to_string() { (IF1, IF2) } else { (IF2, IF1) };

    s.fake.set_signal_quality(other, 10);
    s.fake.set_signal_quality(mine, 61);
    assert_eq!(
        next_notification(&mut s.listener).await,
        GuestBound::NotifSignalQuality(SignalQualityNotification::from_link_quality(61))
    );
}

#[tokio::test]
async fn service_pushes_host_scan_results_and_follows_arrivals() {
    let fake = fake_with(&[], vec![], vec![home(), cafe()]);
    let mut s = service_with(fake).await;
    let first = s.guest.scan(None).await.unwrap();
    assert_eq!(first.bss.len(), 1, "only the fake network before any Wi-Fi interface");

    s.fake.add_connected_interface(IF2, "cafe");
    eventually("the interface arrived", || s.service.status().board.interfaces.len() == 2).await;
    eventually("the observer heard of its connection", || {
        s.recorder.log().contains(&"host-connected cafe open".to_owned())
    })
    .await;

    let cached = s.guest.scan(None).await.unwrap();
    assert!(cached.scan_complete);
    assert!(cached.bss.iter().any(|b| b.bssid == bssid(2)), "the connected BSS is in the cache");
    loop {
        if let GuestBound::ScanResponse(pushed) = next_notification(&mut s.listener).await {
            assert!(pushed.scan_complete);
            if pushed.bss.iter().any(|b| b.bssid == bssid(1)) {
                break;
            }
        }
    }
}

#[tokio::test]
async fn service_connect_timeout_and_interface_removal_during_a_connect() {
    let fake = fake_with(&[IF1], vec![home()], vec![]);
    fake.set_timings(QUICK);
    fake.set_connects_complete(false);
    let timeouts = Timeouts { connect: Duration::from_millis(400), ..Timeouts::default() };
    let s = service(fake.clone(), WlanBackend::new(Arc::new(fake.clone())), timeouts).await;
    eventually("the interface is registered", || s.service.status().board.interfaces.len() == 2).await;

    let started = std::time::Instant::now();
    let timed_out = s.guest.connect(psk_request("home", HOME_PASSPHRASE)).await.unwrap();
    assert_eq!(timed_out.result_code, StatusCode::REJECTED_SEQUENCE_TIMEOUT);
    assert!(started.elapsed() >= Duration::from_millis(400));

    // A connect that would take long is ended by the interface's removal.
    fake.set_connects_complete(true);
    fake.set_timings(FakeTimings { connect: Duration::from_secs(30), ..QUICK });
    let slow = Timeouts { connect: Duration::from_secs(20), ..Timeouts::default() };
    drop(s);
    let s = service(fake.clone(), WlanBackend::new(Arc::new(fake.clone())), slow).await;
    eventually("the interface is registered", || s.service.status().board.interfaces.len() == 2).await;
    let guest = s.guest.clone();
    let pending = tokio::spawn(async move { guest.connect(psk_request("home", HOME_PASSPHRASE)).await });
    eventually("the host was asked", || fake.calls().connects.len() == 2).await;
    let started = std::time::Instant::now();
    fake.remove_interface(IF1);
    let ended = pending.await.unwrap().unwrap();
    assert_eq!(ended.result_code, StatusCode::UNSPECIFIED_FAILURE);
    assert!(started.elapsed() < Duration::from_secs(5));
    eventually("the interface is gone", || s.service.status().board.interfaces.len() == 1).await;
}

#[tokio::test]
async fn service_without_wlan_service_serves_the_fake_networks() {
    let fake = FakeWlanApi::new();
    let backend = WlanBackend::from_opener(|| Err(WlanError::new("WlanOpenHandle", win32::ERROR_SERVICE_NOT_ACTIVE)));
    let s = service(fake, backend, Timeouts::default()).await;
    let scan = s.guest.scan(None).await.unwrap();
    assert!(scan.scan_complete);
    assert_eq!(scan.bss.iter().map(|b| b.ssid().unwrap().to_string()).collect::<Vec<_>>(), ["fake-net"]);
    let mirrored = s.guest.connect(psk_request("fake-net", "anything")).await.unwrap();
    assert_eq!(mirrored.result_code, StatusCode::SUCCESS);
    assert_eq!(s.service.status().board.interfaces.len(), 1);
}

/// Issue 13: a guest connecting again to the network it is on got success, then
/// NOTIF_DISCONNECTED for the new session (the WLAN service's disconnected notification
/// of the old link came after the answer), and its retry with a wrong key was mirrored.
#[tokio::test]
async fn service_guest_reconnecting_to_its_network_keeps_the_new_link() {
    let mut s = service_with(fake_with(&[IF1], vec![home()], vec![])).await;
    eventually("the interface is registered", || s.service.status().board.interfaces.len() == 2).await;
    let first = s.guest.connect(psk_request("home", HOME_PASSPHRASE)).await.unwrap();
    assert_eq!(first.result_code, StatusCode::SUCCESS);
    let again = s.guest.connect(psk_request("home", HOME_PASSPHRASE)).await.unwrap();
    assert_eq!((again.result_code, again.session_id), (StatusCode::SUCCESS, SessionId(2)));
    let late = tokio::time::timeout(Duration::from_millis(500), s.listener.next()).await;
    assert!(late.is_err(), "nothing for the new session: {late:?}");
    assert_eq!(guest_connection(&s.service).map(|c| c.session_id), Some(2));

    let wrong = s.guest.connect(psk_request("home", "not the passphrase")).await.unwrap();
    assert_ne!(wrong.result_code, StatusCode::SUCCESS, "a wrong key is never mirrored");
    assert_eq!(s.fake.connected_to(IF1), None, "the host left the guest's network");
    assert!(!s.recorder.log().iter().any(|l| l.starts_with("authorize HostMirroring")), "{:?}", s.recorder.log());
}
