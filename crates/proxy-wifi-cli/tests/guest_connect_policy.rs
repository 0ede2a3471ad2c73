//! `serve --guest-connect`: the operator's policy on guests moving the host's Wi-Fi, as a
//! guest and `ctl status` see it, and its errors (issue 25 item 10).

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpListener};
use std::process::{Child, Command, Output, Stdio};

use assert_cmd::cargo::cargo_bin;

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

struct Serving {
    child: Child,
    ports: (u16, u16),
    control: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A control socket of this test only: a file in `dir` on Unix, a named pipe on Windows.
fn control_socket(dir: &std::path::Path) -> std::path::PathBuf {
    if cfg!(windows) {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        std::path::PathBuf::from(format!(r"\\.\pipe\proxy-wifi-policy-test-{}-{n}", std::process::id()))
    } else {
        dir.join("control.sock")
    }
}

fn serve(extra: &[&str]) -> Serving {
    let dir = tempfile::tempdir().unwrap();
    let control = control_socket(dir.path());
    let ports = (free_port(), free_port());
    let mut child = Command::new(cargo_bin("proxy-wifi"))
        .args(["serve", "--no-config", "--mode", "simulated", "--request-port", &ports.0.to_string()])
        .args(["--notification-port", &ports.1.to_string(), "--control-socket"])
        .arg(&control)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut banner).unwrap();
    assert!(banner.starts_with("proxy-wifi: serving"), "{banner:?}");
    // Keep reading what it prints, so that it never writes to a closed pipe.
    std::thread::spawn(move || for _ in stdout.lines() {});
    Serving { child, ports, control, _dir: dir }
}

fn guest(s: &Serving, args: &[&str]) -> Output {
    Command::new(cargo_bin("proxy-wifi"))
        .env_remove("XDG_RUNTIME_DIR")
        .args(["guest", "--request-port", &s.ports.0.to_string(), "--notification-port", &s.ports.1.to_string()])
        .args(["--notification-read-ms", "2000"])
        .args(args)
        .output()
        .unwrap()
}

fn status(s: &Serving) -> String {
    let out = Command::new(cargo_bin("proxy-wifi")).arg("ctl").arg("--socket").arg(&s.control).arg("status").output();
    text(&out.unwrap().stdout)
}

#[test]
fn mirror_only_refuses_to_move_the_host_and_status_says_so() {
    let s = serve(&["--guest-connect", "mirror-only", "--host-scan-interval", "0"]);
    let refused = guest(&s, &["connect", "FakeOpen"]);
    assert!(!refused.status.success(), "{}", text(&refused.stdout));
    assert!(text(&refused.stderr).contains("12"), "the guest is told it was denied: {}", text(&refused.stderr));
    let shown = status(&s);
    assert!(shown.contains("guest-connect mirror-only; host radios scan at most every time a guest asks"), "{shown}");
}

#[test]
fn an_allow_list_moves_the_host_only_to_its_networks_and_the_default_is_any() {
    let s = serve(&["--guest-connect", "allow-list", "--guest-connect-ssid", "FakeOpen"]);
    let joined = guest(&s, &["connect", "FakeOpen"]);
    assert!(joined.status.success(), "{}{}", text(&joined.stdout), text(&joined.stderr));
    let refused = guest(&s, &["connect", "FakeWpa2Psk", "--passphrase", "secretsecret"]);
    assert!(!refused.status.success());
    assert!(status(&s).contains("guest-connect allow-list (FakeOpen); host radios scan at most every 10 s"));

    let default = serve(&[]);
    assert!(status(&default).contains("guest-connect any;"));
    let joined = guest(&default, &["connect", "FakeOpen"]);
    assert!(joined.status.success(), "{}{}", text(&joined.stdout), text(&joined.stderr));
}

#[test]
fn a_policy_without_its_list_or_a_list_without_its_policy_is_refused() {
    let run = |args: &[&str]| {
        Command::new(cargo_bin("proxy-wifi"))
            .args(["serve", "--no-config", "--no-control", "--mode", "simulated"])
            .args(args)
            .output()
            .unwrap()
    };
    let empty = run(&["--guest-connect", "allow-list"]);
    assert!(!empty.status.success());
    assert!(text(&empty.stderr).contains("would allow no network"), "{}", text(&empty.stderr));
    let stray = run(&["--guest-connect-ssid", "Home"]);
    assert!(text(&stray.stderr).contains("only with --guest-connect allow-list (the policy is any)"));
    let bad = run(&["--guest-connect", "all"]);
    assert!(text(&bad.stderr).contains("invalid value 'all'") && text(&bad.stderr).contains("mirror-only"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(&file, "mode = \"simulated\"\nguest-connect = \"everyone\"\n").unwrap();
    let from_file = Command::new(cargo_bin("proxy-wifi")).arg("serve").arg("--config").arg(&file).output().unwrap();
    let said = text(&from_file.stderr);
    assert!(said.contains("guest-connect") && said.contains("everyone") && said.contains("\"mirror-only\""), "{said}");
}
