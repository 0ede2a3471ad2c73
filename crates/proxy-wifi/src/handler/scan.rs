//! Scan rules (behavior.md "Requests / Scan").

use std::collections::HashSet;

use futures::future::join_all;
use proxy_wifi_protocol::{
    BSS_ENTRY_LEN, BssEntry, Bssid, MAX_SCAN_RESPONSE_BODY_LEN, Message, SCAN_RESPONSE_FIXED_LEN, ScanRequest,
    ScanResponse,
};
use tokio::time::{Instant, timeout_at};

use super::OperationHandler;
use crate::interface::ScanStatus;
use crate::observer::OperationStatus;

/// Merges BSS lists in order: the first occurrence of a BSSID wins (rule 4), and the
/// result never exceeds what a guest can read (16 MiB body).
pub(crate) fn merge_bss(lists: impl IntoIterator<Item = Vec<BssEntry>>) -> Vec<BssEntry> {
    let mut seen: HashSet<Bssid> = HashSet::new();
    let mut merged = Vec::new();
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
    pub(crate) async fn scan(&mut self, request: ScanRequest) -> Message {
        // Rule 1: tell the observer; the scan waits for the callback.
        self.observer.call("on_guest_scan_request", |o| o.on_guest_scan_request()).await;

        // Rule 2: all interfaces concurrently, targeted when an SSID is named, until a
        // shared deadline; a late or failing interface contributes nothing.
        let deadline = Instant::now() + self.timeouts.scan;
        let ssid = request.ssid;
        let scans = self.interfaces.iter().map(|interface| {
            let interface = interface.clone();
            async move { (interface.id(), timeout_at(deadline, interface.scan(ssid)).await) }
        });
        let outcomes = join_all(scans).await;

        // Rule 3: remember interfaces still running. Rule 4: merge, fake networks first
        // (the interface list keeps them first).
        let mut lists = Vec::with_capacity(outcomes.len());
        let mut answered = 0usize;
        for (id, outcome) in outcomes {
            match outcome {
                Ok(Ok(results)) => {
                    answered += 1;
                    match results.status {
                        ScanStatus::Running => self.running_scans.insert(id),
                        ScanStatus::Completed => self.running_scans.remove(&id),
                    };
                    lists.push(results.bss);
                }
                Ok(Err(error)) => {
                    self.running_scans.remove(&id);
                    tracing::warn!(interface = %id, %error, "interface scan failed; it contributes nothing");
                }
                Err(_) => {
                    self.running_scans.remove(&id);
                    tracing::warn!(interface = %id, "interface scan missed the 10 s deadline; it contributes nothing");
                }
            }
        }
        let bss = merge_bss(lists);

        // Rule 5: tell the observer the scan completed; the response waits for it.
        let status = if answered > 0 || self.interfaces.is_empty() {
            OperationStatus::Succeeded
        } else {
            OperationStatus::Failed
        };
        self.observer.call("on_guest_scan_completion", move |o| o.on_guest_scan_completion(status)).await;

        // Rule 6: complete only if no interface is still running.
        let scan_complete = self.running_scans.is_empty();
        tracing::info!(
            operation = "scan",
            ssid = ssid.map(|s| s.to_string()).unwrap_or_default(),
            networks = bss.len(),
            scan_complete,
            "scan answered"
        );
        Message::ScanResponse(ScanResponse { scan_complete, bss })
    }

    /// Rule 7: later results of an interface go to the guest as a scan-results
    /// notification, complete once no interface is still running.
    pub(crate) fn on_scan_results(
        &mut self,
        id: crate::interface::InterfaceId,
        results: crate::interface::ScanResults,
    ) {
        match results.status {
            ScanStatus::Running => self.running_scans.insert(id),
            ScanStatus::Completed => self.running_scans.remove(&id),
        };
        let scan_complete = self.running_scans.is_empty();
        let bss = merge_bss([results.bss]);
        tracing::debug!(interface = %id, networks = bss.len(), scan_complete, "scan results for the guest");
        self.notifications.push(Message::ScanResponse(ScanResponse { scan_complete, bss }));
    }
}
