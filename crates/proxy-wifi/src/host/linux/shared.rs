//! What both Linux backends share: stable interface ids, the outlet of an interface's
//! events, and a way to run a probe to completion from any caller.

use std::sync::OnceLock;
use std::time::Duration;

use uuid::Uuid;

use crate::interface::{ConnectedNetwork, EventSink, InterfaceError, InterfaceEvent, InterfaceId};

/// Runs an interface operation on its own task: if the handler gives up waiting, the
/// operation (and the cleanup it does on failure) still completes.
pub async fn on_own_task<T: Send + 'static>(
    what: &str,
    operation: impl Future<Output = Result<T, InterfaceError>> + Send + 'static,
) -> Result<T, InterfaceError> {
    tokio::spawn(operation).await.map_err(|e| InterfaceError::Backend(format!("{what} task failed: {e}")))?
}

/// Where a host interface's events go, once the handler attached it.
#[derive(Debug, Default)]
pub struct EventOutlet(OnceLock<EventSink>);

impl EventOutlet {
    /// Sends `event`; dropped before the interface is attached.
    pub fn emit(&self, event: InterfaceEvent) {
        if let Some(sink) = self.0.get() {
            sink.send(event);
        }
    }

    /// Takes the handler's sink (the first one only). Rule (behavior.md "Interface
    /// arrival"): an interface added while the host is `connected` reports that connection.
    pub fn attach(&self, sink: EventSink, connected: Option<ConnectedNetwork>) {
        if self.0.set(sink).is_ok() {
            if let Some(network) = connected {
                self.emit(InterfaceEvent::HostConnected(network));
            }
        }
    }
}

/// A stable interface id for interface `name` of backend `kind` (the same across
/// restarts, different between backends): a UUID (version 8) from two FNV-1a hashes.
pub fn stable_interface_id(kind: &str, name: &str) -> InterfaceId {
    let hash = |seed: u64| {
        let mut h = seed;
        for b in kind.bytes().chain([0]).chain(name.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h
    };
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&hash(0xcbf2_9ce4_8422_2325).to_be_bytes());
    bytes[8..].copy_from_slice(&hash(0x8422_2325_cbf2_9ce4).to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    InterfaceId(Uuid::from_bytes(bytes))
}

/// Runs `future` to completion on a fresh current-thread runtime on its own thread,
/// giving up after `limit`; usable from synchronous and asynchronous callers alike.
pub fn run_detached<T: Send + 'static>(
    limit: Duration,
    future: impl std::future::Future<Output = T> + Send + 'static,
) -> Option<T> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("proxy-wifi-probe".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            if let Ok(runtime) = runtime {
                let _ = sender.send(runtime.block_on(future));
            }
        })
        .ok()?;
    receiver.recv_timeout(limit).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxy_wifi_protocol::{Bssid, Ssid};

    #[test]
    fn an_interface_attached_while_connected_reports_it_once() {
        let outlet = EventOutlet::default();
        outlet.emit(InterfaceEvent::SignalQuality { percent: 50 }); // before attach: dropped
        let network = ConnectedNetwork {
            ssid: Ssid::new(b"home").unwrap(),
            bssid: Bssid([2, 0, 0, 0, 0, 1]),
            auth: crate::interface::AuthAlgorithm::Wpa2Psk,
        };
        let (sink, mut events) = EventSink::channel(InterfaceId::FAKE_NETWORKS);
        outlet.attach(sink.clone(), Some(network));
        outlet.attach(sink, Some(network)); // a second attach is ignored
        assert_eq!(events.try_recv().unwrap().1, InterfaceEvent::HostConnected(network));
        assert!(events.try_recv().is_err());
    }

    #[test]
    fn interface_ids_are_stable_and_distinct() {
        let a = stable_interface_id("wpa_supplicant", "wlan0");
        assert_eq!(a, stable_interface_id("wpa_supplicant", "wlan0"));
        assert_ne!(a, stable_interface_id("wpa_supplicant", "wlan1"));
        assert_ne!(a, stable_interface_id("NetworkManager", "wlan0"));
        assert_eq!(a.0.get_version_num(), 8);
        assert_ne!(a, InterfaceId::FAKE_NETWORKS);
    }

    #[test]
    fn run_detached_works_inside_a_runtime() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let value = runtime.block_on(async { run_detached(Duration::from_secs(2), async { 7 }) });
        assert_eq!(value, Some(7));
    }
}
