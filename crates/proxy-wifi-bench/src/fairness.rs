//! Fairness between guests: 50 TCP guests on 127.0.0.2–127.0.0.51 against one service
//! (guests keyed by source IP). The polite guests behave like the driver — one request
//! at a time, a scan every `think` — and their latency is measured first alone, then
//! while the first guest floods the service with back-to-back scans on many connections
//! at once. The figure is the ratio of the polite guests' p99 latency with and without
//! the flood (target ≤ 2).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use proxy_wifi::{OperationMode, Service, TransportSettings};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

use crate::stats::{Percentiles, ratio};
use crate::{Conditions, DrainListener, wire};

/// What to run.
#[derive(Debug, Clone)]
pub struct FairnessOptions {
    /// Guests in all (the first one floods in the second phase).
    pub guests: usize,
    /// Length of each phase.
    pub duration: Duration,
    /// Pause of a polite guest between two scans.
    pub think: Duration,
    /// Connections the flooding guest keeps busy at once.
    pub flood_connections: usize,
}

impl Default for FairnessOptions {
    fn default() -> Self {
        Self { guests: 50, duration: Duration::from_secs(5), think: Duration::from_millis(20), flood_connections: 16 }
    }
}

/// One phase's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    /// Latencies of the polite guests' scans.
    pub polite: Percentiles,
    /// Scans the flooding guest got answered.
    pub flood_answered: u64,
    /// Flood requests closed without an answer (the per-guest cap).
    pub flood_refused: u64,
    /// Polite requests that failed.
    pub polite_errors: u64,
}

/// The result.
#[derive(Debug, Clone, Serialize)]
pub struct FairnessReport {
    /// Guests in all.
    pub guests: usize,
    /// Polite guests alone.
    pub quiet: Phase,
    /// Polite guests while the first guest floods.
    pub flooded: Phase,
    /// `flooded.polite.p99 / quiet.polite.p99`.
    pub p99_ratio: f64,
    /// Whether the ratio is at most 2.
    pub target_met: bool,
    /// Machine and load.
    pub conditions: Conditions,
}

fn guest_ip(index: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + index as u8))
}

/// One scan from `source`; the time from connect to the whole answer.
async fn scan_from(
    source: IpAddr,
    service: SocketAddr,
    request: &[u8],
    buffer: &mut Vec<u8>,
) -> std::io::Result<Duration> {
    let started = Instant::now();
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    let mut stream = socket.connect(service).await?;
    stream.set_nodelay(true)?;
    stream.write_all(request).await?;
    buffer.clear();
    stream.read_to_end(buffer).await?;
    if wire::decode_answer(buffer).is_none() {
        return Err(std::io::Error::other("no scan response"));
    }
    Ok(started.elapsed())
}

async fn phase(options: &FairnessOptions, service: SocketAddr, flood: bool) -> Phase {
    let stop = Arc::new(AtomicBool::new(false));
    let request = Arc::new(wire::scan_request());
    let flood_answered = Arc::new(AtomicU64::new(0));
    let flood_refused = Arc::new(AtomicU64::new(0));
    let mut flooders = Vec::new();
    if flood {
        for _ in 0..options.flood_connections {
            let (stop, request) = (stop.clone(), request.clone());
            let (answered, refused) = (flood_answered.clone(), flood_refused.clone());
            flooders.push(tokio::spawn(async move {
                let mut buffer = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match scan_from(guest_ip(0), service, &request, &mut buffer).await {
                        Ok(_) => answered.fetch_add(1, Ordering::Relaxed),
                        Err(_) => refused.fetch_add(1, Ordering::Relaxed),
                    };
                }
            }));
        }
    }
    let mut polite = Vec::new();
    for index in 1..options.guests {
        let (stop, request, think) = (stop.clone(), request.clone(), options.think);
        polite.push(tokio::spawn(async move {
            // Spread the guests over the think time so they do not scan in lockstep.
            tokio::time::sleep(think * index as u32 / 50).await;
            let (mut samples, mut errors, mut buffer) = (Vec::new(), 0u64, Vec::new());
            while !stop.load(Ordering::Relaxed) {
                match scan_from(guest_ip(index), service, &request, &mut buffer).await {
                    Ok(latency) => samples.push(latency),
                    Err(_) => errors += 1,
                }
                tokio::time::sleep(think).await;
            }
            (samples, errors)
        }));
    }
    tokio::time::sleep(options.duration).await;
    stop.store(true, Ordering::Relaxed);
    let (mut samples, mut polite_errors) = (Vec::new(), 0);
    for task in polite {
        if let Ok((s, e)) = task.await {
            samples.extend(s);
            polite_errors += e;
        }
    }
    for task in flooders {
        let _ = task.await;
    }
    Phase {
        polite: Percentiles::of(&mut samples),
        flood_answered: flood_answered.load(Ordering::Relaxed),
        flood_refused: flood_refused.load(Ordering::Relaxed),
        polite_errors,
    }
}

/// Runs both phases against an in-process service (simulated mode).
pub async fn run(options: &FairnessOptions) -> Result<FairnessReport, String> {
    if options.guests < 2 || options.guests > 200 {
        return Err(format!("--guests {} is out of range: 2 to 200 (127.0.0.2 and up)", options.guests));
    }
    let conditions = Conditions::now();
    let drain = DrainListener::start().await.map_err(|e| format!("drain listener: {e}"))?;
    let service = Service::builder(TransportSettings::TcpMulti {
        listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        notification_port: drain.port(),
    })
    .mode(OperationMode::Simulated)
    .start()
    .map_err(|e| e.to_string())?;
    let addr = service.request_tcp_addr().ok_or("no TCP address")?;
    let quiet = phase(options, addr, false).await;
    let flooded = phase(options, addr, true).await;
    service.shutdown().await;
    drain.stop();
    let p99_ratio = ratio(flooded.polite.p99_us, quiet.polite.p99_us);
    Ok(FairnessReport {
        guests: options.guests,
        quiet,
        flooded,
        p99_ratio,
        target_met: p99_ratio > 0.0 && p99_ratio <= 2.0,
        conditions: conditions.until_now(),
    })
}
