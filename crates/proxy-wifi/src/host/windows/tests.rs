//! Scenario tests of the WLAN-service backend against the fake WLAN service.
//!
//! Interface-level scenarios run the real backend (notification routing, arrival and
//! removal) with a test registrar, on tokio's paused clock. Service-level scenarios run a
//! whole [`Service`] over loopback TCP with a guest client, to show what the guest sees.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use proxy_wifi_protocol::{
    AuthType, Bssid, CipherSuite, ConnectRequest, DisconnectedNotification, GuestBound, Pmk, RsnElement, Security,
    SecurityKind, SessionId, SignalQualityNotification, Ssid, StatusCode,
};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::api::{Dot11AuthAlgorithm, Dot11CipherAlgorithm, WlanError, reason, win32};
use super::backend::{Registrar, WlanBackend};
use super::fake::{FakeBss, FakeTimings, FakeWlanApi};
use super::interface::WlanInterface;
use crate::handler::Timeouts;
use crate::interface::{
    AuthAlgorithm, ConnectParams, ConnectedNetwork, EventSink, InterfaceError, InterfaceEvent, InterfaceId,
    ScanResults, ScanStatus, WifiInterface,
};
use crate::observer::{ConnectRequestArgs, ConnectionArgs, Observer, OperationType};
use crate::{FakeNetwork, Service, ServiceHandle, TransportSettings};
use proxy_wifi_guest::{GuestClient, GuestConfig, GuestTransport, NotificationListener};

// ---- test data -------------------------------------------------------------------------

const IF1: Uuid = Uuid::from_u128(0x5d2f_8a10_33c4_4b7e_9f21_6c0a_d1e4_7b01);
const IF2: Uuid = Uuid::from_u128(0x5d2f_8a10_33c4_4b7e_9f21_6c0a_d1e4_7b02);
const IF3: Uuid = Uuid::from_u128(0x5d2f_8a10_33c4_4b7e_9f21_6c0a_d1e4_7b03);

const HOME_PASSPHRASE: &str = "correct horse battery";
const LAB_PASSWORD: &str = "sae <&> password";

fn bssid(last: u8) -> Bssid {
    Bssid([0x02, 0x1a, 0x11, 0, 0, last])
}

fn ssid(s: &str) -> Ssid {
    Ssid::new(s.as_bytes()).unwrap()
}

fn home() -> FakeBss {
    FakeBss::wpa2_psk("home", bssid(1), HOME_PASSPHRASE).at(2437, -48)
}

fn cafe() -> FakeBss {
    FakeBss::open("cafe", bssid(2)).at(5745, -71)
}

fn corp() -> FakeBss {
    FakeBss::enterprise("corp", bssid(3)).at(5180, -60)
}

fn lab() -> FakeBss {
    FakeBss::wpa3_sae("lab", bssid(4), LAB_PASSWORD).at(5955, -66)
}

fn hidden() -> FakeBss {
    FakeBss::wpa2_psk("hidden", bssid(5), "hidden passphrase").hidden()
}

fn open_params(name: &str) -> ConnectParams {
    let mut request = ConnectRequest::open(ssid(name));
    request.auth_type = AuthType::Automatic;
    ConnectParams::new(request)
}

fn psk_request(name: &str, passphrase: &str) -> ConnectRequest {
    let ssid = ssid(name);
    ConnectRequest::wpa2_psk(ssid, Pmk::derive(passphrase.as_bytes(), &ssid))
}

fn psk_params(name: &str, passphrase: &str) -> ConnectParams {
    ConnectParams::new(psk_request(name, passphrase))
}

fn sae_params(name: &str, password: &str) -> ConnectParams {
    ConnectParams::new(ConnectRequest::wpa3_sae(ssid(name), password.as_bytes()).unwrap())
}

fn names(results: &ScanResults) -> Vec<String> {
    let mut names: Vec<String> =
        results.bss.iter().map(|b| b.ssid().map(|s| s.to_string()).unwrap_or_default()).collect();
    names.sort();
    names
}

// ---- harness: the backend with a test registrar ---------------------------------------------

enum Registration {
    Added(Arc<WlanInterface>),
    Removed(InterfaceId),
}

struct ChannelRegistrar(mpsc::UnboundedSender<Registration>);

#[async_trait]
impl Registrar for ChannelRegistrar {
    async fn add(&mut self, interface: Arc<WlanInterface>) {
        let _ = self.0.send(Registration::Added(interface));
    }

    async fn remove(&mut self, id: InterfaceId) {
        let _ = self.0.send(Registration::Removed(id));
    }
}

type Events = crate::interface::EventReceiver;

struct Backend {
    fake: FakeWlanApi,
    registrations: mpsc::UnboundedReceiver<Registration>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Backend {
    fn start(fake: &FakeWlanApi) -> Self {
        Self::start_with(fake, WlanBackend::new(Arc::new(fake.clone())))
    }

    fn start_with(fake: &FakeWlanApi, backend: WlanBackend) -> Self {
        let (sender, registrations) = mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let task = tokio::spawn(backend.serve(ChannelRegistrar(sender), stop.clone()));
        Self { fake: fake.clone(), registrations, stop, task }
    }

    /// The next registration, within 30 s of (virtual) time.
    async fn next(&mut self) -> Registration {
        tokio::time::timeout(Duration::from_secs(30), self.registrations.recv())
            .await
            .expect("a registration")
            .expect("backend running")
    }

    /// The next interface added, attached to a test sink.
    async fn added(&mut self) -> (Arc<WlanInterface>, Events) {
        match self.next().await {
            Registration::Added(interface) => {
                let (sink, events) = EventSink::channel(interface.id());
                interface.attach(sink);
                (interface, events)
            }
            Registration::Removed(id) => panic!("{id} removed, expected an addition"),
        }
    }

    async fn removed(&mut self) -> InterfaceId {
        match self.next().await {
            Registration::Removed(id) => id,
            Registration::Added(interface) => panic!("{} added, expected a removal", interface.id()),
        }
    }

    /// Lets every scheduled notification be delivered and handled.
    async fn settle(&self) {
        self.fake.settled().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The events emitted so far.
fn drain(events: &mut Events) -> Vec<InterfaceEvent> {
    std::iter::from_fn(|| events.try_recv().ok().map(|(_, e)| e)).collect()
}

fn fake_with(interfaces: &[Uuid], known: Vec<FakeBss>, in_range: Vec<FakeBss>) -> FakeWlanApi {
    let fake = FakeWlanApi::new();
    for &guid in interfaces {
        fake.insert_interface(guid);
    }
    for bss in known {
        fake.add_known_network(bss);
    }
    for bss in in_range {
        fake.add_network(bss);
    }
    fake
}

fn scan_results_event(events: Vec<InterfaceEvent>) -> ScanResults {
    let mut found = events.into_iter().filter_map(|e| match e {
        InterfaceEvent::ScanResults(r) => Some(r),
        _ => None,
    });
    let results = found.next().expect("a scan-results event");
    assert!(found.next().is_none(), "one scan-results event");
    results
}

// ---- scan ----------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn scan_answers_at_once_from_the_cache_then_pushes_the_host_scan_results() {
    let fake = fake_with(&[IF1], vec![home()], vec![cafe()]);
    let mut backend = Backend::start(&fake);
    let (interface, mut events) = backend.added().await;

    let started = Instant::now();
    let results = interface.scan(None).await.unwrap();
    assert_eq!(started.elapsed(), Duration::ZERO, "answered without waiting for the host scan");
    assert_eq!(results.status, ScanStatus::Completed);
    assert_eq!(names(&results), ["home"]);
    assert_eq!(fake.calls().scans, vec![None], "a host scan was requested");
    assert!(fake.cached(IF1).is_empty(), "the host scan flushed the cache");

    backend.settle().await;
    let pushed = scan_results_event(drain(&mut events));
    assert_eq!(pushed.status, ScanStatus::Completed);
    assert_eq!(names(&pushed), ["cafe", "home"]);
    let home_entry = pushed.bss.iter().find(|b| b.bssid == bssid(1)).unwrap();
    assert_eq!((home_entry.rssi_dbm, home_entry.frequency_khz), (-48, 2_437_000));
    assert_eq!(home_entry.ies, home().ies, "IEs as received");
}

#[tokio::test(start_paused = true)]
async fn scan_while_a_host_scan_runs_waits_for_its_results() {
    let fake = fake_with(&[IF1], vec![home()], vec![cafe()]);
    let mut backend = Backend::start(&fake);
    let (interface, mut events) = backend.added().await;

    let first = interface.scan(None).await.unwrap();
    assert_eq!(names(&first), ["home"]);
    let started = Instant::now();
    let second = interface.scan(None).await.unwrap();
    assert_eq!(started.elapsed(), FakeTimings::default().scan, "waited for the running host scan");
    assert_eq!(second.status, ScanStatus::Completed);
    assert_eq!(names(&second), ["cafe", "home"]);
    assert_eq!(fake.calls().scans.len(), 1, "no second host scan");
    backend.settle().await;
    assert!(drain(&mut events).is_empty(), "the waiting scan got the results: nothing pushed");
}

#[tokio::test(start_paused = true)]
async fn a_scan_waiting_past_the_handler_deadline_lets_the_results_be_pushed() {
    let fake = fake_with(&[IF1], vec![home()], vec![cafe()]);
    let mut backend = Backend::start(&fake);
    let (interface, mut events) = backend.added().await;
    fake.hold_notifications();

    interface.scan(None).await.unwrap();
    let waiting = tokio::time::timeout(Timeouts::default().scan, interface.scan(None)).await;
    assert!(waiting.is_err(), "the waiting scan is bounded by the handler's deadline");

    fake.release_notifications();
    backend.settle().await;
    assert_eq!(names(&scan_results_event(drain(&mut events))), ["cafe", "home"]);
    // The host scan is over: the next guest scan asks for another one.
    assert_eq!(names(&interface.scan(None).await.unwrap()), ["cafe", "home"]);
    assert_eq!(fake.calls().scans.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_host_scan_that_never_completes_does_not_block_later_scans() {
    let fake = fake_with(&[IF1], vec![home()], vec![]);
    let mut backend = Backend::start(&fake);
    let (interface, _events) = backend.added().await;
    fake.hold_notifications();
    interface.scan(None).await.unwrap();
    tokio::time::sleep(crate::limits::WLAN_LOST_SCAN_AFTER).await;
    let started = Instant::now();
    let results = interface.scan(None).await.unwrap();
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(results.status, ScanStatus::Completed);
    assert_eq!(fake.calls().scans.len(), 2, "a new host scan replaces the lost one");
}

#[tokio::test(start_paused = true)]
async fn targeted_scan_finds_a_hidden_network() {
    let fake = fake_with(&[IF1], vec![], vec![home(), hidden()]);
    let mut backend = Backend::start(&fake);
    let (interface, mut events) = backend.added().await;

    interface.scan(None).await.unwrap();
    backend.settle().await;
    assert_eq!(names(&scan_results_event(drain(&mut events))), ["home"], "hidden network not found by a wildcard scan");

    let answer = interface.scan(Some(ssid("hidden"))).await.unwrap();
    assert_eq!(names(&answer), ["home"], "answered from the cache");
    assert_eq!(fake.calls().scans, vec![None, Some(ssid("hidden"))], "the host scan is targeted");
    backend.settle().await;
    assert_eq!(names(&scan_results_event(drain(&mut events))), ["hidden", "home"]);
}

#[tokio::test(start_paused = true)]
async fn networks_the_guest_cannot_join_are_shown_as_wpa2_psk() {
    let mut wpa1 = FakeBss::wpa2_psk("old-wpa", bssid(6), "whatever passphrase");
    wpa1.auth = Dot11AuthAlgorithm::WpaPsk;
    wpa1.cipher = Dot11CipherAlgorithm::Tkip;
    wpa1.ies = vec![0, 7, b'o', b'l', b'd', b'-', b'w', b'p', b'a', 221, 6, 0x00, 0x50, 0xf2, 0x01, 1, 0];
    let mut gcmp = FakeBss::wpa2_psk("gcmp", bssid(7), "gcmp passphrase");
    gcmp.cipher = Dot11CipherAlgorithm::Gcmp;
    let fake = fake_with(&[IF1], vec![home(), cafe(), corp(), lab(), wpa1, gcmp.clone()], vec![]);
    let mut backend = Backend::start(&fake);
    let (interface, _events) = backend.added().await;

    let results = interface.scan(None).await.unwrap();
    let entry = |n: u8| results.bss.iter().find(|b| b.bssid == bssid(n)).unwrap();
    let kind = |n: u8| Security::from_bss(entry(n).capabilities, &entry(n).ies);
    // Supported: reported as they are.
    assert_eq!(entry(1).ies, home().ies);
    assert_eq!(entry(2).ies, cafe().ies);
    assert_eq!(kind(2).kind, SecurityKind::Open);
    assert_eq!(entry(7).ies, gcmp.ies);
    // Enterprise, WPA3-SAE, WPA1/TKIP: a made-up WPA2-PSK RSN element, Privacy set.
    for n in [3, 4, 6] {
        let security = kind(n);
        assert_eq!(security.kind, SecurityKind::Wpa2Psk, "BSS {n}");
        assert_eq!(security.rsn, Some(RsnElement::wpa2_psk()), "BSS {n}");
        assert!(entry(n).capabilities.contains(proxy_wifi_protocol::Capabilities::PRIVACY));
        assert!(entry(n).ssid().is_some());
    }
}

#[tokio::test(start_paused = true)]
async fn a_scan_right_after_a_connect_fails_but_the_cached_results_are_answered() {
    let fake = fake_with(&[IF1], vec![home(), cafe()], vec![]);
    let mut backend = Backend::start(&fake);
    let (interface, mut events) = backend.added().await;
    interface.connect(&psk_params("home", HOME_PASSPHRASE)).await.unwrap();
    backend.settle().await;
    drain(&mut events);

    let results = interface.scan(None).await.unwrap();
    assert_eq!(names(&results), ["cafe", "home"], "the cache read before the scan request");
    backend.settle().await;
    // The driver failed the scan: only the connected BSS is left; it is still pushed.
    assert_eq!(names(&scan_results_event(drain(&mut events))), ["home"]);
    // The next scan works again.
    interface.scan(None).await.unwrap();
    backend.settle().await;
    assert_eq!(names(&scan_results_event(drain(&mut events))), ["cafe", "home"]);
}

// ---- connect ---------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn connect_to_an_open_network() {
    let fake = fake_with(&[IF1], vec![cafe()], vec![]);
    let mut backend = Backend::start(&fake);
    let (interface, mut events) = backend.added().await;

    let started = Instant::now();
    let network = interface.connect(&open_params("cafe")).await.unwrap();
    assert_eq!(started.elapsed(), FakeTimings::default().connect, "completed on the notification");
    assert_eq!(network, ConnectedNetwork { ssid: ssid("cafe"), bssid: bssid(2), auth: AuthAlgorithm::Open });
    let call = &fake.calls().connects[0];
    assert_eq!((call.authentication.as_str(), call.encryption.as_str()), ("open", "none"));
    assert_eq!(
        (call.ssid, call.name.as_str(), call.key_material.as_ref(), call.bssid),
        (ssid("cafe"), "cafe", None, None)
    );
    assert_eq!(drain(&mut events), vec![InterfaceEvent::HostConnected(network)]);
    assert_eq!(interface.connection_to(&ssid("cafe")).await, Some(network));
}

#[tokio::test(start_paused = true)]
async fn connect_to_a_wpa2_psk_network_with_the_pmk_and_with_a_wrong_one() {
    let fake = fake_with(&[IF1], vec![home()], vec![]);
    let mut backend = Backend::start(&fake);
    let (interface, mut events) = backend.added().await;

    let wrong = interface.connect(&psk_params("home", "not the passphrase")).await.unwrap_err();
    match &wrong {
        InterfaceError::WrongKey(reason) => {
            assert!(reason.contains(&format!("{:#x}", reason::PSK_MISMATCH_SUSPECTED)), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(drain(&mut events).is_empty(), "no host connection");

    let network = interface.connect(&psk_params("home", HOME_PASSPHRASE)).await.unwrap();
    assert_eq!(network, ConnectedNetwork { ssid: ssid("home"), bssid: bssid(1), auth: AuthAlgorithm::Wpa2Psk });
    let call = &fake.calls().connects[1];
    assert_eq!((call.authentication.as_str(), call.encryption.as_str()), ("WPA2PSK", "AES"));
    assert_eq!(call.key_type.as_deref(), Some("networkKey"));
    let pmk = Pmk::derive(HOME_PASSPHRASE.as_bytes(), &ssid("home"));
    assert_eq!(call.key_material.as_deref(), Some(pmk.to_hex().as_str()), "the PMK as 64 hex digits");
    assert_eq!(drain(&mut events), vec![InterfaceEvent::HostConnected(network)]);
}

#[tokio::test(start_paused = true)]
async fn connect_to_a_wpa3_sae_network_with_the_password_and_with_a_wrong_one() {
    let fake = fake_with(&[IF1], vec![lab()], vec![]);
    let mut backend = Backend::start(&fake);
    let (interface, mut events) = backend.added().await;

    let wrong = interface.connect(&sae_params("lab", "not the password")).await.unwrap_err();
    assert!(matches!(wrong, InterfaceError::WrongKey(_)), "{wrong:?}");
    let network = interface.connect(&sae_params("lab", LAB_PASSWORD)).await.unwrap();
    assert_eq!(network, ConnectedNetwork { ssid: ssid("lab"), bssid: bssid(4), auth: AuthAlgorithm::Wpa3Sae });
    let call = &fake.calls().connects[1];
    assert_eq!(call.authentication, "WPA3SAE");
    assert_eq!((call.key_type.as_deref(), call.key_material.as_deref()), (Some("passPhrase"), Some(LAB_PASSWORD)));
    // The host connection is reported as the guest sees the network (masked: WPA2-PSK).
    assert_eq!(
        drain(&mut events),
        vec![InterfaceEvent::HostConnected(ConnectedNetwork { auth: AuthAlgorithm::Wpa2Psk, ..network })]
    );
}

#[tokio::test(start_paused = true)]
async fn connect_to_a_network_out_of_range_fails_with_its_reason() {
    let fake = fake_with(&[IF1], vec![], vec![]);
    let mut backend = Backend::start(&fake);
    let (interface, _events) = backend.added().await;
    let error = interface.connect(&open_params("nowhere")).await.unwrap_err();
    assert_eq!(error, InterfaceError::NetworkNotFound(ssid("nowhere")), "NETWORK_NOT_AVAILABLE means not found");
}

#[tokio::test(start_paused = true)]
async fn connect_with_unsupported_security_never_reaches_the_host() {
    let fake = fake_with(&[IF1], vec![home()], vec![]);
    let mut backend = Backend::start(&fake);
    let (interface, _events) = backend.added().await;
    let mut request = psk_request("home", HOME_PASSPHRASE);
    request.pairwise_cipher_suites = vec![CipherSuite::Tkip];
    request.group_cipher_suite = CipherSuite::Tkip;
    let tkip = ConnectParams::new(request);
    assert!(matches!(interface.connect(&tkip).await, Err(InterfaceError::UnsupportedSecurity { .. })));
    assert!(fake.calls().connects.is_empty());
}

#[tokio::test(start_paused = true)]
async fn connect_that_never_completes_is_ended_by_the_handler_deadline() {
    let fake = fake_with(&[IF1], vec![home()], vec![]);
    fake.set_connects_complete(false);
    let mut backend = Backend::start(&fake);
    let (interface, mut events) = backend.added().await;
    let started = Instant::now();
    let outcome = tokio::time::timeout(Timeouts::default().connect, interface.connect(&open_params("home"))).await;
    assert!(outcome.is_err());
    assert_eq!(started.elapsed(), Timeouts::default().connect);
    assert!(drain(&mut events).is_empty());
}

#[tokio::test(start_paused = true)]
async fn connect_names_the_bssid_the_guest_asked_for() {
    let mut second = home();
    second.bssid = bssid(9);
    let fake = fake_with(&[IF1], vec![home(), second], vec![]);
    let mut backend = Backend::start(&fake);
    let (interface, _events) = backend.added().await;
    let mut params = psk_params("home", HOME_PASSPHRASE);
    params.bssid = bssid(9);
    let network = interface.connect(&params).await.unwrap();
    assert_eq!(network.bssid, bssid(9));
    assert_eq!(fake.calls().connects[0].bssid, Some(bssid(9)));
}

#[tokio::test(start_paused = true)]
async fn connecting_elsewhere_reports_the_host_leaving_its_network_first() {
    let fake = fake_with(&[IF1], vec![home(), cafe()], vec![]);
    fake.connect_quietly(IF1, "cafe");
    let mut backend = Backend::start(&fake);
    let (interface, mut events) = backend.added().await;
    drain(&mut events);
    let network = interface.connect(&psk_params("home", HOME_PASSPHRASE)).await.unwrap();
    assert_eq!(
        drain(&mut events),
        vec![InterfaceEvent::HostDisconnected { ssid: ssid("cafe") }, InterfaceEvent::HostConnected(network)]
    );
}

// ---- disconnect and host events --------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn disconnect_completes_on_the_disconnected_notification() {
    let fake = fake_with(&[IF1], vec![home()], vec![]);
    let mut backend = Backend::start(&fake);
    let (interface, mut events) = backend.added().await;
    interface.connect(&psk_params("home", HOME_PASSPHRASE)).await.unwrap();
    drain(&mut events);

    let started = Instant::now();
    interface.disconnect().await.unwrap();
    assert_eq!(started.elapsed(), FakeTimings::default().disconnect);
    assert_eq!(drain(&mut events), vec![InterfaceEvent::HostDisconnected { ssid: ssid("home") }]);
    assert_eq!(fake.connected_to(IF1), None);
    assert_eq!(fake.calls().disconnects, 1);

    // Not connected: nothing to ask the host.
    interface.disconnect().await.unwrap();
    assert_eq!(fake.calls().disconnects, 1);
}

#[tokio::test(start_paused = true)]
async fn signal_quality_changes_are_forwarded() {
    let fake = fake_with(&[IF1], vec![home()], vec![]);
    let mut backend = Backend::start(&fake);
    let (_interface, mut events) = backend.added().await;
    fake.set_signal_quality(IF1, 63);
    fake.set_signal_quality(IF1, 140);
    backend.settle().await;
    assert_eq!(
        drain(&mut events),
        vec![InterfaceEvent::SignalQuality { percent: 63 }, InterfaceEvent::SignalQuality { percent: 100 }]
    );
}

#[tokio::test(start_paused = true)]
async fn host_connections_are_mirrorable_and_reported_as_the_guest_sees_them() {
    let fake = fake_with(&[IF1], vec![home(), corp()], vec![]);
    let mut backend = Backend::start(&fake);
    let (interface, mut events) = backend.added().await;

    fake.host_connect(IF1, "corp");
    backend.settle().await;
    let corp_seen = ConnectedNetwork { ssid: ssid("corp"), bssid: bssid(3), auth: AuthAlgorithm::Wpa2Psk };
    assert_eq!(drain(&mut events), vec![InterfaceEvent::HostConnected(corp_seen)]);
    assert_eq!(interface.connection_to(&ssid("corp")).await, Some(corp_seen), "enterprise shown as WPA2-PSK");
    assert_eq!(interface.connection_to(&ssid("home")).await, None);

    fake.host_disconnect(IF1);
    backend.settle().await;
    assert_eq!(drain(&mut events), vec![InterfaceEvent::HostDisconnected { ssid: ssid("corp") }]);
    assert_eq!(interface.connection_to(&ssid("corp")).await, None);
}

#[tokio::test(start_paused = true)]
async fn an_interface_already_connected_reports_it_once_attached() {
    let fake = fake_with(&[IF1], vec![cafe()], vec![]);
    fake.connect_quietly(IF1, "cafe");
    let mut backend = Backend::start(&fake);
    let (_interface, mut events) = backend.added().await;
    assert_eq!(
        drain(&mut events),
        vec![InterfaceEvent::HostConnected(ConnectedNetwork {
            ssid: ssid("cafe"),
            bssid: bssid(2),
            auth: AuthAlgorithm::Open
        })]
    );
}

#[tokio::test(start_paused = true)]
async fn stray_notifications_are_harmless() {
    let fake = fake_with(&[IF1], vec![home()], vec![]);
    let mut backend = Backend::start(&fake);
    let (interface, mut events) = backend.added().await;
    // A host scan nobody asked for, and a host connection completing while no guest
    // connect is pending.
    fake.background_scan(IF1);
    fake.host_connect(IF1, "home");
    backend.settle().await;
    let events = drain(&mut events);
    assert!(events.iter().any(|e| matches!(e, InterfaceEvent::HostConnected(_))));
    assert!(events.iter().any(|e| matches!(e, InterfaceEvent::ScanResults(_))));
    assert!(interface.connection_to(&ssid("home")).await.is_some());
}

// ---- interfaces ------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn interfaces_are_registered_and_their_arrival_and_removal_followed() {
    let fake = fake_with(&[IF1], vec![], vec![cafe()]);
    let mut backend = Backend::start(&fake);
    let (first, _) = backend.added().await;
    assert_eq!(first.guid(), IF1);

    fake.add_interface(IF2);
    let (second, _) = backend.added().await;
    assert_eq!(second.id(), InterfaceId(IF2));

    // A secondary interface is notified but not listed: not used.
    fake.notify_unlisted_arrival(IF3);
    backend.settle().await;
    assert!(backend.registrations.try_recv().is_err());

    fake.remove_interface(IF1);
    assert_eq!(backend.removed().await, InterfaceId(IF1));
    assert!(matches!(first.scan(None).await, Err(InterfaceError::Unavailable(_))));
    assert!(second.scan(None).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn an_interface_arriving_connected_reports_its_connection() {
    let fake = fake_with(&[], vec![], vec![home()]);
    let mut backend = Backend::start(&fake);
    fake.add_connected_interface(IF2, "home");
    let (_interface, mut events) = backend.added().await;
    assert_eq!(
        drain(&mut events),
        vec![InterfaceEvent::HostConnected(ConnectedNetwork {
            ssid: ssid("home"),
            bssid: bssid(1),
            auth: AuthAlgorithm::Wpa2Psk
        })]
    );
}

#[tokio::test(start_paused = true)]
async fn removing_the_interface_ends_a_waiting_scan_at_once() {
    let fake = fake_with(&[IF1], vec![home()], vec![]);
    let mut backend = Backend::start(&fake);
    let (interface, _events) = backend.added().await;
    interface.scan(None).await.unwrap();
    let waiting = tokio::spawn({
        let interface = interface.clone();
        async move { interface.scan(None).await }
    });
    tokio::task::yield_now().await;
    let started = Instant::now();
    fake.remove_interface(IF1);
    let outcome = waiting.await.unwrap();
    assert!(matches!(outcome, Err(InterfaceError::Unavailable(_))), "{outcome:?}");
    assert!(started.elapsed() < FakeTimings::default().scan);
    assert_eq!(backend.removed().await, InterfaceId(IF1));
}

#[tokio::test(start_paused = true)]
async fn removing_the_interface_ends_a_pending_connect_at_once() {
    let fake = fake_with(&[IF1], vec![home()], vec![]);
    fake.set_timings(FakeTimings { connect: Duration::from_secs(5), ..FakeTimings::default() });
    let mut backend = Backend::start(&fake);
    let (interface, _events) = backend.added().await;
    let pending = tokio::spawn({
        let interface = interface.clone();
        async move { interface.connect(&psk_params("home", HOME_PASSPHRASE)).await }
    });
    tokio::task::yield_now().await;
    assert_eq!(fake.calls().connects.len(), 1);
    let started = Instant::now();
    fake.remove_interface(IF1);
    assert!(matches!(pending.await.unwrap(), Err(InterfaceError::Unavailable(_))));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(backend.removed().await, InterfaceId(IF1));
    assert_eq!(interface.connection_to(&ssid("home")).await, None);
}

#[tokio::test(start_paused = true)]
async fn without_a_wlan_service_the_backend_registers_nothing_and_returns() {
    let fake = FakeWlanApi::new();
    let backend =
        WlanBackend::from_opener(|| Err(WlanError::new("LoadLibrary(wlanapi.dll)", win32::ERROR_MOD_NOT_FOUND)));
    let mut backend = Backend::start_with(&fake, backend);
    (&mut backend.task).await.unwrap();
    assert!(backend.registrations.try_recv().is_err());

    #[cfg(not(windows))]
    {
        let mut elsewhere = Backend::start_with(&fake, WlanBackend::open());
        (&mut elsewhere.task).await.unwrap();
        assert!(elsewhere.registrations.try_recv().is_err());
    }
}

// ---- the whole service, seen from a guest ------------------------------------------------

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
    assert!(guest_connection(&s.service).is_none());
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
