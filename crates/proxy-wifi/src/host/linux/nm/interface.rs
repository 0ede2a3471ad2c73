//! One NetworkManager Wi-Fi device as a [`WifiInterface`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use futures::StreamExt;
use proxy_wifi_protocol::{BssEntry, Ssid, StatusCode, dbm_to_link_quality, link_quality_to_dbm};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use zbus::proxy::CacheProperties;
use zbus::zvariant::{ObjectPath, OwnedObjectPath, Value};

use super::model::{
    AccessPoint, ActivationTracker, DEVICE_TYPE_WIFI, Progress, SettingValue, connection_settings, device_state,
    reason_text,
};
use super::proxies::{DeviceProxy, NetworkManagerProxy, NmPropertiesProxy, SettingsConnectionProxy, WirelessProxy};
use crate::host::linux::shared::{HostLink, LinkDriver, LinuxInterface, stable_interface_id};
use crate::interface::{
    ConnectParams, ConnectedNetwork, InterfaceError, InterfaceEvent, InterfaceId, ScanResults, ScanStatus,
};
use crate::limits::{HOST_CONNECT_DEADLINE, HOST_DISCONNECT_WAIT, NM_STRENGTH_POLL_PERIOD};

const AP_INTERFACE: &str = "org.freedesktop.NetworkManager.AccessPoint";
const WIRELESS_INTERFACE: &str = "org.freedesktop.NetworkManager.Device.Wireless";

fn dbus_error(what: &str, error: zbus::Error) -> InterfaceError {
    InterfaceError::Backend(format!("NetworkManager {what}: {error}"))
}

#[derive(Debug, Default)]
struct State {
    /// The active connection made for the guest (volatile).
    ours: Option<OwnedObjectPath>,
}

/// One NetworkManager Wi-Fi device, as [`NmInterface`] drives it.
pub struct NmDevice {
    connection: zbus::Connection,
    device_path: OwnedObjectPath,
    nm: NetworkManagerProxy<'static>,
    device: DeviceProxy<'static>,
    wireless: WirelessProxy<'static>,
    link: Arc<HostLink>,
    state: Mutex<State>,
    /// Device state changes (new state, reason), for the operations waiting on them.
    states: broadcast::Sender<(u32, u32)>,
    operation: tokio::sync::Mutex<()>,
}

/// A NetworkManager Wi-Fi device.
///
/// Scans call `RequestScan` and answer from the device's access points (IEs synthesized
/// from their properties); connects add and activate a volatile connection, which
/// NetworkManager deletes once it is deactivated.
pub type NmInterface = LinuxInterface<NmDevice>;

impl NmInterface {
    /// The interface id of the NetworkManager device named `name`.
    pub fn interface_id(name: &str) -> InterfaceId {
        stable_interface_id("NetworkManager", name)
    }

    /// Opens the device at `path`; `None` if it is not a Wi-Fi device.
    pub(crate) async fn open(
        connection: &zbus::Connection,
        path: OwnedObjectPath,
    ) -> zbus::Result<Option<NmInterface>> {
        let device =
            DeviceProxy::builder(connection).path(path.clone())?.cache_properties(CacheProperties::No).build().await?;
        if device.device_type().await? != DEVICE_TYPE_WIFI {
            return Ok(None);
        }
        let name = device.interface().await?;
        let wireless = WirelessProxy::builder(connection)
            .path(path.clone())?
            .cache_properties(CacheProperties::No)
            .build()
            .await?;
        let nm = NetworkManagerProxy::builder(connection).cache_properties(CacheProperties::No).build().await?;
        let (states, _) = broadcast::channel(32);
        let device = NmDevice {
            connection: connection.clone(),
            device_path: path,
            nm,
            device,
            wireless,
            link: Arc::new(HostLink::new(Self::interface_id(&name), name, "networkmanager", None)),
            state: Mutex::new(State::default()),
            states,
            operation: tokio::sync::Mutex::new(()),
        };
        let host = device.current_connection().await;
        device.link.connected(host);
        Ok(Some(NmInterface::new(device.link.clone(), device)))
    }

    /// The network interface name.
    pub fn name(&self) -> &str {
        self.driver().link.name()
    }

    /// Follows the device's state changes and scans, and polls the strength of the
    /// active access point, until `stop`; then deactivates a guest connection left over.
    pub(crate) async fn run_monitor(&self, stop: CancellationToken) {
        let inner = self.driver().clone();
        let streams = async {
            let states = inner.device.receive_state_changed().await?;
            let properties = NmPropertiesProxy::builder(&inner.connection)
                .path(inner.device_path.clone())?
                .cache_properties(CacheProperties::No)
                .build()
                .await?;
            let changes = properties.receive_properties_changed().await?;
            Ok::<_, zbus::Error>((states, changes))
        };
        let (mut states, mut changes) = match streams.await {
            Ok(streams) => streams,
            Err(error) => {
                tracing::warn!(interface = %inner.link.name(), %error, "cannot follow the NetworkManager device");
                stop.cancelled().await;
                return;
            }
        };
        let mut poll = tokio::time::interval(NM_STRENGTH_POLL_PERIOD);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => {
                    let ours = inner.state().ours.take();
                    if let Some(active) = ours {
                        let _ = inner.nm.deactivate_connection(&active.as_ref()).await;
                    }
                    break;
                }
                Some(signal) = states.next() => {
                    if let Ok(args) = signal.args() {
                        inner.on_state(args.new_state, args.old_state, args.reason).await;
                        let _ = inner.states.send((args.new_state, args.reason));
                    }
                }
                Some(signal) = changes.next() => {
                    if let Ok(args) = signal.args() {
                        if args.interface_name == WIRELESS_INTERFACE && args.changed_properties.contains_key("LastScan") {
                            inner.emit_scan_results().await;
                        }
                    }
                }
                _ = poll.tick() => inner.poll_strength().await,
            }
        }
    }
}

impl NmDevice {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The access point at `path`; `None` when it has no usable SSID or BSSID.
    async fn access_point(&self, path: &ObjectPath<'_>) -> zbus::Result<Option<AccessPoint>> {
        let properties = NmPropertiesProxy::builder(&self.connection)
            .path(path.to_owned())?
            .cache_properties(CacheProperties::No)
            .build()
            .await?;
        Ok(AccessPoint::from_properties(&properties.get_all(AP_INTERFACE).await?))
    }

    /// The device's access points as scan entries.
    async fn entries(&self) -> Result<Vec<BssEntry>, InterfaceError> {
        let paths = self.wireless.get_all_access_points().await.map_err(|e| dbus_error("GetAllAccessPoints", e))?;
        let mut entries = Vec::with_capacity(paths.len());
        for path in paths {
            match self.access_point(&path.as_ref()).await {
                Ok(ap) => entries.extend(ap.map(|ap| ap.to_bss_entry())),
                // An access point may vanish between the listing and the read.
                Err(error) => {
                    tracing::debug!(interface = %self.link.name(), ap = %path, %error, "access point unreadable")
                }
            }
        }
        Ok(entries)
    }

    async fn emit_scan_results(&self) {
        match self.entries().await {
            Ok(bss) => {
                tracing::debug!(interface = %self.link.name(), networks = bss.len(), "host scan results");
                self.link.emit(InterfaceEvent::ScanResults(ScanResults { bss, status: ScanStatus::Completed }));
            }
            Err(error) => tracing::warn!(interface = %self.link.name(), %error, "reading the access points failed"),
        }
    }

    /// The network of the device's current connection (link up or activated).
    async fn current_connection(&self) -> Option<ConnectedNetwork> {
        let state = self.device.device_state().await.ok()?;
        if !(device_state::IP_CONFIG..=device_state::ACTIVATED).contains(&state) {
            return None;
        }
        let ap = self.wireless.active_access_point().await.ok()?;
        if ap.as_str() == "/" {
            return None;
        }
        Some(self.access_point(&ap.as_ref()).await.ok()??.connected_network())
    }

    async fn on_state(&self, new_state: u32, old_state: u32, reason: u32) {
        tracing::debug!(interface = %self.link.name(), new_state, old_state, reason, "NetworkManager device state");
        if (device_state::IP_CONFIG..=device_state::ACTIVATED).contains(&new_state) {
            if self.link.host().is_none() {
                if let Some(network) = self.current_connection().await {
                    self.link.connected(Some(network));
                }
            }
        } else if self.link.disconnected().is_some() {
            let ours = self.state().ours.take();
            if let Some(active) = ours {
                let nm = self.nm.clone();
                self.link.clean_up_after_loss(async move {
                    let _ = nm.deactivate_connection(&active.as_ref()).await;
                });
            }
        }
    }

    async fn poll_strength(&self) {
        if self.link.host().is_none() {
            return;
        }
        let Ok(ap) = self.wireless.active_access_point().await else { return };
        if ap.as_str() == "/" {
            return;
        }
        let Ok(Some(ap)) = self.access_point(&ap.as_ref()).await else { return };
        // NetworkManager's strength is already a percentage; the dBm round trip keeps it
        // on the guest's q/2 - 100 scale.
        self.link.signal(dbm_to_link_quality(link_quality_to_dbm(u32::from(ap.strength))));
    }
}

#[async_trait]
impl LinkDriver for NmDevice {
    async fn connection_to(&self, ssid: &Ssid) -> Option<ConnectedNetwork> {
        self.current_connection().await.filter(|n| n.ssid == *ssid)
    }

    async fn scan(&self, ssid: Option<Ssid>) -> Result<ScanResults, InterfaceError> {
        let mut options: HashMap<&str, Value<'_>> = HashMap::new();
        if let Some(ssid) = ssid.filter(|s| !s.is_empty()) {
            options.insert("ssids", Value::from(vec![ssid.as_bytes().to_vec()]));
        }
        // NetworkManager refuses scans while one runs or right after one; the list it
        // has is still the answer.
        let triggered = match self.wireless.request_scan(options).await {
            Ok(()) => true,
            Err(error) => {
                tracing::debug!(interface = %self.link.name(), %error, "RequestScan refused; answering from the access points");
                false
            }
        };
        let bss = self.entries().await?;
        let status = if bss.is_empty() && triggered { ScanStatus::Running } else { ScanStatus::Completed };
        Ok(ScanResults { bss, status })
    }

    async fn connect(self: Arc<Self>, params: ConnectParams) -> Result<ConnectedNetwork, InterfaceError> {
        let _operation = self.operation.lock().await;
        let settings = connection_settings(&params)?;
        // A guest connection made earlier is replaced by this activation on the device.
        self.state().ours = None;
        let dict: HashMap<&str, HashMap<&str, Value<'_>>> = settings
            .iter()
            .map(|(setting, values)| {
                let values = values
                    .iter()
                    .map(|(key, value)| {
                        let value = match value {
                            SettingValue::Text(text) | SettingValue::Secret(text) => Value::from(text.as_str()),
                            SettingValue::Bytes(bytes) => Value::from(bytes.clone()),
                            SettingValue::Bool(b) => Value::from(*b),
                            SettingValue::Int(i) => Value::from(*i),
                        };
                        (*key, value)
                    })
                    .collect();
                (*setting, values)
            })
            .collect();
        let options = HashMap::from([("persist", Value::from("volatile"))]);
        let mut states = self.states.subscribe();
        let root = ObjectPath::from_static_str_unchecked("/");
        let (settings_path, active, _) = self
            .nm
            .add_and_activate_connection2(dict, &self.device_path.as_ref(), &root, options)
            .await
            .map_err(|e| dbus_error("AddAndActivateConnection2", e))?;
        tracing::debug!(interface = %self.link.name(), ssid = %params.ssid, active = %active, "volatile connection activating");
        let wait = async {
            let mut tracker = ActivationTracker::default();
            loop {
                let (new_state, reason) = match states.recv().await {
                    Ok(change) => change,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => {
                        return Err(InterfaceError::Unavailable(format!("{} went away", self.link.name())));
                    }
                };
                match tracker.on_state(new_state, reason) {
                    Progress::Pending => {}
                    Progress::Connected => return Ok(()),
                    Progress::Failed { state, reason: 53 } => {
                        tracing::debug!(interface = %self.link.name(), state, "network not found");
                        return Err(InterfaceError::NetworkNotFound(params.ssid));
                    }
                    Progress::Failed { state, reason } => {
                        let why = format!("{} (device state {state}, reason {reason})", reason_text(reason));
                        // NO_SECRETS (7) and SUPPLICANT_DISCONNECT (8): the handshake failed on the key.
                        if matches!(reason, 7 | 8) {
                            return Err(InterfaceError::WrongKey(why));
                        }
                        return Err(InterfaceError::Rejected { status: StatusCode::UNSPECIFIED_FAILURE, reason: why });
                    }
                }
            }
        };
        let outcome = match tokio::time::timeout(HOST_CONNECT_DEADLINE, wait).await {
            Ok(outcome) => outcome,
            Err(_) => Err(InterfaceError::TimedOut(format!(
                "no connection to '{}' within {HOST_CONNECT_DEADLINE:?}",
                params.ssid
            ))),
        };
        match outcome {
            Ok(()) => {
                let joined = self.current_connection().await;
                let network = ConnectedNetwork {
                    ssid: params.ssid,
                    bssid: joined.map_or(params.bssid, |n| n.bssid),
                    auth: params.auth_algorithm(),
                };
                tracing::info!(interface = %self.link.name(), ssid = %params.ssid, bssid = %network.bssid, "connected for the guest");
                self.state().ours = Some(active);
                Ok(network)
            }
            Err(error) => {
                tracing::info!(interface = %self.link.name(), ssid = %params.ssid, %error, "guest connection failed; deactivating");
                if let Err(e) = self.nm.deactivate_connection(&active.as_ref()).await {
                    tracing::debug!(interface = %self.link.name(), error = %e, "deactivation after a failure");
                }
                // Volatile connections go with their deactivation; make sure of it.
                if let Ok(proxy) = SettingsConnectionProxy::builder(&self.connection).path(settings_path) {
                    if let Ok(proxy) = proxy.cache_properties(CacheProperties::No).build().await {
                        let _ = proxy.delete().await;
                    }
                }
                Err(error)
            }
        }
    }

    async fn disconnect(self: Arc<Self>) -> Result<(), InterfaceError> {
        let _operation = self.operation.lock().await;
        let Some(active) = self.state().ours.take() else {
            return Ok(());
        };
        let own = self.link.own_disconnect();
        let mut states = self.states.subscribe();
        let result = self.nm.deactivate_connection(&active.as_ref()).await;
        if result.is_ok() {
            let wait = async {
                loop {
                    match states.recv().await {
                        Ok((state, _)) if state <= device_state::DISCONNECTED || state == device_state::FAILED => break,
                        Err(broadcast::error::RecvError::Closed) => break,
                        _ => {}
                    }
                }
            };
            if tokio::time::timeout(HOST_DISCONNECT_WAIT, wait).await.is_err() {
                tracing::warn!(interface = %self.link.name(), "the device did not leave the guest's connection in time");
            }
        }
        drop(own);
        match result {
            Ok(()) => {
                tracing::info!(interface = %self.link.name(), "guest connection deactivated");
                Ok(())
            }
            // Already gone (the host lost it): nothing left to do.
            Err(error) => {
                tracing::info!(interface = %self.link.name(), %error, "guest connection was already inactive");
                Ok(())
            }
        }
    }
}
