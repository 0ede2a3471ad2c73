//! TCP transport (tests, and guests reached over a network).

use std::io;
use std::net::{IpAddr, SocketAddr};

use async_trait::async_trait;
use tokio::io::AsyncWriteExt;
#[cfg(not(unix))]
use tokio::net::TcpListener;
use tokio::net::TcpStream;

#[cfg(unix)]
use super::raw::{RawKind, RawListener};
use super::{Accepted, BoxedStream, GuestId, NotificationConnector, RequestListener};
use crate::guest_set::GuestSet;
use crate::limits::{NOTIFICATION_CONNECT_TIMEOUT, NOTIFICATION_WRITE_TIMEOUT};

/// Which peers a TCP listener serves, and as which guest.
#[derive(Debug, Clone)]
pub enum TcpGuests {
    /// One guest: every connection is that guest, whatever its source address.
    One(IpAddr),
    /// Many guests, each keyed by the connection's source IP.
    BySourceIp,
    /// The guests listed (`tcp:IP`), each keyed by its source IP; the list may change
    /// while the service runs. Other peers are refused.
    Listed(GuestSet),
}

impl TcpGuests {
    /// The guest a connection from `peer` belongs to; `None` when it is not served.
    pub fn guest_of(&self, peer: SocketAddr) -> Option<GuestId> {
        match self {
            TcpGuests::One(ip) => Some(GuestId::Tcp(*ip)),
            TcpGuests::BySourceIp => Some(GuestId::Tcp(peer.ip())),
            TcpGuests::Listed(set) => Some(GuestId::Tcp(peer.ip())).filter(|guest| set.contains(guest)),
        }
    }
}

/// Listens for request connections on a TCP address.
pub struct TcpRequestListener {
    /// Unix: accepted connections stay unregistered until needed (see [`super::raw`]).
    #[cfg(unix)]
    listener: RawListener,
    #[cfg(not(unix))]
    listener: TcpListener,
    local: SocketAddr,
    guests: TcpGuests,
}

impl std::fmt::Debug for TcpRequestListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpRequestListener").field("local", &self.local).field("guests", &self.guests).finish()
    }
}

impl TcpRequestListener {
    /// Binds `addr` (SO_REUSEADDR set, so a restarted service can bind again at once; on
    /// Linux a connection is accepted once its request came, see
    /// [`crate::limits::TCP_SILENT_CONNECTION_HELD`]).
    pub async fn bind(addr: SocketAddr, guests: TcpGuests) -> io::Result<Self> {
        let cannot = |e: io::Error| io::Error::new(e.kind(), format!("cannot listen on tcp:{addr}: {e}"));
        let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        socket.bind(&addr.into()).map_err(cannot)?;
        socket.listen(super::LISTEN_BACKLOG).map_err(cannot)?;
        Self::serve_on(socket, addr, guests).map_err(cannot)
    }

    /// Serves on a listener handed over bound to `addr` (socket activation); refused when
    /// it is bound elsewhere ([`super::inherited`]).
    #[cfg(unix)]
    pub(crate) fn adopt(
        inherited: super::inherited::InheritedListener,
        addr: SocketAddr,
        guests: TcpGuests,
    ) -> io::Result<Self> {
        let socket = inherited.into_tcp(addr)?;
        Self::serve_on(socket, addr, guests)
    }

    fn serve_on(socket: socket2::Socket, addr: SocketAddr, guests: TcpGuests) -> io::Result<Self> {
        let local = socket.local_addr()?.as_socket().unwrap_or(addr);
        #[cfg(any(target_os = "linux", target_os = "android"))]
        super::raw::accept_once_bytes_came(&socket, crate::limits::TCP_SILENT_CONNECTION_HELD)?;
        #[cfg(unix)]
        let listener = RawListener::new(socket, RawKind::Tcp)?;
        #[cfg(not(unix))]
        let listener = {
            socket.set_nonblocking(true)?;
            TcpListener::from_std(socket.into())?
        };
        Ok(Self { listener, local, guests })
    }
}

#[async_trait]
impl RequestListener for TcpRequestListener {
    #[cfg(unix)]
    async fn accept(&mut self) -> io::Result<(Accepted, GuestId)> {
        loop {
            let (connection, peer) = self.listener.accept().await?;
            let Some(guest) = peer.as_socket().and_then(|peer| self.guests.guest_of(peer)) else {
                let ip = peer.as_socket().map(|peer| peer.ip().to_string()).unwrap_or_default();
                if crate::log_limit::admit(&ip, "address not listed") {
                    tracing::warn!(peer = ?peer.as_socket(), "request connection from an address not listed refused");
                }
                continue;
            };
            return Ok((Accepted::Raw(connection), guest));
        }
    }

    #[cfg(not(unix))]
    async fn accept(&mut self) -> io::Result<(Accepted, GuestId)> {
        loop {
            let (stream, peer) = self.listener.accept().await?;
            let Some(guest) = self.guests.guest_of(peer) else {
                if crate::log_limit::admit(&peer.ip(), "address not listed") {
                    tracing::warn!(%peer, "request connection from an address not listed refused");
                }
                continue;
            };
            let _ = stream.set_nodelay(true);
            return Ok((Accepted::Stream(Box::new(stream)), guest));
        }
    }

    fn local_description(&self) -> String {
        format!("tcp:{}", self.local)
    }

    fn local_tcp_addr(&self) -> Option<SocketAddr> {
        Some(self.local)
    }
}

/// Connects to a guest's TCP notification listener.
#[derive(Debug, Clone)]
pub enum TcpNotificationConnector {
    /// Always this address (one guest).
    Fixed(SocketAddr),
    /// The guest's IP at this port (guests keyed by source IP).
    GuestIp(u16),
}

impl TcpNotificationConnector {
    /// Notifications always go to `guest`.
    pub fn fixed(guest: SocketAddr) -> Self {
        Self::Fixed(guest)
    }

    /// Notifications go to each guest's IP at `port`.
    pub fn by_guest_ip(port: u16) -> Self {
        Self::GuestIp(port)
    }

    fn target(&self, guest: &GuestId) -> io::Result<SocketAddr> {
        match (self, guest) {
            (Self::Fixed(addr), _) => Ok(*addr),
            (Self::GuestIp(port), GuestId::Tcp(ip)) => Ok(SocketAddr::new(*ip, *port)),
            (Self::GuestIp(_), other) => {
                Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{other} is not a TCP guest")))
            }
        }
    }
}

#[async_trait]
impl NotificationConnector for TcpNotificationConnector {
    async fn connect(&self, guest: &GuestId) -> io::Result<BoxedStream> {
        let stream = TcpStream::connect(self.target(guest)?).await?;
        let _ = stream.set_nodelay(true);
        Ok(Box::new(stream))
    }

    /// Connects without waiting for the reactor and writes the moment `connect(2)` returns:
    /// over loopback (and any link whose handshake completes within the call) the
    /// connection is up by then, so the bytes follow the guest's accept at once. A connect
    /// still in progress (or a partial write) goes on through the reactor.
    async fn deliver(&self, guest: &GuestId, bytes: &[u8]) -> io::Result<()> {
        let target = self.target(guest)?;
        let socket = socket2::Socket::new(socket2::Domain::for_address(target), socket2::Type::STREAM, None)?;
        socket.set_nonblocking(true)?;
        socket.set_nodelay(true)?;
        match socket.connect(&target.into()) {
            Ok(()) => {}
            Err(error) if connect_in_progress(&error) => {}
            Err(error) => return Err(error),
        }
        // std's write: MSG_NOSIGNAL, so a vanished guest is an error, never a SIGPIPE.
        let mut stream = std::net::TcpStream::from(socket);
        let written = match std::io::Write::write(&mut stream, bytes) {
            Ok(n) if n == bytes.len() => return Ok(()),
            Ok(n) => n,
            Err(error) if matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::NotConnected) => 0,
            Err(error) => return Err(error),
        };
        let mut stream = TcpStream::from_std(stream)?;
        if written == 0 {
            tokio::time::timeout(NOTIFICATION_CONNECT_TIMEOUT, stream.writable())
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
            if let Some(error) = stream.take_error()? {
                return Err(error);
            }
        }
        tokio::time::timeout(NOTIFICATION_WRITE_TIMEOUT, stream.write_all(&bytes[written..]))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "write timed out"))?
    }

    fn describe(&self, guest: &GuestId) -> String {
        match self.target(guest) {
            Ok(addr) => format!("tcp:{addr}"),
            Err(_) => format!("{guest} (unreachable over TCP)"),
        }
    }
}

/// A non-blocking `connect(2)` that goes on in the background (EINPROGRESS; Windows:
/// WSAEWOULDBLOCK).
fn connect_in_progress(error: &io::Error) -> bool {
    #[cfg(unix)]
    if error.raw_os_error() == Some(rustix::io::Errno::INPROGRESS.raw_os_error()) {
        return true;
    }
    error.kind() == io::ErrorKind::WouldBlock
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guests_are_keyed_by_source_ip_or_fixed() {
        let peer: SocketAddr = "127.0.0.7:40000".parse().unwrap();
        assert_eq!(TcpGuests::BySourceIp.guest_of(peer), Some(GuestId::Tcp("127.0.0.7".parse().unwrap())));
        let one: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(TcpGuests::One(one).guest_of(peer), Some(GuestId::Tcp(one)));
        let listed = GuestSet::new([GuestId::Tcp(one)]);
        assert_eq!(TcpGuests::Listed(listed.clone()).guest_of(peer), None);
        listed.insert(GuestId::Tcp(peer.ip()));
        assert_eq!(TcpGuests::Listed(listed).guest_of(peer), Some(GuestId::Tcp(peer.ip())));
        let by_ip = TcpNotificationConnector::by_guest_ip(12346);
        assert_eq!(by_ip.describe(&GuestId::Tcp("127.0.0.7".parse().unwrap())), "tcp:127.0.0.7:12346");
        assert!(by_ip.describe(&GuestId::Vsock(3)).contains("unreachable"));
    }
}
