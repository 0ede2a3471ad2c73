//! The request-channel cases: silent connections, slow senders, 4 GiB headers, every field
//! out of range, random bytes, and guests that leave mid-response.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use proxy_wifi::protocol::GuestBound;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::suite::{CaseOutcome, SKIP, Suite};
use crate::wire::{self, INVALID, OP_CONNECT_REQUEST, OP_DISCONNECT_REQUEST, OP_SCAN_REQUEST, header};

impl Suite<'_> {
    pub(super) async fn silent_connections(&mut self) -> CaseOutcome {
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
            let timed_out = after.transport.timed_out - before.transport.timed_out;
            if timed_out != n as u64 {
                return Err(format!("{detail}; timed_out grew by {timed_out}, expected {n}"));
            }
            detail.push_str(&format!("; timed_out +{timed_out}"));
        }
        Ok(detail)
    }

    pub(super) async fn slow_senders(&mut self) -> CaseOutcome {
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
            let timed_out = after.transport.timed_out - before.transport.timed_out;
            if timed_out != cut {
                return Err(format!("{detail}; timed_out grew by {timed_out}, expected {cut}"));
            }
            detail.push_str(&format!("; timed_out +{timed_out}"));
        }
        Ok(detail)
    }

    pub(super) async fn header_4gib(&mut self) -> CaseOutcome {
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
            let invalid = after.transport.invalid - before.transport.invalid;
            if invalid != 3 {
                return Err(format!("{detail}; invalid grew by {invalid}, expected 3"));
            }
            detail.push_str("; invalid +3");
        }
        Ok(detail)
    }

    pub(super) async fn out_of_range(&mut self) -> CaseOutcome {
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
            let (d_invalid, d_closed) = (
                after.transport.invalid - before.transport.invalid,
                after.transport.closed_early - before.transport.closed_early,
            );
            if d_invalid != invalid || d_closed != closed {
                return Err(format!("{detail}; counters: invalid +{d_invalid}, closed_early +{d_closed}"));
            }
            detail.push_str(&format!("; invalid +{d_invalid}, closed_early +{d_closed}"));
        }
        Ok(detail)
    }

    pub(super) async fn random_bytes(&mut self) -> CaseOutcome {
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

    pub(super) async fn mid_response(&mut self) -> CaseOutcome {
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
    match reader.read_to_end(&mut answer).await {
        Ok(_) => {}
        // The last byte can reach the service just as its read deadline cuts the connection.
        Err(e) if wire::is_reset(&e) => return Ok(SlowOutcome::Cut { after: started.elapsed(), sent: request.len() }),
        Err(e) => return Err(e.to_string()),
    }
    match wire::decode_answer(&answer) {
        Some(GuestBound::ScanResponse(_)) => Ok(SlowOutcome::Answered),
        // Closed with no answer: cut at the deadline while the last byte was on its way.
        None if answer.is_empty() => Ok(SlowOutcome::Cut { after: started.elapsed(), sent: request.len() }),
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
