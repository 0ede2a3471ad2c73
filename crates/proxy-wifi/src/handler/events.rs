//! Host events (behavior.md "Host events").

use proxy_wifi_protocol::{Bssid, Message, SignalQualityNotification};

use super::OperationHandler;
use crate::interface::{InterfaceEvent, InterfaceId};
use crate::observer::ConnectionArgs;

impl OperationHandler {
    /// Handles a spontaneous event of interface `id`.
    pub fn on_interface_event(&mut self, id: InterfaceId, event: InterfaceEvent) {
        if !self.interfaces.iter().any(|i| i.id() == id) {
            tracing::debug!(interface = %id, ?event, "event from an interface that is gone; ignored");
            return;
        }
        match event {
            // Host connected: tell the observer (queued, not awaited).
            InterfaceEvent::HostConnected(network) => {
                tracing::info!(interface = %id, ssid = %network.ssid, bssid = %network.bssid, "host connected");
                let args = ConnectionArgs {
                    interface: Some(id),
                    ssid: network.ssid,
                    bssid: network.bssid,
                    auth: network.auth,
                };
                self.observer.notify("on_host_connection", move |o| o.on_host_connection(&args));
            }
            // Host disconnected: tell the observer; if the interface backed the guest's
            // connection to that network, the guest is told (never for its own request:
            // a guest-directed disconnect forgets the connection before this event runs).
            InterfaceEvent::HostDisconnected { ssid } => {
                tracing::info!(interface = %id, %ssid, "host disconnected");
                let auth = self.session.connection.map_or(crate::interface::AuthAlgorithm::Open, |c| c.auth);
                let args = ConnectionArgs { interface: Some(id), ssid, bssid: Bssid::ZERO, auth };
                self.observer.notify("on_host_disconnection", move |o| o.on_host_disconnection(&args));
                if self.session.connection.is_some_and(|c| c.interface == id && c.ssid == ssid) {
                    self.guest_connection_lost();
                }
            }
            // Signal quality: forwarded only for the interface backing the guest's connection.
            InterfaceEvent::SignalQuality { percent } => {
                if self.session.is_backed_by(id) {
                    let notification = SignalQualityNotification::from_link_quality(percent);
                    tracing::debug!(interface = %id, percent, dbm = notification.signal_dbm, "signal quality for the guest");
                    self.notifications.push(Message::NotifSignalQuality(notification));
                }
            }
            InterfaceEvent::ScanResults(results) => self.on_scan_results(id, results),
        }
    }
}
