//! The notification channel: the guest listens, the host connects and writes one message.

use std::io;
use std::time::Duration;

use proxy_wifi_protocol::{GuestAbi, GuestBound};
use tokio::net::{TcpListener, TcpSocket};

use super::transport::{GuestStream, read_message_within};
use super::{Endpoint, GuestConfig, GuestError};

/// Backlog of the listening socket.
const BACKLOG: u32 = 128;

/// Receives the host's notifications the way the `proxy_wifi` driver does.
///
/// Connections are accepted one at a time. Each gets
/// [`GuestConfig::notification_read_timeout`] (10 ms by default) to deliver exactly one
/// whole message; a connection that is silent, too slow, closes early or sends garbage is
/// logged with `tracing::warn!` and skipped. Any bytes after the message are ignored.
#[derive(Debug)]
pub struct NotificationListener {
    inner: Inner,
    local: Endpoint,
    read_timeout: Duration,
    abi: GuestAbi,
}

#[derive(Debug)]
enum Inner {
    Tcp(TcpListener),
    #[cfg(target_os = "linux")]
    Vsock(tokio_vsock::VsockListener),
}

impl NotificationListener {
    /// Listens at [`GuestConfig::notification_endpoint`]: on TCP the transport's IP at the
    /// notification port (with `SO_REUSEADDR`; port 0 picks a free port), on vsock
    /// `(VMADDR_CID_ANY, notification_port)`.
    pub async fn bind(config: &GuestConfig) -> Result<Self, GuestError> {
        let endpoint = config.notification_endpoint();
        let bind_error = |source| GuestError::Bind { endpoint, source };
        let (inner, local) = match endpoint {
            Endpoint::Tcp(addr) => {
                let socket =
                    if addr.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }.map_err(bind_error)?;
                socket.set_reuseaddr(true).map_err(bind_error)?;
                socket.bind(addr).map_err(bind_error)?;
                let listener = socket.listen(BACKLOG).map_err(bind_error)?;
                let local = listener.local_addr().map_err(bind_error)?;
                (Inner::Tcp(listener), Endpoint::Tcp(local))
            }
            #[cfg(target_os = "linux")]
            Endpoint::Vsock { cid, port } => {
                let listener =
                    tokio_vsock::VsockListener::bind(tokio_vsock::VsockAddr::new(cid, port)).map_err(bind_error)?;
                let local = listener.local_addr().map_err(bind_error)?;
                (Inner::Vsock(listener), Endpoint::Vsock { cid: local.cid(), port: local.port() })
            }
        };
        tracing::debug!(endpoint = %local, "listening for notifications");
        Ok(NotificationListener { inner, local, read_timeout: config.notification_read_timeout, abi: config.abi })
    }

    /// The address the listener is bound to (with the actual port when port 0 was asked).
    pub fn local_endpoint(&self) -> Endpoint {
        self.local
    }

    /// The port the listener is bound to (the actual port when TCP port 0 was asked).
    pub fn local_port(&self) -> u16 {
        match self.local {
            Endpoint::Tcp(addr) => addr.port(),
            // Bound from a u16 port, so it fits.
            #[cfg(target_os = "linux")]
            Endpoint::Vsock { port, .. } => u16::try_from(port).unwrap_or(u16::MAX),
        }
    }

    /// Waits for the next notification: accepts connections one at a time until one
    /// delivers a whole valid host-to-guest message in time, and returns it.
    ///
    /// Fails only if accepting fails with a lasting error. Cancelling this future (for
    /// example with a timeout) loses at most the connection being read, as the driver
    /// would.
    pub async fn next(&mut self) -> Result<GuestBound, GuestError> {
        loop {
            let accepted = match &self.inner {
                Inner::Tcp(listener) => {
                    listener.accept().await.map(|(stream, peer)| (GuestStream::Tcp(stream), Endpoint::Tcp(peer)))
                }
                #[cfg(target_os = "linux")]
                Inner::Vsock(listener) => listener.accept().await.map(|(stream, peer)| {
                    (GuestStream::Vsock(stream), Endpoint::Vsock { cid: peer.cid(), port: peer.port() })
                }),
            };
            let (mut stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(e) if is_transient_accept_error(&e) => {
                    tracing::warn!(endpoint = %self.local, error = %e, "accepting a notification connection failed, retrying");
                    continue;
                }
                Err(source) => {
                    return Err(GuestError::Io {
                        action: "accepting a notification connection",
                        endpoint: self.local,
                        source,
                    });
                }
            };
            match read_message_within(&mut stream, self.read_timeout, self.abi, peer, "reading a notification").await {
                Ok(message) if !self.abi.accepts_notification(message.operation()) => {
                    tracing::warn!(%peer, operation = %message.operation(), abi = %self.abi, "skipping a message this driver generation does not take as a notification");
                }
                Ok(message) => {
                    tracing::debug!(%peer, operation = %message.operation(), "received notification");
                    return Ok(message);
                }
                Err(error) => {
                    tracing::warn!(%peer, %error, "skipping notification connection");
                }
            }
        }
    }
}

/// Errors of `accept` that concern one connection (or a passing shortage), not the listener.
fn is_transient_accept_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}
