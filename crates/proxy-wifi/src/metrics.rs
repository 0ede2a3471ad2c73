//! Prometheus metrics of a service (`prometheus-client`): requests by operation and
//! result, request latency, notifications by outcome, guests, connections, interfaces.
//!
//! The handler counts each request it answers into [`RequestMetrics`]; the rest is read
//! from the service's status at each scrape ([`StatusCollector`]). An application
//! registers both into its registry with `ServiceHandle::register_metrics`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use proxy_wifi_protocol::GuestBound;
use rustc_hash::FxHashMap;

use crate::observer::OperationType;
use crate::status::{NotificationCounters, RequestCounters, RequestKind, SharedStatus, TransportStatus};

/// Upper bounds (seconds) of the latency buckets: from 1 ms to the 10 s deadlines and past.
const LATENCY_BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

type Labels = Vec<(&'static str, String)>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// Requests answered by the handler, by operation and result, and how long each took.
#[derive(Debug, Clone)]
pub(crate) struct RequestMetrics {
    requests: Family<Labels, Counter>,
    latency: Family<Labels, Histogram, fn() -> Histogram>,
    /// The series already made, by operation and result: a request counts into them
    /// without building labels (two allocations and two hashed lookups each).
    made: Arc<Mutex<MadeSeries>>,
}

/// The request counter and latency histogram of each (operation, result) seen so far.
type MadeSeries = FxHashMap<(RequestKind, ResultKey), (Counter, Histogram)>;

impl Default for RequestMetrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            made: Arc::default(),
        }
    }
}

/// What decides the `result` label: a connect's status code, or nothing (`ok`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ResultKey {
    Ok,
    Status(u16),
}

fn result_key(answer: &GuestBound) -> ResultKey {
    match answer {
        GuestBound::ConnectResponse(r) => ResultKey::Status(r.result_code.0),
        _ => ResultKey::Ok,
    }
}

/// The `result` label of an answer: `ok` for scans and disconnects, the 802.11 status
/// code's name in lower case for connects (`success`, `challenge_failure`, ...).
fn result_of(answer: &GuestBound) -> String {
    match answer {
        GuestBound::ConnectResponse(r) => r.result_code.name().to_ascii_lowercase(),
        _ => "ok".into(),
    }
}

impl RequestMetrics {
    /// Counts one answered request of `kind` that took `elapsed`.
    pub(crate) fn observe(&self, kind: RequestKind, answer: &GuestBound, elapsed: Duration) {
        let mut made = self.made.lock().unwrap_or_else(|p| p.into_inner());
        let (requests, latency) = made.entry((kind, result_key(answer))).or_insert_with(|| {
            let operation = vec![("operation", kind.name().to_string())];
            let mut labels = operation.clone();
            labels.push(("result", result_of(answer)));
            (self.requests.get_or_create(&labels).clone(), self.latency.get_or_create(&operation).clone())
        });
        requests.inc();
        latency.observe(elapsed.as_secs_f64());
    }

    /// Registers the request counter and the latency histogram.
    pub(crate) fn register(&self, registry: &mut prometheus_client::registry::Registry) {
        registry.register(
            "proxy_wifi_requests",
            "Guest requests answered, by operation and result",
            self.requests.clone(),
        );
        registry.register_with_unit(
            "proxy_wifi_request_duration",
            "Time the handler took to answer a guest request, by operation",
            prometheus_client::registry::Unit::Seconds,
            self.latency.clone(),
        );
    }
}

/// Reads the service's status at each scrape.
#[derive(Debug)]
pub(crate) struct StatusCollector {
    pub(crate) status: Arc<SharedStatus>,
    pub(crate) requests: Arc<RequestCounters>,
    pub(crate) notifications: Arc<NotificationCounters>,
}

/// A counter family with one `label` whose rows are `(label value, count)`.
fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    label: &str,
    rows: impl IntoIterator<Item = (&'static str, u64)>,
) -> std::fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, None, ConstCounter::new(0u64).metric_type())?;
    for (value, count) in rows {
        ConstCounter::new(count).encode(family.encode_family(&[(label, value)])?)?;
    }
    Ok(())
}

/// A gauge family with one `label` whose rows are `(label value, level)`.
fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    label: &str,
    rows: &[(&str, usize)],
) -> std::fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, None, ConstGauge::new(0i64).metric_type())?;
    for (value, level) in rows {
        ConstGauge::new(as_gauge(*level)).encode(family.encode_family(&[(label, *value)])?)?;
    }
    Ok(())
}

fn single_gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, level: usize) -> std::fmt::Result {
    let gauge = ConstGauge::new(as_gauge(level));
    gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)
}

fn as_gauge(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Collector for StatusCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let board = self.status.snapshot();
        let t = TransportStatus::read(&self.requests, &self.notifications);
        counter(
            &mut encoder,
            "proxy_wifi_notifications",
            "Notifications to guests, by outcome.",
            "outcome",
            [
                ("sent", t.notifications_sent),
                ("coalesced", t.notifications_coalesced),
                ("dropped", t.notifications_dropped),
                ("gated", t.notifications_gated),
                ("failed", t.notifications_failed),
            ],
        )?;
        counter(
            &mut encoder,
            "proxy_wifi_request_connections",
            "Request connections, by outcome.",
            "outcome",
            std::iter::once(("accepted", t.accepted)).chain(t.request_outcomes()),
        )?;
        let connected =
            |kind| board.guests.values().filter(|g| g.connection.as_ref().is_some_and(|c| c.kind == kind)).count();
        single_gauge(
            &mut encoder,
            "proxy_wifi_guests",
            "Guests that made a request and are remembered.",
            board.guests.len(),
        )?;
        gauge(
            &mut encoder,
            "proxy_wifi_connections",
            "Guest connections, by kind.",
            "kind",
            &[
                ("mirrored", connected(OperationType::HostMirroring)),
                ("guest-directed", connected(OperationType::GuestDirected)),
            ],
        )?;
        single_gauge(&mut encoder, "proxy_wifi_interfaces", "Wi-Fi interfaces in use.", board.interfaces.len())?;
        let queued = usize::try_from(t.notifications_queued).unwrap_or(usize::MAX);
        single_gauge(&mut encoder, "proxy_wifi_notifications_queued", "Notifications waiting for delivery.", queued)
    }
}
