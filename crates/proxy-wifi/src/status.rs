//! A snapshot of the service's state for operators (`proxy-wifi ctl status`).

//!
//! It sits below the layers that fill it: the handler publishes the guests' sessions into
//! a [`StatusBoard`], the request channel and the notification senders count into
//! [`RequestCounters`] and [`NotificationCounters`]; a [`ServiceStatus`] is their snapshot.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use crate::observer::OperationType;

/// Counters of the request channel.
#[derive(Debug, Default)]
pub struct RequestCounters {
    /// Connections accepted.
    pub accepted: AtomicU64,
    /// Connections closed at once because too many were open.
    pub refused_busy: AtomicU64,
    /// Requests answered with a real answer.
    pub answered: AtomicU64,
    /// Malformed requests answered with INVALID.
    pub invalid: AtomicU64,
    /// Connections dropped because the request did not arrive within the read deadline.
    pub timed_out: AtomicU64,
    /// Connections closed by the peer before a whole request arrived.
    pub closed_early: AtomicU64,
    /// Connections open right now.
    pub open: AtomicU64,
}

/// Counters of the notification channel.
#[derive(Debug, Default)]
pub struct NotificationCounters {
    /// Delivered (connected and written).
    pub sent: AtomicU64,
    /// Dropped before the guest's first request.
    pub gated: AtomicU64,
    /// Dropped because the queue was full, or replaced by a newer signal update.
    pub dropped: AtomicU64,
    /// Could not be delivered (connect or write failed).
    pub failed: AtomicU64,
    /// Waiting in the queues now.
    pub queued: AtomicU64,
}

/// The guest's connection as shown to operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionStatus {
    /// Mirrored or guest-directed.
    pub kind: OperationType,
    /// Interface backing it.
    pub interface: String,
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GuestStatus {
    /// Last session id given to the guest (0 before any connect).
    pub session_id: u64,
    /// The guest's connection.
    pub connection: Option<ConnectionStatus>,
}

/// What the handler publishes after each change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatusBoard {
    /// Every guest that made a request, by identity (`vsock:7`, `tcp:127.0.0.1`, ...).
    pub guests: std::collections::BTreeMap<String, GuestStatus>,
    /// Number of interfaces.
    pub interfaces: usize,
    /// Scan requests handled.
    pub scan_requests: u64,
    /// Connect requests handled.
    pub connect_requests: u64,
    /// Disconnect requests handled.
    pub disconnect_requests: u64,
}

/// The kind of a guest request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// Scan.
    Scan,
    /// Connect.
    Connect,
    /// Disconnect.
    Disconnect,
}

impl RequestKind {
    /// The name for logs.
    pub fn name(self) -> &'static str {
        match self {
            RequestKind::Scan => "scan",
            RequestKind::Connect => "connect",
            RequestKind::Disconnect => "disconnect",
        }
    }
}

impl StatusBoard {
    pub(crate) fn count_request(&mut self, kind: RequestKind) {
        match kind {
            RequestKind::Scan => self.scan_requests += 1,
            RequestKind::Connect => self.connect_requests += 1,
            RequestKind::Disconnect => self.disconnect_requests += 1,
        }
    }
}

/// Transport counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
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
    /// Connections refused because too many were open.
    pub refused_busy: u64,
    /// Notifications delivered.
    pub notifications_sent: u64,
    /// Notifications dropped before the guest's first request.
    pub notifications_gated: u64,
    /// Notifications dropped or coalesced because the queue was full.
    pub notifications_dropped: u64,
    /// Notifications that could not be delivered.
    pub notifications_failed: u64,
    /// Notifications waiting.
    pub notifications_queued: u64,
}

impl TransportStatus {
    pub(crate) fn read(requests: &RequestCounters, notifications: &NotificationCounters) -> Self {
        let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        Self {
            accepted: get(&requests.accepted),
            open: get(&requests.open),
            answered: get(&requests.answered),
            invalid: get(&requests.invalid),
            timed_out: get(&requests.timed_out),
            closed_early: get(&requests.closed_early),
            refused_busy: get(&requests.refused_busy),
            notifications_sent: get(&notifications.sent),
            notifications_gated: get(&notifications.gated),
            notifications_dropped: get(&notifications.dropped),
            notifications_failed: get(&notifications.failed),
            notifications_queued: get(&notifications.queued),
        }
    }
}

/// The service's state at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServiceStatus {
    /// Mode: `host` or `simulated`.
    pub mode: String,
    /// Guest session and requests.
    #[serde(flatten)]
    pub board: StatusBoard,
    /// Channel counters.
    pub transport: TransportStatus,
}
