//! A reserved (privileged) source port for the notification connections.
//!
//! The guest driver, loaded with `notif_privileged_port=1`, reads a notification only
//! when its connection comes from a vsock port below 1024: on Linux only a process with
//! `CAP_NET_BIND_SERVICE` can bind such a port, so another local user of the host cannot
//! forge one (issue 25, item 5). The service therefore binds each outgoing notification
//! socket to a reserved port when it can:
//!
//! * it tries ports from [`RESERVED_PORT_HIGH`] downwards within a window of
//!   [`RESERVED_PORT_WINDOW`] ports (1023 to 768), starting where the previous
//!   connection left off, so concurrent and recently closed connections do not make
//!   every new one walk past them; a port in use (`EADDRINUSE`) moves it to the next
//!   one, at most [`RESERVED_PORT_TRIES`] times;
//! * without the right to bind one (`EACCES`, `EPERM`: no `CAP_NET_BIND_SERVICE`) it
//!   says so once, at INFO, and from then on connects from an ephemeral port as before
//!   (the kernel picks one above 1023), which such a guest refuses;
//! * when every port tried is in use it connects from an ephemeral port too, with a
//!   warning.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// The highest reserved port, where the walk starts (vsock's `LAST_RESERVED_PORT`, as
/// for TCP and UDP).
pub(crate) const RESERVED_PORT_HIGH: u32 = 1023;
/// How many reserved ports the walk goes through before starting again at the top.
pub(crate) const RESERVED_PORT_WINDOW: u32 = 256;
/// Ports tried for one connection before it falls back to an ephemeral port.
pub(crate) const RESERVED_PORT_TRIES: u32 = 32;

/// Where an outgoing socket's source port comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SourcePort {
    /// Bound to this reserved port.
    Reserved(u32),
    /// Not bound: the service may not bind reserved ports.
    EphemeralUnprivileged,
    /// Not bound: every reserved port tried was in use.
    EphemeralAllBusy,
}

/// The walk's state, shared by every notification connection of a transport.
#[derive(Debug, Default)]
pub(crate) struct ReservedPorts {
    /// Offset below [`RESERVED_PORT_HIGH`] of the next port to try first.
    next: AtomicU32,
    /// Set once a bind was refused for want of the right: no later connection tries.
    unprivileged: AtomicBool,
}

impl ReservedPorts {
    /// Binds a socket through `bind(port)` to a reserved port, or says why it stays
    /// unbound (the connect then picks an ephemeral port). Errors other than "in use" and
    /// "not permitted" are returned.
    pub(crate) fn bind(&self, mut bind: impl FnMut(u32) -> io::Result<()>) -> io::Result<SourcePort> {
        if self.unprivileged.load(Ordering::Relaxed) {
            return Ok(SourcePort::EphemeralUnprivileged);
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for step in 0..RESERVED_PORT_TRIES {
            let offset = start.wrapping_add(step) % RESERVED_PORT_WINDOW;
            let port = RESERVED_PORT_HIGH - offset;
            match bind(port) {
                Ok(()) => {
                    // The next connection starts below this one.
                    self.next.store(offset + 1, Ordering::Relaxed);
                    return Ok(SourcePort::Reserved(port));
                }
                Err(error) if error.kind() == io::ErrorKind::AddrInUse => continue,
                Err(error) if is_not_permitted(&error) => {
                    if !self.unprivileged.swap(true, Ordering::Relaxed) {
                        tracing::info!(
                            port,
                            %error,
                            "notifications leave from an ephemeral vsock port: binding a reserved \
                             port (below 1024) needs CAP_NET_BIND_SERVICE; a guest driver loaded \
                             with notif_privileged_port=1 refuses them"
                        );
                    }
                    return Ok(SourcePort::EphemeralUnprivileged);
                }
                Err(error) => return Err(error),
            }
        }
        tracing::warn!(
            tries = RESERVED_PORT_TRIES,
            from = RESERVED_PORT_HIGH - start % RESERVED_PORT_WINDOW,
            "every reserved vsock port tried is in use: this notification leaves from an \
             ephemeral port, which a guest driver loaded with notif_privileged_port=1 refuses"
        );
        Ok(SourcePort::EphemeralAllBusy)
    }
}

/// `EACCES` or `EPERM`: the caller lacks the right to bind the port.
fn is_not_permitted(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::PermissionDenied || matches!(error.raw_os_error(), Some(libc::EACCES | libc::EPERM))
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, SocketAddr, TcpListener};

    use socket2::{Domain, SockAddr, Socket, Type};

    use super::*;

    fn in_use() -> io::Error {
        io::Error::from_raw_os_error(libc::EADDRINUSE)
    }

    #[test]
    fn the_first_free_port_from_the_top_is_bound() {
        let ports = ReservedPorts::default();
        let mut tried = Vec::new();
        let bound = ports
            .bind(|port| {
                tried.push(port);
                if port > 1020 { Err(in_use()) } else { Ok(()) }
            })
            .unwrap();
        assert_eq!(bound, SourcePort::Reserved(1020));
        assert_eq!(tried, [1023, 1022, 1021, 1020]);
    }

    #[test]
    fn the_next_connection_starts_below_the_last_port_bound() {
        let ports = ReservedPorts::default();
        assert_eq!(ports.bind(|_| Ok(())).unwrap(), SourcePort::Reserved(1023));
        assert_eq!(ports.bind(|_| Ok(())).unwrap(), SourcePort::Reserved(1022));
        // The walk wraps around at the bottom of the window.
        let mut tried = Vec::new();
        for _ in 0..RESERVED_PORT_WINDOW {
            ports
                .bind(|port| {
                    tried.push(port);
                    Ok(())
                })
                .unwrap();
        }
        assert_eq!(tried.iter().min(), Some(&(RESERVED_PORT_HIGH - RESERVED_PORT_WINDOW + 1)));
        assert_eq!(tried.iter().filter(|&&p| p == 1021).count(), 1);
    }

    #[test]
    fn a_refused_bind_falls_back_to_an_ephemeral_port_and_is_not_tried_again() {
        let ports = ReservedPorts::default();
        let mut calls = 0;
        for denied in [libc::EACCES, libc::EPERM] {
            let ports = ReservedPorts::default();
            assert_eq!(
                ports.bind(|_| Err(io::Error::from_raw_os_error(denied))).unwrap(),
                SourcePort::EphemeralUnprivileged
            );
        }
        assert_eq!(
            ports
                .bind(|_| {
                    calls += 1;
                    Err(io::Error::from_raw_os_error(libc::EACCES))
                })
                .unwrap(),
            SourcePort::EphemeralUnprivileged
        );
        assert_eq!(ports.bind(|_| panic!("tried again after EACCES")).unwrap(), SourcePort::EphemeralUnprivileged);
        assert_eq!(calls, 1);
    }

    #[test]
    fn every_port_in_use_falls_back_after_a_bounded_number_of_tries() {
        let ports = ReservedPorts::default();
        let mut calls = 0;
        let bound = ports
            .bind(|_| {
                calls += 1;
                Err(in_use())
            })
            .unwrap();
        assert_eq!(bound, SourcePort::EphemeralAllBusy);
        assert_eq!(calls, RESERVED_PORT_TRIES);
        // Busy ports do not mark the service unprivileged.
        assert_eq!(ports.bind(|_| Ok(())).unwrap(), SourcePort::Reserved(1023 - 1));
    }

    #[test]
    fn another_error_is_returned() {
        let ports = ReservedPorts::default();
        let error = ports.bind(|_| Err(io::Error::from_raw_os_error(libc::EBADF))).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(libc::EBADF));
    }

    /// The same walk over real sockets (TCP on loopback; this machine's kernel has no
    /// vsock): a port held by a listener is passed over; without the right to bind below
    /// 1024 (not root) the socket stays unbound.
    #[test]
    fn real_sockets_walk_past_a_port_in_use_or_stay_ephemeral_without_the_right() {
        let ports = ReservedPorts::default();
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        let at = |port: u32| SockAddr::from(SocketAddr::from((Ipv4Addr::LOCALHOST, port as u16)));
        let first = ports.bind(|port| socket.bind(&at(port))).unwrap();
        let bound = socket.local_addr().unwrap().as_socket().map(|a| a.port());
        match first {
            SourcePort::Reserved(port) => {
                assert_eq!(bound, Some(port as u16));
                // Held (the socket listens): the next connection walks past it.
                socket.listen(1).unwrap();
                let _held = TcpListener::from(socket);
                let ports = ReservedPorts::default();
                let second = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
                let mut tried = Vec::new();
                let next = ports
                    .bind(|p| {
                        tried.push(p);
                        second.bind(&at(p))
                    })
                    .unwrap();
                assert!(tried.contains(&port), "{port} was not tried: {tried:?}");
                match next {
                    SourcePort::Reserved(other) => {
                        assert_ne!(other, port);
                        assert!(other < 1024);
                    }
                    other => panic!("no free reserved port after {tried:?}: {other:?}"),
                }
            }
            SourcePort::EphemeralUnprivileged => assert_eq!(bound, Some(0), "bound although not permitted"),
            SourcePort::EphemeralAllBusy => panic!("32 reserved TCP ports in use on loopback"),
        }
    }
}
