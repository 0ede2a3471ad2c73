//! What is generated from the clap definitions (shell completions, man pages), the
//! option names they show, and the systemd readiness notification of `serve`.

use std::process::{Command, Output};

use assert_cmd::cargo::cargo_bin;

fn proxy_wifi(args: &[&str]) -> Output {
    Command::new(cargo_bin("proxy-wifi")).args(args).output().unwrap()
}

fn stdout_of(args: &[&str]) -> String {
    let out = proxy_wifi(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_know_every_subcommand_and_flag() {
    for (shell, marker) in [("bash", "complete -F"), ("zsh", "#compdef proxy-wifi"), ("fish", "complete -c proxy-wifi")]
    {
        let script = stdout_of(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: no {marker:?}");
        for word in ["serve", "guest", "ctl", "host-disconnect", "scan-results", "--guest-cid", "--control-socket"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    let out = proxy_wifi(&["completions", "tcsh"]);
    assert!(!out.status.success());
    let error = String::from_utf8_lossy(&out.stderr);
    assert!(error.contains("'tcsh'") && error.contains("bash"), "{error}");
}

#[test]
fn man_pages_cover_each_subcommand() {
    let main_page = stdout_of(&["man"]);
    assert!(main_page.starts_with(".ie") || main_page.contains(".TH proxy-wifi 1"), "{main_page:.200}");
    assert!(main_page.contains(".TH proxy-wifi 1"));
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    stdout_of(&["man", "--dir", pages.to_str().unwrap()]);
    let mut names: Vec<String> =
        std::fs::read_dir(&pages).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    for page in ["proxy-wifi.1", "proxy-wifi-serve.1", "proxy-wifi-guest-scan.1", "proxy-wifi-ctl-status.1"] {
        assert!(names.iter().any(|n| n == page), "{page} missing from {names:?}");
    }
    let serve = std::fs::read_to_string(pages.join("proxy-wifi-serve.1")).unwrap();
    assert!(serve.contains(".TH proxy-wifi-serve 1"));
    for section in [".SH FILES", ".SH EXAMPLES", ".SH ENVIRONMENT", ".SH SEE ALSO"] {
        assert!(serve.contains(section), "serve's page lacks {section}");
    }
    assert!(!serve.contains("contrib/proxy"), "the page names a file of the source tree");
    let config = std::fs::read_to_string(pages.join("proxy-wifi.toml.5")).expect("proxy-wifi.toml(5) is written");
    assert!(config.contains(".TH proxy-wifi.toml 5"));
    for key in ["request\\-port = ", "backend = ", "vsock\\-cid = ", "allowed\\-ssids = "] {
        assert!(config.contains(key), "proxy-wifi.toml(5) lacks {key}");
    }
    assert!(serve.contains("\\-\\-guest\\-cid"), "serve's page lacks --guest-cid");
    // The help and the pages come from one definition: the same flags.
    let help = stdout_of(&["serve", "--help"]);
    for flag in ["--request-port", "--vmm-socket", "--read-deadline-ms"] {
        assert!(help.contains(flag) && serve.contains(&flag.replace('-', "\\-")), "{flag}");
    }
}

#[test]
fn ctl_and_serve_name_the_control_socket_alike() {
    let dir = tempfile::tempdir().unwrap();
    // A control socket nothing listens on (Windows: a named pipe nobody created).
    let nowhere = if cfg!(windows) {
        format!(r"\\.\pipe\proxy-wifi-nothing-{}", std::process::id())
    } else {
        dir.path().join("nothing.sock").to_str().unwrap().to_owned()
    };
    let nowhere = nowhere.as_str();
    for flag in ["--control-socket", "--socket"] {
        let out = proxy_wifi(&["ctl", flag, nowhere, "status"]);
        assert!(!out.status.success());
        let error = String::from_utf8_lossy(&out.stderr);
        assert!(error.contains(nowhere) && error.contains("ctl --control-socket PATH"), "{flag}: {error}");
    }
    let help = stdout_of(&["ctl", "--help"]);
    assert!(help.contains("--control-socket") && !help.contains("--socket <"), "{help}");
}

#[test]
fn etw_is_offered_only_where_it_works() {
    let help = stdout_of(&["--help"]);
    let expected = cfg!(all(windows, feature = "etw"));
    assert_eq!(help.contains("--etw"), expected, "{help}");
}

/// `serve` under systemd's `Type=notify`: READY=1 once it listens, STOPPING=1 when it stops.
#[cfg(target_os = "linux")]
#[test]
fn serve_tells_systemd_when_it_is_ready_and_stopping() {
    use std::io::{BufRead, BufReader};
    use std::net::{Ipv4Addr, TcpListener};
    use std::os::unix::net::UnixDatagram;
    use std::process::Stdio;
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let notify_path = dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let control = dir.path().join("control.sock");
    let ports: Vec<String> = (0..2)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port().to_string())
        .collect();
    let mut child = Command::new(cargo_bin("proxy-wifi"))
        .args(["serve", "--request-port", &ports[0], "--notification-port", &ports[1], "--control-socket"])
        .arg(&control)
        .env("NOTIFY_SOCKET", &notify_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut buffer = [0u8; 4096];
    let received = notify.recv(&mut buffer);
    let mut banner = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut banner).unwrap();
    let Ok(n) = received else {
        let _ = child.kill();
        let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap_or_default();
        panic!("no readiness notification: {stderr}");
    };
    let ready = String::from_utf8_lossy(&buffer[..n]).into_owned();
    assert!(ready.lines().any(|l| l == "READY=1"), "{ready:?}");
    let status = ready.lines().find_map(|l| l.strip_prefix("STATUS=")).unwrap_or_default();
    assert!(status.starts_with("serving simulated Wi-Fi") && status.contains(&ports[0]), "{ready:?}");
    assert!(banner.starts_with("proxy-wifi: serving"), "ready after the banner: {banner:?}");
    // The control socket was open before READY=1.
    let stopped =
        Command::new(cargo_bin("proxy-wifi")).arg("ctl").arg("--control-socket").arg(&control).arg("shutdown").output();
    let stopped = stopped.unwrap();
    assert!(stopped.status.success(), "{}", String::from_utf8_lossy(&stopped.stderr));
    let n = notify.recv(&mut buffer).expect("no STOPPING=1");
    assert_eq!(String::from_utf8_lossy(&buffer[..n]).trim_end(), "STOPPING=1");
    assert!(child.wait().unwrap().success());
}

/// The help names root's control socket (the packaged service's), and `ctl` says which
/// commands need simulated mode instead of calling them all "simulated mode".
#[test]
fn help_names_roots_control_socket_and_which_ctl_commands_are_simulated_only() {
    let serve = stdout_of(&["serve", "--help"]);
    assert!(serve.contains("/run/proxy-wifi/control.sock for root"), "{serve}");
    let ctl = stdout_of(&["ctl", "--help"]);
    let line = |name: &str| ctl.lines().find(|l| l.trim_start().starts_with(name)).unwrap_or_default().to_string();
    for simulated in ["host-disconnect", "signal", "scan-results"] {
        assert!(line(simulated).contains("Simulated mode"), "{simulated}: {ctl}");
    }
    for any_mode in ["status", "guest", "shutdown"] {
        assert!(!line(any_mode).contains("imulated"), "{any_mode}: {ctl}");
    }
    let top = stdout_of(&["--help"]);
    let ctl_line = top.lines().find(|l| l.trim_start().starts_with("ctl")).unwrap();
    assert!(ctl_line.contains("every mode"), "{ctl_line}");
}
