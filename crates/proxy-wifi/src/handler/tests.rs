//! Handler unit tests: one or more per rule of behavior.md, with a paused clock for the
//! 10 s / 10 s / 5 s deadlines. No sockets.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use proxy_wifi_protocol::{
    BssEntry, Bssid, ConnectRequest, ConnectResponse, DisconnectRequest, DisconnectedNotification, GuestBound, Pmk,
    ScanRequest, ScanResponse, SessionId, SignalQualityNotification, Ssid, StatusCode,
};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::*;
use crate::interface::bss::build_bss_entry;
use crate::interface::fake::FakeNetwork;
use crate::interface::fake::FakeNetworksInterface;
use crate::interface::{
    AuthAlgorithm, ConnectParams, ConnectedNetwork, EventSink, InterfaceError, ScanResults, ScanStatus, WifiInterface,
};
use crate::observer::{
    Authorization, ConnectRequestArgs, ConnectionArgs, DisconnectRequestArgs, Observer, OperationStatus, OperationType,
};

// ---- a scriptable interface -------------------------------------------------------

#[derive(Clone)]
enum Behaviour<T> {
    Answer(T),
    AnswerAfter(Duration, T),
    Fail,
    FailWith(InterfaceError),
    Hang,
}

struct TestInterface {
    id: InterfaceId,
    scan: Mutex<Behaviour<ScanResults>>,
    connect: Mutex<Behaviour<Bssid>>,
    disconnect: Mutex<Behaviour<()>>,
    host_connection: Mutex<Option<ConnectedNetwork>>,
    calls: Mutex<Vec<String>>,
    events: OnceLock<EventSink>,
    /// What [`WifiInterface::backend`] says (default "application").
    backend: OnceLock<&'static str>,
}

impl TestInterface {
    fn new(n: u128) -> Arc<Self> {
        Arc::new(Self {
            id: InterfaceId(uuid::Uuid::from_u128(n)),
            scan: Mutex::new(Behaviour::Answer(ScanResults { bss: vec![], status: ScanStatus::Completed })),
            connect: Mutex::new(Behaviour::Fail),
            disconnect: Mutex::new(Behaviour::Answer(())),
            host_connection: Mutex::new(None),
            calls: Mutex::new(Vec::new()),
            events: OnceLock::new(),
            backend: OnceLock::new(),
        })
    }

    /// Makes it say it is driven by `backend` (e.g. "wpa_supplicant", a host radio).
    fn driven_by(&self, backend: &'static str) {
        let _ = self.backend.set(backend);
    }

    fn on_scan(&self, b: Behaviour<ScanResults>) {
        *self.scan.lock().unwrap() = b;
    }
    fn on_connect(&self, b: Behaviour<Bssid>) {
        *self.connect.lock().unwrap() = b;
    }
    fn on_disconnect(&self, b: Behaviour<()>) {
        *self.disconnect.lock().unwrap() = b;
    }
    fn host_connected_to(&self, ssid: &str, bssid: Bssid) {
        *self.host_connection.lock().unwrap() =
            Some(ConnectedNetwork { ssid: ssid_of(ssid), bssid, auth: AuthAlgorithm::Wpa2Psk });
    }
    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
    fn emit(&self, event: InterfaceEvent) {
        self.events.get().unwrap().send(event);
    }

    async fn play<T: Clone>(behaviour: Behaviour<T>) -> Result<T, InterfaceError> {
        match behaviour {
            Behaviour::Answer(v) => Ok(v),
            Behaviour::AnswerAfter(d, v) => {
                tokio::time::sleep(d).await;
                Ok(v)
            }
            Behaviour::Fail => Err(InterfaceError::Backend("scripted failure".into())),
            Behaviour::FailWith(error) => Err(error),
            Behaviour::Hang => std::future::pending().await,
        }
    }
}

#[async_trait]
impl WifiInterface for TestInterface {
    fn id(&self) -> InterfaceId {
        self.id
    }
    fn backend(&self) -> &'static str {
        self.backend.get().copied().unwrap_or("application")
    }
    fn attach(&self, events: EventSink) {
        let _ = self.events.set(events);
    }
    async fn connection_to(&self, ssid: &Ssid) -> Option<ConnectedNetwork> {
        self.host_connection.lock().unwrap().filter(|c| c.ssid == *ssid)
    }
    async fn scan(&self, ssid: Option<Ssid>) -> Result<ScanResults, InterfaceError> {
        self.calls.lock().unwrap().push(format!("scan {}", ssid.map(|s| s.to_string()).unwrap_or_default()));
        let b = self.scan.lock().unwrap().clone();
        Self::play(b).await
    }
    async fn connect(&self, params: &ConnectParams) -> Result<ConnectedNetwork, InterfaceError> {
        self.calls.lock().unwrap().push(format!("connect {}", params.ssid));
        let b = self.connect.lock().unwrap().clone();
        let bssid = Self::play(b).await?;
        Ok(ConnectedNetwork { ssid: params.ssid, bssid, auth: params.auth_algorithm() })
    }
    async fn disconnect(&self) -> Result<(), InterfaceError> {
        self.calls.lock().unwrap().push("disconnect".into());
        let b = self.disconnect.lock().unwrap().clone();
        Self::play(b).await
    }
}

// ---- a recording observer ------------------------------------------------------------

#[derive(Default)]
struct Recorder {
    log: Mutex<Vec<String>>,
    deny: Mutex<Option<OperationType>>,
    panic_on_authorize: Mutex<bool>,
}

impl Recorder {
    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
    fn push(&self, s: String) {
        self.log.lock().unwrap().push(s);
    }
}

impl Observer for Recorder {
    fn on_host_connection(&self, c: &ConnectionArgs) {
        self.push(format!("host-connected {}", c.ssid));
    }
    fn on_host_disconnection(&self, c: &ConnectionArgs) {
        self.push(format!("host-disconnected {}", c.ssid));
    }
    fn authorize_guest_connection_request(&self, kind: OperationType, r: &ConnectRequestArgs) -> Authorization {
        self.push(format!("authorize {kind:?} {}", r.ssid));
        if *self.panic_on_authorize.lock().unwrap() {
            panic!("observer bug");
        }
        if *self.deny.lock().unwrap() == Some(kind) { Authorization::Deny } else { Authorization::Approve }
    }
    fn on_guest_connection_completion(&self, kind: OperationType, status: OperationStatus, c: &ConnectionArgs) {
        self.push(format!("connect-done {kind:?} {status:?} {}", c.ssid));
    }
    fn on_guest_disconnection_request(&self, kind: OperationType, r: &DisconnectRequestArgs) {
        self.push(format!("disconnect {kind:?} {}", r.ssid));
    }
    fn on_guest_disconnection_completion(
        &self,
        kind: OperationType,
        status: OperationStatus,
        r: &DisconnectRequestArgs,
    ) {
        self.push(format!("disconnect-done {kind:?} {status:?} {}", r.ssid));
    }
    fn on_guest_scan_request(&self, _guest: &GuestId) {
        self.push("scan".into());
    }
    fn on_guest_scan_completion(&self, _guest: &GuestId, status: OperationStatus) {
        self.push(format!("scan-done {status:?}"));
    }
}

// ---- harness ----------------------------------------------------------------------------

/// The guest of the single-guest tests.
const G: GuestId = GuestId::Vsock(3);

struct Harness {
    handler: OperationHandler,
    counters: Arc<crate::status::NotificationCounters>,
    events: crate::interface::EventReceiver,
    recorder: Arc<Recorder>,
}

impl Harness {
    fn new(interfaces: Vec<SharedInterface>) -> Self {
        let recorder = Arc::new(Recorder::default());
        let (observer, _thread) = ObserverQueue::start(recorder.clone());
        let counters = Arc::new(crate::status::NotificationCounters::default());
        let hub = crate::notify::NotificationHub::without_delivery(16, counters.clone());
        let (sender, events) = mpsc::unbounded_channel();
        let mut handler = OperationHandler::new(
            observer,
            hub,
            Timeouts::default(),
            sender,
            Arc::new(crate::status::SharedStatus::default()),
        );
        for i in interfaces {
            handler.add_interface(i);
        }
        Self { handler, counters, events, recorder }
    }

    /// One interface (id 1) whose connects succeed with `bssid(1)`, and a harness over it.
    fn with_one_connecting() -> (Arc<TestInterface>, Self) {
        let interface = TestInterface::new(1);
        interface.on_connect(Behaviour::Answer(bssid(1)));
        let harness = Self::new(vec![interface.clone()]);
        (interface, harness)
    }

    /// One interface (id 1) whose host is connected to `ssid` at `bssid`, and a harness over it.
    fn with_host_connected_to(ssid: &str, bssid: Bssid) -> (Arc<TestInterface>, Self) {
        let interface = TestInterface::new(1);
        interface.host_connected_to(ssid, bssid);
        let harness = Self::new(vec![interface.clone()]);
        (interface, harness)
    }

    async fn request(&mut self, request: Request) -> GuestBound {
        self.handler.handle_request(&G, request).await
    }

    async fn request_as(&mut self, guest: &GuestId, request: Request) -> GuestBound {
        self.handler.handle_request(guest, request).await
    }

    async fn scan(&mut self, ssid: Option<&str>) -> ScanResponse {
        match self.request(Request::Scan(ScanRequest { ssid: ssid.map(ssid_of) })).await {
            GuestBound::ScanResponse(r) => r,
            other => panic!("{other:?}"),
        }
    }

    async fn connect(&mut self, request: ConnectRequest) -> ConnectResponse {
        match self.request(Request::Connect(request)).await {
            GuestBound::ConnectResponse(r) => r,
            other => panic!("{other:?}"),
        }
    }

    async fn disconnect(&mut self, session: u64) {
        let answer = self.request(Request::Disconnect(DisconnectRequest { session_id: SessionId(session) })).await;
        assert_eq!(answer, GuestBound::DisconnectResponse);
    }

    /// Feeds every event the interfaces emitted so far into the handler.
    fn pump_events(&mut self) {
        while let Ok((origin, event)) = self.events.try_recv() {
            self.handler.on_interface_event(origin, event);
        }
    }

    /// Waits until every queued observer callback ran, then returns the log.
    async fn observer_log(&self) -> Vec<String> {
        self.handler.observer.call("barrier", |_| ()).await;
        self.recorder.log()
    }

    fn notifications(&self) -> Vec<GuestBound> {
        self.notifications_of(&G)
    }

    fn notifications_of(&self, guest: &GuestId) -> Vec<GuestBound> {
        match self.handler.guests.get(guest) {
            Some(state) => std::iter::from_fn(|| state.notifications.try_pop()).collect(),
            None => Vec::new(),
        }
    }

    fn connection(&self) -> Option<session::GuestConnection> {
        self.handler.guest_connection(&G)
    }
}

fn ssid_of(s: &str) -> Ssid {
    Ssid::new(s.as_bytes()).unwrap()
}

fn bssid(n: u8) -> Bssid {
    Bssid([2, 0, 0, 0, 0, n])
}

fn entry(ssid: &str, n: u8) -> BssEntry {
    build_bss_entry(&ssid_of(ssid), bssid(n), AuthAlgorithm::Open, 2412, -40)
}

fn results(entries: Vec<BssEntry>, status: ScanStatus) -> ScanResults {
    ScanResults { bss: entries, status }
}

fn psk_request(ssid: &str, passphrase: &str) -> ConnectRequest {
    let ssid = ssid_of(ssid);
    ConnectRequest::wpa2_psk(ssid, Pmk::derive(passphrase.as_bytes(), &ssid))
}

// ---- Scan -----------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn scan_rule_1_and_5_observer_told_before_and_after() {
    let a = TestInterface::new(1);
    let mut h = Harness::new(vec![a.clone()]);
    h.scan(None).await;
    assert_eq!(h.observer_log().await, vec!["scan", "scan-done Succeeded"]);
}

#[tokio::test(start_paused = true)]
async fn scan_rule_2_all_interfaces_concurrently_with_a_shared_10s_deadline() {
    let (a, b, c) = (TestInterface::new(1), TestInterface::new(2), TestInterface::new(3));
    a.on_scan(Behaviour::AnswerAfter(Duration::from_secs(6), results(vec![entry("A", 1)], ScanStatus::Completed)));
    b.on_scan(Behaviour::AnswerAfter(Duration::from_secs(6), results(vec![entry("B", 2)], ScanStatus::Completed)));
    c.on_scan(Behaviour::Hang);
    let mut h = Harness::new(vec![a.clone(), b.clone(), c.clone()]);
    let started = Instant::now();
    let response = h.scan(None).await;
    // Concurrent: 6 s + 6 s would be 12 s; the hanging one is cut at the shared 10 s.
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    assert_eq!(response.bss.iter().map(|b| b.bssid).collect::<Vec<_>>(), vec![bssid(1), bssid(2)]);
    assert!(response.scan_complete);
}

#[tokio::test(start_paused = true)]
async fn scan_rule_2_a_failing_interface_contributes_nothing() {
    let (a, b) = (TestInterface::new(1), TestInterface::new(2));
    a.on_scan(Behaviour::Fail);
    b.on_scan(Behaviour::Answer(results(vec![entry("B", 2)], ScanStatus::Completed)));
    let mut h = Harness::new(vec![a.clone(), b.clone()]);
    let response = h.scan(None).await;
    assert_eq!(response.bss.len(), 1);
    assert!(response.scan_complete);
    a.on_scan(Behaviour::Fail);
    b.on_scan(Behaviour::Fail);
    h.scan(None).await;
    assert_eq!(h.observer_log().await.last().unwrap(), "scan-done Failed");
}

#[tokio::test(start_paused = true)]
async fn scan_rule_2_targeted_scan_names_the_ssid_to_every_interface() {
    let (a, b) = (TestInterface::new(1), TestInterface::new(2));
    let mut h = Harness::new(vec![a.clone(), b.clone()]);
    h.scan(Some("HiddenNet")).await;
    assert_eq!(a.calls(), vec!["scan HiddenNet"]);
    assert_eq!(b.calls(), vec!["scan HiddenNet"]);
}

#[tokio::test(start_paused = true)]
async fn scan_rule_4_dedupe_by_bssid_with_fake_networks_first() {
    let real = TestInterface::new(1);
    real.on_scan(Behaviour::Answer(results(vec![entry("RealName", 9), entry("Other", 3)], ScanStatus::Completed)));
    let fake = Arc::new(FakeNetworksInterface::new(Arc::new(|| vec![FakeNetwork::new("Corp", bssid(9))])));
    // Added after the real interface, the fake one still goes first.
    let mut h = Harness::new(vec![real.clone(), fake]);
    let response = h.scan(None).await;
    assert_eq!(response.bss.len(), 2);
    assert_eq!(response.bss[0].bssid, bssid(9));
    assert_eq!(response.bss[0].ssid().unwrap(), ssid_of("Corp"));
    assert_eq!(response.bss[0].rssi_dbm, -50);
    assert_eq!(response.bss[1].bssid, bssid(3));
}

#[tokio::test(start_paused = true)]
async fn scan_rules_3_6_7_running_interfaces_and_later_results() {
    let (a, b) = (TestInterface::new(1), TestInterface::new(2));
    a.on_scan(Behaviour::Answer(results(vec![entry("A", 1)], ScanStatus::Running)));
    b.on_scan(Behaviour::Answer(results(vec![entry("B", 2)], ScanStatus::Running)));
    let mut h = Harness::new(vec![a.clone(), b.clone()]);
    let response = h.scan(None).await;
    assert!(!response.scan_complete, "interfaces still running");
    a.emit(InterfaceEvent::ScanResults(results(vec![entry("A", 1), entry("A2", 4)], ScanStatus::Completed)));
    h.pump_events();
    b.emit(InterfaceEvent::ScanResults(results(vec![entry("B", 2)], ScanStatus::Completed)));
    h.pump_events();
    let notes = h.notifications();
    assert_eq!(notes.len(), 2);
    match (&notes[0], &notes[1]) {
        (GuestBound::ScanResponse(first), GuestBound::ScanResponse(last)) => {
            assert!(!first.scan_complete, "b is still running");
            assert_eq!(first.bss.len(), 2);
            assert!(last.scan_complete, "nobody runs any more");
        }
        other => panic!("{other:?}"),
    }
    // A spontaneous host scan (nobody waiting) is pushed too, complete.
    a.emit(InterfaceEvent::ScanResults(results(vec![entry("A", 1)], ScanStatus::Completed)));
    h.pump_events();
    assert!(matches!(&h.notifications()[..], [GuestBound::ScanResponse(r)] if r.scan_complete));
}

// ---- Connect --------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn connect_rule_1_no_interface_fails() {
    let mut h = Harness::new(vec![]);
    let r = h.connect(ConnectRequest::open(ssid_of("Net"))).await;
    assert_eq!(r.result_code, StatusCode::UNSPECIFIED_FAILURE);
    assert_eq!(r.session_id, SessionId(1));
}

#[tokio::test(start_paused = true)]
async fn connect_rule_2_mirrors_a_host_connection_without_touching_the_host() {
    let (a, mut h) = Harness::with_host_connected_to("Office", bssid(7));
    let r = h.connect(ConnectRequest::open(ssid_of("Office"))).await;
    assert_eq!(r.result_code, StatusCode::SUCCESS);
    assert_eq!(r.bssid, bssid(7));
    assert!(a.calls().is_empty(), "no connect on the host: {:?}", a.calls());
    assert_eq!(h.connection().unwrap().kind, OperationType::HostMirroring);
    assert_eq!(
        h.observer_log().await,
        vec!["authorize HostMirroring Office", "connect-done HostMirroring Succeeded Office"]
    );
}

#[tokio::test(start_paused = true)]
async fn connect_rule_2_fake_networks_are_mirrored() {
    let fake = Arc::new(FakeNetworksInterface::new(Arc::new(|| vec![FakeNetwork::new("Corp", bssid(9))])));
    let mut h = Harness::new(vec![fake]);
    let r = h.connect(psk_request("Corp", "whatever")).await;
    assert_eq!((r.result_code, r.bssid), (StatusCode::SUCCESS, bssid(9)));
    assert_eq!(h.connection().unwrap().interface, InterfaceId::FAKE_NETWORKS);
}

#[tokio::test(start_paused = true)]
async fn connect_rule_2_mirroring_denied() {
    let (_, mut h) = Harness::with_host_connected_to("Office", bssid(7));
    *h.recorder.deny.lock().unwrap() = Some(OperationType::HostMirroring);
    let r = h.connect(ConnectRequest::open(ssid_of("Office"))).await;
    assert_eq!(r.result_code, StatusCode::DENIED_OTHER_REASON);
    assert_eq!(h.connection(), None);
    assert_eq!(h.observer_log().await[1], "connect-done HostMirroring Denied Office");
}

#[tokio::test(start_paused = true)]
async fn connect_rule_3_observer_denies_guest_directed() {
    let (a, mut h) = Harness::with_one_connecting();
    *h.recorder.deny.lock().unwrap() = Some(OperationType::GuestDirected);
    let r = h.connect(ConnectRequest::open(ssid_of("Net"))).await;
    assert_eq!(r.result_code, StatusCode::DENIED_OTHER_REASON);
    assert!(a.calls().is_empty());
    assert_eq!(h.observer_log().await, vec!["authorize GuestDirected Net", "connect-done GuestDirected Denied Net"]);
}

#[tokio::test(start_paused = true)]
async fn connect_rule_3_a_panicking_observer_counts_as_deny_and_service_goes_on() {
    let (_, mut h) = Harness::with_one_connecting();
    *h.recorder.panic_on_authorize.lock().unwrap() = true;
    let r = h.connect(ConnectRequest::open(ssid_of("Net"))).await;
    assert_eq!(r.result_code, StatusCode::DENIED_OTHER_REASON);
    *h.recorder.panic_on_authorize.lock().unwrap() = false;
    let r = h.connect(ConnectRequest::open(ssid_of("Net"))).await;
    assert_eq!(r.result_code, StatusCode::SUCCESS);
}

#[tokio::test(start_paused = true)]
async fn connect_rule_4_interfaces_in_order_10s_each() {
    let (a, b, c) = (TestInterface::new(1), TestInterface::new(2), TestInterface::new(3));
    a.on_connect(Behaviour::Hang);
    b.on_connect(Behaviour::Fail);
    c.on_connect(Behaviour::AnswerAfter(Duration::from_secs(3), bssid(3)));
    let mut h = Harness::new(vec![a.clone(), b.clone(), c.clone()]);
    let started = Instant::now();
    let r = h.connect(ConnectRequest::open(ssid_of("Net"))).await;
    assert_eq!(started.elapsed(), Duration::from_secs(13));
    assert_eq!((r.result_code, r.bssid), (StatusCode::SUCCESS, bssid(3)));
    let connection = h.connection().unwrap();
    assert_eq!((connection.kind, connection.interface), (OperationType::GuestDirected, c.id));
    assert_eq!(h.observer_log().await.last().unwrap(), "connect-done GuestDirected Succeeded Net");
}

#[tokio::test(start_paused = true)]
async fn connect_rule_4_all_failed_answers_the_cause_of_the_furthest_attempt() {
    let (a, b) = (TestInterface::new(1), TestInterface::new(2));
    a.on_connect(Behaviour::Fail);
    b.on_connect(Behaviour::Hang);
    let mut h = Harness::new(vec![a.clone(), b.clone()]);
    let r = h.connect(ConnectRequest::open(ssid_of("Net"))).await;
    // A backend error has no better code than 1; B's missed deadline says more.
    assert_eq!((r.result_code, r.bssid), (StatusCode::REJECTED_SEQUENCE_TIMEOUT, Bssid::ZERO));
    assert_eq!(h.connection(), None);
    assert_eq!(h.observer_log().await.last().unwrap(), "connect-done GuestDirected Failed Net");
}

#[tokio::test(start_paused = true)]
async fn connect_rule_5_session_ids_increase_by_one_per_response() {
    let a = TestInterface::new(1);
    let mut h = Harness::new(vec![a.clone()]);
    let ids: Vec<u64> = {
        let mut ids = Vec::new();
        for i in 0..4 {
            a.on_connect(if i % 2 == 0 { Behaviour::Fail } else { Behaviour::Answer(bssid(1)) });
            ids.push(h.connect(ConnectRequest::open(ssid_of("Net"))).await.session_id.0);
        }
        ids
    };
    assert_eq!(ids, vec![1, 2, 3, 4]);
}

#[tokio::test(start_paused = true)]
async fn connect_rule_6_answers_the_bssid_the_request_named() {
    let (_, mut h) = Harness::with_one_connecting();
    let mut request = ConnectRequest::open(ssid_of("Net"));
    request.bssid = bssid(5);
    assert_eq!(h.connect(request).await.bssid, bssid(5));
}

// ---- Disconnect -----------------------------------------------------------------------

async fn guest_directed_connection(h: &mut Harness, a: &TestInterface) -> u64 {
    a.on_connect(Behaviour::Answer(bssid(1)));
    let r = h.connect(ConnectRequest::open(ssid_of("Net"))).await;
    assert_eq!(r.result_code, StatusCode::SUCCESS);
    r.session_id.0
}

#[tokio::test(start_paused = true)]
async fn disconnect_rule_1_stale_session_does_nothing() {
    let a = TestInterface::new(1);
    let mut h = Harness::new(vec![a.clone()]);
    guest_directed_connection(&mut h, &a).await;
    let current = guest_directed_connection(&mut h, &a).await;
    let disconnects = || a.calls().iter().filter(|c| *c == "disconnect").count();
    let before = disconnects();
    h.disconnect(current - 1).await;
    assert_eq!(disconnects(), before, "the interface was not touched");
    assert!(h.connection().is_some());
}

#[tokio::test(start_paused = true)]
async fn disconnect_rule_2_no_connection_is_success() {
    let a = TestInterface::new(1);
    let mut h = Harness::new(vec![a.clone()]);
    h.disconnect(0).await;
    assert!(a.calls().is_empty());
}

#[tokio::test(start_paused = true)]
async fn disconnect_rule_3_mirrored_leaves_the_host_alone() {
    let (a, mut h) = Harness::with_host_connected_to("Office", bssid(7));
    let session = h.connect(ConnectRequest::open(ssid_of("Office"))).await.session_id.0;
    h.disconnect(session).await;
    assert!(a.calls().is_empty(), "{:?}", a.calls());
    assert_eq!(h.connection(), None);
    let log = h.observer_log().await;
    assert_eq!(&log[2..], ["disconnect HostMirroring Office", "disconnect-done HostMirroring Succeeded Office"]);
}

#[tokio::test(start_paused = true)]
async fn disconnect_rule_4_guest_directed_disconnects_with_5s_deadline() {
    let a = TestInterface::new(1);
    let mut h = Harness::new(vec![a.clone()]);
    let session = guest_directed_connection(&mut h, &a).await;
    a.on_disconnect(Behaviour::Hang);
    let started = Instant::now();
    h.disconnect(session).await;
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    assert_eq!(h.connection(), None, "forgotten even when the interface hangs");
    assert_eq!(h.observer_log().await.last().unwrap(), "disconnect-done GuestDirected Failed Net");

    let session = guest_directed_connection(&mut h, &a).await;
    a.on_disconnect(Behaviour::Answer(()));
    h.disconnect(session).await;
    assert_eq!(a.calls().iter().filter(|c| *c == "disconnect").count(), 2);
    assert_eq!(h.observer_log().await.last().unwrap(), "disconnect-done GuestDirected Succeeded Net");
}

// ---- Host events and guest notifications -----------------------------------------------

#[tokio::test(start_paused = true)]
async fn host_disconnection_backing_the_guest_notifies_it_with_the_current_session() {
    let (a, b) = (TestInterface::new(1), TestInterface::new(2));
    let mut h = Harness::new(vec![a.clone(), b.clone()]);
    let session = guest_directed_connection(&mut h, &a).await;
    // Another interface's disconnection does not concern the guest.
    b.emit(InterfaceEvent::HostDisconnected { ssid: ssid_of("Net") });
    h.pump_events();
    assert!(h.notifications().is_empty());
    a.emit(InterfaceEvent::HostDisconnected { ssid: ssid_of("Net") });
    h.pump_events();
    assert_eq!(
        h.notifications(),
        vec![GuestBound::NotifDisconnected(DisconnectedNotification { session_id: SessionId(session) })]
    );
    assert_eq!(h.connection(), None);
    assert!(h.observer_log().await.contains(&"host-disconnected Net".to_string()));
}

#[tokio::test(start_paused = true)]
async fn guest_own_disconnect_is_not_notified_back() {
    let a = TestInterface::new(1);
    let mut h = Harness::new(vec![a.clone()]);
    let session = guest_directed_connection(&mut h, &a).await;
    h.disconnect(session).await;
    // The interface reports its disconnection after the guest's request.
    a.emit(InterfaceEvent::HostDisconnected { ssid: ssid_of("Net") });
    h.pump_events();
    assert!(h.notifications().is_empty());
}

#[tokio::test(start_paused = true)]
async fn signal_quality_of_the_backing_interface_only() {
    let (a, b) = (TestInterface::new(1), TestInterface::new(2));
    let mut h = Harness::new(vec![a.clone(), b.clone()]);
    guest_directed_connection(&mut h, &a).await;
    b.emit(InterfaceEvent::SignalQuality { percent: 90 });
    a.emit(InterfaceEvent::SignalQuality { percent: 40 });
    h.pump_events();
    assert_eq!(h.notifications(), vec![GuestBound::NotifSignalQuality(SignalQualityNotification { signal_dbm: -80 })]);
}

#[tokio::test(start_paused = true)]
async fn notifications_dropped_until_the_first_request() {
    let a = TestInterface::new(1);
    let mut h = Harness::new(vec![a.clone()]);
    a.emit(InterfaceEvent::ScanResults(results(vec![entry("A", 1)], ScanStatus::Completed)));
    h.pump_events();
    assert!(h.notifications().is_empty());
    assert_eq!(h.counters.gated.load(std::sync::atomic::Ordering::Relaxed), 1);
    h.disconnect(0).await;
    a.emit(InterfaceEvent::ScanResults(results(vec![entry("A", 1)], ScanStatus::Completed)));
    h.pump_events();
    assert_eq!(h.notifications().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn host_connection_is_told_to_the_observer() {
    let a = TestInterface::new(1);
    let mut h = Harness::new(vec![a.clone()]);
    a.emit(InterfaceEvent::HostConnected(ConnectedNetwork {
        ssid: ssid_of("Home"),
        bssid: bssid(4),
        auth: AuthAlgorithm::Open,
    }));
    h.pump_events();
    assert_eq!(h.observer_log().await, vec!["host-connected Home"]);
}

#[tokio::test(start_paused = true)]
async fn interface_removal_loses_the_guest_connection_it_backed() {
    let (a, b) = (TestInterface::new(1), TestInterface::new(2));
    let mut h = Harness::new(vec![a.clone(), b.clone()]);
    let session = guest_directed_connection(&mut h, &a).await;
    h.handler.remove_interface(b.id);
    assert!(h.notifications().is_empty());
    h.handler.remove_interface(a.id);
    assert_eq!(
        h.notifications(),
        vec![GuestBound::NotifDisconnected(DisconnectedNotification { session_id: SessionId(session) })]
    );
    // Events of a removed interface are ignored.
    a.emit(InterfaceEvent::SignalQuality { percent: 10 });
    h.pump_events();
    assert!(h.notifications().is_empty());
}

#[tokio::test(start_paused = true)]
async fn simulated_wpa2_connect_checks_the_pmk_end_to_end_through_the_handler() {
    let sim = crate::interface::simulated::SimulatedInterface::new(crate::SimulatedNetwork::defaults());
    let mut h = Harness::new(vec![sim]);
    let wrong = h.connect(psk_request("FakeWpa2Psk", "wrong-passphrase")).await;
    assert_eq!(wrong.result_code, StatusCode::CHALLENGE_FAILURE);
    let right = h.connect(psk_request("FakeWpa2Psk", "secretsecret")).await;
    assert_eq!((right.result_code, right.bssid), (StatusCode::SUCCESS, Bssid([0, 0, 0, 0, 0, 1])));
}

#[tokio::test(start_paused = true)]
async fn a_new_connect_supersedes_a_guest_directed_connection() {
    let sim = crate::interface::simulated::SimulatedInterface::new(crate::SimulatedNetwork::defaults());
    let control = sim.control();
    let mut h = Harness::new(vec![sim]);
    let right = h.connect(psk_request("FakeWpa2Psk", "secretsecret")).await;
    assert_eq!(right.result_code, StatusCode::SUCCESS);
    // Not mirrored from the guest's own connection: the key is checked again.
    let wrong = h.connect(psk_request("FakeWpa2Psk", "wrong-passphrase")).await;
    assert_eq!(wrong.result_code, StatusCode::CHALLENGE_FAILURE);
    assert_eq!(control.host_connection(), None, "the interface was released");
    let log = h.observer_log().await;
    assert!(log.contains(&"disconnect-done GuestDirected Succeeded FakeWpa2Psk".to_string()), "{log:?}");
}

// ---- Failure causes and their 802.11 status codes (docs/connect-failures.md) ----------

#[tokio::test(start_paused = true)]
async fn unknown_ssid_answers_1_and_a_wrong_key_elsewhere_says_more() {
    let sim = crate::interface::simulated::SimulatedInterface::new(crate::SimulatedNetwork::defaults());
    let mut h = Harness::new(vec![sim.clone()]);
    let unknown = h.connect(ConnectRequest::open(ssid_of("NoSuchNetwork"))).await;
    assert_eq!(unknown.result_code, StatusCode::UNSPECIFIED_FAILURE);
    // Two interfaces: the first does not see the network, the second refuses the key.
    let blind = TestInterface::new(1);
    blind.on_connect(Behaviour::FailWith(InterfaceError::NetworkNotFound(ssid_of("FakeWpa2Psk"))));
    let mut h = Harness::new(vec![blind, sim]);
    let wrong = h.connect(psk_request("FakeWpa2Psk", "wrong-passphrase")).await;
    assert_eq!(wrong.result_code, StatusCode::CHALLENGE_FAILURE);
}

#[tokio::test(start_paused = true)]
async fn a_missed_deadline_answers_16_after_exactly_the_deadline() {
    let a = TestInterface::new(1);
    a.on_connect(Behaviour::Hang);
    let mut h = Harness::new(vec![a.clone()]);
    let started = Instant::now();
    let r = h.connect(ConnectRequest::open(ssid_of("Net"))).await;
    assert_eq!(started.elapsed(), crate::limits::CONNECT_TIMEOUT);
    assert_eq!(r.result_code, StatusCode::REJECTED_SEQUENCE_TIMEOUT);
}

#[tokio::test(start_paused = true)]
async fn interface_errors_carry_their_cause_to_the_guest() {
    let a = TestInterface::new(1);
    let mut h = Harness::new(vec![a.clone()]);
    let cases = [
        (InterfaceError::WrongKey("k".into()), StatusCode::CHALLENGE_FAILURE),
        (InterfaceError::TimedOut("t".into()), StatusCode::REJECTED_SEQUENCE_TIMEOUT),
        (InterfaceError::NetworkNotFound(ssid_of("Net")), StatusCode::UNSPECIFIED_FAILURE),
        (InterfaceError::Unavailable("gone".into()), StatusCode::UNSPECIFIED_FAILURE),
        (InterfaceError::Rejected { status: StatusCode(30), reason: "r".into() }, StatusCode(30)),
    ];
    for (error, code) in cases {
        a.on_connect(Behaviour::FailWith(error.clone()));
        let r = h.connect(ConnectRequest::open(ssid_of("Net"))).await;
        assert_eq!(r.result_code, code, "{error}");
    }
}

// ---- Many guests ----------------------------------------------------------------------

const A: GuestId = GuestId::Vsock(10);
const B: GuestId = GuestId::Vsock(11);
const C: GuestId = GuestId::Vsock(12);

async fn connect_as(h: &mut Harness, guest: &GuestId, ssid: &str) -> ConnectResponse {
    match h.request_as(guest, Request::Connect(ConnectRequest::open(ssid_of(ssid)))).await {
        GuestBound::ConnectResponse(r) => r,
        other => panic!("{other:?}"),
    }
}

/// A connects to `ssid` through one interface, which the host then shows connected
/// there, and B connects to it too: the interface, the harness and both answers.
async fn a_then_b_connect_to(ssid: &str) -> (Arc<TestInterface>, Harness, ConnectResponse, ConnectResponse) {
    let (x, mut h) = Harness::with_one_connecting();
    let a = connect_as(&mut h, &A, ssid).await;
    x.host_connected_to(ssid, bssid(1));
    let b = connect_as(&mut h, &B, ssid).await;
    (x, h, a, b)
}

#[tokio::test(start_paused = true)]
async fn each_guest_has_its_own_session_ids() {
    let x = TestInterface::new(1);
    x.on_connect(Behaviour::Fail);
    let mut h = Harness::new(vec![x.clone()]);
    assert_eq!(connect_as(&mut h, &A, "N").await.session_id, SessionId(1));
    assert_eq!(connect_as(&mut h, &A, "N").await.session_id, SessionId(2));
    assert_eq!(connect_as(&mut h, &B, "N").await.session_id, SessionId(1));
}

#[tokio::test(start_paused = true)]
async fn isolation_a_directed_connect_never_takes_an_interface_from_another_guest() {
    let (x, mut h) = Harness::with_one_connecting();
    assert_eq!(connect_as(&mut h, &A, "N1").await.result_code, StatusCode::SUCCESS);
    let b = connect_as(&mut h, &B, "N2").await;
    assert_eq!(b.result_code, StatusCode::DENIED_NO_MORE_STAS, "X backs A's connection");
    assert_eq!(x.calls(), vec!["connect N1"], "X was not asked to switch networks");
    assert_eq!(h.handler.guest_connection(&A).unwrap().ssid, ssid_of("N1"), "A undisturbed");
    assert!(h.notifications_of(&A).is_empty());
}

#[tokio::test(start_paused = true)]
async fn mirroring_is_shared_and_a_shared_connection_outlives_its_first_guest() {
    let (x, mut h, a, b) = a_then_b_connect_to("N1").await;
    assert_eq!((b.result_code, b.bssid), (StatusCode::SUCCESS, bssid(1)));
    assert_eq!(h.handler.guest_connection(&B).unwrap().kind, OperationType::HostMirroring);
    // A leaves: B still mirrors the connection, so the host stays connected.
    h.request_as(&A, Request::Disconnect(DisconnectRequest { session_id: a.session_id })).await;
    assert!(!x.calls().contains(&"disconnect".to_string()), "{:?}", x.calls());
    // The host then loses it: only B, still using it, is told.
    x.emit(InterfaceEvent::HostDisconnected { ssid: ssid_of("N1") });
    h.pump_events();
    assert!(h.notifications_of(&A).is_empty());
    assert_eq!(
        h.notifications_of(&B),
        vec![GuestBound::NotifDisconnected(DisconnectedNotification { session_id: b.session_id })]
    );
}

#[tokio::test(start_paused = true)]
async fn host_events_reach_only_the_guests_they_concern() {
    let (x, y) = (TestInterface::new(1), TestInterface::new(2));
    x.on_connect(Behaviour::Answer(bssid(1)));
    let mut h = Harness::new(vec![x.clone(), y.clone()]);
    connect_as(&mut h, &A, "N1").await;
    h.request_as(&C, Request::Scan(ScanRequest::default())).await;
    x.emit(InterfaceEvent::SignalQuality { percent: 60 });
    y.emit(InterfaceEvent::SignalQuality { percent: 20 });
    h.pump_events();
    assert_eq!(
        h.notifications_of(&A),
        vec![GuestBound::NotifSignalQuality(SignalQualityNotification { signal_dbm: -70 })]
    );
    assert!(h.notifications_of(&C).is_empty());
}

#[tokio::test(start_paused = true)]
async fn scan_results_go_to_the_guests_with_a_scan_pending_else_to_all() {
    let x = TestInterface::new(1);
    x.on_scan(Behaviour::Answer(results(vec![entry("N", 1)], ScanStatus::Running)));
    let mut h = Harness::new(vec![x.clone()]);
    let a = h.request_as(&A, Request::Scan(ScanRequest::default())).await;
    assert!(matches!(a, GuestBound::ScanResponse(r) if !r.scan_complete));
    x.on_scan(Behaviour::Answer(results(vec![entry("N", 1)], ScanStatus::Completed)));
    h.request_as(&B, Request::Scan(ScanRequest::default())).await;
    x.emit(InterfaceEvent::ScanResults(results(vec![entry("N", 1), entry("M", 2)], ScanStatus::Completed)));
    h.pump_events();
    assert!(
        matches!(&h.notifications_of(&A)[..], [GuestBound::ScanResponse(r)] if r.scan_complete && r.bss.len() == 2)
    );
    assert!(h.notifications_of(&B).is_empty(), "B had no scan pending");
    // Nobody waits now: a host scan's results go to every guest.
    x.emit(InterfaceEvent::ScanResults(results(vec![entry("N", 1)], ScanStatus::Completed)));
    h.pump_events();
    assert_eq!(h.notifications_of(&A).len(), 1);
    assert_eq!(h.notifications_of(&B).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn observer_arguments_carry_the_guest() {
    struct Who(Mutex<Vec<String>>);
    impl Observer for Who {
        fn authorize_guest_connection_request(&self, _: OperationType, r: &ConnectRequestArgs) -> Authorization {
            self.0.lock().unwrap().push(format!("authorize {}", r.guest));
            Authorization::Approve
        }
        fn on_guest_scan_request(&self, guest: &GuestId) {
            self.0.lock().unwrap().push(format!("scan {guest}"));
        }
        fn on_guest_connection_completion(&self, _: OperationType, _: OperationStatus, c: &ConnectionArgs) {
            self.0.lock().unwrap().push(format!("done {}", c.guest.as_ref().unwrap()));
        }
    }
    let who = Arc::new(Who(Mutex::new(Vec::new())));
    let (observer, _thread) = ObserverQueue::start(who.clone());
    let hub = crate::notify::NotificationHub::without_delivery(4, Arc::default());
    let (sender, _events) = mpsc::unbounded_channel();
    let mut handler = OperationHandler::new(observer, hub, Timeouts::default(), sender, Arc::default());
    let x = TestInterface::new(1);
    x.on_connect(Behaviour::Answer(bssid(1)));
    handler.add_interface(x);
    handler.handle_request(&B, Request::Scan(ScanRequest::default())).await;
    handler.handle_request(&B, Request::Connect(ConnectRequest::open(ssid_of("N")))).await;
    handler.observer.call("barrier", |_| ()).await;
    assert_eq!(*who.0.lock().unwrap(), ["scan vsock:11", "authorize vsock:11", "done vsock:11"]);
}

mod policy;
mod sessions;

/// Issue 25 item 12: a removed guest's queued notifications are dropped, not delivered
/// (README, "remove_guest"): its queue ends empty and counts them as dropped.
#[tokio::test]
async fn a_removed_guest_is_not_sent_its_queued_notifications() {
    let (_interface, mut h) = Harness::with_one_connecting();
    h.scan(None).await;
    let queue = h.handler.guests.get(&G).expect("the first request opened the queue").notifications.clone();
    queue.push(GuestBound::NotifSignalQuality(SignalQualityNotification { signal_dbm: -60 }));
    queue.push(GuestBound::NotifDisconnected(DisconnectedNotification { session_id: SessionId(7) }));
    let dropped_before = h.counters.dropped.load(std::sync::atomic::Ordering::Relaxed);
    h.handler.forget_guest(&G).await;
    let left: Vec<GuestBound> = std::iter::from_fn(|| queue.try_pop()).collect();
    assert_eq!(left, [], "the sender would still deliver these");
    assert_eq!(tokio::time::timeout(Duration::from_secs(1), queue.pop()).await, Ok(None), "the queue is ended");
    assert_eq!(h.counters.dropped.load(std::sync::atomic::Ordering::Relaxed), dropped_before + 2);
    assert_eq!(h.counters.queued.load(std::sync::atomic::Ordering::Relaxed), 0);
    // Nothing more is queued for it afterwards.
    queue.push(GuestBound::NotifSignalQuality(SignalQualityNotification { signal_dbm: -50 }));
    assert_eq!(queue.try_pop(), None);
}
