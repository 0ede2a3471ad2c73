//! A fake WLAN service behind [`WlanApi`], faithful to the behaviours the backend relies on:
//!
//! * notifications are delivered asynchronously, in order, from a task of their own (never
//!   inside the API call that caused them), and not at all for an interface that is gone;
//! * a scan flushes the BSS cache (the connected BSS excepted) until it completes
//!   (`scan_complete` after [`FakeTimings::scan`]); a scan requested while one runs joins it;
//!   hidden networks are found only by a scan targeted at their SSID;
//! * drivers fail a scan right after connecting (`scan_fail`);
//! * `WlanConnect` parses the profile XML (a malformed one is refused with
//!   `ERROR_BAD_PROFILE`), checks its security and key against the network, leaves the
//!   current network first (`disconnected`), then reports `connection_complete` with a
//!   success or failure reason code;
//! * `WlanDisconnect` reports `disconnected`; querying a disconnected interface's
//!   connection gives nothing; calls on an unknown interface fail with `ERROR_NOT_FOUND`;
//! * interface arrival and removal, host connections and disconnections and signal
//!   changes can be triggered by the test.
//!
//! Timers use tokio's clock, so tests can run with a paused clock.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use proxy_wifi_protocol::{
    AkmSuite, Bssid, Capabilities, CipherSuite, Pmk, RsnElement, Ssid, push_rsn_element, push_ssid_element,
};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use uuid::Uuid;

use super::api::{
    Dot11AuthAlgorithm, Dot11CipherAlgorithm, InterfaceState, NotificationCallback, WlanApi, WlanBss, WlanConnection,
    WlanError, WlanEvent, WlanInterfaceInfo, WlanNetwork, WlanNotification, WlanResult, reason, win32,
};
use super::profile::PROFILE_NAMESPACE;

/// The secret a fake network checks a connection's key against.
#[derive(Clone, PartialEq, Eq)]
pub enum FakeSecret {
    /// No key (open, or a network the fake never lets anyone join: enterprise).
    None,
    /// WPA2-PSK: the PMK of the passphrase.
    Pmk(Pmk),
    /// WPA3-SAE: the password.
    Password(String),
}

impl std::fmt::Debug for FakeSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FakeSecret::None => "None",
            FakeSecret::Pmk(_) => "Pmk(<redacted>)",
            FakeSecret::Password(_) => "Password(<redacted>)",
        })
    }
}

/// A BSS in range of the fake, with the network's security.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeBss {
    /// SSID.
    pub ssid: Ssid,
    /// BSSID.
    pub bssid: Bssid,
    /// The network's authentication, as `WlanGetAvailableNetworkList` reports it.
    pub auth: Dot11AuthAlgorithm,
    /// The network's cipher.
    pub cipher: Dot11CipherAlgorithm,
    /// What a connection must present.
    pub secret: FakeSecret,
    /// Signal, dBm.
    pub rssi_dbm: i32,
    /// Link quality, 0–100.
    pub link_quality: u32,
    /// Centre frequency, kHz.
    pub frequency_khz: u32,
    /// 802.11 capabilities.
    pub capabilities: u16,
    /// Information elements.
    pub ies: Vec<u8>,
    /// Found only by a scan targeted at its SSID.
    pub hidden: bool,
}

fn ssid_of(ssid: impl AsRef<[u8]>) -> Ssid {
    Ssid::new(ssid.as_ref()).expect("a fake network's SSID is at most 32 bytes")
}

impl FakeBss {
    fn build(
        ssid: Ssid,
        bssid: Bssid,
        auth: Dot11AuthAlgorithm,
        cipher: Dot11CipherAlgorithm,
        secret: FakeSecret,
        rsn: Option<RsnElement>,
    ) -> Self {
        let mut ies = Vec::new();
        push_ssid_element(&mut ies, &ssid);
        ies.extend_from_slice(&[1, 4, 0x82, 0x84, 0x8b, 0x96]); // supported rates
        let mut capabilities = Capabilities::ESS;
        if let Some(rsn) = &rsn {
            push_rsn_element(&mut ies, rsn);
        }
        if cipher != Dot11CipherAlgorithm::None {
            capabilities = capabilities | Capabilities::PRIVACY;
        }
        Self {
            ssid,
            bssid,
            auth,
            cipher,
            secret,
            rssi_dbm: -55,
            link_quality: 90,
            frequency_khz: 5_180_000,
            capabilities: capabilities.0,
            ies,
            hidden: false,
        }
    }

    /// An open network (no cipher). Panics on an SSID over 32 bytes.
    pub fn open(ssid: impl AsRef<[u8]>, bssid: Bssid) -> Self {
        Self::build(ssid_of(ssid), bssid, Dot11AuthAlgorithm::Open, Dot11CipherAlgorithm::None, FakeSecret::None, None)
    }

    /// A WPA2-PSK/CCMP network with this passphrase.
    pub fn wpa2_psk(ssid: impl AsRef<[u8]>, bssid: Bssid, passphrase: &str) -> Self {
        let ssid = ssid_of(ssid);
        let pmk = Pmk::derive(passphrase.as_bytes(), &ssid);
        Self::build(
            ssid,
            bssid,
            Dot11AuthAlgorithm::RsnaPsk,
            Dot11CipherAlgorithm::Ccmp,
            FakeSecret::Pmk(pmk),
            Some(RsnElement::wpa2_psk()),
        )
    }

    /// A WPA3-SAE/CCMP network with this password.
    pub fn wpa3_sae(ssid: impl AsRef<[u8]>, bssid: Bssid, password: &str) -> Self {
        Self::build(
            ssid_of(ssid),
            bssid,
            Dot11AuthAlgorithm::Wpa3Sae,
            Dot11CipherAlgorithm::Ccmp,
            FakeSecret::Password(password.to_owned()),
            Some(RsnElement::wpa3_sae()),
        )
    }

    /// A WPA2-Enterprise (802.1X/CCMP) network: nobody joins it through a profile.
    pub fn enterprise(ssid: impl AsRef<[u8]>, bssid: Bssid) -> Self {
        let rsn = RsnElement {
            version: 1,
            group_cipher: CipherSuite::Ccmp,
            pairwise_ciphers: vec![CipherSuite::Ccmp],
            akm_suites: vec![AkmSuite::Ieee8021x],
            capabilities: 0,
        };
        Self::build(
            ssid_of(ssid),
            bssid,
            Dot11AuthAlgorithm::Rsna,
            Dot11CipherAlgorithm::Ccmp,
            FakeSecret::None,
            Some(rsn),
        )
    }

    /// The same BSS, hidden: only a targeted scan finds it.
    pub fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }

    /// The same BSS on another channel and signal.
    pub fn at(mut self, frequency_mhz: u32, rssi_dbm: i32) -> Self {
        self.frequency_khz = frequency_mhz * 1000;
        self.rssi_dbm = rssi_dbm;
        self
    }

    fn as_wlan_bss(&self) -> WlanBss {
        WlanBss {
            ssid: self.ssid,
            bssid: self.bssid,
            phy_type: 8,
            rssi_dbm: self.rssi_dbm,
            link_quality: self.link_quality,
            frequency_khz: self.frequency_khz,
            capabilities: self.capabilities,
            beacon_period: 100,
            ies: self.ies.clone(),
        }
    }

    fn as_network(&self) -> WlanNetwork {
        WlanNetwork {
            ssid: self.ssid,
            auth: self.auth,
            cipher: self.cipher,
            security_enabled: self.cipher != Dot11CipherAlgorithm::None,
            signal_quality: self.link_quality,
            connectable: true,
        }
    }
}

/// How long the fake's asynchronous operations take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FakeTimings {
    /// From `WlanScan` to `scan_complete` / `scan_fail` (default 2 s).
    pub scan: Duration,
    /// From `WlanConnect` to `connection_complete` (default 500 ms).
    pub connect: Duration,
    /// From `WlanDisconnect` to `disconnected` (default 100 ms).
    pub disconnect: Duration,
}

impl Default for FakeTimings {
    fn default() -> Self {
        Self {
            scan: Duration::from_secs(2),
            connect: Duration::from_millis(500),
            disconnect: Duration::from_millis(100),
        }
    }
}

/// A `WlanConnect` call, as the fake understood its profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeConnectCall {
    /// The interface.
    pub interface: Uuid,
    /// The SSID from the profile's `<hex>` element.
    pub ssid: Ssid,
    /// The profile's `<name>`.
    pub name: String,
    /// `<authentication>`.
    pub authentication: String,
    /// `<encryption>`.
    pub encryption: String,
    /// `<keyType>`, if any.
    pub key_type: Option<String>,
    /// `<keyMaterial>`, unescaped, if any.
    pub key_material: Option<String>,
    /// The desired BSSID, if any.
    pub bssid: Option<Bssid>,
}

/// What the fake was asked to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeCalls {
    /// `WlanScan` calls: the targeted SSID of each.
    pub scans: Vec<Option<Ssid>>,
    /// `WlanConnect` calls.
    pub connects: Vec<FakeConnectCall>,
    /// `WlanDisconnect` calls.
    pub disconnects: usize,
}

struct FakeInterface {
    guid: Uuid,
    cache: Vec<FakeBss>,
    connected: Option<FakeBss>,
    signal: u32,
    scanning: bool,
    scan_targets: Vec<Ssid>,
    fail_next_scan: bool,
}

impl FakeInterface {
    fn new(guid: Uuid) -> Self {
        Self {
            guid,
            cache: Vec::new(),
            connected: None,
            signal: 0,
            scanning: false,
            scan_targets: Vec::new(),
            fail_next_scan: false,
        }
    }

    fn join(&mut self, bss: &FakeBss) {
        if !self.cache.iter().any(|b| b.bssid == bss.bssid) {
            self.cache.push(bss.clone());
        }
        self.signal = bss.link_quality;
        self.connected = Some(bss.clone());
    }
}

struct FakeState {
    air: Vec<FakeBss>,
    interfaces: Vec<FakeInterface>,
    timings: FakeTimings,
    complete_connects: bool,
    scan_fails_after_connect: bool,
    calls: FakeCalls,
}

impl FakeState {
    fn interface(&mut self, guid: Uuid) -> Option<&mut FakeInterface> {
        self.interfaces.iter_mut().find(|i| i.guid == guid)
    }

    fn existing(&mut self, guid: Uuid, function: &'static str) -> WlanResult<&mut FakeInterface> {
        self.interface(guid).ok_or(WlanError::new(function, win32::ERROR_NOT_FOUND))
    }
}

type Action = Box<dyn FnOnce(&mut FakeState) -> Vec<WlanEvent> + Send>;

#[derive(Default)]
struct Scheduler {
    queue: BTreeMap<(Instant, u64), Action>,
    sequence: u64,
    held: bool,
}

struct Inner {
    state: Mutex<FakeState>,
    scheduler: Mutex<Scheduler>,
    wake: Arc<Notify>,
    callback: Mutex<Option<NotificationCallback>>,
    pending: watch::Sender<usize>,
    task_started: AtomicBool,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.wake.notify_one();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// The fake WLAN service. Cheap to clone (clones share the service).
#[derive(Clone)]
pub struct FakeWlanApi {
    inner: Arc<Inner>,
}

impl Default for FakeWlanApi {
    fn default() -> Self {
        Self::new()
    }
}

enum Next {
    Due(Action),
    At(Instant),
    Idle,
}

impl FakeWlanApi {
    /// A service with no interface and nothing in range.
    pub fn new() -> Self {
        let (pending, _) = watch::channel(0);
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(FakeState {
                    air: Vec::new(),
                    interfaces: Vec::new(),
                    timings: FakeTimings::default(),
                    complete_connects: true,
                    scan_fails_after_connect: true,
                    calls: FakeCalls::default(),
                }),
                scheduler: Mutex::new(Scheduler::default()),
                wake: Arc::new(Notify::new()),
                callback: Mutex::new(None),
                pending,
                task_started: AtomicBool::new(false),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, FakeState> {
        lock(&self.inner.state)
    }

    /// Runs `action` on the state after `delay`, from the delivery task, and delivers the
    /// notifications it returns.
    fn schedule(&self, delay: Duration, action: impl FnOnce(&mut FakeState) -> Vec<WlanEvent> + Send + 'static) {
        self.ensure_task();
        let deadline = Instant::now() + delay;
        {
            let mut scheduler = lock(&self.inner.scheduler);
            scheduler.sequence += 1;
            let key = (deadline, scheduler.sequence);
            scheduler.queue.insert(key, Box::new(action));
        }
        self.inner.pending.send_modify(|n| *n += 1);
        self.inner.wake.notify_one();
    }

    /// Delivers `notification` for `guid` after `delay`, if the interface still exists.
    fn notify_later(&self, delay: Duration, guid: Uuid, notification: WlanNotification) {
        self.schedule(delay, move |state| {
            if state.interface(guid).is_none() {
                return Vec::new();
            }
            vec![WlanEvent { interface: guid, notification }]
        });
    }

    fn ensure_task(&self) {
        if self.inner.task_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = Arc::downgrade(&self.inner);
        let wake = self.inner.wake.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(deliver(inner, wake));
            }
            Err(_) => {
                std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build();
                    if let Ok(runtime) = runtime {
                        runtime.block_on(deliver(inner, wake));
                    }
                });
            }
        }
    }

    // ---- configuration ---------------------------------------------------------------

    /// Sets how long scans, connections and disconnections take.
    pub fn set_timings(&self, timings: FakeTimings) {
        self.state().timings = timings;
    }

    /// Whether `WlanConnect` is ever followed by `connection_complete` (default true);
    /// false simulates a connection that never completes.
    pub fn set_connects_complete(&self, complete: bool) {
        self.state().complete_connects = complete;
    }

    // ---- the radio environment -------------------------------------------------------

    /// Puts a BSS in range: the next scan finds it (a targeted one if it is hidden).
    pub fn add_network(&self, bss: FakeBss) {
        self.state().air.push(bss);
    }

    /// Puts a BSS in range and in the cache of every interface, as if already scanned.
    pub fn add_known_network(&self, bss: FakeBss) {
        let mut state = self.state();
        for interface in &mut state.interfaces {
            interface.cache.push(bss.clone());
        }
        state.air.push(bss);
    }

    // ---- interfaces ------------------------------------------------------------------

    /// An interface present from the start (no notification).
    pub fn insert_interface(&self, guid: Uuid) {
        let mut state = self.state();
        if state.interface(guid).is_none() {
            state.interfaces.push(FakeInterface::new(guid));
        }
    }

    /// An interface arrives (`interface_arrival`).
    pub fn add_interface(&self, guid: Uuid) {
        self.insert_interface(guid);
        self.notify_later(Duration::ZERO, guid, WlanNotification::InterfaceArrival);
    }

    /// An interface arrives already connected to the network `ssid` (which must be in range).
    pub fn add_connected_interface(&self, guid: Uuid, ssid: impl AsRef<[u8]>) {
        self.insert_interface(guid);
        self.connect_quietly(guid, ssid);
        self.notify_later(Duration::ZERO, guid, WlanNotification::InterfaceArrival);
    }

    /// An arrival notification for an interface `WlanEnumInterfaces` does not list (a
    /// secondary, virtual interface).
    pub fn notify_unlisted_arrival(&self, guid: Uuid) {
        self.schedule(Duration::ZERO, move |_| {
            vec![WlanEvent { interface: guid, notification: WlanNotification::InterfaceArrival }]
        });
    }

    /// An interface goes away (`interface_removal`); calls on it fail from now on.
    pub fn remove_interface(&self, guid: Uuid) {
        self.state().interfaces.retain(|i| i.guid != guid);
        self.schedule(Duration::ZERO, move |_| {
            vec![WlanEvent { interface: guid, notification: WlanNotification::InterfaceRemoval }]
        });
    }

    // ---- host events -------------------------------------------------------------------

    /// Marks `guid` connected to the network `ssid` without any notification (the state
    /// before the service started).
    pub fn connect_quietly(&self, guid: Uuid, ssid: impl AsRef<[u8]>) {
        let ssid = ssid_of(ssid);
        let mut state = self.state();
        let bss = state.air.iter().find(|b| b.ssid == ssid).cloned().expect("the network is in range");
        if let Some(interface) = state.interface(guid) {
            interface.join(&bss);
        }
    }

    /// The host joins the network `ssid` on its own (`connection_complete`, after leaving
    /// the current network).
    pub fn host_connect(&self, guid: Uuid, ssid: impl AsRef<[u8]>) {
        let ssid = ssid_of(ssid);
        self.schedule(Duration::ZERO, move |state| {
            let Some(bss) = state.air.iter().find(|b| b.ssid == ssid).cloned() else {
                return vec![WlanEvent {
                    interface: guid,
                    notification: WlanNotification::ConnectionComplete { ssid, reason: reason::NOT_VISIBLE },
                }];
            };
            let fails = state.scan_fails_after_connect;
            let Some(interface) = state.interface(guid) else { return Vec::new() };
            let mut events = Vec::new();
            if let Some(old) = interface.connected.take() {
                events.push(WlanEvent {
                    interface: guid,
                    notification: WlanNotification::Disconnected { ssid: old.ssid, reason: reason::SUCCESS },
                });
            }
            interface.join(&bss);
            interface.fail_next_scan = fails;
            events.push(WlanEvent {
                interface: guid,
                notification: WlanNotification::ConnectionComplete { ssid, reason: reason::SUCCESS },
            });
            events
        });
    }

    /// The host loses its connection on `guid` (`disconnected`).
    pub fn host_disconnect(&self, guid: Uuid) {
        self.schedule(Duration::ZERO, move |state| {
            let Some(old) = state.interface(guid).and_then(|i| i.connected.take()) else { return Vec::new() };
            vec![WlanEvent {
                interface: guid,
                notification: WlanNotification::Disconnected { ssid: old.ssid, reason: reason::NETWORK_NOT_AVAILABLE },
            }]
        });
    }

    /// The link quality of `guid` changes (`signal_quality_change`).
    pub fn set_signal_quality(&self, guid: Uuid, percent: u32) {
        self.schedule(Duration::ZERO, move |state| {
            let Some(interface) = state.interface(guid) else { return Vec::new() };
            interface.signal = percent;
            vec![WlanEvent { interface: guid, notification: WlanNotification::SignalQuality { percent } }]
        });
    }

    /// The host scans on its own (a background scan of the WLAN service).
    pub fn background_scan(&self, guid: Uuid) {
        let timings = self.state().timings;
        self.start_scan(guid, None, timings.scan);
    }

    // ---- delivery control ------------------------------------------------------------------

    /// Holds notifications back (they queue) until [`FakeWlanApi::release_notifications`].
    pub fn hold_notifications(&self) {
        lock(&self.inner.scheduler).held = true;
    }

    /// Delivers held notifications, in order.
    pub fn release_notifications(&self) {
        lock(&self.inner.scheduler).held = false;
        self.inner.wake.notify_one();
    }

    /// Waits until every scheduled notification was delivered.
    pub async fn settled(&self) {
        let mut pending = self.inner.pending.subscribe();
        let _ = pending.wait_for(|n| *n == 0).await;
    }

    // ---- inspection --------------------------------------------------------------------

    /// What the fake was asked so far.
    pub fn calls(&self) -> FakeCalls {
        self.state().calls.clone()
    }

    /// The network `guid` is connected to.
    pub fn connected_to(&self, guid: Uuid) -> Option<Ssid> {
        self.state().interface(guid).and_then(|i| i.connected.as_ref().map(|b| b.ssid))
    }

    /// The BSSIDs in the cache of `guid`.
    pub fn cached(&self, guid: Uuid) -> Vec<Bssid> {
        self.state().interface(guid).map(|i| i.cache.iter().map(|b| b.bssid).collect()).unwrap_or_default()
    }

    // ---- behaviours ----------------------------------------------------------------------

    fn start_scan(&self, guid: Uuid, ssid: Option<Ssid>, duration: Duration) -> bool {
        {
            let mut state = self.state();
            let Some(interface) = state.interface(guid) else { return false };
            let connected = interface.connected.as_ref().map(|b| b.bssid);
            interface.cache.retain(|b| Some(b.bssid) == connected);
            interface.scan_targets.extend(ssid);
            if interface.scanning {
                return true;
            }
            interface.scanning = true;
        }
        self.schedule(duration, move |state| {
            let air = state.air.clone();
            let Some(interface) = state.interface(guid) else { return Vec::new() };
            interface.scanning = false;
            let targets = std::mem::take(&mut interface.scan_targets);
            let notification = if std::mem::take(&mut interface.fail_next_scan) {
                WlanNotification::ScanFailed { reason: reason::DRIVER_OPERATION_FAILURE }
            } else {
                for bss in air.iter().filter(|b| !b.hidden || targets.contains(&b.ssid)) {
                    if !interface.cache.iter().any(|c| c.bssid == bss.bssid) {
                        interface.cache.push(bss.clone());
                    }
                }
                WlanNotification::ScanComplete
            };
            vec![WlanEvent { interface: guid, notification }]
        });
        true
    }

    fn complete_connect(state: &mut FakeState, call: &FakeConnectCall) -> Vec<WlanEvent> {
        let guid = call.interface;
        let candidate = state
            .air
            .iter()
            .find(|b| b.ssid == call.ssid && call.bssid.is_none_or(|wanted| wanted == b.bssid))
            .cloned();
        let fails = state.scan_fails_after_connect;
        let Some(interface) = state.interface(guid) else { return Vec::new() };
        let mut events = Vec::new();
        if let Some(old) = interface.connected.take() {
            events.push(WlanEvent {
                interface: guid,
                notification: WlanNotification::Disconnected { ssid: old.ssid, reason: reason::SUCCESS },
            });
        }
        let outcome = match &candidate {
            None => reason::NETWORK_NOT_AVAILABLE,
            Some(bss) => check_security(bss, call),
        };
        if outcome == reason::SUCCESS {
            if let Some(bss) = &candidate {
                interface.join(bss);
                interface.fail_next_scan = fails;
            }
        }
        events.push(WlanEvent {
            interface: guid,
            notification: WlanNotification::ConnectionComplete { ssid: call.ssid, reason: outcome },
        });
        events
    }
}

/// The reason code a connection with `call`'s profile to `bss` ends with.
fn check_security(bss: &FakeBss, call: &FakeConnectCall) -> u32 {
    let key = call.key_material.as_deref().unwrap_or_default();
    match (call.authentication.as_str(), call.encryption.as_str()) {
        ("open", "none") if bss.auth == Dot11AuthAlgorithm::Open && bss.cipher == Dot11CipherAlgorithm::None => {
            reason::SUCCESS
        }
        ("WPA2PSK", "AES")
            if bss.auth == Dot11AuthAlgorithm::RsnaPsk
                && matches!(bss.cipher, Dot11CipherAlgorithm::Ccmp | Dot11CipherAlgorithm::Gcmp) =>
        {
            let FakeSecret::Pmk(pmk) = &bss.secret else { return reason::ASSOCIATION_FAILURE };
            let given = match call.key_type.as_deref() {
                Some("networkKey") => Pmk::from_hex(key).ok(),
                Some("passPhrase") => Some(Pmk::derive(key.as_bytes(), &bss.ssid)),
                _ => None,
            };
            if given.as_ref() == Some(pmk) { reason::SUCCESS } else { reason::PSK_MISMATCH_SUSPECTED }
        }
        ("WPA3SAE", "AES") if bss.auth == Dot11AuthAlgorithm::Wpa3Sae => match &bss.secret {
            FakeSecret::Password(password) if call.key_type.as_deref() == Some("passPhrase") && key == password => {
                reason::SUCCESS
            }
            _ => reason::KEY_MISMATCH,
        },
        _ => reason::ASSOCIATION_FAILURE,
    }
}

/// Reads a temporary profile the way the WLAN service would: a well-formed document in the
/// profile namespace with an SSID (`<hex>` preferred to `<name>`) and its security.
fn parse_profile(xml: &str, interface: Uuid, bssid: Option<Bssid>) -> Option<FakeConnectCall> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    let root = doc.root_element();
    if root.tag_name().name() != "WLANProfile" || root.tag_name().namespace() != Some(PROFILE_NAMESPACE) {
        return None;
    }
    let path = |names: &[&str]| -> Option<String> {
        let mut node = root;
        for name in names {
            node = node.children().find(|c| c.is_element() && c.tag_name().name() == *name)?;
        }
        Some(node.text().unwrap_or_default().to_owned())
    };
    let ssid = match path(&["SSIDConfig", "SSID", "hex"]) {
        Some(hex) => {
            if hex.len() % 2 != 0 || !hex.is_ascii() {
                return None;
            }
            let bytes: Option<Vec<u8>> =
                (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok()).collect();
            Ssid::new(&bytes?).ok()?
        }
        None => Ssid::new(path(&["SSIDConfig", "SSID", "name"])?.as_bytes()).ok()?,
    };
    if path(&["connectionType"])? != "ESS" {
        return None;
    }
    Some(FakeConnectCall {
        interface,
        ssid,
        name: path(&["name"])?,
        authentication: path(&["MSM", "security", "authEncryption", "authentication"])?,
        encryption: path(&["MSM", "security", "authEncryption", "encryption"])?,
        key_type: path(&["MSM", "security", "sharedKey", "keyType"]),
        key_material: path(&["MSM", "security", "sharedKey", "keyMaterial"]),
        bssid,
    })
}

/// Marks the delivery task as gone when its runtime drops it, so that the next call
/// starts another one (a fake can outlive the runtime that first used it).
struct TaskGuard(Weak<Inner>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        if let Some(inner) = self.0.upgrade() {
            inner.task_started.store(false, Ordering::Release);
        }
    }
}

async fn deliver(inner: Weak<Inner>, wake: Arc<Notify>) {
    let _guard = TaskGuard(inner.clone());
    loop {
        let next = {
            let Some(inner) = inner.upgrade() else { return };
            let mut scheduler = lock(&inner.scheduler);
            match scheduler.queue.first_key_value() {
                _ if scheduler.held => Next::Idle,
                Some((&(deadline, _), _)) if deadline <= Instant::now() => {
                    Next::Due(scheduler.queue.pop_first().map(|(_, action)| action).expect("first entry"))
                }
                Some((&(deadline, _), _)) => Next::At(deadline),
                None => Next::Idle,
            }
        };
        match next {
            Next::Due(action) => {
                let Some(inner) = inner.upgrade() else { return };
                let events = action(&mut lock(&inner.state));
                let callback = lock(&inner.callback).clone();
                if let Some(callback) = callback {
                    for event in events {
                        callback(event);
                    }
                }
                inner.pending.send_modify(|n| *n = n.saturating_sub(1));
            }
            Next::At(deadline) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(deadline) => {}
                    _ = wake.notified() => {}
                }
            }
            Next::Idle => wake.notified().await,
        }
    }
}

impl WlanApi for FakeWlanApi {
    fn enum_interfaces(&self) -> WlanResult<Vec<WlanInterfaceInfo>> {
        Ok(self
            .state()
            .interfaces
            .iter()
            .map(|i| WlanInterfaceInfo {
                guid: i.guid,
                description: "Fake Wi-Fi adapter".into(),
                state: if i.connected.is_some() { InterfaceState::Connected } else { InterfaceState::Disconnected },
            })
            .collect())
    }

    fn scan(&self, interface: Uuid, ssid: Option<&Ssid>) -> WlanResult<()> {
        let timings = {
            let mut state = self.state();
            state.existing(interface, "WlanScan")?;
            state.calls.scans.push(ssid.copied());
            state.timings
        };
        self.start_scan(interface, ssid.copied(), timings.scan);
        Ok(())
    }

    fn bss_list(&self, interface: Uuid) -> WlanResult<Vec<WlanBss>> {
        let mut state = self.state();
        let interface = state.existing(interface, "WlanGetNetworkBssList")?;
        Ok(interface.cache.iter().map(FakeBss::as_wlan_bss).collect())
    }

    fn available_networks(&self, interface: Uuid) -> WlanResult<Vec<WlanNetwork>> {
        let mut state = self.state();
        let interface = state.existing(interface, "WlanGetAvailableNetworkList")?;
        let mut networks: Vec<WlanNetwork> = Vec::new();
        for bss in &interface.cache {
            if !networks.iter().any(|n| n.ssid == bss.ssid) {
                networks.push(bss.as_network());
            }
        }
        Ok(networks)
    }

    fn current_connection(&self, interface: Uuid) -> WlanResult<Option<WlanConnection>> {
        let mut state = self.state();
        let interface = state.existing(interface, "WlanQueryInterface")?;
        Ok(interface.connected.as_ref().map(|bss| WlanConnection {
            state: InterfaceState::Connected,
            profile_name: String::from_utf8_lossy(bss.ssid.as_bytes()).into_owned(),
            ssid: bss.ssid,
            bssid: bss.bssid,
            signal_quality: interface.signal,
            auth: bss.auth,
            cipher: bss.cipher,
        }))
    }

    fn connect(&self, interface: Uuid, profile_xml: &str, bssid: Option<Bssid>) -> WlanResult<()> {
        let (call, timings, complete) = {
            let mut state = self.state();
            state.existing(interface, "WlanConnect")?;
            let call = parse_profile(profile_xml, interface, bssid)
                .ok_or(WlanError::new("WlanConnect", win32::ERROR_BAD_PROFILE))?;
            state.calls.connects.push(call.clone());
            (call, state.timings, state.complete_connects)
        };
        if complete {
            self.schedule(timings.connect, move |state| Self::complete_connect(state, &call));
        }
        Ok(())
    }

    fn disconnect(&self, interface: Uuid) -> WlanResult<()> {
        let timings = {
            let mut state = self.state();
            state.existing(interface, "WlanDisconnect")?;
            state.calls.disconnects += 1;
            state.timings
        };
        self.schedule(timings.disconnect, move |state| {
            let Some(old) = state.interface(interface).and_then(|i| i.connected.take()) else { return Vec::new() };
            vec![WlanEvent {
                interface,
                notification: WlanNotification::Disconnected { ssid: old.ssid, reason: reason::SUCCESS },
            }]
        });
        Ok(())
    }

    fn register_notifications(&self, callback: NotificationCallback) -> WlanResult<()> {
        *lock(&self.inner.callback) = Some(callback);
        self.ensure_task();
        Ok(())
    }

    fn unregister_notifications(&self) -> WlanResult<()> {
        *lock(&self.inner.callback) = None;
        Ok(())
    }
}
