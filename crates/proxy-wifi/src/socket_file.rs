//! Unix socket files made safely where other local users may have been first.
//!
//! A service running as root creates its sockets in places such as `/tmp`, `/run` or a
//! VMM's directory. Nothing here follows a symbolic link at the last component, changes
//! the mode of an existing file or unlinks anything but this user's own stale socket:
//!
//! * [`ensure_private_dir`] creates a directory 0700, or checks an existing one with
//!   `lstat` semantics: a real directory (not a link), owned by the expected user, not
//!   writable by group or others.
//! * [`bind_listener`] creates a listening socket that is born with its final mode and
//!   group: it is bound in a fresh private staging directory next to the target, given
//!   its mode there, and hard-linked into place (`link` never replaces an existing file).
//!   An existing file at the target is removed only when it is a socket of this user that
//!   nobody listens on.

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use rustix::fs::{AtFlags, CWD, FileType, Gid, Mode, Stat};

/// The effective user id of this process.
pub fn effective_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

fn lstat(path: &Path) -> io::Result<Stat> {
    rustix::fs::statat(CWD, path, AtFlags::SYMLINK_NOFOLLOW).map_err(io::Error::from)
}

fn kind_of(stat: &Stat) -> &'static str {
    match FileType::from_raw_mode(stat.st_mode as _) {
        FileType::Symlink => "a symbolic link",
        FileType::Directory => "a directory",
        FileType::RegularFile => "a regular file",
        FileType::Socket => "a socket",
        FileType::Fifo => "a FIFO",
        FileType::CharacterDevice | FileType::BlockDevice => "a device",
        FileType::Unknown => "a file of unknown type",
    }
}

fn refused(kind: io::ErrorKind, path: &Path, problem: impl std::fmt::Display) -> io::Error {
    io::Error::new(kind, format!("{}: {problem}", path.display()))
}

/// Makes sure `dir` is a directory only `owner` may change: creates it with mode 0700 if
/// it is missing (its parent must exist), otherwise checks, without following a link,
/// that it is a directory owned by `owner` that group and others cannot write to. Never
/// changes an existing directory; the error names the path and the problem.
pub fn ensure_private_dir(dir: &Path, owner: u32) -> io::Result<()> {
    match rustix::fs::mkdirat(CWD, dir, Mode::from_raw_mode(0o700)) {
        Ok(()) => return Ok(()),
        Err(rustix::io::Errno::EXIST) => {}
        Err(e) => return Err(refused(io::Error::from(e).kind(), dir, format!("cannot create the directory: {e}"))),
    }
    let stat = lstat(dir).map_err(|e| refused(e.kind(), dir, e))?;
    if FileType::from_raw_mode(stat.st_mode as _) != FileType::Directory {
        return Err(refused(
            io::ErrorKind::AlreadyExists,
            dir,
            format!("is {}, not a directory; refusing to use it (remove it, or choose another path)", kind_of(&stat)),
        ));
    }
    if stat.st_uid != owner {
        return Err(refused(
            io::ErrorKind::PermissionDenied,
            dir,
            format!(
                "the directory belongs to uid {}, not to this user (uid {owner}); refusing to use it (remove it, or choose another path)",
                stat.st_uid
            ),
        ));
    }
    let mode = stat.st_mode & 0o7777;
    if mode & 0o022 != 0 {
        return Err(refused(
            io::ErrorKind::PermissionDenied,
            dir,
            format!(
                "the directory has mode {mode:04o}: others may write to it; make it 0700 (chmod 700) or choose another path"
            ),
        ));
    }
    Ok(())
}

/// Who may connect to a socket made by [`bind_listener`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketAccess {
    /// The file mode (e.g. 0o600; 0o660 with a group).
    pub mode: u32,
    /// The group the socket file gets, if not this process's.
    pub group: Option<u32>,
}

impl SocketAccess {
    /// Only this user: mode 0600.
    pub const OWNER_ONLY: SocketAccess = SocketAccess { mode: 0o600, group: None };
}

/// Removes what is at `path` if it is this user's socket that nobody listens on. Nothing
/// there: `Ok`. Anything else (another user's socket, a live socket, a file, a link, a
/// directory) is refused, with the path and what it is.
fn remove_stale_socket(path: &Path) -> io::Result<()> {
    let stat = match lstat(path) {
        Ok(stat) => stat,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(refused(e.kind(), path, e)),
    };
    if FileType::from_raw_mode(stat.st_mode as _) != FileType::Socket {
        return Err(refused(
            io::ErrorKind::AlreadyExists,
            path,
            format!("is {}, not a socket left by an earlier run; refusing to replace it", kind_of(&stat)),
        ));
    }
    let uid = effective_uid();
    if stat.st_uid != uid {
        return Err(refused(
            io::ErrorKind::AlreadyExists,
            path,
            format!("is a socket of uid {}, not of this user (uid {uid}); refusing to replace it", stat.st_uid),
        ));
    }
    if UnixStream::connect(path).is_ok() {
        return Err(refused(io::ErrorKind::AddrInUse, path, "another process listens on this socket"));
    }
    rustix::fs::unlinkat(CWD, path, AtFlags::empty())
        .map_err(|e| refused(io::Error::from(e).kind(), path, format!("cannot remove the stale socket: {e}")))
}

/// A staging directory next to the target, removed with what it holds when dropped.
struct StagingDir(PathBuf);

impl StagingDir {
    fn create(next_to: &Path) -> io::Result<StagingDir> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let parent = match next_to.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = format!(".pw{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let dir = parent.join(name);
        rustix::fs::mkdirat(CWD, &dir, Mode::from_raw_mode(0o700)).map_err(|e| {
            refused(
                io::Error::from(e).kind(),
                next_to,
                format!("cannot create a socket next to it ({}: {e})", dir.display()),
            )
        })?;
        Ok(StagingDir(dir))
    }
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        let _ = rustix::fs::unlinkat(CWD, self.0.join("s"), AtFlags::empty());
        let _ = rustix::fs::unlinkat(CWD, &self.0, AtFlags::REMOVEDIR);
    }
}

/// Listens on the Unix socket `path`, created with `access` (mode and group) from its
/// first moment. A stale socket of this user is replaced; anything else at `path` is
/// refused (see the module documentation).
pub fn bind_listener(path: &Path, access: SocketAccess) -> io::Result<UnixListener> {
    if path.file_name().is_none() {
        return Err(refused(io::ErrorKind::InvalidInput, path, "not a socket file path"));
    }
    remove_stale_socket(path)?;
    let staging = StagingDir::create(path)?;
    let staged = staging.0.join("s");
    if staged.as_os_str().as_bytes().len() >= 108 {
        return Err(refused(io::ErrorKind::InvalidInput, path, "the path is too long for a Unix socket"));
    }
    let listener =
        UnixListener::bind(&staged).map_err(|e| refused(e.kind(), path, format!("cannot create the socket: {e}")))?;
    // The staging directory is ours and private: these calls cannot be redirected.
    if let Some(group) = access.group {
        rustix::fs::chownat(CWD, &staged, None, Some(Gid::from_raw(group)), AtFlags::SYMLINK_NOFOLLOW).map_err(
            |e| refused(io::Error::from(e).kind(), path, format!("cannot give the socket to group {group}: {e}")),
        )?;
    }
    rustix::fs::chmodat(CWD, &staged, Mode::from_raw_mode(access.mode as _), AtFlags::empty()).map_err(|e| {
        refused(io::Error::from(e).kind(), path, format!("cannot set mode {:04o} on the socket: {e}", access.mode))
    })?;
    rustix::fs::linkat(CWD, &staged, CWD, path, AtFlags::empty()).map_err(|e| match e {
        rustix::io::Errno::EXIST => {
            refused(io::ErrorKind::AlreadyExists, path, "another file appeared there meanwhile; refusing to replace it")
        }
        e => refused(io::Error::from(e).kind(), path, format!("cannot create the socket: {e}")),
    })?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    use super::*;

    fn mode_of(path: &Path) -> u32 {
        std::fs::symlink_metadata(path).unwrap().mode() & 0o7777
    }

    #[test]
    fn a_missing_directory_is_created_private() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("proxy-wifi");
        ensure_private_dir(&dir, effective_uid()).unwrap();
        assert_eq!(mode_of(&dir), 0o700);
        ensure_private_dir(&dir, effective_uid()).expect("an existing private directory of ours is fine");
    }

    #[test]
    fn a_link_to_another_directory_is_refused_and_that_directory_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let victim = tmp.path().join("victim");
        std::fs::create_dir(&victim).unwrap();
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(victim.join("control.sock"), b"precious").unwrap();
        let link = tmp.path().join("proxy-wifi-0");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let error = ensure_private_dir(&link, effective_uid()).unwrap_err().to_string();
        assert!(error.contains(&link.display().to_string()) && error.contains("symbolic link"), "{error}");
        assert_eq!(mode_of(&victim), 0o755, "the link's target keeps its mode");
        let error = bind_listener(&link.join("control.sock"), SocketAccess::OWNER_ONLY).unwrap_err().to_string();
        assert!(error.contains("regular file"), "{error}");
        assert_eq!(std::fs::read(victim.join("control.sock")).unwrap(), b"precious");
    }

    #[test]
    fn a_directory_of_another_user_or_open_to_others_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("proxy-wifi-0");
        std::fs::create_dir(&dir).unwrap();
        let other = effective_uid() + 1;
        let error = ensure_private_dir(&dir, other).unwrap_err().to_string();
        assert!(error.contains(&dir.display().to_string()), "{error}");
        assert!(error.contains(&format!("belongs to uid {}", effective_uid())), "{error}");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let error = ensure_private_dir(&dir, effective_uid()).unwrap_err().to_string();
        assert!(error.contains("mode 0777"), "{error}");
        assert_eq!(mode_of(&dir), 0o777, "an existing directory is never changed");
    }

    #[test]
    fn the_socket_is_born_with_its_mode_and_replaces_only_a_stale_socket_of_ours() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("vm.vsock_12345");
        let listener = bind_listener(&path, SocketAccess::OWNER_ONLY).unwrap();
        assert_eq!(mode_of(&path), 0o600);
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1, "no staging directory left behind");
        UnixStream::connect(&path).expect("the socket listens at its final path");
        let error = bind_listener(&path, SocketAccess::OWNER_ONLY).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse, "{error}");
        drop(listener);
        let _again = bind_listener(&path, SocketAccess { mode: 0o660, group: None }).expect("stale socket replaced");
        assert_eq!(mode_of(&path), 0o660);

        let file = tmp.path().join("file_12345");
        std::fs::write(&file, b"data").unwrap();
        let error = bind_listener(&file, SocketAccess::OWNER_ONLY).unwrap_err().to_string();
        assert!(error.contains("regular file") && error.contains("refusing"), "{error}");
        assert_eq!(std::fs::read(&file).unwrap(), b"data");
        let link = tmp.path().join("link_12345");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let error = bind_listener(&link, SocketAccess::OWNER_ONLY).unwrap_err().to_string();
        assert!(error.contains("symbolic link"), "{error}");
    }

    #[test]
    fn the_socket_gets_the_configured_group() {
        if effective_uid() != 0 {
            eprintln!("skipped: giving a file to another group needs root");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("grouped.sock");
        let _listener = bind_listener(&path, SocketAccess { mode: 0o660, group: Some(65534) }).unwrap();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert_eq!((meta.gid(), meta.mode() & 0o777), (65534, 0o660));
    }
}
