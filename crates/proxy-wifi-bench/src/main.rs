//! `proxy-wifi-bench`: load, notification latency, memory and hostile-guest figures of proxy-wifi.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use proxy_wifi_bench::hostile::{self, SuiteConfig, Verdict};
use proxy_wifi_bench::{fairness, guests, latency, load, memory, mutating_host, raise_open_files_limit};
use serde::Serialize;

/// Measures proxy-wifi over loopback TCP.
#[derive(Debug, Parser)]
#[command(name = "proxy-wifi-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The service against the minimal blocking server (the limit) and a bare tokio server, interleaved in rounds.
    Load {
        /// Rounds per workload (minimal, bare, service, minimal, ...).
        #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u64).range(1..=1000))]
        rounds: u64,
        /// Length of each side of a round, in ms.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(50..=60_000))]
        duration_ms: u64,
        /// Unrecorded warm-up per side and workload, in ms.
        #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(0..=60_000))]
        warmup_ms: u64,
        /// Worker threads of the clients' runtime.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
        client_threads: u64,
        /// Concurrent clients of the concurrent workloads.
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(2..=256))]
        concurrency: u64,
        /// Worker threads of the service's runtime (default: the service's default).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=64))]
        service_workers: Option<u64>,
        /// Run only these workloads (repeatable; default: all).
        #[arg(long = "workload", value_enum)]
        workloads: Vec<load::Kind>,
        /// Measure only one server, e.g. under a profiler (no ratios then).
        #[arg(long, value_enum)]
        only: Option<load::Server>,
        /// Measure this `proxy-wifi` binary (`serve`, simulated, TCP on loopback) instead of
        /// the library in this process, e.g. target/release/proxy-wifi.
        #[arg(long, value_name = "PATH", conflicts_with = "service_workers")]
        service_binary: Option<PathBuf>,
        /// With --service-binary: run it with -q (warnings only) instead of its default level.
        #[arg(long, requires = "service_binary")]
        service_quiet: bool,
        /// Write every figure as JSON to this file.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Fairness: 50 TCP guests (127.0.0.2-51); polite guests' p99 without and with a flooding guest.
    Fairness {
        /// Guests in all; the first floods in the second phase.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(2..=200))]
        guests: u64,
        /// Length of each phase, in ms.
        #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(100..=600_000))]
        duration_ms: u64,
        /// Pause of a polite guest between two scans, in ms.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(0..=10_000))]
        think_ms: u64,
        /// Connections the flooding guest keeps busy at once.
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=256))]
        flood_connections: u64,
        /// Write the figures as JSON to this file.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Many guests on one service: 10, 100, 1,000 TCP guests (127.1.x.y) added at run time;
    /// memory and descriptors per idle guest, add/remove rate, all scanning at once, a flood.
    Guests {
        /// Guest counts, each on a fresh service (repeatable; default 10, 100, 1000).
        #[arg(long = "count", value_parser = clap::value_parser!(u64).range(2..=guests::MAX_COUNT as u64))]
        counts: Vec<u64>,
        /// Bursts in which every guest scans at once.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=100))]
        bursts: u64,
        /// Pause of a polite guest between two scans in the flood phases, in ms.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=60_000))]
        think_ms: u64,
        /// Length of the quiet and of the flooded phase, in ms.
        #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(100..=600_000))]
        phase_ms: u64,
        /// Connections the flooding guest keeps busy at once.
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=256))]
        flood_connections: u64,
        /// Write the figures as JSON to this file.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Notification latency: event-API call to the bytes at a listening guest.
    Latency {
        /// Events (each waits for the previous notification).
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        events: u64,
        /// Threads spinning at normal priority meanwhile (2 on a 2-CPU machine: CPU contention).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=64))]
        busy_threads: u64,
        /// Split each sample at the service's "notification sent" (a DEBUG event it logs
        /// once the bytes are written): the service's part and the guest's wake-up.
        #[arg(long)]
        stages: bool,
        /// Write the figures as JSON to this file.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// RSS of a `proxy-wifi serve` process before/after mixed requests, and with idle connections.
    Memory {
        /// The proxy-wifi binary.
        #[arg(long, value_name = "PATH", default_value = "target/release/proxy-wifi")]
        binary: PathBuf,
        /// Mixed requests measured.
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
        requests: u64,
        /// Idle connections opened.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(0..=1000))]
        idle: u64,
        /// The server's read deadline (`serve --read-deadline-ms`).
        #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(10..=600_000))]
        read_deadline_ms: u64,
        /// Write the figures as JSON to this file.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// The hostile-guest suite against a running `proxy-wifi serve` (loopback only).
    Hostile {
        /// The service's request address, e.g. 127.0.0.1:12345.
        #[arg(long, value_name = "HOST:PORT")]
        addr: SocketAddr,
        /// The port the service sends notifications to on 127.0.0.1 (nothing else may
        /// listen there); without it the notification cases are skipped.
        #[arg(long, value_name = "PORT")]
        notification_port: Option<u16>,
        /// The service's read deadline (`serve --read-deadline-ms`, default 5000).
        #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(10..=600_000))]
        read_deadline_ms: u64,
        /// The service's control socket: read its counters and trigger events with
        /// `proxy-wifi ctl` (then counters, session and leaks are checked too).
        #[arg(long, value_name = "PATH", requires = "ctl_binary")]
        ctl_socket: Option<PathBuf>,
        /// The proxy-wifi binary used for `ctl`.
        #[arg(long, value_name = "PATH", requires = "ctl_socket")]
        ctl_binary: Option<PathBuf>,
        /// Silent connections.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1000))]
        silent: u64,
        /// Time between two bytes of a slow sender, in ms.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        slow_interval_ms: u64,
        /// Random-bytes cases.
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        random_cases: u64,
        /// Seed of the random bytes.
        #[arg(long, default_value_t = 0x5eed_0ff1)]
        seed: u64,
        /// Budget of the well-formed request after each case, in ms.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        probe_budget_ms: u64,
        /// Write the results as JSON to this file.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// A hostile host for the guest driver: mutated answers and random notifications,
    /// then honest (after --honest-after seconds or on SIGUSR1).
    MutatingHost {
        /// Listen for requests on this vsock port (any CID).
        #[arg(long, value_name = "PORT", required_unless_present = "listen_tcp", conflicts_with = "listen_tcp")]
        listen_vsock: Option<u32>,
        /// Listen for requests on this TCP address.
        #[arg(long, value_name = "ADDR")]
        listen_tcp: Option<SocketAddr>,
        /// Send notifications over vsock to this CID (at --notification-port).
        #[arg(long, value_name = "CID", conflicts_with = "notify_tcp")]
        guest_cid: Option<u32>,
        /// Send notifications over TCP to this address instead.
        #[arg(long, value_name = "ADDR")]
        notify_tcp: Option<SocketAddr>,
        /// The guest's notification port (vsock).
        #[arg(long, default_value_t = 12346)]
        notification_port: u32,
        /// Stop after this many seconds (SIGTERM stops too).
        #[arg(long, value_name = "SECS", default_value_t = 600)]
        duration: u64,
        /// Turn honest after this many seconds (SIGUSR1 does it at any time).
        #[arg(long, value_name = "SECS")]
        honest_after: Option<u64>,
        /// Seed of every random choice.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write the counts as JSON to this file at exit (and on SIGUSR2).
        #[arg(long, value_name = "FILE")]
        stats: Option<PathBuf>,
    },
}

fn write_json(path: &Option<PathBuf>, value: &impl Serialize) -> Result<(), String> {
    if let Some(path) = path {
        let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
        std::fs::write(path, text + "\n").map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("figures written to {}", path.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let client_threads = match &cli.command {
        Command::Load { client_threads, .. } => *client_threads as usize,
        _ => 2,
    };
    raise_open_files_limit(8192);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(client_threads)
        .thread_name("bench-client")
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<ExitCode, String> {
    match command {
        Command::Load {
            rounds,
            duration_ms,
            warmup_ms,
            client_threads,
            concurrency,
            service_workers,
            workloads,
            only,
            service_binary,
            service_quiet,
            json,
        } => {
            let options = load::LoadOptions {
                rounds: rounds as usize,
                duration_ms,
                warmup_ms,
                client_threads: client_threads as usize,
                concurrency: concurrency as usize,
                service_workers: service_workers.map(|n| n as usize),
                workloads,
                only,
                service_binary,
                service_quiet,
                ..load::LoadOptions::default()
            };
            println!(
                "load: {} rounds of {} ms per side (minimal, bare, service, ...), warm-up {} ms; server runtimes: multi-thread, {} workers; clients: {} workers",
                options.rounds, options.duration_ms, options.warmup_ms, options.server_threads, options.client_threads
            );
            if let Some(binary) = &options.service_binary {
                println!(
                    "service: {} serve --mode simulated{} (its own process; CPU of all its threads; log to a pipe)",
                    binary.display(),
                    if options.service_quiet { ", -q" } else { ", default log level" }
                );
            }
            println!("{}", load::TABLE_HEADER);
            let report = load::run(&options, |w| println!("{}", load::format_workload(w))).await?;
            println!("{}", report.conditions.describe());
            println!(
                "targets (scan, {} clients, against the minimal server): throughput ratio >= 0.9, p99 ratio <= 1.2: {}",
                options.concurrency,
                if report.targets_met { "met" } else { "NOT met" }
            );
            write_json(&json, &report)?;
            println!(
                "throughput_ratio={:.3} p99_ratio={:.3} minimal_throughput_ratio={:.3} minimal_p99_ratio={:.3} minimal_cpu_ratio={:.3}",
                report.throughput_ratio,
                report.p99_ratio,
                report.minimal_throughput_ratio,
                report.minimal_p99_ratio,
                report.minimal_cpu_ratio
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Fairness { guests, duration_ms, think_ms, flood_connections, json } => {
            let options = fairness::FairnessOptions {
                guests: guests as usize,
                duration: Duration::from_millis(duration_ms),
                think: Duration::from_millis(think_ms),
                flood_connections: flood_connections as usize,
            };
            println!(
                "fairness: {} TCP guests on 127.0.0.2-127.0.0.{}, polite guests scan every {} ms; phases of {} ms; flood: guest 127.0.0.2 on {} connections",
                options.guests,
                options.guests + 1,
                think_ms,
                duration_ms,
                options.flood_connections
            );
            let r = fairness::run(&options).await?;
            for (name, phase) in [("alone", &r.quiet), ("flooded", &r.flooded)] {
                let p = &phase.polite;
                println!(
                    "  polite guests {name:<8} {:>6} scans  p50 {:>7.1} µs  p99 {:>7.1} µs  max {:>8.1} µs  errors {}   flood: {} answered, {} refused",
                    p.count,
                    p.p50_us,
                    p.p99_us,
                    p.max_us,
                    phase.polite_errors,
                    phase.flood_answered,
                    phase.flood_refused
                );
            }
            println!("{}", r.conditions.describe());
            println!(
                "target: polite p99 with the flood at most 2x without: {}",
                if r.target_met { "met" } else { "NOT met" }
            );
            write_json(&json, &r)?;
            println!("fairness_p99_ratio={:.3}", r.p99_ratio);
            Ok(ExitCode::SUCCESS)
        }
        Command::Guests { counts, bursts, think_ms, phase_ms, flood_connections, json } => {
            let defaults = guests::GuestsOptions::default();
            let options = guests::GuestsOptions {
                counts: if counts.is_empty() { defaults.counts } else { counts.iter().map(|c| *c as usize).collect() },
                bursts: bursts as usize,
                think: Duration::from_millis(think_ms),
                phase: Duration::from_millis(phase_ms),
                flood_connections: flood_connections as usize,
            };
            println!(
                "guests: TCP guests on 127.1.x.y added with ServiceHandle::add_guest to one in-process service (simulated); {} bursts; polite guests scan every {think_ms} ms, phases of {phase_ms} ms; flood: the first guest on {flood_connections} connections",
                options.bursts
            );
            println!(
                "guests  add/s  remove/s  KiB/idle guest  fds/idle guest  burst p50 ms  p99 ms  max ms  answered  fairness  quiet p99 ms  flooded p99 ms  ratio"
            );
            let report = guests::run(&options, |c| {
                println!(
                    "{:>6} {:>6.0} {:>9.0} {:>15.2} {:>15.3} {:>13.2} {:>7.2} {:>7.2} {:>5}/{:<5} {:>6.2} {:>13.2} {:>15.2} {:>6.2}",
                    c.guests,
                    c.add_per_s,
                    c.remove_per_s,
                    c.kib_per_idle_guest,
                    c.fds_per_idle_guest,
                    c.burst.p50_us / 1e3,
                    c.burst.p99_us / 1e3,
                    c.burst.max_us / 1e3,
                    c.burst_answered,
                    c.burst_answered + c.burst_failed,
                    c.fairness_ratio,
                    c.quiet.p99_us / 1e3,
                    c.flooded.p99_us / 1e3,
                    c.flood_p99_ratio
                );
                println!(
                    "        RSS {} KiB before, {} idle, {} after removal; fds {} before, {} idle; first scans {:.0}/s; burst spread (slowest/fastest in a burst, median) {:.1}; guests always answered {}; polite errors {:?}; flood answered/refused {:?}{}",
                    c.rss_before_kib,
                    c.rss_idle_kib,
                    c.rss_removed_kib,
                    c.fds_before,
                    c.fds_idle,
                    c.first_scans_per_s,
                    c.burst_spread,
                    c.guests_always_answered,
                    c.polite_errors,
                    c.flood,
                    c.burst_first_error.as_deref().map(|e| format!("; first burst error: {e}")).unwrap_or_default()
                );
            })
            .await?;
            println!("{}", report.conditions.describe());
            let met = report.counts.iter().all(|c| {
                c.kib_per_idle_guest <= 64.0
                    && c.fds_per_idle_guest <= 3.0
                    && c.burst_failed == 0
                    && c.flood_p99_ratio > 0.0
                    && c.flood_p99_ratio <= 2.0
            });
            println!(
                "targets (<= 64 KiB and <= 3 fds per idle guest, every burst scan answered, flood p99 ratio <= 2): {}",
                if met { "met" } else { "NOT met" }
            );
            write_json(&json, &report)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Latency { events, busy_threads, stages, json } => {
            let report = latency::run(events as usize, busy_threads as usize, stages).await?;
            let l = &report.latency;
            println!(
                "notification latency over {} events, {} busy threads ({} delivered, {} missed, {} over 10 ms): p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.1} µs, mean {:.1} µs",
                report.events,
                report.busy_threads,
                report.delivered,
                report.missed,
                report.over_10ms,
                l.p50_us,
                l.p99_us,
                l.p999_us,
                l.max_us,
                l.mean_us
            );
            let w = &report.accept_to_bytes;
            println!(
                "  accept to last byte (the guest driver allows 10 ms): p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.1} µs; {} over 10 ms",
                w.p50_us, w.p99_us, w.p999_us, w.max_us, report.accept_over_10ms
            );
            let p = &report.wake_probe;
            println!(
                "  wake-up probe under the same load (two thread wake-ups, no service): p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.1} µs",
                p.p50_us, p.p99_us, p.p999_us, p.max_us
            );
            if let (Some(service), Some(wake)) = (&report.stage_service, &report.stage_guest_wake) {
                println!(
                    "  stages over {} samples: event -> bytes written (service) p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs; bytes written -> guest's accept p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
                    service.count,
                    service.p50_us,
                    service.p99_us,
                    service.max_us,
                    wake.p50_us,
                    wake.p99_us,
                    wake.max_us
                );
            }
            if let Some(error) = &report.first_error {
                println!("first problem: {error}");
            }
            println!("{}", report.conditions.describe());
            if report.busy_threads == 0 {
                println!("target p99 < 1 ms: {}", if report.target_met { "met" } else { "NOT met" });
            } else {
                let met = report.missed == 0 && l.p99_us < 5000.0;
                println!("goal with busy threads (issue 27): p99 < 5 ms: {}", if met { "met" } else { "NOT met" });
            }
            write_json(&json, &report)?;
            Ok(if report.missed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Memory { binary, requests, idle, read_deadline_ms, json } => {
            let options = memory::MemoryOptions {
                binary,
                requests: requests as usize,
                idle_connections: idle as usize,
                read_deadline_ms,
                ..memory::MemoryOptions::default()
            };
            let r = memory::run(&options).await?;
            println!("proxy-wifi serve (pid {}), RSS in KiB:", r.pid);
            println!("  after start (1 scan)             {:>8}", r.rss_start.rss_kib);
            println!(
                "  after {:>6} warm-up requests     {:>8}   (before)",
                options.warmup_requests, r.rss_before.rss_kib
            );
            for (done, kib) in &r.rss_series {
                println!("  after {done:>6} more requests       {kib:>8}");
            }
            println!(
                "  growth over {} mixed requests: {} KiB ({} KiB since start); peak (VmHWM) {} KiB; {} ok, {} failed, {:.0} req/s",
                options.requests,
                r.growth_kib,
                r.growth_from_start_kib,
                r.rss_after.hwm_kib,
                r.requests_ok,
                r.requests_failed,
                r.requests_per_s
            );
            for (round, idle) in r.idle.iter().enumerate() {
                println!(
                    "  idle round {}: {} idle connections: RSS {} KiB while open, {} KiB after; {} closed by the read deadline ({} ms) {:.0}–{:.0} ms after opening, {} not closed",
                    round + 1,
                    idle.opened,
                    idle.rss_open.rss_kib,
                    idle.rss_after_close.rss_kib,
                    idle.closed_by_server,
                    options.read_deadline_ms,
                    idle.first_close_ms,
                    idle.last_close_ms,
                    idle.not_closed
                );
            }
            println!("{}", r.conditions.describe());
            println!(
                "target growth <= 1 MiB, idle connections closed: {}",
                if r.target_met { "met" } else { "NOT met" }
            );
            write_json(&json, &r)?;
            Ok(if r.target_met { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Hostile {
            addr,
            notification_port,
            read_deadline_ms,
            ctl_socket,
            ctl_binary,
            silent,
            slow_interval_ms,
            random_cases,
            seed,
            probe_budget_ms,
            json,
        } => {
            if !addr.ip().is_loopback() {
                return Err(format!("{addr} is not a loopback address: the suite only targets this machine"));
            }
            let ctl = ctl_binary.zip(ctl_socket);
            let target = hostile::binary_target(addr, notification_port, Duration::from_millis(read_deadline_ms), ctl);
            let config = SuiteConfig {
                silent_connections: silent as usize,
                slow_interval: Duration::from_millis(slow_interval_ms),
                random_cases: random_cases as usize,
                seed,
                probe_budget: Duration::from_millis(probe_budget_ms),
                ..SuiteConfig::default()
            };
            let report = hostile::run_suite(&target, &config, |case| {
                let verdict = match case.verdict {
                    Verdict::Pass => "PASS",
                    Verdict::Fail => "FAIL",
                    Verdict::Skip => "SKIP",
                };
                let worst = case.probe_ms.iter().copied().fold(0.0, f64::max);
                println!(
                    "{verdict} {} ({:.1} s; {} probes, slowest {worst:.1} ms): {}",
                    case.name,
                    case.elapsed_s,
                    case.probe_ms.len(),
                    case.detail
                );
            })
            .await;
            write_json(&json, &report)?;
            let failed = report.cases.iter().filter(|c| c.verdict == Verdict::Fail).count();
            println!("{} cases, {failed} failed", report.cases.len());
            Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::MutatingHost {
            listen_vsock,
            listen_tcp,
            guest_cid,
            notify_tcp,
            notification_port,
            duration,
            honest_after,
            seed,
            stats,
        } => {
            let listen = match (listen_vsock, listen_tcp) {
                (Some(port), _) => mutating_host::Listen::Vsock(port),
                (None, Some(addr)) => mutating_host::Listen::Tcp(addr),
                (None, None) => return Err("--listen-vsock or --listen-tcp is required".into()),
            };
            let notify = match (guest_cid, notify_tcp) {
                (Some(cid), _) => mutating_host::NotifyTarget::Vsock(cid, notification_port),
                (None, Some(addr)) => mutating_host::NotifyTarget::Tcp(addr),
                (None, None) => mutating_host::NotifyTarget::None,
            };
            let options = mutating_host::Options {
                listen,
                notify,
                duration: Duration::from_secs(duration),
                honest_after: honest_after.map(Duration::from_secs),
                seed,
                stats,
            };
            let report = mutating_host::run(options).await?;
            println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
