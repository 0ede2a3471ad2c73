//! vsock transport (Linux hosts: QEMU/KVM `vhost-vsock`).
//!
//! The service listens on (any CID, request port) and accepts only the configured guest
//! CID; any other peer is closed at once and logged. Notifications go to
//! (guest CID, notification port).

use std::io;

use async_trait::async_trait;
use tokio_vsock::{VMADDR_CID_ANY, VsockAddr, VsockListener, VsockStream};

use super::{BoxedStream, NotificationConnector, PeerAddress, RequestListener};

/// Whether a connection from `peer_cid` may be served when the guest is `guest_cid`.
pub fn accepts_peer(guest_cid: u32, peer_cid: u32) -> bool {
    peer_cid == guest_cid
}

/// Listens for the guest's request connections on vsock.
pub struct VsockRequestListener {
    listener: VsockListener,
    guest_cid: u32,
    port: u32,
}

impl VsockRequestListener {
    /// Binds (any CID, `port`) and serves only `guest_cid`.
    pub fn bind(guest_cid: u32, port: u32) -> io::Result<Self> {
        let listener = VsockListener::bind(VsockAddr::new(VMADDR_CID_ANY, port))
            .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on vsock port {port}: {e}")))?;
        Ok(Self { listener, guest_cid, port })
    }
}

#[async_trait]
impl RequestListener for VsockRequestListener {
    async fn accept(&mut self) -> io::Result<(BoxedStream, PeerAddress)> {
        loop {
            let (stream, peer) = self.listener.accept().await?;
            if accepts_peer(self.guest_cid, peer.cid()) {
                return Ok((Box::new(stream), PeerAddress::Vsock { cid: peer.cid(), port: peer.port() }));
            }
            tracing::warn!(
                peer_cid = peer.cid(),
                expected_cid = self.guest_cid,
                "request connection from another CID refused"
            );
            drop(stream);
        }
    }

    fn local_description(&self) -> String {
        format!("vsock:any:{} (guest CID {})", self.port, self.guest_cid)
    }
}

/// Connects to the guest's vsock notification listener.
#[derive(Debug, Clone)]
pub struct VsockNotificationConnector {
    cid: u32,
    port: u32,
}

impl VsockNotificationConnector {
    /// Notifications go to (`cid`, `port`).
    pub fn new(cid: u32, port: u32) -> Self {
        Self { cid, port }
    }
}

#[async_trait]
impl NotificationConnector for VsockNotificationConnector {
    async fn connect(&self) -> io::Result<BoxedStream> {
        let stream = VsockStream::connect(VsockAddr::new(self.cid, self.port)).await?;
        Ok(Box::new(stream))
    }

    fn describe(&self) -> String {
        format!("vsock:{}:{}", self.cid, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_configured_cid_is_accepted() {
        assert!(accepts_peer(3, 3));
        assert!(!accepts_peer(3, 4));
        assert!(!accepts_peer(3, 2));
        assert!(!accepts_peer(3, VMADDR_CID_ANY));
    }

    #[test]
    fn connector_describes_its_target() {
        assert_eq!(VsockNotificationConnector::new(5, 12346).describe(), "vsock:5:12346");
    }
}
