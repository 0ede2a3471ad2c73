//! Linux host Wi-Fi backends: wpa_supplicant (control sockets) and NetworkManager (D-Bus).
//!
//! The entry point is [`select_backend`]: it returns the backend to hand to
//! [`ServiceBuilder::host_backend`](crate::ServiceBuilder::host_backend).
//!
//! ```no_run
//! use proxy_wifi::{select_backend, BackendChoice};
//! use proxy_wifi::{Service, TransportSettings};
//!
//! // Host mode over TCP: loopback only, and only when asked for (vsock needs nothing).
//! let mut builder = Service::builder(TransportSettings::tcp_loopback()).allow_tcp_host_mode(true);
//! match select_backend(BackendChoice::Auto) {
//!     Ok(backend) => builder = builder.host_backend(backend),
//!     Err(error) => eprintln!("no host Wi-Fi: {error}; serving the fake networks only"),
//! }
//! let service = builder.start().expect("service started");
//! # drop(service);
//! ```
//!
//! * **wpa_supplicant** ([`wpa::WpaSupplicantBackend`]): for hosts where wpa_supplicant
//!   runs with a control interface (`ctrl_interface=/run/wpa_supplicant`). Needs access
//!   to the sockets: root, or the group named in `ctrl_interface_group` (usually `netdev`).
//! * **NetworkManager** ([`nm::NetworkManagerBackend`]): for desktops and laptops, where
//!   NetworkManager owns wpa_supplicant. Scans, connections and disconnections are
//!   subject to NetworkManager's polkit rules (a local active session, `netdev`
//!   membership or root usually suffice).
//!
//! Both show the guest a BSS it could not join itself (WEP, WPA1, enterprise, OWE, ...)
//! with a made-up WPA2-PSK RSN element, so it can still mirror a host connection to it
//! (`crate::interface::guest_view`).

pub mod nm;
pub mod shared;
pub mod wpa;

use std::path::{Path, PathBuf};

use crate::host::HostBackend;

/// Which Linux backend to use.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// NetworkManager when its D-Bus name is on the system bus, otherwise wpa_supplicant
    /// control sockets in `/run/wpa_supplicant` or `/var/run/wpa_supplicant`.
    #[default]
    Auto,
    /// wpa_supplicant's control sockets in `ctrl_dir` (default: the first of
    /// `/run/wpa_supplicant` and `/var/run/wpa_supplicant` that exists).
    WpaSupplicant {
        /// The control directory (`ctrl_interface=` of wpa_supplicant.conf).
        ctrl_dir: Option<PathBuf>,
    },
    /// NetworkManager over the D-Bus system bus.
    NetworkManager,
}

/// Why no backend could be selected. The service can still run with fake networks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// Auto found neither NetworkManager nor a wpa_supplicant control directory.
    #[error(
        "no Linux Wi-Fi service found: NetworkManager ({nm_name}) is not on the D-Bus system bus ({nm_detail}) \
         and there is no wpa_supplicant control directory ({dirs})"
    )]
    NothingFound {
        /// The D-Bus name looked for.
        nm_name: &'static str,
        /// Why NetworkManager was not found.
        nm_detail: String,
        /// The directories looked at.
        dirs: String,
    },
    /// NetworkManager was asked for but is not there.
    #[error("NetworkManager ({nm_name}) is not available on the D-Bus system bus: {detail}")]
    NetworkManagerAbsent {
        /// The D-Bus name looked for.
        nm_name: &'static str,
        /// What failed.
        detail: String,
    },
    /// wpa_supplicant was asked for but its control directory does not exist.
    #[error("no wpa_supplicant control directory at {dirs} (is wpa_supplicant running with ctrl_interface=...?)")]
    CtrlDirMissing {
        /// The directories looked at.
        dirs: String,
    },
}

/// Picks the host backend for a Linux host; the public entry point of this module.
///
/// * [`BackendChoice::Auto`]: NetworkManager when `org.freedesktop.NetworkManager` has
///   an owner on the system bus; otherwise wpa_supplicant with the first existing
///   directory of `/run/wpa_supplicant` and `/var/run/wpa_supplicant` (sockets that
///   appear there later are picked up); otherwise [`BackendError::NothingFound`].
/// * [`BackendChoice::WpaSupplicant`]: that directory (or the default ones), which must
///   exist.
/// * [`BackendChoice::NetworkManager`]: NetworkManager, which must be on the bus.
///
/// Blocks for at most a couple of seconds (the D-Bus check runs on its own thread, so
/// this may be called from synchronous code or from inside a tokio runtime).
pub fn select_backend(choice: BackendChoice) -> Result<Box<dyn HostBackend>, BackendError> {
    let default_dirs = [Path::new(wpa::DEFAULT_CTRL_DIR), Path::new(wpa::LEGACY_CTRL_DIR)];
    let describe = |dirs: &[&Path]| dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ");
    let existing_default = || default_dirs.iter().find(|d| d.is_dir()).map(|d| d.to_path_buf());
    match choice {
        BackendChoice::Auto => match nm::network_manager_present() {
            Ok(()) => {
                tracing::info!("NetworkManager is on the system bus: using the NetworkManager backend");
                Ok(Box::new(nm::NetworkManagerBackend::new()))
            }
            Err(nm_detail) => match existing_default() {
                Some(dir) => {
                    tracing::info!(ctrl_dir = %dir.display(), reason = %nm_detail,
                        "NetworkManager not found: using the wpa_supplicant backend");
                    Ok(Box::new(wpa::WpaSupplicantBackend::new(dir)))
                }
                None => Err(BackendError::NothingFound {
                    nm_name: nm::NM_BUS_NAME,
                    nm_detail,
                    dirs: describe(&default_dirs),
                }),
            },
        },
        BackendChoice::WpaSupplicant { ctrl_dir: Some(dir) } => {
            if dir.is_dir() {
                Ok(Box::new(wpa::WpaSupplicantBackend::new(dir)))
            } else {
                Err(BackendError::CtrlDirMissing { dirs: dir.display().to_string() })
            }
        }
        BackendChoice::WpaSupplicant { ctrl_dir: None } => match existing_default() {
            Some(dir) => Ok(Box::new(wpa::WpaSupplicantBackend::new(dir))),
            None => Err(BackendError::CtrlDirMissing { dirs: describe(&default_dirs) }),
        },
        BackendChoice::NetworkManager => match nm::network_manager_present() {
            Ok(()) => Ok(Box::new(nm::NetworkManagerBackend::new())),
            Err(detail) => Err(BackendError::NetworkManagerAbsent { nm_name: nm::NM_BUS_NAME, detail }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forced_wpa_supplicant_needs_its_directory() {
        let missing = BackendChoice::WpaSupplicant { ctrl_dir: Some("/nonexistent/wpa".into()) };
        let error = select_backend(missing).err().unwrap();
        assert!(error.to_string().contains("/nonexistent/wpa"), "{error}");
        let dir = std::env::temp_dir();
        let backend = select_backend(BackendChoice::WpaSupplicant { ctrl_dir: Some(dir) }).ok().unwrap();
        assert_eq!(backend.name(), "wpa_supplicant");
    }
}
