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

impl<'de> serde::Deserialize<'de> for GuestId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A guest written in a form [`GuestId`]'s `Display` does not produce.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a guest: {problem}; write vsock:CID, hybrid-vsock:PATH, tcp:IP or hyperv:GUID")]
pub struct BadGuestId {
    /// The text.
    pub text: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Reads what `Display` writes: `vsock:7`, `hyperv:<GUID>`, `hybrid-vsock:<path>`, `tcp:<IP>`.
impl std::str::FromStr for GuestId {
    type Err = BadGuestId;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |problem: String| BadGuestId { text: text.to_owned(), problem };
        let (kind, value) = text.split_once(':').ok_or_else(|| bad("no KIND: prefix".into()))?;
        match kind {
            "vsock" => {
                value.parse().map(GuestId::Vsock).map_err(|_| bad(format!("{value:?} is not a CID (0 to 4294967295)")))
            }
            "hyperv" => {
                value.parse().map(GuestId::HyperV).map_err(|_| bad(format!("{value:?} is not a VM id (a GUID)")))
            }
            "tcp" => value.parse().map(GuestId::Tcp).map_err(|_| bad(format!("{value:?} is not an IP address"))),
            "hybrid-vsock" if !value.is_empty() => Ok(GuestId::HybridVsock(PathBuf::from(value))),
            "hybrid-vsock" => Err(bad("the VMM socket path is empty".into())),
            other => Err(bad(format!("{other:?} is not a kind of guest"))),
        }
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
    fn a_guest_reads_back_from_its_display_form() {
        let guests = [
            GuestId::Vsock(7),
            GuestId::HyperV("a42e7cda-d03f-480c-9cc2-a4de20abb879".parse().unwrap()),
            GuestId::Tcp("10.0.0.2".parse().unwrap()),
            GuestId::HybridVsock("/run/fc/vm 1:a.vsock".into()),
        ];
        for guest in guests {
            assert_eq!(guest.to_string().parse::<GuestId>(), Ok(guest));
        }
        let error = "vsock:seven".parse::<GuestId>().unwrap_err().to_string();
        assert_eq!(
            error,
            "\"vsock:seven\" is not a guest: \"seven\" is not a CID (0 to 4294967295); write vsock:CID, \
             hybrid-vsock:PATH, tcp:IP or hyperv:GUID"
        );
        assert!("7".parse::<GuestId>().unwrap_err().to_string().contains("no KIND: prefix"));
        assert!("hybrid-vsock:".parse::<GuestId>().is_err());
    }

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
