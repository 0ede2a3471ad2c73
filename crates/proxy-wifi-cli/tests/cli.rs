//! The `proxy-wifi` binary over real processes: serve, guest, ctl. Runs on Linux and, as
//! Windows programs, under Wine (control pipes `\\.\pipe\NAME`, stopped with `ctl shutdown`).

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;

/// Two distinct free TCP ports on loopback (request, notification).
fn free_ports() -> (u16, u16) {
    let a = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let b = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    (a.local_addr().unwrap().port(), b.local_addr().unwrap().port())
}

/// The `--request-port`/`--notification-port` flags of `ports`.
fn port_flags(ports: (u16, u16)) -> Vec<String> {
    vec!["--request-port".into(), ports.0.to_string(), "--notification-port".into(), ports.1.to_string()]
}

/// A control socket of this test only: a file in `dir` on Unix, a named pipe on Windows.
#[cfg(unix)]
fn private_control_socket(dir: &std::path::Path) -> PathBuf {
    dir.join("control.sock")
}

#[cfg(windows)]
fn private_control_socket(_dir: &std::path::Path) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    PathBuf::from(format!(r"\\.\pipe\proxy-wifi-cli-test-{}-{n}", std::process::id()))
}

/// A child process whose stderr goes to a file; on a failing test (a panic while it is
/// alive) the file is printed, so the test's output shows what the server said.
struct Logged {
    child: Child,
    log: PathBuf,
}

impl Logged {
    /// Spawns `command` with its stderr to `log`.
    fn spawn(command: &mut Command, log: PathBuf) -> Logged {
        let file = std::fs::File::create(&log).unwrap();
        let child = command.stderr(Stdio::from(file)).spawn().unwrap();
        Logged { child, log }
    }

    /// What the child wrote to stderr so far.
    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its logs after it ended (waits up to 5 s for the exit, so that they are complete).
    fn logs_after_exit(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.child.try_wait().unwrap().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.logs()
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- stderr of the server ({}):\n{}--- end", self.log.display(), self.logs());
        }
    }
}

struct Server {
    process: Logged,
    first_line: String,
    control: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts `proxy-wifi serve ARGS` with a private control socket; waits for its banner.
    fn start<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Server {
        Server::start_with(&[], args)
    }

    /// Starts `proxy-wifi GLOBAL serve ARGS`, its logs to a file (see [`Server::logs`]).
    fn start_with<S: AsRef<std::ffi::OsStr>>(global: &[&str], args: &[S]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let control = private_control_socket(dir.path());
        let mut command = Command::new(cargo_bin("proxy-wifi"));
        command.args(global).arg("serve").args(args).arg("--control-socket").arg(&control).stdout(Stdio::piped());
        let mut process = Logged::spawn(&mut command, dir.path().join("serve.log"));
        let mut stdout = BufReader::new(process.child.stdout.take().unwrap());
        let mut first_line = String::new();
        stdout.read_line(&mut first_line).unwrap();
        if !first_line.starts_with("proxy-wifi: serving") {
            panic!("banner: {first_line:?}; stderr:\n{}", process.logs_after_exit());
        }
        // Keep draining stdout so the server never blocks on it.
        std::thread::spawn(move || for _ in stdout.lines() {});
        Server { process, first_line, control, _dir: dir }
    }

    /// What the server wrote to stderr so far.
    #[cfg(windows)]
    fn logs(&self) -> String {
        self.process.logs()
    }

    /// Starts `serve` on two free ports; returns it and the ports.
    fn start_on_free_ports(extra: &[&str]) -> (Server, (u16, u16)) {
        let ports = free_ports();
        let mut args = port_flags(ports);
        args.extend(extra.iter().map(|a| a.to_string()));
        (Server::start(&args), ports)
    }

    fn ctl(&self, args: &[&str]) -> std::process::Output {
        Command::new(cargo_bin("proxy-wifi")).arg("ctl").arg("--socket").arg(&self.control).args(args).output().unwrap()
    }

    /// Whether the process exits cleanly within 10 s (its logs are printed when not).
    fn exits_cleanly(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        let clean = loop {
            if let Some(status) = self.process.child.try_wait().unwrap() {
                break status.success();
            }
            if Instant::now() > deadline {
                let _ = self.process.child.kill();
                break false;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if !clean {
            eprintln!("--- the server did not exit cleanly; its stderr:\n{}--- end", self.process.logs());
        }
        clean
    }

    /// Stops it the way its platform's service managers do (SIGTERM on Unix; on Windows,
    /// where a console-less process gets no signal, `ctl shutdown`) and returns whether it
    /// exited cleanly.
    fn terminate(mut self) -> bool {
        #[cfg(unix)]
        {
            let pid = self.process.child.id().to_string();
            Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        }
        #[cfg(windows)]
        {
            let stop = self.ctl(&["shutdown"]);
            assert!(stop.status.success(), "{}", stderr(&stop));
        }
        self.exits_cleanly()
    }
}

/// `proxy-wifi guest` against `ports`, with 2 s (not the driver's 10 ms) for each
/// notification to arrive: a loaded machine, or Wine, can be slower. Without
/// `XDG_RUNTIME_DIR`, so that it remembers no session in the user's runtime directory.
fn guest(ports: (u16, u16), args: &[&str]) -> std::process::Output {
    guest_in(None, ports, args)
}

/// `guest ARGS` with `XDG_RUNTIME_DIR` set to `runtime` (where the client remembers its
/// session), or unset.
fn guest_in(runtime: Option<&Path>, ports: (u16, u16), args: &[&str]) -> std::process::Output {
    let mut command = Command::new(cargo_bin("proxy-wifi"));
    match runtime {
        Some(dir) => command.env("XDG_RUNTIME_DIR", dir),
        None => command.env_remove("XDG_RUNTIME_DIR"),
    };
    command.arg("guest").args(port_flags(ports)).args(["--notification-read-ms", "2000"]).args(args).output().unwrap()
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Zero configuration apart from the ports: free ones, so that a `serve` already running
/// on the default ports (as the README starts it) cannot answer in this test's place.
#[test]
fn zero_config_serve_then_guest_scan_shows_the_simulated_networks() {
    let (server, ports) = Server::start_on_free_ports(&[]);
    assert!(server.first_line.contains("simulated"), "{}", server.first_line);
    let hint = format!("proxy-wifi guest --request-port {} --notification-port {} scan", ports.0, ports.1);
    assert!(server.first_line.contains(&hint), "{}", server.first_line);
    let scan = guest(ports, &["scan"]);
    assert!(scan.status.success(), "{}", stderr(&scan));
    let text = stdout(&scan);
    for name in ["FakeWpa2Psk", "FakeOpen", "Fake6GHz"] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
    assert!(text.lines().any(|l| l.contains("FakeWpa2Psk") && l.contains("WPA2-PSK") && l.contains("2432")));
    let json = guest(ports, &["scan", "--json"]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("scan --json parses");
    assert_eq!(value["complete"], true);
    assert_eq!(value["networks"].as_array().unwrap().len(), 3);
    assert_eq!(value["networks"][2]["frequency_mhz"], 6115);
    assert!(server.terminate(), "clean exit on SIGTERM (Windows: ctl shutdown)");
}

#[test]
fn ctl_shutdown_stops_serve_cleanly() {
    let (mut server, _) = Server::start_on_free_ports(&[]);
    let stop = server.ctl(&["shutdown"]);
    assert!(stop.status.success(), "{}", stderr(&stop));
    assert!(stdout(&stop).contains("stopping"), "{}", stdout(&stop));
    assert!(server.exits_cleanly(), "clean exit after ctl shutdown");
}

#[test]
fn guest_connect_with_right_and_wrong_passphrase() {
    let (server, ports) = Server::start_on_free_ports(&[]);
    let wrong = guest(ports, &["connect", "FakeWpa2Psk", "--passphrase", "wrongwrong"]);
    assert_eq!(wrong.status.code(), Some(4), "wrong key exits 4: {}", stderr(&wrong));
    assert!(stderr(&wrong).contains("wrong key: result 15 CHALLENGE_FAILURE"), "{}", stderr(&wrong));
    let right = guest(ports, &["connect", "FakeWpa2Psk", "--passphrase", "secretsecret", "--json"]);
    assert!(right.status.success(), "{}", stderr(&right));
    let value: serde_json::Value = serde_json::from_slice(&right.stdout).unwrap();
    assert_eq!(value["success"], true);
    assert_eq!(value["bssid"], "00:00:00:00:00:01");
    assert_eq!(value["session_id"], 2);
    let status = server.ctl(&["status", "--json"]);
    let value: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(value["guests"]["tcp:127.0.0.1"]["connection"]["ssid"], "FakeWpa2Psk");
    assert_eq!(value["guests"]["tcp:127.0.0.1"]["connection"]["interface"], "sim0");
    assert_eq!(value["guests"]["tcp:127.0.0.1"]["connection"]["kind"], "guest-directed");
    assert_eq!(value["interfaces"][0]["backend"], "simulated");
    assert_eq!(value["listen"]["requests"], format!("tcp:127.0.0.1:{}", ports.0));
    assert_eq!(value["version"], env!("CARGO_PKG_VERSION"));
    assert!(value.get("message").is_none(), "structured, no text: {value}");
    let text = stdout(&server.ctl(&["status"]));
    assert!(text.contains("sim0 (simulated"), "{text}");
    assert!(text.contains("tcp:127.0.0.1: connected to FakeWpa2Psk"), "{text}");
    let bye = guest(ports, &["disconnect", "1234"]);
    assert!(bye.status.success());
    // Without XDG_RUNTIME_DIR the client does not know the session; it states the rule.
    assert!(stdout(&bye).contains("ended its current connection if session 1234 is"), "{}", stdout(&bye));
    let status: serde_json::Value = serde_json::from_slice(&server.ctl(&["status", "--json"]).stdout).unwrap();
    assert!(status["guests"]["tcp:127.0.0.1"]["connection"].is_null(), "a newer id ends session 2: {status}");
}

/// `guest ARGS` (as [`guest`]) with `input` on its standard input (a pipe, not a terminal).
fn guest_with_stdin(ports: (u16, u16), args: &[&str], input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(cargo_bin("proxy-wifi"))
        .env_remove("XDG_RUNTIME_DIR")
        .arg("guest")
        .args(port_flags(ports))
        .args(["--notification-read-ms", "2000"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// Issue 25 item 9: the passphrase from a file or from standard input, off the command
/// line; one trailing newline is dropped, an empty one refused, the file named in errors.
#[test]
fn guest_connect_reads_the_passphrase_from_a_file_or_standard_input() {
    let (_server, ports) = Server::start_on_free_ports(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wifi-key");
    let path = file.to_str().unwrap();
    let connect = |args: &[&str]| guest(ports, &[&["connect", "FakeWpa2Psk"], args].concat());

    std::fs::write(&file, "secretsecret\n").unwrap();
    let right = connect(&["--passphrase-file", path]);
    assert!(right.status.success(), "{}", stderr(&right));
    std::fs::write(&file, "secretsecret\n\n").unwrap();
    let wrong = connect(&["--passphrase-file", path]);
    assert_eq!(wrong.status.code(), Some(4), "only one newline is dropped: {}", stderr(&wrong));
    let piped = guest_with_stdin(ports, &["connect", "FakeWpa2Psk", "--passphrase-file", "-"], b"secretsecret\n");
    assert!(piped.status.success(), "{}", stderr(&piped));

    std::fs::write(&file, "\n").unwrap();
    let empty = connect(&["--passphrase-file", path]);
    assert_eq!(empty.status.code(), Some(1));
    assert!(stderr(&empty).contains(&format!("--passphrase-file {path}: the secret is empty")), "{}", stderr(&empty));
    let piped = guest_with_stdin(ports, &["connect", "FakeWpa2Psk", "--passphrase-file", "-"], b"");
    assert!(stderr(&piped).contains("--passphrase-file - (standard input): the secret is empty"), "{}", stderr(&piped));
    std::fs::write(&file, "short\n").unwrap();
    let short = connect(&["--passphrase-file", path]);
    let expected = format!("--passphrase-file {path}: the passphrase has 5 characters");
    assert!(stderr(&short).contains(&expected), "{}", stderr(&short));
    let missing = dir.path().join("missing");
    let out = connect(&["--passphrase-file", missing.to_str().unwrap()]);
    assert!(
        stderr(&out).contains(&format!("--passphrase-file {}: cannot open it", missing.display())),
        "{}",
        stderr(&out)
    );
    let both = connect(&["--passphrase", "secretsecret", "--passphrase-file", path]);
    assert_eq!(both.status.code(), Some(2), "{}", stderr(&both));

    // An SAE password is read the same way (and sent: FakeWpa2Psk answers a security mismatch).
    std::fs::write(&file, "sae-secret\n").unwrap();
    let sae = connect(&["--sae-password-file", path]);
    assert_eq!(sae.status.code(), Some(7), "{}", stderr(&sae));

    let help = Command::new(cargo_bin("proxy-wifi")).args(["guest", "connect", "--help"]).output().unwrap();
    let help = stdout(&help);
    assert!(help.contains("/proc/PID/cmdline") && help.contains("--passphrase-file <FILE>"), "{help}");
}

/// `guest disconnect N` with N newer than the session of the last `guest connect` says
/// it ended that session (the protocol's rule), and an older N that it ended nothing.
#[test]
fn guest_disconnect_names_the_session_the_host_ended() {
    let (server, ports) = Server::start_on_free_ports(&[]);
    let runtime = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| guest_in(Some(runtime.path()), ports, args);
    for _ in 0..2 {
        assert!(run(&["connect", "FakeOpen"]).status.success());
    }
    let older = run(&["disconnect", "1"]);
    assert!(
        stdout(&older).starts_with("nothing ended: session 1 is older than the current session 2"),
        "{}",
        stdout(&older)
    );
    let newer = run(&["disconnect", "1234"]);
    assert!(stdout(&newer).contains("the host ended the current session 2"), "{}", stdout(&newer));
    let status: serde_json::Value = serde_json::from_slice(&server.ctl(&["status", "--json"]).stdout).unwrap();
    assert!(status["guests"]["tcp:127.0.0.1"]["connection"].is_null(), "{status}");
}

/// A failed connect gives the 802.11 code of its cause, and says where to look when the
/// code says little.
#[test]
fn a_failed_connect_names_its_cause_or_where_to_look() {
    let (_server, ports) = Server::start_on_free_ports(&[]);
    let open_to_psk = guest(ports, &["connect", "FakeWpa2Psk"]);
    assert_eq!(open_to_psk.status.code(), Some(7), "{}", stderr(&open_to_psk));
    let text = stderr(&open_to_psk);
    assert!(text.contains("security mismatch: result 43 INVALID_AKMP") && text.contains("--passphrase"), "{text}");
    let missing = guest(ports, &["connect", "NoSuchNet"]);
    assert_eq!(missing.status.code(), Some(3), "{}", stderr(&missing));
    let text = stderr(&missing);
    assert!(text.contains("result 1 UNSPECIFIED_FAILURE") && text.contains("`guest scan` lists"), "{text}");
    assert!(text.contains("proxy-wifi ctl status"), "{text}");
}

#[test]
fn guest_connect_exit_status_names_the_class_and_scan_ssid_shows_only_that_network() {
    let (_server, ports) = Server::start_on_free_ports(&[]);
    let unknown = guest(ports, &["connect", "NoSuchNetwork", "--json"]);
    assert_eq!(unknown.status.code(), Some(3), "unknown network exits 3: {}", stderr(&unknown));
    let value: serde_json::Value = serde_json::from_slice(&unknown.stdout).unwrap();
    assert_eq!((value["result_code"].as_u64(), value["result_name"].as_str()), (Some(1), Some("UNSPECIFIED_FAILURE")));
    let scan = guest(ports, &["scan", "--ssid", "FakeOpen", "--json"]);
    assert!(scan.status.success(), "{}", stderr(&scan));
    let value: serde_json::Value = serde_json::from_slice(&scan.stdout).unwrap();
    let names: Vec<&str> = value["networks"].as_array().unwrap().iter().map(|n| n["ssid"].as_str().unwrap()).collect();
    assert_eq!(names, ["FakeOpen"]);
}

/// `GET /metrics` over plain HTTP/1.1; returns the body of a 200 answer.
fn scrape(port: u16) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.to_ascii_lowercase().contains("content-type: application/openmetrics-text"), "{head}");
    body.to_string()
}

/// The value of the sample `name{labels}` in a scrape.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn metrics_are_served_on_loopback_and_count_what_the_guest_did() {
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
    let address = format!("127.0.0.1:{port}");
    let (server, ports) = Server::start_on_free_ports(&["--metrics", &address]);
    let before = scrape(port);
    assert_eq!(sample(&before, "proxy_wifi_guests"), Some(0.0), "{before}");
    assert!(guest(ports, &["scan", "--no-wait"]).status.success());
    assert_eq!(guest(ports, &["connect", "FakeWpa2Psk", "--passphrase", "wrongwrong"]).status.code(), Some(4));
    assert!(guest(ports, &["connect", "FakeWpa2Psk", "--passphrase", "secretsecret"]).status.success());
    let text = scrape(port);
    let expected = [
        (r#"proxy_wifi_requests_total{operation="scan",result="ok"}"#, 1.0),
        (r#"proxy_wifi_requests_total{operation="connect",result="challenge_failure"}"#, 1.0),
        (r#"proxy_wifi_requests_total{operation="connect",result="success"}"#, 1.0),
        (r#"proxy_wifi_request_duration_seconds_count{operation="connect"}"#, 2.0),
        (r#"proxy_wifi_request_duration_seconds_bucket{le="+Inf",operation="scan"}"#, 1.0),
        ("proxy_wifi_guests", 1.0),
        (r#"proxy_wifi_connections{kind="guest-directed"}"#, 1.0),
        (r#"proxy_wifi_connections{kind="mirrored"}"#, 0.0),
        ("proxy_wifi_interfaces", 1.0),
        (r#"proxy_wifi_request_connections_total{outcome="answered"}"#, 3.0),
    ];
    for (series, value) in expected {
        assert_eq!(sample(&text, series), Some(value), "{series} in:\n{text}");
    }
    assert!(sample(&text, r#"proxy_wifi_notifications_total{outcome="sent"}"#).is_some(), "{text}");
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(server.terminate());

    let remote = Command::new(cargo_bin("proxy-wifi"))
        .args(["serve", "--no-config", "--no-control", "--metrics", "0.0.0.0:9560"])
        .output()
        .unwrap();
    assert!(!remote.status.success());
    assert!(stderr(&remote).contains("--metrics 0.0.0.0:9560: not a loopback address"), "{}", stderr(&remote));
}

#[test]
fn ctl_signal_40_reaches_guest_listen_as_minus_80_dbm() {
    let (server, ports) = Server::start_on_free_ports(&[]);
    let mut listen = Command::new(cargo_bin("proxy-wifi"))
        .arg("guest")
        .args(port_flags(ports))
        .args(["--notification-read-ms", "2000"])
        .args(["listen", "--json", "--count", "1", "--duration", "20"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the listener is bound.
    let mut stderr_lines = BufReader::new(listen.stderr.take().unwrap());
    let mut line = String::new();
    stderr_lines.read_line(&mut line).unwrap();
    assert!(line.contains("listening"), "{line}");
    let connect = guest(ports, &["connect", "FakeOpen"]);
    assert!(connect.status.success(), "{}", stderr(&connect));
    let signal = server.ctl(&["signal", "40"]);
    assert!(signal.status.success(), "{}", stderr(&signal));
    assert!(stdout(&signal).contains("-80 dBm"));
    let mut out = String::new();
    BufReader::new(listen.stdout.take().unwrap()).read_line(&mut out).unwrap();
    assert!(listen.wait().unwrap().success(), "listen ends after --count 1");
    let value: serde_json::Value = serde_json::from_str(&out).expect("listen --json line");
    assert_eq!(value, serde_json::json!({"type": "signal", "signal_dbm": -80}));
}

#[test]
fn ctl_host_disconnect_reaches_the_guest_and_bad_ctl_use_is_explained() {
    let (server, ports) = Server::start_on_free_ports(&[]);
    let none = server.ctl(&["host-disconnect"]);
    assert_eq!(none.status.code(), Some(1));
    assert!(stderr(&none).contains("not connected"), "{}", stderr(&none));
    let nowhere = if cfg!(windows) { r"\\.\pipe\proxy-wifi-nobody-listens" } else { "/nonexistent/proxy-wifi.sock" };
    let missing = Command::new(cargo_bin("proxy-wifi")).args(["ctl", "--socket", nowhere, "status"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains(nowhere), "{}", stderr(&missing));
    assert!(server.ctl(&["scan-mode", "async"]).status.success());
    let scan = guest(ports, &["scan", "--json"]);
    let value: serde_json::Value = serde_json::from_slice(&scan.stdout).unwrap();
    assert_eq!(value["complete"], true, "async scan completed by notification");
    assert_eq!(value["networks"].as_array().unwrap().len(), 3);
}

#[test]
fn networks_file_is_served_and_bad_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "[[network]]\nssid = \"LabNet\"\nsecurity = \"wpa3-sae\"\npassphrase = \"pw\"\nfrequency = 5180\n",
    )
    .unwrap();
    let (server, ports) = Server::start_on_free_ports(&["--networks", good.to_str().unwrap()]);
    assert!(server.first_line.contains("LabNet"), "{}", server.first_line);
    let scan = guest(ports, &["scan"]);
    assert!(stdout(&scan).lines().any(|l| l.contains("LabNet") && l.contains("WPA3-SAE") && l.contains("5180")));
    let sae = guest(ports, &["connect", "LabNet", "--sae-password", "pw"]);
    assert!(sae.status.success(), "{}", stderr(&sae));

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[network]]\nssid = \"X\"\nfrequency = 2500\n").unwrap();
    let out =
        Command::new(cargo_bin("proxy-wifi")).args(["serve", "--networks", bad.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    let message = stderr(&out);
    assert!(
        message.contains("bad.toml") && message.contains("line 3") && message.contains("frequency = 2500"),
        "{message}"
    );
    assert!(message.contains("2412-2484"), "{message}");
}

#[test]
fn bad_flags_name_the_value_and_the_valid_range() {
    let run = |args: &[&str]| Command::new(cargo_bin("proxy-wifi")).args(args).output().unwrap();
    let out = run(&["serve", "--request-port", "99999"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("99999") && stderr(&out).contains("1..=65535"), "{}", stderr(&out));
    let out = run(&["serve", "--transport", "vsock"]);
    assert!(stderr(&out).contains("--guest-cid"), "{}", stderr(&out));
    let out = run(&["serve", "--transport", "carrier-pigeon"]);
    assert!(stderr(&out).contains("carrier-pigeon") && stderr(&out).contains("tcp"), "{}", stderr(&out));
    let out = run(&["serve", "--fake-network", "Corp=zz"]);
    assert!(stderr(&out).contains("\"zz\" is not a BSSID"), "{}", stderr(&out));
    let out = run(&["serve", "--vm-id", "not-a-guid"]);
    assert!(stderr(&out).contains("not-a-guid"), "{}", stderr(&out));
    let out = run(&["ctl", "signal", "140"]);
    assert!(stderr(&out).contains("140") && stderr(&out).contains("0..=100"), "{}", stderr(&out));
    let out = run(&["guest", "connect", "X", "--psk", "abc"]);
    assert!(stderr(&out).contains("64 hex digits"), "{}", stderr(&out));
    let out = run(&["serve", "--guest-cid", "7:old"]);
    assert!(stderr(&out).contains("\"old\" is unknown; valid values are current and legacy"), "{}", stderr(&out));
}

#[test]
fn a_legacy_guest_and_a_legacy_service_understand_each_other_and_a_mismatch_is_reported() {
    let (server, ports) = Server::start_on_free_ports(&["--guest-abi", "legacy"]);
    let mut banner = String::new();
    assert!(!server.first_line.contains("legacy"), "the layout has its own banner line: {}", server.first_line);
    banner.push_str(&server.first_line);
    let legacy = guest(ports, &["--abi", "legacy", "scan", "--json"]);
    assert!(legacy.status.success(), "{}", stderr(&legacy));
    let value: serde_json::Value = serde_json::from_slice(&legacy.stdout).unwrap();
    assert_eq!(value["networks"].as_array().unwrap().len(), 3, "{banner}");
    let current = guest(ports, &["scan", "--no-wait"]);
    assert!(!current.status.success(), "a current guest cannot read legacy answers");
    assert!(stderr(&current).contains("malformed message"), "{}", stderr(&current));
    assert!(server.terminate(), "clean exit");
}

#[cfg(windows)]
#[test]
fn on_windows_the_control_socket_must_be_a_named_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("control.sock");
    let ports = free_ports();
    let out = Command::new(cargo_bin("proxy-wifi"))
        .arg("serve")
        .args(port_flags(ports))
        .arg("--control-socket")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "serve refuses to start");
    let message = stderr(&out);
    assert!(message.contains(&format!("--control-socket {}", file.display())), "{message}");
    assert!(message.contains(r"\\.\pipe\NAME"), "{message}");
    let out = Command::new(cargo_bin("proxy-wifi")).args(["ctl", "--socket", r"\\.\pipe\", "status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("the pipe name is empty"), "{}", stderr(&out));

    // A second service on a pipe already owned is told so.
    if under_wine() {
        skipped(
            "a second service on an owned control pipe",
            "Wine 8 does not enforce FILE_FLAG_FIRST_PIPE_INSTANCE, so the second service would start",
        );
        return;
    }
    let (first, _) = Server::start_on_free_ports(&[]);
    let mut second = Command::new(cargo_bin("proxy-wifi"))
        .arg("serve")
        .args(port_flags(free_ports()))
        .arg("--control-socket")
        .arg(&first.control)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while second.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = second.kill();
    let out = second.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "the second service refuses to start");
    assert!(stderr(&out).contains("already owns the control pipe"), "{}", stderr(&out));
    assert!(first.terminate());
}

/// Set by `test-windows` for test binaries it runs under Wine.
#[cfg(windows)]
fn under_wine() -> bool {
    std::env::var_os("PROXY_WIFI_UNDER_WINE").is_some()
}

/// Says, past the test harness's output capture (so that it shows in every run's log),
/// which case is skipped and why.
#[cfg(windows)]
fn skipped(what: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED ({what}): {why}");
}

/// Runs `serve GLOBAL ARGS` on free ports until its banner, stops it with `ctl shutdown`,
/// and returns the banner, whether it exited cleanly and its logs.
#[cfg(windows)]
fn serve_and_stop(global: &[&str], args: &[&str]) -> (String, bool, String) {
    let mut flags = port_flags(free_ports());
    flags.extend(args.iter().map(|a| a.to_string()));
    let mut server = Server::start_with(global, &flags);
    let banner = server.first_line.clone();
    let stop = server.ctl(&["shutdown"]);
    assert!(stop.status.success(), "{}", stderr(&stop));
    let clean = server.exits_cleanly();
    (banner, clean, server.logs())
}

#[cfg(windows)]
#[test]
fn host_mode_without_wlan_notifications_serves_the_fake_networks() {
    let (banner, clean, logs) =
        serve_and_stop(&[], &["--mode", "host", "--allow-tcp-host-mode", "--fake-network", "CorpNet"]);
    assert!(banner.contains("the host's Wi-Fi"), "{banner}");
    assert!(clean, "clean exit; logs:\n{logs}");
    if under_wine() {
        // Wine limit: WlanRegisterNotification is not implemented; the log names the call.
        assert!(logs.contains("WlanRegisterNotification failed with Win32 error 120"), "{logs}");
        assert!(logs.contains("serving the fake networks only"), "{logs}");
    }
}

#[cfg(windows)]
#[test]
fn hyperv_transport_without_hyperv_sockets_says_what_is_missing() {
    if !under_wine() {
        skipped("the error without Hyper-V sockets", "this Windows may have them; Wine has none");
        return;
    }
    let out = Command::new(cargo_bin("proxy-wifi"))
        .args(["serve", "--transport", "hyperv", "--vm-id", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "--no-control"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert!(message.contains("Hyper-V sockets (AF_HYPERV) are not available on this machine"), "{message}");
    assert!(message.contains("Hyper-V enabled") && message.contains("os error 10047"), "{message}");
}

#[cfg(all(windows, feature = "etw"))]
#[test]
fn etw_logging_starts_with_the_service() {
    let (banner, clean, logs) = serve_and_stop(&["--etw"], &[]);
    assert!(banner.starts_with("proxy-wifi: serving"), "{banner}");
    assert!(clean, "clean exit; logs:\n{logs}");
    assert!(!logs.contains("warning"), "the ETW provider registers: {logs}");
}

#[test]
fn a_config_file_sets_what_the_flags_leave_and_contradictions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("nets.toml"),
        "[[network]]\nssid = \"FromConfig\"\nsecurity = \"wpa2-psk\"\npassphrase = \"config pass\"\n",
    )
    .unwrap();
    let ports = free_ports();
    let config = dir.path().join("proxy-wifi.toml");
    // The request port comes from the flag, the rest from the file (networks relative to it).
    std::fs::write(
        &config,
        format!("mode = \"simulated\"\nrequest-port = 1\nnotification-port = {}\nnetworks = \"nets.toml\"\n", ports.1),
    )
    .unwrap();
    let server = Server::start(&["--config", config.to_str().unwrap(), "--request-port", &ports.0.to_string()]);
    assert!(server.first_line.contains("FromConfig"), "{}", server.first_line);
    let connect = guest(ports, &["connect", "FromConfig", "--passphrase", "config pass"]);
    assert!(connect.status.success(), "{}", stderr(&connect));
    assert!(server.terminate());

    let serve = |args: &[&str]| Command::new(cargo_bin("proxy-wifi")).arg("serve").args(args).output().unwrap();
    std::fs::write(&config, "transport = \"vsock\"\n\n[[guest]]\nvsock-cid = 2000000\nabi = \"new\"\n").unwrap();
    let out = serve(&["--config", config.to_str().unwrap()]);
    assert!(!out.status.success());
    let message = stderr(&out);
    assert!(message.contains("proxy-wifi.toml, line 5: guest 1: abi = \"new\" is not valid"), "{message}");
    std::fs::write(&config, "any-guest = true\ndynamic-guests = true\n").unwrap();
    let out = serve(&["--config", config.to_str().unwrap()]);
    let message = stderr(&out);
    assert!(
        message.contains("any-guest = true (config file") && message.contains("line 2) contradict each other"),
        "{message}"
    );

    // A flag overrides the file and the file's settings that depend on it: --mode
    // simulated drops the file's backend and wpa-ctrl-dir instead of refusing them. The
    // path is a TOML literal string: a Windows path's backslashes are not escapes there.
    let host_file = format!(
        "mode = \"host\"\nallow-tcp-host-mode = true\nbackend = \"wpa-supplicant\"\n\
         wpa-ctrl-dir = '{}'\nnotification-port = {}\n",
        dir.path().join("no-wpa").display(),
        ports.1
    );
    std::fs::write(&config, host_file).unwrap();
    let server = Server::start(&[
        "--config",
        config.to_str().unwrap(),
        "--mode",
        "simulated",
        "--request-port",
        &ports.0.to_string(),
    ]);
    assert!(server.first_line.contains("simulated Wi-Fi"), "{}", server.first_line);
    assert!(server.terminate());
    // Without the flag, the error the file's host mode causes names the file (on Linux,
    // where the wpa-supplicant backend exists and fails at once on a missing directory).
    if cfg!(target_os = "linux") {
        let out =
            serve(&["--config", config.to_str().unwrap(), "--no-control", "--request-port", &ports.0.to_string()]);
        let message = stderr(&out);
        let note = format!("settings read from config file {}: ", config.display());
        assert!(!out.status.success() && message.contains(&note) && message.contains("backend, mode"), "{message}");
    }
    for (args, expected) in [
        (&["--any-guest", "--guest-cid", "3"][..], "--any-guest and --guest-cid 3 contradict each other"),
        (
            &["--transport", "vsock", "--guest-cid", "3", "--listen", "0.0.0.0"],
            "--listen 0.0.0.0 is an address of the tcp transport",
        ),
        (
            &["--mode", "simulated", "--backend", "networkmanager"],
            "--backend networkmanager chooses how the host's Wi-Fi",
        ),
    ] {
        let out = serve(&[&["--no-config"], args].concat());
        assert!(!out.status.success() && stderr(&out).contains(expected), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains(" { "), "no Debug text: {}", stderr(&out));
    }
}

/// Runs `serve ARGS` with `envs` and waits up to 20 s for it to end; returns its exit
/// code (`None` if it was still serving and had to be killed) and its stderr.
#[cfg(unix)]
fn serve_until_exit(envs: &[(&str, &std::ffi::OsStr)], args: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let mut child = Command::new(cargo_bin("proxy-wifi"))
        .args(["serve", "--no-config"])
        .args(port_flags(free_ports()))
        .args(args)
        .envs(envs.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (code, std::fs::read_to_string(&log).unwrap())
}

#[cfg(target_os = "linux")]
#[test]
fn host_mode_without_a_backend_exits_with_the_reason_unless_told_to_wait() {
    let tmp = tempfile::tempdir().unwrap();
    let ctrl_dir = tmp.path().join("wpa_supplicant");
    let ctrl = ctrl_dir.to_str().unwrap();
    let host_mode = [
        "--mode",
        "host",
        "--allow-tcp-host-mode",
        "--backend",
        "wpa-supplicant",
        "--wpa-ctrl-dir",
        ctrl,
        "--no-control",
    ];
    let (code, logs) = serve_until_exit(&[], &host_mode);
    assert_eq!(code, Some(1), "no backend and no fake network: serve must fail; logs:\n{logs}");
    assert!(logs.contains(ctrl) && logs.contains("--wait-for-backend"), "{logs}");

    // With --wait-for-backend it waits, and serves once the backend appears.
    let ports = free_ports();
    let mut command = Command::new(cargo_bin("proxy-wifi"));
    command.arg("serve").args(port_flags(ports)).args(host_mode).arg("--wait-for-backend").stdout(Stdio::piped());
    let mut serve = Logged::spawn(&mut command, tmp.path().join("serve.log"));
    // Nothing to poll for: it must still be waiting after a while.
    std::thread::sleep(Duration::from_millis(500));
    assert!(serve.child.try_wait().unwrap().is_none(), "serve --wait-for-backend exited before a backend appeared");
    std::fs::create_dir(&ctrl_dir).unwrap();
    let mut banner = String::new();
    BufReader::new(serve.child.stdout.take().unwrap()).read_line(&mut banner).unwrap();
    assert!(banner.starts_with("proxy-wifi: serving the host's Wi-Fi"), "banner: {banner:?}");
}

#[test]
fn ctl_guest_add_and_remove_change_the_guests_a_running_service_serves() {
    let (server, ports) = Server::start_on_free_ports(&["--dynamic-guests"]);
    let list = server.ctl(&["guest", "list"]);
    assert!(list.status.success(), "{}", stderr(&list));
    assert!(stdout(&list).contains("tcp transport serves no guest yet"), "{}", stdout(&list));
    let refused = guest(ports, &["scan", "--no-wait"]);
    assert!(!refused.status.success(), "not listed yet: {}", stdout(&refused));

    let add = server.ctl(&["guest", "add", "tcp:127.0.0.1"]);
    assert!(add.status.success() && stdout(&add).contains("tcp:127.0.0.1 added"), "{}", stderr(&add));
    let served = guest(ports, &["scan", "--no-wait"]);
    assert!(served.status.success(), "{}", stderr(&served));
    let list = server.ctl(&["--json", "guest", "list"]);
    let value: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(value["guests"]["listed"], serde_json::json!(["tcp:127.0.0.1"]), "{value}");

    let remove = server.ctl(&["guest", "remove", "tcp:127.0.0.1"]);
    assert!(remove.status.success() && stdout(&remove).contains("removed"), "{}", stderr(&remove));
    let refused = guest(ports, &["scan", "--no-wait"]);
    assert!(!refused.status.success(), "removed: {}", stdout(&refused));

    let wrong = server.ctl(&["guest", "add", "vsock:7"]);
    assert!(!wrong.status.success() && stderr(&wrong).contains("give a tcp:IP guest"), "{}", stderr(&wrong));
    let bad = server.ctl(&["guest", "add", "seven"]);
    assert!(stderr(&bad).contains("\"seven\" is not a guest"), "{}", stderr(&bad));
    assert!(server.terminate());

    // A service with one fixed guest says how to get a list that changes.
    let (server, _) = Server::start_on_free_ports(&[]);
    let fixed = server.ctl(&["guest", "add", "tcp:127.0.0.2"]);
    assert!(
        stderr(&fixed).contains("fixed at start") && stderr(&fixed).contains("--dynamic-guests"),
        "{}",
        stderr(&fixed)
    );
}

/// `proxy-wifi libvirt-hook --control-socket CONTROL DOMAIN OPERATION begin -`, the domain
/// XML fixture `xml` on stdin, as libvirt runs its qemu hooks.
#[cfg(target_os = "linux")]
fn libvirt_hook(control: &std::path::Path, operation: &str, xml: &str) -> std::process::Output {
    use std::io::Write;
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/libvirt").join(xml);
    let mut child = Command::new(cargo_bin("proxy-wifi"))
        .arg("libvirt-hook")
        .arg("--control-socket")
        .arg(control)
        .args(["wifi-vm", operation, "begin", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The hook leaves stdin unread for operations it ignores; libvirt takes the broken
    // pipe as that too.
    match child.stdin.take().unwrap().write_all(&std::fs::read(fixture).unwrap()) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {}
        written => written.unwrap(),
    }
    child.wait_with_output().unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn the_libvirt_hook_adds_a_started_vms_auto_cid_and_removes_it_at_release() {
    let ports = free_ports();
    let dir = tempfile::tempdir().unwrap();
    let control = dir.path().join("control.sock");
    let mut serve = Command::new(cargo_bin("proxy-wifi"))
        .args(["serve", "--transport", "vsock", "--dynamic-guests", "--mode", "simulated"])
        .args(port_flags(ports))
        .arg("--control-socket")
        .arg(&control)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("serve.log")).unwrap())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    let mut out = BufReader::new(serve.stdout.take().unwrap());
    out.read_line(&mut banner).unwrap();
    if !banner.starts_with("proxy-wifi: serving") {
        let _ = serve.kill();
        let _ = serve.wait();
        let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default();
        eprintln!("SKIPPED: the libvirt hook test: no vsock here: {log}");
        return;
    }
    // Keep draining stdout so the server never blocks on it.
    std::thread::spawn(move || for _ in out.lines() {});
    let guests = || {
        let out = Command::new(cargo_bin("proxy-wifi"))
            .args(["ctl", "--control-socket"])
            .arg(&control)
            .args(["guest", "list"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    assert!(guests().contains("no guest yet"), "{}", guests());

    let started = libvirt_hook(&control, "started", "started-auto-cid.xml");
    assert!(started.status.success());
    assert!(stderr(&started).contains("domain wifi-vm: vsock:3 added"), "{}", stderr(&started));
    assert!(guests().lines().any(|l| l == "vsock:3"), "{}", guests());
    // Operations other than start and end of life, and VMs without vsock, change nothing.
    for (operation, xml) in [("prepare", "fixed-cid.xml"), ("started", "no-vsock.xml")] {
        let out = libvirt_hook(&control, operation, xml);
        assert!(out.status.success() && out.stderr.is_empty(), "{operation}: {}", stderr(&out));
    }
    // A VM with an auto CID but no address in its XML is reported, never failed.
    let inactive = libvirt_hook(&control, "started", "inactive-auto-cid.xml");
    assert!(inactive.status.success() && stderr(&inactive).contains("no <cid address='N'/>"), "{}", stderr(&inactive));
    assert_eq!(guests().lines().filter(|l| l.starts_with("vsock:")).count(), 1, "{}", guests());

    let released = libvirt_hook(&control, "release", "started-auto-cid.xml");
    assert!(released.status.success() && stderr(&released).contains("vsock:3 removed"), "{}", stderr(&released));
    assert!(guests().contains("no guest yet"), "{}", guests());

    let _ = Command::new("kill").args(["-TERM", &serve.id().to_string()]).status();
    assert!(serve.wait().unwrap().success());
    // No service: the VM still starts (exit 0), the hook says why it did nothing.
    let alone = libvirt_hook(&control, "started", "started-auto-cid.xml");
    assert!(alone.status.success() && stderr(&alone).contains("cannot reach the service's control socket"));
}

#[cfg(target_os = "linux")]
#[test]
fn the_libvirt_hook_gives_up_on_a_service_that_does_not_answer_and_still_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let control = dir.path().join("control.sock");
    // Accepts connections (the kernel's backlog) but never answers.
    let _silent = std::os::unix::net::UnixListener::bind(&control).unwrap();
    let started = Instant::now();
    let out = libvirt_hook(&control, "started", "fixed-cid.xml");
    let took = started.elapsed();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("did not answer within 10 s; vsock:42 left as it was"), "{}", stderr(&out));
    assert!(took < Duration::from_secs(60), "libvirt waited {took:?}");
}

#[cfg(unix)]
#[test]
fn ctl_guest_add_hybrid_vsock_opens_the_vms_listener_and_remove_closes_it() {
    let (server, ports) =
        Server::start_on_free_ports(&["--transport", "hybrid-vsock", "--dynamic-guests", "--mode", "simulated"]);
    let vmm = tempfile::tempdir().unwrap();
    let socket = vmm.path().join("vm2.vsock");
    let listener = vmm.path().join(format!("vm2.vsock_{}", ports.0));
    let guest = format!("hybrid-vsock:{}", socket.display());
    assert!(stdout(&server.ctl(&["guest", "list"])).contains("hybrid-vsock transport serves no guest yet"));

    let add = server.ctl(&["guest", "add", &guest]);
    assert!(add.status.success() && stdout(&add).contains("added"), "{}", stderr(&add));
    assert!(listener.exists(), "the VM's connections to port {} arrive on {}", ports.0, listener.display());
    let list = server.ctl(&["guest", "list"]);
    assert!(stdout(&list).lines().any(|l| l == guest), "{}", stdout(&list));

    let remove = server.ctl(&["guest", "remove", &guest]);
    assert!(remove.status.success() && stdout(&remove).contains("removed"), "{}", stderr(&remove));
    assert!(!listener.exists(), "the listener is closed and its file removed");
    assert!(stdout(&server.ctl(&["guest", "list"])).contains("no guest yet"));
    let wrong = server.ctl(&["guest", "add", "vsock:7"]);
    assert!(!wrong.status.success() && stderr(&wrong).contains("give a hybrid-vsock:PATH guest"), "{}", stderr(&wrong));
}

/// The first-hour mistakes: a wrong flag name, a taken port, no service, and a host mode
/// that serves only fake networks; each message says what to do.
#[cfg(target_os = "linux")]
#[test]
fn a_wrong_flag_a_taken_port_and_no_service_say_what_to_do() {
    let run = |args: &[&str]| Command::new(cargo_bin("proxy-wifi")).args(args).output().unwrap();
    let out = run(&["serve", "--port", "31345"]);
    assert!(stderr(&out).contains("did you mean '--request-port'"), "{}", stderr(&out));

    let (_server, ports) = Server::start_on_free_ports(&[]);
    let busy = run(&["serve", "--no-config", "--no-control", "--request-port", &ports.0.to_string()]);
    let logs = stderr(&busy);
    assert_eq!(busy.status.code(), Some(1), "{logs}");
    let taken = format!("request port {} is taken", ports.0);
    assert!(logs.contains(&taken) && logs.contains("give another with --request-port"), "{logs}");

    let unused = free_ports();
    let out = guest(unused, &["scan", "--no-wait"]);
    assert!(!out.status.success());
    let hint = format!(
        "is `proxy-wifi serve` running? Start it in another terminal, or check --host (127.0.0.1) and --request-port ({})",
        unused.0
    );
    assert!(stderr(&out).contains(&hint), "{}", stderr(&out));

    let tmp = tempfile::tempdir().unwrap();
    let ctrl = tmp.path().join("none");
    let fake_only = [
        "--mode",
        "host",
        "--allow-tcp-host-mode",
        "--backend",
        "wpa-supplicant",
        "--wpa-ctrl-dir",
        ctrl.to_str().unwrap(),
        "--fake-network",
        "LabFake",
    ];
    let server =
        Server::start(&port_flags(free_ports()).iter().map(String::as_str).chain(fake_only).collect::<Vec<_>>());
    assert!(server.first_line.starts_with("proxy-wifi: serving fake networks only (LabFake"), "{}", server.first_line);
}
