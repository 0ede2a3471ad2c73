//! What both Linux backends share: the host-link state machine of an interface
//! ([`HostLink`]: host state, events, "report the connection on attach", the delayed
//! cleanup after a host loss), the [`WifiInterface`] face of a backend's interface
//! ([`LinuxInterface`]: connects and disconnects on their own task), stable interface
//! ids, and a way to run a probe to completion from any caller.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use proxy_wifi_protocol::Ssid;
use uuid::Uuid;

use crate::interface::{
    ConnectParams, ConnectedNetwork, EventSink, InterfaceError, InterfaceEvent, InterfaceId, ScanResults, WifiInterface,
};
use crate::limits::HOST_LOSS_CLEANUP_DELAY;

/// Runs an interface operation on its own task: if the handler gives up waiting, the
/// operation (and the cleanup it does on failure) still completes.
async fn on_own_task<T: Send + 'static>(
    what: &str,
    operation: impl Future<Output = Result<T, InterfaceError>> + Send + 'static,
) -> Result<T, InterfaceError> {
    tokio::spawn(operation).await.map_err(|e| InterfaceError::Backend(format!("{what} task failed: {e}")))?
}

#[derive(Debug, Default)]
struct LinkState {
    /// What the host is connected to now.
    host: Option<ConnectedNetwork>,
    /// A guest disconnect is under way: the disconnection it causes is not a host event.
    own_disconnect: bool,
    /// The last link quality sent, so that only changes are sent.
    last_percent: Option<u32>,
    /// Cleanups after a host loss that have run (tests wait for them).
    cleanups_done: u64,
}

/// The host side of one Linux interface: what the host is connected to, whether the
/// disconnection under way is the guest's own, the last link quality sent, and where
/// the interface's events go. The backend feeds it what its daemon reports.
#[derive(Debug)]
pub struct HostLink {
    id: InterfaceId,
    name: String,
    backend: &'static str,
    outlet: OnceLock<EventSink>,
    state: Mutex<LinkState>,
}

impl HostLink {
    /// The link of interface `name` (id `id`) of `backend`, connected to `host` at start.
    pub fn new(id: InterfaceId, name: String, backend: &'static str, host: Option<ConnectedNetwork>) -> Self {
        Self {
            id,
            name,
            backend,
            outlet: OnceLock::new(),
            state: Mutex::new(LinkState { host, ..LinkState::default() }),
        }
    }

    /// The network interface name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn state(&self) -> MutexGuard<'_, LinkState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What the host is connected to now.
    pub fn host(&self) -> Option<ConnectedNetwork> {
        self.state().host
    }

    /// Sends `event`; dropped before the interface is attached.
    pub fn emit(&self, event: InterfaceEvent) {
        if let Some(sink) = self.outlet.get() {
            sink.send(event);
        }
    }

    /// Takes the handler's sink (the first one only). Rule (behavior.md "Interface
    /// arrival"): an interface added while the host is connected reports that connection.
    pub fn attach(&self, sink: EventSink) {
        if self.outlet.set(sink).is_ok() {
            if let Some(network) = self.host() {
                self.emit(InterfaceEvent::HostConnected(network));
            }
        }
    }

    /// The host connected (to `network`, when the backend could read it): the handler is
    /// told, and link quality is reported afresh.
    pub fn connected(&self, network: Option<ConnectedNetwork>) {
        {
            let mut state = self.state();
            state.host = network;
            state.last_percent = None;
        }
        if let Some(network) = network {
            tracing::info!(interface = %self.name, ssid = %network.ssid, bssid = %network.bssid, "host connected");
            self.emit(InterfaceEvent::HostConnected(network));
        }
    }

    /// The host left its network. A host loss (not the guest's own disconnection) is
    /// reported to the handler and returned: the backend then cleans up what it added
    /// for the guest ([`HostLink::clean_up_after_loss`]).
    pub fn disconnected(&self) -> Option<ConnectedNetwork> {
        let (left, own) = {
            let mut state = self.state();
            state.last_percent = None;
            (state.host.take(), state.own_disconnect)
        };
        let network = left?;
        tracing::info!(interface = %self.name, ssid = %network.ssid, own, "host disconnected");
        if own {
            return None;
        }
        self.emit(InterfaceEvent::HostDisconnected { ssid: network.ssid });
        Some(network)
    }

    /// The link quality is `percent`: reported while connected, when it changed.
    pub fn signal(&self, percent: u32) {
        let changed = {
            let mut state = self.state();
            let changed = state.host.is_some() && state.last_percent != Some(percent);
            if changed {
                state.last_percent = Some(percent);
            }
            changed
        };
        if changed {
            tracing::debug!(interface = %self.name, percent, "signal quality");
            self.emit(InterfaceEvent::SignalQuality { percent });
        }
    }

    /// Marks the guest's own disconnection as under way until the guard is dropped: the
    /// disconnection it causes is not reported as a host event.
    pub fn own_disconnect(&self) -> OwnDisconnect<'_> {
        self.state().own_disconnect = true;
        OwnDisconnect(self)
    }

    /// Rule (behavior.md "Host disconnected on the interface backing the guest's
    /// connection"): the handler forgets a guest connection the host lost and will not
    /// ask for a disconnect, so the backend removes what it added for it (`cleanup`) —
    /// a moment later, so that the guest hears of the loss first.
    pub fn clean_up_after_loss(self: &Arc<Self>, cleanup: impl Future<Output = ()> + Send + 'static) {
        let link = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(HOST_LOSS_CLEANUP_DELAY).await;
            tracing::info!(interface = %link.name, "the host lost the guest's connection; removing what was added for it");
            cleanup.await;
            link.state().cleanups_done += 1;
        });
    }

    /// How many cleanups after a host loss have run.
    #[cfg(test)]
    pub(crate) fn cleanups_done(&self) -> u64 {
        self.state().cleanups_done
    }
}

/// The guest's own disconnection is under way while this lives ([`HostLink::own_disconnect`]).
pub struct OwnDisconnect<'a>(&'a HostLink);

impl Drop for OwnDisconnect<'_> {
    fn drop(&mut self) {
        self.0.state().own_disconnect = false;
    }
}

/// One interface of a Linux backend, as the backend drives it; [`LinuxInterface`] makes
/// it a [`WifiInterface`].
#[async_trait]
pub trait LinkDriver: Send + Sync + 'static {
    /// The host's connection to `ssid`, if any.
    async fn connection_to(&self, ssid: &Ssid) -> Option<ConnectedNetwork>;
    /// Scans (targeted when `ssid` is given).
    async fn scan(&self, ssid: Option<Ssid>) -> Result<ScanResults, InterfaceError>;
    /// Connects for the guest.
    async fn connect(self: Arc<Self>, params: ConnectParams) -> Result<ConnectedNetwork, InterfaceError>;
    /// Ends the guest's connection.
    async fn disconnect(self: Arc<Self>) -> Result<(), InterfaceError>;
}

/// A Linux backend's interface as a [`WifiInterface`]: attaching reports a connection
/// the host already has, and connects and disconnects run on their own task (if the
/// handler gives up waiting, the operation and its cleanup still complete).
pub struct LinuxInterface<D> {
    link: Arc<HostLink>,
    driver: Arc<D>,
}

impl<D> LinuxInterface<D> {
    /// The interface of `driver`, whose host link is `link`.
    pub(crate) fn new(link: Arc<HostLink>, driver: D) -> Self {
        Self { link, driver: Arc::new(driver) }
    }

    pub(crate) fn driver(&self) -> &Arc<D> {
        &self.driver
    }
}

#[async_trait]
impl<D: LinkDriver> WifiInterface for LinuxInterface<D> {
    fn id(&self) -> InterfaceId {
        self.link.id
    }

    fn name(&self) -> String {
        self.link.name.clone()
    }

    fn backend(&self) -> &'static str {
        self.link.backend
    }

    fn attach(&self, events: EventSink) {
        self.link.attach(events);
    }

    async fn connection_to(&self, ssid: &Ssid) -> Option<ConnectedNetwork> {
        self.driver.connection_to(ssid).await
    }

    async fn scan(&self, ssid: Option<Ssid>) -> Result<ScanResults, InterfaceError> {
        self.driver.scan(ssid).await
    }

    async fn connect(&self, params: &ConnectParams) -> Result<ConnectedNetwork, InterfaceError> {
        on_own_task("connect", self.driver.clone().connect(params.clone())).await
    }

    async fn disconnect(&self) -> Result<(), InterfaceError> {
        on_own_task("disconnect", self.driver.clone().disconnect()).await
    }
}

/// A stable interface id for interface `name` of backend `kind` (the same across
/// restarts, different between backends): a UUID (version 8) from two FNV-1a hashes.
pub fn stable_interface_id(kind: &str, name: &str) -> InterfaceId {
    let hash = |seed: u64| {
        let mut h = seed;
        for b in kind.bytes().chain([0]).chain(name.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h
    };
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&hash(0xcbf2_9ce4_8422_2325).to_be_bytes());
    bytes[8..].copy_from_slice(&hash(0x8422_2325_cbf2_9ce4).to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    InterfaceId(Uuid::from_bytes(bytes))
}

/// Runs `future` to completion on a fresh current-thread runtime on its own thread,
/// giving up after `limit`; usable from synchronous and asynchronous callers alike.
pub fn run_detached<T: Send + 'static>(
    limit: Duration,
    future: impl std::future::Future<Output = T> + Send + 'static,
) -> Option<T> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("proxy-wifi-probe".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            if let Ok(runtime) = runtime {
                let _ = sender.send(runtime.block_on(future));
            }
        })
        .ok()?;
    receiver.recv_timeout(limit).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxy_wifi_protocol::{Bssid, Ssid};

    fn network() -> ConnectedNetwork {
        ConnectedNetwork {
            ssid: Ssid::new(b"home").unwrap(),
            bssid: Bssid([2, 0, 0, 0, 0, 1]),
            auth: crate::interface::AuthAlgorithm::Wpa2Psk,
        }
    }

    fn events(receiver: &mut crate::interface::EventReceiver) -> Vec<InterfaceEvent> {
        std::iter::from_fn(|| receiver.try_recv().ok().map(|(_, e)| e)).collect()
    }

    #[test]
    fn an_interface_attached_while_connected_reports_it_once() {
        let link = HostLink::new(InterfaceId::FAKE_NETWORKS, "wlan0".into(), "test", Some(network()));
        link.emit(InterfaceEvent::SignalQuality { percent: 50 }); // before attach: dropped
        let (sink, mut receiver) = EventSink::channel(InterfaceId::FAKE_NETWORKS);
        link.attach(sink.clone());
        link.attach(sink); // a second attach is ignored
        assert_eq!(events(&mut receiver), vec![InterfaceEvent::HostConnected(network())]);
    }

    #[test]
    fn host_losses_are_reported_but_the_guests_own_disconnection_is_not() {
        let link = HostLink::new(InterfaceId::FAKE_NETWORKS, "wlan0".into(), "test", None);
        let (sink, mut receiver) = EventSink::channel(InterfaceId::FAKE_NETWORKS);
        link.attach(sink);
        assert_eq!(link.disconnected(), None, "not connected: nothing left");
        link.connected(Some(network()));
        {
            let _own = link.own_disconnect();
            assert_eq!(link.disconnected(), None);
        }
        link.connected(Some(network()));
        assert_eq!(link.disconnected(), Some(network()));
        let ssid = network().ssid;
        assert_eq!(
            events(&mut receiver),
            vec![
                InterfaceEvent::HostConnected(network()),
                InterfaceEvent::HostConnected(network()),
                InterfaceEvent::HostDisconnected { ssid },
            ]
        );
    }

    #[test]
    fn link_quality_is_reported_when_connected_and_changed() {
        let link = HostLink::new(InterfaceId::FAKE_NETWORKS, "wlan0".into(), "test", None);
        let (sink, mut receiver) = EventSink::channel(InterfaceId::FAKE_NETWORKS);
        link.attach(sink);
        link.signal(40); // not connected
        link.connected(Some(network()));
        link.signal(40);
        link.signal(40);
        link.signal(70);
        link.connected(Some(network())); // a new connection reports afresh
        link.signal(70);
        let signals: Vec<_> =
            events(&mut receiver).into_iter().filter(|e| matches!(e, InterfaceEvent::SignalQuality { .. })).collect();
        let percent = |percent| InterfaceEvent::SignalQuality { percent };
        assert_eq!(signals, vec![percent(40), percent(70), percent(70)]);
    }

    #[test]
    fn interface_ids_are_stable_and_distinct() {
        let a = stable_interface_id("wpa_supplicant", "wlan0");
        assert_eq!(a, stable_interface_id("wpa_supplicant", "wlan0"));
        assert_ne!(a, stable_interface_id("wpa_supplicant", "wlan1"));
        assert_ne!(a, stable_interface_id("NetworkManager", "wlan0"));
        assert_eq!(a.0.get_version_num(), 8);
        assert_ne!(a, InterfaceId::FAKE_NETWORKS);
    }

    #[test]
    fn run_detached_works_inside_a_runtime() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let value = runtime.block_on(async { run_detached(Duration::from_secs(2), async { 7 }) });
        assert_eq!(value, Some(7));
    }
}
