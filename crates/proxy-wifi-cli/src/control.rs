//! The operator control channel: `serve` listens on a local socket that only the same
//! user can open; `proxy-wifi ctl` sends one JSON line and reads one JSON line back.
//!
//! * Linux and other Unix: a Unix domain socket, by default
//!   `$XDG_RUNTIME_DIR/proxy-wifi/control.sock` or `/tmp/proxy-wifi-UID/control.sock`, in
//!   a directory of mode 0700, socket mode 0600, and the peer's uid checked on accept.
//! * Windows: the named pipe `\\.\pipe\proxy-wifi-control`, remote clients rejected.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use proxy_wifi::ServiceHandle;
use proxy_wifi::{HostNetworkKind, SimulationControl};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::Notify;

use crate::cli::{CtlArgs, CtlCommand, HostNetworkArg, ScanModeArg};

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
}

impl ControlAnswer {
    fn ok(message: impl Into<String>) -> Self {
        Self { ok: true, message: message.into(), status: None }
    }
    fn error(message: impl Into<String>) -> Self {
        Self { ok: false, message: message.into(), status: None }
    }
}

/// Carries out one command on the service (`shutdown` is only answered here: the
/// connection's server asks `serve` to stop once the answer is sent).
pub fn execute(service: &ServiceHandle, command: CtlCommand) -> ControlAnswer {
    match command {
        CtlCommand::Status => {
            return ControlAnswer { ok: true, message: String::new(), status: Some(service.status()) };
        }
        CtlCommand::Shutdown => return ControlAnswer::ok("the service is stopping"),
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
        CtlCommand::Status | CtlCommand::Shutdown => unreachable!("handled by execute"),
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
                tracing::info!(?command, "control command");
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

/// `proxy-wifi ctl ...`.
pub async fn run_ctl(args: CtlArgs) -> Result<ExitCode, String> {
    let path = args.control_socket.clone().map_or_else(default_location, Ok)?;
    #[cfg(windows)]
    check_pipe_name("--control-socket", &path)?;
    let stream = platform::connect(&path).await.map_err(|e| {
        format!(
            "cannot reach the service's control socket {}: {e}. Is `proxy-wifi serve` running (it prints where its control socket is)? Use `ctl --control-socket PATH` if it was started with --control-socket PATH.",
            path.display()
        )
    })?;
    let answer = request(stream, &args.command).await.map_err(|e| format!("control request failed: {e}"))?;
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

/// A running control listener; removes its socket file when dropped.
pub struct ControlServer {
    task: tokio::task::JoinHandle<()>,
    #[cfg_attr(not(unix), allow(dead_code))]
    path: PathBuf,
}

impl ControlServer {
    /// Starts listening at `path` (on Windows it must be `\\.\pipe\NAME`); `stop` is told
    /// when a `shutdown` command has been answered.
    pub async fn start(path: PathBuf, service: Arc<ServiceHandle>, stop: Arc<Notify>) -> Result<Self, String> {
        #[cfg(windows)]
        check_pipe_name("--control-socket", &path)?;
        let task = platform::listen(&path, service, stop).await?;
        Ok(Self { task, path })
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
        self.task.abort();
        #[cfg(unix)]
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(unix)]
mod platform {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use proxy_wifi::ServiceHandle;
    use tokio::net::{UnixListener, UnixStream};
    use tokio::sync::Notify;

    fn current_uid() -> Option<u32> {
        std::fs::metadata("/proc/self").ok().map(|m| m.uid())
    }

    pub fn default_location() -> Result<PathBuf, String> {
        if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(dir).join("proxy-wifi").join("control.sock"));
        }
        let uid =
            current_uid().map_or_else(|| std::env::var("USER").unwrap_or_else(|_| "user".into()), |u| u.to_string());
        Ok(std::env::temp_dir().join(format!("proxy-wifi-{uid}")).join("control.sock"))
    }

    /// Creates the socket's directory (0700) or checks an existing one is private.
    fn prepare_directory(dir: &Path) -> Result<(), String> {
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| format!("cannot create the control socket directory {}: {e}", dir.display()))?;
        }
        let meta = std::fs::metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if let Some(uid) = current_uid() {
            if meta.uid() != uid {
                return Err(format!(
                    "the control socket directory {} belongs to uid {}, not to this user (uid {uid}); choose another with --control-socket",
                    dir.display(),
                    meta.uid()
                ));
            }
        }
        if meta.mode() & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| format!("cannot make {} private: {e}", dir.display()))?;
        }
        Ok(())
    }

    pub async fn listen(
        path: &Path,
        service: Arc<ServiceHandle>,
        stop: Arc<Notify>,
    ) -> Result<tokio::task::JoinHandle<()>, String> {
        if let Some(dir) = path.parent() {
            prepare_directory(dir)?;
        }
        if path.exists() {
            if UnixStream::connect(path).await.is_ok() {
                return Err(format!(
                    "another service already listens on the control socket {}; use --control-socket PATH or --no-control",
                    path.display()
                ));
            }
            let _ = std::fs::remove_file(path);
        }
        let listener =
            UnixListener::bind(path).map_err(|e| format!("cannot open the control socket {}: {e}", path.display()))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot restrict the control socket {}: {e}", path.display()))?;
        let own_uid = current_uid();
        Ok(tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let peer_uid = stream.peer_cred().ok().map(|c| c.uid());
                if own_uid.is_some() && peer_uid != own_uid {
                    tracing::warn!(?peer_uid, "control connection from another user refused");
                    continue;
                }
                tokio::spawn(super::serve_connection(stream, service.clone(), stop.clone()));
            }
        }))
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

    pub fn default_location() -> Result<PathBuf, String> {
        Ok(PathBuf::from(super::DEFAULT_PIPE))
    }

    pub async fn listen(
        path: &Path,
        service: Arc<ServiceHandle>,
        stop: Arc<Notify>,
    ) -> Result<tokio::task::JoinHandle<()>, String> {
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
        Ok(tokio::spawn(async move {
            loop {
                if server.connect().await.is_err() {
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
        }))
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

    use super::check_pipe_name;

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
