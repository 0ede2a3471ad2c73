//! Keeps guest keys out of core dumps and away from other processes of the same user
//! (issue 25 item 9): on Linux, `prctl(PR_SET_DUMPABLE, 0)`. The process then leaves no
//! core dump, cannot be ptraced by other processes of its user, and its `/proc/PID` files
//! belong to root. Elsewhere it does nothing.

/// Makes this process not dumpable; `who` names it in the warning if that fails.
pub fn forbid(who: &str) {
    #[cfg(target_os = "linux")]
    if let Err(error) = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable) {
        tracing::warn!(%error, "cannot keep the {who}'s memory out of core dumps (prctl PR_SET_DUMPABLE)");
    }
    #[cfg(not(target_os = "linux"))]
    let _ = who;
}
