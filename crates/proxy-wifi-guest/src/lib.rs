//! Guest-side client: speaks to a host service exactly as the Linux `proxy_wifi` driver does.
//!
//! Used by the `proxy-wifi guest` command and by the end-to-end tests of the host service.
//! It reproduces the driver's behaviour on the wire (see `protocol.md`):
//!
//! * **Request channel** ([`GuestClient`]): one request and one answer per connection. The
//!   client connects to the host (2 s connect timeout), writes the whole request, reads
//!   exactly one message back (20 s), then closes the connection.
//! * **Notification channel** ([`NotificationListener`]): the guest listens; the host
//!   connects and writes one whole message per connection. Each accepted socket gets
//!   10 ms to deliver its message; a socket that is silent, slow or sends garbage is
//!   logged and skipped.
//! * **Scans** ([`scan_until_complete`]): a scan answer with `scan_complete = 0` keeps the
//!   scan open until a scan-results notification with `scan_complete = 1` arrives, or 10 s
//!   pass.
//!
//! Transports: TCP (for tests) and, on Linux, vsock (the guest connects to CID 2 and
//! listens on `VMADDR_CID_ANY`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), proxy_wifi_guest::GuestError> {
//! use proxy_wifi_guest::{GuestClient, GuestConfig, NotificationListener, scan_until_complete, DEFAULT_SCAN_WAIT};
//!
//! let config = GuestConfig::default(); // TCP to 127.0.0.1:12345, notifications on 127.0.0.1:12346
//! let client = GuestClient::new(config.clone());
//! let mut listener = NotificationListener::bind(&config).await?;
//! let outcome = scan_until_complete(&client, Some(&mut listener), None, DEFAULT_SCAN_WAIT).await?;
//! for bss in &outcome.bss {
//!     println!("{} {:?} {} dBm", bss.bssid, bss.ssid(), bss.rssi_dbm);
//! }
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod listener;
mod scan;
mod transport;

#[cfg(test)]
mod tests;

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

pub use proxy_wifi_protocol::GuestAbi;
pub use proxy_wifi_protocol::{DEFAULT_NOTIFICATION_PORT, DEFAULT_REQUEST_PORT};
use proxy_wifi_protocol::{DecodeError, Operation};

pub use client::GuestClient;
pub use listener::NotificationListener;
pub use scan::{ScanOutcome, scan_until_complete};

/// How long the driver waits for its request connection to be established.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the driver waits to send a request, and to receive its answer.
pub const DEFAULT_IO_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the driver gives an accepted notification connection to deliver its message.
pub const DEFAULT_NOTIFICATION_READ_TIMEOUT: Duration = Duration::from_millis(10);
/// How long the driver keeps a scan open after an answer with `scan_complete = 0`.
pub const DEFAULT_SCAN_WAIT: Duration = Duration::from_secs(10);
/// vsock CID of the host (`VMADDR_CID_HOST`), which the driver's requests go to.
pub const VMADDR_CID_HOST: u32 = 2;
/// vsock wildcard CID (`VMADDR_CID_ANY`), which the driver's notification listener binds.
pub const VMADDR_CID_ANY: u32 = u32::MAX;

/// How the guest reaches the host, and where it listens for notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GuestTransport {
    /// TCP (testing): requests go to `host:request_port`; the notification listener
    /// binds `host:notification_port` (so `host` must be a local address).
    Tcp {
        /// The host's address, also the local address the notification listener binds.
        host: IpAddr,
    },
    /// vsock, as the real driver: requests go to `(host_cid, request_port)`; the
    /// notification listener binds `(VMADDR_CID_ANY, notification_port)`.
    #[cfg(target_os = "linux")]
    Vsock {
        /// The host's CID, [`VMADDR_CID_HOST`] (2) for a real VM.
        host_cid: u32,
    },
}

impl Default for GuestTransport {
    /// TCP on 127.0.0.1.
    fn default() -> Self {
        GuestTransport::Tcp { host: IpAddr::V4(Ipv4Addr::LOCALHOST) }
    }
}

/// Settings of the guest-side client; the defaults are the driver's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestConfig {
    /// Transport and host address.
    pub transport: GuestTransport,
    /// Port of the request channel, [`DEFAULT_REQUEST_PORT`] by default.
    pub request_port: u16,
    /// Port of the notification channel, [`DEFAULT_NOTIFICATION_PORT`] by default
    /// (0 on TCP binds any free port, see [`NotificationListener::local_port`]).
    pub notification_port: u16,
    /// Limit on establishing a request connection, [`DEFAULT_CONNECT_TIMEOUT`] by default.
    pub connect_timeout: Duration,
    /// Limit on writing a request, and separately on reading its whole answer,
    /// [`DEFAULT_IO_TIMEOUT`] by default.
    pub io_timeout: Duration,
    /// Limit on reading the one message of an accepted notification connection,
    /// [`DEFAULT_NOTIFICATION_READ_TIMEOUT`] by default.
    pub notification_read_timeout: Duration,
    /// The driver generation this client behaves as ([`GuestAbi::Current`] by default):
    /// a legacy client reads scan responses without `scan_complete` and refuses
    /// scan-results notifications, as older builds of the driver do.
    pub abi: GuestAbi,
}

impl Default for GuestConfig {
    /// TCP to 127.0.0.1 on the default ports, with the driver's timeouts.
    fn default() -> Self {
        GuestConfig::with_transport(GuestTransport::default())
    }
}

impl GuestConfig {
    /// The default ports and timeouts with the given transport.
    pub fn with_transport(transport: GuestTransport) -> Self {
        GuestConfig {
            transport,
            request_port: DEFAULT_REQUEST_PORT,
            notification_port: DEFAULT_NOTIFICATION_PORT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            io_timeout: DEFAULT_IO_TIMEOUT,
            notification_read_timeout: DEFAULT_NOTIFICATION_READ_TIMEOUT,
            abi: GuestAbi::Current,
        }
    }

    /// The defaults over TCP with the host at `host`.
    pub fn tcp(host: IpAddr) -> Self {
        GuestConfig::with_transport(GuestTransport::Tcp { host })
    }

    /// The defaults over vsock with the host at `host_cid` ([`VMADDR_CID_HOST`] for a real VM).
    #[cfg(target_os = "linux")]
    pub fn vsock(host_cid: u32) -> Self {
        GuestConfig::with_transport(GuestTransport::Vsock { host_cid })
    }

    /// Where requests are sent.
    pub fn request_endpoint(&self) -> Endpoint {
        match self.transport {
            GuestTransport::Tcp { host } => Endpoint::Tcp(SocketAddr::new(host, self.request_port)),
            #[cfg(target_os = "linux")]
            GuestTransport::Vsock { host_cid } => Endpoint::Vsock { cid: host_cid, port: self.request_port.into() },
        }
    }

    /// Where the notification listener binds.
    pub fn notification_endpoint(&self) -> Endpoint {
        match self.transport {
            GuestTransport::Tcp { host } => Endpoint::Tcp(SocketAddr::new(host, self.notification_port)),
            #[cfg(target_os = "linux")]
            GuestTransport::Vsock { .. } => {
                Endpoint::Vsock { cid: VMADDR_CID_ANY, port: self.notification_port.into() }
            }
        }
    }
}

/// A socket address on one of the guest's transports; `Display` gives `tcp:127.0.0.1:12345`
/// or `vsock:2:12345`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// A TCP address.
    Tcp(SocketAddr),
    /// A vsock address.
    #[cfg(target_os = "linux")]
    Vsock {
        /// Context id of the machine.
        cid: u32,
        /// vsock port.
        port: u32,
    },
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(addr) => write!(f, "tcp:{addr}"),
            #[cfg(target_os = "linux")]
            Endpoint::Vsock { cid, port } => write!(f, "vsock:{cid}:{port}"),
        }
    }
}

/// Why a guest-side operation failed. Each message says what happened and with which address.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GuestError {
    /// The request connection could not be established (refused, unreachable, ...).
    #[error("cannot connect to the host at {endpoint}: {source}")]
    Connect {
        /// The host's address.
        endpoint: Endpoint,
        /// The socket error.
        source: io::Error,
    },
    /// The request connection was not established within the connect timeout.
    #[error("connecting to the host at {endpoint} timed out after {timeout:?}")]
    ConnectTimeout {
        /// The host's address.
        endpoint: Endpoint,
        /// The connect timeout.
        timeout: Duration,
    },
    /// Sending a request or receiving a message took longer than its timeout.
    #[error("timed out after {timeout:?} while {action} (peer {endpoint})")]
    Timeout {
        /// What was being done, e.g. `reading the answer`.
        action: &'static str,
        /// The peer's address.
        endpoint: Endpoint,
        /// The timeout that ran out.
        timeout: Duration,
    },
    /// The peer closed the connection before a whole message was read.
    #[error(
        "{endpoint} closed the connection while {action}: got {received} of the {expected} bytes of the message {part}"
    )]
    Closed {
        /// What was being done, e.g. `reading the answer`.
        action: &'static str,
        /// The peer's address.
        endpoint: Endpoint,
        /// `header` or `body`.
        part: &'static str,
        /// Bytes of that part received.
        received: usize,
        /// Bytes of that part expected.
        expected: usize,
    },
    /// The peer sent bytes that are not a valid host-to-guest message.
    #[error("malformed message from {endpoint} while {action}: {source}")]
    Decode {
        /// What was being done, e.g. `reading a notification`.
        action: &'static str,
        /// The peer's address.
        endpoint: Endpoint,
        /// What was wrong.
        source: DecodeError,
    },
    /// The host answered INVALID: it could not process the request.
    #[error("the host answered INVALID: it could not process the request")]
    Invalid,
    /// The host answered with another operation than the one the request calls for.
    #[error("the host answered with a {got} where a {expected} was expected")]
    UnexpectedAnswer {
        /// The answer the request calls for.
        expected: Operation,
        /// The answer received.
        got: Operation,
    },
    /// The notification listener could not be set up.
    #[error("cannot listen for notifications on {endpoint}: {source}")]
    Bind {
        /// The local address.
        endpoint: Endpoint,
        /// The socket error.
        source: io::Error,
    },
    /// Any other socket error.
    #[error("I/O error while {action} (peer {endpoint}): {source}")]
    Io {
        /// What was being done, e.g. `sending the request`.
        action: &'static str,
        /// The peer's (or, for a listener, the local) address.
        endpoint: Endpoint,
        /// The socket error.
        source: io::Error,
    },
}
