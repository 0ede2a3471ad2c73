//! Chooses the host Wi-Fi backend for `serve --mode host`.

use proxy_wifi::host::HostBackend;

use crate::cli::ServeArgs;

/// The backend for this platform and the flags, or why there is none.
#[cfg(not(any(target_os = "linux", windows)))]
pub fn create(_args: &ServeArgs) -> Result<Box<dyn HostBackend>, String> {
    Err("no host Wi-Fi backend exists for this platform".into())
}

/// The backend for this platform and the flags, or why there is none.
#[cfg(any(target_os = "linux", windows))]
pub fn create(_args: &ServeArgs) -> Result<Box<dyn HostBackend>, String> {
    Err("the host Wi-Fi backend is not wired yet".into())
}
