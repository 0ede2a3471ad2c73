//! One wpa_supplicant-controlled station interface as a [`WifiInterface`].

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use proxy_wifi_protocol::{BssEntry, Bssid, Ssid, StatusCode};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::config_file::Snapshot;
use super::ctrl::{CtrlError, CtrlSocket, EventSocket};
use super::parse::{
    Event, Status, bss_range_command, network_settings, parse_bss_page, parse_event, parse_list_networks,
    parse_signal_poll, parse_status, scan_command,
};
use crate::host::linux::shared::{HostLink, LinkDriver, LinuxInterface};
use crate::interface::{
    ConnectParams, ConnectedNetwork, InterfaceError, InterfaceEvent, InterfaceId, ScanResults, ScanStatus,
};
use crate::limits::{HOST_CONNECT_DEADLINE, HOST_DISCONNECT_WAIT, WPA_SIGNAL_POLL_PERIOD};

/// A connect fails after this many scans in a row that did not find the network.
const NOT_FOUND_LIMIT: u32 = 3;
/// Pages of the BSS table read at most per listing (each is at most a reply buffer).
const MAX_BSS_PAGES: usize = 256;

/// The temporary network made for the guest, and what to restore when it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TemporaryNetwork {
    id: u32,
    /// Which guest connection of this interface made it (wpa_supplicant reuses ids).
    serial: u64,
    /// Networks that were enabled before `SELECT_NETWORK` disabled them.
    restore: Vec<u32>,
    /// The host's configuration file before the guest connection (config_file.rs).
    config: Option<Snapshot>,
}

#[derive(Debug, Default)]
struct State {
    /// The wpa_supplicant network id of the host's connection.
    host_network: Option<u32>,
    temporary: Option<TemporaryNetwork>,
    /// Serial of the last temporary network made.
    last_serial: u64,
}

/// One station interface of wpa_supplicant, as [`WpaInterface`] drives it.
pub struct WpaStation {
    /// The request socket: one command and its reply at a time.
    ctrl: tokio::sync::Mutex<CtrlSocket>,
    pub(super) link: Arc<HostLink>,
    state: Mutex<State>,
    events: broadcast::Sender<Event>,
    /// Connects and disconnects, one at a time.
    operation: tokio::sync::Mutex<()>,
    /// The configuration file wpa_supplicant was started with for this interface, if found.
    config_file: Mutex<Option<std::path::PathBuf>>,
}

/// A station interface driven through wpa_supplicant's control socket.
///
/// Scans trigger `SCAN` and answer at once from the BSS table (real IEs); connects use a
/// temporary network that is removed, with the host's other networks re-enabled, when
/// the guest disconnects or the connect fails.
pub type WpaInterface = LinuxInterface<WpaStation>;

fn ctrl_error(error: CtrlError) -> InterfaceError {
    match error {
        CtrlError::Io { .. } => InterfaceError::Unavailable(error.to_string()),
        other => InterfaceError::Backend(other.to_string()),
    }
}

impl WpaInterface {
    /// Opens the interface behind the control socket `ctrl` (requests) and `monitor`
    /// (attached for events; driven by [`WpaInterface::run_monitor`]).
    pub(crate) async fn open(
        id: InterfaceId,
        name: String,
        mut ctrl: CtrlSocket,
    ) -> Result<WpaInterface, InterfaceError> {
        let reply = ctrl.request("PING").await.map_err(ctrl_error)?;
        if reply.trim_end() != "PONG" {
            return Err(InterfaceError::Unavailable(format!("{} answered PING with '{}'", name, reply.trim_end())));
        }
        let status = parse_status(&ctrl.request("STATUS").await.map_err(ctrl_error)?);
        let (events, _) = broadcast::channel(64);
        let lookup = super::config_file::Lookup::for_socket(ctrl.remote());
        let config_file = Mutex::new(super::config_file::find(lookup, name.clone()).await);
        let station = WpaStation {
            ctrl: tokio::sync::Mutex::new(ctrl),
            link: Arc::new(HostLink::new(id, name, "wpa_supplicant", status.connected_network())),
            state: Mutex::new(State { host_network: status.network_id, ..State::default() }),
            events,
            operation: tokio::sync::Mutex::new(()),
            config_file,
        };
        Ok(WpaInterface::new(station.link.clone(), station))
    }

    /// Follows the events of `monitor` (an attached control socket) and polls the
    /// signal while connected, until `stop`; then removes a temporary network left over.
    pub(crate) async fn run_monitor(&self, mut monitor: EventSocket, stop: CancellationToken) {
        let inner = self.driver().clone();
        let mut poll = tokio::time::interval(WPA_SIGNAL_POLL_PERIOD);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => {
                    let _ = monitor.detach(Duration::from_millis(500)).await;
                    inner.remove_temporary_network(None).await;
                    break;
                }
                message = monitor.recv() => match message {
                    Ok(message) => inner.on_event(parse_event(&message)).await,
                    Err(error) => {
                        tracing::warn!(interface = %inner.link.name(), %error, "wpa_supplicant event socket failed");
                        stop.cancelled().await;
                    }
                },
                _ = poll.tick() => inner.poll_signal().await,
            }
        }
    }
}

impl WpaStation {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn command_shown(&self, command: &str, shown: &str) -> Result<String, InterfaceError> {
        let mut ctrl = self.ctrl.lock().await;
        ctrl.request_shown(command, shown).await.map_err(ctrl_error)
    }

    async fn command(&self, command: &str) -> Result<String, InterfaceError> {
        self.command_shown(command, command).await
    }

    async fn command_ok(&self, command: &str, shown: &str) -> Result<(), InterfaceError> {
        let reply = self.command_shown(command, shown).await?;
        if reply.trim_end() == "OK" {
            Ok(())
        } else {
            Err(InterfaceError::Backend(format!(
                "wpa_supplicant refused '{shown}' on {}: {}",
                self.link.name(),
                reply.trim_end()
            )))
        }
    }

    async fn status(&self) -> Result<Status, InterfaceError> {
        Ok(parse_status(&self.command("STATUS").await?))
    }

    /// The whole BSS table, page by page.
    async fn bss_table(&self) -> Result<Vec<BssEntry>, InterfaceError> {
        let mut entries = Vec::new();
        let mut first = 0u32;
        for _ in 0..MAX_BSS_PAGES {
            let page = parse_bss_page(&self.command(&bss_range_command(first)).await?);
            let last = page.records.last().map(|r| r.id);
            entries.extend(page.records.iter().map(|r| r.to_bss_entry()));
            match last {
                Some(last) if !page.complete => first = last + 1,
                _ => break,
            }
        }
        Ok(entries)
    }

    async fn on_event(self: &Arc<Self>, event: Event) {
        match &event {
            Event::Connected { bssid, network_id } => {
                let (network, status_id) = match self.status().await {
                    Ok(status) => (status.connected_network(), status.network_id),
                    Err(error) => {
                        tracing::warn!(interface = %self.link.name(), %error, "STATUS after CTRL-EVENT-CONNECTED failed");
                        (None, None)
                    }
                };
                tracing::debug!(interface = %self.link.name(), bssid = ?bssid, network = ?network_id.or(status_id), "wpa_supplicant connected");
                self.state().host_network = network_id.or(status_id);
                self.link.connected(network);
            }
            Event::Disconnected { bssid, reason, locally_generated } => {
                tracing::debug!(interface = %self.link.name(), bssid = ?bssid, reason = ?reason, locally_generated,
                    "wpa_supplicant disconnected");
                let left_network = self.state().host_network.take();
                if self.link.disconnected().is_some() {
                    // The temporary network of the lost connection goes; not a newer one.
                    let lost = self.state().temporary.as_ref().filter(|t| Some(t.id) == left_network).map(|t| t.serial);
                    if let Some(serial) = lost {
                        let station = self.clone();
                        self.link.clean_up_after_loss(async move {
                            let _operation = station.operation.lock().await;
                            station.remove_temporary_network(Some(serial)).await;
                        });
                    }
                }
            }
            Event::ScanResults | Event::ScanFailed => match self.bss_table().await {
                Ok(bss) => {
                    tracing::debug!(interface = %self.link.name(), networks = bss.len(), "host scan results");
                    self.link.emit(InterfaceEvent::ScanResults(ScanResults { bss, status: ScanStatus::Completed }));
                }
                Err(error) => tracing::warn!(interface = %self.link.name(), %error, "reading the BSS table failed"),
            },
            Event::SignalChange { signal: Some(dbm) } => self.signal(*dbm),
            Event::Terminating => tracing::info!(interface = %self.link.name(), "wpa_supplicant is terminating"),
            Event::Other(text) => tracing::trace!(interface = %self.link.name(), event = %text, "wpa_supplicant event"),
            _ => {}
        }
        let _ = self.events.send(event);
    }

    fn signal(&self, dbm: i32) {
        self.link.signal(proxy_wifi_protocol::dbm_to_link_quality(dbm));
    }

    async fn poll_signal(&self) {
        if self.link.host().is_none() {
            return;
        }
        match self.command("SIGNAL_POLL").await {
            Ok(reply) => {
                if let Some(dbm) = parse_signal_poll(&reply) {
                    self.signal(dbm);
                }
            }
            Err(error) => tracing::debug!(interface = %self.link.name(), %error, "SIGNAL_POLL failed"),
        }
    }

    /// Ids of the networks enabled now.
    async fn enabled_networks(&self) -> Result<Vec<u32>, InterfaceError> {
        let reply = self.command("LIST_NETWORKS").await?;
        Ok(parse_list_networks(&reply).into_iter().filter(|n| n.enabled()).map(|n| n.id).collect())
    }

    /// Removes network `id`, enables the networks in `restore` again and repairs the
    /// configuration file after a save made meanwhile.
    async fn remove_and_restore(&self, id: u32, restore: &[u32], config: Option<&Snapshot>) {
        let remove = format!("REMOVE_NETWORK {id}");
        if let Err(error) = self.command_ok(&remove, &remove).await {
            tracing::warn!(interface = %self.link.name(), network = id, %error, "removing the temporary network failed");
        }
        self.restore_networks(restore).await;
        self.repair_config(config).await;
        tracing::debug!(interface = %self.link.name(), network = id, restored = ?restore, "temporary network removed");
    }

    /// The configuration file as it is now, before a temporary network is added.
    async fn config_snapshot(&self) -> Option<Snapshot> {
        let path = self.config_file.lock().unwrap_or_else(|p| p.into_inner()).clone()?;
        match Snapshot::take(&path).await {
            Ok(snapshot) => Some(snapshot),
            Err(reason) => {
                tracing::warn!(interface = %self.link.name(), %reason,
                    "cannot read wpa_supplicant's configuration file; a save during the guest connection would stay");
                None
            }
        }
    }

    /// After the temporary network is gone and the host's networks are enabled again:
    /// if someone saved the configuration meanwhile (it then holds the temporary network
    /// and the disabled flags), saves it again from the restored state.
    async fn repair_config(&self, config: Option<&Snapshot>) {
        let Some(config) = config else { return };
        if !config.saved_with_temporary_network().await {
            return;
        }
        match self.command_ok("SAVE_CONFIG", "SAVE_CONFIG").await {
            Ok(()) => tracing::info!(interface = %self.link.name(), file = %config.path().display(),
                "the configuration was saved during the guest connection; saved again without the temporary network"),
            Err(error) => tracing::warn!(interface = %self.link.name(), file = %config.path().display(), %error,
                "the configuration was saved during the guest connection and still holds its temporary network"),
        }
    }

    /// Uses `path` as the interface's configuration file (the stand-in supplicant has no process).
    #[cfg(test)]
    pub(super) fn set_config_file(&self, path: std::path::PathBuf) {
        *self.config_file.lock().unwrap() = Some(path);
    }

    /// Gives each reply `budget` (tests of late replies, without waiting the real budget).
    #[cfg(test)]
    pub(super) async fn set_reply_budget(&self, budget: Duration) {
        self.ctrl.lock().await.set_budget(budget);
    }

    /// Enables again the networks `SELECT_NETWORK` disabled.
    async fn restore_networks(&self, restore: &[u32]) {
        for network in restore {
            let enable = format!("ENABLE_NETWORK {network}");
            if let Err(error) = self.command_ok(&enable, &enable).await {
                tracing::warn!(interface = %self.link.name(), network, %error, "re-enabling a host network failed");
            }
        }
    }

    /// Removes the temporary network (only the one of guest connection `serial`, when
    /// given) and enables the host's networks again.
    async fn remove_temporary_network(&self, serial: Option<u64>) {
        let temporary = {
            let mut state = self.state();
            match (&state.temporary, serial) {
                (Some(t), Some(serial)) if t.serial != serial => None,
                _ => state.temporary.take(),
            }
        };
        if let Some(temporary) = temporary {
            self.remove_and_restore(temporary.id, &temporary.restore, temporary.config.as_ref()).await;
        }
    }

    async fn wait_connected(
        &self,
        events: &mut broadcast::Receiver<Event>,
        id: u32,
        params: &ConnectParams,
    ) -> Result<Bssid, InterfaceError> {
        let mut not_found = 0;
        let rejected = |status: Option<u16>, reason: String| InterfaceError::Rejected {
            status: match status {
                Some(code) if code != 0 => StatusCode(code),
                _ => StatusCode::UNSPECIFIED_FAILURE,
            },
            reason,
        };
        loop {
            let event = match events.recv().await {
                Ok(event) => event,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => {
                    return Err(InterfaceError::Unavailable(format!("{} went away", self.link.name())));
                }
            };
            match event {
                Event::Connected { bssid, network_id } if network_id.is_none_or(|n| n == id) => {
                    let known = self.link.host().map(|h| h.bssid);
                    return Ok(bssid.or(known).unwrap_or(params.bssid));
                }
                Event::TempDisabled { network_id, reason } if network_id.is_none_or(|n| n == id) => {
                    let why = format!("'{}' temporarily disabled: {reason}", params.ssid);
                    return Err(if reason == "WRONG_KEY" {
                        InterfaceError::WrongKey(why)
                    } else {
                        rejected(None, why)
                    });
                }
                Event::AssocReject { status_code } => {
                    return Err(rejected(status_code, format!("association with '{}' rejected", params.ssid)));
                }
                Event::AuthReject { status_code } => {
                    return Err(rejected(status_code, format!("authentication with '{}' rejected", params.ssid)));
                }
                Event::NetworkNotFound => {
                    not_found += 1;
                    if not_found >= NOT_FOUND_LIMIT {
                        return Err(InterfaceError::NetworkNotFound(params.ssid));
                    }
                }
                _ => {}
            }
        }
    }
}

#[async_trait]
impl LinkDriver for WpaStation {
    async fn connection_to(&self, ssid: &Ssid) -> Option<ConnectedNetwork> {
        match self.status().await {
            Ok(status) => status.connected_network().filter(|n| n.ssid == *ssid),
            Err(error) => {
                tracing::debug!(interface = %self.link.name(), %error, "STATUS failed");
                None
            }
        }
    }

    async fn scan(&self, ssid: Option<Ssid>) -> Result<ScanResults, InterfaceError> {
        let reply = self.command(&scan_command(ssid.as_ref())).await?;
        let triggered = match reply.trim_end() {
            "OK" => true,
            // A scan is already running: its results will come as an event.
            "FAIL-BUSY" => true,
            other => {
                tracing::debug!(interface = %self.link.name(), reply = other, "SCAN refused; answering from the BSS table");
                false
            }
        };
        let bss = self.bss_table().await?;
        // Nothing known yet: tell the guest more is coming rather than "nothing here".
        let status = if bss.is_empty() && triggered { ScanStatus::Running } else { ScanStatus::Completed };
        tracing::debug!(interface = %self.link.name(), networks = bss.len(), ?status, "scan answered from the BSS table");
        Ok(ScanResults { bss, status })
    }

    async fn connect(self: Arc<Self>, params: ConnectParams) -> Result<ConnectedNetwork, InterfaceError> {
        let _operation = self.operation.lock().await;
        let settings = network_settings(&params)?;
        // A temporary network of an earlier guest connection goes first; what it was to
        // restore still holds.
        let previous = self.state().temporary.take();
        let (restore, config) = match previous {
            Some(previous) => {
                self.command_ok(&format!("REMOVE_NETWORK {}", previous.id), "REMOVE_NETWORK").await.ok();
                (previous.restore, previous.config)
            }
            None => (self.enabled_networks().await?, self.config_snapshot().await),
        };
        let reply = self.command("ADD_NETWORK").await?;
        let id: u32 = reply.trim().parse().map_err(|_| {
            InterfaceError::Backend(format!("ADD_NETWORK on {} answered '{}'", self.link.name(), reply.trim_end()))
        })?;
        let outcome = async {
            for setting in &settings {
                let shown = format!("SET_NETWORK {id} {}", setting.name);
                let command = zeroize::Zeroizing::new(format!("{shown} {}", setting.value.as_str()));
                let shown = if setting.secret { shown } else { command.to_string() };
                self.command_ok(&command, &shown).await?;
            }
            let mut events = self.events.subscribe();
            self.command_ok(&format!("SELECT_NETWORK {id}"), "SELECT_NETWORK").await?;
            match tokio::time::timeout(HOST_CONNECT_DEADLINE, self.wait_connected(&mut events, id, &params)).await {
                Ok(result) => result,
                Err(_) => Err(InterfaceError::TimedOut(format!(
                    "no connection to '{}' within {HOST_CONNECT_DEADLINE:?}",
                    params.ssid
                ))),
            }
        }
        .await;
        match outcome {
            Ok(bssid) => {
                let mut state = self.state();
                state.last_serial += 1;
                state.temporary = Some(TemporaryNetwork { id, serial: state.last_serial, restore, config });
                drop(state);
                let network = ConnectedNetwork { ssid: params.ssid, bssid, auth: params.auth_algorithm() };
                tracing::info!(interface = %self.link.name(), ssid = %params.ssid, %bssid, network = id, "connected for the guest");
                Ok(network)
            }
            Err(error) => {
                tracing::info!(interface = %self.link.name(), ssid = %params.ssid, %error, "guest connection failed; cleaning up");
                self.remove_and_restore(id, &restore, config.as_ref()).await;
                Err(error)
            }
        }
    }

    async fn disconnect(self: Arc<Self>) -> Result<(), InterfaceError> {
        let _operation = self.operation.lock().await;
        let Some(temporary) = self.state().temporary.take() else {
            return Ok(());
        };
        let status = self.status().await.unwrap_or_default();
        let connected = status.network_id == Some(temporary.id) && status.wpa_state != "DISCONNECTED";
        let own = self.link.own_disconnect();
        let mut events = self.events.subscribe();
        let remove = format!("REMOVE_NETWORK {}", temporary.id);
        let removed = self.command_ok(&remove, &remove).await;
        if removed.is_ok() && connected {
            let wait = async {
                loop {
                    match events.recv().await {
                        Ok(Event::Disconnected { .. }) | Err(broadcast::error::RecvError::Closed) => break,
                        _ => {}
                    }
                }
            };
            if tokio::time::timeout(HOST_DISCONNECT_WAIT, wait).await.is_err() {
                tracing::warn!(interface = %self.link.name(), "no CTRL-EVENT-DISCONNECTED after removing the temporary network");
            }
        }
        drop(own);
        // Restore even if the removal failed (the network may already be gone).
        self.restore_networks(&temporary.restore).await;
        self.repair_config(temporary.config.as_ref()).await;
        tracing::info!(interface = %self.link.name(), network = temporary.id, "guest connection ended");
        removed
    }
}
