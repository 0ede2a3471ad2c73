//! vsock transport (Linux hosts: QEMU/KVM `vhost-vsock`).
//!
//! The service listens on (any CID, request port) and accepts only the configured guest
//! CIDs; any other peer is closed at once and logged. Notifications go to
//! (guest CID, notification port).

use std::io;

use async_trait::async_trait;
use tokio_vsock::{VMADDR_CID_ANY, VsockAddr, VsockListener, VsockStream};

use super::{BoxedStream, GuestId, NotificationConnector, RequestListener};

/// Which guest CIDs a vsock listener serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CidFilter {
    /// Exactly one guest.
    One(u32),
    /// Any of these guests.
    List(Vec<u32>),
    /// Every guest.
    Any,
}

impl std::fmt::Display for CidFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CidFilter::One(cid) => write!(f, "guest CID {cid}"),
            CidFilter::List(cids) => {
                let list: Vec<String> = cids.iter().map(u32::to_string).collect();
                write!(f, "guest CIDs {}", list.join(", "))
            }
            CidFilter::Any => f.write_str("any guest CID"),
        }
    }
}

impl CidFilter {
    /// Whether a connection from `peer_cid` may be served.
    pub fn accepts(&self, peer_cid: u32) -> bool {
        match self {
            CidFilter::One(cid) => *cid == peer_cid,
            CidFilter::List(cids) => cids.contains(&peer_cid),
            CidFilter::Any => peer_cid != VMADDR_CID_ANY,
        }
    }
}

/// Listens for the guests' request connections on vsock.
pub struct VsockRequestListener {
    listener: VsockListener,
    filter: CidFilter,
    port: u32,
}

impl VsockRequestListener {
    /// Binds (any CID, `port`) and serves the guests `filter` accepts.
    pub fn bind(filter: CidFilter, port: u32) -> io::Result<Self> {
        let listener = VsockListener::bind(VsockAddr::new(VMADDR_CID_ANY, port))
            .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on vsock port {port}: {e}")))?;
        Ok(Self { listener, filter, port })
    }
}

#[async_trait]
impl RequestListener for VsockRequestListener {
    async fn accept(&mut self) -> io::Result<(BoxedStream, GuestId)> {
        loop {
            let (stream, peer) = self.listener.accept().await?;
            if self.filter.accepts(peer.cid()) {
                return Ok((Box::new(stream), GuestId::Vsock(peer.cid())));
            }
            tracing::warn!(peer_cid = peer.cid(), accepted = %self.filter, "request connection from another CID refused");
            drop(stream);
        }
    }

    fn local_description(&self) -> String {
        format!("vsock:any:{} ({})", self.port, self.filter)
    }
}

/// Connects to a guest's vsock notification listener.
#[derive(Debug, Clone)]
pub struct VsockNotificationConnector {
    port: u32,
}

impl VsockNotificationConnector {
    /// Notifications go to (guest CID, `port`).
    pub fn new(port: u32) -> Self {
        Self { port }
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
        let stream = VsockStream::connect(VsockAddr::new(Self::cid(guest)?, self.port)).await?;
        Ok(Box::new(stream))
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
        assert!(CidFilter::One(3).accepts(3));
        assert!(!CidFilter::One(3).accepts(4));
        assert!(!CidFilter::One(3).accepts(2));
        let list = CidFilter::List(vec![3, 9]);
        assert!(list.accepts(9) && !list.accepts(4));
        assert!(CidFilter::Any.accepts(1234) && !CidFilter::Any.accepts(VMADDR_CID_ANY));
    }

    #[test]
    fn connector_addresses_the_guest_cid() {
        let c = VsockNotificationConnector::new(12346);
        assert_eq!(c.describe(&GuestId::Vsock(5)), "vsock:5:12346");
        assert!(c.describe(&GuestId::Tcp("127.0.0.1".parse().unwrap())).contains("unreachable"));
    }
}
