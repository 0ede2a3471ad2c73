//! Wi-Fi interfaces: the one trait the operation handler drives, and its value types.
//!
//! Kinds: [`fake::FakeNetworksInterface`] (networks provided by the client
//! application), [`simulated::SimulatedInterface`] (test mode) and the real host
//! backends (`crate::host`). An application may also bring its own implementation.

pub mod bss;
pub mod fake;
pub mod guest_view;
pub mod security;
pub mod simulated;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use proxy_wifi_protocol::{BssEntry, Bssid, Ssid, StatusCode};
use tokio::sync::mpsc;
use uuid::Uuid;

pub use crate::connect_failure::ConnectFailure;
pub use security::{ConnectParams, GuestSecurity, SaePassword};

/// Identifies an interface (a GUID, as on Windows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InterfaceId(pub Uuid);

impl InterfaceId {
    /// The id of the client-provided fake networks interface.
    pub const FAKE_NETWORKS: InterfaceId = InterfaceId(Uuid::from_u128(0x1b57e649_a1df_482f_85c2_a16063836418));
}

impl fmt::Display for InterfaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The authentication algorithm of a network as the guest sees it.
///
/// Networks the guest cannot join itself (enterprise, WPA1, WEP, ...) are presented as
/// WPA2-PSK so that it can still mirror a host connection to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthAlgorithm {
    /// Open system, no encryption.
    Open,
    /// WPA2-Personal.
    Wpa2Psk,
    /// WPA3-Personal.
    Wpa3Sae,
}

impl fmt::Display for AuthAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthAlgorithm::Open => "open",
            AuthAlgorithm::Wpa2Psk => "wpa2-psk",
            AuthAlgorithm::Wpa3Sae => "wpa3-sae",
        })
    }
}

/// A network an interface is connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectedNetwork {
    /// Its SSID.
    pub ssid: Ssid,
    /// The BSS joined.
    pub bssid: Bssid,
    /// Its authentication as the guest sees it.
    pub auth: AuthAlgorithm,
}

/// Whether an interface's scan is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanStatus {
    /// The results are final.
    Completed,
    /// More results will come later through [`InterfaceEvent::ScanResults`].
    Running,
}

/// An interface's answer to a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanResults {
    /// The BSSs it sees now (including the one it is connected to).
    pub bss: Vec<BssEntry>,
    /// Whether more will come.
    pub status: ScanStatus,
}

/// Why an interface operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterfaceError {
    /// The interface does not see the requested network.
    #[error("network '{0}' not found")]
    NetworkNotFound(Ssid),
    /// The network's security is not one the interface can join for the guest.
    #[error("unsupported security for '{ssid}': {reason}")]
    UnsupportedSecurity {
        /// The network.
        ssid: Ssid,
        /// What is unsupported.
        reason: String,
    },
    /// The network refused the key (wrong passphrase, PSK or SAE password).
    #[error("wrong key: {0}")]
    WrongKey(String),
    /// The interface did not connect within its own deadline.
    #[error("timed out: {0}")]
    TimedOut(String),
    /// The network refused the connection (association rejected, ...).
    #[error("connection rejected with status {status}: {reason}")]
    Rejected {
        /// The 802.11 status code to give the guest.
        status: StatusCode,
        /// Human-readable reason.
        reason: String,
    },
    /// The interface is gone or its service is unavailable.
    #[error("interface unavailable: {0}")]
    Unavailable(String),
    /// Any other backend failure.
    #[error("{0}")]
    Backend(String),
}

impl InterfaceError {
    /// The cause a failed connect reports to the guest.
    pub fn connect_failure(&self) -> ConnectFailure {
        match self {
            InterfaceError::NetworkNotFound(_) => ConnectFailure::NetworkNotFound,
            InterfaceError::WrongKey(_) => ConnectFailure::WrongKey,
            InterfaceError::TimedOut(_) => ConnectFailure::TimedOut,
            InterfaceError::Rejected { status, .. } => ConnectFailure::Rejected(*status),
            InterfaceError::Unavailable(_) => ConnectFailure::InterfaceGone,
            InterfaceError::UnsupportedSecurity { .. } | InterfaceError::Backend(_) => ConnectFailure::Unspecified,
        }
    }
}

/// A spontaneous event of an interface, fed into the handler's work queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterfaceEvent {
    /// The host connected to a network (on its own or for the guest).
    HostConnected(ConnectedNetwork),
    /// The host lost or left its connection to `ssid`.
    HostDisconnected {
        /// The network that was left.
        ssid: Ssid,
    },
    /// The link quality of the interface's connection changed (0–100 %).
    SignalQuality {
        /// Link quality in percent.
        percent: u32,
    },
    /// Scan results became available (a guest scan went on, or a host scan finished).
    ScanResults(ScanResults),
}

/// Where and when an event was emitted: the interface, and the event's stamp on the
/// handler's event clock (taken when the interface sent it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventOrigin {
    /// The interface that emitted the event.
    pub interface: InterfaceId,
    /// Its stamp: greater than the stamp of every event sent before it.
    pub stamp: u64,
}

/// The receiving end of the events of one or more [`EventSink`]s.
pub type EventReceiver = mpsc::UnboundedReceiver<(EventOrigin, InterfaceEvent)>;

/// The handler's event clock: every event is stamped with its next tick when it is sent.
///
/// The handler reads the clock when it records a guest connection; an event stamped at
/// or before that reading was emitted before the connection existed, so it cannot be
/// about it (behavior.md "Host events": a previous connection's events never end the
/// current one).
#[derive(Debug, Clone, Default)]
pub struct EventClock(Arc<AtomicU64>);

impl EventClock {
    /// The stamp of the last event sent so far (0 before any).
    pub fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    fn tick(&self) -> u64 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
}

/// Where an interface sends its [`InterfaceEvent`]s; cheap to clone, never blocks.
#[derive(Debug, Clone)]
pub struct EventSink {
    interface: InterfaceId,
    clock: EventClock,
    sender: mpsc::UnboundedSender<(EventOrigin, InterfaceEvent)>,
}

impl EventSink {
    /// A sink feeding `sender`, tagging events with `interface` and a stamp of `clock`.
    pub fn new(
        interface: InterfaceId,
        clock: EventClock,
        sender: mpsc::UnboundedSender<(EventOrigin, InterfaceEvent)>,
    ) -> Self {
        Self { interface, clock, sender }
    }

    /// A sink for a test: the receiving end gets every event.
    pub fn channel(interface: InterfaceId) -> (Self, EventReceiver) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (Self::new(interface, EventClock::default(), sender), receiver)
    }

    /// Sends an event; silently dropped once the service stopped.
    pub fn send(&self, event: InterfaceEvent) {
        let origin = EventOrigin { interface: self.interface, stamp: self.clock.tick() };
        let _ = self.sender.send((origin, event));
    }
}

/// A Wi-Fi interface the guest's operations can be honoured with.
///
/// Methods may take long; the handler applies the deadlines of `behavior.md` around
/// them (10 s scan, 10 s connect, 5 s disconnect).
#[async_trait]
pub trait WifiInterface: Send + Sync + 'static {
    /// The interface's id.
    fn id(&self) -> InterfaceId;

    /// Its name for operators (`wlan0`); its id when it has none.
    fn name(&self) -> String {
        self.id().to_string()
    }

    /// The backend driving it (`networkmanager`, `wpa_supplicant`, `wlanapi`, ...).
    fn backend(&self) -> &'static str {
        "application"
    }

    /// Gives the interface the sink for its events. Called once, before any operation.
    fn attach(&self, events: EventSink);

    /// The connection the host has to `ssid` on this interface, if any (for mirroring).
    async fn connection_to(&self, ssid: &Ssid) -> Option<ConnectedNetwork>;

    /// Scans (targeted when `ssid` is given) and returns what is visible now.
    async fn scan(&self, ssid: Option<Ssid>) -> Result<ScanResults, InterfaceError>;

    /// Connects to the requested network for the guest.
    async fn connect(&self, params: &ConnectParams) -> Result<ConnectedNetwork, InterfaceError>;

    /// Ends the connection made for the guest.
    async fn disconnect(&self) -> Result<(), InterfaceError>;
}

/// A shared interface.
pub type SharedInterface = Arc<dyn WifiInterface>;
