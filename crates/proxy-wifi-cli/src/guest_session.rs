//! The session of the last `guest connect` to each host, remembered in
//! `$XDG_RUNTIME_DIR/proxy-wifi/guest-session-<host>` (a per-user directory; without
//! `XDG_RUNTIME_DIR` nothing is remembered), so that `guest disconnect N` can say which
//! session the host ended: under the protocol's rule, any id not older than the current
//! session ends the current one.
//!
//! Only a runtime directory of this user is used, and its `proxy-wifi` directory must be
//! a real directory of this user: root with another user's `XDG_RUNTIME_DIR` (`su`,
//! `sudo -E`) writes nothing there, so that user's links lead root nowhere (issue 25
//! item 7).

use std::path::{Path, PathBuf};

/// Where the session for the host at `endpoint` (`tcp:127.0.0.1:12345`) is kept, if
/// anywhere.
pub fn file_for(endpoint: &str) -> Option<PathBuf> {
    let runtime = PathBuf::from(std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty())?);
    if !is_own_directory(&runtime) {
        return None;
    }
    let name: String = endpoint.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    Some(runtime.join("proxy-wifi").join(format!("guest-session-{name}")))
}

/// Whether `dir` is a directory (not a link) of this user; elsewhere than Unix, whether
/// it is a directory.
fn is_own_directory(dir: &Path) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(dir) else { return false };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        meta.is_dir() && meta.uid() == rustix::process::geteuid().as_raw()
    }
    #[cfg(not(unix))]
    meta.is_dir()
}

/// Remembers `session` as the current one (best effort: a failure only loses the hint).
pub fn remember(file: &Path, session: u64) {
    if let Some(dir) = file.parent() {
        // 0700, as `serve` makes it: the control socket's default directory is the same.
        #[cfg_attr(not(unix), allow(unused_mut))]
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        let _ = builder.create(dir);
        if !is_own_directory(dir) {
            return;
        }
    }
    let _ = std::fs::write(file, session.to_string());
}

/// The remembered session, if any.
pub fn recall(file: &Path) -> Option<u64> {
    std::fs::read_to_string(file).ok()?.trim().parse().ok()
}

/// Forgets the session (it ended).
pub fn forget(file: &Path) {
    let _ = std::fs::remove_file(file);
}

/// What `guest disconnect asked` did, given the current session if it is known.
pub fn disconnect_text(asked: u64, current: Option<u64>) -> String {
    match current {
        Some(current) if asked == current => format!("disconnected (session {current})"),
        Some(current) if asked > current => format!(
            "disconnected: the host ended the current session {current} (the last `guest connect`); \
             session {asked} is newer, and a disconnect ends the current session unless its id is older"
        ),
        Some(current) => format!(
            "nothing ended: session {asked} is older than the current session {current} (the last `guest \
             connect`), and the host ignores a disconnect of an older session"
        ),
        None => format!(
            "disconnect answered: the host ended its current connection if session {asked} is that \
             connection's session or newer (an older id ends nothing; the host's `proxy-wifi ctl status` \
             shows the session)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_names_the_session_that_ended() {
        assert_eq!(disconnect_text(6, Some(6)), "disconnected (session 6)");
        let newer = disconnect_text(1234, Some(6));
        assert!(newer.contains("ended the current session 6") && newer.contains("1234 is newer"), "{newer}");
        let older = disconnect_text(3, Some(6));
        assert!(older.starts_with("nothing ended: session 3 is older than the current session 6"), "{older}");
        assert!(disconnect_text(9, None).contains("if session 9 is"));
    }

    #[test]
    fn a_session_is_remembered_forgotten_and_never_made_up() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("proxy-wifi").join("guest-session-x");
        assert_eq!(recall(&file), None);
        remember(&file, 6);
        assert_eq!(recall(&file), Some(6));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(file.parent().unwrap()).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "the directory is the control socket's default one too: serve wants it 0700");
        }
        forget(&file);
        assert_eq!(recall(&file), None);
    }
}
