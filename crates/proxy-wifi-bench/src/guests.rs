//! Many guests on one service (issue 27 §4): 10, 100, then 1,000 TCP guests, each with
//! its own source address on loopback (127.1.x.y), added at run time with the library
//! call [`ServiceHandle::add_guest`] to a [`TransportSettings::TcpListed`] service in
//! this process (simulated mode). For each count, on a fresh service:
//!
//! * add rate, then every guest's first scan one after the other (the service knows
//!   it from then on); memory (RSS of this process) and open descriptors per idle guest,
//!   against the service before its guests (the clients hold nothing between scans);
//! * bursts: every guest scans at the same instant; time to answer (connect to last
//!   byte), answered count, and fairness: each guest's mean over the bursts, slowest
//!   over fastest (a serialized server answers one burst in some order; fair means no
//!   guest is served last every time);
//! * one guest floods (back-to-back scans on many connections) while the others scan
//!   now and then: their p99 against a quiet run of the same;
//! * remove rate, and RSS once every guest is gone.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use proxy_wifi::{GuestId, OperationMode, Service, ServiceHandle, TransportSettings};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::sync::Barrier;

use crate::memory::read_rss;
use crate::stats::{Percentiles, ratio};
use crate::{Conditions, DrainListener, wire};

/// What to run.
#[derive(Debug, Clone, Serialize)]
pub struct GuestsOptions {
    /// Guest counts, each on a fresh service (e.g. 10, 100, 1000).
    pub counts: Vec<usize>,
    /// Bursts in which every guest scans at once.
    pub bursts: usize,
    /// Pause of a polite guest between two scans in the flood phases.
    pub think: Duration,
    /// Length of the quiet and of the flooded phase.
    pub phase: Duration,
    /// Connections the flooding guest keeps busy at once.
    pub flood_connections: usize,
}

impl Default for GuestsOptions {
    fn default() -> Self {
        Self {
            counts: vec![10, 100, 1000],
            bursts: 5,
            think: Duration::from_millis(500),
            phase: Duration::from_secs(5),
            flood_connections: 16,
        }
    }
}

/// Most guests: the service's guest cap ([`proxy_wifi::limits::MAX_GUESTS`]) less the one
/// used before the guests are added.
pub const MAX_COUNT: usize = proxy_wifi::limits::MAX_GUESTS - 1;

/// Figures for one guest count.
#[derive(Debug, Clone, Serialize)]
pub struct CountFigures {
    /// Guests.
    pub guests: usize,
    /// Guests added per second (`add_guest`).
    pub add_per_s: f64,
    /// First scans per second, one guest after the other.
    pub first_scans_per_s: f64,
    /// RSS before the guests, KiB.
    pub rss_before_kib: u64,
    /// RSS with every guest known and idle, KiB.
    pub rss_idle_kib: u64,
    /// `(rss_idle - rss_before) / guests`, KiB.
    pub kib_per_idle_guest: f64,
    /// Open descriptors before the guests.
    pub fds_before: usize,
    /// Open descriptors with every guest known and idle.
    pub fds_idle: usize,
    /// `(fds_idle - fds_before) / guests`.
    pub fds_per_idle_guest: f64,
    /// Time to answer over every burst.
    pub burst: Percentiles,
    /// Burst scans answered.
    pub burst_answered: u64,
    /// Burst scans that failed.
    pub burst_failed: u64,
    /// First failure of a burst scan, if any.
    pub burst_first_error: Option<String>,
    /// Guests whose every burst scan was answered.
    pub guests_always_answered: usize,
    /// Slowest guest's mean burst latency over the fastest guest's.
    pub fairness_ratio: f64,
    /// Slowest over fastest answer within one burst (median over the bursts): the order
    /// a serialized server answers in.
    pub burst_spread: f64,
    /// The polite guests without the flood.
    pub quiet: Percentiles,
    /// The polite guests while the first guest floods.
    pub flooded: Percentiles,
    /// Polite scans that failed, quiet and flooded.
    pub polite_errors: (u64, u64),
    /// Flood scans answered, and closed unanswered (per-guest caps).
    pub flood: (u64, u64),
    /// `flooded.p99 / quiet.p99`.
    pub flood_p99_ratio: f64,
    /// Guests removed per second (`remove_guest`).
    pub remove_per_s: f64,
    /// RSS once every guest was removed, KiB.
    pub rss_removed_kib: u64,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct GuestsReport {
    /// Settings.
    pub options: GuestsOptions,
    /// One entry per count.
    pub counts: Vec<CountFigures>,
    /// Machine and load.
    pub conditions: Conditions,
}

/// The source address of guest `index` (0-based): 127.1.0.2 and up, 200 per /24.
pub fn guest_ip(index: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 1, (index / 200) as u8, (index % 200) as u8 + 2))
}

/// One scan from `source`: the time from connect to the whole answer.
async fn scan_from(
    source: IpAddr,
    service: SocketAddr,
    request: &[u8],
    buffer: &mut Vec<u8>,
) -> Result<Duration, String> {
    let started = Instant::now();
    let exchange = async {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(source, 0))?;
        let mut stream = socket.connect(service).await?;
        stream.set_nodelay(true)?;
        stream.write_all(request).await?;
        buffer.clear();
        stream.read_to_end(buffer).await?;
        Ok::<_, std::io::Error>(())
    };
    match tokio::time::timeout(Duration::from_secs(25), exchange).await {
        Ok(Ok(())) if wire::decode_answer(buffer).is_some() => Ok(started.elapsed()),
        Ok(Ok(())) => Err(format!("{source}: no scan response ({} bytes)", buffer.len())),
        Ok(Err(error)) => Err(format!("{source}: {error}")),
        Err(_) => Err(format!("{source}: no answer within 25 s")),
    }
}

/// Open descriptors of this process.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

fn rss_kib() -> u64 {
    read_rss(std::process::id()).map(|r| r.rss_kib).unwrap_or(0)
}

/// Runs every count.
pub async fn run(options: &GuestsOptions, mut progress: impl FnMut(&CountFigures)) -> Result<GuestsReport, String> {
    if let Some(bad) = options.counts.iter().find(|c| **c < 2 || **c > MAX_COUNT) {
        return Err(format!(
            "a guest count of {bad} is out of range: 2 to {MAX_COUNT} (the service's guest cap less one)"
        ));
    }
    let conditions = Conditions::now();
    let drain = DrainListener::start().await.map_err(|e| format!("cannot start the notification drain: {e}"))?;
    let mut counts = Vec::new();
    for &count in &options.counts {
        let figures = one_count(options, count, drain.port()).await?;
        progress(&figures);
        counts.push(figures);
    }
    drain.stop();
    Ok(GuestsReport { options: options.clone(), counts, conditions: conditions.until_now() })
}

async fn one_count(options: &GuestsOptions, count: usize, drain_port: u16) -> Result<CountFigures, String> {
    let service = Service::builder(TransportSettings::TcpListed {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        guest_ips: vec![IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1))],
        notification_port: drain_port,
    })
    .mode(OperationMode::Simulated)
    .start()
    .map_err(|e| format!("cannot start the service: {e}"))?;
    let addr = service.request_tcp_addr().ok_or("the service has no TCP address")?;
    let request = Arc::new(wire::scan_request());
    let mut buffer = Vec::new();
    // The service and this process warmed up by one guest, before the figures.
    for _ in 0..100 {
        scan_from(IpAddr::V4(Ipv4Addr::LOCALHOST), addr, &request, &mut buffer).await?;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (rss_before_kib, fds_before) = (rss_kib(), open_fds());

    let started = Instant::now();
    for index in 0..count {
        add(&service, index)?;
    }
    let add_per_s = count as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for index in 0..count {
        scan_from(guest_ip(index), addr, &request, &mut buffer).await.map_err(|e| format!("first scan: {e}"))?;
    }
    let first_scans_per_s = count as f64 / started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (rss_idle_kib, fds_idle) = (rss_kib(), open_fds());

    let bursts = bursts(options.bursts.max(1), count, addr, &request).await;
    let (quiet, quiet_errors, _) = phase(options, count, addr, &request, false).await;
    let (flooded, flooded_errors, flood) = phase(options, count, addr, &request, true).await;

    let started = Instant::now();
    for index in 0..count {
        let guest = GuestId::Tcp(guest_ip(index));
        service.remove_guest(&guest).map_err(|e| format!("cannot remove {guest}: {e}"))?;
    }
    let remove_per_s = count as f64 / started.elapsed().as_secs_f64();
    // The service forgets them on its work queue: one more request goes behind them.
    scan_from(IpAddr::V4(Ipv4Addr::LOCALHOST), addr, &request, &mut buffer).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_removed_kib = rss_kib();
    service.shutdown().await;

    Ok(CountFigures {
        guests: count,
        add_per_s,
        first_scans_per_s,
        rss_before_kib,
        rss_idle_kib,
        kib_per_idle_guest: (rss_idle_kib as f64 - rss_before_kib as f64) / count as f64,
        fds_before,
        fds_idle,
        fds_per_idle_guest: (fds_idle as f64 - fds_before as f64) / count as f64,
        burst: bursts.latency,
        burst_answered: bursts.answered,
        burst_failed: bursts.failed,
        burst_first_error: bursts.first_error,
        guests_always_answered: bursts.always_answered,
        fairness_ratio: bursts.fairness_ratio,
        burst_spread: bursts.spread,
        flood_p99_ratio: ratio(flooded.p99_us, quiet.p99_us),
        quiet,
        flooded,
        polite_errors: (quiet_errors, flooded_errors),
        flood,
        remove_per_s,
        rss_removed_kib,
    })
}

fn add(service: &ServiceHandle, index: usize) -> Result<(), String> {
    let guest = GuestId::Tcp(guest_ip(index));
    match service.add_guest(guest.clone()) {
        Ok(true) => Ok(()),
        Ok(false) => Err(format!("{guest} was listed already")),
        Err(error) => Err(format!("cannot add {guest}: {error}")),
    }
}

struct Bursts {
    latency: Percentiles,
    answered: u64,
    failed: u64,
    first_error: Option<String>,
    always_answered: usize,
    fairness_ratio: f64,
    spread: f64,
}

/// `rounds` bursts of one scan from every guest, released together.
async fn bursts(rounds: usize, count: usize, addr: SocketAddr, request: &Arc<Vec<u8>>) -> Bursts {
    let mut per_guest: Vec<Vec<Duration>> = vec![Vec::new(); count];
    let (mut all, mut failed, mut first_error, mut spreads) = (Vec::new(), 0u64, None, Vec::new());
    for _ in 0..rounds {
        let barrier = Arc::new(Barrier::new(count));
        let tasks: Vec<_> = (0..count)
            .map(|index| {
                let (barrier, request) = (barrier.clone(), request.clone());
                tokio::spawn(async move {
                    let mut buffer = Vec::new();
                    barrier.wait().await;
                    scan_from(guest_ip(index), addr, &request, &mut buffer).await
                })
            })
            .collect();
        let mut round = Vec::new();
        for (index, task) in tasks.into_iter().enumerate() {
            match task.await {
                Ok(Ok(latency)) => {
                    per_guest[index].push(latency);
                    round.push(latency);
                }
                Ok(Err(error)) => {
                    failed += 1;
                    first_error.get_or_insert(error);
                }
                Err(error) => {
                    failed += 1;
                    first_error.get_or_insert(format!("task: {error}"));
                }
            }
        }
        if let (Some(fastest), Some(slowest)) = (round.iter().min(), round.iter().max()) {
            spreads.push(ratio(slowest.as_secs_f64(), fastest.as_secs_f64()));
        }
        all.extend(round);
        // Let the connections' ends settle between bursts.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let means: Vec<f64> = per_guest
        .iter()
        .filter(|l| l.len() == rounds)
        .map(|l| l.iter().map(Duration::as_secs_f64).sum::<f64>() / rounds as f64)
        .collect();
    let fastest = means.iter().copied().fold(f64::INFINITY, f64::min);
    let slowest = means.iter().copied().fold(0.0, f64::max);
    Bursts {
        answered: all.len() as u64,
        latency: Percentiles::of(&mut all),
        failed,
        first_error,
        always_answered: means.len(),
        fairness_ratio: if means.is_empty() { 0.0 } else { ratio(slowest, fastest) },
        spread: crate::stats::median(&spreads),
    }
}

/// Guests 1.. scan every `think`; with `flood`, guest 0 scans back to back on many
/// connections meanwhile. Returns the polite latencies, polite failures, and the
/// flood's (answered, unanswered).
async fn phase(
    options: &GuestsOptions,
    count: usize,
    addr: SocketAddr,
    request: &Arc<Vec<u8>>,
    flood: bool,
) -> (Percentiles, u64, (u64, u64)) {
    let stop = Arc::new(AtomicBool::new(false));
    let (answered, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut flooders = Vec::new();
    if flood {
        for _ in 0..options.flood_connections {
            let (stop, request, answered, refused) = (stop.clone(), request.clone(), answered.clone(), refused.clone());
            flooders.push(tokio::spawn(async move {
                let mut buffer = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match scan_from(guest_ip(0), addr, &request, &mut buffer).await {
                        Ok(_) => answered.fetch_add(1, Ordering::Relaxed),
                        Err(_) => refused.fetch_add(1, Ordering::Relaxed),
                    };
                }
            }));
        }
    }
    let think = options.think;
    let polite: Vec<_> = (1..count)
        .map(|index| {
            let (stop, request) = (stop.clone(), request.clone());
            tokio::spawn(async move {
                // Spread over the think time so the guests do not scan in lockstep.
                tokio::time::sleep(think.mul_f64(index as f64 / count as f64)).await;
                let (mut samples, mut errors, mut buffer) = (Vec::new(), 0u64, Vec::new());
                while !stop.load(Ordering::Relaxed) {
                    match scan_from(guest_ip(index), addr, &request, &mut buffer).await {
                        Ok(latency) => samples.push(latency),
                        Err(_) => errors += 1,
                    }
                    tokio::time::sleep(think).await;
                }
                (samples, errors)
            })
        })
        .collect();
    tokio::time::sleep(options.phase).await;
    stop.store(true, Ordering::Relaxed);
    let (mut samples, mut errors) = (Vec::new(), 0);
    for task in polite {
        if let Ok((s, e)) = task.await {
            samples.extend(s);
            errors += e;
        }
    }
    for task in flooders {
        let _ = task.await;
    }
    (Percentiles::of(&mut samples), errors, (answered.load(Ordering::Relaxed), refused.load(Ordering::Relaxed)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_guest_has_its_own_loopback_address() {
        let ips: std::collections::HashSet<_> = (0..MAX_COUNT).map(guest_ip).collect();
        assert_eq!(ips.len(), MAX_COUNT);
        assert!(ips.iter().all(|ip| ip.is_loopback() && *ip != IpAddr::V4(Ipv4Addr::LOCALHOST)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_small_run_answers_every_guest_and_forgets_them() {
        let options = GuestsOptions {
            counts: vec![3],
            bursts: 2,
            think: Duration::from_millis(20),
            phase: Duration::from_millis(200),
            flood_connections: 2,
        };
        let report = run(&options, |_| {}).await.unwrap();
        let c = &report.counts[0];
        assert_eq!((c.guests, c.burst_answered, c.burst_failed, c.guests_always_answered), (3, 6, 0, 3), "{c:?}");
        assert!(c.quiet.count > 0 && c.flooded.count > 0 && c.flood.0 > 0, "{c:?}");
        assert_eq!(c.polite_errors, (0, 0), "{c:?}");
    }
}
