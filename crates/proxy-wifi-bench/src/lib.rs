//! Measurements of proxy-wifi, as figures: load against the physical limit (a bare server
//! in the same harness), notification latency, memory of the `proxy-wifi serve` process,
//! and a hostile-guest suite runnable against a running binary or an in-process service.
//!
//! The `proxy-wifi-bench` binary is a thin command line over these modules; the
//! hostile-guest suite is shared with the crate's integration tests.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bare;
pub mod cpu;
pub mod fairness;
pub mod guests;
pub mod hostile;
pub mod latency;
pub mod load;
pub mod memory;
pub mod minimal;
pub mod mutating_host;
pub mod service_process;
pub mod stats;
pub mod wire;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The machine and its load when a measurement ran: this machine is small and shared,
/// so every figure comes with them.
#[derive(Debug, Clone, Serialize)]
pub struct Conditions {
    /// Seconds since the Unix epoch at the start.
    pub started_unix_s: u64,
    /// Length of the measurement, in seconds.
    pub elapsed_s: f64,
    /// CPUs available to the process.
    pub cpus: usize,
    /// Kernel release.
    pub kernel: String,
    /// `/proc/loadavg` at the start.
    pub loadavg_before: String,
    /// `/proc/loadavg` at the end.
    pub loadavg_after: String,
    /// Other processes using more than 10 % of a CPU at the start (`ps`), if any.
    pub busy_processes: Vec<String>,
    #[serde(skip)]
    started: Option<std::time::Instant>,
}

impl Conditions {
    /// The conditions now (the start of a measurement).
    pub fn now() -> Conditions {
        let read = |path: &str| std::fs::read_to_string(path).map(|s| s.trim().to_string()).unwrap_or_default();
        Conditions {
            started_unix_s: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            elapsed_s: 0.0,
            cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            kernel: read("/proc/sys/kernel/osrelease"),
            loadavg_before: read("/proc/loadavg"),
            loadavg_after: String::new(),
            busy_processes: busy_processes(),
            started: Some(std::time::Instant::now()),
        }
    }

    /// Completes the record at the end of the measurement.
    pub fn until_now(mut self) -> Conditions {
        self.elapsed_s = self.started.map(|s| s.elapsed().as_secs_f64()).unwrap_or(0.0);
        self.loadavg_after = std::fs::read_to_string("/proc/loadavg").map(|s| s.trim().to_string()).unwrap_or_default();
        self
    }

    /// One line for humans.
    pub fn describe(&self) -> String {
        let busy = if self.busy_processes.is_empty() { "none".to_string() } else { self.busy_processes.join("; ") };
        format!(
            "conditions: {} CPUs, kernel {}, loadavg {} (start) / {} (end), other busy processes at start: {busy}",
            self.cpus, self.kernel, self.loadavg_before, self.loadavg_after
        )
    }
}

/// Processes other than this one using more than 10 % of a CPU, from `ps` (empty if `ps`
/// is missing).
fn busy_processes() -> Vec<String> {
    let Ok(output) = std::process::Command::new("ps").args(["-eo", "pid,pcpu,comm", "--sort=-pcpu"]).output() else {
        return Vec::new();
    };
    let me = std::process::id().to_string();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (pid, cpu, comm) = (fields.next()?, fields.next()?, fields.next()?);
            let cpu: f64 = cpu.parse().ok()?;
            // `ps` itself shows up with a high average over its short life.
            (cpu > 10.0 && pid != me && comm != "ps").then(|| format!("{comm} (pid {pid}, {cpu:.0}% CPU avg)"))
        })
        .take(5)
        .collect()
}

/// A notification listener that accepts every connection and reads it to the end: the
/// guest side of the notification channel for benchmarks that do not look at it.
pub struct DrainListener {
    port: u16,
    stop: CancellationToken,
    received: Arc<AtomicU64>,
}

impl DrainListener {
    /// Listens on 127.0.0.1 (free port) on the current runtime.
    pub async fn start() -> std::io::Result<DrainListener> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let port = listener.local_addr()?.port();
        let stop = CancellationToken::new();
        let received = Arc::new(AtomicU64::new(0));
        let (token, count) = (stop.clone(), received.clone());
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    _ = token.cancelled() => break,
                };
                let Ok((mut stream, _)) = accepted else { continue };
                let count = count.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
                    if matches!(read, Ok(Ok(n)) if n > 0) {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        Ok(DrainListener { port, stop, received })
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Notifications received so far.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Stops listening.
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

impl Drop for DrainListener {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Raises this process's soft limit on open files to at least `wanted` (up to the hard
/// limit); returns the soft limit now in force. Child processes inherit it.
#[cfg(unix)]
pub fn raise_open_files_limit(wanted: u64) -> u64 {
    match rlimit::increase_nofile_limit(wanted) {
        Ok(limit) => limit,
        Err(_) => rlimit::getrlimit(rlimit::Resource::NOFILE).map(|(soft, _)| soft).unwrap_or(0),
    }
}

/// Raises this process's soft limit on open files (no-op off Unix).
#[cfg(not(unix))]
pub fn raise_open_files_limit(wanted: u64) -> u64 {
    wanted
}
