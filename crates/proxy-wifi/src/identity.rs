//! Guest identity: which VM a request comes from and where its notifications go.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use proxy_wifi_protocol::GuestAbi;
use uuid::Uuid;

/// Identifies one guest (one VM). Each guest has its own session ids, connection,
/// notification gate and notification queue.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GuestId {
    /// A TCP guest, keyed by its IP address (notifications go to that IP).
    Tcp(IpAddr),
    /// A vsock guest, keyed by its context id.
    Vsock(u32),
    /// A Hyper-V guest, keyed by its VM id.
    HyperV(Uuid),
    /// A guest behind a hybrid-vsock Unix socket (Firecracker, cloud-hypervisor),
    /// keyed by the VMM's socket path.
    HybridVsock(PathBuf),
}

impl fmt::Display for GuestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuestId::Tcp(ip) => write!(f, "tcp:{ip}"),
            GuestId::Vsock(cid) => write!(f, "vsock:{cid}"),
            GuestId::HyperV(vm) => write!(f, "hyperv:{vm}"),
            GuestId::HybridVsock(path) => write!(f, "hybrid-vsock:{}", path.display()),
        }
    }
}

impl serde::Serialize for GuestId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Which driver generation each guest runs ([`GuestAbi`]): a default for every guest, and
/// exceptions by identity. Nothing on the wire tells them apart, so it is configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GuestAbis {
    default: GuestAbi,
    per_guest: HashMap<GuestId, GuestAbi>,
}

impl GuestAbis {
    /// Every guest speaks `abi`, unless [`GuestAbis::set`] says otherwise.
    pub(crate) fn set_default(&mut self, abi: GuestAbi) {
        self.default = abi;
    }

    /// `guest` speaks `abi`.
    pub(crate) fn set(&mut self, guest: GuestId, abi: GuestAbi) {
        self.per_guest.insert(guest, abi);
    }

    /// The layout `guest` speaks.
    pub(crate) fn of(&self, guest: &GuestId) -> GuestAbi {
        self.per_guest.get(guest).copied().unwrap_or(self.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guest_listed_by_identity_overrides_the_default() {
        let mut abis = GuestAbis::default();
        assert_eq!(abis.of(&GuestId::Vsock(7)), GuestAbi::Current);
        abis.set(GuestId::Vsock(7), GuestAbi::Legacy);
        assert_eq!(abis.of(&GuestId::Vsock(7)), GuestAbi::Legacy);
        assert_eq!(abis.of(&GuestId::Vsock(8)), GuestAbi::Current);
        abis.set_default(GuestAbi::Legacy);
        abis.set(GuestId::Vsock(9), GuestAbi::Current);
        assert_eq!(abis.of(&GuestId::Vsock(8)), GuestAbi::Legacy);
        assert_eq!(abis.of(&GuestId::Vsock(9)), GuestAbi::Current);
    }
}
