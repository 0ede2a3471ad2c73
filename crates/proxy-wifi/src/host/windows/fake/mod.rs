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
//!
//! Parts: [`bss`] (the networks in range and the security check), [`profile`] (reading a
//! connection's profile XML), [`scheduler`] (the clock and the delivery task).

pub mod bss;
mod profile;
mod scheduler;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use proxy_wifi_protocol::{Bssid, Ssid};
use tokio::sync::{Notify, watch};
use uuid::Uuid;

use super::api::{
    InterfaceState, NotificationCallback, WlanApi, WlanBss, WlanConnection, WlanError, WlanEvent, WlanInterfaceInfo,
    WlanNetwork, WlanNotification, WlanResult, reason, win32,
};
pub use bss::FakeBss;
use bss::{check_security, ssid_of};
pub use profile::FakeConnectCall;
use profile::parse_profile;
use scheduler::Scheduler;

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

    /// Leaves the connected network, if any: the `Disconnected` event the service reports.
    fn leave(&mut self, reason: u32) -> Option<WlanEvent> {
        let old = self.connected.take()?;
        Some(WlanEvent {
            interface: self.guid,
            notification: WlanNotification::Disconnected { ssid: old.ssid, reason },
        })
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
            let mut events: Vec<WlanEvent> = interface.leave(reason::SUCCESS).into_iter().collect();
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
            state.interface(guid).and_then(|i| i.leave(reason::NETWORK_NOT_AVAILABLE)).into_iter().collect()
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
        let mut events: Vec<WlanEvent> = interface.leave(reason::SUCCESS).into_iter().collect();
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
            state.interface(interface).and_then(|i| i.leave(reason::SUCCESS)).into_iter().collect()
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
