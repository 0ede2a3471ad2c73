//! The simulated interface (test mode): networks described by the application (or the
//! three built-in ones), real WPA2-PSK key checking, and an event API to trigger host
//! events at run time.

use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use proxy_wifi_protocol::{Bssid, Pmk, Ssid};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::bss::build_bss_entry;
use super::{
    AuthAlgorithm, ConnectParams, ConnectedNetwork, EventSink, InterfaceError, InterfaceEvent, InterfaceId,
    ScanResults, ScanStatus, WifiInterface,
};

/// The id of the simulated interface.
pub const SIMULATED_INTERFACE_ID: InterfaceId = InterfaceId(Uuid::from_u128(0x5a1e_0001_0000_4000_8000_0000_0000_0001));

/// Security of a simulated network.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "security", rename_all = "kebab-case")]
pub enum SimulatedSecurity {
    /// Open network.
    Open,
    /// WPA2-PSK; the guest's PMK must be derived from this passphrase.
    Wpa2Psk {
        /// The passphrase (8–63 characters).
        passphrase: String,
    },
    /// WPA3-SAE; the guest must send this password.
    Wpa3Sae {
        /// The SAE password.
        password: String,
    },
}

impl std::fmt::Debug for SimulatedSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SimulatedSecurity::Open => "Open",
            SimulatedSecurity::Wpa2Psk { .. } => "Wpa2Psk { passphrase: <redacted> }",
            SimulatedSecurity::Wpa3Sae { .. } => "Wpa3Sae { password: <redacted> }",
        })
    }
}

impl SimulatedSecurity {
    /// The authentication the guest sees.
    pub fn auth(&self) -> AuthAlgorithm {
        match self {
            SimulatedSecurity::Open => AuthAlgorithm::Open,
            SimulatedSecurity::Wpa2Psk { .. } => AuthAlgorithm::Wpa2Psk,
            SimulatedSecurity::Wpa3Sae { .. } => AuthAlgorithm::Wpa3Sae,
        }
    }
}

/// A simulated network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatedNetwork {
    /// SSID.
    pub ssid: Ssid,
    /// BSSID.
    pub bssid: Bssid,
    /// Security and secret.
    pub security: SimulatedSecurity,
    /// Centre frequency in MHz.
    pub frequency_mhz: u32,
    /// Signal in dBm.
    pub rssi_dbm: i32,
}

impl SimulatedNetwork {
    /// Passphrase of the built-in `FakeWpa2Psk` network.
    pub const DEFAULT_PASSPHRASE: &'static str = "secretsecret";

    /// The built-in networks: `FakeWpa2Psk` (WPA2-PSK, passphrase `secretsecret`,
    /// 2432 MHz, 00:00:00:00:00:01), `FakeOpen` (open, 5240 MHz, …:02) and `Fake6GHz`
    /// (open, 6115 MHz, …:03).
    pub fn defaults() -> Vec<SimulatedNetwork> {
        let network = |ssid: &str, last: u8, security, frequency_mhz, rssi_dbm| SimulatedNetwork {
            ssid: Ssid::new(ssid.as_bytes()).expect("short SSID"),
            bssid: Bssid([0, 0, 0, 0, 0, last]),
            security,
            frequency_mhz,
            rssi_dbm,
        };
        vec![
            network(
                "FakeWpa2Psk",
                1,
                SimulatedSecurity::Wpa2Psk { passphrase: Self::DEFAULT_PASSPHRASE.into() },
                2432,
                -50,
            ),
            network("FakeOpen", 2, SimulatedSecurity::Open, 5240, -67),
            network("Fake6GHz", 3, SimulatedSecurity::Open, 6115, -80),
        ]
    }

    fn connected(&self) -> ConnectedNetwork {
        ConnectedNetwork { ssid: self.ssid, bssid: self.bssid, auth: self.security.auth() }
    }
}

/// How the simulated interface answers scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScanMode {
    /// All results at once, completed.
    Synchronous,
    /// The first result now with status running; the rest by notification a second later.
    Asynchronous,
}

/// Which kind of network an operator asks the simulated host to join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostNetworkKind {
    /// The first open network.
    Open,
    /// The first WPA2-PSK network.
    Psk,
}

/// Why an event-API call could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimulationError {
    /// `host_disconnect` while the host is not connected.
    #[error("the simulated host is not connected")]
    NotConnected,
    /// No simulated network of the asked kind.
    #[error("no simulated {0} network to connect to")]
    NoSuchNetwork(&'static str),
}

struct Network {
    description: SimulatedNetwork,
    /// Precomputed PMK for WPA2-PSK networks.
    pmk: Option<Pmk>,
    /// Its scan entry, built once.
    entry: proxy_wifi_protocol::BssEntry,
}

struct State {
    networks: Vec<Network>,
    connected: Option<usize>,
    scan_mode: ScanMode,
}

/// The simulated interface. Cheap to share; [`SimulatedInterface::control`] gives the event API.
pub struct SimulatedInterface {
    state: Mutex<State>,
    events: OnceLock<EventSink>,
}

impl SimulatedInterface {
    /// An interface simulating `networks`, not connected, scans synchronous.
    pub fn new(networks: Vec<SimulatedNetwork>) -> Arc<Self> {
        let networks = networks
            .into_iter()
            .map(|description| {
                let pmk = match &description.security {
                    SimulatedSecurity::Wpa2Psk { passphrase } => {
                        Some(Pmk::derive(passphrase.as_bytes(), &description.ssid))
                    }
                    _ => None,
                };
                let d = &description;
                let entry = build_bss_entry(&d.ssid, d.bssid, d.security.auth(), d.frequency_mhz, d.rssi_dbm);
                Network { description, pmk, entry }
            })
            .collect();
        Arc::new(Self {
            state: Mutex::new(State { networks, connected: None, scan_mode: ScanMode::Synchronous }),
            events: OnceLock::new(),
        })
    }

    /// The event API handle.
    pub fn control(self: &Arc<Self>) -> SimulationControl {
        SimulationControl { interface: self.clone() }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn emit(&self, event: InterfaceEvent) {
        if let Some(events) = self.events.get() {
            events.send(event);
        }
    }

    fn all_results(&self) -> Vec<proxy_wifi_protocol::BssEntry> {
        self.state().networks.iter().map(|n| n.entry.clone()).collect()
    }

    /// Checks the guest's key against the network; `Err` names what is wrong.
    fn check_key(network: &Network, params: &ConnectParams) -> Result<(), InterfaceError> {
        let ssid = network.description.ssid;
        let rejected = |reason: &str| InterfaceError::WrongKey(format!("{reason} for '{ssid}'"));
        match (&network.description.security, params.auth_algorithm()) {
            (SimulatedSecurity::Open, _) => Ok(()),
            (SimulatedSecurity::Wpa2Psk { .. }, AuthAlgorithm::Wpa2Psk) => {
                match (params.request.key.to_pmk(), &network.pmk) {
                    (Some(given), Some(expected)) if given == *expected => Ok(()),
                    (None, _) => Err(rejected(&format!("a {}-byte key is not a PMK", params.request.key.len()))),
                    _ => Err(rejected("wrong PMK")),
                }
            }
            (SimulatedSecurity::Wpa3Sae { password }, AuthAlgorithm::Wpa3Sae) => {
                if params.request.key == proxy_wifi_protocol::Key::new(password.as_bytes()).unwrap_or_default() {
                    Ok(())
                } else {
                    Err(rejected("wrong SAE password"))
                }
            }
            // A network of another security answers with "invalid AKMP": the key management
            // asked for is not the one it offers (docs/connect-failures.md).
            (security, asked) => Err(InterfaceError::Rejected {
                status: proxy_wifi_protocol::StatusCode::INVALID_AKMP,
                reason: format!("'{ssid}' uses {}, the guest asked for {asked}", security.auth()),
            }),
        }
    }
}

#[async_trait]
impl WifiInterface for SimulatedInterface {
    fn id(&self) -> InterfaceId {
        SIMULATED_INTERFACE_ID
    }

    fn name(&self) -> String {
        "sim0".into()
    }

    fn backend(&self) -> &'static str {
        "simulated"
    }

    fn attach(&self, events: EventSink) {
        let _ = self.events.set(events);
    }

    async fn connection_to(&self, ssid: &Ssid) -> Option<ConnectedNetwork> {
        let state = self.state();
        let network = &state.networks[state.connected?].description;
        (network.ssid == *ssid).then(|| network.connected())
    }

    async fn scan(&self, _ssid: Option<Ssid>) -> Result<ScanResults, InterfaceError> {
        let mode = self.state().scan_mode;
        let mut bss = self.all_results();
        match mode {
            ScanMode::Synchronous => Ok(ScanResults { bss, status: ScanStatus::Completed }),
            ScanMode::Asynchronous => {
                bss.truncate(1);
                if let Some(events) = self.events.get().cloned() {
                    let rest = self.all_results();
                    tokio::spawn(async move {
                        tokio::time::sleep(crate::limits::SIMULATED_ASYNC_SCAN_DELAY).await;
                        events.send(InterfaceEvent::ScanResults(ScanResults {
                            bss: rest,
                            status: ScanStatus::Completed,
                        }));
                    });
                }
                Ok(ScanResults { bss, status: ScanStatus::Running })
            }
        }
    }

    async fn connect(&self, params: &ConnectParams) -> Result<ConnectedNetwork, InterfaceError> {
        let connected = {
            let mut state = self.state();
            let index = state
                .networks
                .iter()
                .position(|n| {
                    n.description.ssid == params.ssid && (params.bssid.is_zero() || n.description.bssid == params.bssid)
                })
                .ok_or(InterfaceError::NetworkNotFound(params.ssid))?;
            Self::check_key(&state.networks[index], params)?;
            state.connected = Some(index);
            state.networks[index].description.connected()
        };
        self.emit(InterfaceEvent::HostConnected(connected));
        Ok(connected)
    }

    async fn disconnect(&self) -> Result<(), InterfaceError> {
        let left = {
            let mut state = self.state();
            state.connected.take().map(|i| state.networks[i].description.ssid)
        };
        if let Some(ssid) = left {
            self.emit(InterfaceEvent::HostDisconnected { ssid });
        }
        Ok(())
    }
}

/// The event API of the simulated interface: trigger host events at run time.
#[derive(Clone)]
pub struct SimulationControl {
    interface: Arc<SimulatedInterface>,
}

impl SimulationControl {
    /// The host loses its connection (the guest is notified if it was using it).
    pub fn host_disconnect(&self) -> Result<Ssid, SimulationError> {
        let ssid = {
            let mut state = self.interface.state();
            let index = state.connected.take().ok_or(SimulationError::NotConnected)?;
            state.networks[index].description.ssid
        };
        self.interface.emit(InterfaceEvent::HostDisconnected { ssid });
        Ok(ssid)
    }

    /// The host joins the first open or WPA2-PSK network (a guest may then mirror it).
    pub fn host_connect(&self, kind: HostNetworkKind) -> Result<ConnectedNetwork, SimulationError> {
        let connected = {
            let mut state = self.interface.state();
            let index = state
                .networks
                .iter()
                .position(|n| match kind {
                    HostNetworkKind::Open => n.description.security == SimulatedSecurity::Open,
                    HostNetworkKind::Psk => matches!(n.description.security, SimulatedSecurity::Wpa2Psk { .. }),
                })
                .ok_or(SimulationError::NoSuchNetwork(match kind {
                    HostNetworkKind::Open => "open",
                    HostNetworkKind::Psk => "WPA2-PSK",
                }))?;
            state.connected = Some(index);
            state.networks[index].description.connected()
        };
        self.interface.emit(InterfaceEvent::HostConnected(connected));
        Ok(connected)
    }

    /// The link quality of the host connection changes (0–100 %, clamped).
    pub fn set_signal_quality(&self, percent: u32) {
        self.interface.emit(InterfaceEvent::SignalQuality { percent: percent.min(100) });
    }

    /// The host finishes a scan: all networks go to the guest as a notification.
    pub fn send_scan_results(&self) {
        let bss = self.interface.all_results();
        self.interface.emit(InterfaceEvent::ScanResults(ScanResults { bss, status: ScanStatus::Completed }));
    }

    /// Switches scans between synchronous and asynchronous.
    pub fn set_scan_mode(&self, mode: ScanMode) {
        self.interface.state().scan_mode = mode;
    }

    /// The current scan mode.
    pub fn scan_mode(&self) -> ScanMode {
        self.interface.state().scan_mode
    }

    /// The network the simulated host is connected to.
    pub fn host_connection(&self) -> Option<ConnectedNetwork> {
        let state = self.interface.state();
        state.connected.map(|i| state.networks[i].description.connected())
    }

    /// The simulated networks.
    pub fn networks(&self) -> Vec<SimulatedNetwork> {
        self.interface.state().networks.iter().map(|n| n.description.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxy_wifi_protocol::ConnectRequest;

    fn psk_params(ssid: &str, passphrase: &str) -> ConnectParams {
        let ssid = Ssid::new(ssid.as_bytes()).unwrap();
        ConnectParams::new(ConnectRequest::wpa2_psk(ssid, Pmk::derive(passphrase.as_bytes(), &ssid)))
    }

    #[tokio::test]
    async fn wpa2_connect_needs_the_pmk_of_the_passphrase() {
        let sim = SimulatedInterface::new(SimulatedNetwork::defaults());
        let wrong = sim.connect(&psk_params("FakeWpa2Psk", "not-the-passphrase")).await.unwrap_err();
        assert!(matches!(wrong, InterfaceError::WrongKey(_)), "{wrong}");
        let ok = sim.connect(&psk_params("FakeWpa2Psk", "secretsecret")).await.unwrap();
        assert_eq!(ok.bssid, Bssid([0, 0, 0, 0, 0, 1]));
        assert!(sim.connection_to(&ok.ssid).await.is_some());
    }

    #[tokio::test]
    async fn sae_checks_the_password_and_open_needs_nothing() {
        let ssid = Ssid::new(b"Home").unwrap();
        let sim = SimulatedInterface::new(vec![SimulatedNetwork {
            ssid,
            bssid: Bssid([2, 0, 0, 0, 0, 7]),
            security: SimulatedSecurity::Wpa3Sae { password: "correct horse".into() },
            frequency_mhz: 5180,
            rssi_dbm: -40,
        }]);
        let sae = |password: &[u8]| ConnectParams::new(ConnectRequest::wpa3_sae(ssid, password).unwrap());
        assert!(sim.connect(&sae(b"battery staple")).await.is_err());
        assert_eq!(sim.connect(&sae(b"correct horse")).await.unwrap().auth, AuthAlgorithm::Wpa3Sae);

        let open = SimulatedInterface::new(SimulatedNetwork::defaults());
        let params = ConnectParams::new(proxy_wifi_protocol::ConnectRequest::open(Ssid::new(b"FakeOpen").unwrap()));
        assert_eq!(open.connect(&params).await.unwrap().bssid, Bssid([0, 0, 0, 0, 0, 2]));
    }

    #[tokio::test]
    async fn asking_psk_on_an_open_network_is_fine_but_open_on_psk_is_not() {
        let sim = SimulatedInterface::new(SimulatedNetwork::defaults());
        let params = ConnectParams::new(proxy_wifi_protocol::ConnectRequest::open(Ssid::new(b"FakeWpa2Psk").unwrap()));
        let error = sim.connect(&params).await.unwrap_err();
        assert_eq!(error.connect_failure().status_code(), proxy_wifi_protocol::StatusCode::INVALID_AKMP, "{error}");
    }

    #[tokio::test(start_paused = true)]
    async fn asynchronous_scan_reports_first_then_rest_by_event() {
        let sim = SimulatedInterface::new(SimulatedNetwork::defaults());
        let (sink, mut events) = EventSink::channel(SIMULATED_INTERFACE_ID);
        sim.attach(sink);
        sim.control().set_scan_mode(ScanMode::Asynchronous);
        let first = sim.scan(None).await.unwrap();
        assert_eq!(first.status, ScanStatus::Running);
        assert_eq!(first.bss.len(), 1);
        let (_, event) = events.recv().await.unwrap();
        match event {
            InterfaceEvent::ScanResults(r) => {
                assert_eq!(r.bss.len(), 3);
                assert_eq!(r.status, ScanStatus::Completed);
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn event_api_emits_host_events() {
        let sim = SimulatedInterface::new(SimulatedNetwork::defaults());
        let (sink, mut events) = EventSink::channel(SIMULATED_INTERFACE_ID);
        sim.attach(sink);
        let control = sim.control();
        assert_eq!(control.host_disconnect(), Err(SimulationError::NotConnected));
        let joined = control.host_connect(HostNetworkKind::Psk).unwrap();
        assert_eq!(joined.ssid.as_bytes(), b"FakeWpa2Psk");
        assert_eq!(events.recv().await.unwrap().1, InterfaceEvent::HostConnected(joined));
        control.set_signal_quality(140);
        assert_eq!(events.recv().await.unwrap().1, InterfaceEvent::SignalQuality { percent: 100 });
        assert_eq!(control.host_disconnect().unwrap(), joined.ssid);
        assert_eq!(events.recv().await.unwrap().1, InterfaceEvent::HostDisconnected { ssid: joined.ssid });
    }
}
