//! Hyper-V socket transport (Windows hosts).
//!
//! A Hyper-V socket address is `SOCKADDR_HV { Family = AF_HYPERV (34), Reserved, VmId,
//! ServiceId }`; the Linux guest's vsock ports map to service ids made from the vsock
//! template GUID `00000000-facb-11e6-bd58-64006a7986d3` with its first field (`Data1`)
//! replaced by the port. The service listens on (VM id, request service id) and connects to
//! (VM id, notification service id); `HVSOCKET_CONNECTED_SUSPEND` is set on its sockets so
//! that connections survive a suspend of the VM.
//!
//! The address arithmetic below is plain Rust, tested everywhere; only the socket calls
//! (module `sys`) are Windows code.
//!
//! # Async strategy (Windows)
//!
//! Hyper-V sockets are not registered with tokio's reactor: tokio's Windows I/O driver
//! polls sockets through the AFD driver and only offers TCP/UDP types, and whether an
//! `AF_HYPERV` socket behaves under AFD polling is not documented. Instead every socket
//! stays **blocking** and lives on dedicated threads, bridged to tokio:
//!
//! * the listener's thread waits for connections with `WSAPoll` (250 ms slices, so that it
//!   notices the listener being dropped), accepts, checks the peer's VM id and hands the
//!   socket over a channel;
//! * notifications connect on a blocking-pool thread (`spawn_blocking`, with a connect
//!   timeout);
//! * each connected socket is exposed as one end of an in-memory [`tokio::io::duplex`]
//!   pipe; two threads copy bytes between the socket and the pipe's other end (the reader
//!   also waits with `WSAPoll` slices). When the service drops its end, the socket's
//!   sending side is shut down and both threads end; when the guest closes, the service
//!   reads end-of-file.
//!
//! Both channels carry one short message each way per connection and the guest sends one
//! request at a time, so a few threads per connection cost nothing that matters, and no
//! `unsafe` code touches tokio's internals.

use std::io;

use uuid::Uuid;

use windows_sys::Win32::System::Hypervisor as hv;
use windows_sys::core::GUID;

pub use windows_sys::Win32::Networking::WinSock::AF_HYPERV;
/// `HV_PROTOCOL_RAW`, also the socket-option level of Hyper-V options.
pub const HV_PROTOCOL_RAW: i32 = hv::HV_PROTOCOL_RAW as i32;
/// `HVSOCKET_CONNECTED_SUSPEND` (option of level [`HV_PROTOCOL_RAW`]; value 1 enables it).
pub const HVSOCKET_CONNECTED_SUSPEND: i32 = hv::HVSOCKET_CONNECTED_SUSPEND as i32;
/// The value that enables [`HVSOCKET_CONNECTED_SUSPEND`] (a `ULONG`).
pub const CONNECTED_SUSPEND_ENABLED: u32 = 1;
/// `sizeof(SOCKADDR_HV)`.
pub const SOCKADDR_HV_LEN: usize = size_of::<hv::SOCKADDR_HV>();
/// `HV_GUID_VSOCK_TEMPLATE`: service ids of vsock ports are this GUID with `Data1` = port.
pub const VSOCK_TEMPLATE: Uuid = uuid_of(hv::HV_GUID_VSOCK_TEMPLATE);
/// `HV_GUID_WILDCARD` (`HV_GUID_ZERO`): a listener bound to it accepts every partition.
pub const HV_GUID_WILDCARD: Uuid = uuid_of(hv::HV_GUID_ZERO);
/// `HV_GUID_BROADCAST` (all ones).
pub const HV_GUID_BROADCAST: Uuid = uuid_of(hv::HV_GUID_BROADCAST);
/// `HV_GUID_CHILDREN`: the address that names every child partition.
pub const HV_GUID_CHILDREN: Uuid = uuid_of(hv::HV_GUID_CHILDREN);
/// `HV_GUID_LOOPBACK`: a process of this partition talking to itself.
pub const HV_GUID_LOOPBACK: Uuid = uuid_of(hv::HV_GUID_LOOPBACK);
/// `HV_GUID_PARENT`: the parent partition (the host, seen from a nested VM).
pub const HV_GUID_PARENT: Uuid = uuid_of(hv::HV_GUID_PARENT);
/// `HV_GUID_SILOHOST`: the host of a container silo.
pub const HV_GUID_SILOHOST: Uuid = uuid_of(hv::HV_GUID_SILOHOST);

/// The SDK's `GUID` as a [`Uuid`].
const fn uuid_of(guid: GUID) -> Uuid {
    Uuid::from_fields(guid.data1, guid.data2, guid.data3, &guid.data4)
}

/// Whether `vm` is one of the well-known addresses that are never a guest VM (wildcard,
/// broadcast, children, loopback, parent, silo host): a connection from one of them comes
/// from this machine or its parent, so it is served only when named with `--vm-id`.
pub fn is_reserved_vm_id(vm: Uuid) -> bool {
    [HV_GUID_WILDCARD, HV_GUID_BROADCAST, HV_GUID_CHILDREN, HV_GUID_LOOPBACK, HV_GUID_PARENT, HV_GUID_SILOHOST]
        .contains(&vm)
}

/// The service id of a vsock `port`: the template with `Data1` = `port`.
pub fn service_id(port: u32) -> Uuid {
    let (_, data2, data3, data4) = VSOCK_TEMPLATE.as_fields();
    Uuid::from_fields(port, data2, data3, data4)
}

/// The vsock port of a service id made from the template, if it is one.
pub fn port_of(service: Uuid) -> Option<u32> {
    let (port, data2, data3, data4) = service.as_fields();
    (service_id(port) == Uuid::from_fields(port, data2, data3, data4)).then_some(port)
}

/// A GUID as Windows stores it: `Data1`, `Data2`, `Data3` little-endian, then `Data4`.
pub fn guid_to_bytes(guid: Uuid) -> [u8; 16] {
    guid.to_bytes_le()
}

/// The GUID stored in `bytes` (Windows layout).
pub fn guid_from_bytes(bytes: [u8; 16]) -> Uuid {
    Uuid::from_bytes_le(bytes)
}

/// A `SOCKADDR_HV`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SockaddrHv {
    /// `AF_HYPERV`.
    pub family: u16,
    /// Zero.
    pub reserved: u16,
    /// The partition: a VM id, or [`HV_GUID_WILDCARD`] to listen for every VM.
    pub vm_id: Uuid,
    /// The service.
    pub service_id: Uuid,
}

impl SockaddrHv {
    /// The address of `service_id` in `vm_id`.
    pub fn new(vm_id: Uuid, service_id: Uuid) -> Self {
        Self { family: AF_HYPERV, reserved: 0, vm_id, service_id }
    }

    /// The address of the vsock `port` of `vm_id`.
    pub fn vsock_port(vm_id: Uuid, port: u32) -> Self {
        Self::new(vm_id, service_id(port))
    }

    /// The address as the 36 bytes of a `SOCKADDR_HV`.
    pub fn to_bytes(self) -> [u8; SOCKADDR_HV_LEN] {
        let mut out = [0u8; SOCKADDR_HV_LEN];
        out[0..2].copy_from_slice(&self.family.to_le_bytes());
        out[2..4].copy_from_slice(&self.reserved.to_le_bytes());
        out[4..20].copy_from_slice(&guid_to_bytes(self.vm_id));
        out[20..36].copy_from_slice(&guid_to_bytes(self.service_id));
        out
    }

    /// Reads a `SOCKADDR_HV` (e.g. the peer address of an accepted connection); `None` if
    /// `bytes` is too short or not of the `AF_HYPERV` family.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let bytes: &[u8; SOCKADDR_HV_LEN] = bytes.get(..SOCKADDR_HV_LEN)?.try_into().ok()?;
        let family = u16::from_le_bytes([bytes[0], bytes[1]]);
        if family != AF_HYPERV {
            return None;
        }
        let guid = |at: usize| guid_from_bytes(bytes[at..at + 16].try_into().expect("16 bytes"));
        Some(Self { family, reserved: u16::from_le_bytes([bytes[2], bytes[3]]), vm_id: guid(4), service_id: guid(20) })
    }
}

/// Which VMs a Hyper-V listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmFilter {
    /// One VM: the listener is bound to its id.
    One(Uuid),
    /// Every VM: the listener is bound to the wildcard id; the well-known non-VM ids
    /// ([`is_reserved_vm_id`]: loopback, parent, …) are refused.
    Any,
}

impl VmFilter {
    /// The VM id to bind the listener to.
    pub fn bind_vm_id(&self) -> Uuid {
        match self {
            VmFilter::One(vm) => *vm,
            VmFilter::Any => HV_GUID_WILDCARD,
        }
    }

    /// Whether a connection from the VM `peer` may be served.
    pub fn accepts(&self, peer: Uuid) -> bool {
        match self {
            VmFilter::One(vm) => *vm == peer,
            VmFilter::Any => !is_reserved_vm_id(peer),
        }
    }
}

/// Where Hyper-V keeps the registrations of host services guests may reach (under
/// `HKEY_LOCAL_MACHINE`): one key per service id, named `{GUID}`, with an `ElementName`.
pub const GUEST_COMMUNICATION_SERVICES: &str =
    r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\Virtualization\GuestCommunicationServices";

/// Winsock error codes the Hyper-V socket calls meet, as the SDK declares them.
pub mod wsa {
    pub use windows_sys::Win32::Networking::WinSock::{
        WSAEACCES, WSAEADDRINUSE, WSAEADDRNOTAVAIL, WSAEAFNOSUPPORT, WSAECONNREFUSED, WSAEHOSTUNREACH, WSAENETUNREACH,
        WSAEPROTONOSUPPORT, WSAESOCKTNOSUPPORT, WSAETIMEDOUT,
    };
}

/// The Hyper-V socket call that failed, for [`explain`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HvCall {
    /// Creating an `AF_HYPERV` socket.
    Socket,
    /// Binding the request listener to this address.
    Listen(SockaddrHv),
    /// Connecting to a guest's notification listener at this address.
    Connect(SockaddrHv),
}

/// `error` of `call`, reworded to say what the machine lacks (Hyper-V, the service id's
/// registration, rights, the VM); the OS error stays at the end, and its kind is kept.
pub fn explain(call: HvCall, error: &io::Error) -> io::Error {
    use wsa::*;
    let register = |service: Uuid| {
        format!(
            "register the service id once (README, \"Windows host, Hyper-V\"): HKLM\\{GUEST_COMMUNICATION_SERVICES}\\{service}"
        )
    };
    let text = match (call, error.raw_os_error()) {
        (HvCall::Socket, Some(WSAEAFNOSUPPORT | WSAEPROTONOSUPPORT | WSAESOCKTNOSUPPORT)) => format!(
            "Hyper-V sockets (AF_HYPERV) are not available on this machine: they need Windows 10 or Windows \
             Server 2016 or later with Hyper-V enabled (elevated PowerShell: Enable-WindowsOptionalFeature \
             -Online -FeatureName Microsoft-Hyper-V -All, then restart); Wine has none ({error})"
        ),
        (HvCall::Socket, _) => format!("cannot create a Hyper-V socket: {error}"),
        (HvCall::Listen(at), Some(WSAEACCES)) => format!(
            "no right to listen on Hyper-V service {} of VM {}: run proxy-wifi as an administrator (elevated \
             prompt, or a service account in the Administrators group), and {} ({error})",
            at.service_id,
            at.vm_id,
            register(at.service_id)
        ),
        (HvCall::Listen(at), Some(WSAEADDRNOTAVAIL)) => {
            format!("no VM with id {} on this host (PowerShell: Get-VM | Select-Object Name, Id) ({error})", at.vm_id)
        }
        (HvCall::Listen(at), Some(WSAEADDRINUSE)) => format!(
            "another process already listens on Hyper-V service {} of VM {} (another proxy-wifi?) ({error})",
            at.service_id, at.vm_id
        ),
        (HvCall::Listen(at), _) => format!(
            "cannot listen on Hyper-V service {} of VM {}: {error}; check that Hyper-V is enabled, that the VM \
             exists, that proxy-wifi runs as an administrator, and {}",
            at.service_id,
            at.vm_id,
            register(at.service_id)
        ),
        (HvCall::Connect(at), Some(WSAECONNREFUSED | WSAETIMEDOUT)) => format!(
            "VM {} does not accept on service {} (port {}): is the guest's proxy_wifi driver loaded, and is the \
             service id registered? {} ({error})",
            at.vm_id,
            at.service_id,
            port_of(at.service_id).unwrap_or_default(),
            register(at.service_id)
        ),
        (HvCall::Connect(at), Some(WSAENETUNREACH | WSAEHOSTUNREACH | WSAEADDRNOTAVAIL)) => {
            format!("VM {} cannot be reached: is it running? ({error})", at.vm_id)
        }
        (HvCall::Connect(at), _) => {
            format!("cannot connect to service {} of VM {}: {error}", at.service_id, at.vm_id)
        }
    };
    io::Error::new(error.kind(), text)
}

/// What the operator is told when the request service id is not registered.
pub fn unregistered_warning(service: Uuid) -> String {
    format!(
        "Hyper-V service id {service} is not registered under HKLM\\{GUEST_COMMUNICATION_SERVICES}: guests cannot \
         connect to it until it is (README, \"Windows host, Hyper-V\")"
    )
}

#[cfg(windows)]
pub use sys::{HyperVNotificationConnector, HyperVRequestListener};

#[cfg(windows)]
mod sys {
    #![allow(unsafe_code)]

    use std::io::{self, Read, Write};
    use std::net::Shutdown;
    use std::os::windows::io::AsRawSocket;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::thread;
    use std::time::Duration;

    use async_trait::async_trait;
    use socket2::{Domain, Protocol, SockAddr, Socket, Type};
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
    use tokio::sync::mpsc;
    use uuid::Uuid;
    use windows_sys::Win32::Foundation::{ERROR_FILE_NOT_FOUND, ERROR_SUCCESS};
    use windows_sys::Win32::Networking::WinSock::{
        POLLERR, POLLHUP, POLLNVAL, POLLRDNORM, SOCKET, SOCKET_ERROR, WSAPOLLFD, WSAPoll, setsockopt,
    };
    use windows_sys::Win32::System::Registry::{HKEY, HKEY_LOCAL_MACHINE, KEY_READ, RegCloseKey, RegOpenKeyExW};

    use super::{
        AF_HYPERV, CONNECTED_SUSPEND_ENABLED, HV_PROTOCOL_RAW, HVSOCKET_CONNECTED_SUSPEND, HvCall, SockaddrHv,
        VmFilter, explain, service_id,
    };
    use crate::transport::{Accepted, BoxedStream, GuestId, NotificationConnector, RequestListener};

    /// How long a blocked thread waits before checking whether it should stop.
    const POLL_SLICE: Duration = Duration::from_millis(250);
    /// Connect timeout of notification connections (the service also bounds it).
    const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
    /// `sizeof(SOCKADDR_STORAGE)`.
    const SOCKADDR_STORAGE_LEN: usize = size_of::<windows_sys::Win32::Networking::WinSock::SOCKADDR_STORAGE>();
    /// Buffer of each copying thread and of the in-memory pipe.
    const BUFFER: usize = 16 * 1024;

    fn new_socket() -> io::Result<Socket> {
        Socket::new(Domain::from(i32::from(AF_HYPERV)), Type::STREAM, Some(Protocol::from(HV_PROTOCOL_RAW)))
            .map_err(|e| explain(HvCall::Socket, &e))
    }

    fn raw(socket: &Socket) -> SOCKET {
        socket.as_raw_socket() as SOCKET
    }

    /// Sets `HVSOCKET_CONNECTED_SUSPEND` = 1: the connection survives a VM suspend.
    fn set_connected_suspend(socket: &Socket) -> io::Result<()> {
        let value = CONNECTED_SUSPEND_ENABLED.to_le_bytes();
        // SAFETY: a valid socket; the option value is a ULONG of 4 bytes alive for the call.
        let result = unsafe {
            setsockopt(raw(socket), HV_PROTOCOL_RAW, HVSOCKET_CONNECTED_SUSPEND, value.as_ptr(), value.len() as i32)
        };
        if result == SOCKET_ERROR { Err(io::Error::last_os_error()) } else { Ok(()) }
    }

    /// The socket address of `address`.
    fn sock_addr(address: &SockaddrHv) -> io::Result<SockAddr> {
        let bytes = address.to_bytes();
        // SAFETY: `try_init` hands zeroed storage of `sockaddr_storage` size (128 bytes),
        // which receives the 36 bytes of a complete `SOCKADDR_HV`; the length is set to them.
        let ((), address) = unsafe {
            SockAddr::try_init(|storage, len| {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), storage.cast::<u8>(), bytes.len());
                *len = bytes.len() as _;
                Ok(())
            })
        }?;
        Ok(address)
    }

    /// The `SOCKADDR_HV` of an accepted peer.
    fn peer_of(address: &SockAddr) -> Option<SockaddrHv> {
        let len = (address.len() as usize).min(SOCKADDR_STORAGE_LEN);
        // SAFETY: `as_ptr` points to the address storage (a `SOCKADDR_STORAGE`, zeroed then
        // filled by `accept`), of which the first `len` bytes lie within the storage.
        let bytes = unsafe { std::slice::from_raw_parts(address.as_ptr().cast::<u8>(), len) };
        SockaddrHv::from_bytes(bytes)
    }

    /// The registry path of `service`'s registration, NUL-terminated UTF-16.
    fn registration_key(service: Uuid) -> Vec<u16> {
        format!("{}\\{service}", super::GUEST_COMMUNICATION_SERVICES).encode_utf16().chain(std::iter::once(0)).collect()
    }

    /// Whether `service` is registered under `GuestCommunicationServices` (a Hyper-V host
    /// lets guests reach only registered service ids).
    pub(super) fn registered(service: Uuid) -> io::Result<bool> {
        let path = registration_key(service);
        let mut key: HKEY = std::ptr::null_mut();
        // SAFETY: `path` is NUL-terminated and alive for the call; `key` is an out-pointer
        // to a local; the predefined HKEY_LOCAL_MACHINE needs no closing.
        let status = unsafe { RegOpenKeyExW(HKEY_LOCAL_MACHINE, path.as_ptr(), 0, KEY_READ, &mut key) };
        match status {
            ERROR_SUCCESS => {
                // SAFETY: `key` was opened above and is closed once.
                unsafe { RegCloseKey(key) };
                Ok(true)
            }
            ERROR_FILE_NOT_FOUND => Ok(false),
            code => Err(io::Error::from_raw_os_error(code as i32)),
        }
    }

    /// Waits up to `timeout` for `socket` to be readable (or to have failed).
    fn wait_readable(socket: &Socket, timeout: Duration) -> io::Result<bool> {
        let mut fd = WSAPOLLFD { fd: raw(socket), events: POLLRDNORM, revents: 0 };
        // SAFETY: one valid poll entry, alive for the call.
        let ready = unsafe { WSAPoll(&mut fd, 1, timeout.as_millis() as i32) };
        if ready == SOCKET_ERROR {
            return Err(io::Error::last_os_error());
        }
        Ok(ready > 0 && fd.revents & (POLLRDNORM | POLLERR | POLLHUP | POLLNVAL) != 0)
    }

    /// Exposes a connected blocking socket as an async stream (see the module docs).
    fn bridge(socket: Socket) -> io::Result<DuplexStream> {
        let (service_end, pipe_end) = tokio::io::duplex(BUFFER);
        let (mut from_service, mut to_service) = tokio::io::split(pipe_end);
        let socket = Arc::new(socket);
        let finished = Arc::new(AtomicBool::new(false));
        thread::Builder::new().name("hvsocket-recv".into()).spawn({
            let socket = socket.clone();
            let finished = finished.clone();
            move || {
                let mut buffer = vec![0u8; BUFFER];
                while !finished.load(Ordering::Acquire) {
                    match wait_readable(&socket, POLL_SLICE) {
                        Ok(false) => continue,
                        Ok(true) => {}
                        Err(_) => break,
                    }
                    match (&*socket).read(&mut buffer) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if futures::executor::block_on(to_service.write_all(&buffer[..n])).is_err() {
                                break;
                            }
                        }
                    }
                }
                // Dropping the pipe's writing half gives the service end-of-file.
            }
        })?;
        thread::Builder::new().name("hvsocket-send".into()).spawn(move || {
            let mut buffer = vec![0u8; BUFFER];
            loop {
                match futures::executor::block_on(from_service.read(&mut buffer)) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if (&*socket).write_all(&buffer[..n]).is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = socket.shutdown(Shutdown::Write);
            finished.store(true, Ordering::Release);
        })?;
        Ok(service_end)
    }

    /// Listens for request connections on Hyper-V sockets.
    pub struct HyperVRequestListener {
        incoming: mpsc::Receiver<io::Result<(Socket, Uuid)>>,
        stop: Arc<AtomicBool>,
        description: String,
    }

    impl HyperVRequestListener {
        /// Binds (VM id of `filter`, service id of `port`) and serves the VMs `filter`
        /// accepts; connections from other VMs are logged and closed.
        pub fn bind(filter: VmFilter, port: u32) -> io::Result<Self> {
            let address = SockaddrHv::vsock_port(filter.bind_vm_id(), port);
            let description = format!("hyperv:{}:{} (port {port})", address.vm_id, address.service_id);
            let socket = new_socket()?;
            let listening = |e: io::Error| explain(HvCall::Listen(address), &e);
            set_connected_suspend(&socket).map_err(listening)?;
            socket.bind(&sock_addr(&address)?).map_err(listening)?;
            socket.listen(16).map_err(listening)?;
            match registered(address.service_id) {
                Ok(true) => {}
                Ok(false) => tracing::warn!("{}", super::unregistered_warning(address.service_id)),
                Err(error) => tracing::debug!(%error, "cannot read the Hyper-V service registrations"),
            }
            let (sender, incoming) = mpsc::channel(16);
            let stop = Arc::new(AtomicBool::new(false));
            let stopping = stop.clone();
            thread::Builder::new().name("hvsocket-accept".into()).spawn(move || {
                while !stopping.load(Ordering::Acquire) {
                    match wait_readable(&socket, POLL_SLICE) {
                        Ok(false) => continue,
                        Ok(true) => {}
                        Err(error) => {
                            let _ = sender.blocking_send(Err(error));
                            return;
                        }
                    }
                    let (connection, peer) = match socket.accept() {
                        Ok(accepted) => accepted,
                        Err(error) => {
                            tracing::debug!(%error, "Hyper-V accept failed");
                            continue;
                        }
                    };
                    let Some(peer) = peer_of(&peer) else {
                        tracing::warn!("Hyper-V connection with an unreadable peer address refused");
                        continue;
                    };
                    if !filter.accepts(peer.vm_id) {
                        tracing::warn!(peer_vm = %peer.vm_id, accepted = ?filter, "request connection from another VM refused");
                        continue;
                    }
                    if let Err(error) = set_connected_suspend(&connection) {
                        tracing::debug!(%error, "HVSOCKET_CONNECTED_SUSPEND not set on an accepted connection");
                    }
                    if sender.blocking_send(Ok((connection, peer.vm_id))).is_err() {
                        return;
                    }
                }
            })?;
            Ok(Self { incoming, stop, description })
        }
    }

    impl Drop for HyperVRequestListener {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Release);
        }
    }

    #[async_trait]
    impl RequestListener for HyperVRequestListener {
        async fn accept(&mut self) -> io::Result<(Accepted, GuestId)> {
            match self.incoming.recv().await {
                Some(Ok((socket, vm_id))) => Ok((Accepted::Stream(Box::new(bridge(socket)?)), GuestId::HyperV(vm_id))),
                Some(Err(error)) => Err(error),
                None => Err(io::Error::other("the Hyper-V listener thread ended")),
            }
        }

        fn local_description(&self) -> String {
            self.description.clone()
        }
    }

    /// Connects to a guest's notification listener over Hyper-V sockets.
    #[derive(Debug, Clone)]
    pub struct HyperVNotificationConnector {
        port: u32,
    }

    impl HyperVNotificationConnector {
        /// Notifications go to (guest VM id, service id of `port`).
        pub fn new(port: u32) -> Self {
            Self { port }
        }
    }

    #[async_trait]
    impl NotificationConnector for HyperVNotificationConnector {
        async fn connect(&self, guest: &GuestId) -> io::Result<BoxedStream> {
            let GuestId::HyperV(vm_id) = guest else {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{guest} is not a Hyper-V guest")));
            };
            let address = SockaddrHv::vsock_port(*vm_id, self.port);
            let socket = tokio::task::spawn_blocking(move || -> io::Result<Socket> {
                let socket = new_socket()?;
                let connecting = |e: io::Error| explain(HvCall::Connect(address), &e);
                set_connected_suspend(&socket).map_err(connecting)?;
                socket.connect_timeout(&sock_addr(&address)?, CONNECT_TIMEOUT).map_err(connecting)?;
                Ok(socket)
            })
            .await
            .map_err(io::Error::other)??;
            Ok(Box::new(bridge(socket)?))
        }

        fn describe(&self, guest: &GuestId) -> String {
            match guest {
                GuestId::HyperV(vm_id) => format!("hyperv:{vm_id}:{}", service_id(self.port)),
                other => format!("{other} (not a Hyper-V guest)"),
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use windows_sys::Win32::System::Registry::{KEY_WRITE, REG_OPTION_VOLATILE, RegCreateKeyExW, RegDeleteKeyW};

        use super::*;

        /// Reads the registration for real: a made-up service id is absent until its key
        /// exists (a volatile key, deleted at the end).
        #[test]
        fn registration_is_read_from_the_registry() {
            let service = Uuid::from_u128(0x7e57_0001_facb_11e6_bd58_6400_6a79_86d3);
            assert!(!registered(service).expect("the registry is readable"));
            let path = registration_key(service);
            let mut key: HKEY = std::ptr::null_mut();
            // SAFETY: NUL-terminated path alive for the call; out-pointers to locals.
            let created = unsafe {
                RegCreateKeyExW(
                    HKEY_LOCAL_MACHINE,
                    path.as_ptr(),
                    0,
                    std::ptr::null(),
                    REG_OPTION_VOLATILE,
                    KEY_WRITE,
                    std::ptr::null(),
                    &mut key,
                    std::ptr::null_mut(),
                )
            };
            if created != ERROR_SUCCESS {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED (a registered Hyper-V service id): creating a key under HKLM needs an administrator (error {created})"
                );
                return;
            }
            // SAFETY: opened above, closed once.
            unsafe { RegCloseKey(key) };
            let seen = registered(service);
            // SAFETY: NUL-terminated path alive for the call.
            let deleted = unsafe { RegDeleteKeyW(HKEY_LOCAL_MACHINE, path.as_ptr()) };
            assert!(seen.expect("the registry is readable"), "registered once its key exists");
            assert_eq!(deleted, ERROR_SUCCESS);
            assert!(!registered(service).unwrap());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_id_is_the_template_with_the_port_as_data1() {
        assert_eq!(service_id(12345).to_string(), "00003039-facb-11e6-bd58-64006a7986d3");
        assert_eq!(service_id(12346).to_string(), "0000303a-facb-11e6-bd58-64006a7986d3");
        assert_eq!(service_id(0), VSOCK_TEMPLATE);
        assert_eq!(service_id(u32::MAX).to_string(), "ffffffff-facb-11e6-bd58-64006a7986d3");
        assert_eq!(port_of(service_id(12345)), Some(12345));
        assert_eq!(port_of(Uuid::from_u128(0x0000_3039_0000_0000_0000_0000_0000_0000)), None);
    }

    #[test]
    fn guid_bytes_are_mixed_endian() {
        let guid = Uuid::parse_str("00003039-facb-11e6-bd58-64006a7986d3").unwrap();
        assert_eq!(
            guid_to_bytes(guid),
            [0x39, 0x30, 0x00, 0x00, 0xcb, 0xfa, 0xe6, 0x11, 0xbd, 0x58, 0x64, 0x00, 0x6a, 0x79, 0x86, 0xd3]
        );
        assert_eq!(guid_from_bytes(guid_to_bytes(guid)), guid);
        let vm = Uuid::parse_str("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0").unwrap();
        assert_eq!(&guid_to_bytes(vm)[..8], &[0x3c, 0x2d, 0x1e, 0x0f, 0x5a, 0x4b, 0x78, 0x69]);
        assert_eq!(&guid_to_bytes(vm)[8..], &[0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0]);
    }

    #[test]
    fn sockaddr_hv_layout() {
        let vm = Uuid::parse_str("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0").unwrap();
        let address = SockaddrHv::vsock_port(vm, 12345);
        let bytes = address.to_bytes();
        assert_eq!(bytes.len(), 36);
        assert_eq!(&bytes[0..4], &[34, 0, 0, 0], "family AF_HYPERV, reserved 0");
        assert_eq!(&bytes[4..20], &guid_to_bytes(vm));
        assert_eq!(&bytes[20..24], &[0x39, 0x30, 0x00, 0x00], "Data1 = 12345, little-endian");
        assert_eq!(&bytes[24..36], &[0xcb, 0xfa, 0xe6, 0x11, 0xbd, 0x58, 0x64, 0x00, 0x6a, 0x79, 0x86, 0xd3]);
        assert_eq!(SockaddrHv::from_bytes(&bytes), Some(address));
        let mut longer = bytes.to_vec();
        longer.extend_from_slice(&[0; 92]);
        assert_eq!(SockaddrHv::from_bytes(&longer), Some(address), "a sockaddr_storage holding it");
        assert_eq!(SockaddrHv::from_bytes(&bytes[..35]), None);
        let mut inet = bytes;
        inet[0] = 2;
        assert_eq!(SockaddrHv::from_bytes(&inet), None, "not AF_HYPERV");
    }

    #[test]
    fn connected_suspend_option() {
        assert_eq!((HV_PROTOCOL_RAW, HVSOCKET_CONNECTED_SUSPEND, CONNECTED_SUSPEND_ENABLED), (1, 4, 1));
        assert_eq!(CONNECTED_SUSPEND_ENABLED.to_le_bytes(), [1, 0, 0, 0]);
    }

    #[test]
    fn errors_say_what_the_machine_lacks() {
        let os = |code| io::Error::from_raw_os_error(code);
        let text = |call, code| explain(call, &os(code)).to_string();
        let vm = Uuid::from_u128(0x1234);
        let request = SockaddrHv::vsock_port(vm, 12345);
        let no_family = text(HvCall::Socket, wsa::WSAEAFNOSUPPORT);
        assert!(no_family.starts_with("Hyper-V sockets (AF_HYPERV) are not available"), "{no_family}");
        assert!(no_family.contains("Hyper-V enabled") && no_family.ends_with("(os error 10047))"), "{no_family}");
        let denied = text(HvCall::Listen(request), wsa::WSAEACCES);
        assert!(denied.contains("administrator") && denied.contains(GUEST_COMMUNICATION_SERVICES), "{denied}");
        assert!(denied.contains("GuestCommunicationServices\\00003039-facb-11e6-bd58-64006a7986d3"), "{denied}");
        let no_vm = text(HvCall::Listen(request), wsa::WSAEADDRNOTAVAIL);
        assert!(no_vm.contains(&format!("no VM with id {vm}")) && no_vm.contains("Get-VM"), "{no_vm}");
        let other = text(HvCall::Listen(request), 5);
        assert!(other.contains("Hyper-V is enabled") && other.contains("administrator"), "{other}");
        assert!(other.contains("GuestCommunicationServices"), "{other}");
        let notify = SockaddrHv::vsock_port(vm, 12346);
        let refused = text(HvCall::Connect(notify), wsa::WSAECONNREFUSED);
        assert!(refused.contains("port 12346") && refused.contains("driver"), "{refused}");
        assert!(text(HvCall::Connect(notify), wsa::WSAENETUNREACH).contains("is it running?"));
        let kind = explain(HvCall::Socket, &io::Error::new(io::ErrorKind::Unsupported, "x")).kind();
        assert_eq!(kind, io::ErrorKind::Unsupported, "the kind is kept");
    }

    #[test]
    fn the_unregistered_warning_names_the_key() {
        let text = unregistered_warning(service_id(12345));
        assert!(text.contains("00003039-facb-11e6-bd58-64006a7986d3 is not registered"), "{text}");
        assert!(text.contains(r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Virtualization"), "{text}");
    }

    #[test]
    fn vm_filter() {
        let vm = Uuid::from_u128(0x1234);
        let other = Uuid::from_u128(0x5678);
        assert_eq!(VmFilter::One(vm).bind_vm_id(), vm);
        assert!(VmFilter::One(vm).accepts(vm));
        assert!(!VmFilter::One(vm).accepts(other));
        assert_eq!(VmFilter::Any.bind_vm_id(), HV_GUID_WILDCARD);
        assert!(VmFilter::Any.accepts(other));
        assert!(!VmFilter::Any.accepts(HV_GUID_WILDCARD));
    }

    #[test]
    fn any_vm_never_serves_the_loopback_parent_or_other_well_known_ids() {
        for reserved in
            [HV_GUID_LOOPBACK, HV_GUID_PARENT, HV_GUID_CHILDREN, HV_GUID_BROADCAST, HV_GUID_SILOHOST, HV_GUID_WILDCARD]
        {
            assert!(!VmFilter::Any.accepts(reserved), "any VM accepted {reserved}");
        }
        assert_eq!(HV_GUID_LOOPBACK.to_string(), "e0e16197-dd56-4a10-9195-5ee7a155a838");
        assert_eq!(HV_GUID_PARENT.to_string(), "a42e7cda-d03f-480c-9cc2-a4de20abb878");
        assert!(VmFilter::One(HV_GUID_LOOPBACK).accepts(HV_GUID_LOOPBACK), "a VM id named explicitly is served");
    }
}
