//! Notification latency: from an event-API call (`set_signal_quality`) to the last byte
//! of the notification received by a listening test guest.
//!
//! The guest first scans (the service drops notifications until the guest's first
//! request) and connects to an open network (signal updates go only to a guest whose
//! connection the interface backs). Events are paced: each one is sent once the
//! previous notification arrived, so the queue is empty and no update is coalesced.
//!
//! With `busy_threads`, that many threads spin at normal priority for the whole
//! measurement (two on a 2-CPU machine: both CPUs busy with other work), which shows
//! the tail a guest sees on a loaded host.
//!
//! Before each event, a *wake-up probe* measures the floor under the same load at the
//! same moment: the same two thread wake-ups the notification needs (a task on a 2-worker
//! runtime like the service's woken by a channel, then this bench's task woken by its
//! answer), without the service, a connect or a byte. A notification tail close to the
//! probe's is the scheduler's, not the service's.
//!
//! With `stages`, a tracing layer stamps the service's "notification sent" event (DEBUG,
//! logged by its sender task once the bytes are written), which splits each sample in
//! two: event -> bytes written (the service: its wake-up, task hops, connect and write)
//! and bytes written -> the guest's accept returning (the guest's wake-up).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use proxy_wifi::protocol::SignalQualityNotification;
use proxy_wifi::{OperationMode, Service, TransportSettings};
use serde::Serialize;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

use crate::Conditions;
use crate::stats::Percentiles;
use crate::wire::{self, OP_NOTIF_SIGNAL_QUALITY};

/// Result of the latency benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyReport {
    /// Machine and load.
    pub conditions: Conditions,
    /// Events asked for.
    pub events: usize,
    /// Threads spinning at normal priority during the measurement.
    pub busy_threads: usize,
    /// Notifications received with the expected bytes.
    pub delivered: usize,
    /// Events whose notification did not arrive within 1 s, or arrived wrong.
    pub missed: usize,
    /// First problem seen, if any.
    pub first_error: Option<String>,
    /// Latency from the event call to the last notification byte.
    pub latency: Percentiles,
    /// From the listener's `accept` returning to the notification's last byte read: the
    /// window the guest driver allows (10 ms).
    pub accept_to_bytes: Percentiles,
    /// Notifications whose bytes came more than 10 ms after the listener's accept (the
    /// guest driver would have dropped them).
    pub accept_over_10ms: usize,
    /// Notifications whose last byte came more than 10 ms after the event (the guest
    /// driver's window after its accept is 10 ms).
    pub over_10ms: usize,
    /// The wake-up probe under the same load (see the module doc).
    pub wake_probe: Percentiles,
    /// With stages: event to the service's "notification sent" (bytes written).
    pub stage_service: Option<Percentiles>,
    /// With stages: "notification sent" to the guest's accept returning (0 when the
    /// accept came first).
    pub stage_guest_wake: Option<Percentiles>,
    /// Whether p99 < 1 ms and nothing was missed.
    pub target_met: bool,
}

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Threads that spin until dropped.
struct Spinners {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Spinners {
    fn start(count: usize) -> Result<Spinners, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for i in 0..count {
            let stop = stop.clone();
            let spin = move || {
                let mut x = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            };
            let thread = std::thread::Builder::new().name(format!("busy-{i}")).spawn(spin);
            threads.push(thread.map_err(|e| format!("cannot start a busy thread: {e}"))?);
        }
        Ok(Spinners { stop, threads })
    }
}

impl Drop for Spinners {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Runs `events` paced signal-quality events against an in-process simulated service,
/// with `busy_threads` threads spinning meanwhile.
pub async fn run(events: usize, busy_threads: usize, stages: bool) -> Result<LatencyReport, String> {
    if stages {
        stamps::install()?;
    }
    let conditions = Conditions::now();
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .map_err(|e| format!("cannot listen for notifications: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let service = Service::builder(TransportSettings::tcp(LOOPBACK, 0, None, port))
        .mode(OperationMode::Simulated)
        .start()
        .map_err(|e| format!("cannot start the service: {e}"))?;
    let addr = service.request_tcp_addr().ok_or("the service has no TCP address")?;
    let simulation = service.simulation().ok_or("the service is not simulated")?.clone();
    let timeout = Duration::from_secs(5);
    wire::exchange(addr, &wire::scan_request(), timeout).await.map_err(|e| format!("first scan: {e}"))?;
    let (answer, _) =
        wire::exchange(addr, &wire::open_connect_request("FakeOpen"), timeout).await.map_err(|e| e.to_string())?;
    if !wire::connect_response_succeeded(&answer) {
        return Err(format!("the open connect failed: {answer:?}"));
    }

    let spinners = Spinners::start(busy_threads)?;
    let mut samples = Vec::with_capacity(events);
    let mut windows = Vec::with_capacity(events);
    let mut missed = 0usize;
    let mut first_error = None;
    let mut buf = [0u8; 8];
    let (mut stage_service, mut stage_guest_wake) = (Vec::new(), Vec::new());
    let probe = WakeProbe::start()?;
    let mut probes = Vec::with_capacity(events);
    for i in 0..events {
        // The probe right before each event: the same moment's load.
        if let Some(probe) = probe.once().await {
            probes.push(probe);
        }
        // Alternate two values so that every event is a change.
        let percent = if i % 2 == 0 { 30 } else { 70 } + (i % 7) as u32;
        let dbm = SignalQualityNotification::from_link_quality(percent).signal_dbm;
        let expected = [OP_NOTIF_SIGNAL_QUALITY, 1, 0, 0, 0, 1, 0, dbm as u8];
        let started = Instant::now();
        simulation.set_signal_quality(percent);
        let received = tokio::time::timeout(Duration::from_secs(1), async {
            let (mut stream, _) = listener.accept().await?;
            let accepted = Instant::now();
            stream.read_exact(&mut buf).await?;
            Ok::<_, std::io::Error>((started.elapsed(), accepted.elapsed(), accepted))
        })
        .await;
        match received {
            Ok(Ok((latency, window, accepted))) if buf == expected => {
                samples.push(latency);
                windows.push(window);
                if stages {
                    // The sender logs after its write: wait for the stamp a moment.
                    let mut sent = None;
                    for _ in 0..100 {
                        sent = stamps::take_after(started);
                        if sent.is_some() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    if let Some(sent) = sent {
                        stage_service.push(sent - started);
                        stage_guest_wake.push(accepted.saturating_duration_since(sent));
                    }
                }
            }
            Ok(Ok(_)) => {
                missed += 1;
                first_error.get_or_insert(format!("event {i}: got {buf:?}, expected {expected:?}"));
            }
            Ok(Err(error)) => {
                missed += 1;
                first_error.get_or_insert(format!("event {i}: {error}"));
            }
            Err(_) => {
                missed += 1;
                first_error.get_or_insert(format!("event {i}: no notification within 1 s"));
            }
        }
    }
    drop(probe);
    drop(spinners);
    service.shutdown().await;
    let over_10ms = samples.iter().filter(|d| **d > Duration::from_millis(10)).count();
    let latency = Percentiles::of(&mut samples);
    let accept_over_10ms = windows.iter().filter(|d| **d > Duration::from_millis(10)).count();
    let accept_to_bytes = Percentiles::of(&mut windows);
    Ok(LatencyReport {
        conditions: conditions.until_now(),
        events,
        busy_threads,
        over_10ms,
        accept_to_bytes,
        accept_over_10ms,
        delivered: samples.len(),
        missed,
        first_error,
        wake_probe: Percentiles::of(&mut probes),
        stage_service: stages.then(|| Percentiles::of(&mut stage_service)),
        stage_guest_wake: stages.then(|| Percentiles::of(&mut stage_guest_wake)),
        target_met: missed == 0 && latency.p99_us < 1000.0,
        latency,
    })
}

/// Round trips bench task -> a worker of a separate 2-worker runtime -> bench task, each
/// timed from the send to the bench task running again.
struct WakeProbe {
    runtime: Option<tokio::runtime::Runtime>,
    requests: tokio::sync::mpsc::UnboundedSender<tokio::sync::oneshot::Sender<()>>,
}

impl WakeProbe {
    fn start() -> Result<WakeProbe, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("probe-worker")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the probe runtime: {e}"))?;
        let (requests, mut received) = tokio::sync::mpsc::unbounded_channel::<tokio::sync::oneshot::Sender<()>>();
        runtime.spawn(async move {
            while let Some(reply) = received.recv().await {
                let _ = reply.send(());
            }
        });
        Ok(WakeProbe { runtime: Some(runtime), requests })
    }

    async fn once(&self) -> Option<Duration> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let started = Instant::now();
        self.requests.send(reply).ok()?;
        answer.await.ok().map(|()| started.elapsed())
    }
}

impl Drop for WakeProbe {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Stamps of the service's "notification sent" events (a process-wide subscriber).
mod stamps {
    use std::sync::Mutex;
    use std::time::Instant;

    use tracing_subscriber::Layer;
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    static SENT: Mutex<Vec<Instant>> = Mutex::new(Vec::new());

    struct SentStamps;

    impl<S: tracing::Subscriber> Layer<S> for SentStamps {
        fn on_event(&self, _event: &tracing::Event<'_>, _ctx: tracing_subscriber::layer::Context<'_, S>) {
            let now = Instant::now();
            SENT.lock().unwrap_or_else(|e| e.into_inner()).push(now);
        }
    }

    /// Installs the subscriber: DEBUG events of the service's notification sender only.
    pub(super) fn install() -> Result<(), String> {
        let filter = Targets::new().with_target("proxy_wifi::transport::notification_sender", tracing::Level::DEBUG);
        tracing_subscriber::registry()
            .with(SentStamps.with_filter(filter))
            .try_init()
            .map_err(|e| format!("cannot install the stamp subscriber: {e}"))
    }

    /// The first stamp at or after `started`, if any; forgets every stamp before it.
    pub(super) fn take_after(started: Instant) -> Option<Instant> {
        let mut sent = SENT.lock().unwrap_or_else(|e| e.into_inner());
        let found = sent.iter().copied().find(|t| *t >= started);
        sent.clear();
        found
    }
}
