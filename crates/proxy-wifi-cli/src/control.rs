//! The operator control channel: `serve` listens on a local socket that only the same
//! user can open; `proxy-wifi ctl` sends one JSON line and reads one JSON line back.
//!
//! * Linux and other Unix: a Unix domain socket, by default `/run/proxy-wifi/control.sock`
//!   for root (whatever `XDG_RUNTIME_DIR` says), else `$XDG_RUNTIME_DIR/proxy-wifi/control.sock`,
//!   else `/tmp/proxy-wifi-UID/control.sock` ([`crate::control_dir`]). The default
//!   directory is created 0700, or must already be a directory (not a link) of this user
//!   with mode 0700, for the service and for `ctl` alike; the socket is born 0600 and
//!   never replaces anything but a stale socket of this user (`proxy_wifi::socket_file`),
//!   and is removed at stop through its directory's descriptor; the peer's uid is
//!   checked on accept.
//! * Windows: the named pipe `\\.\pipe\proxy-wifi-control`, remote clients rejected.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use proxy_wifi::ServiceHandle;
use proxy_wifi::{HostNetworkKind, SimulationControl};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::Notify;

use crate::cli::{CtlArgs, CtlCommand, CtlGuestCommand, HostNetworkArg, ScanModeArg};

/// Longest request line accepted on the control socket.
const MAX_LINE: usize = 4096;

/// The answer to a control command.
#[derive(Debug, Serialize, Deserialize)]
pub struct ControlAnswer {
    /// Whether the command was carried out.
    pub ok: bool,
    /// What happened (or why not); empty when `status` says it.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub message: String,
    /// The service status (for `status`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status: Option<proxy_wifi::ServiceStatus>,
    /// The guests the service accepts (for `guest list|add|remove`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub guests: Option<proxy_wifi::GuestList>,
}

impl ControlAnswer {
    /// Done: `message` says what happened.
    pub fn ok(message: impl Into<String>) -> Self {
        Self { ok: true, message: message.into(), status: None, guests: None }
    }
    /// Not done: `message` says why.
    pub fn error(message: impl Into<String>) -> Self {
        Self { ok: false, message: message.into(), status: None, guests: None }
    }
}

/// Carries out one command on the service (`shutdown` is only answered here: the
/// connection's server asks `serve` to stop once the answer is sent).
pub fn execute(service: &ServiceHandle, command: CtlCommand) -> ControlAnswer {
    match command {
        CtlCommand::Status => {
            return ControlAnswer { status: Some(service.status()), ..ControlAnswer::ok("") };
        }
        CtlCommand::Shutdown => return ControlAnswer::ok("the service is stopping"),
        CtlCommand::Guest { action } => return crate::control_guests::execute(service, action),
        _ => {}
    }
    let Some(simulation) = service.simulation() else {
        return ControlAnswer::error(
            "the service runs in host mode; host events can be triggered only with `serve --mode simulated`",
        );
    };
    simulate(simulation, command)
}

fn simulate(simulation: &SimulationControl, command: CtlCommand) -> ControlAnswer {
    match command {
        CtlCommand::HostDisconnect => match simulation.host_disconnect() {
            Ok(ssid) => ControlAnswer::ok(format!("host disconnected from {ssid}")),
            Err(error) => ControlAnswer::error(error.to_string()),
        },
        CtlCommand::HostConnect { kind } => {
            let kind = match kind {
                HostNetworkArg::Open => HostNetworkKind::Open,
                HostNetworkArg::Psk => HostNetworkKind::Psk,
            };
            match simulation.host_connect(kind) {
                Ok(network) => ControlAnswer::ok(format!("host connected to {} ({})", network.ssid, network.bssid)),
                Err(error) => ControlAnswer::error(error.to_string()),
            }
        }
        CtlCommand::Signal { percent } => {
            simulation.set_signal_quality(percent);
            let dbm = proxy_wifi::protocol::SignalQualityNotification::from_link_quality(percent).signal_dbm;
            ControlAnswer::ok(format!("link quality {percent}% ({dbm} dBm for a guest using the host connection)"))
        }
        CtlCommand::ScanResults => {
            simulation.send_scan_results();
            ControlAnswer::ok("scan results sent to the guest")
        }
        CtlCommand::ScanMode { mode } => {
            simulation.set_scan_mode(match mode {
                ScanModeArg::Sync => proxy_wifi::ScanMode::Synchronous,
                ScanModeArg::Async => proxy_wifi::ScanMode::Asynchronous,
            });
            ControlAnswer::ok(format!("scans are now {}", if mode == ScanModeArg::Sync { "sync" } else { "async" }))
        }
        CtlCommand::Status | CtlCommand::Shutdown | CtlCommand::Guest { .. } => unreachable!("handled by execute"),
    }
}

/// Serves one control connection: one JSON line in, one JSON line out; after answering
/// `shutdown`, tells `stop`.
async fn serve_connection<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    service: Arc<ServiceHandle>,
    stop: Arc<Notify>,
) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        let mut limited = (&mut reader).take(MAX_LINE as u64);
        limited.read_line(&mut line).await
    })
    .await;
    let mut stopping = false;
    let answer = match read {
        Ok(Ok(_)) => match serde_json::from_str::<CtlCommand>(line.trim()) {
            Ok(command) => {
                // Reading the status is no change: a monitor polling it fills no journal.
                if matches!(command, CtlCommand::Status | CtlCommand::Guest { action: CtlGuestCommand::List }) {
                    tracing::debug!(?command, "control command");
                } else {
                    tracing::info!(?command, "control command");
                }
                stopping = matches!(command, CtlCommand::Shutdown);
                execute(&service, command)
            }
            Err(error) => ControlAnswer::error(format!("not a control command: {error}")),
        },
        _ => return,
    };
    let mut text = serde_json::to_string(&answer).unwrap_or_else(|_| "{\"ok\":false,\"message\":\"\"}".into());
    text.push('\n');
    let mut stream = reader.into_inner();
    let _ = stream.write_all(text.as_bytes()).await;
    let _ = stream.shutdown().await;
    if stopping {
        stop.notify_one();
    }
}

use tokio::io::AsyncReadExt;

/// Sends one command and returns the answer.
async fn request<S: AsyncRead + AsyncWrite + Unpin>(stream: S, command: &CtlCommand) -> std::io::Result<ControlAnswer> {
    let mut stream = BufReader::new(stream);
    let mut text = serde_json::to_string(command).map_err(std::io::Error::other)?;
    text.push('\n');
    stream.get_mut().write_all(text.as_bytes()).await?;
    let mut line = String::new();
    (&mut stream).take(1 << 20).read_line(&mut line).await?;
    serde_json::from_str(line.trim()).map_err(|e| std::io::Error::other(format!("bad answer from the service: {e}")))
}

/// Sends `command` to the service listening on the control socket `path`.
pub async fn send(path: &std::path::Path, command: &CtlCommand) -> Result<ControlAnswer, String> {
    #[cfg(windows)]
    check_pipe_name("--control-socket", path)?;
    let stream = platform::connect(path).await.map_err(|e| {
        format!(
            "cannot reach the service's control socket {}: {e}. Is `proxy-wifi serve` running (it prints where its control socket is)? Use `ctl --control-socket PATH` if it was started with --control-socket PATH.",
            path.display()
        )
    })?;
    request(stream, command).await.map_err(|e| format!("control request failed: {e}"))
}

/// `proxy-wifi ctl ...`.
pub async fn run_ctl(args: CtlArgs) -> Result<ExitCode, String> {
    let path = match args.control_socket.clone() {
        Some(path) => path,
        None => checked_default_location()?,
    };
    let answer = send(&path, &args.command).await?;
    if let (Some(status), true) = (&answer.status, answer.ok) {
        if args.json {
            crate::say!("{}", serde_json::to_string_pretty(status).unwrap_or_default());
        } else {
            crate::say!("{}", crate::status_view::render(status, std::time::SystemTime::now()));
        }
    } else if args.json {
        crate::say!("{}", serde_json::to_string_pretty(&answer).unwrap_or_default());
    } else if answer.ok {
        crate::say!("{}", answer.message);
    } else {
        eprintln!("error: {}", answer.message);
    }
    Ok(if answer.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Where `serve` puts its control socket by default.
pub fn default_location() -> Result<PathBuf, String> {
    platform::default_location()
}

/// Where a client finds the service's control socket by default, once its directory is
/// found to be what the service makes it (Unix: a directory of this user, mode 0700;
/// see [`crate::control_dir::check_private`]).
pub fn checked_default_location() -> Result<PathBuf, String> {
    let path = platform::default_location()?;
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        crate::control_dir::check_private(dir, proxy_wifi::socket_file::effective_uid())?;
    }
    Ok(path)
}

/// A running control listener; removes its socket file when dropped (Unix: through the
/// descriptor of the directory it was made in, never by path).
pub struct ControlServer {
    task: tokio::task::JoinHandle<()>,
    /// Dropped after `task` is aborted.
    _placed: platform::Placed,
}

impl ControlServer {
    /// Starts listening at `path` (on Windows it must be `\\.\pipe\NAME`); `stop` is told
    /// when a `shutdown` command has been answered.
    pub async fn start(path: PathBuf, service: Arc<ServiceHandle>, stop: Arc<Notify>) -> Result<Self, String> {
        #[cfg(windows)]
        check_pipe_name("--control-socket", &path)?;
        let (task, placed) = platform::listen(&path, service, stop).await?;
        Ok(Self { task, _placed: placed })
    }
}

/// Accepts control connections for ever: each accepted one goes to `serve`; a failed
/// accept (EMFILE, ENFILE, ENOBUFS, …) is logged and retried after
/// [`proxy_wifi::limits::ACCEPT_RETRY_DELAY`], so that a lack of descriptors never makes
/// this loop spin.
#[cfg(any(unix, test))]
async fn accept_loop<T, F>(mut accept: impl FnMut() -> F, mut serve: impl FnMut(T))
where
    F: std::future::Future<Output = std::io::Result<T>>,
{
    let mut failures: u64 = 0;
    loop {
        match accept().await {
            Ok(accepted) => {
                failures = 0;
                serve(accepted);
            }
            Err(error) => {
                failures += 1;
                if failures == 1 || failures.is_power_of_two() {
                    tracing::warn!(%error, failures, "accepting a control connection failed; retrying");
                }
                tokio::time::sleep(proxy_wifi::limits::ACCEPT_RETRY_DELAY).await;
            }
        }
    }
}

/// The prefix of every local named pipe.
#[cfg(any(windows, test))]
const PIPE_PREFIX: &str = r"\\.\pipe\";

/// The control pipe `serve` opens on Windows unless told otherwise.
#[cfg(any(windows, test))]
const DEFAULT_PIPE: &str = r"\\.\pipe\proxy-wifi-control";

/// Longest pipe name Windows accepts, prefix included.
#[cfg(any(windows, test))]
const MAX_PIPE_NAME: usize = 256;

/// Checks that `path` (given with `flag`) is a local named pipe, `\\.\pipe\NAME`: the only
/// kind of control socket on Windows. NAME is not empty, has no backslash, and the whole
/// name is at most 256 characters.
#[cfg(any(windows, test))]
fn check_pipe_name(flag: &str, path: &std::path::Path) -> Result<(), String> {
    let text = path.to_string_lossy();
    let explain = |problem: &str| {
        format!(
            "{flag} {text}: {problem}; on Windows the control socket is a local named pipe {PIPE_PREFIX}NAME \
             (NAME without backslashes, at most {MAX_PIPE_NAME} characters in all), e.g. {DEFAULT_PIPE}"
        )
    };
    let prefix_len = PIPE_PREFIX.len();
    let has_prefix = text.get(..prefix_len).is_some_and(|p| p.eq_ignore_ascii_case(PIPE_PREFIX));
    if !has_prefix {
        return Err(explain(&format!("does not start with {PIPE_PREFIX}")));
    }
    let name = &text[prefix_len..];
    if name.is_empty() {
        return Err(explain("the pipe name is empty"));
    }
    if name.contains('\\') {
        return Err(explain("the pipe name contains a backslash"));
    }
    if text.chars().count() > MAX_PIPE_NAME {
        return Err(explain(&format!("{} characters is too long", text.chars().count())));
    }
    Ok(())
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        // The socket file goes with `_placed`, after this.
        self.task.abort();
    }
}

#[cfg(unix)]
mod platform {
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use proxy_wifi::ServiceHandle;
    use proxy_wifi::socket_file::{self, SocketAccess};
    use tokio::net::{UnixListener, UnixStream};
    use tokio::sync::Notify;

    use crate::control_dir::{self, PlacedSocket};

    /// The socket file, removed through its directory's descriptor when dropped.
    pub type Placed = PlacedSocket;

    pub fn default_location() -> Result<PathBuf, String> {
        let dir = control_dir::default_directory(socket_file::effective_uid(), std::env::var_os("XDG_RUNTIME_DIR"));
        Ok(dir.join("control.sock"))
    }

    /// Prepares the directory of `path`: the default directory must be this user's and
    /// private (created 0700 when missing; an existing one is checked, never changed: a
    /// link, another user's or one with any access for group or others is refused); a
    /// directory the operator named is created when missing and otherwise left as it is.
    fn prepare_directory(path: &Path) -> Result<(), String> {
        let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else { return Ok(()) };
        let uid = socket_file::effective_uid();
        let is_default = default_location().is_ok_and(|default| default == path);
        if !is_default && !dir.exists() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create the control socket directory {}: {e}", dir.display()))?;
        }
        if is_default || !dir.exists() {
            if let Some(parent) = dir.parent().filter(|p| !p.exists()) {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("cannot create the control socket directory {}: {e}", parent.display()))?;
            }
            socket_file::ensure_private_dir(dir, uid).map_err(|e| {
                format!("control socket directory {e}; or choose another place with --control-socket PATH")
            })?;
        }
        if is_default {
            control_dir::check_private(dir, uid)?;
        }
        Ok(())
    }

    pub async fn listen(
        path: &Path,
        service: Arc<ServiceHandle>,
        stop: Arc<Notify>,
    ) -> Result<(tokio::task::JoinHandle<()>, Placed), String> {
        prepare_directory(path)?;
        let (dir, name) = control_dir::open_parent(path)
            .map_err(|e| format!("cannot open the directory of the control socket {}: {e}", path.display()))?;
        let listener = socket_file::bind_listener(path, SocketAccess::OWNER_ONLY).map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => format!(
                "another service already listens on the control socket {}; use --control-socket PATH or --no-control",
                path.display()
            ),
            _ => format!("cannot open the control socket {e}"),
        })?;
        let placed = PlacedSocket::find(dir, name, path)?;
        listener.set_nonblocking(true).map_err(|e| format!("control socket {}: {e}", path.display()))?;
        let listener =
            Arc::new(UnixListener::from_std(listener).map_err(|e| format!("control socket {}: {e}", path.display()))?);
        let own_uid = socket_file::effective_uid();
        let task = tokio::spawn(super::accept_loop(
            move || {
                let listener = listener.clone();
                async move { listener.accept().await }
            },
            move |(stream, _): (UnixStream, _)| {
                let peer_uid = stream.peer_cred().ok().map(|c| c.uid());
                if peer_uid != Some(own_uid) {
                    tracing::warn!(?peer_uid, "control connection from another user refused");
                    return;
                }
                tokio::spawn(super::serve_connection(stream, service.clone(), stop.clone()));
            },
        ));
        Ok((task, placed))
    }

    pub async fn connect(path: &Path) -> std::io::Result<UnixStream> {
        UnixStream::connect(path).await
    }
}

#[cfg(windows)]
mod platform {
    use std::path::{Path, PathBuf};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use proxy_wifi::ServiceHandle;
    use tokio::net::windows::named_pipe::{ClientOptions, NamedPipeClient, ServerOptions};
    use tokio::sync::Notify;

    /// `ERROR_ACCESS_DENIED`: what creating the first instance of an existing pipe gives.
    const ERROR_ACCESS_DENIED: i32 = 5;
    /// `ERROR_PIPE_BUSY`: every instance of the pipe is serving a client.
    const ERROR_PIPE_BUSY: i32 = 231;
    /// How long `ctl` retries a busy pipe (the service opens the next instance at once).
    const BUSY_RETRY: Duration = Duration::from_secs(2);

    /// Nothing to remove: a named pipe goes with its last handle.
    pub type Placed = ();

    pub fn default_location() -> Result<PathBuf, String> {
        Ok(PathBuf::from(super::DEFAULT_PIPE))
    }

    pub async fn listen(
        path: &Path,
        service: Arc<ServiceHandle>,
        stop: Arc<Notify>,
    ) -> Result<(tokio::task::JoinHandle<()>, Placed), String> {
        let name = path.as_os_str().to_owned();
        let mut server = ServerOptions::new()
            .first_pipe_instance(true)
            .reject_remote_clients(true)
            .create(&name)
            .map_err(|e| match e.raw_os_error() {
                Some(ERROR_ACCESS_DENIED | ERROR_PIPE_BUSY) => format!(
                    "another process already owns the control pipe {}; use --control-socket \\\\.\\pipe\\OTHER-NAME or --no-control",
                    path.display()
                ),
                _ => format!("cannot open the control pipe {}: {e}", path.display()),
            })?;
        let task = tokio::spawn(async move {
            loop {
                if let Err(error) = server.connect().await {
                    tracing::warn!(%error, "accepting a control connection failed; retrying");
                    tokio::time::sleep(proxy_wifi::limits::ACCEPT_RETRY_DELAY).await;
                    continue;
                }
                let connected = server;
                server = match ServerOptions::new().reject_remote_clients(true).create(&name) {
                    Ok(next) => next,
                    Err(error) => {
                        tracing::error!(%error, "control pipe closed");
                        return;
                    }
                };
                tokio::spawn(super::serve_connection(connected, service.clone(), stop.clone()));
            }
        });
        Ok((task, ()))
    }

    pub async fn connect(path: &Path) -> std::io::Result<NamedPipeClient> {
        let give_up = Instant::now() + BUSY_RETRY;
        loop {
            match ClientOptions::new().open(path.as_os_str()) {
                Err(e) if e.raw_os_error() == Some(ERROR_PIPE_BUSY) && Instant::now() < give_up => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::{accept_loop, check_pipe_name};

    #[tokio::test(start_paused = true)]
    async fn failed_accepts_are_retried_after_a_pause_not_in_a_spin() {
        let mut attempts = 0u32;
        let emfile = || {
            attempts += 1;
            // Without a pause, a second of retries is far more than 1000 attempts.
            assert!(attempts < 1000, "accept retried {attempts} times in one second: the loop spins");
            std::future::ready(Err::<(), _>(std::io::Error::from_raw_os_error(24)))
        };
        let looping = accept_loop(emfile, |()| {});
        assert!(tokio::time::timeout(Duration::from_secs(1), looping).await.is_err());
        let most = 1000 / proxy_wifi::limits::ACCEPT_RETRY_DELAY.as_millis() + 1;
        assert!(u128::from(attempts) <= most, "{attempts} attempts in 1 s, at most {most} expected");
    }

    /// Issue 25 item 7: the owner of the socket's directory (or of one above it) swaps it
    /// for a link to another directory while the service runs; at stop the service
    /// removes its own socket, in the directory it made it in, and nothing through the link.
    #[cfg(unix)]
    #[tokio::test]
    async fn the_socket_is_removed_through_its_directory_never_through_a_link_put_in_its_place() {
        use std::sync::Arc;

        use proxy_wifi::{OperationMode, Service, TransportSettings};

        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("control.sock");
        let transport = TransportSettings::tcp(std::net::Ipv4Addr::LOCALHOST.into(), 0, None, 1);
        let service = Arc::new(Service::builder(transport).mode(OperationMode::Simulated).start().unwrap());
        let stop = Arc::new(tokio::sync::Notify::new());
        let server = super::ControlServer::start(path.clone(), service.clone(), stop).await.unwrap();

        let moved = tmp.path().join("moved");
        std::fs::rename(&dir, &moved).unwrap();
        let victim = tmp.path().join("victim");
        std::fs::create_dir(&victim).unwrap();
        std::fs::write(victim.join("control.sock"), b"precious").unwrap();
        std::os::unix::fs::symlink(&victim, &dir).unwrap();
        drop(server);

        assert_eq!(std::fs::read(victim.join("control.sock")).unwrap(), b"precious", "removed through the link");
        assert!(!moved.join("control.sock").exists(), "the service's own socket is left behind");
        service.stop();
    }

    #[test]
    fn pipe_names_are_local_named_pipes() {
        for good in [r"\\.\pipe\proxy-wifi-control", r"\\.\PIPE\a", r"\\.\pipe\with space/and:colon"] {
            assert_eq!(check_pipe_name("--control-socket", Path::new(good)), Ok(()), "{good}");
        }
        let long = format!(r"\\.\pipe\{}", "x".repeat(247));
        assert_eq!(check_pipe_name("--control-socket", Path::new(&long)), Ok(()), "256 characters");
        let cases = [
            (r"C:\Users\me\control.sock", "does not start with"),
            ("/tmp/control.sock", "does not start with"),
            (r"\\server\pipe\x", "does not start with"),
            (r"\\.\pipe\", "empty"),
            (r"\\.\pipe\a\b", "backslash"),
            (&format!("{long}y"), "257 characters is too long"),
        ];
        for (bad, problem) in cases {
            let error = check_pipe_name("--control-socket", Path::new(bad)).unwrap_err();
            assert!(error.starts_with(&format!("--control-socket {bad}: ")), "{error}");
            assert!(error.contains(problem), "{bad}: {error}");
            assert!(error.contains(r"\\.\pipe\proxy-wifi-control"), "{error}");
        }
    }
}
