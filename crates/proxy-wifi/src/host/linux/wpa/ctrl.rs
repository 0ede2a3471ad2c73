//! A small async client of wpa_supplicant's control interface (`wpa_ctrl` protocol):
//! Unix datagram sockets, one command per datagram, one reply per command.
//!
//! The client binds its own datagram socket at a fresh path (wpa_supplicant answers to
//! that address), connects it to the interface's socket, and sends commands. A socket
//! that sent `ATTACH` also receives unsolicited `<level>CTRL-EVENT-...` messages; this
//! module uses one socket for requests and another one, attached, for events.
//!
//! wpa_supplicant sends its replies to the client's path as *it* sees it, so that path
//! must not be in a mount namespace of our own: under systemd's `PrivateTmp=yes` a
//! socket in `/tmp` never gets a reply. The client sockets go to systemd's
//! `RuntimeDirectory=` (`$RUNTIME_DIRECTORY`), else to `/run/proxy-wifi` when running as
//! root, else to the temporary directory.

use std::ffi::OsStr;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::net::UnixDatagram;

/// Largest reply read (wpa_supplicant's own replies stay below 4 KiB; some reach 16 KiB).
const RECEIVE_BUFFER: usize = 64 * 1024;

/// Why a command got no reply.
#[derive(Debug, thiserror::Error)]
pub enum CtrlError {
    /// Binding, connecting, sending or receiving failed.
    #[error("wpa_supplicant control socket {path}: {source}")]
    Io {
        /// The interface's control socket.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// No reply in time.
    #[error("wpa_supplicant control socket {path}: no reply to '{command}' within {timeout:?}")]
    Timeout {
        /// The interface's control socket.
        path: PathBuf,
        /// The command's first word.
        command: String,
        /// The limit.
        timeout: Duration,
    },
    /// The reply was `FAIL` (or another refusal).
    #[error("wpa_supplicant refused '{command}': {reply}")]
    Refused {
        /// The command's first word(s), without secrets.
        command: String,
        /// The reply.
        reply: String,
    },
}

/// A client socket connected to one control socket of wpa_supplicant. Its own socket
/// file is removed when it is dropped.
#[derive(Debug)]
pub struct CtrlSocket {
    socket: UnixDatagram,
    local: PathBuf,
    remote: PathBuf,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Root's directory for client sockets when systemd gave none.
const ROOT_CLIENT_DIR: &str = "/run/proxy-wifi";

/// Where client sockets are bound (chosen once per process; see the module's doc).
fn client_socket_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let runtime_directory = std::env::var_os("RUNTIME_DIRECTORY");
        let root = rustix::process::geteuid().is_root();
        let dir = choose_client_dir(runtime_directory.as_deref(), root, Path::new(ROOT_CLIENT_DIR));
        tracing::debug!(dir = %dir.display(), "wpa_supplicant client sockets");
        dir
    })
}

/// The first entry of systemd's `RUNTIME_DIRECTORY` (a `:`-separated list); for root,
/// `root_dir` if it is (or can be made) a private directory; else the temporary directory.
fn choose_client_dir(runtime_directory: Option<&OsStr>, root: bool, root_dir: &Path) -> PathBuf {
    if let Some(first) = runtime_directory.and_then(|list| std::env::split_paths(list).find(|p| p.is_absolute())) {
        return first;
    }
    if root {
        match private_directory(root_dir) {
            Ok(()) => return root_dir.to_owned(),
            Err(reason) => tracing::warn!(
                "{reason}; wpa_supplicant client sockets go to {} (a private /tmp hides them from wpa_supplicant)",
                std::env::temp_dir().display()
            ),
        }
    }
    std::env::temp_dir()
}

/// Creates `dir` (mode 0700) unless it exists, then checks, without following a link,
/// that it is a directory of this user that nobody else may write to.
fn private_directory(dir: &Path) -> Result<(), String> {
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
    }
    let meta = std::fs::symlink_metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let uid = rustix::process::geteuid().as_raw();
    if !meta.file_type().is_dir() {
        Err(format!("{} is not a directory (a link or another file)", dir.display()))
    } else if meta.uid() != uid {
        Err(format!("{} belongs to uid {}, not to this user (uid {uid})", dir.display(), meta.uid()))
    } else if meta.mode() & 0o022 != 0 {
        Err(format!("{} is writable by others (mode {:o})", dir.display(), meta.mode() & 0o7777))
    } else {
        Ok(())
    }
}

impl CtrlSocket {
    /// Binds a socket at a fresh path (see the module's doc) and connects it to `remote`.
    pub fn open(remote: &Path) -> Result<CtrlSocket, CtrlError> {
        let io_error = |source| CtrlError::Io { path: remote.to_owned(), source };
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let local = client_socket_dir().join(format!("proxy-wifi-wpa-{}-{n}", std::process::id()));
        // A stale file from an earlier process with the same pid would make bind fail.
        let _ = std::fs::remove_file(&local);
        let socket = UnixDatagram::bind(&local).map_err(io_error)?;
        let client = CtrlSocket { socket, local, remote: remote.to_owned() };
        client.socket.connect(remote).map_err(io_error)?;
        Ok(client)
    }

    /// Sends `command` and returns the reply (trailing newline kept as sent). Stale
    /// datagrams (replies to commands that timed out) are discarded first. `shown` is
    /// what errors name the command as, so secrets stay out of logs.
    pub async fn request_shown(&self, command: &str, shown: &str, timeout: Duration) -> Result<String, CtrlError> {
        let io_error = |source| CtrlError::Io { path: self.remote.clone(), source };
        let mut buffer = vec![0u8; RECEIVE_BUFFER];
        while self.socket.try_recv(&mut buffer).is_ok() {}
        self.socket.send(command.as_bytes()).await.map_err(io_error)?;
        let receive = async {
            loop {
                let n = self.socket.recv(&mut buffer).await?;
                // Unsolicited messages start with '<'; replies never do.
                if buffer.first() != Some(&b'<') || n == 0 {
                    return Ok::<_, io::Error>(String::from_utf8_lossy(&buffer[..n]).into_owned());
                }
            }
        };
        match tokio::time::timeout(timeout, receive).await {
            Ok(reply) => reply.map_err(io_error),
            Err(_) => Err(CtrlError::Timeout { path: self.remote.clone(), command: shown.to_owned(), timeout }),
        }
    }

    /// [`CtrlSocket::request_shown`] naming the command by its first word.
    pub async fn request(&self, command: &str, timeout: Duration) -> Result<String, CtrlError> {
        let shown = command.split_whitespace().next().unwrap_or_default();
        self.request_shown(command, shown, timeout).await
    }

    /// Sends `command` and expects `OK`.
    pub async fn request_ok(&self, command: &str, shown: &str, timeout: Duration) -> Result<(), CtrlError> {
        let reply = self.request_shown(command, shown, timeout).await?;
        if reply.trim_end() == "OK" {
            Ok(())
        } else {
            Err(CtrlError::Refused { command: shown.to_owned(), reply: reply.trim_end().to_owned() })
        }
    }

    /// Subscribes this socket to unsolicited messages (`ATTACH`).
    pub async fn attach(&self, timeout: Duration) -> Result<(), CtrlError> {
        self.request_ok("ATTACH", "ATTACH", timeout).await
    }

    /// Waits for the next datagram (an event on an attached socket).
    pub async fn recv(&self) -> Result<String, CtrlError> {
        let mut buffer = vec![0u8; RECEIVE_BUFFER];
        let n = self
            .socket
            .recv(&mut buffer)
            .await
            .map_err(|source| CtrlError::Io { path: self.remote.clone(), source })?;
        Ok(String::from_utf8_lossy(&buffer[..n]).into_owned())
    }
}

impl Drop for CtrlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.local);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::WPA_REQUEST_TIMEOUT;

    /// A stand-in for wpa_supplicant: answers each datagram with a canned reply.
    async fn fake_server(dir: &Path, replies: Vec<(&'static str, &'static str)>) -> PathBuf {
        let path = dir.join("wlan9");
        let server = UnixDatagram::bind(&path).unwrap();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((n, from)) = server.recv_from(&mut buf).await else { return };
                let command = String::from_utf8_lossy(&buf[..n]).into_owned();
                let reply = replies.iter().find(|(c, _)| *c == command).map_or("UNKNOWN COMMAND\n", |(_, r)| *r);
                if command == "SLOW" {
                    continue;
                }
                if let Some(path) = from.as_pathname() {
                    if command == "ATTACH" {
                        let _ = server.send_to(b"<3>CTRL-EVENT-SCAN-STARTED ", path).await;
                    }
                    let _ = server.send_to(reply.as_bytes(), path).await;
                }
            }
        });
        path
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("proxy-wifi-ctrl-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn request_reply_timeout_and_cleanup() {
        let dir = temp_dir("req");
        let path =
            fake_server(&dir, vec![("PING", "PONG\n"), ("ATTACH", "OK\n"), ("REMOVE_NETWORK 9", "FAIL\n")]).await;
        let client = CtrlSocket::open(&path).unwrap();
        assert_eq!(client.request("PING", WPA_REQUEST_TIMEOUT).await.unwrap(), "PONG\n");
        let refused = client.request_ok("REMOVE_NETWORK 9", "REMOVE_NETWORK", WPA_REQUEST_TIMEOUT).await;
        assert!(matches!(refused, Err(CtrlError::Refused { .. })));
        let slow = client.request("SLOW", Duration::from_millis(50)).await;
        assert!(matches!(slow, Err(CtrlError::Timeout { .. })), "{slow:?}");
        // An event sent before the ATTACH reply is skipped by request() but kept for recv().
        let monitor = CtrlSocket::open(&path).unwrap();
        monitor.attach(WPA_REQUEST_TIMEOUT).await.unwrap();
        let local = client.local.clone();
        drop(client);
        assert!(!local.exists(), "the client's socket file is removed");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn client_sockets_go_where_wpa_supplicant_sees_them() {
        let root_dir = temp_dir("root-dir").join("run-proxy-wifi");
        // systemd's RuntimeDirectory= first (several directories: the first one).
        let systemd = OsStr::new("/run/proxy-wifi:/run/other");
        assert_eq!(choose_client_dir(Some(systemd), true, &root_dir), Path::new("/run/proxy-wifi"));
        assert_eq!(choose_client_dir(Some(systemd), false, &root_dir), Path::new("/run/proxy-wifi"));
        assert!(!root_dir.exists(), "systemd's directory is used as it is");
        // A user without one: the temporary directory.
        assert_eq!(choose_client_dir(None, false, &root_dir), std::env::temp_dir());
        assert_eq!(choose_client_dir(Some(OsStr::new("")), false, &root_dir), std::env::temp_dir());
        // Root without one: its own private directory, created 0700.
        if rustix::process::geteuid().is_root() {
            assert_eq!(choose_client_dir(None, true, &root_dir), root_dir);
            assert_eq!(std::fs::metadata(&root_dir).unwrap().mode() & 0o777, 0o700);
        }
    }

    #[test]
    fn a_root_directory_that_is_a_link_or_shared_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("root-dir-refused");
        let target = dir.join("elsewhere");
        std::fs::create_dir(&target).unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let error = private_directory(&link).unwrap_err();
        assert!(error.contains("not a directory"), "{error}");
        assert_eq!(choose_client_dir(None, true, &link), std::env::temp_dir());
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o777)).unwrap();
        let error = private_directory(&target).unwrap_err();
        assert!(error.contains("writable by others (mode 777)"), "{error}");
        let file = dir.join("file");
        std::fs::write(&file, b"").unwrap();
        assert!(private_directory(&file).unwrap_err().contains("not a directory"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn missing_socket_is_an_io_error() {
        let dir = temp_dir("missing");
        assert!(matches!(CtrlSocket::open(&dir.join("nothing")), Err(CtrlError::Io { .. })));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
