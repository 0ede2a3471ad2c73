//! A request listener handed to the service already bound and listening, typically by
//! systemd's socket activation (`ListenStream=vsock::12345` in `proxy-wifi.socket`): the
//! port is then held from boot and across restarts, so no other local user can bind it
//! while the service is down and receive the guests' connect requests (and keys).
//!
//! The listener must match the transport's settings exactly (family, port, and for TCP
//! the address): a mismatch is a configuration error, named with both values, never
//! silently served, so the host-mode rule ([`crate::host_mode_rule`]) judges the address
//! that really listens.

use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;

use socket2::{Socket, Type};

/// A stream socket, bound and listening, that the service adopts instead of binding.
#[derive(Debug)]
pub struct InheritedListener {
    socket: Socket,
}

impl InheritedListener {
    /// Takes ownership of `fd`: it must be a bound stream socket (it is made to listen if
    /// it does not yet).
    pub fn from_fd(fd: OwnedFd) -> io::Result<Self> {
        let socket = Socket::from(fd);
        let kind = socket.r#type().map_err(|e| invalid(format!("the inherited descriptor is not a socket: {e}")))?;
        if kind != Type::STREAM {
            return Err(invalid(
                "the inherited socket is not a stream socket (ListenStream= in the .socket unit)".into(),
            ));
        }
        socket.local_addr().map_err(|e| invalid(format!("the inherited socket has no local address: {e}")))?;
        Ok(Self { socket })
    }

    /// What the socket is bound to, for messages: `tcp:127.0.0.1:12345`, `vsock:any:12345`.
    pub fn describe(&self) -> String {
        match self.socket.local_addr() {
            Ok(addr) => {
                if let Some(ip) = addr.as_socket() {
                    return format!("tcp:{ip}");
                }
                #[cfg(target_os = "linux")]
                if let Some((cid, port)) = addr.as_vsock_address() {
                    return if cid == u32::MAX { format!("vsock:any:{port}") } else { format!("vsock:{cid}:{port}") };
                }
                if let Some(path) = addr.as_pathname() {
                    return format!("unix:{}", path.display());
                }
                "an unnamed socket".into()
            }
            Err(e) => format!("a socket without address ({e})"),
        }
    }

    /// The socket, listening, if it is a TCP socket bound to exactly `expected` (port 0 in
    /// `expected`: any port on that IP).
    pub(crate) fn into_tcp(self, expected: SocketAddr) -> io::Result<Socket> {
        let bound = self.socket.local_addr()?.as_socket();
        match bound {
            Some(addr) if addr.ip() == expected.ip() && (expected.port() == 0 || addr.port() == expected.port()) => {
                self.listening()
            }
            _ => Err(self.mismatch(&format!("tcp:{expected}"))),
        }
    }

    /// The socket, listening, if it is an AF_VSOCK socket bound to (any CID, `port`).
    #[cfg(target_os = "linux")]
    pub(crate) fn into_vsock(self, port: u32) -> io::Result<Socket> {
        match self.socket.local_addr()?.as_vsock_address() {
            Some((cid, bound)) if bound == port && cid == u32::MAX => self.listening(),
            _ => Err(self.mismatch(&format!("vsock:any:{port}"))),
        }
    }

    /// A configuration error: the transport that cannot adopt a listener.
    pub(crate) fn unsupported(&self, transport: &str) -> io::Error {
        invalid(format!(
            "an inherited listener ({}) was given, but the {transport} transport binds its own listeners; \
             socket activation serves vsock and tcp",
            self.describe()
        ))
    }

    fn mismatch(&self, expected: &str) -> io::Error {
        invalid(format!(
            "the inherited listener is {}, but the settings ask for {expected}: make the .socket unit's \
             ListenStream= and the service's settings (transport, request port, listen address) agree",
            self.describe()
        ))
    }

    fn listening(self) -> io::Result<Socket> {
        // Harmless on a socket already listening (systemd's are); it sets our backlog.
        self.socket.listen(super::LISTEN_BACKLOG)?;
        Ok(self.socket)
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, TcpListener, UdpSocket};

    use super::*;

    fn inherited_tcp() -> (InheritedListener, SocketAddr) {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        (InheritedListener::from_fd(OwnedFd::from(listener)).unwrap(), addr)
    }

    #[test]
    fn a_tcp_listener_on_the_configured_address_is_adopted() {
        let (inherited, addr) = inherited_tcp();
        let socket = inherited.into_tcp(addr).unwrap();
        assert_eq!(socket.local_addr().unwrap().as_socket(), Some(addr));
        let (inherited, addr) = inherited_tcp();
        assert!(inherited.into_tcp(SocketAddr::new(addr.ip(), 0)).is_ok(), "port 0: any port on that IP");
    }

    #[test]
    fn a_listener_elsewhere_is_refused_naming_both_addresses() {
        let (inherited, addr) = inherited_tcp();
        let other = SocketAddr::new(addr.ip(), addr.port().wrapping_add(1).max(1));
        let error = inherited.into_tcp(other).unwrap_err().to_string();
        assert!(error.contains(&format!("tcp:{addr}")) && error.contains(&format!("tcp:{other}")), "{error}");
        let (inherited, addr) = inherited_tcp();
        let error = inherited.into_tcp(SocketAddr::new("0.0.0.0".parse().unwrap(), addr.port())).unwrap_err();
        assert!(error.to_string().contains("ListenStream="), "{error}");
    }

    #[test]
    fn a_datagram_socket_is_refused() {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let error = InheritedListener::from_fd(OwnedFd::from(udp)).unwrap_err();
        assert!(error.to_string().contains("not a stream socket"), "{error}");
    }
}
