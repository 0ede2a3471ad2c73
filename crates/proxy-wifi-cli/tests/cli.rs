//! The `proxy-wifi` binary over real processes: serve, guest, ctl.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;

struct Server {
    child: Child,
    first_line: String,
    control: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts `proxy-wifi serve ARGS` with a private control socket; waits for its banner.
    fn start(args: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let control = dir.path().join("control.sock");
        let mut child = Command::new(cargo_bin("proxy-wifi"))
            .arg("serve")
            .args(args)
            .arg("--control-socket")
            .arg(&control)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first_line = String::new();
        stdout.read_line(&mut first_line).unwrap();
        assert!(first_line.starts_with("proxy-wifi: serving"), "banner: {first_line:?}");
        // Keep draining stdout so the server never blocks on it.
        std::thread::spawn(move || for _ in stdout.lines() {});
        Server { child, first_line, control, _dir: dir }
    }

    fn ctl(&self, args: &[&str]) -> std::process::Output {
        Command::new(cargo_bin("proxy-wifi")).arg("ctl").arg("--socket").arg(&self.control).args(args).output().unwrap()
    }

    /// Stops with SIGTERM and returns whether it exited cleanly.
    fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn guest(ports: (u16, u16), args: &[&str]) -> std::process::Output {
    Command::new(cargo_bin("proxy-wifi"))
        .arg("guest")
        .args(["--request-port", &ports.0.to_string(), "--notification-port", &ports.1.to_string()])
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn zero_config_serve_then_guest_scan_shows_the_simulated_networks() {
    let server = Server::start(&[]);
    assert!(server.first_line.contains("simulated"), "{}", server.first_line);
    assert!(server.first_line.contains("proxy-wifi guest scan"), "{}", server.first_line);
    let scan = Command::new(cargo_bin("proxy-wifi")).args(["guest", "scan"]).output().unwrap();
    assert!(scan.status.success(), "{}", stderr(&scan));
    let text = stdout(&scan);
    for name in ["FakeWpa2Psk", "FakeOpen", "Fake6GHz"] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
    assert!(text.lines().any(|l| l.contains("FakeWpa2Psk") && l.contains("WPA2-PSK") && l.contains("2432")));
    let json = Command::new(cargo_bin("proxy-wifi")).args(["guest", "scan", "--json"]).output().unwrap();
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("scan --json parses");
    assert_eq!(value["complete"], true);
    assert_eq!(value["networks"].as_array().unwrap().len(), 3);
    assert_eq!(value["networks"][2]["frequency_mhz"], 6115);
    assert!(server.terminate(), "clean exit on SIGTERM");
}

#[test]
fn guest_connect_with_right_and_wrong_passphrase() {
    let ports = (23101, 23102);
    let server = Server::start(&["--request-port", "23101", "--notification-port", "23102"]);
    let wrong = guest(ports, &["connect", "FakeWpa2Psk", "--passphrase", "wrongwrong"]);
    assert_eq!(wrong.status.code(), Some(1), "wrong passphrase fails: {}", stdout(&wrong));
    assert!(stderr(&wrong).contains("failed"), "{}", stderr(&wrong));
    let right = guest(ports, &["connect", "FakeWpa2Psk", "--passphrase", "secretsecret", "--json"]);
    assert!(right.status.success(), "{}", stderr(&right));
    let value: serde_json::Value = serde_json::from_slice(&right.stdout).unwrap();
    assert_eq!(value["success"], true);
    assert_eq!(value["bssid"], "00:00:00:00:00:01");
    assert_eq!(value["session_id"], 2);
    let status = server.ctl(&["status", "--json"]);
    let value: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(value["status"]["guests"]["tcp:127.0.0.1"]["connection"]["ssid"], "FakeWpa2Psk");
    let bye = guest(ports, &["disconnect", "2"]);
    assert!(bye.status.success());
    assert!(stdout(&bye).contains("disconnected"));
}

#[test]
fn ctl_signal_40_reaches_guest_listen_as_minus_80_dbm() {
    let ports = (23111, 23112);
    let server = Server::start(&["--request-port", "23111", "--notification-port", "23112"]);
    let mut listen = Command::new(cargo_bin("proxy-wifi"))
        .args(["guest", "--request-port", "23111", "--notification-port", "23112"])
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
    let ports = (23121, 23122);
    let server = Server::start(&["--request-port", "23121", "--notification-port", "23122"]);
    let none = server.ctl(&["host-disconnect"]);
    assert_eq!(none.status.code(), Some(1));
    assert!(stderr(&none).contains("not connected"), "{}", stderr(&none));
    let missing = Command::new(cargo_bin("proxy-wifi"))
        .args(["ctl", "--socket", "/nonexistent/proxy-wifi.sock", "status"])
        .output()
        .unwrap();
    assert!(stderr(&missing).contains("/nonexistent/proxy-wifi.sock"), "{}", stderr(&missing));
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
    let ports = (23131, 23132);
    let server = Server::start(&[
        "--request-port",
        "23131",
        "--notification-port",
        "23132",
        "--networks",
        good.to_str().unwrap(),
    ]);
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
}
