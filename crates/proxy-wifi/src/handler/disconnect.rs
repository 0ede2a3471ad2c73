//! Disconnect rules (behavior.md "Requests / Disconnect").

use proxy_wifi_protocol::{DisconnectRequest, Message};

use super::OperationHandler;
use super::session::GuestConnection;
use crate::identity::GuestId;
use crate::observer::{DisconnectRequestArgs, OperationStatus, OperationType};

impl OperationHandler {
    /// Handles a disconnect request of `guest`. Always answered with success.
    pub(crate) async fn disconnect(&mut self, guest: &GuestId, request: DisconnectRequest) -> Message {
        let session = request.session_id;
        let state = self.guest(guest);
        // Rule 1: a session older than the current one: nothing to do.
        if state.session.is_stale(session) {
            tracing::info!(%guest, operation = "disconnect", %session, current = %state.session.current_session(),
                "stale session; nothing to do");
            return Message::DisconnectResponse;
        }
        // Rule 2: no guest connection: nothing to do.
        let Some(connection) = state.session.connection else {
            tracing::info!(%guest, operation = "disconnect", %session, "guest has no connection; nothing to do");
            return Message::DisconnectResponse;
        };
        self.end_guest_connection(guest, connection).await;
        Message::DisconnectResponse
    }

    /// Ends the guest's connection, telling the observer (request, then completion):
    /// rule 3 for a mirrored connection (the host is not touched), rule 4 for a
    /// guest-directed one (the interface is disconnected, 5 s; a failure is logged, not
    /// fatal) — unless other guests now mirror that interface's connection, which stays.
    /// The connection is forgotten either way.
    pub(crate) async fn end_guest_connection(
        &mut self,
        guest: &GuestId,
        connection: GuestConnection,
    ) -> OperationStatus {
        let kind = connection.kind;
        let args =
            DisconnectRequestArgs { guest: guest.clone(), interface: connection.interface, ssid: connection.ssid };
        let request_args = args.clone();
        self.observer
            .notify("on_guest_disconnection_request", move |o| o.on_guest_disconnection_request(kind, &request_args));
        // Forget the connection first, so the interface's own disconnected event is not
        // mistaken for a host disconnection.
        self.guest(guest).session.connection = None;
        self.publish_guest(guest);
        let status = match kind {
            OperationType::HostMirroring => OperationStatus::Succeeded,
            OperationType::GuestDirected if !self.other_guests_on(connection.interface, guest).is_empty() => {
                tracing::info!(%guest, interface = %connection.interface,
                    "other guests use this connection; the host stays connected");
                OperationStatus::Succeeded
            }
            OperationType::GuestDirected => {
                match self.interfaces.iter().find(|i| i.id() == connection.interface).cloned() {
                    Some(interface) => {
                        match tokio::time::timeout(self.timeouts.disconnect, interface.disconnect()).await {
                            Ok(Ok(())) => OperationStatus::Succeeded,
                            Ok(Err(error)) => {
                                tracing::warn!(%guest, interface = %connection.interface, %error, "interface disconnect failed");
                                OperationStatus::Failed
                            }
                            Err(_) => {
                                tracing::warn!(%guest, interface = %connection.interface,
                                deadline = ?self.timeouts.disconnect, "interface disconnect missed its deadline");
                                OperationStatus::Failed
                            }
                        }
                    }
                    // The interface went away: nothing left to disconnect.
                    None => OperationStatus::Succeeded,
                }
            }
        };
        tracing::info!(%guest, operation = "disconnect", session = %connection.session, ssid = %connection.ssid, ?kind,
            ?status, "guest connection ended");
        self.observer.notify("on_guest_disconnection_completion", move |o| {
            o.on_guest_disconnection_completion(kind, status, &args)
        });
        status
    }
}
