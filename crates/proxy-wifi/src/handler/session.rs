//! The guest's connection state and session ids.

use proxy_wifi_protocol::{Bssid, SessionId, Ssid};

use crate::interface::{AuthAlgorithm, InterfaceId};
use crate::observer::OperationType;
use crate::status::ConnectionStatus;

/// The guest's current connection, as the handler records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestConnection {
    /// Mirrored host connection or guest-directed one.
    pub kind: OperationType,
    /// The interface backing it.
    pub interface: InterfaceId,
    /// The network.
    pub ssid: Ssid,
    /// The BSS given to the guest.
    pub bssid: Bssid,
    /// The authentication as the guest sees it.
    pub auth: AuthAlgorithm,
    /// The session id of the connect response that made it.
    pub session: SessionId,
}

impl From<GuestConnection> for ConnectionStatus {
    fn from(c: GuestConnection) -> Self {
        Self {
            kind: c.kind,
            interface: c.interface.to_string(),
            ssid: c.ssid.to_string(),
            bssid: c.bssid.to_string(),
            auth: c.auth,
            session_id: c.session.0,
        }
    }
}

/// Session ids and the current guest connection.
#[derive(Debug, Default)]
pub struct GuestSession {
    last_session: SessionId,
    /// The connection, if the guest has one.
    pub connection: Option<GuestConnection>,
}

impl GuestSession {
    /// Rule "session ids increase by one per connect response": the id for the next
    /// connect response, success or failure.
    pub fn next_session(&mut self) -> SessionId {
        self.last_session = SessionId(self.last_session.0.wrapping_add(1));
        self.last_session
    }

    /// The id of the last connect response (0 before any).
    pub fn current_session(&self) -> SessionId {
        self.last_session
    }

    /// Rule "stale session": a disconnect for a session older than the current one.
    pub fn is_stale(&self, session: SessionId) -> bool {
        session < self.last_session
    }

    /// Whether the guest's connection is backed by `interface`.
    pub fn is_backed_by(&self, interface: InterfaceId) -> bool {
        self.connection.is_some_and(|c| c.interface == interface)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_increase_by_one_and_older_ones_are_stale() {
        let mut s = GuestSession::default();
        assert_eq!(s.next_session(), SessionId(1));
        assert_eq!(s.next_session(), SessionId(2));
        assert!(s.is_stale(SessionId(1)));
        assert!(!s.is_stale(SessionId(2)));
        assert!(!s.is_stale(SessionId(3)));
    }
}
