//! What both Linux backends share: stable interface ids, and a way to run a probe to
//! completion from any caller.

use std::time::Duration;

use uuid::Uuid;

use crate::interface::InterfaceId;

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
