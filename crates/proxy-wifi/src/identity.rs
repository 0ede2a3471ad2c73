//! Guest identity: which VM a request comes from and where its notifications go.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

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
