//! Sockets accepted without registering them with the runtime's reactor.
//!
//! The guest sends its request right after connecting, so it is usually there by the time
//! the connection is accepted (on TCP the kernel waits for it: [`accept_once_bytes_came`]).
//! Such a connection is read, answered and closed with plain non-blocking calls: no
//! `epoll_ctl` to register and remove it, no wait for the reactor to report it readable, no
//! task. Only a connection whose request is not all there yet
//! (or whose answer does not fit the socket buffer at once) is registered
//! ([`RawConnection::into_stream`]) and served asynchronously.

use std::io::{self, Read};

use socket2::{SockAddr, Socket};
use tokio::io::unix::AsyncFd;

use super::BoxedStream;
use crate::limits::REQUEST_TRAILING_BYTES_WATCHED;

/// What kind of socket a raw connection is, to register it as the right stream type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawKind {
    /// TCP.
    Tcp,
    /// Unix stream socket (hybrid vsock).
    Unix,
    /// AF_VSOCK.
    #[cfg(target_os = "linux")]
    Vsock,
}

/// A listening socket whose accepted connections stay unregistered.
pub(crate) struct RawListener {
    listener: AsyncFd<Socket>,
    kind: RawKind,
}

impl RawListener {
    /// Wraps a bound, listening socket (made non-blocking here).
    #[allow(unsafe_code)]
    pub(crate) fn new(listener: Socket, kind: RawKind) -> io::Result<Self> {
        listener.set_nonblocking(true)?;
        // SAFETY: the `AsyncFd` owns the socket, whose descriptor stays open and the same
        // until the `AsyncFd` drops it (nothing else can close or replace it).
        let listener = unsafe { AsyncFd::register(listener) }.map_err(io::Error::from)?;
        Ok(Self { listener, kind })
    }

    /// Waits for the next connection; it comes non-blocking and close-on-exec.
    pub(crate) async fn accept(&self) -> io::Result<(RawConnection, SockAddr)> {
        loop {
            let mut ready = self.listener.readable().await?;
            match ready.try_io(|listener| accept_nonblocking(listener.get_ref())) {
                Ok(accepted) => {
                    let (socket, peer) = accepted?;
                    return Ok((RawConnection { socket, kind: self.kind }, peer));
                }
                // Nothing left in the backlog: wait for the reactor again.
                Err(_would_block) => continue,
            }
        }
    }
}

/// `accept4(SOCK_NONBLOCK | SOCK_CLOEXEC)` where the platform has it (one call, no `ioctl`
/// after it).
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
fn accept_nonblocking(listener: &Socket) -> io::Result<(Socket, SockAddr)> {
    listener.accept4(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC)
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
fn accept_nonblocking(listener: &Socket) -> io::Result<(Socket, SockAddr)> {
    let (socket, peer) = listener.accept()?;
    socket.set_nonblocking(true)?;
    Ok((socket, peer))
}

/// An accepted, non-blocking connection not registered with the reactor.
pub(crate) struct RawConnection {
    socket: Socket,
    kind: RawKind,
}

impl std::fmt::Debug for RawConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawConnection").field("kind", &self.kind).finish_non_exhaustive()
    }
}

impl RawConnection {
    /// Reads what has arrived, without waiting: `Ok(0)` is the end of the stream,
    /// `WouldBlock` means nothing is there yet.
    pub(crate) fn read_now(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.socket).read(buf)
    }

    /// Writes what fits in the socket buffer now, without waiting (and without `SIGPIPE`
    /// when the guest is gone).
    pub(crate) fn write_now(&self, bytes: &[u8]) -> io::Result<usize> {
        self.socket.send_with_flags(bytes, libc::MSG_NOSIGNAL)
    }

    /// Whether the peer closed or reset the connection, without waiting. Bytes it sent
    /// meanwhile are read and ignored (counted in `ignored`); once
    /// [`REQUEST_TRAILING_BYTES_WATCHED`] were ignored the connection is taken as still there.
    pub(crate) fn peer_gone(&self, ignored: &mut usize) -> bool {
        let mut scratch = [0u8; 512];
        while *ignored < REQUEST_TRAILING_BYTES_WATCHED {
            match self.read_now(&mut scratch) {
                Ok(0) => return true,
                Ok(read) => *ignored += read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return error.kind() != io::ErrorKind::WouldBlock,
            }
        }
        false
    }

    /// Registers the connection with the reactor, as the stream type of its kind (a TCP
    /// one with `TCP_NODELAY`: what it writes goes at once).
    pub(crate) fn into_stream(self) -> io::Result<BoxedStream> {
        Ok(match self.kind {
            RawKind::Tcp => {
                let _ = self.socket.set_nodelay(true);
                Box::new(tokio::net::TcpStream::from_std(self.socket.into())?)
            }
            RawKind::Unix => Box::new(tokio::net::UnixStream::from_std(self.socket.into())?),
            #[cfg(target_os = "linux")]
            RawKind::Vsock => {
                let fd: std::os::fd::OwnedFd = self.socket.into();
                Box::new(tokio_vsock::VsockStream::new(vsock::VsockStream::from(fd))?)
            }
        })
    }
}

/// Connects `socket` (already bound where its caller wants it) to `peer` without blocking
/// the runtime: a non-blocking connect, then a wait until the reactor reports it writable,
/// then its `SO_ERROR`. Returns the connected socket, unregistered again.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub(crate) async fn connect_nonblocking(socket: Socket, peer: &SockAddr) -> io::Result<Socket> {
    socket.set_nonblocking(true)?;
    match socket.connect(peer) {
        Ok(()) => return Ok(socket),
        Err(error) if error.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(error) => return Err(error),
    }
    // SAFETY: the `AsyncFd` owns the socket, whose descriptor stays open and the same
    // until `into_inner` gives it back (nothing else can close or replace it meanwhile).
    let pending = unsafe { AsyncFd::register(socket) }.map_err(io::Error::from)?;
    loop {
        let mut ready = pending.writable().await?;
        match ready.try_io(|socket| socket.get_ref().take_error()) {
            Ok(Ok(None)) => return Ok(pending.into_inner()),
            Ok(Ok(Some(error)) | Err(error)) => return Err(error),
            Err(_would_block) => continue,
        }
    }
}

/// Has the kernel hand a TCP connection to `accept` only once its first bytes came
/// (`TCP_DEFER_ACCEPT`), holding a silent one for about `wait` before handing it over
/// anyway. A guest sends its request right after connecting, so its connection is accepted
/// with the request already there and takes the direct path.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[allow(unsafe_code)]
pub(crate) fn accept_once_bytes_came(listener: &Socket, wait: std::time::Duration) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let seconds = libc::c_int::try_from(wait.as_secs().max(1)).unwrap_or(libc::c_int::MAX);
    // SAFETY: `setsockopt` reads `size_of::<c_int>()` bytes from `seconds`, a live local
    // `c_int`, and acts on the descriptor `listener` owns and keeps open for the call.
    let set = unsafe {
        libc::setsockopt(
            listener.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            (&raw const seconds).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if set == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}
