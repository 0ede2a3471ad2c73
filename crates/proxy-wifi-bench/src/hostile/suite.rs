//! The suite itself: the target, the sizes of the cases, the run in order, and the checks
//! common to every case (a well-formed probe answered in time, the service quiet after it).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proxy_wifi::ServiceStatus;
use proxy_wifi::protocol::{Capabilities, GuestBound};
use serde::Serialize;

use super::counters::{Counters, CountersFn};
use crate::wire;

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
pub(super) type CaseOutcome = Result<String, String>;

/// The suite's state while it runs; the cases are its methods, one file per topic.
pub(super) struct Suite<'a> {
    pub(super) target: &'a Target,
    pub(super) config: &'a SuiteConfig,
    /// BSS count of a wildcard scan.
    pub(super) expected_bss: usize,
    /// The guest's session made at the start (when an open network exists).
    pub(super) session: Option<u64>,
    /// The open network it connected to.
    pub(super) open_ssid: String,
    /// Latencies of the probes of the current case (ms).
    pub(super) probes: Vec<f64>,
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

/// Prefix of a case's outcome text that marks it as skipped.
pub(super) const SKIP: &str = "SKIP: ";

impl Suite<'_> {
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
    pub(super) async fn probe(&mut self) -> Result<f64, String> {
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
