//! Memory of a `proxy-wifi serve` process: resident set size (`VmRSS` of
//! `/proc/PID/status`) before and after 100 000 mixed requests, and with 1 000 open
//! connections stalled after one byte, which the read deadline must close.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use proxy_wifi::protocol::Bssid;
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::wire::{self, OP_CONNECT_RESPONSE, OP_DISCONNECT_RESPONSE, OP_SCAN_RESPONSE};
use crate::{Conditions, DrainListener};

/// Settings of the memory benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryOptions {
    /// The `proxy-wifi` binary.
    pub binary: PathBuf,
    /// Mixed requests measured.
    pub requests: usize,
    /// Requests sent before the "before" figure (allocator and runtime warm-up).
    pub warmup_requests: usize,
    /// Concurrent clients sending them.
    pub concurrency: usize,
    /// Idle connections opened per idle round.
    pub idle_connections: usize,
    /// Idle rounds (the second one shows whether memory of the first is reused).
    pub idle_rounds: usize,
    /// `serve --read-deadline-ms`.
    pub read_deadline_ms: u64,
}

impl Default for MemoryOptions {
    fn default() -> Self {
        Self {
            binary: PathBuf::from("target/release/proxy-wifi"),
            requests: 100_000,
            warmup_requests: 1_000,
            concurrency: 4,
            idle_connections: 1_000,
            idle_rounds: 2,
            read_deadline_ms: 2_000,
        }
    }
}

/// Resident memory, in KiB.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Rss {
    /// `VmRSS`.
    pub rss_kib: u64,
    /// `VmHWM` (peak).
    pub hwm_kib: u64,
}

/// The idle-connections part.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IdleFigures {
    /// Connections opened (each sent one byte of a header, then nothing).
    pub opened: usize,
    /// RSS with all of them open.
    pub rss_open: Rss,
    /// RSS once the server closed them.
    pub rss_after_close: Rss,
    /// Connections the server closed.
    pub closed_by_server: usize,
    /// Connections still open at read deadline + 3 s.
    pub not_closed: usize,
    /// Earliest close, counted from the connection's open (ms).
    pub first_close_ms: f64,
    /// Latest close, counted from the connection's open (ms).
    pub last_close_ms: f64,
}

/// Result of the memory benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryReport {
    /// Machine and load.
    pub conditions: Conditions,
    /// Settings.
    pub options: MemoryOptions,
    /// The server's pid.
    pub pid: u32,
    /// RSS right after start (one scan answered: the readiness check).
    pub rss_start: Rss,
    /// RSS after the warm-up requests: the "before" figure.
    pub rss_before: Rss,
    /// RSS after every 10 % of the measured requests: (requests done, RSS KiB).
    pub rss_series: Vec<(usize, u64)>,
    /// RSS after the measured requests.
    pub rss_after: Rss,
    /// `rss_after - rss_before`, KiB (negative: it shrank).
    pub growth_kib: i64,
    /// `rss_after - rss_start`, KiB.
    pub growth_from_start_kib: i64,
    /// Measured requests answered as expected.
    pub requests_ok: u64,
    /// Measured requests that failed or got an unexpected answer.
    pub requests_failed: u64,
    /// Requests per second during the measured part.
    pub requests_per_s: f64,
    /// The idle-connections part, one entry per round.
    pub idle: Vec<IdleFigures>,
    /// Whether growth ≤ 1 MiB, no request failed, and every idle connection was closed.
    pub target_met: bool,
}

/// Reads `VmRSS` and `VmHWM` of `pid`.
pub fn read_rss(pid: u32) -> std::io::Result<Rss> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok(Rss { rss_kib: field("VmRSS:"), hwm_kib: field("VmHWM:") })
}

/// A child process killed (by its own handle) when dropped.
struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_server(
    binary: &Path,
    request_port: u16,
    notification_port: u16,
    deadline_ms: u64,
) -> Result<ServerProcess, String> {
    let child = Command::new(binary)
        .args(["-q", "serve", "--no-control", "--mode", "simulated"])
        .args(["--request-port", &request_port.to_string()])
        .args(["--notification-port", &notification_port.to_string()])
        .args(["--read-deadline-ms", &deadline_ms.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    Ok(ServerProcess(child))
}

/// The mixed request sequence: scans (wildcard, targeted), connects (open, WPA2-PSK with
/// its PMK), disconnects (current and stale sessions), and a malformed header.
struct Mix {
    scan: Vec<u8>,
    targeted_scan: Vec<u8>,
    open_connect: Vec<u8>,
    psk_connect: Vec<u8>,
    malformed: Vec<u8>,
}

impl Mix {
    fn new() -> Mix {
        Mix {
            scan: wire::scan_request(),
            targeted_scan: wire::targeted_scan_request("FakeWpa2Psk"),
            open_connect: wire::open_connect_request("FakeOpen"),
            psk_connect: wire::wpa2_connect_request(
                "FakeWpa2Psk",
                Bssid([0, 0, 0, 0, 0, 1]),
                proxy_wifi::SimulatedNetwork::DEFAULT_PASSPHRASE,
            ),
            malformed: wire::header(42, 0, 1),
        }
    }
}

/// Sends `count` requests of the mix from one client; returns (ok, failed).
async fn send_mix(addr: SocketAddr, mix: Arc<Mix>, count: usize, offset: usize) -> (u64, u64) {
    let (mut ok, mut failed) = (0u64, 0u64);
    let mut answer = Vec::with_capacity(512);
    let mut session = 0u64;
    let timeout = Duration::from_secs(5);
    for i in 0..count {
        let step = (i + offset) % 8;
        let disconnect;
        let (request, expected_op): (&[u8], u8) = match step {
            0 => (&mix.scan, OP_SCAN_RESPONSE),
            1 => (&mix.open_connect, OP_CONNECT_RESPONSE),
            2 | 5 => {
                disconnect = wire::disconnect_request(session);
                (&disconnect, OP_DISCONNECT_RESPONSE)
            }
            3 => (&mix.psk_connect, OP_CONNECT_RESPONSE),
            4 => (&mix.targeted_scan, OP_SCAN_RESPONSE),
            6 => (&mix.malformed, 0),
            _ => {
                disconnect = wire::disconnect_request(1);
                (&disconnect, OP_DISCONNECT_RESPONSE)
            }
        };
        match wire::exchange_into(addr, request, &mut answer, timeout).await {
            Ok(_) if answer.first() == Some(&expected_op) => {
                ok += 1;
                if let Some(s) = wire::connect_response_session(&answer) {
                    session = s;
                }
            }
            _ => failed += 1,
        }
    }
    (ok, failed)
}

async fn run_mix(addr: SocketAddr, mix: &Arc<Mix>, total: usize, clients: usize, offset: usize) -> (u64, u64) {
    let clients = clients.max(1);
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let share = total / clients + usize::from(c < total % clients);
            tokio::spawn(send_mix(addr, mix.clone(), share, offset + c))
        })
        .collect();
    let (mut ok, mut failed) = (0, 0);
    for task in tasks {
        let (o, f) = task.await.unwrap_or((0, 1));
        ok += o;
        failed += f;
    }
    (ok, failed)
}

/// Runs the memory benchmark against a freshly started `binary`.
pub async fn run(options: &MemoryOptions) -> Result<MemoryReport, String> {
    let conditions = Conditions::now();
    let drain = DrainListener::start().await.map_err(|e| format!("cannot start the notification drain: {e}"))?;
    let request_port = wire::free_port().map_err(|e| e.to_string())?;
    let server = spawn_server(&options.binary, request_port, drain.port(), options.read_deadline_ms)?;
    let pid = server.0.id();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, request_port));
    let rss = || read_rss(pid).map_err(|e| format!("cannot read /proc/{pid}/status: {e}"));

    // Ready when a scan is answered (10 s at most).
    let ready_by = Instant::now() + Duration::from_secs(10);
    loop {
        if wire::exchange(addr, &wire::scan_request(), Duration::from_millis(500)).await.is_ok() {
            break;
        }
        if Instant::now() > ready_by {
            return Err(format!("{} serve did not answer a scan on {addr} within 10 s", options.binary.display()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rss_start = rss()?;
    let mix = Arc::new(Mix::new());
    run_mix(addr, &mix, options.warmup_requests, options.concurrency, 0).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_before = rss()?;

    let mut rss_series = Vec::new();
    let (mut ok, mut failed) = (0u64, 0u64);
    let chunk = (options.requests / 10).max(1);
    let started = Instant::now();
    let mut done = 0usize;
    while done < options.requests {
        let n = chunk.min(options.requests - done);
        let (o, f) = run_mix(addr, &mix, n, options.concurrency, done).await;
        ok += o;
        failed += f;
        done += n;
        rss_series.push((done, rss()?.rss_kib));
    }
    let requests_per_s = done as f64 / started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_after = rss()?;

    let mut idle = Vec::new();
    for _ in 0..options.idle_rounds {
        idle.push(idle_connections(addr, options, &rss).await?);
    }
    // Still serving afterwards.
    let still = wire::exchange(addr, &wire::scan_request(), Duration::from_secs(2)).await;
    if still.is_err() {
        failed += 1;
    }
    drop(server);
    drain.stop();

    let growth_kib = rss_after.rss_kib as i64 - rss_before.rss_kib as i64;
    Ok(MemoryReport {
        conditions: conditions.until_now(),
        options: options.clone(),
        pid,
        rss_start,
        rss_before,
        rss_series,
        rss_after,
        growth_kib,
        growth_from_start_kib: rss_after.rss_kib as i64 - rss_start.rss_kib as i64,
        requests_ok: ok,
        requests_failed: failed,
        requests_per_s,
        target_met: growth_kib <= 1024 && failed == 0 && idle.iter().all(|i| i.not_closed == 0),
        idle,
    })
}

/// Opens the idle connections, measures, then waits for the read deadline to close them.
async fn idle_connections(
    addr: SocketAddr,
    options: &MemoryOptions,
    rss: &impl Fn() -> Result<Rss, String>,
) -> Result<IdleFigures, String> {
    let mut streams = Vec::with_capacity(options.idle_connections);
    for _ in 0..options.idle_connections {
        let mut stream = TcpStream::connect(addr).await.map_err(|e| format!("opening idle connections: {e}"))?;
        // One byte of a header, so that the service holds the connection: one that sent
        // nothing stays with the kernel (TCP_DEFER_ACCEPT) until its first bytes come.
        stream.write_all(&[wire::OP_SCAN_REQUEST]).await.map_err(|e| format!("writing to idle connections: {e}"))?;
        streams.push((stream, Instant::now()));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_open = rss()?;
    let wait = Duration::from_millis(options.read_deadline_ms) + Duration::from_secs(3);
    let mut closes: Vec<Duration> = crate::hostile::wait_closed(streams, wait).await.into_iter().flatten().collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_after_close = rss()?;
    let ms = |d: Option<&Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1e3);
    closes.sort();
    Ok(IdleFigures {
        opened: options.idle_connections,
        rss_open,
        rss_after_close,
        closed_by_server: closes.len(),
        not_closed: options.idle_connections - closes.len(),
        first_close_ms: ms(closes.first()),
        last_close_ms: ms(closes.last()),
    })
}
