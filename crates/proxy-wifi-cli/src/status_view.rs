//! `proxy-wifi ctl status` as text, from the service's structured status.

use std::time::{Duration, SystemTime};

use proxy_wifi::{GuestStatus, OperationType, ServiceStatus};

/// How long ago `time` was, to the second ("3s ago"; "now" for the future or the present).
fn ago(time: SystemTime, now: SystemTime) -> String {
    match now.duration_since(time) {
        Ok(elapsed) if elapsed.as_secs() > 0 => {
            format!("{} ago", humantime::format_duration(Duration::from_secs(elapsed.as_secs())))
        }
        _ => "now".into(),
    }
}

fn guest_lines(name: &str, guest: &GuestStatus, now: SystemTime) -> Vec<String> {
    let connection = match &guest.connection {
        Some(c) => {
            let kind = match c.kind {
                OperationType::HostMirroring => "mirrors the host's connection",
                OperationType::GuestDirected => "guest-directed connection",
            };
            format!(
                "connected to {} ({}, {}) on {}, {kind}, session {}",
                c.ssid, c.bssid, c.auth, c.interface, c.session_id
            )
        }
        None => "not connected".into(),
    };
    let n = &guest.notifications;
    vec![
        format!("  {name}: {connection}; last session id {}", guest.session_id),
        format!(
            "    first request {} ({}), last request {} ({})",
            humantime::format_rfc3339_seconds(guest.first_request),
            ago(guest.first_request, now),
            humantime::format_rfc3339_seconds(guest.last_request),
            ago(guest.last_request, now),
        ),
        format!(
            "    notifications: {} sent, {} coalesced, {} dropped, {} failed",
            n.sent, n.coalesced, n.dropped, n.failed
        ),
    ]
}

/// The status as text for operators, `now` being the time of the answer.
pub fn render(status: &ServiceStatus, now: SystemTime) -> String {
    let b = &status.board;
    let t = &status.transport;
    let mut lines = vec![
        format!(
            "proxy-wifi {}, {} mode, up {} (since {})",
            status.version,
            status.mode,
            humantime::format_duration(Duration::from_secs(status.uptime_seconds)),
            humantime::format_rfc3339_seconds(status.started_at)
        ),
        format!(
            "transport {}: requests on {}, notifications to {}",
            status.listen.transport, status.listen.requests, status.listen.notifications
        ),
        format!(
            "guest-connect {}; host radios scan at most every {}",
            status.guest_connect,
            match status.host_scan_interval_seconds {
                0 => "time a guest asks".to_string(),
                s => format!("{s} s"),
            }
        ),
    ];
    if b.interfaces.is_empty() {
        lines.push("interfaces: none".into());
    } else {
        lines.push("interfaces:".into());
        lines.extend(b.interfaces.iter().map(|i| format!("  {} ({}, {})", i.name, i.backend, i.id)));
    }
    if b.guests.is_empty() {
        lines.push("guests: none has made a request yet".into());
    } else {
        lines.push("guests:".into());
        for (name, guest) in &b.guests {
            lines.extend(guest_lines(name, guest, now));
        }
    }
    lines.push(format!(
        "requests: {} scan, {} connect, {} disconnect, {} invalid, {} timed out, {} dropped stale; {} connections open",
        b.scan_requests,
        b.connect_requests,
        b.disconnect_requests,
        t.invalid,
        t.timed_out,
        b.stale_requests_dropped,
        t.open
    ));
    lines.push(format!(
        "notifications: {} sent, {} coalesced, {} dropped before a first request, {} dropped (queue full), {} failed, {} queued",
        t.notifications_sent,
        t.notifications_coalesced,
        t.notifications_gated,
        t.notifications_dropped,
        t.notifications_failed,
        t.notifications_queued
    ));
    lines.join("\n")
}
