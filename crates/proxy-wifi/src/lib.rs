//! proxy-wifi: the host side of the `proxy_wifi` system.
//!
//! A driver inside a virtual machine (the Linux `proxy_wifi` cfg80211 driver) forwards
//! the guest's Wi-Fi control operations — scan, connect, disconnect — to this service
//! over two sockets. The service honours them with the host's Wi-Fi interfaces (or
//! simulated networks) and pushes notifications back to the guest: disconnection,
//! signal quality, fresh scan results. The embedding application watches and vetoes
//! what the guest does through an [`Observer`].
//!
//! Layers: [`transport`] moves whole messages; [`handler`] decides (one serialized
//! work queue); [`interface`] honours operations with Wi-Fi interfaces.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod guest;
pub mod handler;
pub mod host;
pub mod identity;
pub mod interface;
pub mod notify;
pub mod observer;
pub mod service;
pub mod status;
pub mod transport;

pub use identity::GuestId;
pub use interface::simulated::{ScanMode, SimulatedNetwork, SimulatedSecurity};
pub use interface::{AuthAlgorithm, ConnectedNetwork, InterfaceId, WifiInterface};
pub use observer::{
    Authorization, ConnectRequestArgs, ConnectionArgs, DisconnectRequestArgs, Observer, OperationStatus, OperationType,
};
pub use proxy_wifi_protocol as protocol;
pub use service::{FakeNetwork, OperationMode, Service, ServiceBuilder, ServiceError, ServiceHandle};
pub use transport::TransportSettings;
