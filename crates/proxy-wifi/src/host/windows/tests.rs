//! Scenario tests of the WLAN-service backend against the fake WLAN service.
//!
//! Interface-level scenarios run the real backend (notification routing, arrival and
//! removal) with a test registrar, on tokio's paused clock. The whole-service scenarios
//! are in `service_tests`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use proxy_wifi_protocol::{AuthType, CipherSuite, ConnectRequest, Pmk, RsnElement, Security, SecurityKind};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::api::{Dot11AuthAlgorithm, Dot11CipherAlgorithm, WlanError, reason, win32};
use super::backend::{Registrar, WlanBackend};
use super::fake::{FakeBss, FakeTimings, FakeWlanApi};
use super::interface::WlanInterface;
use super::test_data::*;
use crate::handler::Timeouts;
use crate::interface::{
    AuthAlgorithm, ConnectParams, ConnectedNetwork, EventSink, InterfaceError, InterfaceEvent, InterfaceId,
    ScanResults, ScanStatus, WifiInterface,
};

fn open_params(name: &str) -> ConnectParams {
    let mut request = ConnectRequest::open(ssid(name));
    request.auth_type = AuthType::Automatic;
    ConnectParams::new(request)
}

fn psk_params(name: &str, passphrase: &str) -> ConnectParams {
    ConnectParams::new(psk_request(name, passphrase))
}

fn sae_params(name: &str, password: &str) -> ConnectParams {
    ConnectParams::new(ConnectRequest::wpa3_sae(ssid(name), password.as_bytes()).unwrap())
}

/// The network `name` at `bssid(n)`, as a connection to it is reported.
fn connected(name: &str, n: u8, auth: AuthAlgorithm) -> ConnectedNetwork {
    ConnectedNetwork { ssid: ssid(name), bssid: bssid(n), auth }
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

    /// The backend over `fake`, and the first interface it adds, attached to a test sink.
    async fn start_and_add(fake: &FakeWlanApi) -> (Self, Arc<WlanInterface>, Events) {
        let mut backend = Self::start(fake);
        let (interface, events) = backend.added().await;
        (backend, interface, events)
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
    let (backend, interface, mut events) = Backend::start_and_add(&fake).await;

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
    let (backend, interface, mut events) = Backend::start_and_add(&fake).await;

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
    let (backend, interface, mut events) = Backend::start_and_add(&fake).await;
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
    let (_backend, interface, _events) = Backend::start_and_add(&fake).await;
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
    let (backend, interface, mut events) = Backend::start_and_add(&fake).await;

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
    let (_backend, interface, _events) = Backend::start_and_add(&fake).await;

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
    let (backend, interface, mut events) = Backend::start_and_add(&fake).await;
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
    let (_backend, interface, mut events) = Backend::start_and_add(&fake).await;

    let started = Instant::now();
    let network = interface.connect(&open_params("cafe")).await.unwrap();
    assert_eq!(started.elapsed(), FakeTimings::default().connect, "completed on the notification");
    assert_eq!(network, connected("cafe", 2, AuthAlgorithm::Open));
    let call = &fake.calls().connects[0];
    assert_eq!((call.security.authentication.as_str(), call.security.encryption.as_str()), ("open", "none"));
    assert_eq!(
        (call.ssid, call.name.as_str(), call.security.key_material.as_ref(), call.bssid),
        (ssid("cafe"), "cafe", None, None)
    );
    assert_eq!(drain(&mut events), vec![InterfaceEvent::HostConnected(network)]);
    assert_eq!(interface.connection_to(&ssid("cafe")).await, Some(network));
}

#[tokio::test(start_paused = true)]
async fn connect_to_a_wpa2_psk_network_with_the_pmk_and_with_a_wrong_one() {
    let fake = fake_with(&[IF1], vec![home()], vec![]);
    let (_backend, interface, mut events) = Backend::start_and_add(&fake).await;

    let wrong = interface.connect(&psk_params("home", "not the passphrase")).await.unwrap_err();
    match &wrong {
        InterfaceError::WrongKey(reason) => {
            assert!(reason.contains(&format!("{:#x}", reason::PSK_MISMATCH_SUSPECTED)), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(drain(&mut events).is_empty(), "no host connection");

    let network = interface.connect(&psk_params("home", HOME_PASSPHRASE)).await.unwrap();
    assert_eq!(network, connected("home", 1, AuthAlgorithm::Wpa2Psk));
    let call = &fake.calls().connects[1];
    assert_eq!((call.security.authentication.as_str(), call.security.encryption.as_str()), ("WPA2PSK", "AES"));
    assert_eq!(call.security.key_type.as_deref(), Some("networkKey"));
    let pmk = Pmk::derive(HOME_PASSPHRASE.as_bytes(), &ssid("home"));
    assert_eq!(call.security.key_material.as_deref(), Some(pmk.to_hex().as_str()), "the PMK as 64 hex digits");
    assert_eq!(drain(&mut events), vec![InterfaceEvent::HostConnected(network)]);
}

#[tokio::test(start_paused = true)]
async fn connect_to_a_wpa3_sae_network_with_the_password_and_with_a_wrong_one() {
    let fake = fake_with(&[IF1], vec![lab()], vec![]);
    let (_backend, interface, mut events) = Backend::start_and_add(&fake).await;

    let wrong = interface.connect(&sae_params("lab", "not the password")).await.unwrap_err();
    assert!(matches!(wrong, InterfaceError::WrongKey(_)), "{wrong:?}");
    let network = interface.connect(&sae_params("lab", LAB_PASSWORD)).await.unwrap();
    assert_eq!(network, connected("lab", 4, AuthAlgorithm::Wpa3Sae));
    let call = &fake.calls().connects[1];
    assert_eq!(call.security.authentication, "WPA3SAE");
    assert_eq!(
        (call.security.key_type.as_deref(), call.security.key_material.as_deref()),
        (Some("passPhrase"), Some(LAB_PASSWORD))
    );
    // The host connection is reported as the guest sees the network (masked: WPA2-PSK).
    assert_eq!(
        drain(&mut events),
        vec![InterfaceEvent::HostConnected(ConnectedNetwork { auth: AuthAlgorithm::Wpa2Psk, ..network })]
    );
}

#[tokio::test(start_paused = true)]
async fn connect_to_a_network_out_of_range_fails_with_its_reason() {
    let fake = fake_with(&[IF1], vec![], vec![]);
    let (_backend, interface, _events) = Backend::start_and_add(&fake).await;
    let error = interface.connect(&open_params("nowhere")).await.unwrap_err();
    assert_eq!(error, InterfaceError::NetworkNotFound(ssid("nowhere")), "NETWORK_NOT_AVAILABLE means not found");
}

#[tokio::test(start_paused = true)]
async fn connect_with_unsupported_security_never_reaches_the_host() {
    let fake = fake_with(&[IF1], vec![home()], vec![]);
    let (_backend, interface, _events) = Backend::start_and_add(&fake).await;
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
    let (_backend, interface, mut events) = Backend::start_and_add(&fake).await;
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
    let (_backend, interface, _events) = Backend::start_and_add(&fake).await;
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
    let (_backend, interface, mut events) = Backend::start_and_add(&fake).await;
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
    let (_backend, interface, mut events) = Backend::start_and_add(&fake).await;
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
    let (backend, _interface, mut events) = Backend::start_and_add(&fake).await;
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
    let (backend, interface, mut events) = Backend::start_and_add(&fake).await;

    fake.host_connect(IF1, "corp");
    backend.settle().await;
    let corp_seen = connected("corp", 3, AuthAlgorithm::Wpa2Psk);
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
    let (_backend, _interface, mut events) = Backend::start_and_add(&fake).await;
    assert_eq!(drain(&mut events), vec![InterfaceEvent::HostConnected(connected("cafe", 2, AuthAlgorithm::Open))]);
}

#[tokio::test(start_paused = true)]
async fn stray_notifications_are_harmless() {
    let fake = fake_with(&[IF1], vec![home()], vec![]);
    let (backend, interface, mut events) = Backend::start_and_add(&fake).await;
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
    let (mut backend, first, _) = Backend::start_and_add(&fake).await;
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
    assert_eq!(drain(&mut events), vec![InterfaceEvent::HostConnected(connected("home", 1, AuthAlgorithm::Wpa2Psk))]);
}

#[tokio::test(start_paused = true)]
async fn removing_the_interface_ends_a_waiting_scan_at_once() {
    let fake = fake_with(&[IF1], vec![home()], vec![]);
    let (mut backend, interface, _events) = Backend::start_and_add(&fake).await;
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
    let (mut backend, interface, _events) = Backend::start_and_add(&fake).await;
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
