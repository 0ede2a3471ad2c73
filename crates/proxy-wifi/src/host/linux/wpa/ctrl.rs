//! A small async client of wpa_supplicant's control interface (`wpa_ctrl` protocol):
//! Unix datagram sockets, one command per datagram, one reply per command.
//!
//! The client binds its own datagram socket at a fresh path (wpa_supplicant answers to
//! that address), connects it to the interface's socket, and sends commands. A socket
//! that sent `ATTACH` also receives unsolicited `<level>CTRL-EVENT-...` messages; this
//! module uses one socket for requests ([`CtrlSocket`]) and another one, attached, for
//! events ([`EventSocket`]).
//!
//! A reply is never read as another command's (issue 25 item 6): a socket has one reader,
//! one command at a time (`&mut self`); a command whose reply was not read (it timed out,
//! or the caller stopped waiting) sends the socket to a new local address before the next
//! command, so that its late reply goes nowhere; and a reply that cannot be the answer to
//! its command (reply.rs) is discarded as stale while the read goes on.
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

use super::reply;

/// How long wpa_supplicant has to answer one command: 10 s, as long as its own client
/// library waits (`wpa_ctrl_request`, which wpa_cli uses).
///
/// wpa_supplicant itself answers in milliseconds: in the lab VM under TCG (one emulated
/// CPU shared with hostapd, the guest's driver and supplicant, and the service), the slowest
/// of the 38 commands of a guest's wrong-passphrase attempt, its retry and an open
/// connection took 68 ms from its arrival to its reply (a `REMOVE_NETWORK`, which also
/// deauthenticates). What takes seconds is getting the CPU at all: on a loaded machine the
/// VM is not scheduled, or, within it, wpa_supplicant runs below the service's priority;
/// that is most likely how a `REMOVE_NETWORK` went unanswered for the former 3 s (issue 25
/// item 6). A real host can stall it too, in a blocking driver call (slow firmware) or a
/// `SAVE_CONFIG` to slow storage.
///
/// A longer budget delays no answer to the guest: the handler keeps its own deadlines
/// (scan 10 s, connect 10 s per interface, disconnect 5 s), connects and disconnects go on
/// on their own task, and a request whose caller stopped waiting only moves the socket to a
/// new address. A shorter one fails operations that would have succeeded, and leaves their
/// outcome unknown: a network made by a late `ADD_NETWORK` is never removed.
pub const REPLY_BUDGET: Duration = crate::limits::WPA_REQUEST_TIMEOUT;

/// Largest reply read (wpa_supplicant's own replies stay below 4 KiB; some reach 16 KiB).
const RECEIVE_BUFFER: usize = 64 * 1024;
/// A reply taking longer than this is logged (debug), to see how close to the budget
/// replies come.
const SLOW_REPLY: Duration = Duration::from_millis(500);

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

/// A client socket connected to one control socket of wpa_supplicant, for requests.
/// Its own socket file is removed when it is dropped (or moved to a new address).
#[derive(Debug)]
pub struct CtrlSocket {
    bound: Bound,
    remote: PathBuf,
    /// How long each reply may take.
    budget: Duration,
    /// A command was sent whose reply was not read: its reply may still come.
    unanswered: bool,
}

/// The client's datagram socket at its local path, connected to the remote one.
#[derive(Debug)]
struct Bound {
    socket: UnixDatagram,
    local: PathBuf,
}

impl Bound {
    /// Binds a socket at a fresh path (see the module's doc) and connects it to `remote`.
    fn new(remote: &Path) -> io::Result<Bound> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let local = client_socket_dir().join(format!("proxy-wifi-wpa-{}-{n}", std::process::id()));
        // A stale file from an earlier process with the same pid would make bind fail.
        let _ = std::fs::remove_file(&local);
        let bound = Bound { socket: UnixDatagram::bind(&local)?, local };
        bound.socket.connect(remote)?;
        Ok(bound)
    }
}

impl Drop for Bound {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.local);
    }
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
    /// Binds a socket at a fresh path (see the module's doc) and connects it to `remote`;
    /// replies are awaited for [`REPLY_BUDGET`] each.
    pub fn open(remote: &Path) -> Result<CtrlSocket, CtrlError> {
        let bound = Bound::new(remote).map_err(|source| CtrlError::Io { path: remote.to_owned(), source })?;
        Ok(CtrlSocket { bound, remote: remote.to_owned(), budget: REPLY_BUDGET, unanswered: false })
    }

    /// The control socket of wpa_supplicant this one talks to.
    pub fn remote(&self) -> &Path {
        &self.remote
    }

    /// How long each reply may take from now on.
    pub fn set_budget(&mut self, budget: Duration) {
        self.budget = budget;
    }

    /// Sends `command` and returns its reply (trailing newline kept as sent). `shown` is
    /// what errors and logs name the command as, so secrets stay out of them.
    ///
    /// Datagrams that cannot be the reply to `command` (reply.rs) are discarded, events
    /// too, and the read goes on until the budget is spent. After a timeout (or when the
    /// caller stopped waiting), the socket moves to a new local address before the next
    /// command: the late reply goes to an address nobody has any more.
    pub async fn request_shown(&mut self, command: &str, shown: &str) -> Result<String, CtrlError> {
        if self.unanswered {
            self.renew()?;
        }
        let started = tokio::time::Instant::now();
        self.unanswered = true;
        let bound = &self.bound;
        bound.socket.send(command.as_bytes()).await.map_err(|source| self.io_error(source))?;
        let receive = async {
            let mut buffer = vec![0u8; RECEIVE_BUFFER];
            loop {
                let n = bound.socket.recv(&mut buffer).await?;
                let text = String::from_utf8_lossy(&buffer[..n]);
                // Unsolicited messages start with '<'; replies never do.
                if text.starts_with('<') {
                    continue;
                }
                if reply::fits(command, &text) {
                    return Ok::<_, io::Error>(text.into_owned());
                }
                let start: String = text.chars().take(40).collect();
                tracing::warn!(remote = %self.remote.display(), command = shown, reply = %start.escape_debug(),
                    "wpa_supplicant: discarding a reply that cannot answer the command (a stale one)");
            }
        };
        match tokio::time::timeout(self.budget, receive).await {
            Ok(Ok(reply)) => {
                self.unanswered = false;
                let took = started.elapsed();
                if took > SLOW_REPLY {
                    tracing::debug!(remote = %self.remote.display(), command = shown, ?took, "slow wpa_supplicant reply");
                }
                Ok(reply)
            }
            Ok(Err(source)) => Err(self.io_error(source)),
            Err(_) => {
                if let Err(error) = self.renew() {
                    tracing::debug!(%error, "moving to a new client address failed; retried with the next command");
                }
                Err(CtrlError::Timeout { path: self.remote.clone(), command: shown.to_owned(), timeout: self.budget })
            }
        }
    }

    /// [`CtrlSocket::request_shown`] naming the command by its first word.
    pub async fn request(&mut self, command: &str) -> Result<String, CtrlError> {
        let shown = command.split_whitespace().next().unwrap_or_default();
        self.request_shown(command, shown).await
    }

    /// Sends `command` and expects `OK`.
    pub async fn request_ok(&mut self, command: &str, shown: &str) -> Result<(), CtrlError> {
        let reply = self.request_shown(command, shown).await?;
        if reply.trim_end() == "OK" {
            Ok(())
        } else {
            Err(CtrlError::Refused { command: shown.to_owned(), reply: reply.trim_end().to_owned() })
        }
    }

    /// Subscribes this socket to unsolicited messages (`ATTACH`); it then only reads them.
    pub async fn attach(mut self) -> Result<EventSocket, CtrlError> {
        self.request_ok("ATTACH", "ATTACH").await?;
        Ok(EventSocket { ctrl: self })
    }

    /// Moves to a new local address (the old socket file goes), still connected to the
    /// interface's socket; nothing is unanswered there.
    fn renew(&mut self) -> Result<(), CtrlError> {
        self.bound = Bound::new(&self.remote).map_err(|source| self.io_error(source))?;
        self.unanswered = false;
        Ok(())
    }

    fn io_error(&self, source: io::Error) -> CtrlError {
        CtrlError::Io { path: self.remote.clone(), source }
    }
}

/// A control socket attached to wpa_supplicant's events: its one reader takes them in
/// order with [`EventSocket::recv`].
#[derive(Debug)]
pub struct EventSocket {
    ctrl: CtrlSocket,
}

impl EventSocket {
    /// Waits for the next event (`<level>CTRL-EVENT-...`).
    pub async fn recv(&mut self) -> Result<String, CtrlError> {
        let mut buffer = vec![0u8; RECEIVE_BUFFER];
        let socket = &self.ctrl.bound.socket;
        let n = socket.recv(&mut buffer).await.map_err(|source| self.ctrl.io_error(source))?;
        Ok(String::from_utf8_lossy(&buffer[..n]).into_owned())
    }

    /// Unsubscribes (`DETACH`), waiting `budget` at most for the reply.
    pub async fn detach(mut self, budget: Duration) -> Result<(), CtrlError> {
        self.ctrl.set_budget(budget);
        self.ctrl.request_ok("DETACH", "DETACH").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let path = fake_server(
            &dir,
            vec![("PING", "PONG\n"), ("ATTACH", "OK\n"), ("DETACH", "OK\n"), ("REMOVE_NETWORK 9", "FAIL\n")],
        )
        .await;
        let mut client = CtrlSocket::open(&path).unwrap();
        assert_eq!(client.request("PING").await.unwrap(), "PONG\n");
        let refused = client.request_ok("REMOVE_NETWORK 9", "REMOVE_NETWORK").await;
        assert!(matches!(refused, Err(CtrlError::Refused { .. })));
        // A timeout moves the client to a new address: the old socket file is gone.
        let first = client.bound.local.clone();
        client.set_budget(Duration::from_millis(50));
        let slow = client.request("SLOW").await;
        assert!(matches!(slow, Err(CtrlError::Timeout { .. })), "{slow:?}");
        assert!(!first.exists() && client.bound.local.exists() && client.bound.local != first);
        client.set_budget(REPLY_BUDGET);
        assert_eq!(client.request("PING").await.unwrap(), "PONG\n");
        // So does a request its caller stopped waiting for.
        let second = client.bound.local.clone();
        assert!(tokio::time::timeout(Duration::from_millis(50), client.request("SLOW")).await.is_err());
        assert_eq!(client.request("PING").await.unwrap(), "PONG\n");
        assert_ne!(client.bound.local, second);
        // The event sent before the ATTACH reply is skipped; the ones after it are read.
        let mut monitor = CtrlSocket::open(&path).unwrap().attach().await.unwrap();
        assert!(tokio::time::timeout(Duration::from_millis(100), monitor.recv()).await.is_err());
        monitor.detach(REPLY_BUDGET).await.unwrap();
        let local = client.bound.local.clone();
        drop(client);
        assert!(!local.exists(), "the client's socket file is removed");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A stand-in for wpa_supplicant that takes its commands one at a time, as the real
    /// one does: `script` gives, for each command, the replies to send and the time spent
    /// before each (a busy supplicant answers late, after the client gave up).
    async fn scripted_server(dir: &Path, script: fn(&str) -> Vec<(u64, &'static str)>) -> PathBuf {
        let path = dir.join("wlan9");
        let server = UnixDatagram::bind(&path).unwrap();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((n, from)) = server.recv_from(&mut buf).await else { return };
                let command = String::from_utf8_lossy(&buf[..n]).into_owned();
                let Some(from) = from.as_pathname().map(Path::to_path_buf) else { continue };
                for (delay_ms, reply) in script(&command) {
                    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                    // The client may have gone to a new address meanwhile: the reply is lost.
                    let _ = server.send_to(reply.as_bytes(), &from).await;
                }
            }
        });
        path
    }

    /// Issue 25 item 6: wpa_supplicant answers `ADD_NETWORK` only after the client gave up
    /// and sent its next command; that late id must not be read as the next reply.
    #[tokio::test]
    async fn a_reply_after_the_timeout_is_not_read_as_the_next_commands() {
        let dir = temp_dir("late");
        let path = scripted_server(&dir, |command| match command {
            "ADD_NETWORK" => vec![(300, "7\n")],
            "SET_NETWORK 7 ssid 6c6162" => vec![(20, "OK\n")],
            "SET_NETWORK 7 psk \"secret\"" => vec![(300, "OK\n")],
            "REMOVE_NETWORK 7" => vec![(20, "FAIL\n")],
            "PING" => vec![(20, "PONG\n")],
            _ => vec![(0, "UNKNOWN COMMAND\n")],
        })
        .await;
        let mut client = CtrlSocket::open(&path).unwrap();
        client.set_budget(Duration::from_millis(100));
        let late = client.request("ADD_NETWORK").await;
        assert!(matches!(late, Err(CtrlError::Timeout { .. })), "{late:?}");
        // The next commands each get their own reply, the late "7" arriving meanwhile.
        client.set_budget(Duration::from_secs(2));
        assert_eq!(client.request("SET_NETWORK 7 ssid 6c6162").await.unwrap(), "OK\n");
        assert_eq!(client.request("PING").await.unwrap(), "PONG\n");
        // A late OK where an OK or a FAIL is due fits: only the new address keeps it out.
        client.set_budget(Duration::from_millis(100));
        let late = client.request_ok("SET_NETWORK 7 psk \"secret\"", "SET_NETWORK 7 psk").await;
        assert!(matches!(late, Err(CtrlError::Timeout { .. })), "{late:?}");
        client.set_budget(Duration::from_secs(2));
        assert_eq!(client.request("REMOVE_NETWORK 7").await.unwrap(), "FAIL\n");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A reply that does not fit its command (a stale `OK` where an id is due, an id where
    /// `OK` is due) is discarded, and the read goes on for the command's own reply.
    #[tokio::test]
    async fn a_reply_that_does_not_fit_its_command_is_discarded() {
        let dir = temp_dir("fit");
        let path = scripted_server(&dir, |command| match command {
            "ADD_NETWORK" => vec![(0, "OK\n"), (10, "3\n")],
            "SELECT_NETWORK 3" => vec![(0, "3\n"), (10, "OK\n")],
            "STATUS" => vec![(0, "OK\n"), (10, "wpa_state=DISCONNECTED\naddress=02:00:00:00:02:00\n")],
            _ => vec![(0, "UNKNOWN COMMAND\n")],
        })
        .await;
        let mut client = CtrlSocket::open(&path).unwrap();
        assert_eq!(client.request("ADD_NETWORK").await.unwrap(), "3\n");
        assert_eq!(client.request("SELECT_NETWORK 3").await.unwrap(), "OK\n");
        assert!(client.request("STATUS").await.unwrap().starts_with("wpa_state="));
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
