//! Who holds a listening port the service could not bind: asked of `ss` (iproute2, which
//! reads the kernel's socket tables over sock_diag, vsock included), so a taken request
//! port is reported with the program and PID holding it when the kernel tells.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cli::TransportKind;

/// How long `ss` may take before the message goes out without its answer.
const SS_DEADLINE: Duration = Duration::from_secs(2);

/// The holder of the listening `port` on `kind`, as a phrase: `proxy-wifi (pid 812)`,
/// `a process of another user (run as root to see which)`; `None` when `ss` is missing,
/// failed, or lists no listener there.
pub fn describe(kind: TransportKind, port: u16) -> Option<String> {
    let args: Vec<String> = match kind {
        TransportKind::Tcp => ["-H", "-ltnp", "sport", "=", &format!(":{port}")].map(String::from).to_vec(),
        TransportKind::Vsock => ["-H", "-lnp", "--vsock"].map(String::from).to_vec(),
        TransportKind::Hyperv | TransportKind::HybridVsock => return None,
    };
    let output = run_ss(&args)?;
    holder_in(&output, port)
}

/// Runs `ss ARGS` with [`SS_DEADLINE`]; its standard output, or `None`.
fn run_ss(args: &[String]) -> Option<String> {
    let mut child =
        Command::new("ss").args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().ok()?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break,
            Ok(Some(_)) | Err(_) => return None,
            Ok(None) if started.elapsed() > SS_DEADLINE => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take()?, &mut text).ok()?;
    Some(text)
}

/// The holder named on the `ss` line listening on `port` (local address `…:PORT`).
fn holder_in(ss_output: &str, port: u16) -> Option<String> {
    let suffix = format!(":{port}");
    // The local address is the 4th field (tcp) or the 5th (vsock, after the netid).
    let line = ss_output.lines().find(|line| line.split_whitespace().take(5).any(|field| field.ends_with(&suffix)))?;
    let users = line.find("users:((").map(|at| &line[at + "users:((".len()..]);
    let Some(users) = users else {
        return Some("a process of another user (run it as root to see which)".into());
    };
    // users:(("name",pid=123,fd=3),("other",pid=...))
    let name = users.split('"').nth(1).unwrap_or("?");
    let pid = users.split("pid=").nth(1).and_then(|rest| rest.split([',', ')']).next()).unwrap_or("?");
    Some(format!("{name} (pid {pid})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_of_a_tcp_port_is_named_with_its_pid() {
        let out = "LISTEN 0      1024       127.0.0.1:12345      0.0.0.0:*    users:((\"nc\",pid=4242,fd=3))\n";
        assert_eq!(holder_in(out, 12345).as_deref(), Some("nc (pid 4242)"));
        assert_eq!(holder_in(out, 2345), None, "a port that merely ends the same way is not it");
    }

    #[test]
    fn the_holder_of_a_vsock_port_is_found_among_other_listeners() {
        let out = "v_str LISTEN 0 1024 *:22 *:* users:((\"sshd\",pid=1,fd=4))\n\
                   v_str LISTEN 0 1024 *:12345 *:* users:((\"python3\",pid=77,fd=3),(\"python3\",pid=78,fd=3))\n";
        assert_eq!(holder_in(out, 12345).as_deref(), Some("python3 (pid 77)"));
    }

    #[test]
    fn a_listener_without_process_information_belongs_to_another_user() {
        let out = "LISTEN 0 128 0.0.0.0:12345 0.0.0.0:*\n";
        assert!(holder_in(out, 12345).unwrap().contains("another user"));
        assert_eq!(holder_in("", 12345), None);
    }
}
