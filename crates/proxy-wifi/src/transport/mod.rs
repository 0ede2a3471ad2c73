//! Transports: move whole messages between the guest and the service, knowing nothing
//! of their content.
//!
//! A transport is two small pieces: a [`RequestListener`] that accepts the guest's
//! request connections (and refuses peers that are not the configured guest), and a
//! [`NotificationConnector`] that opens a connection to the guest's notification
//! listener. The request channel loop ([`request_channel`]) and the notification sender
//! (`crate::notify`) are written once on top of them.

pub mod request_channel;
pub mod tcp;
#[cfg(target_os = "linux")]
pub mod vsock;

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncWrite};

/// Default request port (the guest connects to it).
pub const DEFAULT_REQUEST_PORT: u16 = 12345;
/// Default notification port (the guest listens on it).
pub const DEFAULT_NOTIFICATION_PORT: u16 = 12346;
/// `VMADDR_CID_HOST`: the CID a guest uses to reach its host.
pub const VMADDR_CID_HOST: u32 = 2;

/// A byte stream of either channel.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for T {}

/// A boxed [`Stream`].
pub type BoxedStream = Box<dyn Stream>;

/// The address of the peer of an accepted request connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PeerAddress {
    /// A TCP peer.
    Tcp(SocketAddr),
    /// A vsock peer.
    Vsock {
        /// The peer's context id.
        cid: u32,
        /// The peer's port.
        port: u32,
    },
    /// A Hyper-V socket peer.
    HyperV {
        /// The peer VM's id.
        vm_id: uuid::Uuid,
    },
}

impl fmt::Display for PeerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerAddress::Tcp(addr) => write!(f, "tcp:{addr}"),
            PeerAddress::Vsock { cid, port } => write!(f, "vsock:{cid}:{port}"),
            PeerAddress::HyperV { vm_id } => write!(f, "hyperv:{vm_id}"),
        }
    }
}

/// Accepts request connections from the guest.
#[async_trait]
pub trait RequestListener: Send + 'static {
    /// Waits for the next connection from the configured guest. Connections from other
    /// peers are closed and logged inside, never returned.
    async fn accept(&mut self) -> io::Result<(BoxedStream, PeerAddress)>;

    /// Where the listener is bound, for logs (e.g. `tcp:127.0.0.1:12345`).
    fn local_description(&self) -> String;

    /// The bound TCP address, for TCP listeners (useful with port 0).
    fn local_tcp_addr(&self) -> Option<SocketAddr> {
        None
    }
}

/// Opens connections to the guest's notification listener.
#[async_trait]
pub trait NotificationConnector: Send + Sync + 'static {
    /// Connects to the guest's notification listener.
    async fn connect(&self) -> io::Result<BoxedStream>;

    /// The guest's notification address, for logs.
    fn describe(&self) -> String;
}

/// Where and how the service meets its guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportSettings {
    /// TCP, for tests: listen for requests on `listen`; notifications go to `guest`.
    Tcp {
        /// Request listener address (IP + request port).
        listen: SocketAddr,
        /// The guest's notification listener (IP + notification port).
        guest: SocketAddr,
    },
    /// vsock (Linux hosts: QEMU/KVM vhost-vsock): accept only `guest_cid`.
    Vsock {
        /// The guest's context id.
        guest_cid: u32,
        /// Port the service listens on for requests.
        request_port: u32,
        /// Port of the guest's notification listener.
        notification_port: u32,
    },
    /// Hyper-V sockets (Windows hosts): accept only the VM `vm_id`.
    HyperV {
        /// The guest VM's id.
        vm_id: uuid::Uuid,
        /// Request service port (Data1 of the service id).
        request_port: u32,
        /// Notification service port.
        notification_port: u32,
    },
}

impl TransportSettings {
    /// TCP on 127.0.0.1 with the default ports: the zero-configuration test setup.
    pub fn tcp_loopback() -> Self {
        Self::tcp(IpAddr::V4(Ipv4Addr::LOCALHOST), DEFAULT_REQUEST_PORT, None, DEFAULT_NOTIFICATION_PORT)
    }

    /// TCP listening on `listen_ip:request_port`; notifications to
    /// `guest_ip:notification_port` (`guest_ip` defaults to `listen_ip`, or loopback
    /// when listening on an unspecified address).
    pub fn tcp(listen_ip: IpAddr, request_port: u16, guest_ip: Option<IpAddr>, notification_port: u16) -> Self {
        let guest_ip = guest_ip.unwrap_or(if listen_ip.is_unspecified() {
            match listen_ip {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            }
        } else {
            listen_ip
        });
        TransportSettings::Tcp {
            listen: SocketAddr::new(listen_ip, request_port),
            guest: SocketAddr::new(guest_ip, notification_port),
        }
    }

    /// vsock with the default ports for the guest `guest_cid`.
    pub fn vsock(guest_cid: u32) -> Self {
        TransportSettings::Vsock {
            guest_cid,
            request_port: DEFAULT_REQUEST_PORT.into(),
            notification_port: DEFAULT_NOTIFICATION_PORT.into(),
        }
    }

    /// Hyper-V sockets with the default ports for the VM `vm_id`.
    pub fn hyperv(vm_id: uuid::Uuid) -> Self {
        TransportSettings::HyperV {
            vm_id,
            request_port: DEFAULT_REQUEST_PORT.into(),
            notification_port: DEFAULT_NOTIFICATION_PORT.into(),
        }
    }
}

/// A bound transport: the request listener and the notification connector.
pub(crate) type BoundTransport = (Box<dyn RequestListener>, Arc<dyn NotificationConnector>);

/// Binds the request listener (must be called inside a tokio runtime).
pub(crate) async fn bind(settings: &TransportSettings) -> io::Result<BoundTransport> {
    match settings {
        TransportSettings::Tcp { listen, guest } => {
            let listener = tcp::TcpRequestListener::bind(*listen).await?;
            Ok((Box::new(listener), Arc::new(tcp::TcpNotificationConnector::new(*guest))))
        }
        #[cfg(target_os = "linux")]
        TransportSettings::Vsock { guest_cid, request_port, notification_port } => {
            let listener = vsock::VsockRequestListener::bind(*guest_cid, *request_port)?;
            Ok((Box::new(listener), Arc::new(vsock::VsockNotificationConnector::new(*guest_cid, *notification_port))))
        }
        #[cfg(not(target_os = "linux"))]
        TransportSettings::Vsock { .. } => {
            Err(io::Error::new(io::ErrorKind::Unsupported, "the vsock transport is available on Linux hosts only"))
        }
        TransportSettings::HyperV { .. } => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "the Hyper-V socket transport is available on Windows hosts only",
        )),
    }
}
