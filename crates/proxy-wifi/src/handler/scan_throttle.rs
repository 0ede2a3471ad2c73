//! At most one real scan per interval on each host radio, whatever the guests ask: a
//! guest scanning in a loop would otherwise keep the host's Wi-Fi off its channel (each
//! scan visits every channel) and slow the host's own traffic. In between, a guest's scan
//! is answered from the newest results of that interface (those of the last real scan,
//! refreshed by any later results the interface reports).
//!
//! Only interfaces backed by the host's Wi-Fi service are throttled; simulated, fake and
//! application interfaces scan nothing real.

use std::collections::HashMap;
use std::time::Duration;

use proxy_wifi_protocol::{BssEntry, Ssid};
use tokio::time::Instant;

use crate::interface::{InterfaceId, WifiInterface};

/// The backends whose scans use a real radio (see [`WifiInterface::backend`]).
const HOST_RADIO_BACKENDS: [&str; 3] = ["networkmanager", "wpa_supplicant", "wlanapi"];

/// The newest results of each throttled interface, and when it last really scanned.
#[derive(Debug, Default)]
pub(crate) struct ScanThrottle {
    interval: Duration,
    last: HashMap<InterfaceId, (Instant, Vec<BssEntry>)>,
}

impl ScanThrottle {
    /// One real scan per `interval` on each host radio (zero: no throttle).
    pub(crate) fn new(interval: Duration) -> Self {
        Self { interval, last: HashMap::new() }
    }

    /// Whether `interface`'s scans are throttled at all.
    pub(crate) fn applies_to(&self, interface: &dyn WifiInterface) -> bool {
        !self.interval.is_zero() && HOST_RADIO_BACKENDS.contains(&interface.backend())
    }

    /// What to answer instead of scanning `id` at `now`: its newest results (those naming
    /// `ssid` for a targeted scan) while its last real scan is younger than the interval.
    pub(crate) fn cached(&self, id: InterfaceId, ssid: Option<Ssid>, now: Instant) -> Option<Vec<BssEntry>> {
        let (at, bss) = self.last.get(&id)?;
        if now.saturating_duration_since(*at) >= self.interval {
            return None;
        }
        Some(bss.iter().filter(|entry| ssid.is_none() || entry.ssid() == ssid).cloned().collect())
    }

    /// A real scan of `id` started at `at` and gave `bss`: all it sees, or for a targeted
    /// scan the target's BSSs, which replace those of the same BSSID in the newest results.
    pub(crate) fn scanned(&mut self, id: InterfaceId, at: Instant, bss: &[BssEntry], targeted: bool) {
        let entry = self.last.entry(id).or_insert_with(|| (at, Vec::new()));
        entry.0 = at;
        if !targeted {
            entry.1 = bss.to_vec();
            return;
        }
        for found in bss {
            match entry.1.iter_mut().find(|known| known.bssid == found.bssid) {
                Some(known) => *known = found.clone(),
                None => entry.1.push(found.clone()),
            }
        }
    }

    /// Later results of `id` (its scan finished, or the host scanned on its own): they
    /// become the newest, without moving the time of the last real scan.
    pub(crate) fn refreshed(&mut self, id: InterfaceId, bss: &[BssEntry]) {
        if let Some((_, last)) = self.last.get_mut(&id) {
            *last = bss.to_vec();
        }
    }

    /// `id` is gone: forget its results.
    pub(crate) fn forget(&mut self, id: InterfaceId) {
        self.last.remove(&id);
    }
}
