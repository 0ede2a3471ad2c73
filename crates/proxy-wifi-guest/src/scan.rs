//! A whole scan as the driver sees it: the answer, then scan-results notifications.

use std::time::Duration;

use proxy_wifi_protocol::{BssEntry, GuestBound, ScanResponse, Ssid};
use tokio::time::Instant;

use super::{GuestClient, GuestError, NotificationListener};

/// The result of [`scan_until_complete`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScanOutcome {
    /// Every BSS reported, once per BSSID (a later report replaces an earlier one and keeps
    /// its place), in order of first report.
    pub bss: Vec<BssEntry>,
    /// Whether a report with `scan_complete = 1` arrived; `false` if the wait ran out (or
    /// the scan was left open and no listener was given).
    pub completed: bool,
    /// The other notifications received while waiting, in order of arrival.
    pub other_notifications: Vec<GuestBound>,
}

impl ScanOutcome {
    fn merge(&mut self, response: ScanResponse) {
        for entry in response.bss {
            match self.bss.iter_mut().find(|known| known.bssid == entry.bssid) {
                Some(known) => *known = entry,
                None => self.bss.push(entry),
            }
        }
        self.completed |= response.scan_complete;
    }
}

/// Scans like the driver: sends a scan request (for `ssid`, or every network), and if the
/// answer has `scan_complete = 0` and a `listener` is given, keeps reading notifications
/// until a scan-results notification with `scan_complete = 1` arrives or `wait` (counted
/// from the answer; the driver uses [`super::DEFAULT_SCAN_WAIT`], 10 s) passes.
///
/// Results are merged, deduplicated by BSSID. Notifications other than scan results are
/// kept in [`ScanOutcome::other_notifications`]. Without a listener an open scan returns at
/// once with `completed = false`.
pub async fn scan_until_complete(
    client: &GuestClient,
    listener: Option<&mut NotificationListener>,
    ssid: Option<Ssid>,
    wait: Duration,
) -> Result<ScanOutcome, GuestError> {
    let response = client.scan(ssid).await?;
    let mut outcome = ScanOutcome::default();
    outcome.merge(response);
    let Some(listener) = listener else {
        return Ok(outcome);
    };
    let deadline = Instant::now() + wait;
    while !outcome.completed {
        match tokio::time::timeout_at(deadline, listener.next()).await {
            Err(_) => {
                tracing::debug!(?wait, "scan still open when the wait ran out");
                break;
            }
            Ok(notification) => match notification? {
                GuestBound::ScanResponse(results) => outcome.merge(results),
                other => outcome.other_notifications.push(other),
            },
        }
    }
    Ok(outcome)
}
