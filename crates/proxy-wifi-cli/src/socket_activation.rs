//! systemd socket activation: the listeners a `.socket` unit passes (`LISTEN_FDS`,
//! `LISTEN_PID`, from descriptor 3 on). `proxy-wifi.socket` holds the guests' request port
//! (`ListenStream=vsock::12345`) from boot and across restarts, so no other local user can
//! bind it while the service is down.
//!
//! This module is the service's boundary with that descriptor-passing protocol: it turns
//! the numbers systemd names into owned descriptors, the one `unsafe` step.

use std::os::fd::{FromRawFd, OwnedFd};

use proxy_wifi::InheritedListener;

/// The request listener systemd passed, if any.
///
/// Errors: more than one descriptor (the units pass exactly one), or one that is not a
/// bound stream socket; each names what was found and what is expected.
pub fn request_listener() -> Result<Option<InheritedListener>, String> {
    let fds: Vec<_> = sd_notify::listen_fds_with_names()
        .map_err(|e| format!("socket activation: LISTEN_FDS/LISTEN_FDNAMES from systemd are not valid: {e}"))?
        .collect();
    let mut listeners = Vec::with_capacity(fds.len());
    for (fd, name) in fds {
        // SAFETY: systemd's protocol (sd_listen_fds(3)) hands this process the descriptors
        // 3 .. 3+LISTEN_FDS, checked against LISTEN_PID by listen_fds_with_names; nothing
        // else in the process owns them, and each is wrapped exactly once, here.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        let listener = InheritedListener::from_fd(owned)
            .map_err(|e| format!("socket activation: descriptor {fd} ({name}): {e}"))?;
        listeners.push(listener);
    }
    match listeners.len() {
        0 | 1 => Ok(listeners.pop()),
        n => Err(format!(
            "socket activation: systemd passed {n} listeners ({}); proxy-wifi serves one request listener: \
             give its .socket unit one ListenStream=",
            listeners.iter().map(InheritedListener::describe).collect::<Vec<_>>().join(", ")
        )),
    }
}
