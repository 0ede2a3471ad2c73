//! A hostile host for the guest driver: `proxy-wifi-bench mutating-host`.
//!
//! It listens on the request port (vsock or TCP), reads each request of the guest (the
//! framing is checked; a request it cannot parse gets an INVALID answer), and answers
//! with a mutation of the correct answer: lengths, counts and offsets wrong, IE bodies
//! flipped, the wrong operation, truncated, stalled (1-25 s), oversized (more than
//! 512 KiB announced), or left valid ([`Mutation`]). Meanwhile it sends notifications to
//! the guest's notification port every 50-500 ms: valid ones, malformed ones, and
//! disconnections of stale sessions ([`NotificationKind`]). After `honest_after` (or on
//! SIGUSR1) it turns honest: every answer correct, no more notifications, so a test can
//! check that the guest recovers. It counts requests by operation, answers by mutation
//! and notifications by kind, and writes them as JSON at the end (and on SIGUSR2).
//!
//! The correct answers list [`NETWORKS`]; a connect succeeds for a listed SSID (with
//! the requested BSSID when one is named) whatever the key.

mod mutate;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use mutate::{
    Answer, GUEST_MAX_BODY, Mutation, NETWORKS, Network, NotificationKind, Security, connect_answer, disconnect_answer,
    header_size, invalid_answer, mutate, notification, raw_header, scan_answer,
};
use proxy_wifi::protocol::{Decoded, HEADER_LEN, HostBound, MAX_REQUEST_BODY_LEN};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

/// Where the host listens for requests.
#[derive(Debug, Clone)]
pub enum Listen {
    /// TCP (tests without a VM).
    Tcp(SocketAddr),
    /// vsock, any CID, this port.
    Vsock(u32),
}

/// Where notifications go.
#[derive(Debug, Clone)]
pub enum NotifyTarget {
    /// Nowhere.
    None,
    /// A TCP address.
    Tcp(SocketAddr),
    /// vsock (CID, port).
    Vsock(u32, u32),
}

/// The mutating host's settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Request listener.
    pub listen: Listen,
    /// Notification target.
    pub notify: NotifyTarget,
    /// Run this long, then write the statistics and stop.
    pub duration: Duration,
    /// Turn honest after this long (also on SIGUSR1).
    pub honest_after: Option<Duration>,
    /// Seed of every random choice.
    pub seed: u64,
    /// Where to write the statistics (JSON).
    pub stats: Option<PathBuf>,
}

/// What the host saw and did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// The seed.
    pub seed: u64,
    /// Seconds since the start.
    pub elapsed_s: f64,
    /// Seconds after the start when the host turned honest, if it did.
    pub honest_since_s: Option<f64>,
    /// Requests by operation (`scan`, `connect`, `disconnect`), plus `unparseable` (an
    /// INVALID answer was sent) and `incomplete` (the guest closed or went silent
    /// before the whole request).
    pub requests: BTreeMap<String, u64>,
    /// Answers while hostile, by mutation kind.
    pub answers: BTreeMap<String, u64>,
    /// Answers while honest.
    pub honest_answers: u64,
    /// Answers that could not be written whole (the guest had gone).
    pub answer_write_errors: u64,
    /// Notifications delivered (connected and written), by kind.
    pub notifications: BTreeMap<String, u64>,
    /// Notifications that could not be delivered (no listener, refused, timeout).
    pub notifications_undelivered: u64,
    /// Connect answers with success sent (honest or valid).
    pub sessions_issued: u64,
}

struct State {
    start: Instant,
    seed: u64,
    notify: NotifyTarget,
    honest: AtomicBool,
    honest_since: Mutex<Option<f64>>,
    connections: AtomicU64,
    /// The newest session id handed out.
    session: AtomicU64,
    stats: Mutex<Stats>,
}

impl State {
    fn count(&self, f: impl FnOnce(&mut Stats)) {
        f(&mut self.stats.lock().expect("stats lock"));
    }

    fn turn_honest(&self) {
        if !self.honest.swap(true, Ordering::SeqCst) {
            let at = self.start.elapsed().as_secs_f64();
            *self.honest_since.lock().expect("lock") = Some(at);
            eprintln!("mutating-host: honest from now on ({at:.1} s)");
        }
    }

    fn snapshot(&self) -> Stats {
        let mut s = self.stats.lock().expect("stats lock").clone();
        s.seed = self.seed;
        s.elapsed_s = self.start.elapsed().as_secs_f64();
        s.honest_since_s = *self.honest_since.lock().expect("lock");
        s
    }
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    *map.entry(key.to_string()).or_default() += 1;
}

/// Writes the statistics to `path` (pretty JSON).
pub fn write_stats(path: &std::path::Path, stats: &Stats) -> Result<(), String> {
    let text = serde_json::to_string_pretty(stats).map_err(|e| e.to_string())?;
    std::fs::write(path, text + "\n").map_err(|e| format!("cannot write {}: {e}", path.display()))
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

enum Listener {
    Tcp(tokio::net::TcpListener),
    #[cfg(target_os = "linux")]
    Vsock(tokio_vsock::VsockListener),
}

impl Listener {
    async fn bind(listen: &Listen) -> Result<Listener, String> {
        match listen {
            Listen::Tcp(addr) => {
                tokio::net::TcpListener::bind(addr).await.map(Listener::Tcp).map_err(|e| format!("bind {addr}: {e}"))
            }
            #[cfg(target_os = "linux")]
            Listen::Vsock(port) => {
                tokio_vsock::VsockListener::bind(tokio_vsock::VsockAddr::new(tokio_vsock::VMADDR_CID_ANY, *port))
                    .map(Listener::Vsock)
                    .map_err(|e| format!("bind vsock port {port}: {e}"))
            }
            #[cfg(not(target_os = "linux"))]
            Listen::Vsock(_) => Err("vsock is only supported on Linux".into()),
        }
    }

    fn describe(&self) -> String {
        match self {
            Listener::Tcp(l) => format!("tcp:{}", l.local_addr().map(|a| a.to_string()).unwrap_or_default()),
            #[cfg(target_os = "linux")]
            Listener::Vsock(l) => format!("vsock:{}", l.local_addr().map(|a| a.port()).unwrap_or(0)),
        }
    }

    async fn accept(&self) -> std::io::Result<Box<dyn Io>> {
        match self {
            Listener::Tcp(l) => Ok(Box::new(l.accept().await?.0)),
            #[cfg(target_os = "linux")]
            Listener::Vsock(l) => Ok(Box::new(l.accept().await?.0)),
        }
    }
}

async fn connect_notify(target: &NotifyTarget) -> std::io::Result<Box<dyn Io>> {
    match target {
        NotifyTarget::None => Err(std::io::Error::other("no notification target")),
        NotifyTarget::Tcp(addr) => Ok(Box::new(tokio::net::TcpStream::connect(addr).await?)),
        #[cfg(target_os = "linux")]
        NotifyTarget::Vsock(cid, port) => {
            Ok(Box::new(tokio_vsock::VsockStream::connect(tokio_vsock::VsockAddr::new(*cid, *port)).await?))
        }
        #[cfg(not(target_os = "linux"))]
        NotifyTarget::Vsock(..) => Err(std::io::Error::other("vsock is only supported on Linux")),
    }
}

/// The correct answer to the bytes of a request, and the request's name for the
/// statistics (`unparseable` gets INVALID). `session` gives the next session id.
fn honest_answer(request: &[u8], session: &AtomicU64) -> (&'static str, Vec<u8>) {
    match HostBound::decode_frame(request) {
        Ok(Decoded::Complete { message, consumed }) if consumed == request.len() => match message {
            HostBound::Scan(r) => ("scan", scan_answer(r.ssid.as_ref().map(|s| s.as_bytes()), true)),
            HostBound::Connect(r) => {
                let id = if mutate::network_for(&r).is_some() {
                    session.fetch_add(1, Ordering::SeqCst) + 1
                } else {
                    session.load(Ordering::SeqCst) + 1
                };
                ("connect", connect_answer(&r, id))
            }
            HostBound::Disconnect(_) => ("disconnect", disconnect_answer()),
        },
        _ => ("unparseable", invalid_answer()),
    }
}

/// Reads one request: the header (framing checked), then its body. `Err(name)` when the
/// whole request could not be read; `Ok(bytes)` otherwise (maybe unparseable).
async fn read_request(io: &mut (impl AsyncRead + Unpin)) -> Result<Vec<u8>, ()> {
    let mut buf = vec![0u8; HEADER_LEN];
    match tokio::time::timeout(Duration::from_secs(25), io.read_exact(&mut buf)).await {
        Ok(Ok(_)) => {}
        _ => return Err(()),
    }
    let size = u32::from_le_bytes([buf[1], buf[2], buf[3], buf[4]]);
    let version = u16::from_le_bytes([buf[5], buf[6]]);
    if version != 1 || !matches!(buf[0], 1 | 3 | 5) || size > MAX_REQUEST_BODY_LEN {
        // Bad framing: do not read on; the answer is INVALID.
        return Ok(buf);
    }
    buf.resize(HEADER_LEN + size as usize, 0);
    match tokio::time::timeout(Duration::from_secs(5), io.read_exact(&mut buf[HEADER_LEN..])).await {
        Ok(Ok(_)) => Ok(buf),
        _ => Err(()),
    }
}

async fn serve_connection(state: Arc<State>, mut io: Box<dyn Io>, index: u64) {
    let mut rng = StdRng::seed_from_u64(state.seed ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let Ok(request) = read_request(&mut io).await else {
        state.count(|s| bump(&mut s.requests, "incomplete"));
        return;
    };
    let (name, frame) = honest_answer(&request, &state.session);
    let honest = state.honest.load(Ordering::SeqCst);
    let answer = if honest || name == "unparseable" {
        Answer { mutation: Mutation::Valid, bytes: frame, stall: None }
    } else {
        let m = Mutation::pick(&frame, &mut rng);
        mutate(m, &frame, &mut rng)
    };
    let success = answer.bytes.len() == HEADER_LEN + 16
        && answer.bytes[0] == mutate::op::CONNECT_RESPONSE
        && answer.bytes[HEADER_LEN..HEADER_LEN + 2] == [0, 0];
    state.count(|s| {
        bump(&mut s.requests, name);
        if honest {
            s.honest_answers += 1;
        } else {
            bump(&mut s.answers, answer.mutation.name());
        }
        if success {
            s.sessions_issued += 1;
        }
    });
    if answer.mutation == Mutation::ScanIncomplete && rng.random_bool(0.7) {
        // The completing scan-results notification, a little later.
        let state = state.clone();
        let delay = Duration::from_millis(rng.random_range(100..3000));
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let target = state.notify.clone();
            deliver(&state, &target, NotificationKind::ScanResults, scan_answer(None, true)).await;
        });
    }
    if let Some(stall) = answer.stall {
        tokio::time::sleep(stall).await;
    }
    let written = tokio::time::timeout(Duration::from_secs(5), async {
        io.write_all(&answer.bytes).await?;
        io.flush().await?;
        io.shutdown().await
    })
    .await;
    if !matches!(written, Ok(Ok(()))) {
        state.count(|s| s.answer_write_errors += 1);
    }
    // Let the guest read before the socket goes (a close with unread data may reset).
    let mut sink = [0u8; 64];
    let _ = tokio::time::timeout(Duration::from_secs(2), io.read(&mut sink)).await;
}

/// Connects to the guest and writes `bytes` (built first: the guest
/// gives each connection 10 ms), counting the result.
async fn deliver(state: &State, target: &NotifyTarget, kind: NotificationKind, bytes: Vec<u8>) {
    let sent = tokio::time::timeout(Duration::from_secs(2), async {
        let mut io = connect_notify(target).await?;
        io.write_all(&bytes).await?;
        io.shutdown().await
    })
    .await;
    state.count(|s| match sent {
        Ok(Ok(())) => bump(&mut s.notifications, kind.name()),
        _ => s.notifications_undelivered += 1,
    });
}

async fn notifier(state: Arc<State>, target: NotifyTarget, stop: CancellationToken) {
    if matches!(target, NotifyTarget::None) || state.honest.load(Ordering::SeqCst) {
        return;
    }
    let mut rng = StdRng::seed_from_u64(state.seed.wrapping_add(0x4e07_1f1c));
    loop {
        let pause = Duration::from_millis(rng.random_range(50..=500));
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.cancelled() => return,
        }
        if state.honest.load(Ordering::SeqCst) {
            return;
        }
        let kind = NotificationKind::pick(&mut rng);
        let bytes = notification(kind, state.session.load(Ordering::SeqCst), &mut rng);
        deliver(&state, &target, kind, bytes).await;
    }
}

/// Runs the mutating host until `duration` ends (or SIGTERM/SIGINT); returns the
/// statistics (also written to `stats`).
pub async fn run(options: Options) -> Result<Stats, String> {
    let listener = Listener::bind(&options.listen).await?;
    let state = Arc::new(State {
        start: Instant::now(),
        seed: options.seed,
        notify: options.notify.clone(),
        honest: AtomicBool::new(false),
        honest_since: Mutex::new(None),
        connections: AtomicU64::new(0),
        session: AtomicU64::new(0),
        stats: Mutex::new(Stats::default()),
    });
    let stop = CancellationToken::new();
    println!(
        "mutating-host listening on {}, notifications to {:?}, seed {}, honest after {}",
        listener.describe(),
        options.notify,
        options.seed,
        options.honest_after.map(|d| format!("{} s", d.as_secs_f64())).unwrap_or_else(|| "SIGUSR1".into())
    );
    let notify = tokio::spawn(notifier(state.clone(), options.notify.clone(), stop.clone()));
    if let Some(after) = options.honest_after {
        let (state, stop) = (state.clone(), stop.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(after) => state.turn_honest(),
                _ = stop.cancelled() => {}
            }
        });
    }
    #[cfg(unix)]
    spawn_signal_handlers(state.clone(), options.stats.clone(), stop.clone())?;
    let deadline = tokio::time::sleep(options.duration);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(io) => {
                    let index = state.connections.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(serve_connection(state.clone(), io, index));
                }
                Err(e) => {
                    eprintln!("mutating-host: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = &mut deadline => break,
            _ = stop.cancelled() => break,
        }
    }
    stop.cancel();
    let _ = notify.await;
    let stats = state.snapshot();
    if let Some(path) = &options.stats {
        write_stats(path, &stats)?;
    }
    Ok(stats)
}

#[cfg(unix)]
fn spawn_signal_handlers(state: Arc<State>, stats: Option<PathBuf>, stop: CancellationToken) -> Result<(), String> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut usr1 = signal(SignalKind::user_defined1()).map_err(|e| e.to_string())?;
    let mut usr2 = signal(SignalKind::user_defined2()).map_err(|e| e.to_string())?;
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = usr1.recv() => state.turn_honest(),
                _ = usr2.recv() => {
                    if let Some(path) = &stats {
                        if let Err(e) = write_stats(path, &state.snapshot()) {
                            eprintln!("mutating-host: {e}");
                        }
                    }
                }
                _ = term.recv() => { stop.cancel(); return; }
                _ = int.recv() => { stop.cancel(); return; }
                _ = stop.cancelled() => return,
            }
        }
    });
    Ok(())
}
