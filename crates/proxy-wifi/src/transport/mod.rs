//! Transports: move whole messages between the guest and the service, knowing nothing
//! of their content.
//!
//! A transport is two small pieces: a [`RequestListener`] that accepts the guest's
//! request connections (and refuses peers that are not the configured guest), and a
//! [`NotificationConnector`] that opens a connection to the guest's notification
//! listener. The request channel loop ([`request_channel`]) and the notification sender
//! ([`notification_sender`]) are written once on top of them.

pub(crate) mod admission;
#[cfg(unix)]
pub mod hybrid_vsock;
// Compiled on every platform (its address layout is tested everywhere); bound on Windows only.
pub(crate) mod connection_slots;
#[cfg(unix)]
mod direct;
#[cfg_attr(not(windows), allow(dead_code))]
pub mod hyperv;
#[cfg(unix)]
pub mod inherited;
pub mod notification_sender;
#[cfg(unix)]
pub(crate) mod raw;
pub mod request_channel;
#[cfg(target_os = "linux")]
pub(crate) mod reserved_port;
pub mod tcp;
#[cfg(target_os = "linux")]
pub mod vsock;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::guest_set::GuestSet;
pub use crate::identity::GuestId;
use crate::limits::{NOTIFICATION_CONNECT_TIMEOUT, NOTIFICATION_WRITE_TIMEOUT};
use admission::{GuestAdmission, GuestKind};
use proxy_wifi_protocol::{DEFAULT_NOTIFICATION_PORT, DEFAULT_REQUEST_PORT};

/// A byte stream of either channel.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for T {}

/// A boxed [`Stream`].
pub type BoxedStream = Box<dyn Stream>;

/// A request connection as its listener hands it over.
pub enum Accepted {
    /// Registered with the runtime's reactor (Windows, where sockets have no direct path).
    #[cfg(not(unix))]
    Stream(BoxedStream),
    /// Not registered (yet): the request channel reads and answers it directly when its
    /// request is already there ([`raw`]).
    #[cfg(unix)]
    Raw(raw::RawConnection),
}

/// Accepts request connections from the guests the transport serves.
#[async_trait]
pub trait RequestListener: Send + 'static {
    /// Waits for the next connection from an accepted guest and says which guest it is.
    /// Connections from other peers are closed and logged inside, never returned.
    async fn accept(&mut self) -> io::Result<(Accepted, GuestId)>;

    /// Where the listener is bound, for logs (e.g. `tcp:127.0.0.1:12345`).
    fn local_description(&self) -> String;

    /// The bound TCP address, for TCP listeners (useful with port 0).
    fn local_tcp_addr(&self) -> Option<SocketAddr> {
        None
    }
}

/// Opens connections to a guest's notification listener.
#[async_trait]
pub trait NotificationConnector: Send + Sync + 'static {
    /// Connects to the notification listener of `guest`.
    async fn connect(&self, guest: &GuestId) -> io::Result<BoxedStream>;

    /// Delivers one encoded notification to `guest`: connects, writes `bytes` whole right
    /// away (the guest drops a connection whose bytes are not there 10 ms after its
    /// accept), closes. Connect and write each have their deadline
    /// ([`NOTIFICATION_CONNECT_TIMEOUT`], [`NOTIFICATION_WRITE_TIMEOUT`]). A transport that
    /// can write the moment its connect returns, without waiting for the reactor to report
    /// the connection, overrides this.
    async fn deliver(&self, guest: &GuestId, bytes: &[u8]) -> io::Result<()> {
        let mut stream = tokio::time::timeout(NOTIFICATION_CONNECT_TIMEOUT, self.connect(guest))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
        tokio::time::timeout(NOTIFICATION_WRITE_TIMEOUT, async {
            stream.write_all(bytes).await?;
            stream.shutdown().await
        })
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "write timed out"))?
    }

    /// Where notifications for `guest` go, for logs.
    fn describe(&self, guest: &GuestId) -> String;
}

/// Where and how the service meets its guests.
///
/// The `…Multi`/`…Any` variants serve many VMs from one service: each accepted
/// connection is keyed by the guest's identity ([`GuestId`]), and each guest gets its own
/// session, connection state and notification queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportSettings {
    /// TCP, one guest (tests): listen for requests on `listen`; notifications go to `guest`.
    Tcp {
        /// Request listener address (IP + request port).
        listen: SocketAddr,
        /// The guest's notification listener (IP + notification port).
        guest: SocketAddr,
    },
    /// TCP, many guests keyed by source IP: notifications go to that IP at `notification_port`.
    TcpMulti {
        /// Request listener address (IP + request port).
        listen: SocketAddr,
        /// Port of every guest's notification listener.
        notification_port: u16,
    },
    /// TCP, the guests listed by source IP (a list that can change while the service
    /// runs: [`crate::ServiceHandle::add_guest`]); notifications go to that IP at
    /// `notification_port`. Other peers are refused.
    TcpListed {
        /// Request listener address (IP + request port).
        listen: SocketAddr,
        /// The guests' source addresses, possibly none yet.
        guest_ips: Vec<IpAddr>,
        /// Port of every guest's notification listener.
        notification_port: u16,
    },
    /// vsock (Linux hosts: QEMU/KVM vhost-vsock), one guest: accept only `guest_cid`.
    Vsock {
        /// The guest's context id.
        guest_cid: u32,
        /// Port the service listens on for requests.
        request_port: u32,
        /// Port of the guest's notification listener.
        notification_port: u32,
    },
    /// vsock, many guests: accept the CIDs listed, and with `any_guest` every VM's CID
    /// (3 and up; the hypervisor, loopback and host CIDs 0-2 only when listed).
    VsockMulti {
        /// Accepted context ids.
        guest_cids: Vec<u32>,
        /// Also accept every VM (CID 3 and up).
        any_guest: bool,
        /// Port the service listens on for requests.
        request_port: u32,
        /// Port of the guests' notification listeners.
        notification_port: u32,
    },
    /// Hybrid vsock over Unix sockets (Firecracker, cloud-hypervisor): one guest per VMM
    /// socket path. Requests arrive on the Unix listener `<path>_<request_port>` that the
    /// service creates; notifications connect to `<path>` and ask for
    /// `CONNECT <notification_port>`.
    HybridVsock {
        /// The VMMs' vsock Unix socket paths (Firecracker `uds_path`, cloud-hypervisor `socket=`).
        sockets: Vec<std::path::PathBuf>,
        /// Guest port of the request channel.
        request_port: u32,
        /// Guest port of the notification listener.
        notification_port: u32,
        /// A group whose members may also connect to the request listeners (the VMM's
        /// group): the sockets get mode 0660 and this group. `None`: mode 0600, this user only.
        socket_group: Option<u32>,
    },
    /// Hyper-V sockets (Windows hosts), one guest: accept only the VM `vm_id`.
    HyperV {
        /// The guest VM's id.
        vm_id: uuid::Uuid,
        /// Request service port (Data1 of the service id).
        request_port: u32,
        /// Notification service port.
        notification_port: u32,
    },
    /// Hyper-V sockets, any VM (wildcard VM id; the peer's VM id comes from the accepted address).
    HyperVAny {
        /// Request service port (Data1 of the service id).
        request_port: u32,
        /// Notification service port.
        notification_port: u32,
    },
}

/// For messages: the transport and its addresses, e.g. `vsock, guest CID 3, ports 12345/12346`.
impl std::fmt::Display for TransportSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransportSettings::Tcp { listen, guest } => write!(f, "tcp, listening on {listen}, guest at {guest}"),
            TransportSettings::TcpMulti { listen, notification_port } => {
                write!(f, "tcp, listening on {listen}, guests at their own address, port {notification_port}")
            }
            TransportSettings::TcpListed { listen, guest_ips, notification_port } => {
                let ips: Vec<String> = guest_ips.iter().map(IpAddr::to_string).collect();
                let guests =
                    if ips.is_empty() { "no guest yet".to_string() } else { format!("guests {}", ips.join(", ")) };
                write!(f, "tcp, listening on {listen}, {guests}, port {notification_port}")
            }
            TransportSettings::Vsock { guest_cid, request_port, notification_port } => {
                write!(f, "vsock, guest CID {guest_cid}, ports {request_port}/{notification_port}")
            }
            TransportSettings::VsockMulti { guest_cids, any_guest, request_port, notification_port } => {
                let cids: Vec<String> = guest_cids.iter().map(u32::to_string).collect();
                let guests = match (any_guest, cids.is_empty()) {
                    (true, true) => "any guest CID".to_string(),
                    (true, false) => format!("any guest CID and CIDs {}", cids.join(", ")),
                    (false, _) => format!("guest CIDs {}", cids.join(", ")),
                };
                write!(f, "vsock, {guests}, ports {request_port}/{notification_port}")
            }
            TransportSettings::HybridVsock { sockets, request_port, notification_port, socket_group } => {
                let paths: Vec<String> = sockets.iter().map(|p| p.display().to_string()).collect();
                write!(f, "hybrid vsock, VMM sockets {}, ports {request_port}/{notification_port}", paths.join(", "))?;
                match socket_group {
                    Some(gid) => write!(f, ", listeners 0660 for group {gid}"),
                    None => Ok(()),
                }
            }
            TransportSettings::HyperV { vm_id, request_port, notification_port } => {
                write!(f, "Hyper-V sockets, VM {vm_id}, ports {request_port}/{notification_port}")
            }
            TransportSettings::HyperVAny { request_port, notification_port } => {
                write!(f, "Hyper-V sockets, any VM, ports {request_port}/{notification_port}")
            }
        }
    }
}

impl TransportSettings {
    /// The transport's kind: `tcp`, `vsock`, `hybrid-vsock` or `hyperv`.
    pub fn kind(&self) -> &'static str {
        match self {
            TransportSettings::Tcp { .. }
            | TransportSettings::TcpMulti { .. }
            | TransportSettings::TcpListed { .. } => "tcp",
            TransportSettings::Vsock { .. } | TransportSettings::VsockMulti { .. } => "vsock",
            TransportSettings::HybridVsock { .. } => "hybrid-vsock",
            TransportSettings::HyperV { .. } | TransportSettings::HyperVAny { .. } => "hyperv",
        }
    }

    /// Where notifications go, for operators (`tcp:127.0.0.1:12346`, `vsock:<guest CID>:12346`).
    pub fn notification_destination(&self) -> String {
        match self {
            TransportSettings::Tcp { guest, .. } => format!("tcp:{guest}"),
            TransportSettings::TcpMulti { notification_port, .. }
            | TransportSettings::TcpListed { notification_port, .. } => {
                format!("tcp:<guest address>:{notification_port}")
            }
            TransportSettings::Vsock { guest_cid, notification_port, .. } => {
                format!("vsock:{guest_cid}:{notification_port}")
            }
            TransportSettings::VsockMulti { notification_port, .. } => format!("vsock:<guest CID>:{notification_port}"),
            TransportSettings::HybridVsock { notification_port, .. } => {
                format!("hybrid-vsock:<VMM socket> CONNECT {notification_port}")
            }
            TransportSettings::HyperV { vm_id, notification_port, .. } => format!("hyperv:{vm_id}:{notification_port}"),
            TransportSettings::HyperVAny { notification_port, .. } => format!("hyperv:<VM id>:{notification_port}"),
        }
    }

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

/// A bound transport: the request listener, the notification connector, and what
/// changes its accepted guests.
pub(crate) type BoundTransport =
    (Box<dyn RequestListener>, Arc<dyn NotificationConnector>, Arc<dyn admission::GuestAdmission>);

/// How to start a service whose guests can change, for refusals.
const CHANGEABLE_HINT: &str =
    "to add and remove guests while it runs, start it with a guest list (proxy-wifi serve --dynamic-guests)";

fn fixed(kind: GuestKind, listed: Vec<GuestId>, any_guest: bool, what: &'static str) -> Arc<dyn GuestAdmission> {
    Arc::new(admission::FixedGuests { kind, listed, any_guest, what, hint: CHANGEABLE_HINT })
}

fn listed(kind: GuestKind, set: GuestSet, any_guest: bool) -> Arc<dyn GuestAdmission> {
    Arc::new(admission::ListedGuests { kind, set, any_guest })
}

fn unsupported(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, format!("the {what} transport is not available on this platform"))
}

/// Pending connections the kernel keeps for a request listener.
pub(crate) const LISTEN_BACKLOG: i32 = 1024;

/// How [`bind`] gets its request listener, besides the settings.
#[derive(Debug, Default)]
pub(crate) struct BindOptions {
    /// Hybrid vsock: VMM directories this user does not own are accepted.
    pub(crate) allow_foreign_socket_dirs: bool,
    /// A listener handed over (socket activation), adopted instead of binding.
    #[cfg(unix)]
    pub(crate) inherited: Option<inherited::InheritedListener>,
}

/// A TCP request listener on `listen`: the inherited one when given, else a new one.
async fn tcp_listener(
    options: &mut BindOptions,
    listen: SocketAddr,
    guests: tcp::TcpGuests,
) -> io::Result<tcp::TcpRequestListener> {
    #[cfg(unix)]
    if let Some(inherited) = options.inherited.take() {
        return tcp::TcpRequestListener::adopt(inherited, listen, guests);
    }
    let _ = options;
    tcp::TcpRequestListener::bind(listen, guests).await
}

/// A vsock request listener on `port`: the inherited one when given, else a new one.
#[cfg(target_os = "linux")]
fn vsock_listener(
    options: &mut BindOptions,
    filter: vsock::CidFilter,
    port: u32,
) -> io::Result<vsock::VsockRequestListener> {
    match options.inherited.take() {
        Some(inherited) => vsock::VsockRequestListener::adopt(inherited, filter, port),
        None => vsock::VsockRequestListener::bind(filter, port),
    }
}

/// Refuses a listener handed over to a transport that binds its own.
fn refuse_inherited(options: &BindOptions, transport: &str) -> io::Result<()> {
    #[cfg(unix)]
    if let Some(inherited) = &options.inherited {
        return Err(inherited.unsupported(transport));
    }
    let _ = (options, transport);
    Ok(())
}

/// Binds the request listener, or adopts the one handed over (must be called inside a
/// tokio runtime).
pub(crate) async fn bind(settings: &TransportSettings, mut options: BindOptions) -> io::Result<BoundTransport> {
    let allow_foreign_socket_dirs = options.allow_foreign_socket_dirs;
    match settings {
        TransportSettings::Tcp { listen, guest } => {
            let listener = tcp_listener(&mut options, *listen, tcp::TcpGuests::One(guest.ip())).await?;
            let guests = fixed(GuestKind::Tcp, vec![GuestId::Tcp(guest.ip())], false, "one guest");
            Ok((Box::new(listener), Arc::new(tcp::TcpNotificationConnector::fixed(*guest)), guests))
        }
        TransportSettings::TcpMulti { listen, notification_port } => {
            let listener = tcp_listener(&mut options, *listen, tcp::TcpGuests::BySourceIp).await?;
            let guests = fixed(GuestKind::Tcp, Vec::new(), true, "every guest that connects");
            Ok((Box::new(listener), Arc::new(tcp::TcpNotificationConnector::by_guest_ip(*notification_port)), guests))
        }
        TransportSettings::TcpListed { listen, guest_ips, notification_port } => {
            let set = GuestSet::new(guest_ips.iter().map(|ip| GuestId::Tcp(*ip)));
            let listener = tcp_listener(&mut options, *listen, tcp::TcpGuests::Listed(set.clone())).await?;
            let connector = Arc::new(tcp::TcpNotificationConnector::by_guest_ip(*notification_port));
            Ok((Box::new(listener), connector, listed(GuestKind::Tcp, set, false)))
        }
        #[cfg(target_os = "linux")]
        TransportSettings::Vsock { guest_cid, request_port, notification_port } => {
            let filter = vsock::CidFilter::listed(vec![*guest_cid]);
            let guests = listed(GuestKind::Vsock, filter.guests(), false);
            let listener = vsock_listener(&mut options, filter, *request_port)?;
            Ok((Box::new(listener), Arc::new(vsock::VsockNotificationConnector::new(*notification_port)), guests))
        }
        #[cfg(target_os = "linux")]
        TransportSettings::VsockMulti { guest_cids, any_guest, request_port, notification_port } => {
            let filter = if *any_guest {
                vsock::CidFilter::any_guest(guest_cids.clone())
            } else {
                vsock::CidFilter::listed(guest_cids.clone())
            };
            let guests = listed(GuestKind::Vsock, filter.guests(), filter.serves_any_guest());
            let listener = vsock_listener(&mut options, filter, *request_port)?;
            Ok((Box::new(listener), Arc::new(vsock::VsockNotificationConnector::new(*notification_port)), guests))
        }
        #[cfg(not(target_os = "linux"))]
        TransportSettings::Vsock { .. } | TransportSettings::VsockMulti { .. } => Err(unsupported("vsock")),
        #[cfg(unix)]
        TransportSettings::HybridVsock { sockets, request_port, notification_port, socket_group } => {
            refuse_inherited(&options, "hybrid vsock")?;
            let listener = hybrid_vsock::HybridVsockListener::bind(
                sockets,
                *request_port,
                *socket_group,
                allow_foreign_socket_dirs,
            )
            .await?;
            let guests = Arc::new(admission::HybridVsockGuests(listener.sockets()));
            Ok((Box::new(listener), Arc::new(hybrid_vsock::HybridVsockConnector::new(*notification_port)), guests))
        }
        #[cfg(not(unix))]
        TransportSettings::HybridVsock { .. } => {
            let _ = allow_foreign_socket_dirs;
            Err(unsupported("hybrid vsock"))
        }
        #[cfg(windows)]
        TransportSettings::HyperV { vm_id, request_port, notification_port } => {
            refuse_inherited(&options, "Hyper-V socket")?;
            let listener = hyperv::HyperVRequestListener::bind(hyperv::VmFilter::One(*vm_id), *request_port)?;
            let guests = fixed(GuestKind::HyperV, vec![GuestId::HyperV(*vm_id)], false, "one VM");
            Ok((Box::new(listener), Arc::new(hyperv::HyperVNotificationConnector::new(*notification_port)), guests))
        }
        #[cfg(windows)]
        TransportSettings::HyperVAny { request_port, notification_port } => {
            refuse_inherited(&options, "Hyper-V socket")?;
            let listener = hyperv::HyperVRequestListener::bind(hyperv::VmFilter::Any, *request_port)?;
            let guests = fixed(GuestKind::HyperV, Vec::new(), true, "every VM");
            Ok((Box::new(listener), Arc::new(hyperv::HyperVNotificationConnector::new(*notification_port)), guests))
        }
        #[cfg(not(windows))]
        TransportSettings::HyperV { .. } | TransportSettings::HyperVAny { .. } => Err(unsupported("Hyper-V socket")),
    }
}
