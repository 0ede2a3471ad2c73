//! TCP transport (testing, and guests reached over a network namespace).

use std::io;
use std::net::SocketAddr;

use async_trait::async_trait;
use tokio::net::{TcpListener, TcpStream};

use super::{BoxedStream, NotificationConnector, PeerAddress, RequestListener};

/// Listens for request connections on a TCP address.
#[derive(Debug)]
pub struct TcpRequestListener {
    listener: TcpListener,
    local: SocketAddr,
}

impl TcpRequestListener {
    /// Binds `addr` (SO_REUSEADDR set, so a restarted service can bind again at once).
    pub async fn bind(addr: SocketAddr) -> io::Result<Self> {
        let socket = match addr {
            SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
            SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
        };
        socket.set_reuseaddr(true)?;
        socket.bind(addr).map_err(|e| io::Error::new(e.kind(), format!("cannot listen on tcp:{addr}: {e}")))?;
        let listener = socket.listen(1024)?;
        let local = listener.local_addr()?;
        Ok(Self { listener, local })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

#[async_trait]
impl RequestListener for TcpRequestListener {
    async fn accept(&mut self) -> io::Result<(BoxedStream, PeerAddress)> {
        let (stream, peer) = self.listener.accept().await?;
        let _ = stream.set_nodelay(true);
        Ok((Box::new(stream), PeerAddress::Tcp(peer)))
    }

    fn local_description(&self) -> String {
        format!("tcp:{}", self.local)
    }

    fn local_tcp_addr(&self) -> Option<SocketAddr> {
        Some(self.local)
    }
}

/// Connects to the guest's TCP notification listener.
#[derive(Debug, Clone)]
pub struct TcpNotificationConnector {
    guest: SocketAddr,
}

impl TcpNotificationConnector {
    /// Notifications go to `guest`.
    pub fn new(guest: SocketAddr) -> Self {
        Self { guest }
    }
}

#[async_trait]
impl NotificationConnector for TcpNotificationConnector {
    async fn connect(&self) -> io::Result<BoxedStream> {
        let stream = TcpStream::connect(self.guest).await?;
        let _ = stream.set_nodelay(true);
        Ok(Box::new(stream))
    }

    fn describe(&self) -> String {
        format!("tcp:{}", self.guest)
    }
}
