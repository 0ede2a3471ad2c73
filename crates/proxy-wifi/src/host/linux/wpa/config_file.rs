//! The host's wpa_supplicant configuration file, kept free of the guest's connection.
//!
//! With `update_config=1`, `SAVE_CONFIG` (from `wpa_cli`, a GUI, any tool) writes every
//! network wpa_supplicant holds (2.10 has no way to mark one as not to be saved), so a save
//! during a guest connection writes the temporary network and the `disabled=1` that
//! `SELECT_NETWORK` gave the host's networks. A temporary network with a key carries
//! `mem_only_psk=1`, so its key is never written (parse.rs, `network_settings`). Every
//! temporary network carries `scan_ssid=1`, and that line marks it in the file: when the
//! file holds more such lines after the guest connection than before it, someone saved in
//! between, and the service saves once more from the restored state, leaving the file as
//! a save without the guest would have. (Not `mem_only_psk=1`: an open network cannot have
//! it, issue 25 item 6.)
//!
//! The file is found from the command line of the wpa_supplicant process serving the
//! interface (`-i IFACE ... -c FILE`, blocks separated by `-N`); an interface added at run
//! time (D-Bus, global control socket) has no file we can find, and is left alone.
//! wpa_supplicant 2.10 names the file on no control command, hence `/proc`. Only a process
//! run by root or by the control socket's owner is believed, and the file is read only if
//! it is a regular file of at most [`CONFIG_MAX_BYTES`], without following a link or
//! blocking, off the runtime and within [`CONFIG_READ_DEADLINE`] (issue 25 item 4).

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::limits::{WPA_CONFIG_MAX_BYTES as CONFIG_MAX_BYTES, WPA_CONFIG_READ_DEADLINE as CONFIG_READ_DEADLINE};

/// The line wpa_supplicant writes for a network with `scan_ssid=1`, as every temporary
/// network has.
const TEMPORARY_MARK: &str = "\tscan_ssid=1\n";

/// Options of wpa_supplicant that take a value (its getopt string).
const OPTIONS_WITH_VALUE: &str = "bcCDefgGiImoOpP";

/// The configuration file given to wpa_supplicant for `interface` on the command line
/// `args` (relative paths are resolved against `cwd`, as wpa_supplicant does at start).
fn config_in_command_line(args: &[String], interface: &str, cwd: Option<&Path>) -> Option<PathBuf> {
    let mut current: (Option<&str>, Option<&str>) = (None, None);
    let mut found = None;
    let mut finish = |(name, config): (Option<&str>, Option<&str>)| {
        if name == Some(interface) && found.is_none() {
            found = config.map(str::to_owned);
        }
    };
    let mut words = args.iter().skip(1);
    while let Some(word) = words.next() {
        let Some(flags) = word.strip_prefix('-').filter(|f| !f.is_empty() && !f.starts_with('-')) else { continue };
        for (at, flag) in flags.char_indices() {
            if flag == 'N' {
                finish(std::mem::take(&mut current));
                continue;
            }
            if !OPTIONS_WITH_VALUE.contains(flag) {
                continue;
            }
            let rest = &flags[at + flag.len_utf8()..];
            let value = if rest.is_empty() { words.next().map(String::as_str) } else { Some(rest) };
            match flag {
                'i' => current.0 = value,
                'c' => current.1 = value,
                _ => {}
            }
            break;
        }
    }
    finish(current);
    let path = PathBuf::from(found?);
    if path.is_absolute() { Some(path) } else { cwd.map(|cwd| cwd.join(path)) }
}

/// Where and whose wpa_supplicant processes are looked for.
#[derive(Debug, Clone)]
pub(crate) struct Lookup {
    /// The process table (`/proc`; a fake directory in tests).
    proc_root: PathBuf,
    /// The users a wpa_supplicant may run as (every uid of the process, real, effective,
    /// saved and file system, must be one of them): root, and the owner of the control
    /// socket. Another user's process could name any file as its configuration, which
    /// the service, as root, would then read (issue 25 item 4).
    owners: Vec<u32>,
}

impl Lookup {
    /// `/proc`, for a wpa_supplicant run by root or by the owner of `socket` (its control
    /// socket, which wpa_supplicant created).
    pub(crate) fn for_socket(socket: &Path) -> Lookup {
        let mut owners = vec![0];
        match std::fs::symlink_metadata(socket) {
            Ok(meta) if meta.uid() != 0 => owners.push(meta.uid()),
            Ok(_) => {}
            Err(error) => {
                tracing::debug!(socket = %socket.display(), %error, "cannot tell who owns the control socket")
            }
        }
        Lookup { proc_root: PathBuf::from("/proc"), owners }
    }

    /// `proc_root` as the process table, for processes run by `owners` only.
    #[cfg(test)]
    pub(crate) fn new(proc_root: impl Into<PathBuf>, owners: Vec<u32>) -> Lookup {
        Lookup { proc_root: proc_root.into(), owners }
    }
}

/// The uids (real, effective, saved, file system) of a `/proc/PID/status`.
fn process_uids(status: &str) -> Option<Vec<u32>> {
    let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    let uids: Vec<u32> = line.split_whitespace().map(str::parse).collect::<Result<_, _>>().ok()?;
    (uids.len() == 4).then_some(uids)
}

/// The configuration file of the wpa_supplicant process serving `interface`, if one run
/// by an accepted user can be found in the process table (blocking: reads `/proc`).
fn find_blocking(lookup: &Lookup, interface: &str) -> Option<PathBuf> {
    let processes = std::fs::read_dir(&lookup.proc_root).ok()?;
    for process in processes.flatten() {
        let dir = process.path();
        let is_supplicant =
            std::fs::read_to_string(dir.join("comm")).is_ok_and(|comm| comm.trim_end() == "wpa_supplicant");
        if !is_supplicant {
            continue;
        }
        let Ok(raw) = std::fs::read(dir.join("cmdline")) else { continue };
        let args: Vec<String> =
            raw.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        let cwd = std::fs::read_link(dir.join("cwd")).ok();
        let Some(path) = config_in_command_line(&args, interface, cwd.as_deref()) else { continue };
        let uids = std::fs::read_to_string(dir.join("status")).ok().and_then(|s| process_uids(&s));
        match uids {
            Some(uids) if uids.iter().all(|uid| lookup.owners.contains(uid)) => return Some(path),
            _ => {
                tracing::warn!(interface, process = %dir.display(), ?uids, accepted = ?lookup.owners, file = %path.display(),
                "ignoring a wpa_supplicant run by another user: its configuration file is not read")
            }
        }
    }
    None
}

/// The configuration file of the wpa_supplicant process serving `interface`, if one can
/// be found (see [`Lookup`]); `/proc` is read off the runtime, within [`CONFIG_READ_DEADLINE`].
pub(crate) async fn find(lookup: Lookup, interface: String) -> Option<PathBuf> {
    let task = tokio::task::spawn_blocking(move || find_blocking(&lookup, &interface));
    match tokio::time::timeout(CONFIG_READ_DEADLINE, task).await {
        Ok(Ok(found)) => found,
        Ok(Err(_)) => None,
        Err(_) => {
            tracing::warn!(
                "looking for wpa_supplicant's configuration file in /proc took over {CONFIG_READ_DEADLINE:?}; not used"
            );
            None
        }
    }
}

/// Reads the configuration file at `path`: a regular file (not a link, FIFO, device...) of
/// at most [`CONFIG_MAX_BYTES`], opened without following a link and without blocking.
fn read_blocking(path: &Path) -> Result<String, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let shown = path.display();
    let check = |meta: &std::fs::Metadata| {
        let kind = meta.file_type();
        let what = if kind.is_symlink() {
            "a symbolic link (not followed)"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_char_device() {
            "a character device"
        } else if kind.is_block_device() {
            "a block device"
        } else if kind.is_socket() {
            "a socket"
        } else if kind.is_dir() {
            "a directory"
        } else if kind.is_file() {
            if meta.len() > CONFIG_MAX_BYTES {
                return Err(format!(
                    "{shown} holds {} bytes, more than the {CONFIG_MAX_BYTES} read at most",
                    meta.len()
                ));
            }
            return Ok(());
        } else {
            "not a regular file"
        };
        Err(format!("{shown} is {what}, not a regular file; not read"))
    };
    let before = std::fs::symlink_metadata(path).map_err(|e| format!("{shown}: {e}"))?;
    check(&before)?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| format!("{shown}: {e} (opened without following a link)"))?;
    let opened = file.metadata().map_err(|e| format!("{shown}: {e}"))?;
    check(&opened)?;
    if (opened.dev(), opened.ino()) != (before.dev(), before.ino()) {
        return Err(format!("{shown} was replaced while being opened; not read"));
    }
    let mut raw = Vec::new();
    file.take(CONFIG_MAX_BYTES + 1).read_to_end(&mut raw).map_err(|e| format!("{shown}: {e}"))?;
    if raw.len() as u64 > CONFIG_MAX_BYTES {
        return Err(format!("{shown} grew past the {CONFIG_MAX_BYTES} bytes read at most"));
    }
    Ok(String::from_utf8_lossy(&raw).into_owned())
}

/// [`read_blocking`] off the runtime, within [`CONFIG_READ_DEADLINE`].
pub(crate) async fn read(path: &Path) -> Result<String, String> {
    let owned = path.to_owned();
    let task = tokio::task::spawn_blocking(move || read_blocking(&owned));
    match tokio::time::timeout(CONFIG_READ_DEADLINE, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(error)) => Err(format!("{}: {error}", path.display())),
        Err(_) => Err(format!("{}: not read within {CONFIG_READ_DEADLINE:?}", path.display())),
    }
}

/// The configuration file as it was before a guest connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Snapshot {
    path: PathBuf,
    marks: usize,
}

impl Snapshot {
    /// Reads `path` now (see [`read`]); the reason when it cannot be read.
    pub(crate) async fn take(path: &Path) -> Result<Snapshot, String> {
        let text = read(path).await?;
        Ok(Snapshot { path: path.to_owned(), marks: text.matches(TEMPORARY_MARK).count() })
    }

    /// Whether the file was saved with a temporary network in it since the snapshot.
    pub(crate) async fn saved_with_temporary_network(&self) -> bool {
        match read(&self.path).await {
            Ok(text) => text.matches(TEMPORARY_MARK).count() > self.marks,
            Err(reason) => {
                tracing::debug!(%reason, "cannot read wpa_supplicant's configuration file again");
                false
            }
        }
    }

    /// The file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn the_config_of_an_interface_from_the_command_line() {
        let find = |line: &str, interface| config_in_command_line(&args(line), interface, Some(Path::new("/root")));
        // systemd's wpa_supplicant@.service, ifupdown, a hand start with clustered flags.
        let unit = "/sbin/wpa_supplicant -c/etc/wpa_supplicant/wpa_supplicant-wlan0.conf -Dnl80211,wext -iwlan0";
        assert_eq!(find(unit, "wlan0"), Some(PathBuf::from("/etc/wpa_supplicant/wpa_supplicant-wlan0.conf")));
        assert_eq!(find(unit, "wlan1"), None);
        let lab = "wpa_supplicant -B -i wlan2 -c /tmp/wpas.conf -f /var/log/wpas.log";
        assert_eq!(find(lab, "wlan2"), Some(PathBuf::from("/tmp/wpas.conf")));
        assert_eq!(find("wpa_supplicant -Bc /etc/w.conf -iwlan0", "wlan0"), Some(PathBuf::from("/etc/w.conf")));
        // One block per interface after -N; a relative path is the process's directory's.
        let two = "wpa_supplicant -i wlan0 -c a.conf -N -i wlan1 -c /etc/b.conf -D nl80211";
        assert_eq!(find(two, "wlan0"), Some(PathBuf::from("/root/a.conf")));
        assert_eq!(find(two, "wlan1"), Some(PathBuf::from("/etc/b.conf")));
        // D-Bus only: no file.
        assert_eq!(find("/sbin/wpa_supplicant -u -s -O /run/wpa_supplicant", "wlan0"), None);
        assert_eq!(config_in_command_line(&args("wpa_supplicant -i w0 -c rel.conf"), "w0", None), None);
    }

    #[tokio::test]
    async fn a_save_with_a_temporary_network_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wpas.conf");
        // The host's own hidden network has the mark too: it is the count that tells.
        let host = "update_config=1\n\nnetwork={\n\tssid=\"home\"\n\tscan_ssid=1\n\tpsk=\"homepassword\"\n}\n";
        std::fs::write(&path, host).unwrap();
        let before = Snapshot::take(&path).await.unwrap();
        assert!(!before.saved_with_temporary_network().await);
        // A hand edit is not a save of ours.
        std::fs::write(&path, format!("{host}# edited\n")).unwrap();
        assert!(!before.saved_with_temporary_network().await);
        // Saved with a temporary network, with a key (memory only) or open, as wpa_supplicant
        // 2.10 writes them.
        let wpa2 = "\tssid=\"lab-wpa2\"\n\tscan_ssid=1\n\tkey_mgmt=WPA-PSK\n\tmem_only_psk=1\n";
        let open = "\tssid=\"lab-open\"\n\tscan_ssid=1\n\tkey_mgmt=NONE\n";
        for temporary in [wpa2, open] {
            std::fs::write(&path, format!("{host}\nnetwork={{\n{temporary}}}\n")).unwrap();
            assert!(before.saved_with_temporary_network().await, "{temporary}");
        }
        assert!(Snapshot::take(&dir.path().join("missing")).await.is_err());
    }

    /// A fake process `pid` of `proc`: wpa_supplicant run by `uid` with `cmdline`.
    fn fake_process(proc: &Path, pid: u32, uid: u32, cmdline: &str) {
        let dir = proc.join(pid.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("comm"), "wpa_supplicant\n").unwrap();
        std::fs::write(dir.join("cmdline"), cmdline.replace(' ', "\0") + "\0").unwrap();
        std::fs::write(dir.join("status"), format!("Name:\twpa_supplicant\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n"))
            .unwrap();
    }

    /// Issue 25 item 4: a wpa_supplicant run by another user names no file for root to read.
    #[tokio::test]
    async fn a_wpa_supplicant_of_another_user_is_ignored() {
        let proc = tempfile::tempdir().unwrap();
        fake_process(proc.path(), 4242, 65534, "wpa_supplicant -i wlan0 -c /dev/zero");
        fake_process(proc.path(), 4243, 1000, "wpa_supplicant -i wlan1 -c /home/me/wpas.conf");
        let root_only = Lookup::new(proc.path(), vec![0]);
        assert_eq!(find(root_only.clone(), "wlan0".into()).await, None);
        assert_eq!(find(root_only, "wlan1".into()).await, None);
        // Run by the control socket's owner: believed.
        let socket_owner = Lookup::new(proc.path(), vec![0, 1000]);
        assert_eq!(find(socket_owner.clone(), "wlan0".into()).await, None);
        assert_eq!(find(socket_owner, "wlan1".into()).await, Some(PathBuf::from("/home/me/wpas.conf")));
        // Root's own, and a process whose uids cannot be read is not believed.
        fake_process(proc.path(), 1, 0, "wpa_supplicant -i wlan0 -c /etc/wpas.conf");
        assert_eq!(
            find(Lookup::new(proc.path(), vec![0]), "wlan0".into()).await,
            Some(PathBuf::from("/etc/wpas.conf"))
        );
        std::fs::remove_file(proc.path().join("1/status")).unwrap();
        assert_eq!(find(Lookup::new(proc.path(), vec![0]), "wlan0".into()).await, None);
        // The users of a process are all four of its uids.
        assert_eq!(process_uids("Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n"), Some(vec![0; 4]));
        assert_eq!(process_uids("Uid:\t1000\t0\t0\t0\n"), Some(vec![1000, 0, 0, 0]));
        assert_eq!(process_uids("Name:\tx\n"), None);
    }

    /// Issue 25 item 4: only a regular file of bounded size is read, and at once.
    #[tokio::test]
    async fn a_fifo_a_device_a_large_file_or_a_link_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let large = dir.path().join("large.conf");
        std::fs::File::create(&large).unwrap().set_len(CONFIG_MAX_BYTES + 1).unwrap();
        let good = dir.path().join("wpas.conf");
        std::fs::write(&good, "update_config=1\n").unwrap();
        let link = dir.path().join("link.conf");
        std::os::unix::fs::symlink(&good, &link).unwrap();
        let cases = [
            (fifo.as_path(), "a FIFO"),
            (Path::new("/dev/null"), "a character device"),
            (large.as_path(), "more than the"),
            (link.as_path(), "a symbolic link"),
            (dir.path(), "a directory"),
        ];
        for (path, reason) in cases {
            let started = std::time::Instant::now();
            let outcome = tokio::time::timeout(std::time::Duration::from_secs(3), read(path)).await;
            let Ok(Err(error)) = outcome else { panic!("{} was not refused: {outcome:?}", path.display()) };
            assert!(error.contains(reason), "{error}");
            assert!(started.elapsed() < std::time::Duration::from_secs(1), "{}", path.display());
        }
        assert_eq!(read(&good).await.unwrap(), "update_config=1\n");
    }
}
