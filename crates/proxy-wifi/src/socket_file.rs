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
//!   nobody listens on. Every step goes through descriptors of the target's directory and
//!   of the staging directory (opened without following a link), never through a path
//!   the directory's owner could redirect between two steps; the final path is checked
//!   to be the socket made, with its mode and group. A directory this user does not own
//!   is refused unless [`SocketAccess::allow_foreign_parent`] (issue 25 item 2).

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

/// Who may connect to a socket made by [`bind_listener`], and where it may be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketAccess {
    /// The file mode (e.g. 0o600; 0o660 with a group).
    pub mode: u32,
    /// The group the socket file gets, if not this process's.
    pub group: Option<u32>,
    /// Whether the socket may be made in a directory this user does not own (a VMM's
    /// directory that belongs to the VMM's user). Off by default: such a directory is
    /// refused. Safe either way (every change is made through directory descriptors),
    /// but its owner can replace or remove the socket at will.
    pub allow_foreign_parent: bool,
}

impl SocketAccess {
    /// Only this user: mode 0600, in a directory of this user.
    pub const OWNER_ONLY: SocketAccess = SocketAccess { mode: 0o600, group: None, allow_foreign_parent: false };
}

fn errno(path: &Path, problem: &str) -> impl Fn(rustix::io::Errno) -> io::Error {
    move |e| refused(io::Error::from(e).kind(), path, format!("{problem}: {e}"))
}

/// Opens the directory `name` of `dir` without following a link at its last component.
fn open_dir(dir: impl rustix::fd::AsFd, name: impl rustix::path::Arg) -> rustix::io::Result<rustix::fd::OwnedFd> {
    use rustix::fs::OFlags;
    rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// Removes `name` of `parent` if it is this user's socket that nobody listens on (`path`
/// names it, for connecting and in errors). Nothing there: `Ok`. Anything else (another
/// user's socket, a live socket, a file, a link, a directory) is refused, with the path
/// and what it is.
fn remove_stale_socket(parent: &rustix::fd::OwnedFd, name: &std::ffi::OsStr, path: &Path) -> io::Result<()> {
    let stat = match rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => stat,
        Err(rustix::io::Errno::NOENT) => return Ok(()),
        Err(e) => return Err(refused(io::Error::from(e).kind(), path, e)),
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
    rustix::fs::unlinkat(parent, name, AtFlags::empty()).map_err(errno(path, "cannot remove the stale socket"))
}

/// A private staging directory in the target's directory, held open: every change in it
/// goes through its descriptor, so renaming it or putting a link in its place (the
/// parent's owner can) redirects nothing. Removed with what it holds when dropped, if
/// it is still in place.
struct StagingDir<'a> {
    parent: &'a rustix::fd::OwnedFd,
    name: String,
    dir: rustix::fd::OwnedFd,
    stat: Stat,
}

impl<'a> StagingDir<'a> {
    fn create(parent: &'a rustix::fd::OwnedFd, target: &Path) -> io::Result<StagingDir<'a>> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(".pw{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let cannot = |e: rustix::io::Errno| {
            refused(io::Error::from(e).kind(), target, format!("cannot create a socket next to it ({name}: {e})"))
        };
        rustix::fs::mkdirat(parent, &name, Mode::from_raw_mode(0o700)).map_err(cannot)?;
        let dir = open_dir(parent, &name).map_err(cannot)?;
        let stat = rustix::fs::fstat(&dir).map_err(cannot)?;
        // What was opened must be the private directory just made, not one put there since.
        if stat.st_uid != effective_uid() || stat.st_mode & 0o7777 != 0o700 {
            return Err(refused(
                io::ErrorKind::PermissionDenied,
                target,
                format!("the staging directory {name} was replaced by another user's; refusing to go on"),
            ));
        }
        Ok(StagingDir { parent, name, dir, stat })
    }
}

impl Drop for StagingDir<'_> {
    fn drop(&mut self) {
        let _ = rustix::fs::unlinkat(&self.dir, "s", AtFlags::empty());
        let still_ours = rustix::fs::statat(self.parent, &self.name, AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|s| (s.st_dev, s.st_ino) == (self.stat.st_dev, self.stat.st_ino));
        if still_ours {
            let _ = rustix::fs::unlinkat(self.parent, &self.name, AtFlags::REMOVEDIR);
        }
    }
}

/// Listens on the Unix socket `path`, created with `access` (mode and group) from its
/// first moment. A stale socket of this user is replaced; anything else at `path` is
/// refused (see the module documentation).
pub fn bind_listener(path: &Path, access: SocketAccess) -> io::Result<UnixListener> {
    bind_listener_as(path, access, effective_uid())
}

/// [`bind_listener`] for a service running as `service_uid` (tests stand for another user).
fn bind_listener_as(path: &Path, access: SocketAccess, service_uid: u32) -> io::Result<UnixListener> {
    let Some(name) = path.file_name() else {
        return Err(refused(io::ErrorKind::InvalidInput, path, "not a socket file path"));
    };
    let parent_path = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let parent = open_dir(CWD, parent_path).map_err(|e| match e {
        rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR => refused(
            io::ErrorKind::InvalidInput,
            path,
            format!(
                "its directory {} is a symbolic link or not a directory; refusing to use it",
                parent_path.display()
            ),
        ),
        e => refused(io::Error::from(e).kind(), path, format!("cannot open its directory: {e}")),
    })?;
    let parent_stat = rustix::fs::fstat(&parent).map_err(errno(path, "cannot read its directory"))?;
    if parent_stat.st_uid != service_uid && !access.allow_foreign_parent {
        return Err(refused(
            io::ErrorKind::PermissionDenied,
            path,
            format!(
                "its directory {} belongs to uid {}, not to this user (uid {service_uid}); refusing to make a socket \
                 there unless sockets in other users' directories are allowed",
                parent_path.display(),
                parent_stat.st_uid
            ),
        ));
    }
    remove_stale_socket(&parent, name, path)?;
    let staging = StagingDir::create(&parent, path)?;
    // Bound through the staging directory's descriptor (Linux: /proc/self/fd), never
    // through its name, which the parent's owner may have pointed elsewhere.
    let staged = if cfg!(target_os = "linux") {
        PathBuf::from(format!("/proc/self/fd/{}/s", std::os::fd::AsRawFd::as_raw_fd(&staging.dir)))
    } else {
        parent_path.join(&staging.name).join("s")
    };
    // Clients connect by the final path: it must fit in a Unix socket address too.
    if staged.as_os_str().as_bytes().len() >= 108 || path.as_os_str().as_bytes().len() >= 108 {
        return Err(refused(io::ErrorKind::InvalidInput, path, "the path is too long for a Unix socket"));
    }
    let listener =
        UnixListener::bind(&staged).map_err(|e| refused(e.kind(), path, format!("cannot create the socket: {e}")))?;
    // The socket must be in the staging directory (elsewhere, the name was redirected).
    let socket = rustix::fs::statat(&staging.dir, "s", AtFlags::SYMLINK_NOFOLLOW)
        .map_err(errno(path, "the socket is not where it was made; refusing to go on"))?;
    if FileType::from_raw_mode(socket.st_mode as _) != FileType::Socket {
        return Err(refused(
            io::ErrorKind::PermissionDenied,
            path,
            "the staged socket was replaced; refusing to go on",
        ));
    }
    // The staging directory is ours, private and held open: these cannot be redirected.
    if let Some(group) = access.group {
        rustix::fs::chownat(&staging.dir, "s", None, Some(Gid::from_raw(group)), AtFlags::SYMLINK_NOFOLLOW)
            .map_err(errno(path, &format!("cannot give the socket to group {group}")))?;
    }
    rustix::fs::chmodat(&staging.dir, "s", Mode::from_raw_mode(access.mode as _), AtFlags::empty())
        .map_err(errno(path, &format!("cannot set mode {:04o} on the socket", access.mode)))?;
    rustix::fs::linkat(&staging.dir, "s", &parent, name, AtFlags::empty()).map_err(|e| match e {
        rustix::io::Errno::EXIST => {
            refused(io::ErrorKind::AlreadyExists, path, "another file appeared there meanwhile; refusing to replace it")
        }
        e => refused(io::Error::from(e).kind(), path, format!("cannot create the socket: {e}")),
    })?;
    // What is at the final path now: our socket, with its mode and group.
    let placed = rustix::fs::statat(&parent, name, AtFlags::SYMLINK_NOFOLLOW)
        .map_err(errno(path, "the socket was removed as soon as it was made"))?;
    let expected_group = access.group.unwrap_or(placed.st_gid);
    if (placed.st_dev, placed.st_ino) != (socket.st_dev, socket.st_ino)
        || placed.st_uid != effective_uid()
        || placed.st_mode & 0o7777 != access.mode
        || placed.st_gid != expected_group
    {
        return Err(refused(
            io::ErrorKind::PermissionDenied,
            path,
            format!(
                "is not the socket made (uid {}, mode {:04o}) right after it was made there; refusing to use it",
                placed.st_uid,
                placed.st_mode & 0o7777
            ),
        ));
    }
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

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
        assert!(error.contains("symbolic link") && error.contains("refusing"), "{error}");
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
        let _again = bind_listener(&path, SocketAccess { mode: 0o660, ..SocketAccess::OWNER_ONLY })
            .expect("stale socket replaced");
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
        let _listener =
            bind_listener(&path, SocketAccess { mode: 0o660, group: Some(65534), allow_foreign_parent: false })
                .unwrap();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert_eq!((meta.gid(), meta.mode() & 0o777), (65534, 0o660));
    }

    /// Issue 25 item 2: the owner of the parent directory (the VMM user) swaps the staging
    /// directory for a link to another directory while sockets are made, over and over.
    /// Nothing outside the staging directory is ever changed or removed.
    #[test]
    fn a_staging_directory_swapped_for_a_link_never_redirects_a_change() {
        use std::sync::Arc;
        use std::sync::atomic::AtomicBool;
        let tmp = tempfile::tempdir().unwrap();
        let parent = tmp.path().join("vmm");
        std::fs::create_dir(&parent).unwrap();
        let victim = tmp.path().join("victim");
        std::fs::create_dir(&victim).unwrap();
        std::fs::write(victim.join("s"), b"secret").unwrap();
        std::fs::set_permissions(victim.join("s"), std::fs::Permissions::from_mode(0o644)).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let attacker = {
            let (parent, victim, stop) = (parent.clone(), victim.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut swaps = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    let Ok(entries) = std::fs::read_dir(&parent) else { continue };
                    for entry in entries.flatten() {
                        let name = entry.file_name();
                        let staging = parent.join(&name);
                        if !name.to_string_lossy().starts_with(".pw") || staging.is_symlink() {
                            continue;
                        }
                        if std::fs::rename(&staging, parent.join(format!("moved-{swaps}"))).is_ok() {
                            let _ = std::os::unix::fs::symlink(&victim, &staging);
                            swaps += 1;
                        }
                    }
                }
                swaps
            })
        };
        let started = std::time::Instant::now();
        let (mut made, mut refused) = (0, 0);
        for i in 0.. {
            if started.elapsed() > std::time::Duration::from_secs(3) && i > 200 {
                break;
            }
            let path = parent.join(format!("vm{i}.sock"));
            match bind_listener(&path, SocketAccess { mode: 0o660, ..SocketAccess::OWNER_ONLY }) {
                Ok(_listener) => {
                    made += 1;
                    let meta = std::fs::symlink_metadata(&path).unwrap();
                    assert!(meta.file_type().is_socket() && meta.mode() & 0o7777 == 0o660, "{meta:?}");
                }
                Err(_) => refused += 1,
            }
            let victim_file = std::fs::symlink_metadata(victim.join("s"));
            assert!(
                victim_file.as_ref().is_ok_and(|m| m.mode() & 0o7777 == 0o644),
                "after {i} sockets the victim was changed: {victim_file:?}"
            );
            assert_eq!(std::fs::read_dir(&victim).unwrap().count(), 1, "nothing was made in the victim directory");
        }
        stop.store(true, Ordering::Relaxed);
        let swaps = attacker.join().unwrap();
        eprintln!("{made} sockets made, {refused} refused, {swaps} swaps");
        assert!(made > 0);
    }

    /// Issue 25 item 2: a directory of another user is refused unless allowed, and the
    /// error names its owner.
    #[test]
    fn a_directory_of_another_user_is_refused_unless_allowed() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("vm.vsock_12345");
        let other = effective_uid() + 1;
        let error = bind_listener_as(&path, SocketAccess::OWNER_ONLY, other).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::PermissionDenied, "{error}");
        let text = error.to_string();
        assert!(text.contains(&format!("belongs to uid {}", effective_uid())) && text.contains("refusing"), "{text}");
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0, "nothing made");
        let allowed = SocketAccess { allow_foreign_parent: true, ..SocketAccess::OWNER_ONLY };
        let _listener = bind_listener_as(&path, allowed, other).unwrap();
        assert_eq!(mode_of(&path), 0o600);
        // A path no client could connect to is refused.
        let long = tmp.path().join("x".repeat(110));
        let error = bind_listener(&long, SocketAccess::OWNER_ONLY).unwrap_err();
        assert!(error.to_string().contains("too long"), "{error}");
    }
}
