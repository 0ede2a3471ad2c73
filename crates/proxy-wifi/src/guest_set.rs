//! The guests a service accepts, changeable while it runs: [`ServiceHandle::add_guest`],
//! [`ServiceHandle::remove_guest`] and [`ServiceHandle::guests`].
//!
//! The transports' accept filters read the shared [`GuestSet`] at every connection, so
//! a guest added is served from its next connection and a guest removed is refused from
//! its next one.
//!
//! [`ServiceHandle::add_guest`]: crate::ServiceHandle::add_guest
//! [`ServiceHandle::remove_guest`]: crate::ServiceHandle::remove_guest
//! [`ServiceHandle::guests`]: crate::ServiceHandle::guests

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use crate::identity::GuestId;

/// The guests listed by identity, shared between the service handle and the transport.
#[derive(Debug, Clone, Default)]
pub(crate) struct GuestSet(Arc<RwLock<BTreeSet<GuestId>>>);

impl GuestSet {
    /// A set holding `guests`.
    pub(crate) fn new(guests: impl IntoIterator<Item = GuestId>) -> Self {
        Self(Arc::new(RwLock::new(guests.into_iter().collect())))
    }

    /// Whether `guest` is listed.
    pub(crate) fn contains(&self, guest: &GuestId) -> bool {
        self.0.read().unwrap_or_else(|p| p.into_inner()).contains(guest)
    }

    /// Lists `guest`; false if it already was.
    pub(crate) fn insert(&self, guest: GuestId) -> bool {
        self.0.write().unwrap_or_else(|p| p.into_inner()).insert(guest)
    }

    /// Unlists `guest`; false if it was not listed.
    pub(crate) fn remove(&self, guest: &GuestId) -> bool {
        self.0.write().unwrap_or_else(|p| p.into_inner()).remove(guest)
    }

    /// The guests listed, in order.
    pub(crate) fn list(&self) -> Vec<GuestId> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect()
    }
}

/// Which guests a running service accepts ([`crate::ServiceHandle::guests`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GuestList {
    /// The transport, as `--transport` names it: `tcp`, `vsock`, `hyperv`, `hybrid-vsock`.
    pub transport: String,
    /// Every guest that connects is served (besides those listed).
    pub any_guest: bool,
    /// The guests listed by identity.
    pub listed: Vec<GuestId>,
    /// Whether guests can be added and removed while the service runs.
    pub changeable: bool,
}

/// Why a guest could not be added or removed.
#[derive(Debug, thiserror::Error)]
pub enum GuestChangeError {
    /// The transport cannot reach that kind of guest.
    #[error("{guest} cannot be served by the {transport} transport of this service; give a {expected} guest")]
    WrongKind {
        /// The guest asked for.
        guest: GuestId,
        /// The service's transport.
        transport: &'static str,
        /// The form of guest it serves, e.g. `vsock:CID`.
        expected: &'static str,
    },
    /// The transport serves guests fixed at start.
    #[error("the {transport} transport of this service serves {what}, fixed at start; {hint}")]
    Fixed {
        /// The service's transport.
        transport: &'static str,
        /// Which guests it serves.
        what: &'static str,
        /// How to start a service whose guests can change.
        hint: &'static str,
    },
    /// A reserved address that is never a VM.
    #[error("{guest} is not a VM's address ({why}); give the VM's own")]
    Reserved {
        /// The guest asked for.
        guest: GuestId,
        /// What the address is.
        why: &'static str,
    },
    /// The listener of a hybrid-vsock guest could not be created.
    #[error("cannot serve {guest}: {source}")]
    Listen {
        /// The guest asked for.
        guest: GuestId,
        /// Why.
        source: std::io::Error,
    },
    /// The service has stopped.
    #[error("the service has stopped")]
    Stopped,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_set_sees_every_change() {
        let set = GuestSet::new([GuestId::Vsock(3)]);
        let transport_side = set.clone();
        assert!(transport_side.contains(&GuestId::Vsock(3)));
        assert!(set.insert(GuestId::Vsock(9)) && !set.insert(GuestId::Vsock(9)));
        assert!(transport_side.contains(&GuestId::Vsock(9)));
        assert!(set.remove(&GuestId::Vsock(3)) && !set.remove(&GuestId::Vsock(3)));
        assert!(!transport_side.contains(&GuestId::Vsock(3)));
        assert_eq!(transport_side.list(), [GuestId::Vsock(9)]);
    }
}
