//! Real host Wi-Fi backends.
//!
//! A backend finds the host's Wi-Fi interfaces, follows their arrival and removal, and
//! registers each as a [`WifiInterface`](crate::WifiInterface) with the service through
//! an [`InterfaceRegistry`]. If the host's Wi-Fi service cannot be opened, the backend
//! logs why and returns: the service keeps serving the fake networks.

#[cfg(target_os = "linux")]
pub mod linux;

// Compiled on every platform and tested with a fake WLAN service; part of it is used only
// by the Windows client of `wlanapi.dll`.
#[cfg_attr(not(windows), allow(dead_code, unused_imports))]
pub mod windows;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::handler::HandlerHandle;
use crate::interface::{InterfaceId, SharedInterface};

/// A source of host interfaces, run by the service on its runtime.
#[async_trait]
pub trait HostBackend: Send + 'static {
    /// A short name for logs (`wpa_supplicant`, `NetworkManager`, `WLAN service`).
    fn name(&self) -> &str;

    /// Registers the interfaces present now, then follows arrivals and removals until
    /// `shutdown` is cancelled.
    async fn run(self: Box<Self>, registry: InterfaceRegistry, shutdown: CancellationToken);
}

/// Adds and removes interfaces of a running service (through its work queue, so the
/// changes are serialized with requests).
#[derive(Clone)]
pub struct InterfaceRegistry {
    handler: HandlerHandle,
}

impl InterfaceRegistry {
    pub(crate) fn new(handler: HandlerHandle) -> Self {
        Self { handler }
    }

    /// Interface arrival. An interface already connected should report it by emitting
    /// `InterfaceEvent::HostConnected` once attached.
    pub async fn add(&self, interface: SharedInterface) {
        self.handler.add_interface(interface).await;
    }

    /// Interface removal.
    pub async fn remove(&self, id: InterfaceId) {
        self.handler.remove_interface(id).await;
    }
}
