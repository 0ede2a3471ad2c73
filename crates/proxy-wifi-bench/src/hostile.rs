//! The hostile-guest suite: what a broken or malicious guest may do to the request and
//! notification channels, and the checks that the service keeps serving.
//!
//! Cases: 1 000 connections that send nothing; slow senders (one byte per interval);
//! headers claiming 4 GiB; every header field and count out of range; random bytes
//! (10 000 cases); a notification listener that accepts and never reads; one that
//! refuses; guests that disconnect mid-response. After each case the next well-formed
//! request must be answered correctly within 100 ms of being sent; where the target
//! exposes its counters (an in-process service, or a binary's control socket), the
//! guest's session must be intact, no request connection may be left open, and the
//! counters must add up.
//!
//! The same code runs from `proxy-wifi-bench hostile` against a running binary and from
//! the crate's integration tests against an in-process service.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use proxy_wifi::ServiceStatus;
use proxy_wifi::protocol::{Capabilities, GuestBound};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::wire::{self, INVALID, OP_CONNECT_REQUEST, OP_DISCONNECT_REQUEST, OP_SCAN_REQUEST, header};

/// The status key of the test guest on loopback TCP.
pub const LOOPBACK_GUEST: &str = "tcp:127.0.0.1";

/// The service's counters at one moment, as the suite reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Request connections accepted.
    pub accepted: u64,
    /// Request connections open now.
    pub open: u64,
    /// Requests answered.
    pub answered: u64,
    /// Malformed requests answered INVALID.
    pub invalid: u64,
    /// Connections dropped at the read deadline.
    pub timed_out: u64,
    /// Connections closed by the peer before a whole request.
    pub closed_early: u64,
    /// Connections refused because too many were open.
    pub refused_busy: u64,
    /// Requests read whole but never answered (the guest left first, or dropped as stale).
    pub unanswered: u64,
    /// Notifications delivered.
    pub notifications_sent: u64,
    /// Signal notifications replaced in the queue by a newer one.
    pub notifications_coalesced: u64,
    /// Notifications dropped (queue full).
    pub notifications_dropped: u64,
    /// Notifications not delivered (connect or write failed).
    pub notifications_failed: u64,
    /// Notifications waiting.
    pub notifications_queued: u64,
    /// Last session id given to the guest.
    pub session_id: u64,
    /// Session id of the guest's connection, if it has one.
    pub connection_session: Option<u64>,
}

impl Counters {
    /// Whether every accepted connection is accounted for.
    pub fn consistent(&self) -> bool {
        self.accepted
            == self.answered
                + self.invalid
                + self.timed_out
                + self.closed_early
                + self.unanswered
                + self.refused_busy
                + self.open
    }

    /// Notifications that left the queue one way or another.
    pub fn notifications_done(&self) -> u64 {
        self.notifications_sent + self.notifications_coalesced + self.notifications_dropped + self.notifications_failed
    }
}

impl From<&ServiceStatus> for Counters {
    fn from(s: &ServiceStatus) -> Self {
        let t = &s.transport;
        // The loopback test guest (the only guest of a single-guest TCP service).
        let guest = s.board.guests.get(LOOPBACK_GUEST).or_else(|| s.board.guests.values().next());
        Counters {
            accepted: t.accepted,
            open: t.open,
            answered: t.answered,
            invalid: t.invalid,
            timed_out: t.timed_out,
            closed_early: t.closed_early,
            refused_busy: t.refused_busy,
            unanswered: t.unanswered,
            notifications_sent: t.notifications_sent,
            notifications_coalesced: t.notifications_coalesced,
            notifications_dropped: t.notifications_dropped,
            notifications_failed: t.notifications_failed,
            notifications_queued: t.notifications_queued,
            session_id: guest.map_or(0, |g| g.session_id),
            connection_session: guest.and_then(|g| g.connection.as_ref()).map(|c| c.session_id),
        }
    }
}

/// Reads the target's counters.
pub type CountersFn = Box<dyn Fn() -> Result<Counters, String> + Send + Sync>;
/// Triggers a signal-quality event (percent) on the target's host side.
pub type TriggerFn = Box<dyn Fn(u32) -> Result<(), String> + Send + Sync>;

/// The service under test.
pub struct Target {
    /// Its request address.
    pub request_addr: SocketAddr,
    /// The port its notifications go to on 127.0.0.1 (the suite listens there itself);
    /// `None` skips the notification cases.
    pub notification_port: Option<u16>,
    /// Its read deadline (how long silent connections live).
    pub read_deadline: Duration,
    /// Its counters, if it exposes them.
    pub counters: Option<CountersFn>,
    /// A way to trigger host events, if any (needed by the notification cases).
    pub trigger_signal: Option<TriggerFn>,
}

/// Sizes and paces of the cases.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteConfig {
    /// Connections that send nothing (1 000).
    pub silent_connections: usize,
    /// Why the silent-connections case is not run here, if it is not (e.g. under Wine,
    /// where a server accepts far more slowly once ~1000 sockets are open).
    pub skip_silent_connections: Option<String>,
    /// Slow senders.
    pub slow_senders: usize,
    /// Time between two bytes of a slow sender (1 s).
    pub slow_interval: Duration,
    /// Random-bytes cases (10 000).
    pub random_cases: usize,
    /// Random-bytes cases in flight at once.
    pub random_concurrency: usize,
    /// Guests that disconnect mid-response.
    pub mid_response_cases: usize,
    /// Signal events per notification case.
    pub notification_events: usize,
    /// The next well-formed request must be answered within this (100 ms).
    pub probe_budget: Duration,
    /// Seed of the random bytes.
    pub seed: u64,
}

impl Default for SuiteConfig {
    fn default() -> Self {
        Self {
            silent_connections: 1000,
            skip_silent_connections: None,
            slow_senders: 4,
            slow_interval: Duration::from_secs(1),
            random_cases: 10_000,
            random_concurrency: 8,
            mid_response_cases: 100,
            notification_events: 50,
            probe_budget: Duration::from_millis(100),
            seed: 0x5eed_0ff1,
        }
    }
}

/// Outcome of one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every check held.
    Pass,
    /// A check failed.
    Fail,
    /// Not run (the target lacks what it needs).
    Skip,
}

/// One case's result.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// Case name.
    pub name: String,
    /// Verdict.
    pub verdict: Verdict,
    /// What was seen, or what failed.
    pub detail: String,
    /// Latencies of the well-formed probe requests sent during and after the case (ms).
    pub probe_ms: Vec<f64>,
    /// Time the case took (s).
    pub elapsed_s: f64,
}

/// The whole suite's result.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteReport {
    /// Every case, in order.
    pub cases: Vec<CaseResult>,
    /// Counters before the suite (if exposed).
    pub counters_before: Option<Counters>,
    /// Counters after the suite (if exposed).
    pub counters_after: Option<Counters>,
}

impl SuiteReport {
    /// Whether no case failed.
    pub fn passed(&self) -> bool {
        self.cases.iter().all(|c| c.verdict != Verdict::Fail)
    }
}

/// A case's own outcome before the common checks.
type CaseOutcome = Result<String, String>;

struct Suite<'a> {
    target: &'a Target,
    config: &'a SuiteConfig,
    /// BSS count of a wildcard scan.
    expected_bss: usize,
    /// The guest's session made at the start (when an open network exists).
    session: Option<u64>,
    /// The open network it connected to.
    open_ssid: String,
    probes: Vec<f64>,
}

/// Runs the whole suite; `progress` gets each case's result as it ends.
pub async fn run_suite(target: &Target, config: &SuiteConfig, mut progress: impl FnMut(&CaseResult)) -> SuiteReport {
    let counters_before = target.counters.as_ref().and_then(|c| c().ok());
    let mut cases = Vec::new();
    let mut suite =
        Suite { target, config, expected_bss: 0, session: None, open_ssid: String::new(), probes: Vec::new() };
    let mut record = |result: CaseResult, cases: &mut Vec<CaseResult>| {
        progress(&result);
        cases.push(result);
    };

    let started = Instant::now();
    let setup = suite.setup().await;
    let setup_failed = setup.is_err();
    record(suite.finish("setup (scan, connect to an open network)", started, setup, false).await, &mut cases);
    if setup_failed {
        return SuiteReport { cases, counters_before, counters_after: None };
    }

    macro_rules! case {
        ($name:expr, $body:expr) => {{
            let started = Instant::now();
            let outcome = $body.await;
            let result = suite.finish($name, started, outcome, true).await;
            record(result, &mut cases);
        }};
    }
    case!(&format!("{} connections that send nothing", config.silent_connections), suite.silent_connections());
    case!(
        &format!("{} slow senders (1 byte per {:?})", config.slow_senders, config.slow_interval),
        suite.slow_senders()
    );
    case!("headers claiming 4 GiB", suite.header_4gib());
    case!("every header field and count out of range", suite.out_of_range());
    case!(&format!("random bytes ({} cases)", config.random_cases), suite.random_bytes());
    case!("notification listener that accepts and never reads", suite.notification_never_reads());
    case!("notification listener that refuses", suite.notification_refuses());
    case!(&format!("{} guests that disconnect mid-response", config.mid_response_cases), suite.mid_response());
    case!("session intact, nothing leaked", suite.session_intact());

    let counters_after = target.counters.as_ref().and_then(|c| c().ok());
    SuiteReport { cases, counters_before, counters_after }
}

const SKIP: &str = "SKIP: ";

impl Suite<'_> {
    fn counters(&self) -> Option<Result<Counters, String>> {
        self.target.counters.as_ref().map(|c| c())
    }

    /// The counters, or `None` when the target does not expose them; an error reading them is a failure.
    fn counters_now(&self) -> Result<Option<Counters>, String> {
        self.counters().transpose()
    }

    async fn setup(&mut self) -> CaseOutcome {
        let (answer, _) = wire::exchange(self.target.request_addr, &wire::scan_request(), Duration::from_secs(5))
            .await
            .map_err(|e| format!("first scan: {e}"))?;
        let Some(GuestBound::ScanResponse(scan)) = wire::decode_answer(&answer) else {
            return Err(format!("first scan: not a scan response: {answer:?}"));
        };
        self.expected_bss = scan.bss.len();
        let open = scan.bss.iter().find(|b| !b.capabilities.contains(Capabilities::PRIVACY)).and_then(|b| b.ssid());
        let Some(ssid) = open else {
            return Ok(format!("{} networks; no open network, so session checks are skipped", self.expected_bss));
        };
        let ssid_text = String::from_utf8_lossy(ssid.as_bytes()).into_owned();
        let (answer, _) =
            wire::exchange(self.target.request_addr, &wire::open_connect_request(&ssid_text), Duration::from_secs(5))
                .await
                .map_err(|e| format!("connect: {e}"))?;
        if !wire::connect_response_succeeded(&answer) {
            return Err(format!("connect to {ssid_text}: {answer:?}"));
        }
        self.session = wire::connect_response_session(&answer);
        self.open_ssid = ssid_text.clone();
        Ok(format!("{} networks; connected to {ssid_text}, session {}", self.expected_bss, self.session.unwrap_or(0)))
    }

    /// A well-formed scan: answered correctly within the budget. Returns its latency (ms).
    async fn probe(&mut self) -> Result<f64, String> {
        let budget = self.config.probe_budget;
        let (answer, elapsed) = wire::exchange(self.target.request_addr, &wire::scan_request(), budget)
            .await
            .map_err(|e| format!("well-formed scan not answered within {budget:?}: {e}"))?;
        let ms = elapsed.as_secs_f64() * 1e3;
        self.probes.push(ms);
        match wire::decode_answer(&answer) {
            Some(GuestBound::ScanResponse(scan)) if scan.bss.len() == self.expected_bss => Ok(ms),
            _ => Err(format!("well-formed scan answered wrongly: {} bytes", answer.len())),
        }
    }

    /// Waits (bounded) until no request connection is open and no notification queued.
    async fn quiesce(&self) -> Result<Option<Counters>, String> {
        let bound = Instant::now() + self.target.read_deadline + Duration::from_secs(5);
        loop {
            let Some(counters) = self.counters_now()? else { return Ok(None) };
            if counters.open == 0 && counters.notifications_queued == 0 && counters.consistent() {
                return Ok(Some(counters));
            }
            if Instant::now() > bound {
                return Err(format!("not quiescent {:?} after the case: {counters:?}", bound.elapsed()));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The common checks after a case, and the result record.
    async fn finish(&mut self, name: &str, started: Instant, outcome: CaseOutcome, checks: bool) -> CaseResult {
        let mut verdict = Verdict::Pass;
        let mut detail = match outcome {
            Ok(detail) if detail.starts_with(SKIP) => {
                verdict = Verdict::Skip;
                detail[SKIP.len()..].to_string()
            }
            Ok(detail) => detail,
            Err(failure) => {
                verdict = Verdict::Fail;
                failure
            }
        };
        if checks {
            let mut problems = Vec::new();
            if let Err(e) = self.probe().await {
                problems.push(format!("after the case: {e}"));
            }
            match self.quiesce().await {
                Err(e) => problems.push(e),
                Ok(Some(counters)) => {
                    if let Some(session) = self.session {
                        if counters.connection_session != Some(session) {
                            problems.push(format!(
                                "session not intact: connection {:?}, expected session {session}",
                                counters.connection_session
                            ));
                        }
                    }
                }
                Ok(None) => {}
            }
            if !problems.is_empty() {
                verdict = Verdict::Fail;
                detail = format!("{detail}; {}", problems.join("; "));
            }
        }
        let probe_ms = std::mem::take(&mut self.probes);
        CaseResult { name: name.to_string(), verdict, detail, probe_ms, elapsed_s: started.elapsed().as_secs_f64() }
    }

    async fn silent_connections(&mut self) -> CaseOutcome {
        if let Some(reason) = &self.config.skip_silent_connections {
            return Ok(format!("{SKIP}{reason}"));
        }
        let before = self.counters_now()?;
        let n = self.config.silent_connections;
        let mut streams = Vec::with_capacity(n);
        for i in 0..n {
            let stream = TcpStream::connect(self.target.request_addr)
                .await
                .map_err(|e| format!("opening silent connection {i}: {e}"))?;
            streams.push((stream, Instant::now()));
        }
        // While they are all open.
        let during = self.probe().await.map_err(|e| format!("with {n} silent connections open: {e}"))?;
        let wait = self.target.read_deadline + Duration::from_secs(3);
        let closes = wait_closed(streams, wait).await;
        let closed = closes.iter().filter(|c| c.is_some()).count();
        if closed != n {
            return Err(format!("{} of {n} silent connections still open {wait:?} after opening", n - closed));
        }
        let last = closes.iter().flatten().max().copied().unwrap_or_default();
        let first = closes.iter().flatten().min().copied().unwrap_or_default();
        let mut detail = format!(
            "probe {during:.1} ms while open; all {n} closed by the service {:.0}–{:.0} ms after opening",
            first.as_secs_f64() * 1e3,
            last.as_secs_f64() * 1e3
        );
        if let (Some(before), Some(after)) = (before, self.quiesce().await?) {
            let timed_out = after.timed_out - before.timed_out;
            if timed_out != n as u64 {
                return Err(format!("{detail}; timed_out grew by {timed_out}, expected {n}"));
            }
            detail.push_str(&format!("; timed_out +{timed_out}"));
        }
        Ok(detail)
    }

    async fn slow_senders(&mut self) -> CaseOutcome {
        let before = self.counters_now()?;
        let interval = self.config.slow_interval;
        let deadline = self.target.read_deadline;
        let request = Arc::new(wire::scan_request());
        let bound = deadline + interval * 2 + Duration::from_secs(3);
        let senders: Vec<_> = (0..self.config.slow_senders)
            .map(|_| {
                let request = request.clone();
                let addr = self.target.request_addr;
                tokio::spawn(async move { tokio::time::timeout(bound, slow_send(addr, &request, interval)).await })
            })
            .collect();
        // Probes while they trickle, one per interval, until all are done.
        let mut probe_failure = None;
        let probe_end = Instant::now() + bound;
        while !senders.iter().all(|s| s.is_finished()) && Instant::now() < probe_end {
            tokio::time::sleep(interval.min(Duration::from_millis(250))).await;
            if let Err(e) = self.probe().await {
                probe_failure.get_or_insert(format!("while slow senders were sending: {e}"));
            }
        }
        let mut cut = 0u64;
        let mut answered = 0;
        let mut cut_after = Vec::new();
        for sender in senders {
            match sender.await {
                Ok(Ok(Ok(SlowOutcome::Cut { after, sent }))) => {
                    cut += 1;
                    cut_after.push(format!("{:.0} ms/{sent} B", after.as_secs_f64() * 1e3));
                    if after + Duration::from_millis(50) < deadline {
                        return Err(format!("a slow sender was cut after {after:?}, before the {deadline:?} deadline"));
                    }
                }
                Ok(Ok(Ok(SlowOutcome::Answered))) => answered += 1,
                Ok(Ok(Err(e))) => return Err(format!("slow sender: {e}")),
                Ok(Err(_)) => return Err(format!("a slow sender was neither cut nor answered within {bound:?}")),
                Err(e) => return Err(format!("slow sender task: {e}")),
            }
        }
        if let Some(failure) = probe_failure {
            return Err(failure);
        }
        let mut detail =
            format!("{cut} cut at the read deadline ({}), {answered} answered whole", cut_after.join(", "));
        if let (Some(before), Some(after)) = (before, self.quiesce().await?) {
            let timed_out = after.timed_out - before.timed_out;
            if timed_out != cut {
                return Err(format!("{detail}; timed_out grew by {timed_out}, expected {cut}"));
            }
            detail.push_str(&format!("; timed_out +{timed_out}"));
        }
        Ok(detail)
    }

    async fn header_4gib(&mut self) -> CaseOutcome {
        let before = self.counters_now()?;
        let mut seen = Vec::new();
        for op in [OP_CONNECT_REQUEST, OP_SCAN_REQUEST, OP_DISCONNECT_REQUEST] {
            // The header alone, no body, no half-close: the answer must not wait for 4 GiB.
            let started = Instant::now();
            let mut stream = TcpStream::connect(self.target.request_addr).await.map_err(|e| e.to_string())?;
            stream.write_all(&header(op, u32::MAX, 1)).await.map_err(|e| e.to_string())?;
            let mut answer = [0u8; 7];
            match tokio::time::timeout(Duration::from_secs(1), stream.read_exact(&mut answer)).await {
                Ok(Ok(_)) if answer == INVALID => seen.push(format!("op {op}: INVALID in {:?}", started.elapsed())),
                Ok(Ok(_)) => return Err(format!("op {op} size 4 GiB: answered {answer:?}, expected INVALID")),
                Ok(Err(e)) => return Err(format!("op {op} size 4 GiB: {e}")),
                Err(_) => return Err(format!("op {op} size 4 GiB: no INVALID within 1 s (waiting for the body?)")),
            }
        }
        let mut detail = seen.join(", ");
        if let (Some(before), Some(after)) = (before, self.quiesce().await?) {
            let invalid = after.invalid - before.invalid;
            if invalid != 3 {
                return Err(format!("{detail}; invalid grew by {invalid}, expected 3"));
            }
            detail.push_str("; invalid +3");
        }
        Ok(detail)
    }

    async fn out_of_range(&mut self) -> CaseOutcome {
        let before = self.counters_now()?;
        let cases = out_of_range_cases();
        let (mut invalid, mut closed) = (0u64, 0u64);
        for (name, bytes, expected) in &cases {
            let outcome = wire::send_raw_and_read_all(self.target.request_addr, bytes, Duration::from_secs(2))
                .await
                .map_err(|e| format!("{name}: {e}"))?;
            match expected {
                Expect::Invalid if outcome.answer == INVALID => invalid += 1,
                Expect::Close if outcome.answer.is_empty() => closed += 1,
                _ => {
                    return Err(format!(
                        "{name}: got {:?} (reset: {}), expected {expected:?}",
                        outcome.answer, outcome.reset
                    ));
                }
            }
        }
        let mut detail = format!("{} cases: {invalid} answered INVALID, {closed} closed without answer", cases.len());
        if let (Some(before), Some(after)) = (before, self.quiesce().await?) {
            let (d_invalid, d_closed) = (after.invalid - before.invalid, after.closed_early - before.closed_early);
            if d_invalid != invalid || d_closed != closed {
                return Err(format!("{detail}; counters: invalid +{d_invalid}, closed_early +{d_closed}"));
            }
            detail.push_str(&format!("; invalid +{d_invalid}, closed_early +{d_closed}"));
        }
        Ok(detail)
    }

    async fn random_bytes(&mut self) -> CaseOutcome {
        let n = self.config.random_cases;
        let mut rng = StdRng::seed_from_u64(self.config.seed);
        let inputs: Arc<Vec<Vec<u8>>> = Arc::new((0..n).map(|_| random_input(&mut rng)).collect());
        let next = Arc::new(AtomicUsize::new(0));
        let timeout = self.target.read_deadline + Duration::from_secs(2);
        let workers: Vec<_> = (0..self.config.random_concurrency.max(1))
            .map(|_| {
                let (inputs, next, addr) = (inputs.clone(), next.clone(), self.target.request_addr);
                tokio::spawn(async move {
                    let mut tally = RandomTally::default();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(bytes) = inputs.get(i) else { break };
                        match wire::send_raw_and_read_all(addr, bytes, timeout).await {
                            Ok(o) if o.answer.is_empty() => tally.closed += 1,
                            Ok(o) if o.answer == INVALID => tally.invalid += 1,
                            Ok(o) => match wire::decode_answer(&o.answer) {
                                Some(GuestBound::ScanResponse(_)) => tally.answered += 1,
                                _ => {
                                    tally.bad.get_or_insert(format!("case {i} {bytes:?}: answer {:?}", o.answer));
                                }
                            },
                            Err(e) => {
                                tally.bad.get_or_insert(format!("case {i} {bytes:?}: {e}"));
                            }
                        }
                    }
                    tally
                })
            })
            .collect();
        let mut all = RandomTally::default();
        for worker in workers {
            let t = worker.await.map_err(|e| e.to_string())?;
            all.closed += t.closed;
            all.invalid += t.invalid;
            all.answered += t.answered;
            all.bad = all.bad.or(t.bad);
        }
        if let Some(bad) = all.bad {
            return Err(bad);
        }
        Ok(format!(
            "{n} cases (seed {:#x}): {} INVALID, {} closed without answer, {} valid scans answered",
            self.config.seed, all.invalid, all.closed, all.answered
        ))
    }

    async fn notification_never_reads(&mut self) -> CaseOutcome {
        let (Some(port), Some(trigger)) = (self.target.notification_port, self.target.trigger_signal.as_ref()) else {
            return Ok(format!("{SKIP}needs --notification-port and a way to trigger events (--ctl-socket)"));
        };
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| format!("cannot listen on the notification port {port}: {e}"))?;
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        let holder = tokio::spawn(async move {
            // Accepts and keeps every connection, never reads (bounded).
            let mut held = Vec::new();
            while held.len() < 10_000 {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        held.push(stream);
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            }
        });
        let outcome = self.notifications_while(trigger, "never-reading listener").await;
        // Let the service finish its deliveries before the listener goes away.
        let _ = self.quiesce().await;
        holder.abort();
        let _ = holder.await;
        let mut detail = outcome?;
        let accepted = accepted.load(Ordering::Relaxed);
        if accepted == 0 && self.session.is_some() {
            return Err(format!("{detail}; the service never connected to the listener"));
        }
        detail.push_str(&format!("; {accepted} notification connections accepted and never read"));
        Ok(detail)
    }

    async fn notification_refuses(&mut self) -> CaseOutcome {
        let (Some(_), Some(trigger)) = (self.target.notification_port, self.target.trigger_signal.as_ref()) else {
            return Ok(format!("{SKIP}needs --notification-port and a way to trigger events (--ctl-socket)"));
        };
        // Nothing listens on the port now: every connection is refused.
        self.notifications_while(trigger, "refusing listener").await
    }

    /// Triggers the events, probing between them; checks the notification counters.
    async fn notifications_while(&mut self, trigger: &TriggerFn, what: &str) -> CaseOutcome {
        let before = self.counters_now()?;
        let events = self.config.notification_events;
        for i in 0..events {
            trigger(20 + (i % 60) as u32).map_err(|e| format!("triggering a signal event: {e}"))?;
            if i % 10 == 0 {
                self.probe().await.map_err(|e| format!("with a {what}: {e}"))?;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let mut detail = format!("{events} signal events");
        if let (Some(before), Some(mut after)) = (before, self.quiesce().await?) {
            // Every event ends up sent, coalesced or failed; the last delivery may still be
            // under way (a refused or unread connection fails within the 2 s connect timeout).
            let bound = Instant::now() + Duration::from_secs(5);
            while self.session.is_some()
                && after.notifications_done() - before.notifications_done() < events as u64
                && Instant::now() < bound
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
                after = self.counters_now()?.unwrap_or(after);
            }
            let done = after.notifications_done() - before.notifications_done();
            detail.push_str(&format!(
                "; notifications sent +{}, coalesced +{}, dropped +{}, failed +{}",
                after.notifications_sent - before.notifications_sent,
                after.notifications_coalesced - before.notifications_coalesced,
                after.notifications_dropped - before.notifications_dropped,
                after.notifications_failed - before.notifications_failed
            ));
            if self.session.is_some() && done != events as u64 {
                return Err(format!("{detail}: {done} accounted for, expected {events}"));
            }
        }
        Ok(detail)
    }

    async fn mid_response(&mut self) -> CaseOutcome {
        let n = self.config.mid_response_cases;
        let request = wire::scan_request();
        let (mut reset, mut header_only) = (0, 0);
        for i in 0..n {
            let mut stream = TcpStream::connect(self.target.request_addr).await.map_err(|e| e.to_string())?;
            stream.write_all(&request).await.map_err(|e| e.to_string())?;
            if i % 2 == 0 {
                // Gone at once, with a reset, before the answer.
                let _ = stream.set_zero_linger();
                reset += 1;
            } else {
                // Reads the header of the answer, then leaves.
                let mut head = [0u8; 7];
                let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_exact(&mut head)).await;
                header_only += 1;
            }
            drop(stream);
        }
        Ok(format!("{reset} reset right after the request, {header_only} left after the answer's header"))
    }

    async fn session_intact(&mut self) -> CaseOutcome {
        let Some(session) = self.session else {
            return Ok(format!("{SKIP}no open network, no session made at the start"));
        };
        match self.quiesce().await? {
            Some(counters) => {
                if counters.session_id != session || counters.connection_session != Some(session) {
                    return Err(format!(
                        "session {session} not intact: last session {}, connection {:?}",
                        counters.session_id, counters.connection_session
                    ));
                }
                Ok(format!(
                    "connection of session {session} intact; {} connections accepted, all accounted for \
                     ({} answered, {} INVALID, {} timed out, {} closed early, {} refused), none open",
                    counters.accepted,
                    counters.answered,
                    counters.invalid,
                    counters.timed_out,
                    counters.closed_early,
                    counters.refused_busy
                ))
            }
            None => {
                // No counters: the next connect must get the very next session id, so no
                // other connect was honoured since the suite's own.
                let (answer, _) = wire::exchange(
                    self.target.request_addr,
                    &wire::open_connect_request(&self.open_ssid),
                    Duration::from_secs(2),
                )
                .await
                .map_err(|e| e.to_string())?;
                let next = wire::connect_response_session(&answer);
                if let Some(next) = next {
                    let _ = wire::exchange(
                        self.target.request_addr,
                        &wire::disconnect_request(next),
                        Duration::from_secs(2),
                    )
                    .await;
                }
                if next != Some(session + 1) {
                    return Err(format!("the next connect got session {next:?}, expected {}", session + 1));
                }
                Ok(format!("no connect honoured since session {session} (the next one got {})", session + 1))
            }
        }
    }
}

#[derive(Debug, Default)]
struct RandomTally {
    closed: u64,
    invalid: u64,
    answered: u64,
    bad: Option<String>,
}

/// Random inputs: mostly raw random bytes of a few lengths; a fifth start with a valid
/// scan header (so the body parser is reached), a few of them truncated.
fn random_input(rng: &mut StdRng) -> Vec<u8> {
    let roll: f64 = rng.random();
    if roll < 0.2 {
        let mut bytes = header(OP_SCAN_REQUEST, 33, 1);
        let body_len = if rng.random_bool(0.2) { rng.random_range(0..33) } else { 33 };
        let mut body = vec![0u8; body_len];
        rng.fill(&mut body[..]);
        bytes.extend_from_slice(&body);
        bytes
    } else {
        let len = if roll < 0.8 { rng.random_range(0..=64) } else { rng.random_range(0..=400) };
        let mut bytes = vec![0u8; len];
        rng.fill(&mut bytes[..]);
        // Never a valid connect or disconnect header: they could change the session.
        if bytes.len() >= 7 && matches!(bytes[0], OP_CONNECT_REQUEST | OP_DISCONNECT_REQUEST) && bytes[5..7] == [1, 0] {
            bytes[6] = 0xff;
        }
        bytes
    }
}

/// What an out-of-range case must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// An empty INVALID message.
    Invalid,
    /// A close without any answer (the request never came whole).
    Close,
}

/// Every header field and every count out of range, one case each.
fn out_of_range_cases() -> Vec<(String, Vec<u8>, Expect)> {
    let scan = wire::scan_request();
    let connect = wire::open_connect_request("FakeOpen");
    let disconnect = wire::disconnect_request(1);
    let with_header = |op: u8, size: u32, version: u16, body: &[u8]| {
        let mut bytes = header(op, size, version);
        bytes.extend_from_slice(body);
        bytes
    };
    let mut cases = Vec::new();
    // Version.
    for version in [0u16, 2, 0x0100, 0x8001, 0xffff] {
        cases.push((format!("version {version:#06x}"), with_header(1, 33, version, &scan[7..]), Expect::Invalid));
    }
    // Operation: host-to-guest operations and unknown codes.
    for op in [0u8, 2, 4, 6, 7, 8, 9, 42, 128, 255] {
        cases.push((format!("operation {op}"), header(op, 0, 1), Expect::Invalid));
    }
    // Size against each request's rule (body sent as declared).
    for size in [0u32, 1, 32, 34, 331] {
        cases.push((format!("scan size {size}"), with_header(1, size, 1, &vec![0; size as usize]), Expect::Invalid));
    }
    for size in [0u32, 8, 75, 332, 1024] {
        cases.push((format!("connect size {size}"), with_header(3, size, 1, &vec![0; size as usize]), Expect::Invalid));
    }
    for size in [0u32, 7, 9, 16] {
        cases.push((
            format!("disconnect size {size}"),
            with_header(5, size, 1, &vec![0; size as usize]),
            Expect::Invalid,
        ));
    }
    for size in [0x8000_0000u32, u32::MAX - 1] {
        cases.push((format!("connect size {size:#x}"), header(3, size, 1), Expect::Invalid));
    }
    // Counts and lengths in the bodies (offsets include the 7-byte header).
    for ssid_len in [33u8, 64, 255] {
        let mut bytes = scan.clone();
        bytes[7] = ssid_len;
        cases.push((format!("scan ssid_len {ssid_len}"), bytes, Expect::Invalid));
        let mut bytes = connect.clone();
        bytes[7] = ssid_len;
        cases.push((format!("connect ssid_len {ssid_len}"), bytes, Expect::Invalid));
    }
    for num_akm in [3u8, 7, 255] {
        let mut bytes = connect.clone();
        bytes[7 + 41] = num_akm;
        cases.push((format!("connect num_akm_suites {num_akm}"), bytes, Expect::Invalid));
    }
    for num_pairwise in [6u8, 16, 255] {
        let mut bytes = connect.clone();
        bytes[7 + 50] = num_pairwise;
        cases.push((format!("connect num_pairwise_cipher_suites {num_pairwise}"), bytes, Expect::Invalid));
    }
    for key_len in [1u8, 32, 255] {
        // key_len says more than the body holds (size 76).
        let mut bytes = connect.clone();
        bytes[7 + 75] = key_len;
        cases.push((format!("connect key_len {key_len} in a 76-byte body"), bytes, Expect::Invalid));
    }
    {
        // Body longer than 76 + key_len.
        let mut bytes = with_header(3, 80, 1, &connect[7..]);
        bytes.extend_from_slice(&[0; 4]);
        cases.push(("connect key_len 0 in an 80-byte body".into(), bytes, Expect::Invalid));
    }
    // Truncated bodies: the guest half-closes before the declared size arrived.
    cases.push(("scan body truncated".into(), scan[..20].to_vec(), Expect::Close));
    cases.push(("connect body truncated".into(), connect[..50].to_vec(), Expect::Close));
    cases.push(("disconnect body truncated".into(), disconnect[..10].to_vec(), Expect::Close));
    cases.push(("header truncated".into(), scan[..4].to_vec(), Expect::Close));
    cases.push(("nothing at all".into(), Vec::new(), Expect::Close));
    cases
}

/// How a slow sender ended.
#[derive(Debug)]
enum SlowOutcome {
    /// The service closed the connection after `after`, `sent` bytes in.
    Cut { after: Duration, sent: usize },
    /// The whole request went through and was answered correctly.
    Answered,
}

/// Sends `request` one byte per `interval`, watching for the service closing.
async fn slow_send(addr: SocketAddr, request: &[u8], interval: Duration) -> Result<SlowOutcome, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let started = Instant::now();
    let (mut reader, mut writer) = stream.into_split();
    let mut buf = [0u8; 64];
    for (sent, byte) in request.iter().enumerate() {
        if sent > 0 {
            tokio::select! {
                read = reader.read(&mut buf) => match read {
                    Ok(0) => return Ok(SlowOutcome::Cut { after: started.elapsed(), sent }),
                    Err(e) if wire::is_reset(&e) => return Ok(SlowOutcome::Cut { after: started.elapsed(), sent }),
                    Ok(_) => return Err("answered before the whole request was sent".into()),
                    Err(e) => return Err(e.to_string()),
                },
                _ = tokio::time::sleep(interval) => {}
            }
        }
        if let Err(e) = writer.write_all(&[*byte]).await {
            if wire::is_reset(&e) {
                return Ok(SlowOutcome::Cut { after: started.elapsed(), sent });
            }
            return Err(e.to_string());
        }
    }
    let mut answer = Vec::new();
    reader.read_to_end(&mut answer).await.map_err(|e| e.to_string())?;
    match wire::decode_answer(&answer) {
        Some(GuestBound::ScanResponse(_)) => Ok(SlowOutcome::Answered),
        _ => Err(format!("slow request answered wrongly: {answer:?}")),
    }
}

/// Waits for the service to close each stream; the time from its opening, or `None`.
pub(crate) async fn wait_closed(streams: Vec<(TcpStream, Instant)>, wait: Duration) -> Vec<Option<Duration>> {
    let tasks: Vec<_> = streams
        .into_iter()
        .map(|(mut stream, opened)| {
            tokio::spawn(async move {
                let mut buf = [0u8; 16];
                match tokio::time::timeout(wait, stream.read(&mut buf)).await {
                    Ok(Ok(0)) => Some(opened.elapsed()),
                    Ok(Err(e)) if wire::is_reset(&e) => Some(opened.elapsed()),
                    _ => None,
                }
            })
        })
        .collect();
    let mut closes = Vec::with_capacity(tasks.len());
    for task in tasks {
        closes.push(task.await.ok().flatten());
    }
    closes
}

/// A target over a running `proxy-wifi serve`: its counters and events through
/// `proxy-wifi ctl --socket PATH` when a control socket is given.
pub fn binary_target(
    request_addr: SocketAddr,
    notification_port: Option<u16>,
    read_deadline: Duration,
    ctl: Option<(std::path::PathBuf, std::path::PathBuf)>,
) -> Target {
    let (counters, trigger_signal): (Option<CountersFn>, Option<TriggerFn>) = match ctl {
        None => (None, None),
        Some((binary, socket)) => {
            let (b2, s2) = (binary.clone(), socket.clone());
            let counters: CountersFn = Box::new(move || {
                let output = std::process::Command::new(&binary)
                    .arg("ctl")
                    .arg("--control-socket")
                    .arg(&socket)
                    .args(["--json", "status"])
                    .output()
                    .map_err(|e| format!("running {} ctl: {e}", binary.display()))?;
                let status: ServiceStatus = serde_json::from_slice(&output.stdout).map_err(|e| {
                    format!(
                        "ctl status output is not the service's status: {e}: {}",
                        String::from_utf8_lossy(&output.stdout)
                    )
                })?;
                Ok(Counters::from(&status))
            });
            let trigger: TriggerFn = Box::new(move |percent| {
                let status = std::process::Command::new(&b2)
                    .arg("ctl")
                    .arg("--control-socket")
                    .arg(&s2)
                    .args(["signal", &percent.to_string()])
                    .stdout(std::process::Stdio::null())
                    .status()
                    .map_err(|e| format!("running {} ctl: {e}", b2.display()))?;
                if status.success() { Ok(()) } else { Err(format!("ctl signal exited with {status}")) }
            });
            (Some(counters), Some(trigger))
        }
    };
    Target { request_addr, notification_port, read_deadline, counters, trigger_signal }
}
