//! Where the control socket lives by default, what its directory must be, and how the
//! service removes its socket (issue 25 items 7 and 11).
//!
//! * root: always `/run/proxy-wifi`, whatever `XDG_RUNTIME_DIR` says. A root service
//!   never puts its socket in a directory another user owns (`su` and `sudo -E` keep the
//!   user's `XDG_RUNTIME_DIR`), and `ctl` run as root looks there too.
//! * other users: `$XDG_RUNTIME_DIR/proxy-wifi`, else `/tmp/proxy-wifi-UID`.
//!
//! The service and its clients (`ctl`, the libvirt hook) hold the default directory to the
//! same rule, [`check_private`]: a real directory (not a symbolic link), owned by the user,
//! with no permission bits for group or others (0700). The service creates it 0700.
//!
//! At stop the service removes its socket through the descriptor of the directory it
//! made the socket in ([`PlacedSocket`]), never by path: whoever can rename that
//! directory, or one above it, cannot point the removal elsewhere.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use rustix::fd::OwnedFd;
use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, Stat};

/// Root's control socket directory.
pub const ROOT_DIR: &str = "/run/proxy-wifi";

/// The default directory of the control socket for the user `uid`: `/run/proxy-wifi`
/// for root (`runtime_dir` is not looked at), else `$XDG_RUNTIME_DIR/proxy-wifi`, else
/// `TMPDIR/proxy-wifi-UID`.
pub fn default_directory(uid: u32, runtime_dir: Option<OsString>) -> PathBuf {
    if uid == 0 {
        return PathBuf::from(ROOT_DIR);
    }
    match runtime_dir.filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("proxy-wifi"),
        None => std::env::temp_dir().join(format!("proxy-wifi-{uid}")),
    }
}

/// What a control socket directory must be, for the messages.
fn expected(owner: u32) -> String {
    format!("expected a directory (not a link) of uid {owner} with mode 0700 (no access for group or others)")
}

/// Checks, without following a link, that `dir` is a directory of `owner` with no
/// permission bits for group or others. A missing directory passes (connecting then
/// says that no service listens). The error names the path, what it is and what is
/// expected.
pub fn check_private(dir: &Path, owner: u32) -> Result<(), String> {
    let stat = match rustix::fs::statat(CWD, dir, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => stat,
        Err(rustix::io::Errno::NOENT) => return Ok(()),
        Err(e) => return Err(format!("control socket directory {}: cannot read it: {e}", dir.display())),
    };
    let mode = stat.st_mode & 0o7777;
    let problem = match FileType::from_raw_mode(stat.st_mode as _) {
        FileType::Directory if stat.st_uid != owner => format!("belongs to uid {} (mode {mode:04o})", stat.st_uid),
        FileType::Directory if mode & 0o077 != 0 => format!("has mode {mode:04o} (uid {})", stat.st_uid),
        FileType::Directory => return Ok(()),
        FileType::Symlink => format!("is a symbolic link (uid {})", stat.st_uid),
        _ => format!("is not a directory (uid {}, mode {mode:04o})", stat.st_uid),
    };
    Err(format!(
        "control socket directory {} {problem}; {}; refusing to use it (remove it, or name another place with \
         --control-socket PATH)",
        dir.display(),
        expected(owner)
    ))
}

/// A control socket the service made, with the descriptor of its directory: removed
/// through that descriptor when dropped, if the file there is still that socket.
pub struct PlacedSocket {
    dir: OwnedFd,
    name: OsString,
    /// The socket's own inode (`st_dev`, `st_ino`).
    stat: Stat,
}

/// Opens the directory of `path` without following a link at its last component.
pub fn open_parent(path: &Path) -> io::Result<(OwnedFd, OsString)> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a socket file path"))?
        .to_owned();
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let dir = rustix::fs::openat(CWD, parent, flags, Mode::empty())?;
    Ok((dir, name))
}

impl PlacedSocket {
    /// The socket `name` in `dir` (opened by [`open_parent`] before the socket was made):
    /// it must be a socket of this user, else its directory changed in between.
    pub fn find(dir: OwnedFd, name: OsString, path: &Path) -> Result<PlacedSocket, String> {
        let changed = || {
            format!(
                "control socket {}: its directory changed while the socket was made; refusing to use it",
                path.display()
            )
        };
        let stat = rustix::fs::statat(&dir, &name, AtFlags::SYMLINK_NOFOLLOW).map_err(|_| changed())?;
        let uid = rustix::process::geteuid().as_raw();
        if FileType::from_raw_mode(stat.st_mode as _) != FileType::Socket || stat.st_uid != uid {
            return Err(changed());
        }
        Ok(PlacedSocket { dir, name, stat })
    }
}

impl Drop for PlacedSocket {
    fn drop(&mut self) {
        let still_ours = rustix::fs::statat(&self.dir, &self.name, AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|s| (s.st_dev, s.st_ino) == (self.stat.st_dev, self.stat.st_ino));
        if still_ours {
            let _ = rustix::fs::unlinkat(&self.dir, &self.name, AtFlags::empty());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn root_always_uses_run_never_a_runtime_dir() {
        assert_eq!(default_directory(0, None), PathBuf::from("/run/proxy-wifi"));
        assert_eq!(default_directory(0, Some("".into())), PathBuf::from("/run/proxy-wifi"));
        assert_eq!(default_directory(0, Some("/run/user/1000".into())), PathBuf::from("/run/proxy-wifi"));
        assert_eq!(default_directory(1000, Some("/run/user/1000".into())), PathBuf::from("/run/user/1000/proxy-wifi"));
        assert_eq!(default_directory(1000, None), std::env::temp_dir().join("proxy-wifi-1000"));
    }

    #[test]
    fn a_control_directory_must_be_a_private_directory_of_its_user() {
        let tmp = tempfile::tempdir().unwrap();
        let uid = rustix::process::geteuid().as_raw();
        let dir = tmp.path().join("d");
        assert_eq!(check_private(&dir, uid), Ok(()), "missing: connecting says no service listens");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(check_private(&dir, uid), Ok(()));

        let text = dir.display().to_string();
        for (mode, shown) in [(0o777, "has mode 0777"), (0o750, "has mode 0750"), (0o704, "has mode 0704")] {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
            let error = check_private(&dir, uid).unwrap_err();
            assert!(error.contains(&text) && error.contains(shown) && error.contains("mode 0700"), "{error}");
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let error = check_private(&dir, uid + 1).unwrap_err();
        assert!(error.contains(&format!("belongs to uid {uid}")) && error.contains(&format!("of uid {}", uid + 1)));

        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        let error = check_private(&link, uid).unwrap_err();
        assert!(error.contains(&link.display().to_string()) && error.contains("is a symbolic link"), "{error}");
        let file = tmp.path().join("file");
        std::fs::write(&file, b"").unwrap();
        assert!(check_private(&file, uid).unwrap_err().contains("is not a directory"));
    }
}
