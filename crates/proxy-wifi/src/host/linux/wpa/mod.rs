//! wpa_supplicant backend: one interface per control socket of a directory such as
//! `/run/wpa_supplicant`, found at start and followed as sockets appear and go.
//!
//! The directory is polled every second (a socket's identity is its name and inode, so
//! a restarted wpa_supplicant is picked up again). Sockets whose name is not a wireless
//! network interface (`p2p-dev-wlan0`, a global control socket, a wired 802.1X
//! supplicant) are ignored.

mod config_file;
pub mod ctrl;
pub mod interface;
pub mod parse;
mod reply;

use std::collections::HashMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::shared::stable_interface_id;
use crate::host::{HostBackend, InterfaceRegistry};
use crate::interface::InterfaceId;
use crate::limits::WPA_POLL_INTERVAL;
use ctrl::{CtrlSocket, EventSocket};
pub use interface::WpaInterface;

/// The usual control directory of wpa_supplicant.
pub const DEFAULT_CTRL_DIR: &str = "/run/wpa_supplicant";
/// The older spelling of it (a symbolic link on most systems).
pub const LEGACY_CTRL_DIR: &str = "/var/run/wpa_supplicant";
/// The wpa_supplicant backend. See the module documentation.
#[derive(Debug, Clone)]
pub struct WpaSupplicantBackend {
    ctrl_dir: PathBuf,
    wireless_only: bool,
}

impl WpaSupplicantBackend {
    /// A backend following the control sockets of `ctrl_dir`.
    pub fn new(ctrl_dir: impl Into<PathBuf>) -> Self {
        Self { ctrl_dir: ctrl_dir.into(), wireless_only: true }
    }

    /// Whether sockets not named after a wireless interface of `/sys/class/net` are
    /// ignored (default true; tests with a stand-in supplicant turn it off).
    #[cfg(test)]
    pub fn wireless_only(mut self, wireless_only: bool) -> Self {
        self.wireless_only = wireless_only;
        self
    }

    /// The interface id used for the interface `name` (stable across restarts).
    pub fn interface_id(name: &str) -> InterfaceId {
        stable_interface_id("wpa_supplicant", name)
    }
}

/// Whether `name` is a wireless network interface (or nothing can tell).
fn is_wireless(name: &str) -> bool {
    let net = Path::new("/sys/class/net");
    if !net.is_dir() {
        return true;
    }
    let device = net.join(name);
    device.join("wireless").exists() || device.join("phy80211").exists()
}

/// The control sockets of `dir`: (name, inode).
fn list_sockets(dir: &Path, wireless_only: bool) -> std::io::Result<Vec<(String, u64)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(metadata) = entry.metadata() else { continue };
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
        if !metadata.file_type().is_socket() || (wireless_only && !is_wireless(&name)) {
            continue;
        }
        found.push((name, metadata.ino()));
    }
    found.sort();
    Ok(found)
}

struct Followed {
    inode: u64,
    id: InterfaceId,
    stop: CancellationToken,
    monitor: JoinHandle<()>,
}

/// Opens the interface behind `dir/name`: a request socket (PING, STATUS) and an
/// attached event socket.
async fn open_interface(dir: &Path, name: &str) -> Result<(Arc<WpaInterface>, EventSocket), String> {
    let path = dir.join(name);
    let ctrl = CtrlSocket::open(&path).map_err(|e| e.to_string())?;
    let interface = WpaInterface::open(WpaSupplicantBackend::interface_id(name), name.to_owned(), ctrl)
        .await
        .map_err(|e| e.to_string())?;
    let monitor = CtrlSocket::open(&path).map_err(|e| e.to_string())?.attach().await.map_err(|e| e.to_string())?;
    Ok((Arc::new(interface), monitor))
}

#[async_trait]
impl HostBackend for WpaSupplicantBackend {
    fn name(&self) -> &str {
        "wpa_supplicant"
    }

    async fn run(self: Box<Self>, registry: InterfaceRegistry, shutdown: CancellationToken) {
        tracing::info!(ctrl_dir = %self.ctrl_dir.display(), "following wpa_supplicant control sockets");
        let mut followed: HashMap<String, Followed> = HashMap::new();
        // Sockets that could not be opened (name → inode), so the failure is logged once.
        let mut failed: HashMap<String, u64> = HashMap::new();
        let mut listing_failed = false;
        let mut tick = tokio::time::interval(WPA_POLL_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            let sockets = match list_sockets(&self.ctrl_dir, self.wireless_only) {
                Ok(sockets) => {
                    listing_failed = false;
                    sockets
                }
                Err(error) => {
                    if !listing_failed {
                        tracing::warn!(ctrl_dir = %self.ctrl_dir.display(), %error,
                            "cannot list the wpa_supplicant control directory; retrying every second");
                        listing_failed = true;
                    }
                    Vec::new()
                }
            };
            // Removals: gone, or replaced by a new socket (wpa_supplicant restarted).
            let gone: Vec<String> = followed
                .iter()
                .filter(|(name, f)| !sockets.iter().any(|(n, inode)| n == *name && *inode == f.inode))
                .map(|(name, _)| name.clone())
                .collect();
            for name in gone {
                if let Some(f) = followed.remove(&name) {
                    tracing::info!(interface = %name, "wpa_supplicant control socket gone; removing the interface");
                    f.stop.cancel();
                    let _ = tokio::time::timeout(crate::limits::MONITOR_STOP_ON_REMOVAL, f.monitor).await;
                    registry.remove(f.id).await;
                }
            }
            failed.retain(|name, inode| sockets.iter().any(|(n, i)| n == name && i == inode));
            // Arrivals.
            for (name, inode) in sockets {
                if followed.contains_key(&name) || failed.get(&name) == Some(&inode) {
                    continue;
                }
                match open_interface(&self.ctrl_dir, &name).await {
                    Ok((interface, monitor_socket)) => {
                        let id = interface.id_for_registry();
                        let stop = shutdown.child_token();
                        let monitor = {
                            let interface = interface.clone();
                            let stop = stop.clone();
                            tokio::spawn(async move { interface.run_monitor(monitor_socket, stop).await })
                        };
                        tracing::info!(interface = %name, %id, "wpa_supplicant interface added");
                        registry.add(interface).await;
                        followed.insert(name, Followed { inode, id, stop, monitor });
                    }
                    Err(error) => {
                        tracing::warn!(interface = %name, %error,
                            "cannot use this wpa_supplicant control socket (permissions: root or the netdev group)");
                        failed.insert(name, inode);
                    }
                }
            }
        }
        // Shutdown: each monitor removes its temporary network before the service stops.
        for (_, f) in followed {
            f.stop.cancel();
            let _ = tokio::time::timeout(crate::limits::MONITOR_STOP_ON_SHUTDOWN, f.monitor).await;
        }
    }
}

impl WpaInterface {
    fn id_for_registry(&self) -> InterfaceId {
        crate::interface::WifiInterface::id(self)
    }
}

#[cfg(test)]
mod tests;
