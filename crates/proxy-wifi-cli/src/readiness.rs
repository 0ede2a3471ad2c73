//! Tells systemd (`Type=notify` units) when `serve` is ready and when it stops. Outside
//! such a unit (no `NOTIFY_SOCKET`) and off Linux this does nothing.

/// The service listens and its control socket is open; `status` is shown by
/// `systemctl status`.
pub fn ready(status: &str) {
    #[cfg(target_os = "linux")]
    notify(&[sd_notify::NotifyState::Ready, sd_notify::NotifyState::Status(status)]);
    #[cfg(not(target_os = "linux"))]
    let _ = status;
}

/// The service is shutting down.
pub fn stopping() {
    #[cfg(target_os = "linux")]
    notify(&[sd_notify::NotifyState::Stopping]);
}

#[cfg(target_os = "linux")]
fn notify(states: &[sd_notify::NotifyState]) {
    if let Err(error) = sd_notify::notify(states) {
        tracing::warn!(%error, "cannot notify systemd (NOTIFY_SOCKET)");
    }
}
