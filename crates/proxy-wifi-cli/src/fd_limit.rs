//! The open-files limit: every guest request and notification is a socket.

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (Unix): the service keeps request
/// connections within what the soft limit leaves after its fd reserve, and a common
/// default soft limit of 1024 would cut its connection cap down.
pub fn raise_to_hard_limit() {
    #[cfg(unix)]
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open files limit (RLIMIT_NOFILE) raised to its hard limit"),
        Err(error) => tracing::warn!(%error, "cannot raise the open files limit (RLIMIT_NOFILE)"),
    }
}
