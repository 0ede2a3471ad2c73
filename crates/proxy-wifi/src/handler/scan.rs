//! Scan rules (behavior.md "Requests / Scan").

use futures::future::join_all;
use proxy_wifi_protocol::{
    BSS_ENTRY_LEN, BssEntry, Bssid, GuestBound, MAX_SCAN_RESPONSE_BODY_LEN, SCAN_RESPONSE_FIXED_LEN, ScanRequest,
    ScanResponse,
};
use rustc_hash::{FxBuildHasher, FxHashSet};
use tokio::time::Instant;

use super::{OperationHandler, guarded};
use crate::identity::GuestId;
use crate::interface::{InterfaceId, ScanResults, ScanStatus};
use crate::observer::OperationStatus;

/// Merges BSS lists in order: the first occurrence of a BSSID wins (rule 4), and the
/// result never exceeds what a guest can read (16 MiB body).
pub(crate) fn merge_bss(lists: impl IntoIterator<Item = Vec<BssEntry>>) -> Vec<BssEntry> {
    let lists: Vec<Vec<BssEntry>> = lists.into_iter().collect();
    let total = lists.iter().map(Vec::len).sum();
    // BSSIDs come from the host's scans, never from the guest: a cheap hash is enough.
    let mut seen: FxHashSet<Bssid> = FxHashSet::with_capacity_and_hasher(total, FxBuildHasher);
    let mut merged = Vec::with_capacity(total);
    let mut size = SCAN_RESPONSE_FIXED_LEN;
    for list in lists {
        for entry in list {
            let entry_size = BSS_ENTRY_LEN + entry.ies.len();
            if size + entry_size > MAX_SCAN_RESPONSE_BODY_LEN as usize {
                tracing::warn!("scan results exceed the 16 MiB response bound; the rest are left out");
                return merged;
            }
            if seen.insert(entry.bssid) {
                size += entry_size;
                merged.push(entry);
            }
        }
    }
    merged
}

impl OperationHandler {
    /// Handles a scan request.
    pub(crate) async fn scan(&mut self, guest: &GuestId, request: ScanRequest) -> GuestBound {
        // Rule 1: tell the observer; the scan waits for the callback.
        let who = guest.clone();
        self.observer.call("on_guest_scan_request", move |o| o.on_guest_scan_request(&who)).await;

        // Rule 2: all interfaces concurrently, targeted when an SSID is named, until a
        // shared deadline; a late or failing interface contributes nothing.
        // Never beyond the request's budget (the guest waits 20 s from its arrival).
        let now = Instant::now();
        let deadline = (now + self.timeouts.scan).min(self.work_deadline());
        let ssid = request.ssid;
        // A host radio that scanned less than the throttle's interval ago answers from its
        // newest results instead of scanning again.
        let throttle = &self.scan_throttle;
        let scans = self.interfaces.iter().map(|interface| {
            let throttled = throttle.applies_to(interface.as_ref());
            let cached = throttled.then(|| throttle.cached(interface.id(), ssid, now)).flatten();
            async move {
                let really_scans = throttled && cached.is_none();
                let outcome = match cached {
                    Some(bss) => Ok(Ok(ScanResults { bss, status: ScanStatus::Completed })),
                    None => guarded::scan(interface, ssid, deadline).await,
                };
                (interface.id(), really_scans, outcome)
            }
        });
        let outcomes = join_all(scans).await;
        for (id, really_scanned, outcome) in &outcomes {
            if let (true, Ok(Ok(results))) = (really_scanned, outcome) {
                self.scan_throttle.scanned(*id, now, &results.bss, ssid.is_some());
            }
        }

        // Rule 3: remember interfaces still running. Rule 4: merge, fake networks first
        // (the interface list keeps them first).
        let mut lists = Vec::with_capacity(outcomes.len());
        let mut answered = 0usize;
        let no_interface = self.interfaces.is_empty();
        let scan_deadline = self.timeouts.scan;
        let running = &mut self.guest(guest).running_scans;
        for (id, _, outcome) in outcomes {
            match outcome {
                Ok(Ok(results)) => {
                    answered += 1;
                    match results.status {
                        ScanStatus::Running => running.insert(id),
                        ScanStatus::Completed => running.remove(&id),
                    };
                    lists.push(results.bss);
                }
                Ok(Err(error)) => {
                    running.remove(&id);
                    tracing::warn!(interface = %id, %error, "interface scan failed; it contributes nothing");
                }
                Err(_) => {
                    running.remove(&id);
                    tracing::warn!(interface = %id, deadline = ?scan_deadline, "interface scan missed the deadline; it contributes nothing");
                }
            }
        }
        // Rule 6 (below): complete only if no interface is still running for this guest.
        let scan_complete = running.is_empty();
        let bss = merge_bss(lists);

        // Rule 5: tell the observer the scan completed; the response waits for it.
        let status = if answered > 0 || no_interface { OperationStatus::Succeeded } else { OperationStatus::Failed };
        let who = guest.clone();
        self.observer.call("on_guest_scan_completion", move |o| o.on_guest_scan_completion(&who, status)).await;

        tracing::debug!(
            %guest,
            operation = "scan",
            ssid = ssid.map(|s| s.to_string()).unwrap_or_default(),
            networks = bss.len(),
            scan_complete,
            "scan answered"
        );
        GuestBound::ScanResponse(ScanResponse { scan_complete, bss })
    }

    /// Rule 7: later results of an interface go as a scan-results notification to the
    /// guests with a scan pending on it, each marked complete once no interface is still
    /// running for that guest. Results nobody waits for (a host scan finished on its
    /// own) go to every guest: they spare the guests a scan.
    pub(crate) fn on_scan_results(&mut self, id: InterfaceId, results: ScanResults) {
        self.scan_throttle.refreshed(id, &results.bss);
        if self.guests.is_empty() {
            self.hub.counters().gated.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::debug!(interface = %id, "no guest has made a request yet; scan results dropped");
            return;
        }
        let pending: Vec<GuestId> =
            self.guests.iter().filter(|(_, s)| s.running_scans.contains(&id)).map(|(g, _)| g.clone()).collect();
        let recipients = if pending.is_empty() { self.guests.keys().cloned().collect() } else { pending };
        let bss = merge_bss([results.bss]);
        for guest in recipients {
            let state = self.guest(&guest);
            if results.status == ScanStatus::Completed {
                state.running_scans.remove(&id);
            }
            let scan_complete = state.running_scans.is_empty();
            tracing::debug!(%guest, interface = %id, networks = bss.len(), scan_complete, "scan results for the guest");
            state.notifications.push(GuestBound::ScanResponse(ScanResponse { scan_complete, bss: bss.clone() }));
        }
    }
}
