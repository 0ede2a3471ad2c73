//! Host events (behavior.md "Host events"): each reaches only the guests it concerns.

use proxy_wifi_protocol::{Bssid, GuestBound, SignalQualityNotification};

use super::OperationHandler;
use crate::identity::GuestId;
use crate::interface::{EventOrigin, InterfaceEvent};
use crate::observer::ConnectionArgs;

impl OperationHandler {
    /// Handles a spontaneous event of an interface.
    ///
    /// Rule (issue 13, reconnects): an event emitted before a guest connection was
    /// recorded (its stamp predates the connection) is not about that connection, so it
    /// never ends it or reaches its guest: a guest connecting again to the network it is
    /// on must not lose the new link to the old link's disconnection.
    pub fn on_interface_event(&mut self, origin: EventOrigin, event: InterfaceEvent) {
        let id = origin.interface;
        if !self.interfaces.iter().any(|i| i.id() == id) {
            tracing::debug!(interface = %id, ?event, "event from an interface that is gone; ignored");
            return;
        }
        match event {
            // Host connected: tell the observer (queued, not awaited).
            InterfaceEvent::HostConnected(network) => {
                tracing::info!(interface = %id, ssid = %network.ssid, bssid = %network.bssid, "host connected");
                let args = ConnectionArgs {
                    guest: None,
                    interface: Some(id),
                    ssid: network.ssid,
                    bssid: network.bssid,
                    auth: network.auth,
                };
                self.observer.notify("on_host_connection", move |o| o.on_host_connection(&args));
            }
            // Host disconnected: tell the observer; every guest whose connection to that
            // network this interface backed is told (never for a guest's own request: a
            // guest-directed disconnect forgets the connection before this event runs, and
            // a connection made since then is newer than the event). A guest-made link
            // older than the event is gone: the backend removes what it added for it.
            InterfaceEvent::HostDisconnected { ssid } => {
                tracing::info!(interface = %id, %ssid, "host disconnected");
                let args = ConnectionArgs {
                    guest: None,
                    interface: Some(id),
                    ssid,
                    bssid: Bssid::ZERO,
                    auth: crate::interface::AuthAlgorithm::Open,
                };
                self.observer.notify("on_host_disconnection", move |o| o.on_host_disconnection(&args));
                let affected: Vec<GuestId> = self
                    .guests
                    .iter()
                    .filter(|(_, s)| {
                        s.session
                            .connection
                            .is_some_and(|c| c.interface == id && c.ssid == ssid && !c.predates(origin.stamp))
                    })
                    .map(|(g, _)| g.clone())
                    .collect();
                for guest in affected {
                    self.guest_connection_lost(&guest);
                }
                if self.links.get(&id).is_some_and(|l| l.ssid == ssid && l.since < origin.stamp) {
                    self.links.remove(&id);
                }
            }
            // Signal quality: forwarded to the guests whose connection this interface backs.
            InterfaceEvent::SignalQuality { percent } => {
                let notification = SignalQualityNotification::from_link_quality(percent);
                for (guest, state) in &self.guests {
                    if state.session.connection.is_some_and(|c| c.interface == id && !c.predates(origin.stamp)) {
                        tracing::debug!(%guest, interface = %id, percent, dbm = notification.signal_dbm,
                            "signal quality for the guest");
                        state.notifications.push(GuestBound::NotifSignalQuality(notification));
                    }
                }
            }
            InterfaceEvent::ScanResults(results) => self.on_scan_results(id, results),
        }
    }
}
