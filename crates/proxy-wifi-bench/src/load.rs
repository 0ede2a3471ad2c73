//! The load benchmark: the real service (simulated mode) against the minimal blocking
//! server (the limit, [`crate::minimal`]) and the bare tokio server, in the same process,
//! interleaved in rounds (minimal, bare, service, minimal, ...). Besides requests/s and
//! latency, each round records the CPU time the server's threads spent per request,
//! which other processes on a shared machine do not move.
//!
//! Workloads: a wildcard scan of the 3 default networks, a scan of 200 generated
//! networks, and connect + disconnect pairs on an open network; each with one client at
//! a time (serialized, like the real guest) and with 16 concurrent clients. Every request
//! opens its own connection, as the driver does. The minimal and bare servers answer the
//! very bytes the service answers (captured from the service before the rounds).
//!
//! With [`LoadOptions::service_binary`], the service is the `proxy-wifi serve` binary
//! users run ([`crate::service_process`]), logging at its default level (or `-q`) to a
//! pipe the bench reads: the figure then includes what the binary's logging costs, and
//! the log lines of every round are counted.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use proxy_wifi::protocol::{Bssid, Ssid};
use proxy_wifi::{OperationMode, Service, ServiceHandle, SimulatedNetwork, SimulatedSecurity, TransportSettings};
use serde::Serialize;

use crate::bare::{self, Answers, BareServer};
use crate::minimal::{self, MinimalServer, Replies};
use crate::service_process::{self, ServeOptions, ServiceProcess};
use crate::stats::{Percentiles, median, ratio};
use crate::wire::{self, OP_CONNECT_RESPONSE, OP_DISCONNECT_RESPONSE, OP_SCAN_RESPONSE};
use crate::{Conditions, DrainListener};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Settings of a load run.
#[derive(Debug, Clone, Serialize)]
pub struct LoadOptions {
    /// Rounds per workload (each round: minimal, bare, then service).
    pub rounds: usize,
    /// Length of one side of a round, in milliseconds.
    pub duration_ms: u64,
    /// Unrecorded warm-up per side and workload, in milliseconds.
    pub warmup_ms: u64,
    /// Worker threads of the bare server's runtime (the service's default: 2).
    pub server_threads: usize,
    /// Worker threads of the clients' runtime.
    pub client_threads: usize,
    /// Concurrent clients of the concurrent workloads.
    pub concurrency: usize,
    /// Worker threads of the service's runtime (`None`: the service's default).
    pub service_workers: Option<usize>,
    /// Networks of the large scan workload.
    pub large_scan_networks: usize,
    /// The workloads to run (all when empty).
    pub workloads: Vec<Kind>,
    /// Measure only one server (for profiling); ratios are then 0.
    pub only: Option<Server>,
    /// Run this `proxy-wifi` binary (`serve`, simulated, TCP) as the service instead of
    /// the library in this process.
    pub service_binary: Option<PathBuf>,
    /// With [`Self::service_binary`]: `-q` (warnings only) instead of the default level.
    pub service_quiet: bool,
}

/// One of the two servers compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Server {
    /// The bare tokio server.
    Bare,
    /// The minimal blocking server.
    Minimal,
    /// The real service.
    Service,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            rounds: 7,
            duration_ms: 1000,
            warmup_ms: 300,
            server_threads: 2,
            client_threads: 2,
            concurrency: 16,
            service_workers: None,
            large_scan_networks: 200,
            workloads: Vec::new(),
            only: None,
            service_binary: None,
            service_quiet: false,
        }
    }
}

/// What a workload sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Wildcard scan, 3 networks.
    Scan,
    /// Wildcard scan, 200 networks.
    ScanLarge,
    /// Connect to an open network, then disconnect that session.
    ConnectDisconnect,
}

impl Kind {
    fn name(self, large: usize) -> String {
        match self {
            Kind::Scan => "scan (3 networks)".into(),
            Kind::ScanLarge => format!("scan ({large} networks)"),
            Kind::ConnectDisconnect => "connect+disconnect".into(),
        }
    }
}

/// Figures of one side (bare or service) in one round.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct RoundFigures {
    /// Requests completed per second (each connect and each disconnect counts).
    pub requests_per_s: f64,
    /// Latency percentiles of the round (connect start to last answer byte).
    pub latency: Percentiles,
    /// Requests completed.
    pub requests: u64,
    /// Failed requests (error, timeout or wrong answer).
    pub errors: u64,
    /// Wall time of the round, in seconds.
    pub elapsed_s: f64,
    /// CPU time of the server's threads per request, in µs (0 where not measurable).
    pub server_cpu_us_per_request: f64,
    /// Lines the server logged during the round (the service binary only; else 0).
    pub log_lines: u64,
}

/// Medians over the rounds of one side.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SideFigures {
    /// Median requests per second.
    pub requests_per_s: f64,
    /// Median of the rounds' p50 latencies (µs).
    pub p50_us: f64,
    /// Median of the rounds' p99 latencies (µs).
    pub p99_us: f64,
    /// Median of the rounds' maximum latencies (µs).
    pub max_us: f64,
    /// Median of the rounds' server CPU time per request (µs).
    pub cpu_us_per_request: f64,
    /// Failed requests over all rounds.
    pub errors: u64,
    /// Log lines over all rounds (the service binary only).
    pub log_lines: u64,
    /// Log lines per second over all rounds.
    pub log_lines_per_s: f64,
    /// First error seen, if any.
    pub first_error: Option<String>,
    /// Every round.
    pub rounds: Vec<RoundFigures>,
}

impl SideFigures {
    fn from_rounds(rounds: Vec<RoundFigures>, first_error: Option<String>) -> Self {
        let pick = |f: fn(&RoundFigures) -> f64| median(&rounds.iter().map(f).collect::<Vec<_>>());
        Self {
            requests_per_s: pick(|r| r.requests_per_s),
            p50_us: pick(|r| r.latency.p50_us),
            p99_us: pick(|r| r.latency.p99_us),
            max_us: pick(|r| r.latency.max_us),
            cpu_us_per_request: pick(|r| r.server_cpu_us_per_request),
            errors: rounds.iter().map(|r| r.errors).sum(),
            log_lines: rounds.iter().map(|r| r.log_lines).sum(),
            log_lines_per_s: {
                let seconds: f64 = rounds.iter().map(|r| r.elapsed_s).sum();
                if seconds > 0.0 { rounds.iter().map(|r| r.log_lines).sum::<u64>() as f64 / seconds } else { 0.0 }
            },
            first_error,
            rounds,
        }
    }
}

/// Result of one workload.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadReport {
    /// Name, e.g. `scan (3 networks)`.
    pub name: String,
    /// Workload kind.
    pub kind: Kind,
    /// Concurrent clients.
    pub clients: usize,
    /// Answer size in bytes (header included) of the main request.
    pub answer_bytes: usize,
    /// Whether the service was the binary (its log lines counted).
    pub service_binary: bool,
    /// The minimal blocking server (the limit).
    pub minimal: SideFigures,
    /// The bare tokio server.
    pub bare: SideFigures,
    /// The service.
    pub service: SideFigures,
    /// Service requests/s over the minimal server's (medians).
    pub minimal_throughput_ratio: f64,
    /// Service p99 over the minimal server's (medians).
    pub minimal_p99_ratio: f64,
    /// Median over the rounds of the per-round throughput ratio to the minimal server.
    pub minimal_paired_throughput_ratio: f64,
    /// Median over the rounds of the per-round p99 ratio to the minimal server.
    pub minimal_paired_p99_ratio: f64,
    /// Service server-CPU per request over the minimal server's (medians).
    pub minimal_cpu_ratio: f64,
    /// Service requests/s over bare requests/s (medians).
    pub throughput_ratio: f64,
    /// Service p50 over bare p50 (medians).
    pub p50_ratio: f64,
    /// Service p99 over bare p99 (medians).
    pub p99_ratio: f64,
    /// Service max over bare max (medians).
    pub max_ratio: f64,
    /// Median over the rounds of the per-round throughput ratio (paired).
    pub paired_throughput_ratio: f64,
    /// Median over the rounds of the per-round p99 ratio (paired).
    pub paired_p99_ratio: f64,
}

/// The whole load run.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// Machine and load when it ran.
    pub conditions: Conditions,
    /// Settings.
    pub options: LoadOptions,
    /// One entry per workload and client count.
    pub workloads: Vec<WorkloadReport>,
    /// Scan (3 networks) with the concurrent clients: throughput ratio to the bare server.
    pub throughput_ratio: f64,
    /// Scan (3 networks) with the concurrent clients: p99 ratio to the bare server.
    pub p99_ratio: f64,
    /// Scan (3 networks) with the concurrent clients: throughput ratio to the minimal server.
    pub minimal_throughput_ratio: f64,
    /// Scan (3 networks) with the concurrent clients: p99 ratio to the minimal server.
    pub minimal_p99_ratio: f64,
    /// Scan (3 networks) with the concurrent clients: server CPU per request over the
    /// minimal server's.
    pub minimal_cpu_ratio: f64,
    /// Whether both targets against the minimal server (≥ 0.9, ≤ 1.2) are met.
    pub targets_met: bool,
}

/// `count` generated simulated networks: every third WPA2-PSK, the others open or
/// WPA3-SAE, spread over the 2.4, 5 and 6 GHz channels the guest knows.
pub fn generated_networks(count: usize) -> Vec<SimulatedNetwork> {
    const FREQUENCIES: [u32; 12] = [2412, 2437, 2462, 5180, 5240, 5320, 5500, 5745, 5825, 5955, 6115, 6415];
    (0..count)
        .map(|i| {
            let security = match i % 3 {
                0 => SimulatedSecurity::Wpa2Psk { passphrase: format!("passphrase-{i:03}") },
                1 => SimulatedSecurity::Open,
                _ => SimulatedSecurity::Wpa3Sae { password: format!("password-{i:03}") },
            };
            SimulatedNetwork {
                ssid: Ssid::new(format!("Bench-{i:03}").as_bytes()).expect("short SSID"),
                bssid: Bssid([0x02, 0xbe, 0x4c, 0, (i >> 8) as u8, i as u8]),
                security,
                frequency_mhz: FREQUENCIES[i % FREQUENCIES.len()],
                rssi_dbm: -30 - (i % 60) as i32,
            }
        })
        .collect()
}

/// One server under test: where it listens, whose CPU time is its own, its log lines.
#[derive(Debug, Clone)]
struct Side {
    addr: SocketAddr,
    cpu: CpuOf,
    log_lines: Option<Arc<AtomicU64>>,
}

/// The CPU time of a server: threads of this process by name, or a whole process.
#[derive(Debug, Clone, Copy)]
enum CpuOf {
    Threads(&'static str),
    Process(u32),
}

impl CpuOf {
    fn read(self) -> Option<Duration> {
        match self {
            CpuOf::Threads(prefix) => crate::cpu::threads_cpu(&[prefix]),
            CpuOf::Process(pid) => service_process::process_cpu(pid),
        }
    }
}

/// The service under test: the library in this process, or the binary.
enum Running {
    Library(Box<ServiceHandle>),
    Binary(ServiceProcess),
}

impl Running {
    fn addr(&self) -> Result<SocketAddr, String> {
        match self {
            Running::Library(handle) => {
                handle.request_tcp_addr().ok_or_else(|| "the service has no TCP address".into())
            }
            Running::Binary(process) => Ok(process.addr()),
        }
    }

    fn side(&self, addr: SocketAddr) -> Side {
        match self {
            Running::Library(_) => Side { addr, cpu: CpuOf::Threads(SERVICE_THREADS), log_lines: None },
            Running::Binary(process) => {
                Side { addr, cpu: CpuOf::Process(process.pid()), log_lines: Some(process.log_counter()) }
            }
        }
    }

    async fn shutdown(self) {
        match self {
            Running::Library(handle) => handle.shutdown().await,
            Running::Binary(process) => drop(process),
        }
    }
}

/// Thread names of the service (`proxy-wifi`, `proxy-wifi-worker`, as `comm` shows them).
const SERVICE_THREADS: &str = "proxy-wifi";

/// The expected answer shapes of a workload.
#[derive(Debug, Clone)]
struct Plan {
    kind: Kind,
    request: Vec<u8>,
    /// Scan workloads: expected answer length.
    answer_len: usize,
}

#[derive(Debug, Default)]
struct Tally {
    latencies: Vec<Duration>,
    requests: u64,
    errors: u64,
    first_error: Option<String>,
}

impl Tally {
    fn fail(&mut self, error: String) {
        self.errors += 1;
        self.first_error.get_or_insert(error);
    }
}

const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// One client: requests one after the other until `end`.
async fn client(addr: SocketAddr, plan: std::sync::Arc<Plan>, end: Instant) -> Tally {
    let mut tally = Tally { latencies: Vec::with_capacity(16 * 1024), ..Tally::default() };
    let mut answer = Vec::with_capacity(plan.answer_len.max(64));
    while Instant::now() < end {
        match plan.kind {
            Kind::Scan | Kind::ScanLarge => {
                match wire::exchange_into(addr, &plan.request, &mut answer, REQUEST_TIMEOUT).await {
                    Ok(latency) if answer.len() == plan.answer_len && answer[0] == OP_SCAN_RESPONSE => {
                        tally.latencies.push(latency);
                        tally.requests += 1;
                    }
                    Ok(_) => tally.fail(format!("unexpected scan answer of {} bytes", answer.len())),
                    Err(error) => tally.fail(error.to_string()),
                }
            }
            Kind::ConnectDisconnect => {
                let session = match wire::exchange_into(addr, &plan.request, &mut answer, REQUEST_TIMEOUT).await {
                    Ok(latency) if answer[0] == OP_CONNECT_RESPONSE && wire::connect_response_succeeded(&answer) => {
                        tally.latencies.push(latency);
                        tally.requests += 1;
                        wire::connect_response_session(&answer).unwrap_or(0)
                    }
                    Ok(_) => {
                        tally.fail(format!("unexpected connect answer {:?}", &answer[..answer.len().min(23)]));
                        continue;
                    }
                    Err(error) => {
                        tally.fail(error.to_string());
                        continue;
                    }
                };
                let disconnect = wire::disconnect_request(session);
                match wire::exchange_into(addr, &disconnect, &mut answer, REQUEST_TIMEOUT).await {
                    Ok(latency) if answer.len() == 7 && answer[0] == OP_DISCONNECT_RESPONSE => {
                        tally.latencies.push(latency);
                        tally.requests += 1;
                    }
                    Ok(_) => tally.fail(format!("unexpected disconnect answer of {} bytes", answer.len())),
                    Err(error) => tally.fail(error.to_string()),
                }
            }
        }
    }
    tally
}

/// Runs `clients` clients against `side` for `duration`.
async fn run_side(
    side: &Side,
    plan: &std::sync::Arc<Plan>,
    clients: usize,
    duration: Duration,
) -> (RoundFigures, Option<String>) {
    let lines = || side.log_lines.as_ref().map_or(0, |count| count.load(Ordering::Relaxed));
    let lines_before = lines();
    let cpu_before = side.cpu.read();
    let started = Instant::now();
    let end = started + duration;
    let tasks: Vec<_> = (0..clients).map(|_| tokio::spawn(client(side.addr, plan.clone(), end))).collect();
    let mut all = Tally::default();
    for task in tasks {
        match task.await {
            Ok(t) => {
                all.latencies.extend(t.latencies);
                all.requests += t.requests;
                all.errors += t.errors;
                if all.first_error.is_none() {
                    all.first_error = t.first_error;
                }
            }
            Err(error) => all.fail(format!("client task failed: {error}")),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    // The log reader may be a moment behind the service.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let log_lines = lines().saturating_sub(lines_before);
    let cpu = match (cpu_before, side.cpu.read()) {
        (Some(before), Some(after)) if all.requests > 0 => {
            after.saturating_sub(before).as_secs_f64() * 1e6 / all.requests as f64
        }
        _ => 0.0,
    };
    let figures = RoundFigures {
        server_cpu_us_per_request: cpu,
        requests_per_s: all.requests as f64 / elapsed,
        latency: Percentiles::of(&mut all.latencies),
        requests: all.requests,
        errors: all.errors,
        elapsed_s: elapsed,
        log_lines,
    };
    (figures, all.first_error)
}

async fn start_service(
    options: &LoadOptions,
    drain_port: u16,
    networks: Option<Vec<SimulatedNetwork>>,
) -> Result<Running, String> {
    if let Some(binary) = &options.service_binary {
        let serve = ServeOptions {
            binary: binary.clone(),
            quiet: options.service_quiet,
            notification_port: drain_port,
            networks,
        };
        return ServiceProcess::start(&serve).await.map(Running::Binary);
    }
    let workers = options.service_workers;
    let mut builder =
        Service::builder(TransportSettings::tcp(LOOPBACK, 0, None, drain_port)).mode(OperationMode::Simulated);
    if let Some(workers) = workers {
        builder = builder.worker_threads(workers);
    }
    if let Some(networks) = networks {
        builder = builder.simulated_networks(networks);
    }
    builder
        .start()
        .map(|handle| Running::Library(Box::new(handle)))
        .map_err(|e| format!("cannot start the service: {e}"))
}

/// Runs the whole load benchmark; `progress` gets a line per finished workload.
pub async fn run(options: &LoadOptions, mut progress: impl FnMut(&WorkloadReport)) -> Result<LoadReport, String> {
    let before = Conditions::now();
    let drain = DrainListener::start().await.map_err(|e| format!("cannot start the notification drain: {e}"))?;
    let default_service = start_service(options, drain.port(), None).await?;
    let large_service =
        start_service(options, drain.port(), Some(generated_networks(options.large_scan_networks))).await?;
    let default_addr = default_service.addr()?;
    let large_addr = large_service.addr()?;

    // The bare server answers the service's own bytes.
    let capture = |addr, request: Vec<u8>| async move {
        wire::exchange(addr, &request, REQUEST_TIMEOUT).await.map(|(a, _)| a).map_err(|e| e.to_string())
    };
    let scan_answer = capture(default_addr, wire::scan_request()).await?;
    let large_scan_answer = capture(large_addr, wire::scan_request()).await?;
    let connect_answer = capture(default_addr, wire::open_connect_request("FakeOpen")).await?;
    if !wire::connect_response_succeeded(&connect_answer) {
        return Err(format!("the service refused the open connect: {connect_answer:?}"));
    }
    let session = wire::connect_response_session(&connect_answer).unwrap_or(0);
    let disconnect_answer = capture(default_addr, wire::disconnect_request(session)).await?;
    let bare_default = BareServer::start(
        Answers { scan: scan_answer.clone(), connect: connect_answer.clone(), disconnect: disconnect_answer.clone() },
        options.server_threads,
    )
    .map_err(|e| format!("cannot start the bare server: {e}"))?;
    let bare_large = BareServer::start(
        Answers {
            scan: large_scan_answer.clone(),
            connect: connect_answer.clone(),
            disconnect: disconnect_answer.clone(),
        },
        options.server_threads,
    )
    .map_err(|e| format!("cannot start the bare server: {e}"))?;
    let minimal_default = MinimalServer::start(
        Replies::from_answers(&Answers {
            scan: scan_answer.clone(),
            connect: connect_answer.clone(),
            disconnect: disconnect_answer.clone(),
        })?,
        options.server_threads,
    )
    .map_err(|e| format!("cannot start the minimal server: {e}"))?;
    let minimal_large = MinimalServer::start(
        Replies::from_answers(&Answers {
            scan: large_scan_answer.clone(),
            connect: connect_answer.clone(),
            disconnect: disconnect_answer,
        })?,
        options.server_threads,
    )
    .map_err(|e| format!("cannot start the minimal server: {e}"))?;

    let duration = Duration::from_millis(options.duration_ms);
    let warmup = Duration::from_millis(options.warmup_ms);
    let mut workloads = Vec::new();
    for kind in [Kind::Scan, Kind::ScanLarge, Kind::ConnectDisconnect] {
        if !options.workloads.is_empty() && !options.workloads.contains(&kind) {
            continue;
        }
        let (minimal, bare, service_addr, request, answer_len) = match kind {
            Kind::Scan => {
                (minimal_default.addr(), bare_default.addr(), default_addr, wire::scan_request(), scan_answer.len())
            }
            Kind::ScanLarge => {
                (minimal_large.addr(), bare_large.addr(), large_addr, wire::scan_request(), large_scan_answer.len())
            }
            Kind::ConnectDisconnect => (
                minimal_default.addr(),
                bare_default.addr(),
                default_addr,
                wire::open_connect_request("FakeOpen"),
                connect_answer.len(),
            ),
        };
        let plan = std::sync::Arc::new(Plan { kind, request, answer_len });
        for clients in [1, options.concurrency] {
            let running = if kind == Kind::ScanLarge { &large_service } else { &default_service };
            let (minimal, bare, service) = (
                Side { addr: minimal, cpu: CpuOf::Threads(minimal::THREAD_PREFIX), log_lines: None },
                Side { addr: bare, cpu: CpuOf::Threads(bare::THREAD_NAME), log_lines: None },
                running.side(service_addr),
            );
            let runs = |server| options.only.is_none() || options.only == Some(server);
            let (run_minimal, run_bare, run_service) =
                (runs(Server::Minimal), runs(Server::Bare), runs(Server::Service));
            if run_minimal {
                run_side(&minimal, &plan, clients, warmup).await;
            }
            if run_bare {
                run_side(&bare, &plan, clients, warmup).await;
            }
            if run_service {
                run_side(&service, &plan, clients, warmup).await;
            }
            let mut minimal_rounds = Vec::new();
            let mut bare_rounds = Vec::new();
            let mut service_rounds = Vec::new();
            let (mut minimal_error, mut bare_error, mut service_error) = (None, None, None);
            for _ in 0..options.rounds.max(1) {
                if run_minimal {
                    let (figures, error) = run_side(&minimal, &plan, clients, duration).await;
                    minimal_rounds.push(figures);
                    minimal_error = minimal_error.or(error);
                }
                if run_bare {
                    let (figures, error) = run_side(&bare, &plan, clients, duration).await;
                    bare_rounds.push(figures);
                    bare_error = bare_error.or(error);
                }
                if run_service {
                    let (figures, error) = run_side(&service, &plan, clients, duration).await;
                    service_rounds.push(figures);
                    service_error = service_error.or(error);
                }
            }
            let minimal = SideFigures::from_rounds(minimal_rounds, minimal_error);
            let bare = SideFigures::from_rounds(bare_rounds, bare_error);
            let service = SideFigures::from_rounds(service_rounds, service_error);
            let report = WorkloadReport {
                name: kind.name(options.large_scan_networks),
                kind,
                clients,
                answer_bytes: answer_len,
                service_binary: options.service_binary.is_some(),
                throughput_ratio: ratio(service.requests_per_s, bare.requests_per_s),
                p50_ratio: ratio(service.p50_us, bare.p50_us),
                p99_ratio: ratio(service.p99_us, bare.p99_us),
                max_ratio: ratio(service.max_us, bare.max_us),
                paired_throughput_ratio: paired_median(&bare, &service, throughput),
                paired_p99_ratio: paired_median(&bare, &service, p99),
                minimal_throughput_ratio: ratio(service.requests_per_s, minimal.requests_per_s),
                minimal_p99_ratio: ratio(service.p99_us, minimal.p99_us),
                minimal_paired_throughput_ratio: paired_median(&minimal, &service, throughput),
                minimal_paired_p99_ratio: paired_median(&minimal, &service, p99),
                minimal_cpu_ratio: ratio(service.cpu_us_per_request, minimal.cpu_us_per_request),
                minimal,
                bare,
                service,
            };
            progress(&report);
            workloads.push(report);
        }
    }
    drop(bare_default);
    drop(bare_large);
    drop(minimal_default);
    drop(minimal_large);
    default_service.shutdown().await;
    large_service.shutdown().await;
    drain.stop();

    let headline = workloads
        .iter()
        .find(|w| w.kind == Kind::Scan && w.clients == options.concurrency)
        .map(|w| {
            (w.throughput_ratio, w.p99_ratio, w.minimal_throughput_ratio, w.minimal_p99_ratio, w.minimal_cpu_ratio)
        })
        .unwrap_or_default();
    Ok(LoadReport {
        conditions: before.until_now(),
        options: options.clone(),
        workloads,
        throughput_ratio: headline.0,
        p99_ratio: headline.1,
        minimal_throughput_ratio: headline.2,
        minimal_p99_ratio: headline.3,
        minimal_cpu_ratio: headline.4,
        targets_met: headline.2 >= 0.9 && headline.3 <= 1.2,
    })
}

fn throughput(round: &RoundFigures) -> f64 {
    round.requests_per_s
}

fn p99(round: &RoundFigures) -> f64 {
    round.latency.p99_us
}

/// The median over the rounds of `figure` of the service over that of `reference` in the
/// same round (paired ratios).
fn paired_median(reference: &SideFigures, service: &SideFigures, figure: fn(&RoundFigures) -> f64) -> f64 {
    let ratios: Vec<f64> =
        reference.rounds.iter().zip(&service.rounds).map(|(r, s)| ratio(figure(s), figure(r))).collect();
    median(&ratios)
}

/// The table header printed before the workload lines.
pub const TABLE_HEADER: &str =
    "workload                 clients  server      req/s    p50 µs    p99 µs    max µs  cpu µs/req  errors";

/// The lines of one workload: minimal, bare, service, ratios.
pub fn format_workload(w: &WorkloadReport) -> String {
    let line = |server: &str, s: &SideFigures| {
        format!(
            "{:<24} {:>7}  {:<7} {:>10.0} {:>9.1} {:>9.1} {:>9.1} {:>11.1} {:>7}",
            w.name, w.clients, server, s.requests_per_s, s.p50_us, s.p99_us, s.max_us, s.cpu_us_per_request, s.errors
        )
    };
    let mut out =
        format!("{}\n{}\n{}\n", line("minimal", &w.minimal), line("bare", &w.bare), line("service", &w.service));
    out.push_str(&format!(
        "{:<24} {:>7}  vs minimal: throughput {:.3}  p99 {:.3}  cpu/req {:.3}  (paired: throughput {:.3}, p99 {:.3})\n",
        "",
        "",
        w.minimal_throughput_ratio,
        w.minimal_p99_ratio,
        w.minimal_cpu_ratio,
        w.minimal_paired_throughput_ratio,
        w.minimal_paired_p99_ratio
    ));
    out.push_str(&format!(
        "{:<24} {:>7}  vs bare: throughput {:.3}  p50 {:.3}  p99 {:.3}  max {:.3}  (paired: throughput {:.3}, p99 {:.3})",
        "", "", w.throughput_ratio, w.p50_ratio, w.p99_ratio, w.max_ratio, w.paired_throughput_ratio, w.paired_p99_ratio
    ));
    if w.service_binary {
        out.push_str(&format!(
            "\n{:<24} {:>7}  service log: {} lines in {:.1} s ({:.0} lines/s)",
            "",
            "",
            w.service.log_lines,
            w.service.rounds.iter().map(|r| r.elapsed_s).sum::<f64>(),
            w.service.log_lines_per_s
        ));
    }
    for (server, side) in [("minimal", &w.minimal), ("bare", &w.bare), ("service", &w.service)] {
        if let Some(error) = &side.first_error {
            out.push_str(&format!("\n{:<24} first error ({server}): {error}", ""));
        }
    }
    out
}
