//! The WLAN-service host backend: finds the station interfaces, registers one
//! [`WlanInterface`] per interface, follows arrivals and removals, and routes each
//! notification to its interface.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::api::{SharedWlanApi, WlanEvent, WlanNotification, WlanResult};
use super::interface::WlanInterface;
use crate::host::{HostBackend, InterfaceRegistry};
use crate::interface::InterfaceId;

type Opener = Box<dyn FnOnce() -> WlanResult<SharedWlanApi> + Send>;

/// The host backend over the Windows WLAN service (or any implementation of its `WlanApi` trait).
///
/// The API is opened when the backend runs; if that fails (no `wlanapi.dll`, service
/// stopped), the backend logs why and returns, and the service keeps serving the fake
/// networks.
pub struct WlanBackend {
    opener: Opener,
}

impl WlanBackend {
    /// A backend over an already opened API (the fake, in tests).
    pub fn new(api: SharedWlanApi) -> Self {
        Self::from_opener(move || Ok(api))
    }

    /// A backend opening its API with `opener` when it starts.
    pub fn from_opener(opener: impl FnOnce() -> WlanResult<SharedWlanApi> + Send + 'static) -> Self {
        Self { opener: Box::new(opener) }
    }

    /// The backend over the host's WLAN service: `wlanapi.dll` is loaded and a WLAN handle
    /// opened when the backend starts. On any other system than Windows it logs that the
    /// WLAN service is not available and serves nothing.
    pub fn open() -> Self {
        Self::from_opener(system_api)
    }
}

#[cfg(windows)]
fn system_api() -> WlanResult<SharedWlanApi> {
    Ok(Arc::new(super::ffi::WlanClient::open()?))
}

#[cfg(not(windows))]
fn system_api() -> WlanResult<SharedWlanApi> {
    Err(super::api::WlanError::new("LoadLibrary(wlanapi.dll)", super::api::win32::ERROR_MOD_NOT_FOUND))
}

/// Where the backend registers interfaces: the service's [`InterfaceRegistry`], or a test's
/// channel.
#[async_trait]
pub(crate) trait Registrar: Send {
    /// An interface to use.
    async fn add(&mut self, interface: Arc<WlanInterface>);
    /// An interface gone.
    async fn remove(&mut self, id: InterfaceId);
}

#[async_trait]
impl Registrar for InterfaceRegistry {
    async fn add(&mut self, interface: Arc<WlanInterface>) {
        InterfaceRegistry::add(self, interface).await;
    }

    async fn remove(&mut self, id: InterfaceId) {
        InterfaceRegistry::remove(self, id).await;
    }
}

/// The interfaces known to the backend.
struct Router<R> {
    api: SharedWlanApi,
    registry: R,
    interfaces: HashMap<Uuid, Arc<WlanInterface>>,
}

impl<R: Registrar> Router<R> {
    async fn add(&mut self, guid: Uuid) {
        if self.interfaces.contains_key(&guid) {
            return;
        }
        let interface = Arc::new(WlanInterface::new(self.api.clone(), guid));
        self.interfaces.insert(guid, interface.clone());
        tracing::info!(interface = %guid, "Wi-Fi interface registered");
        self.registry.add(interface).await;
    }

    async fn remove(&mut self, guid: Uuid) {
        if let Some(interface) = self.interfaces.remove(&guid) {
            interface.on_removed();
            tracing::info!(interface = %guid, "Wi-Fi interface removed");
            self.registry.remove(InterfaceId(guid)).await;
        }
    }

    /// Registers every station interface present now.
    async fn add_present(&mut self) {
        match self.api.enum_interfaces() {
            Ok(list) => {
                if list.is_empty() {
                    tracing::info!("no Wi-Fi interface yet; waiting for one to arrive");
                }
                for info in list {
                    tracing::info!(interface = %info.guid, description = %info.description, state = ?info.state,
                        "Wi-Fi interface found");
                    self.add(info.guid).await;
                }
            }
            Err(error) => tracing::warn!(%error, "cannot list the Wi-Fi interfaces; waiting for arrivals"),
        }
    }

    async fn dispatch(&mut self, event: WlanEvent) {
        let guid = event.interface;
        match event.notification {
            // Arrivals are notified for secondary (virtual) interfaces too, which
            // WlanEnumInterfaces does not list: only listed interfaces are used.
            WlanNotification::InterfaceArrival => match self.api.enum_interfaces() {
                Ok(list) if list.iter().any(|i| i.guid == guid) => self.add(guid).await,
                Ok(_) => tracing::debug!(interface = %guid, "arrival of an interface not listed; ignored"),
                Err(error) => tracing::warn!(interface = %guid, %error, "cannot list the Wi-Fi interfaces"),
            },
            WlanNotification::InterfaceRemoval => self.remove(guid).await,
            notification => match self.interfaces.get(&guid) {
                Some(interface) => interface.on_notification(notification),
                None => tracing::debug!(interface = %guid, ?notification, "notification for an unknown interface"),
            },
        }
    }
}

#[async_trait]
impl HostBackend for WlanBackend {
    fn name(&self) -> &str {
        "WLAN service"
    }

    async fn run(self: Box<Self>, registry: InterfaceRegistry, shutdown: CancellationToken) {
        self.serve(registry, shutdown).await;
    }
}

impl WlanBackend {
    /// Opens the API, registers the interfaces present, then routes notifications until
    /// `shutdown`.
    pub(crate) async fn serve(self, registry: impl Registrar, shutdown: CancellationToken) {
        let api = match (self.opener)() {
            Ok(api) => api,
            Err(error) => {
                tracing::warn!(%error, "the WLAN service cannot be used; serving the fake networks only");
                return;
            }
        };
        let (sender, mut notifications) = mpsc::unbounded_channel();
        let callback = Arc::new(move |event: WlanEvent| {
            let _ = sender.send(event);
        });
        if let Err(error) = api.register_notifications(callback) {
            tracing::warn!(%error, "cannot register for WLAN notifications; serving the fake networks only");
            return;
        }
        let mut router = Router { api: api.clone(), registry, interfaces: HashMap::new() };
        router.add_present().await;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                event = notifications.recv() => match event {
                    Some(event) => router.dispatch(event).await,
                    None => break,
                },
            }
        }
        if let Err(error) = api.unregister_notifications() {
            tracing::debug!(%error, "unregistering WLAN notifications failed");
        }
    }
}
