//! Disconnect rules (behavior.md "Requests / Disconnect").

use proxy_wifi_protocol::{DisconnectRequest, Message};

use super::OperationHandler;
use crate::observer::{DisconnectRequestArgs, OperationStatus, OperationType};

impl OperationHandler {
    /// Handles a disconnect request. Always answered with success.
    pub(crate) async fn disconnect(&mut self, request: DisconnectRequest) -> Message {
        let session = request.session_id;
        // Rule 1: a session older than the current one: nothing to do.
        if self.session.is_stale(session) {
            tracing::info!(operation = "disconnect", %session, current = %self.session.current_session(),
                "stale session; nothing to do");
            return Message::DisconnectResponse;
        }
        // Rule 2: no guest connection: nothing to do.
        let Some(connection) = self.session.connection else {
            tracing::info!(operation = "disconnect", %session, "guest has no connection; nothing to do");
            return Message::DisconnectResponse;
        };
        let kind = connection.kind;
        let args = DisconnectRequestArgs { interface: connection.interface, ssid: connection.ssid };
        let request_args = args.clone();
        self.observer
            .notify("on_guest_disconnection_request", move |o| o.on_guest_disconnection_request(kind, &request_args));
        let status = match kind {
            // Rule 3: mirrored: the host is not touched.
            OperationType::HostMirroring => OperationStatus::Succeeded,
            // Rule 4: guest-directed: disconnect the interface, 5 s; failure is logged, not fatal.
            OperationType::GuestDirected => {
                // Forget the connection first, so the interface's own disconnected event is
                // not mistaken for a host disconnection.
                self.session.connection = None;
                match self.interfaces.iter().find(|i| i.id() == connection.interface).cloned() {
                    Some(interface) => {
                        match tokio::time::timeout(self.timeouts.disconnect, interface.disconnect()).await {
                            Ok(Ok(())) => OperationStatus::Succeeded,
                            Ok(Err(error)) => {
                                tracing::warn!(interface = %connection.interface, %error, "interface disconnect failed");
                                OperationStatus::Failed
                            }
                            Err(_) => {
                                tracing::warn!(interface = %connection.interface, "interface disconnect missed the 5 s deadline");
                                OperationStatus::Failed
                            }
                        }
                    }
                    None => OperationStatus::Succeeded,
                }
            }
        };
        self.session.connection = None;
        self.publish_connection();
        tracing::info!(operation = "disconnect", %session, ssid = %connection.ssid, ?kind, ?status, "guest disconnected");
        self.observer.notify("on_guest_disconnection_completion", move |o| {
            o.on_guest_disconnection_completion(kind, status, &args)
        });
        Message::DisconnectResponse
    }
}
