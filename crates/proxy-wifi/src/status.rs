//! A snapshot of the service's state for operators (`proxy-wifi ctl status`, metrics).
//!
//! It sits below the layers that fill it: the handler publishes the guests' sessions into
//! a [`StatusBoard`], the request channel and the notification senders count into
//! [`RequestCounters`], [`NotificationCounters`] and each guest's
//! [`GuestNotificationCounters`]; a [`ServiceStatus`] is their snapshot.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::observer::OperationType;

/// Counters of the request channel.
#[derive(Debug, Default)]
pub struct RequestCounters {
    /// Connections accepted.
    pub accepted: AtomicU64,
    /// Connections closed because too many were open: refused at once (the guest holds
    /// its fair share), or closed to give their place to a guest below its share.
    pub refused_busy: AtomicU64,
    /// Requests answered with a real answer.
    pub answered: AtomicU64,
    /// Malformed requests answered with INVALID.
    pub invalid: AtomicU64,
    /// Connections dropped because the request did not arrive within the read deadline.
    pub timed_out: AtomicU64,
    /// Connections closed by the peer before a whole request arrived.
    pub closed_early: AtomicU64,
    /// Requests read whole but never answered: the guest closed first, or the handler
    /// dropped them (stale, queue full, stopping).
    pub unanswered: AtomicU64,
    /// Connections open right now.
    pub open: AtomicU64,
}

/// Counters of the notification channel (all guests).
#[derive(Debug, Default)]
pub struct NotificationCounters {
    /// Delivered (connected and written).
    pub sent: AtomicU64,
    /// Dropped before the guest's first request.
    pub gated: AtomicU64,
    /// Replaced in the queue by a newer signal update.
    pub coalesced: AtomicU64,
    /// Dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Could not be delivered (connect or write failed).
    pub failed: AtomicU64,
    /// Waiting in the queues now.
    pub queued: AtomicU64,
}

/// What happened to one notification of a guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationOutcome {
    /// Delivered.
    Sent,
    /// Replaced in the queue by a newer signal update.
    Coalesced,
    /// Dropped because the queue was full.
    Dropped,
    /// Could not be delivered.
    Failed,
}

/// One guest's notification counters.
#[derive(Debug, Default)]
pub struct GuestNotificationCounters {
    sent: AtomicU64,
    coalesced: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
}

impl GuestNotificationCounters {
    /// Counts one outcome.
    pub(crate) fn count(&self, outcome: NotificationOutcome) {
        let counter = match outcome {
            NotificationOutcome::Sent => &self.sent,
            NotificationOutcome::Coalesced => &self.coalesced,
            NotificationOutcome::Dropped => &self.dropped,
            NotificationOutcome::Failed => &self.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts now.
    pub fn read(&self) -> GuestNotificationStatus {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        GuestNotificationStatus {
            sent: get(&self.sent),
            coalesced: get(&self.coalesced),
            dropped: get(&self.dropped),
            failed: get(&self.failed),
        }
    }
}

/// One guest's notifications at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestNotificationStatus {
    /// Delivered.
    pub sent: u64,
    /// Replaced in the queue by a newer signal update.
    pub coalesced: u64,
    /// Dropped because the queue was full.
    pub dropped: u64,
    /// Could not be delivered.
    pub failed: u64,
}

/// A Wi-Fi interface as shown to operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceStatus {
    /// Its name (`wlan0`; the GUID where the backend has no name).
    pub name: String,
    /// The backend driving it (`networkmanager`, `wpa_supplicant`, `wlanapi`, `simulated`, ...).
    pub backend: String,
    /// Its id.
    pub id: String,
}

/// The guest's connection as shown to operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionStatus {
    /// Mirrored or guest-directed.
    pub kind: OperationType,
    /// Name of the interface backing it (`wlan0`).
    pub interface: String,
    /// Id of the interface backing it.
    pub interface_id: String,
    /// SSID (escaped).
    pub ssid: String,
    /// BSSID.
    pub bssid: String,
    /// Authentication as the guest sees it.
    pub auth: crate::interface::AuthAlgorithm,
    /// Session id of the connection.
    pub session_id: u64,
}

/// One guest's session as shown to operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestStatus {
    /// When its first request arrived (RFC 3339, UTC).
    #[serde(with = "rfc3339")]
    pub first_request: SystemTime,
    /// When its last request arrived (RFC 3339, UTC).
    #[serde(with = "rfc3339")]
    pub last_request: SystemTime,
    /// Last session id given to the guest (0 before any connect).
    pub session_id: u64,
    /// The guest's connection.
    pub connection: Option<ConnectionStatus>,
    /// Its notifications.
    pub notifications: GuestNotificationStatus,
}

/// What the handler publishes after each change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusBoard {
    /// Every guest that made a request, by identity (`vsock:7`, `tcp:127.0.0.1`, ...).
    pub guests: BTreeMap<String, GuestStatus>,
    /// The interfaces, in dispatch order.
    pub interfaces: Vec<InterfaceStatus>,
    /// Scan requests handled.
    pub scan_requests: u64,
    /// Connect requests handled.
    pub connect_requests: u64,
    /// Disconnect requests handled.
    pub disconnect_requests: u64,
    /// Requests dropped unanswered because nobody waited for them any more: their
    /// connection closed, or the guest's 20 s ran out while they were queued.
    pub stale_requests_dropped: u64,
}

/// The kind of a guest request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// Scan.
    Scan,
    /// Connect.
    Connect,
    /// Disconnect.
    Disconnect,
}

impl RequestKind {
    /// The kind of `request`.
    pub fn of(request: &proxy_wifi_protocol::HostBound) -> RequestKind {
        match request {
            proxy_wifi_protocol::HostBound::Scan(_) => RequestKind::Scan,
            proxy_wifi_protocol::HostBound::Connect(_) => RequestKind::Connect,
            proxy_wifi_protocol::HostBound::Disconnect(_) => RequestKind::Disconnect,
        }
    }

    /// The name for logs.
    pub fn name(self) -> &'static str {
        match self {
            RequestKind::Scan => "scan",
            RequestKind::Connect => "connect",
            RequestKind::Disconnect => "disconnect",
        }
    }
}

/// Transport counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransportStatus {
    /// Request connections accepted.
    pub accepted: u64,
    /// Request connections open now.
    pub open: u64,
    /// Requests answered.
    pub answered: u64,
    /// Malformed requests answered with INVALID.
    pub invalid: u64,
    /// Connections dropped at the read deadline.
    pub timed_out: u64,
    /// Connections closed by the peer before a whole request.
    pub closed_early: u64,
    /// Requests read whole but never answered: the guest closed first, or the handler
    /// dropped them (stale, queue full, stopping).
    #[serde(default)]
    pub unanswered: u64,
    /// Connections refused or closed because too many were open (fair share per guest).
    pub refused_busy: u64,
    /// Notifications delivered.
    pub notifications_sent: u64,
    /// Notifications dropped before the guest's first request.
    pub notifications_gated: u64,
    /// Signal notifications replaced in a queue by a newer one.
    pub notifications_coalesced: u64,
    /// Notifications dropped because the queue was full.
    pub notifications_dropped: u64,
    /// Notifications that could not be delivered.
    pub notifications_failed: u64,
    /// Notifications waiting.
    pub notifications_queued: u64,
}

impl TransportStatus {
    /// What became of the accepted request connections that are no longer open, by
    /// outcome; with `open`, they add up to `accepted`.
    pub fn request_outcomes(&self) -> [(&'static str, u64); 6] {
        [
            ("answered", self.answered),
            ("invalid", self.invalid),
            ("timed_out", self.timed_out),
            ("closed_early", self.closed_early),
            ("unanswered", self.unanswered),
            ("refused_busy", self.refused_busy),
        ]
    }

    /// Whether every accepted request connection is open or has an outcome.
    pub fn requests_accounted_for(&self) -> bool {
        self.accepted == self.open + self.request_outcomes().iter().map(|(_, count)| count).sum::<u64>()
    }

    pub(crate) fn read(requests: &RequestCounters, notifications: &NotificationCounters) -> Self {
        let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        Self {
            accepted: get(&requests.accepted),
            open: get(&requests.open),
            answered: get(&requests.answered),
            invalid: get(&requests.invalid),
            timed_out: get(&requests.timed_out),
            closed_early: get(&requests.closed_early),
            unanswered: get(&requests.unanswered),
            refused_busy: get(&requests.refused_busy),
            notifications_sent: get(&notifications.sent),
            notifications_gated: get(&notifications.gated),
            notifications_coalesced: get(&notifications.coalesced),
            notifications_dropped: get(&notifications.dropped),
            notifications_failed: get(&notifications.failed),
            notifications_queued: get(&notifications.queued),
        }
    }
}

/// Where the service listens and where it sends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenStatus {
    /// The transport kind (`tcp`, `vsock`, `hybrid-vsock`, `hyperv`).
    pub transport: String,
    /// Where requests are accepted (`tcp:127.0.0.1:12345`, `vsock:ANY:12345`, ...).
    pub requests: String,
    /// Where notifications go (`tcp:127.0.0.1:12346`, `vsock:<guest CID>:12346`, ...).
    pub notifications: String,
}

/// The service's state at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceStatus {
    /// The library's version.
    pub version: String,
    /// Mode: `host` or `simulated`.
    pub mode: String,
    /// Which guest-directed connections are allowed: `any`, `allow-list (SSID, ...)`,
    /// `mirror-only` ([`crate::GuestConnectPolicy`]).
    #[serde(default)]
    pub guest_connect: String,
    /// At most one real scan per this many seconds on each host radio (0: every guest
    /// scan scans).
    #[serde(default)]
    pub host_scan_interval_seconds: u64,
    /// When the service started (RFC 3339, UTC).
    #[serde(with = "rfc3339")]
    pub started_at: SystemTime,
    /// Seconds since the start.
    pub uptime_seconds: u64,
    /// Transport and addresses.
    pub listen: ListenStatus,
    /// Guest session and requests.
    #[serde(flatten)]
    pub board: StatusBoard,
    /// Channel counters.
    pub transport: TransportStatus,
}

/// Times as RFC 3339 text in UTC, to the second.
mod rfc3339 {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(time: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&humantime::format_rfc3339_seconds(*time))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SystemTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

/// What the handler shares with the service handle: the published board and each
/// guest's live notification counters (read at each snapshot).
#[derive(Debug, Default)]
pub(crate) struct SharedStatus {
    pub(crate) board: Mutex<StatusBoard>,
    pub(crate) guest_notifications: Mutex<BTreeMap<String, Arc<GuestNotificationCounters>>>,
    /// Requests by operation and result, and their latency (Prometheus metrics).
    pub(crate) request_metrics: crate::metrics::RequestMetrics,
}

impl SharedStatus {
    /// The board now, each guest with its notification counts.
    pub(crate) fn snapshot(&self) -> StatusBoard {
        let mut board = self.board.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let live = self.guest_notifications.lock().unwrap_or_else(|p| p.into_inner());
        for (guest, status) in &mut board.guests {
            if let Some(counters) = live.get(guest) {
                status.notifications = counters.read();
            }
        }
        board
    }
}

#[cfg(test)]
mod tests {
    use super::TransportStatus;

    #[test]
    fn accepted_connections_are_accounted_for_by_open_and_the_outcomes() {
        let mut t = TransportStatus {
            accepted: 21,
            open: 1,
            answered: 10,
            invalid: 4,
            timed_out: 2,
            closed_early: 1,
            unanswered: 2,
            refused_busy: 1,
            ..TransportStatus::default()
        };
        assert!(t.requests_accounted_for());
        assert_eq!(t.request_outcomes().iter().map(|(_, n)| n).sum::<u64>(), 20);
        t.unanswered += 1;
        assert!(!t.requests_accounted_for(), "one more outcome than accepted connections");
        t.accepted += 1;
        t.notifications_failed = 7;
        assert!(t.requests_accounted_for(), "notifications are no request connection's outcome");
    }
}
