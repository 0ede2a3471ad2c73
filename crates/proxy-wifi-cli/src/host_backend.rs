//! Chooses the host Wi-Fi backend for `serve --mode host`.

use proxy_wifi::host::HostBackend;

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
    Ok(Box::new(proxy_wifi::host::windows::WlanBackend::open()))
}

/// The backend for this platform and the flags, or why there is none.
#[cfg(target_os = "linux")]
pub fn create(_args: &ServeArgs) -> Result<Box<dyn HostBackend>, String> {
    Err("the host Wi-Fi backend is not wired yet".into())
}
