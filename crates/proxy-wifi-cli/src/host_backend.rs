//! Chooses the host Wi-Fi backend for `serve --mode host`.

use proxy_wifi::HostBackend;

use crate::cli::ServeArgs;

/// The backend for this platform and the flags, or why there is none.
#[cfg(not(any(target_os = "linux", windows)))]
pub fn create(_args: &ServeArgs) -> Result<Box<dyn HostBackend>, String> {
    Err("no host Wi-Fi backend exists for this platform".into())
}

/// The Windows WLAN service backend (without the service, it logs why and the
/// fake networks are served).
#[cfg(windows)]
pub fn create(_args: &ServeArgs) -> Result<Box<dyn HostBackend>, String> {
    Ok(Box::new(proxy_wifi::WlanBackend::open()))
}

/// NetworkManager or wpa_supplicant, as `--backend` asks (auto: NetworkManager when its
/// D-Bus name is present, otherwise wpa_supplicant's control sockets).
#[cfg(target_os = "linux")]
pub fn create(args: &ServeArgs) -> Result<Box<dyn HostBackend>, String> {
    use proxy_wifi::{BackendChoice, select_backend};

    use crate::cli::BackendArg;
    let choice = match args.backend {
        BackendArg::Auto => BackendChoice::Auto,
        BackendArg::WpaSupplicant => BackendChoice::WpaSupplicant { ctrl_dir: args.wpa_ctrl_dir.clone() },
        BackendArg::Networkmanager => BackendChoice::NetworkManager,
    };
    select_backend(choice).map_err(|e| e.to_string())
}
