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

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

use super::{BoxedStream, GuestId, NotificationConnector, RequestListener};
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

/// Listens on `<path>_<port>` for every VMM socket path.
pub struct HybridVsockListener {
    accepted: mpsc::Receiver<(UnixStream, GuestId)>,
    paths: Vec<PathBuf>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl HybridVsockListener {
    /// Creates the listeners, mode 0600, or 0660 with `group` as their group. A stale
    /// socket of this user at the same path is replaced; anything else there is refused
    /// ([`crate::socket_file::bind_listener`]).
    pub async fn bind(sockets: &[PathBuf], port: u32, group: Option<u32>) -> io::Result<Self> {
        if sockets.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "hybrid vsock needs at least one VMM socket path"));
        }
        let (sender, accepted) = mpsc::channel(64);
        let mut paths = Vec::new();
        let mut tasks = Vec::new();
        for socket in sockets {
            let path = listener_path(socket, port);
            let access = match group {
                Some(group) => SocketAccess { mode: 0o660, group: Some(group) },
                None => SocketAccess::OWNER_ONLY,
            };
            let listener = socket_file::bind_listener(&path, access)
                .and_then(|l| {
                    l.set_nonblocking(true)?;
                    UnixListener::from_std(l)
                })
                .map_err(|e| io::Error::new(e.kind(), format!("cannot listen for hybrid vsock guests: {e}")))?;
            paths.push(path);
            let guest = GuestId::HybridVsock(socket.clone());
            let sender = sender.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    match listener.accept().await {
                        Ok((stream, _)) => {
                            if sender.send((stream, guest.clone())).await.is_err() {
                                return;
                            }
                        }
                        Err(error) => {
                            tracing::warn!(%guest, %error, "hybrid vsock accept failed");
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
            }));
        }
        Ok(Self { accepted, paths, tasks })
    }
}

impl Drop for HybridVsockListener {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        for path in &self.paths {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[async_trait]
impl RequestListener for HybridVsockListener {
    async fn accept(&mut self) -> io::Result<(BoxedStream, GuestId)> {
        match self.accepted.recv().await {
            Some((stream, guest)) => Ok((Box::new(stream), guest)),
            None => Err(io::Error::other("hybrid vsock listeners stopped")),
        }
    }

    fn local_description(&self) -> String {
        let paths: Vec<String> = self.paths.iter().map(|p| p.display().to_string()).collect();
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
