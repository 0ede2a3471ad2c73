//! proxy-wifi: the host side of the `proxy_wifi` system.
//!
//! A driver inside a virtual machine (the Linux `proxy_wifi` cfg80211 driver) forwards
//! the guest's Wi-Fi control operations — scan, connect, disconnect — to this service
//! over two sockets. The service honours them with the host's Wi-Fi interfaces (or
//! simulated networks) and pushes notifications back to the guest: disconnection,
//! signal quality, fresh scan results. The embedding application watches and vetoes
//! what the guest does through an [`Observer`].
//!
//! Inside, the transports move whole messages, the operation handler decides (one
//! serialized work queue), and Wi-Fi interfaces honour the operations. What an
//! embedding application uses is exported here, at the crate root:
//!
//! * the service: [`Service`], [`ServiceBuilder`], [`ServiceHandle`], [`ServiceStatus`];
//! * its settings: [`TransportSettings`], [`RequestChannelConfig`], [`Timeouts`];
//! * the [`Observer`] and its argument types;
//! * the [`WifiInterface`] trait and its value types, for bringing one's own interface;
//! * fake networks ([`FakeNetwork`]) and the simulation ([`SimulationControl`]);
//! * the host backends ([`HostBackend`]).
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod connect_failure;
pub mod guest_connect_policy;
mod guest_set;
mod handler;
mod host;
pub mod host_mode_rule;
mod identity;
mod interface;
pub mod limits;
pub mod log_limit;
mod metrics;
mod notify;
mod observer;
mod service;
#[cfg(unix)]
pub mod socket_file;
mod ssid_allow_list;
mod status;
mod transport;

pub use connect_failure::ConnectFailure;
pub use guest_connect_policy::GuestConnectPolicy;
pub use guest_set::{GuestChangeError, GuestList};
pub use handler::Timeouts;
#[cfg(target_os = "linux")]
pub use host::linux::{BackendChoice, BackendError, select_backend};
pub use host::windows::WlanBackend;
#[cfg(all(windows, feature = "etw"))]
pub use host::windows::etw::{EtwError, layer as etw_layer};
pub use host::{HostBackend, InterfaceRegistry};
pub use identity::{BadGuestId, GuestId};
pub use interface::bss::build_bss_entry;
pub use interface::fake::FakeNetwork;
pub use interface::simulated::{
    HostNetworkKind, ScanMode, SimulatedNetwork, SimulatedSecurity, SimulationControl, SimulationError,
};
pub use interface::{
    AuthAlgorithm, ConnectParams, ConnectedNetwork, EventOrigin, EventReceiver, EventSink, GuestSecurity,
    InterfaceError, InterfaceEvent, InterfaceId, SaePassword, ScanResults, ScanStatus, SharedInterface, WifiInterface,
};
pub use observer::{
    Authorization, ConnectRequestArgs, ConnectionArgs, DisconnectRequestArgs, Observer, OperationStatus, OperationType,
};
pub use proxy_wifi_protocol as protocol;
pub use proxy_wifi_protocol::GuestAbi;
pub use service::{OperationMode, Service, ServiceBuilder, ServiceError, ServiceHandle};
pub use ssid_allow_list::SsidAllowList;
pub use status::{
    ConnectionStatus, GuestNotificationStatus, GuestStatus, InterfaceStatus, ListenStatus, ServiceStatus, StatusBoard,
    TransportStatus,
};
pub use transport::TransportSettings;
#[cfg(unix)]
pub use transport::inherited::InheritedListener;
pub use transport::request_channel::RequestChannelConfig;
