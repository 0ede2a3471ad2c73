//! Disconnect rules (behavior.md "Requests / Disconnect").

use proxy_wifi_protocol::{DisconnectRequest, GuestBound};

use super::session::GuestConnection;
use super::{OperationHandler, guarded};
use crate::identity::GuestId;
use crate::interface::InterfaceId;
use crate::observer::{DisconnectRequestArgs, OperationStatus};

impl OperationHandler {
    /// Handles a disconnect request of `guest`. Always answered with success.
    pub(crate) async fn disconnect(&mut self, guest: &GuestId, request: DisconnectRequest) -> GuestBound {
        let session = request.session_id;
        let state = self.guest(guest);
        // Rule 1: a session older than the current one: nothing to do.
        if state.session.is_stale(session) {
            tracing::debug!(%guest, operation = "disconnect", %session, current = %state.session.current_session(),
                "stale session; nothing to do");
            return GuestBound::DisconnectResponse;
        }
        // Rule 2: no guest connection: nothing to do.
        let Some(connection) = state.session.connection else {
            tracing::debug!(%guest, operation = "disconnect", %session, "guest has no connection; nothing to do");
            return GuestBound::DisconnectResponse;
        };
        self.end_guest_connection(guest, connection).await;
        GuestBound::DisconnectResponse
    }

    /// Ends the guest's connection, telling the observer (request, then completion):
    /// rule 3 for a mirrored host connection (the host is not touched), rule 4 for a
    /// guest-made link the guest was the last user of (the interface is disconnected,
    /// 5 s; a failure is logged, not fatal). A link other guests still use stays. The
    /// guest's connection is forgotten either way.
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
        let was_link_user = self.links.get(&connection.interface).is_some_and(|l| l.users.contains(guest));
        let last_user = self.leave_link(guest, connection.interface);
        let status = if last_user {
            self.release_link(guest, connection.interface).await
        } else {
            if was_link_user {
                tracing::info!(%guest, interface = %connection.interface,
                    "other guests use this connection; the host stays connected");
            }
            OperationStatus::Succeeded
        };
        tracing::info!(%guest, operation = "disconnect", session = %connection.session, ssid = %connection.ssid, ?kind,
            ?status, "guest connection ended");
        self.observer.notify("on_guest_disconnection_completion", move |o| {
            o.on_guest_disconnection_completion(kind, status, &args)
        });
        status
    }

    /// Disconnects the interface of a guest-made link that lost its last user (5 s). The
    /// link is forgotten once the interface left it; after a failure it is kept, without
    /// users, so that its credentials still guard the connection the host may keep.
    async fn release_link(&mut self, guest: &GuestId, id: InterfaceId) -> OperationStatus {
        let Some(interface) = self.interfaces.iter().find(|i| i.id() == id).cloned() else {
            // The interface went away: nothing left to disconnect.
            self.links.remove(&id);
            return OperationStatus::Succeeded;
        };
        let status = match guarded::disconnect(&interface, self.timeouts.disconnect).await {
            Ok(Ok(())) => OperationStatus::Succeeded,
            Ok(Err(error)) => {
                tracing::warn!(%guest, interface = %id, %error, "interface disconnect failed");
                OperationStatus::Failed
            }
            Err(_) => {
                tracing::warn!(%guest, interface = %id, deadline = ?self.timeouts.disconnect,
                    "interface disconnect missed its deadline");
                OperationStatus::Failed
            }
        };
        if status == OperationStatus::Succeeded {
            self.links.remove(&id);
        }
        status
    }
}
