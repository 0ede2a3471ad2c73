//! A `proxy-wifi serve` process under test: the binary users run, in simulated mode on
//! loopback TCP, with its log going to a pipe the bench reads (as a journal would) and
//! counts, so that what logging costs is part of the figures.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proxy_wifi::{SimulatedNetwork, SimulatedSecurity};

use crate::wire;

/// How to start the binary.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The `proxy-wifi` binary.
    pub binary: PathBuf,
    /// `-q` (warnings only) instead of the default level (INFO).
    pub quiet: bool,
    /// Where the (single) guest listens for notifications, on 127.0.0.1.
    pub notification_port: u16,
    /// Simulated networks (`--networks`, written to a file); the built-in ones when `None`.
    pub networks: Option<Vec<SimulatedNetwork>>,
}

/// Lines of the service's log kept for error messages.
const TAIL_LINES: usize = 20;

/// A running `proxy-wifi serve`; killed (by its own handle) when dropped.
pub struct ServiceProcess {
    child: Child,
    addr: SocketAddr,
    log_lines: Arc<AtomicU64>,
    tail: Arc<Mutex<Vec<String>>>,
    networks_file: Option<PathBuf>,
}

impl ServiceProcess {
    /// Starts the binary and waits (10 s at most) until it answers a scan.
    pub async fn start(options: &ServeOptions) -> Result<ServiceProcess, String> {
        let port = wire::free_port().map_err(|e| format!("no free port: {e}"))?;
        let networks_file = match &options.networks {
            Some(networks) => Some(write_networks_file(networks)?),
            None => None,
        };
        let mut command = Command::new(&options.binary);
        if options.quiet {
            command.arg("-q");
        }
        command
            .args(["serve", "--no-config", "--no-control", "--mode", "simulated", "--transport", "tcp"])
            .args(["--request-port", &port.to_string()])
            .args(["--notification-port", &options.notification_port.to_string()]);
        if let Some(file) = &networks_file {
            command.arg("--networks").arg(file);
        }
        // The level comes from -q or its absence only.
        command.env_remove("RUST_LOG").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|e| format!("cannot run {}: {e}", options.binary.display()))?;
        let log_lines = Arc::new(AtomicU64::new(0));
        let tail = Arc::new(Mutex::new(Vec::new()));
        if let Some(stderr) = child.stderr.take() {
            let (count, tail) = (log_lines.clone(), tail.clone());
            std::thread::Builder::new()
                .name("bench-service-log".into())
                .spawn(move || {
                    for line in BufReader::new(stderr).lines() {
                        let Ok(line) = line else { break };
                        count.fetch_add(1, Ordering::Relaxed);
                        let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
                        if tail.len() == TAIL_LINES {
                            tail.remove(0);
                        }
                        tail.push(line);
                    }
                })
                .map_err(|e| format!("cannot start the log reader: {e}"))?;
        }
        let process = ServiceProcess {
            child,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            log_lines,
            tail,
            networks_file,
        };
        process.wait_ready(&options.binary).await?;
        Ok(process)
    }

    async fn wait_ready(&self, binary: &Path) -> Result<(), String> {
        let ready_by = Instant::now() + Duration::from_secs(10);
        loop {
            if wire::exchange(self.addr, &wire::scan_request(), Duration::from_millis(500)).await.is_ok() {
                return Ok(());
            }
            if Instant::now() > ready_by {
                return Err(format!(
                    "{} serve did not answer a scan on {} within 10 s; its log ends with:\n{}",
                    binary.display(),
                    self.addr,
                    self.log_tail()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Where it takes requests.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Log lines it wrote so far.
    pub fn log_lines(&self) -> u64 {
        self.log_lines.load(Ordering::Relaxed)
    }

    /// The last lines of its log.
    pub fn log_tail(&self) -> String {
        self.tail.lock().unwrap_or_else(|e| e.into_inner()).join("\n")
    }

    /// A counter of its log lines, to read while it runs.
    pub fn log_counter(&self) -> Arc<AtomicU64> {
        self.log_lines.clone()
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(file) = &self.networks_file {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// CPU time so far of every thread of process `pid` (Linux: `/proc/PID/task/*/schedstat`).
pub fn process_cpu(pid: u32) -> Option<Duration> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = Duration::ZERO;
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) else { continue };
        if let Some(ns) = stat.split_whitespace().next().and_then(|f| f.parse::<u64>().ok()) {
            total += Duration::from_nanos(ns);
        }
    }
    Some(total)
}

/// The `--networks` TOML of `networks`.
pub fn networks_toml(networks: &[SimulatedNetwork]) -> String {
    let mut text = String::new();
    for n in networks {
        let (security, secret) = match &n.security {
            SimulatedSecurity::Open => ("open", None),
            SimulatedSecurity::Wpa2Psk { passphrase } => ("wpa2-psk", Some(passphrase)),
            SimulatedSecurity::Wpa3Sae { password } => ("wpa3-sae", Some(password)),
        };
        text.push_str(&format!(
            "[[network]]\nssid = \"{}\"\nbssid = \"{}\"\nsecurity = \"{security}\"\n",
            n.ssid, n.bssid
        ));
        if let Some(secret) = secret {
            text.push_str(&format!("passphrase = \"{secret}\"\n"));
        }
        text.push_str(&format!("frequency = {}\nrssi = {}\n\n", n.frequency_mhz, n.rssi_dbm));
    }
    text
}

fn write_networks_file(networks: &[SimulatedNetwork]) -> Result<PathBuf, String> {
    let path = std::env::temp_dir().join(format!("proxy-wifi-bench-{}-networks.toml", std::process::id()));
    std::fs::write(&path, networks_toml(networks)).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_networks_file_names_every_network_with_its_secret() {
        let text = networks_toml(&crate::load::generated_networks(3));
        assert_eq!(text.matches("[[network]]").count(), 3);
        assert!(text.contains("ssid = \"Bench-000\"\nbssid = \"02:be:4c:00:00:00\"\nsecurity = \"wpa2-psk\"\npassphrase = \"passphrase-000\""), "{text}");
        assert!(text.contains("security = \"open\"\nfrequency"), "{text}");
        assert!(text.contains("security = \"wpa3-sae\"\npassphrase = \"password-002\""), "{text}");
    }
}
