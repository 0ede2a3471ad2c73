//! One host Wi-Fi interface of the WLAN service, as a [`WifiInterface`].
//!
//! Operations start WLAN actions and complete on the notifications the backend routes
//! here ([`WlanInterface::on_notification`]):
//!
//! * **Scan**: always asks the host to scan (targeted when an SSID is given), but answers
//!   at once with the BSS cache read *before* the request, status completed: a host scan
//!   flushes the cache, and drivers may fail a scan right after connecting although
//!   relevant results were already scanned. If a scan this interface asked for is still
//!   running, the new scan waits for its completion (scan complete or failed) instead,
//!   within the handler's deadline. A host scan that completes while nobody waits pushes
//!   its results as [`InterfaceEvent::ScanResults`].
//! * **Connect**: a temporary profile built from the request; completes on the
//!   connection-complete notification for that SSID (success, or failure with the reason).
//! * **Disconnect**: completes on the disconnected notification.
//! * Host connections and disconnections become `HostConnected` / `HostDisconnected`,
//!   link-quality changes `SignalQuality`.

use std::sync::{Mutex, MutexGuard, OnceLock};

use async_trait::async_trait;
use proxy_wifi_protocol::{BssEntry, Bssid, Ssid, StatusCode};
use tokio::sync::oneshot;
use tokio::time::Instant;
use uuid::Uuid;

use super::api::{InterfaceState, SharedWlanApi, WlanConnection, WlanError, WlanNotification, reason, win32};
use super::profile::{build_profile, profile_security};
use super::security::{convert_scan, guest_auth};
use crate::interface::{
    AuthAlgorithm, ConnectParams, ConnectedNetwork, EventSink, InterfaceError, InterfaceEvent, InterfaceId,
    ScanResults, ScanStatus, WifiInterface,
};
use crate::limits::WLAN_LOST_SCAN_AFTER;

type Reply<T> = oneshot::Sender<Result<T, InterfaceError>>;

struct PendingConnect {
    ssid: Ssid,
    /// The authentication the guest asked for, reported back on success.
    auth: AuthAlgorithm,
    reply: Reply<ConnectedNetwork>,
}

#[derive(Default)]
struct State {
    /// When the host scan this interface requested started, while it runs.
    scan_started: Option<Instant>,
    /// Guest scans waiting for that host scan.
    scan_waiters: Vec<Reply<ScanResults>>,
    connect: Option<PendingConnect>,
    disconnect: Option<Reply<()>>,
    removed: bool,
}

/// A WLAN-service interface. Created by the backend; shared with the handler.
pub struct WlanInterface {
    guid: Uuid,
    /// The adapter's description (its GUID when the service does not list it).
    description: String,
    api: SharedWlanApi,
    state: Mutex<State>,
    events: OnceLock<EventSink>,
}

fn gone() -> InterfaceError {
    InterfaceError::Unavailable("the Wi-Fi interface was removed".into())
}

/// The interface error for a failed WLAN call.
pub fn wlan_error(error: WlanError) -> InterfaceError {
    match error.code {
        win32::ERROR_NOT_FOUND | win32::ERROR_SERVICE_NOT_ACTIVE => InterfaceError::Unavailable(error.to_string()),
        _ => InterfaceError::Backend(error.to_string()),
    }
}

impl WlanInterface {
    /// The interface `guid` of `api`.
    pub fn new(api: SharedWlanApi, guid: Uuid) -> Self {
        let listed = api.enum_interfaces().ok().and_then(|list| list.into_iter().find(|i| i.guid == guid));
        let description = listed.map_or_else(|| guid.to_string(), |info| info.description);
        Self { guid, description, api, state: Mutex::new(State::default()), events: OnceLock::new() }
    }

    /// The interface GUID.
    #[cfg(test)]
    pub fn guid(&self) -> Uuid {
        self.guid
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn emit(&self, event: InterfaceEvent) {
        if let Some(events) = self.events.get() {
            events.send(event);
        }
    }

    /// The BSS cache, converted (and masked) for the guest.
    fn read_cache(&self) -> Result<Vec<BssEntry>, WlanError> {
        let bss = self.api.bss_list(self.guid)?;
        let networks = self.api.available_networks(self.guid)?;
        Ok(convert_scan(&bss, &networks))
    }

    /// The host's connection on this interface, if connected.
    fn host_connection(&self) -> Option<WlanConnection> {
        match self.api.current_connection(self.guid) {
            Ok(Some(c)) if c.state == InterfaceState::Connected => Some(c),
            Ok(_) => None,
            Err(error) => {
                tracing::debug!(interface = %self.guid, %error, "cannot read the current connection");
                None
            }
        }
    }

    /// Handles a notification about this interface (called by the backend, in order).
    pub fn on_notification(&self, notification: WlanNotification) {
        match notification {
            WlanNotification::ScanComplete => self.on_scan_done(None),
            WlanNotification::ScanFailed { reason } => self.on_scan_done(Some(reason)),
            WlanNotification::ConnectionComplete { ssid, reason } => self.on_connection_complete(ssid, reason),
            WlanNotification::Disconnected { ssid, reason } => {
                tracing::info!(interface = %self.guid, %ssid, reason = format_args!("{reason:#x}"), "host disconnected");
                self.emit(InterfaceEvent::HostDisconnected { ssid });
                if let Some(reply) = self.state().disconnect.take() {
                    let _ = reply.send(Ok(()));
                }
            }
            WlanNotification::SignalQuality { percent } => {
                self.emit(InterfaceEvent::SignalQuality { percent: percent.min(100) });
            }
            WlanNotification::InterfaceArrival | WlanNotification::InterfaceRemoval => {}
        }
    }

    fn on_scan_done(&self, failure: Option<u32>) {
        if let Some(reason) = failure {
            tracing::info!(interface = %self.guid, reason = format_args!("{reason:#x}"), "host scan failed");
        }
        let bss = self.read_cache().unwrap_or_else(|error| {
            tracing::warn!(interface = %self.guid, %error, "cannot read the scan results");
            Vec::new()
        });
        let waiters = {
            let mut state = self.state();
            state.scan_started = None;
            std::mem::take(&mut state.scan_waiters)
        };
        let mut delivered = false;
        for waiter in waiters {
            delivered |= waiter.send(Ok(ScanResults { bss: bss.clone(), status: ScanStatus::Completed })).is_ok();
        }
        if delivered {
            tracing::debug!(interface = %self.guid, networks = bss.len(), "host scan done; waiting guest scan answered");
        } else if failure.is_none() || !bss.is_empty() {
            tracing::debug!(interface = %self.guid, networks = bss.len(), "host scan done; results pushed to the guest");
            self.emit(InterfaceEvent::ScanResults(ScanResults { bss, status: ScanStatus::Completed }));
        }
    }

    fn on_connection_complete(&self, ssid: Ssid, code: u32) {
        let pending = {
            let mut state = self.state();
            match &state.connect {
                Some(p) if p.ssid == ssid => state.connect.take(),
                _ => None,
            }
        };
        if code != reason::SUCCESS {
            tracing::info!(interface = %self.guid, %ssid, reason = format_args!("{code:#x}"), "host connection failed");
            if let Some(p) = pending {
                let why = format!("the WLAN service could not connect to '{ssid}' (reason code {code:#x})");
                let error = match code {
                    reason::KEY_MISMATCH | reason::PSK_MISMATCH_SUSPECTED => InterfaceError::WrongKey(why),
                    reason::NOT_VISIBLE | reason::NETWORK_NOT_AVAILABLE => InterfaceError::NetworkNotFound(ssid),
                    _ => InterfaceError::Rejected { status: StatusCode::UNSPECIFIED_FAILURE, reason: why },
                };
                let _ = p.reply.send(Err(error));
            }
            return;
        }
        let Some(connection) = self.host_connection() else {
            tracing::warn!(interface = %self.guid, %ssid, "connection complete, but the interface reports no connection");
            if let Some(p) = pending {
                let _ = p.reply.send(Err(InterfaceError::Rejected {
                    status: StatusCode::UNSPECIFIED_FAILURE,
                    reason: format!("connected to '{ssid}', but the connection could not be read"),
                }));
            }
            return;
        };
        let host = ConnectedNetwork {
            ssid: connection.ssid,
            bssid: connection.bssid,
            auth: guest_auth(connection.auth, connection.cipher),
        };
        tracing::info!(interface = %self.guid, ssid = %host.ssid, bssid = %host.bssid, auth = %connection.auth,
            cipher = %connection.cipher, "host connected");
        self.emit(InterfaceEvent::HostConnected(host));
        if let Some(p) = pending {
            let _ = p.reply.send(Ok(ConnectedNetwork { auth: p.auth, ..host }));
        }
    }

    /// The interface is gone: pending operations fail at once.
    pub fn on_removed(&self) {
        let (scans, connect, disconnect) = {
            let mut state = self.state();
            state.removed = true;
            state.scan_started = None;
            (std::mem::take(&mut state.scan_waiters), state.connect.take(), state.disconnect.take())
        };
        for waiter in scans {
            let _ = waiter.send(Err(gone()));
        }
        if let Some(p) = connect {
            let _ = p.reply.send(Err(gone()));
        }
        if let Some(reply) = disconnect {
            let _ = reply.send(Ok(()));
        }
    }
}

#[async_trait]
impl WifiInterface for WlanInterface {
    fn id(&self) -> InterfaceId {
        InterfaceId(self.guid)
    }

    fn name(&self) -> String {
        self.description.clone()
    }

    fn backend(&self) -> &'static str {
        "wlanapi"
    }

    /// Keeps the sink and, if the interface is already connected, reports it.
    fn attach(&self, events: EventSink) {
        if self.events.set(events).is_err() {
            return;
        }
        if let Some(c) = self.host_connection() {
            let network = ConnectedNetwork { ssid: c.ssid, bssid: c.bssid, auth: guest_auth(c.auth, c.cipher) };
            tracing::info!(interface = %self.guid, ssid = %network.ssid, "interface already connected");
            self.emit(InterfaceEvent::HostConnected(network));
        }
    }

    async fn connection_to(&self, ssid: &Ssid) -> Option<ConnectedNetwork> {
        if self.state().removed {
            return None;
        }
        let c = self.host_connection().filter(|c| c.ssid == *ssid)?;
        tracing::info!(interface = %self.guid, %ssid, bssid = %c.bssid, auth = %c.auth, "host already connected");
        Some(ConnectedNetwork { ssid: c.ssid, bssid: c.bssid, auth: guest_auth(c.auth, c.cipher) })
    }

    async fn scan(&self, ssid: Option<Ssid>) -> Result<ScanResults, InterfaceError> {
        let answer = {
            let mut state = self.state();
            if state.removed {
                return Err(gone());
            }
            match state.scan_started {
                Some(started) if started.elapsed() < WLAN_LOST_SCAN_AFTER => {
                    let (reply, answer) = oneshot::channel();
                    state.scan_waiters.push(reply);
                    answer
                }
                lost => {
                    if lost.is_some() {
                        tracing::warn!(interface = %self.guid, "host scan never completed; starting another");
                        state.scan_waiters.clear();
                    }
                    // The cache is read before the scan request, which flushes it.
                    let cached = self.read_cache().map_err(wlan_error)?;
                    state.scan_started = Some(Instant::now());
                    if let Err(error) = self.api.scan(self.guid, ssid.as_ref()) {
                        state.scan_started = None;
                        tracing::warn!(interface = %self.guid, %error, "host scan request failed; answering from the cache");
                    } else {
                        tracing::debug!(interface = %self.guid, targeted = ?ssid.map(|s| s.to_string()),
                            "host scan requested");
                    }
                    return Ok(ScanResults { bss: cached, status: ScanStatus::Completed });
                }
            }
        };
        tracing::debug!(interface = %self.guid, "a host scan is running; waiting for its results");
        answer.await.unwrap_or_else(|_| Err(gone()))
    }

    async fn connect(&self, params: &ConnectParams) -> Result<ConnectedNetwork, InterfaceError> {
        let security = profile_security(params)?;
        let profile = build_profile(&params.ssid, security);
        let bssid = (!params.bssid.is_zero()).then_some(params.bssid);
        let answer = {
            let mut state = self.state();
            if state.removed {
                return Err(gone());
            }
            let (reply, answer) = oneshot::channel();
            state.connect = Some(PendingConnect { ssid: params.ssid, auth: security.auth(), reply });
            if let Err(error) = self.api.connect(self.guid, &profile, bssid) {
                state.connect = None;
                return Err(wlan_error(error));
            }
            answer
        };
        tracing::info!(interface = %self.guid, ssid = %params.ssid, bssid = %bssid.unwrap_or(Bssid::ZERO),
            auth = %security.auth(), "host connection requested");
        answer.await.unwrap_or_else(|_| Err(gone()))
    }

    async fn disconnect(&self) -> Result<(), InterfaceError> {
        if self.state().removed || self.host_connection().is_none() {
            return Ok(());
        }
        let answer = {
            let mut state = self.state();
            let (reply, answer) = oneshot::channel();
            state.disconnect = Some(reply);
            if let Err(error) = self.api.disconnect(self.guid) {
                state.disconnect = None;
                return Err(wlan_error(error));
            }
            answer
        };
        tracing::info!(interface = %self.guid, "host disconnection requested");
        answer.await.unwrap_or_else(|_| Err(gone()))
    }
}
