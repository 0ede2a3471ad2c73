//! What other local users cannot do to `proxy-wifi` (issue 25 items 7, 9 and 11): make a
//! root service use their directory, plant a control socket for `ctl`, or read a process
//! that holds guest keys. Run as root (as CI does), the user's side is played by `nobody`
//! (uid 65534); run as another user, that user plays it and the root-only parts say
//! SKIPPED.
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;

/// The uid that plays a local user other than root.
const NOBODY: u32 = 65534;

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The uid of the "local user" these tests run the binary as: `nobody` when the tests
/// run as root, else the tests' own user.
fn user() -> u32 {
    if is_root() { NOBODY } else { rustix::process::geteuid().as_raw() }
}

/// The binary, where `nobody` can run it: the build's own if every directory above it
/// lets others in, else a link or copy in `TMPDIR/proxy-wifi-test-bin-PID` (those of
/// earlier runs, whose process is gone, are removed first).
fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let built = cargo_bin("proxy-wifi");
        let open_to_others = built.ancestors().all(|p| std::fs::metadata(p).is_ok_and(|m| m.mode() & 0o001 != 0));
        if open_to_others || !is_root() {
            return built;
        }
        const PREFIX: &str = "proxy-wifi-test-bin-";
        for entry in std::fs::read_dir(std::env::temp_dir()).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let gone = name.strip_prefix(PREFIX).is_some_and(|pid| !Path::new("/proc").join(pid).exists());
            if gone {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let dir = std::env::temp_dir().join(format!("{PREFIX}{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let copy = dir.join("proxy-wifi");
        if std::fs::hard_link(&built, &copy).is_err() {
            std::fs::copy(&built, &copy).unwrap();
        }
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
        copy
    })
}

/// `proxy-wifi` run as [`user`], with no `XDG_RUNTIME_DIR` and no `RUST_LOG`.
fn as_user() -> Command {
    let mut command = Command::new(binary());
    command.env_remove("XDG_RUNTIME_DIR").env_remove("RUST_LOG").current_dir("/");
    if is_root() {
        command.uid(NOBODY).gid(NOBODY);
    }
    command
}

/// `proxy-wifi` run as this test's own user (root in CI).
fn as_self() -> Command {
    let mut command = Command::new(cargo_bin("proxy-wifi"));
    command.env_remove("XDG_RUNTIME_DIR").env_remove("RUST_LOG");
    command
}

/// A directory `nobody` can enter (a temporary directory is 0700 and root's).
fn open_tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn free_port() -> String {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port().to_string()
}

/// Runs `command` for at most `limit`; its output, and whether it ended by itself.
fn run_for(command: &mut Command, limit: Duration) -> (Output, bool) {
    let mut child = command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + limit;
    let ended = loop {
        if child.try_wait().unwrap().is_some() {
            break true;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break false;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (child.wait_with_output().unwrap(), ended)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A `serve` that is killed when dropped.
struct Serving {
    child: Child,
    banner: String,
}

impl Serving {
    /// Starts `command` (a `serve`) and reads stdout up to its control socket line (or
    /// its end); stderr goes to `log`.
    fn start(command: &mut Command, log: &Path) -> Serving {
        Serving::start_until(command, log, "control socket")
    }

    /// Starts `command` and reads stdout up to `marker` (or its end).
    fn start_until(command: &mut Command, log: &Path, marker: &str) -> Serving {
        let mut child =
            command.stdout(Stdio::piped()).stderr(Stdio::from(std::fs::File::create(log).unwrap())).spawn().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        while !banner.contains(marker) {
            let mut line = String::new();
            if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            banner.push_str(&line);
        }
        std::thread::spawn(move || for _ in stdout.lines() {});
        Serving { child, banner }
    }

    /// Sends SIGTERM; whether it exited within 10 s.
    fn terminate(&mut self) -> bool {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Issue 25 item 7: root with a user's `XDG_RUNTIME_DIR` (`su`, `sudo -E`) that holds a
/// link the user planted. The service puts its control socket in /run/proxy-wifi, never
/// in that directory; `ctl` as root finds it there; at stop nothing outside is touched.
#[cfg(target_os = "linux")]
#[test]
fn a_root_service_never_uses_a_users_runtime_dir() {
    if !is_root() {
        eprintln!("SKIPPED: a root service needs root");
        return;
    }
    let root_socket = Path::new("/run/proxy-wifi/control.sock");
    if std::os::unix::net::UnixStream::connect(root_socket).is_ok() {
        eprintln!("SKIPPED: a service already listens on {}", root_socket.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let runtime = tmp.path().join("run-user");
    std::fs::create_dir(&runtime).unwrap();
    std::os::unix::fs::chown(&runtime, Some(NOBODY), Some(NOBODY)).unwrap();
    let victim = tmp.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(victim.join("control.sock"), b"precious").unwrap();
    std::os::unix::fs::symlink(&victim, runtime.join("proxy-wifi")).unwrap();
    let untouched = |when: &str| {
        let names: Vec<_> = std::fs::read_dir(&runtime).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["proxy-wifi"], "{when}: the user's runtime directory holds only the planted link");
        assert_eq!(std::fs::read(victim.join("control.sock")).unwrap(), b"precious", "{when}: the link's target");
        assert_eq!(std::fs::metadata(&victim).unwrap().mode() & 0o777, 0o755, "{when}: the target's mode");
    };

    let mut serve = as_self();
    serve.env("XDG_RUNTIME_DIR", &runtime).args(["serve", "--no-config", "--request-port"]);
    serve.arg(free_port()).arg("--notification-port").arg(free_port());
    let log = tmp.path().join("serve.log");
    let mut serving = Serving::start(&mut serve, &log);
    let logs = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        serving.banner.contains("control socket /run/proxy-wifi/control.sock"),
        "root's control socket is in /run/proxy-wifi; stdout:\n{}stderr:\n{}",
        serving.banner,
        logs()
    );
    untouched("serving");
    let mode = std::fs::symlink_metadata("/run/proxy-wifi").unwrap();
    assert!(mode.is_dir() && mode.uid() == 0 && mode.mode() & 0o077 == 0, "/run/proxy-wifi: {mode:?}");

    let status = as_self().env("XDG_RUNTIME_DIR", &runtime).args(["ctl", "status"]).output().unwrap();
    assert!(status.status.success(), "ctl as root looks in /run/proxy-wifi: {}", text(&status.stderr));

    assert!(serving.terminate(), "serve stops on SIGTERM; stderr:\n{}", logs());
    assert!(!root_socket.exists(), "the service removes its socket at stop");
    untouched("stopped");
}

/// The user's side of item 7 (unchanged for a user other than root): their own default
/// directory may not be a link or another user's, and nothing is done through it.
#[test]
fn a_users_default_control_directory_may_not_be_a_link_or_another_users() {
    let runtime = open_tempdir();
    std::os::unix::fs::chown(runtime.path(), Some(user()), None).unwrap();
    let victim = runtime.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(victim.join("control.sock"), b"precious").unwrap();
    let control_dir = runtime.path().join("proxy-wifi");
    std::os::unix::fs::symlink(&victim, &control_dir).unwrap();
    let serve = || {
        let mut command = as_user();
        command.env("XDG_RUNTIME_DIR", runtime.path()).args(["serve", "--no-config", "--request-port"]);
        command.arg(free_port()).arg("--notification-port").arg(free_port());
        run_for(&mut command, Duration::from_secs(20))
    };

    let (out, ended) = serve();
    let logs = text(&out.stderr);
    assert!(ended && out.status.code() == Some(1), "serve must refuse a linked control directory:\n{logs}");
    assert!(logs.contains(&control_dir.display().to_string()) && logs.contains("symbolic link"), "{logs}");
    assert_eq!(std::fs::metadata(&victim).unwrap().mode() & 0o777, 0o755, "the link's target keeps its mode");
    assert_eq!(std::fs::read(victim.join("control.sock")).unwrap(), b"precious", "nothing deleted through the link");

    // A directory made by another user: root's, when the tests run as root.
    std::fs::remove_file(&control_dir).unwrap();
    std::fs::create_dir(&control_dir).unwrap();
    if is_root() {
        let (out, ended) = serve();
        let logs = text(&out.stderr);
        assert!(ended && out.status.code() == Some(1), "serve must refuse another user's directory:\n{logs}");
        assert!(logs.contains(&control_dir.display().to_string()) && logs.contains("belongs to uid 0"), "{logs}");
    } else {
        eprintln!("SKIPPED (another user's directory): making one needs root");
    }
}

/// A socket planted where `ctl` looks, as whoever could write to that directory would:
/// it counts the connections it gets.
struct Planted {
    listener: std::os::unix::net::UnixListener,
}

impl Planted {
    fn at(path: &Path) -> Planted {
        let listener = std::os::unix::net::UnixListener::bind(path).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777)).unwrap();
        listener.set_nonblocking(true).unwrap();
        Planted { listener }
    }

    fn was_reached(&self) -> bool {
        self.listener.accept().is_ok()
    }
}

/// Issue 25 item 11: `ctl` as a user without `XDG_RUNTIME_DIR` looks in
/// `/tmp/proxy-wifi-UID` (here `$TMPDIR/proxy-wifi-UID`). It checks that the directory is
/// theirs, a real directory and 0700 before it connects: a socket planted in a directory
/// open to others, or in another user's, never gets the command. The service holds the
/// directory to the same rule.
#[test]
fn ctl_without_a_runtime_dir_trusts_only_a_private_directory_of_its_user() {
    // Stands for /tmp: everyone may create entries, only their owner remove them.
    let tmp = open_tempdir();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let dir = tmp.path().join(format!("proxy-wifi-{}", user()));
    let ctl = || {
        let mut command = as_user();
        command.env("TMPDIR", tmp.path()).args(["ctl", "status"]);
        run_for(&mut command, Duration::from_secs(10))
    };
    let shown = dir.display().to_string();

    // Open to everyone (made by the user, or left so): another user planted the socket.
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::chown(&dir, Some(user()), Some(user())).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let planted = Planted::at(&dir.join("control.sock"));
    let (out, ended) = ctl();
    let error = text(&out.stderr);
    assert!(!planted.was_reached(), "ctl sent its command to a socket in a 0777 directory: {error}");
    assert!(ended && out.status.code() == Some(1), "ctl must refuse the directory: {error}");
    for part in [shown.as_str(), "has mode 0777", &format!("uid {}", user()), "mode 0700"] {
        assert!(error.contains(part), "the error names {part:?}: {error}");
    }

    // The service refuses a directory with access for group or others too (0750 here):
    // it never starts where its `ctl` would refuse to follow.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o750)).unwrap();
    std::fs::remove_file(dir.join("control.sock")).unwrap();
    let mut serve = as_user();
    serve.env("TMPDIR", tmp.path()).args(["serve", "--no-config", "--request-port"]);
    serve.arg(free_port()).arg("--notification-port").arg(free_port());
    let (out, ended) = run_for(&mut serve, Duration::from_secs(20));
    let logs = text(&out.stderr);
    assert!(ended && out.status.code() == Some(1), "serve must refuse a 0750 control directory:\n{logs}");
    assert!(logs.contains(&shown) && logs.contains("has mode 0750"), "{logs}");

    // Another user's directory (root's, when the tests run as root), private or not.
    if is_root() {
        std::fs::remove_dir(&dir).unwrap();
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let planted = Planted::at(&dir.join("control.sock"));
        let (out, ended) = ctl();
        let error = text(&out.stderr);
        assert!(!planted.was_reached(), "ctl sent its command to a socket in root's directory: {error}");
        assert!(ended && out.status.code() == Some(1), "ctl must refuse the directory: {error}");
        assert!(error.contains(&shown) && error.contains("belongs to uid 0"), "{error}");
    } else {
        eprintln!("SKIPPED (another user's directory): making one needs root");
    }

    // Missing: the service makes it 0700, and `ctl` then reaches the service.
    let _ = std::fs::remove_file(dir.join("control.sock"));
    std::fs::remove_dir(&dir).unwrap();
    let mut serve = as_user();
    serve.env("TMPDIR", tmp.path()).args(["serve", "--no-config", "--request-port"]);
    serve.arg(free_port()).arg("--notification-port").arg(free_port());
    let log = tmp.path().join("serve.log");
    let mut serving = Serving::start(&mut serve, &log);
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    let banner = &serving.banner;
    assert!(
        banner.contains(&format!("control socket {shown}/control.sock")),
        "{banner}; stderr:
{logs}"
    );
    let made = std::fs::symlink_metadata(&dir).unwrap();
    assert_eq!((made.uid(), made.mode() & 0o7777), (user(), 0o700), "the service makes the directory 0700");
    let (out, _) = ctl();
    assert!(out.status.success(), "ctl reaches the service: {}", text(&out.stderr));
    assert!(serving.terminate());
}

/// Who owns `/proc/PID/status`: the process's user while it is dumpable, root once it
/// is not (`prctl(PR_SET_DUMPABLE, 0)`).
#[cfg(target_os = "linux")]
fn proc_owner(pid: u32) -> u32 {
    std::fs::metadata(format!("/proc/{pid}/status")).unwrap().uid()
}

/// Issue 25 item 9: the service, and a guest client while it holds a passphrase, are
/// not dumpable: no core dump, no ptrace or /proc reading by other processes of their
/// user (their /proc files belong to root).
#[cfg(target_os = "linux")]
#[test]
fn the_service_and_a_guest_client_holding_a_key_are_not_dumpable() {
    let tmp = open_tempdir();
    let mut serve = as_user();
    serve.args(["serve", "--no-config", "--no-control", "--request-port"]);
    serve.arg(free_port()).arg("--notification-port").arg(free_port());
    let log = tmp.path().join("serve.log");
    let serving = Serving::start_until(&mut serve, &log, "proxy-wifi: serving");
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(serving.banner.contains("proxy-wifi: serving"), "{}; stderr:\n{logs}", serving.banner);
    let owner = proc_owner(serving.child.id());
    assert_eq!(owner, 0, "/proc/PID/status of a serve run by uid {} belongs to uid {owner}: it is dumpable", user());
    drop(serving);

    // A host that takes the request and never answers: the client waits, holding the key.
    let host = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    host.set_nonblocking(true).unwrap();
    let port = host.local_addr().unwrap().port().to_string();
    let mut client = as_user()
        .args(["guest", "--request-port", &port, "--notification-port", &free_port(), "--timeout", "60"])
        .args(["connect", "SomeNet", "--passphrase", "secretsecret"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let _request = loop {
        match host.accept() {
            Ok(accepted) => break accepted,
            Err(_) if Instant::now() < deadline && client.try_wait().unwrap().is_none() => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("the guest client never sent its request ({e}); it ended: {:?}", client.try_wait()),
        }
    };
    let owner = proc_owner(client.id());
    let _ = client.kill();
    let _ = client.wait();
    assert_eq!(owner, 0, "/proc/PID/status of a guest client run by uid {} belongs to uid {owner}", user());
}

/// Issue 25 item 7, the guest client's side: root with a user's `XDG_RUNTIME_DIR` whose
/// `proxy-wifi` is a link the user planted. `guest connect` remembers its session only
/// in a runtime directory of its own user: nothing is written through the link.
#[test]
fn a_root_guest_client_writes_nothing_in_a_users_runtime_dir() {
    if !is_root() {
        eprintln!("SKIPPED: another user's runtime directory needs root");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let runtime = tmp.path().join("run-user");
    std::fs::create_dir(&runtime).unwrap();
    std::os::unix::fs::chown(&runtime, Some(NOBODY), Some(NOBODY)).unwrap();
    let victim = tmp.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    std::os::unix::fs::symlink(&victim, runtime.join("proxy-wifi")).unwrap();

    let ports = [free_port(), free_port()];
    let mut serve = as_self();
    serve.args(["serve", "--no-config", "--no-control", "--request-port", &ports[0], "--notification-port", &ports[1]]);
    let serving = Serving::start_until(&mut serve, &tmp.path().join("serve.log"), "proxy-wifi: serving");
    assert!(serving.banner.contains("proxy-wifi: serving"), "{}", serving.banner);
    let connect = as_self()
        .env("XDG_RUNTIME_DIR", &runtime)
        .args(["guest", "--request-port", &ports[0], "--notification-port", &ports[1], "connect", "FakeOpen"])
        .output()
        .unwrap();
    assert!(connect.status.success(), "{}", text(&connect.stderr));
    let written: Vec<_> = std::fs::read_dir(&victim).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(written.is_empty(), "root wrote {written:?} through the user's link");
}

/// Issue 25 item 9: `--passphrase-file -` on a terminal prompts and reads without echo
/// (the terminal is `script`'s pseudo-terminal; the passphrase is typed once the prompt
/// is shown, as a person would).
#[cfg(target_os = "linux")]
#[test]
fn the_passphrase_typed_on_a_terminal_is_not_echoed() {
    use std::io::{Read, Write};
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIPPED: no script(1) to give the client a terminal");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let ports = [free_port(), free_port()];
    let mut serve = as_self();
    serve.args(["serve", "--no-config", "--no-control", "--request-port", &ports[0], "--notification-port", &ports[1]]);
    let serving = Serving::start_until(&mut serve, &tmp.path().join("serve.log"), "proxy-wifi: serving");
    assert!(serving.banner.contains("proxy-wifi: serving"), "{}", serving.banner);

    let client = format!(
        "{} guest --request-port {} --notification-port {} connect FakeWpa2Psk --passphrase-file -",
        cargo_bin("proxy-wifi").display(),
        ports[0],
        ports[1]
    );
    let mut terminal = Command::new("script")
        .args(["-qec", &client, "/dev/null"])
        .env_remove("XDG_RUNTIME_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut screen = terminal.stdout.take().unwrap();
    let mut shown = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&shown).contains("passphrase for FakeWpa2Psk: ") && Instant::now() < deadline {
        if screen.read(&mut byte).unwrap_or(0) == 0 {
            break;
        }
        shown.push(byte[0]);
    }
    assert!(String::from_utf8_lossy(&shown).contains("passphrase for FakeWpa2Psk: "), "no prompt: {shown:?}");
    // The prompt is written just before echo is turned off: give that a moment.
    std::thread::sleep(Duration::from_secs(1));
    terminal.stdin.take().unwrap().write_all(b"secretsecret\n").unwrap();
    screen.read_to_end(&mut shown).unwrap();
    let _ = terminal.wait();
    let shown = String::from_utf8_lossy(&shown);
    assert!(shown.contains("connected to FakeWpa2Psk"), "{shown}");
    assert!(!shown.contains("secretsecret"), "the passphrase was echoed: {shown}");
}
