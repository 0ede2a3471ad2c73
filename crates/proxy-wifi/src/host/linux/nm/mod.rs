//! NetworkManager backend over the D-Bus system bus (`zbus`): one interface per Wi-Fi
//! device (`DeviceType` 2), followed through `DeviceAdded` / `DeviceRemoved`.

pub mod interface;
pub mod model;
pub(crate) mod proxies;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use zbus::proxy::CacheProperties;
use zbus::zvariant::OwnedObjectPath;

use crate::host::{HostBackend, InterfaceRegistry};
use crate::interface::{InterfaceId, WifiInterface};
pub use interface::NmInterface;
use proxies::NetworkManagerProxy;

/// NetworkManager's well-known D-Bus name.
pub const NM_BUS_NAME: &str = "org.freedesktop.NetworkManager";

/// Whether NetworkManager owns its name on the system bus; `Err` says why not.
pub fn network_manager_present() -> Result<(), String> {
    let check = async {
        let connection = zbus::Connection::system().await.map_err(|e| format!("cannot reach the system bus: {e}"))?;
        let dbus = zbus::fdo::DBusProxy::new(&connection).await.map_err(|e| e.to_string())?;
        let name = zbus::names::BusName::try_from(NM_BUS_NAME).map_err(|e| e.to_string())?;
        match dbus.name_has_owner(name).await {
            Ok(true) => Ok(()),
            Ok(false) => Err("the name has no owner (NetworkManager is not running)".to_owned()),
            Err(e) => Err(format!("NameHasOwner failed: {e}")),
        }
    };
    super::shared::run_detached(crate::limits::NM_PROBE_TIMEOUT, check)
        .unwrap_or_else(|| Err(format!("no answer from the system bus within {:?}", crate::limits::NM_PROBE_TIMEOUT)))
}

/// The NetworkManager backend.
#[derive(Debug, Clone, Default)]
pub struct NetworkManagerBackend {
    _private: (),
}

impl NetworkManagerBackend {
    /// A backend using the system bus.
    pub fn new() -> Self {
        Self::default()
    }
}

struct Followed {
    id: InterfaceId,
    stop: CancellationToken,
    monitor: JoinHandle<()>,
}

async fn add_device(
    connection: &zbus::Connection,
    path: OwnedObjectPath,
    registry: &InterfaceRegistry,
    shutdown: &CancellationToken,
    followed: &mut HashMap<OwnedObjectPath, Followed>,
) {
    if followed.contains_key(&path) {
        return;
    }
    match NmInterface::open(connection, path.clone()).await {
        Ok(Some(interface)) => {
            let interface = Arc::new(interface);
            let id = interface.id();
            let stop = shutdown.child_token();
            let monitor = {
                let interface = interface.clone();
                let stop = stop.clone();
                tokio::spawn(async move { interface.run_monitor(stop).await })
            };
            tracing::info!(interface = interface.name(), %id, device = %path, "NetworkManager Wi-Fi device added");
            registry.add(interface).await;
            followed.insert(path, Followed { id, stop, monitor });
        }
        Ok(None) => tracing::debug!(device = %path, "not a Wi-Fi device"),
        Err(error) => tracing::warn!(device = %path, %error, "cannot read a NetworkManager device"),
    }
}

#[async_trait]
impl HostBackend for NetworkManagerBackend {
    fn name(&self) -> &str {
        "NetworkManager"
    }

    async fn run(self: Box<Self>, registry: InterfaceRegistry, shutdown: CancellationToken) {
        let setup = async {
            let connection = zbus::Connection::system().await?;
            let nm = NetworkManagerProxy::builder(&connection).cache_properties(CacheProperties::No).build().await?;
            let added = nm.receive_device_added().await?;
            let removed = nm.receive_device_removed().await?;
            let devices = nm.get_devices().await?;
            Ok::<_, zbus::Error>((connection, added, removed, devices))
        };
        let (connection, mut added, mut removed, devices) = match setup.await {
            Ok(setup) => setup,
            Err(error) => {
                tracing::warn!(%error, "cannot use NetworkManager; serving without host Wi-Fi");
                return;
            }
        };
        let mut followed: HashMap<OwnedObjectPath, Followed> = HashMap::new();
        for path in devices {
            add_device(&connection, path, &registry, &shutdown, &mut followed).await;
        }
        if followed.is_empty() {
            tracing::warn!("NetworkManager has no Wi-Fi device (yet)");
        }
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                Some(signal) = added.next() => {
                    if let Ok(args) = signal.args() {
                        let path = OwnedObjectPath::from(args.device_path.to_owned());
                        add_device(&connection, path, &registry, &shutdown, &mut followed).await;
                    }
                }
                Some(signal) = removed.next() => {
                    if let Ok(args) = signal.args() {
                        let path = OwnedObjectPath::from(args.device_path.to_owned());
                        if let Some(f) = followed.remove(&path) {
                            tracing::info!(device = %path, "NetworkManager Wi-Fi device removed");
                            f.stop.cancel();
                            let _ = tokio::time::timeout(crate::limits::MONITOR_STOP_ON_REMOVAL, f.monitor).await;
                            registry.remove(f.id).await;
                        }
                    }
                }
                else => break,
            }
        }
        for (_, f) in followed {
            f.stop.cancel();
            let _ = tokio::time::timeout(crate::limits::MONITOR_STOP_ON_SHUTDOWN, f.monitor).await;
        }
    }
}
