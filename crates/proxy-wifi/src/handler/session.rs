//! The guest's connection state and session ids, and the host connections guests made.
//!
//! **Decision** (issue 13, a guest's reboot): the host cannot see a reboot — the guest id
//! (CID, VM id) stays, and the protocol has no greeting. So a guest's state outlives its
//! reboot: session ids go on increasing (the rebooted driver starts from 0 and takes any
//! id), and the connection of the previous boot stays recorded until the guest connects
//! again (the new connect replaces it, releasing its host link first), disconnects, the
//! host loses it, or the guest is evicted. Events of the replaced link never end the new
//! one (see [`GuestConnection::predates`]).

use std::collections::BTreeSet;

use proxy_wifi_protocol::{Bssid, SessionId, Ssid};

use crate::identity::GuestId;
use crate::interface::{AuthAlgorithm, GuestSecurity, InterfaceError, InterfaceId};
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
    /// The handler's event clock when it was made: events stamped at or before it
    /// concern an earlier connection.
    pub since: u64,
}

impl GuestConnection {
    /// Whether an event with `stamp` was emitted before this connection existed (so it
    /// cannot be about it: a previous connection's disconnection, say).
    pub fn predates(&self, stamp: u64) -> bool {
        stamp <= self.since
    }
}

/// A host connection a guest made (guest-directed), shared by the guests using it.
///
/// Rule (issue 13, shared connections): it ends — the interface is disconnected, which
/// removes the temporary network or profile — when its last user leaves. Another guest
/// may share it only with the same credentials (equal PMK or SAE password, compared in
/// constant time), or when the network is open.
pub struct GuestMadeLink {
    /// The network.
    pub ssid: Ssid,
    /// The credentials it was made with (`None`: the application's interface took a
    /// request whose security the handler could not decide; nobody else may share it).
    credentials: Option<GuestSecurity>,
    /// The guests using it. Empty only when its disconnection failed: the host may still
    /// be connected, so the credentials still guard it.
    pub users: BTreeSet<GuestId>,
    /// The handler's event clock when it was made (see [`GuestConnection::since`]).
    pub since: u64,
}

impl GuestMadeLink {
    /// A link just made by `guest` with `security`.
    pub fn new(ssid: Ssid, security: &Result<GuestSecurity, InterfaceError>, guest: GuestId, since: u64) -> Self {
        Self { ssid, credentials: security.as_ref().ok().cloned(), users: BTreeSet::from([guest]), since }
    }

    /// Whether a guest asking with `security` may share the link: the network is open,
    /// or the credentials are equal.
    pub fn admits(&self, security: &Result<GuestSecurity, InterfaceError>) -> bool {
        match (&self.credentials, security) {
            (Some(GuestSecurity::Open), _) => true,
            (Some(made_with), Ok(asked)) => made_with == asked,
            _ => false,
        }
    }
}

impl From<GuestConnection> for ConnectionStatus {
    fn from(c: GuestConnection) -> Self {
        Self {
            kind: c.kind,
            interface: c.interface.to_string(),
            interface_id: c.interface.to_string(),
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

    fn ssid() -> Ssid {
        Ssid::new(b"net").unwrap()
    }

    #[test]
    fn a_link_is_shared_only_with_equal_credentials_or_when_open() {
        use proxy_wifi_protocol::Pmk;
        let pmk = |p: &[u8]| Ok(GuestSecurity::Wpa2Psk(Pmk::derive(p, &ssid())));
        let psk = GuestMadeLink::new(ssid(), &pmk(b"right-key"), GuestId::Vsock(3), 0);
        assert!(psk.admits(&pmk(b"right-key")));
        assert!(!psk.admits(&pmk(b"wrong-key")));
        assert!(!psk.admits(&Ok(GuestSecurity::Open)));
        let unsupported = Err(InterfaceError::Backend("no".into()));
        assert!(!psk.admits(&unsupported));
        let open = GuestMadeLink::new(ssid(), &Ok(GuestSecurity::Open), GuestId::Vsock(3), 0);
        assert!(open.admits(&pmk(b"anything")) && open.admits(&unsupported));
        let undecided = GuestMadeLink::new(ssid(), &unsupported, GuestId::Vsock(3), 0);
        assert!(!undecided.admits(&unsupported));
        let sae =
            |p: &[u8]| GuestSecurity::from_request(&proxy_wifi_protocol::ConnectRequest::wpa3_sae(ssid(), p).unwrap());
        let sae_link = GuestMadeLink::new(ssid(), &sae(b"password"), GuestId::Vsock(3), 0);
        assert!(sae_link.admits(&sae(b"password")));
        assert!(!sae_link.admits(&sae(b"passwore")) && !sae_link.admits(&sae(b"password2")));
    }

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
