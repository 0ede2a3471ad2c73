//! Socket activation and a taken request port, over real processes (Linux). One test
//! function: the listener made inheritable here must not leak into other tests' children.
#![cfg(target_os = "linux")]

use std::io::Read;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpListener};
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `proxy-wifi serve ARGS` started as systemd starts a socket-activated service: the
/// listener as descriptor 3, `LISTEN_FDS=1`, `LISTEN_PID` its own PID. (The listener goes
/// to the shell as its standard input, the one way `Command` passes a descriptor, and the
/// shell moves it to 3.)
fn activated(listener: &TcpListener, args: &[String]) -> Child {
    let handed = OwnedFd::from(listener.try_clone().unwrap());
    let script = "exec 3<&0 0</dev/null; LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=requests exec \"$0\" \"$@\"";
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(cargo_bin("proxy-wifi"))
        .arg("serve")
        .args(args)
        .stdin(Stdio::from(handed))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for the banner on stdout; panics with stderr when the process ends first.
fn banner(child: &mut Child) -> String {
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    // Keep reading what it prints, so that it never writes to a closed pipe.
    std::thread::spawn(move || for _ in stdout.lines() {});
    if !line.starts_with("proxy-wifi: serving") {
        let _ = child.kill();
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        panic!("no banner ({line:?}); stderr:\n{stderr}");
    }
    line
}

fn finished(mut child: Child) -> Output {
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn serve_args(request: u16, notification: u16) -> Vec<String> {
    ["--no-config", "--no-control", "--mode", "simulated", "--request-port"]
        .iter()
        .map(|s| s.to_string())
        .chain([request.to_string(), "--notification-port".into(), notification.to_string()])
        .collect()
}

#[test]
fn serve_takes_the_listener_systemd_passes_and_names_who_holds_a_taken_port() {
    // 1. "systemd" holds the request port; the service adopts it instead of binding (which
    //    would fail: the port is taken) and serves a guest on it.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let request = listener.local_addr().unwrap().port();
    let notification = free_port();
    let mut service = activated(&listener, &serve_args(request, notification));
    banner(&mut service);
    let scan = Command::new(cargo_bin("proxy-wifi"))
        .env_remove("XDG_RUNTIME_DIR")
        .args(["guest", "--request-port", &request.to_string(), "--notification-port", &notification.to_string()])
        .args(["--notification-read-ms", "2000", "scan", "--no-wait"])
        .output()
        .unwrap();
    assert!(scan.status.success(), "scan on the activated listener: {}", text(&scan.stderr));

    // 2. Anyone else who tries the port while it is held is refused, and told who holds it
    //    and that socket activation is what keeps it so.
    let squatter =
        Command::new(cargo_bin("proxy-wifi")).args(["serve"]).args(serve_args(request, free_port())).output();
    let squatter = squatter.unwrap();
    let said = text(&squatter.stderr);
    assert_eq!(squatter.status.code(), Some(1), "{said}");
    assert!(said.contains(&format!("request port {request} is taken (held by ")), "{said}");
    assert!(said.contains("socket activation (proxy-wifi.socket, ListenStream=)"), "{said}");
    let _ = service.kill();
    let _ = service.wait();

    // 3. A listener on another port than the settings say is a configuration error naming
    //    both, not served.
    let other = free_port();
    let wrong = finished(activated(&listener, &serve_args(other, notification)));
    let said = text(&wrong.stderr);
    assert_eq!(wrong.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!("the inherited listener is tcp:127.0.0.1:{request}"))
            && said.contains(&format!("the settings ask for tcp:127.0.0.1:{other}")),
        "{said}"
    );
    drop(listener);

    // 4. Without systemd, a taken port names the process holding it.
    let holder_port = free_port();
    let mut holder = Command::new(cargo_bin("proxy-wifi"))
        .arg("serve")
        .args(serve_args(holder_port, free_port()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    banner(&mut holder);
    let busy = Command::new(cargo_bin("proxy-wifi")).arg("serve").args(serve_args(holder_port, free_port())).output();
    let said = text(&busy.unwrap().stderr);
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(said.contains(&format!("held by proxy-wifi (pid {})", holder.id())), "{said}");
}
