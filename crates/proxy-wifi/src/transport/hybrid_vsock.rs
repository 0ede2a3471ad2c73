//! Hybrid vsock (Firecracker, cloud-hypervisor): the VMM exposes the guest's vsock as
//! Unix sockets on the host instead of host `AF_VSOCK`.
//!
//! * Guest → host: a guest connection to vsock port P arrives on the Unix listener
//!   `<path>_<P>`, which the service creates (`path` is the VMM's socket: Firecracker's
//!   `uds_path`, cloud-hypervisor's `--vsock socket=`).
//! * Host → guest: the service connects to `<path>`, writes `CONNECT <port>\n` and reads
//!   the VMM's answer line, `OK <host port>\n`, before the message. Any other answer, or
//!   the VMM closing the connection (its way of saying nobody listens on that port), is
//!   a failed delivery.
//!
//! Each VMM socket is one guest: [`GuestId::HybridVsock`] with that path.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::mpsc;

use super::raw::{RawConnection, RawKind, RawListener};
use super::{Accepted, BoxedStream, GuestId, NotificationConnector, RequestListener};
use crate::limits::HYBRID_VSOCK_HANDSHAKE_TIMEOUT;
use crate::socket_file::{self, SocketAccess};

/// Longest handshake answer line read from a VMM.
const MAX_ANSWER_LINE: usize = 64;

/// The Unix listener path for guest connections to `port` of the VMM socket `path`.
pub fn listener_path(path: &Path, port: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!("_{port}"));
    PathBuf::from(name)
}

/// Checks a VMM's answer to `CONNECT`: `OK <port>`.
pub fn parse_connect_answer(line: &str) -> Result<u32, String> {
    let answer = line.trim_end_matches(['\n', '\r']);
    answer
        .strip_prefix("OK ")
        .and_then(|port| port.trim().parse::<u32>().ok())
        .ok_or_else(|| format!("the VMM answered {answer:?} instead of \"OK <port>\""))
}

/// Listens on `<path>_<port>` for every VMM socket path served.
pub struct HybridVsockListener {
    accepted: mpsc::Receiver<(RawConnection, GuestId)>,
    sockets: HybridSockets,
}

/// The VMM sockets a hybrid-vsock listener serves, each with its own Unix listener;
/// shared with the service handle, which adds and removes them while the service runs.
#[derive(Clone)]
pub struct HybridSockets {
    served: Arc<Mutex<Served>>,
    sender: mpsc::Sender<(RawConnection, GuestId)>,
    port: u32,
    access: SocketAccess,
    runtime: tokio::runtime::Handle,
}

/// The listeners running, by VMM socket path; `None` once the listener is dropped.
type Served = Option<BTreeMap<PathBuf, Listening>>;

/// One VMM socket's listener: its path and its accept task.
struct Listening {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Listening {
    fn stop(self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

impl HybridVsockListener {
    /// Creates the listeners, mode 0600, or 0660 with `group` as their group. A stale
    /// socket of this user at the same path is replaced; anything else there is refused
    /// ([`crate::socket_file::bind_listener`]). Must be called inside a tokio runtime.
    /// `sockets` may be empty: VMM sockets can be added later with [`HybridSockets::add`].
    pub async fn bind(
        sockets: &[PathBuf],
        port: u32,
        group: Option<u32>,
        allow_foreign_dirs: bool,
    ) -> io::Result<Self> {
        let (sender, accepted) = mpsc::channel(64);
        let access = match group {
            Some(group) => SocketAccess { mode: 0o660, group: Some(group), allow_foreign_parent: allow_foreign_dirs },
            None => SocketAccess { allow_foreign_parent: allow_foreign_dirs, ..SocketAccess::OWNER_ONLY },
        };
        let shared = HybridSockets {
            served: Arc::new(Mutex::new(Some(BTreeMap::new()))),
            sender,
            port,
            access,
            runtime: tokio::runtime::Handle::current(),
        };
        for socket in sockets {
            shared.add(socket)?;
        }
        Ok(Self { accepted, sockets: shared })
    }

    /// The VMM sockets served, shared.
    pub fn sockets(&self) -> HybridSockets {
        self.sockets.clone()
    }
}

impl HybridSockets {
    fn served(&self) -> std::sync::MutexGuard<'_, Served> {
        self.served.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts serving the VMM socket `socket`: listens on `<socket>_<port>` (a stale
    /// socket of this user there is replaced). False when it is served already.
    pub fn add(&self, socket: &Path) -> io::Result<bool> {
        let mut served = self.served();
        let Some(served) = served.as_mut() else {
            return Err(io::Error::other("the hybrid vsock listener has stopped"));
        };
        if served.contains_key(socket) {
            return Ok(false);
        }
        let path = listener_path(socket, self.port);
        let listening = |e: io::Error| io::Error::new(e.kind(), format!("cannot listen for hybrid vsock guests: {e}"));
        let listener = socket_file::bind_listener(&path, self.access).map_err(listening)?;
        let listener = {
            let _runtime = self.runtime.enter();
            RawListener::new(listener.into(), RawKind::Unix).map_err(listening)?
        };
        let guest = GuestId::HybridVsock(socket.to_owned());
        let sender = self.sender.clone();
        let task = self.runtime.spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((connection, _)) => {
                        if sender.send((connection, guest.clone())).await.is_err() {
                            return;
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%guest, %error, "hybrid vsock accept failed");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        });
        served.insert(socket.to_owned(), Listening { path, task });
        Ok(true)
    }

    /// Stops serving the VMM socket `socket`: its listener is closed and its file
    /// removed, so the guest's next connection is refused. False when it was not served.
    pub fn remove(&self, socket: &Path) -> bool {
        let listening = self.served().as_mut().and_then(|served| served.remove(socket));
        listening.map(Listening::stop).is_some()
    }

    /// The VMM sockets served, in order.
    pub fn list(&self) -> Vec<PathBuf> {
        self.served().as_ref().map(|served| served.keys().cloned().collect()).unwrap_or_default()
    }

    /// The listener paths, for logs.
    fn listener_paths(&self) -> Vec<PathBuf> {
        self.served().as_ref().map(|served| served.values().map(|l| l.path.clone()).collect()).unwrap_or_default()
    }
}

impl Drop for HybridVsockListener {
    fn drop(&mut self) {
        let served = self.sockets.served().take();
        for listening in served.into_iter().flat_map(BTreeMap::into_values) {
            listening.stop();
        }
    }
}

#[async_trait]
impl RequestListener for HybridVsockListener {
    async fn accept(&mut self) -> io::Result<(Accepted, GuestId)> {
        match self.accepted.recv().await {
            Some((connection, guest)) => Ok((Accepted::Raw(connection), guest)),
            None => Err(io::Error::other("hybrid vsock listeners stopped")),
        }
    }

    fn local_description(&self) -> String {
        let paths: Vec<String> = self.sockets.listener_paths().iter().map(|p| p.display().to_string()).collect();
        if paths.is_empty() {
            return "hybrid-vsock (no VMM socket yet)".into();
        }
        format!("hybrid-vsock:{}", paths.join(","))
    }
}

/// Connects to a guest's notification port through its VMM socket.
#[derive(Debug, Clone)]
pub struct HybridVsockConnector {
    port: u32,
}

impl HybridVsockConnector {
    /// Notifications go to guest port `port`.
    pub fn new(port: u32) -> Self {
        Self { port }
    }

    fn socket(guest: &GuestId) -> io::Result<&Path> {
        match guest {
            GuestId::HybridVsock(path) => Ok(path),
            other => Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{other} is not a hybrid vsock guest"))),
        }
    }
}

/// Reads the handshake answer one byte at a time, so no byte after it is consumed.
async fn read_answer_line(stream: &mut UnixStream) -> io::Result<String> {
    let mut line = Vec::with_capacity(16);
    loop {
        let byte = match stream.read_u8().await {
            Ok(byte) => byte,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionRefused,
                    "the VMM closed the connection (no guest listener on that port?)",
                ));
            }
            Err(e) => return Err(e),
        };
        if byte == b'\n' {
            return Ok(String::from_utf8_lossy(&line).into_owned());
        }
        if line.len() == MAX_ANSWER_LINE {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "the VMM's answer line is too long"));
        }
        line.push(byte);
    }
}

#[async_trait]
impl NotificationConnector for HybridVsockConnector {
    async fn connect(&self, guest: &GuestId) -> io::Result<BoxedStream> {
        let path = Self::socket(guest)?;
        let mut stream = UnixStream::connect(path)
            .await
            .map_err(|e| io::Error::new(e.kind(), format!("cannot reach the VMM socket {}: {e}", path.display())))?;
        stream.write_all(format!("CONNECT {}\n", self.port).as_bytes()).await?;
        let line = tokio::time::timeout(HYBRID_VSOCK_HANDSHAKE_TIMEOUT, read_answer_line(&mut stream))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the VMM did not answer CONNECT"))??;
        parse_connect_answer(&line).map_err(|e| io::Error::new(io::ErrorKind::ConnectionRefused, e))?;
        Ok(Box::new(stream))
    }

    fn describe(&self, guest: &GuestId) -> String {
        match Self::socket(guest) {
            Ok(path) => format!("hybrid-vsock:{}:{}", path.display(), self.port),
            Err(_) => format!("{guest} (unreachable over hybrid vsock)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listener_path_appends_the_port() {
        assert_eq!(listener_path(Path::new("/run/fc/v.sock"), 12345), PathBuf::from("/run/fc/v.sock_12345"));
    }

    #[test]
    fn connect_answers() {
        assert_eq!(parse_connect_answer("OK 1073741824\n"), Ok(1_073_741_824));
        assert!(parse_connect_answer("ERR no listener\n").unwrap_err().contains("ERR no listener"));
        assert!(parse_connect_answer("OK\n").is_err());
        assert!(parse_connect_answer("").is_err());
    }
}
