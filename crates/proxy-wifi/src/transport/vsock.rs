//! vsock transport (Linux hosts: QEMU/KVM `vhost-vsock`).
//!
//! The service listens on (any CID, request port) and accepts only the configured guest
//! CIDs; any other peer is closed at once and logged. Notifications go to
//! (guest CID, notification port), from a reserved source port when the service may bind
//! one ([`super::reserved_port`]).

use std::io;
use std::os::fd::OwnedFd;
use std::sync::Arc;

use async_trait::async_trait;
use socket2::{Domain, SockAddr, Socket, Type};
use tokio_vsock::{VMADDR_CID_ANY, VsockStream};

use super::raw::{self, RawKind, RawListener};
use super::reserved_port::{ReservedPorts, SourcePort};
use super::{Accepted, BoxedStream, GuestId, NotificationConnector, RequestListener};
use crate::guest_set::GuestSet;

/// `VMADDR_CID_HOST`: the highest of the CIDs that are never a guest (0 the hypervisor,
/// 1 local loopback, 2 the host itself).
pub const VMADDR_CID_HOST: u32 = 2;

/// Whether `cid` is one of the addresses that are never a VM: the hypervisor (0), local
/// loopback (1), the host (2) or `VMADDR_CID_ANY`. A process on the host itself connects
/// from one of these, so they are served only when listed by name.
pub fn is_reserved_cid(cid: u32) -> bool {
    cid <= VMADDR_CID_HOST || cid == VMADDR_CID_ANY
}

/// Which guest CIDs a vsock listener serves: the CIDs listed, plus, with
/// [`CidFilter::any_guest`], every VM's CID. The reserved CIDs ([`is_reserved_cid`]) are
/// served only when listed. The list is shared with the service handle, which changes it
/// while the service runs.
#[derive(Debug, Clone)]
pub struct CidFilter {
    listed: GuestSet,
    any_guest: bool,
}

impl std::fmt::Display for CidFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list: Vec<String> = self.listed.list().iter().map(ToString::to_string).collect();
        let list: Vec<&str> = list.iter().map(|g| g.trim_start_matches("vsock:")).collect();
        match (self.any_guest, list.as_slice()) {
            (true, []) => f.write_str("any guest CID"),
            (true, _) => write!(f, "any guest CID and CIDs {}", list.join(", ")),
            (false, []) => f.write_str("no guest CID yet"),
            (false, [one]) => write!(f, "guest CID {one}"),
            (false, _) => write!(f, "guest CIDs {}", list.join(", ")),
        }
    }
}

impl CidFilter {
    /// Exactly the guests `cids`, reserved CIDs included when listed.
    pub fn listed(cids: Vec<u32>) -> Self {
        Self { listed: GuestSet::new(cids.into_iter().map(GuestId::Vsock)), any_guest: false }
    }

    /// Every VM (CID 3 and up), plus the CIDs in `also` (e.g. 1 for local loopback tests).
    pub fn any_guest(also: Vec<u32>) -> Self {
        Self { listed: GuestSet::new(also.into_iter().map(GuestId::Vsock)), any_guest: true }
    }

    /// The listed guests, shared: a change to them applies to the next connection.
    pub(crate) fn guests(&self) -> GuestSet {
        self.listed.clone()
    }

    /// Whether every VM is served.
    pub(crate) fn serves_any_guest(&self) -> bool {
        self.any_guest
    }

    /// Whether a connection from `peer_cid` may be served.
    pub fn accepts(&self, peer_cid: u32) -> bool {
        self.listed.contains(&GuestId::Vsock(peer_cid)) || (self.any_guest && !is_reserved_cid(peer_cid))
    }
}

/// Listens for the guests' request connections on vsock.
pub struct VsockRequestListener {
    listener: RawListener,
    filter: CidFilter,
    port: u32,
}

impl VsockRequestListener {
    /// Binds (any CID, `port`) and serves the guests `filter` accepts.
    pub fn bind(filter: CidFilter, port: u32) -> io::Result<Self> {
        let cannot = |e: io::Error| io::Error::new(e.kind(), format!("cannot listen on vsock port {port}: {e}"));
        let socket = Socket::new(Domain::VSOCK, Type::STREAM.cloexec(), None).map_err(cannot)?;
        socket.bind(&SockAddr::vsock(VMADDR_CID_ANY, port)).map_err(cannot)?;
        socket.listen(super::LISTEN_BACKLOG).map_err(cannot)?;
        Ok(Self { listener: RawListener::new(socket, RawKind::Vsock)?, filter, port })
    }

    /// Serves the guests `filter` accepts on a listener handed over bound to (any CID,
    /// `port`) (socket activation); refused when it is bound elsewhere
    /// ([`super::inherited`]).
    pub(crate) fn adopt(
        inherited: super::inherited::InheritedListener,
        filter: CidFilter,
        port: u32,
    ) -> io::Result<Self> {
        let socket = inherited.into_vsock(port)?;
        Ok(Self { listener: RawListener::new(socket, RawKind::Vsock)?, filter, port })
    }
}

#[async_trait]
impl RequestListener for VsockRequestListener {
    async fn accept(&mut self) -> io::Result<(Accepted, GuestId)> {
        loop {
            let (connection, peer) = self.listener.accept().await?;
            let Some((cid, _port)) = peer.as_vsock_address() else {
                tracing::warn!("request connection without a vsock address refused");
                continue;
            };
            if self.filter.accepts(cid) {
                return Ok((Accepted::Raw(connection), GuestId::Vsock(cid)));
            }
            if crate::log_limit::admit(&format_args!("vsock:{cid}"), "CID not accepted") {
                tracing::warn!(peer_cid = cid, accepted = %self.filter, "request connection from another CID refused");
            }
        }
    }

    fn local_description(&self) -> String {
        format!("vsock:any:{} ({})", self.port, self.filter)
    }
}

/// Connects to a guest's vsock notification listener, from a reserved source port when
/// the service may bind one (see [`super::reserved_port`]).
#[derive(Debug, Clone)]
pub struct VsockNotificationConnector {
    port: u32,
    source_ports: Arc<ReservedPorts>,
}

impl VsockNotificationConnector {
    /// Notifications go to (guest CID, `port`).
    pub fn new(port: u32) -> Self {
        Self { port, source_ports: Arc::default() }
    }

    fn cid(guest: &GuestId) -> io::Result<u32> {
        match guest {
            GuestId::Vsock(cid) => Ok(*cid),
            other => Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{other} is not a vsock guest"))),
        }
    }
}

#[async_trait]
impl NotificationConnector for VsockNotificationConnector {
    async fn connect(&self, guest: &GuestId) -> io::Result<BoxedStream> {
        let cid = Self::cid(guest)?;
        let socket = Socket::new(Domain::VSOCK, Type::STREAM.cloexec(), None)?;
        let source = self.source_ports.bind(|port| socket.bind(&SockAddr::vsock(VMADDR_CID_ANY, port)))?;
        if let SourcePort::Reserved(port) = source {
            tracing::trace!(port, cid, "notification socket bound to a reserved port");
        }
        let socket = raw::connect_nonblocking(socket, &SockAddr::vsock(cid, self.port)).await?;
        Ok(Box::new(VsockStream::new(vsock::VsockStream::from(OwnedFd::from(socket)))?))
    }

    fn describe(&self, guest: &GuestId) -> String {
        match Self::cid(guest) {
            Ok(cid) => format!("vsock:{cid}:{}", self.port),
            Err(_) => format!("{guest} (unreachable over vsock)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_configured_cids_are_accepted() {
        let one = CidFilter::listed(vec![3]);
        assert!(one.accepts(3));
        assert!(!one.accepts(4));
        assert!(!one.accepts(2));
        let list = CidFilter::listed(vec![3, 9]);
        assert!(list.accepts(9) && !list.accepts(4));
        assert!(CidFilter::any_guest(Vec::new()).accepts(1234));
    }

    #[test]
    fn any_guest_never_serves_the_hypervisor_loopback_or_host_cids() {
        let any = CidFilter::any_guest(Vec::new());
        for reserved in [0, 1, 2, VMADDR_CID_ANY] {
            assert!(!any.accepts(reserved), "--any-guest accepted reserved CID {reserved}");
        }
        assert!(any.accepts(3));
    }

    #[test]
    fn a_reserved_cid_is_served_when_listed_by_name() {
        let loopback_test = CidFilter::any_guest(vec![1]);
        assert!(loopback_test.accepts(1) && loopback_test.accepts(7));
        assert!(!loopback_test.accepts(2) && !loopback_test.accepts(0));
        assert!(CidFilter::listed(vec![1]).accepts(1));
        assert_eq!(loopback_test.to_string(), "any guest CID and CIDs 1");
    }

    #[test]
    fn a_cid_added_or_removed_through_the_shared_list_applies_to_the_next_connection() {
        let filter = CidFilter::listed(Vec::new());
        assert!(!filter.accepts(5));
        assert_eq!(filter.to_string(), "no guest CID yet");
        filter.guests().insert(GuestId::Vsock(5));
        assert!(filter.accepts(5) && !filter.accepts(6));
        filter.guests().remove(&GuestId::Vsock(5));
        assert!(!filter.accepts(5));
    }

    #[test]
    fn connector_addresses_the_guest_cid() {
        let c = VsockNotificationConnector::new(12346);
        assert_eq!(c.describe(&GuestId::Vsock(5)), "vsock:5:12346");
        assert!(c.describe(&GuestId::Tcp("127.0.0.1".parse().unwrap())).contains("unreachable"));
    }
}
