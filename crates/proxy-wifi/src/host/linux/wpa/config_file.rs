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

use std::path::{Path, PathBuf};

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

/// The configuration file of the wpa_supplicant process serving `interface`, if one can
/// be found in `/proc`.
pub(crate) fn find(interface: &str) -> Option<PathBuf> {
    let processes = std::fs::read_dir("/proc").ok()?;
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
        if let Some(path) = config_in_command_line(&args, interface, cwd.as_deref()) {
            return Some(path);
        }
    }
    None
}

/// The configuration file as it was before a guest connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Snapshot {
    path: PathBuf,
    marks: usize,
}

impl Snapshot {
    /// Reads `path` now; `None` when it cannot be read.
    pub(crate) fn take(path: &Path) -> Option<Snapshot> {
        let text = std::fs::read_to_string(path).ok()?;
        Some(Snapshot { path: path.to_owned(), marks: text.matches(TEMPORARY_MARK).count() })
    }

    /// Whether the file was saved with a temporary network in it since the snapshot.
    pub(crate) fn saved_with_temporary_network(&self) -> bool {
        std::fs::read_to_string(&self.path).is_ok_and(|text| text.matches(TEMPORARY_MARK).count() > self.marks)
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

    #[test]
    fn a_save_with_a_temporary_network_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wpas.conf");
        // The host's own hidden network has the mark too: it is the count that tells.
        let host = "update_config=1\n\nnetwork={\n\tssid=\"home\"\n\tscan_ssid=1\n\tpsk=\"homepassword\"\n}\n";
        std::fs::write(&path, host).unwrap();
        let before = Snapshot::take(&path).unwrap();
        assert!(!before.saved_with_temporary_network());
        // A hand edit is not a save of ours.
        std::fs::write(&path, format!("{host}# edited\n")).unwrap();
        assert!(!before.saved_with_temporary_network());
        // Saved with a temporary network, with a key (memory only) or open, as wpa_supplicant
        // 2.10 writes them.
        let wpa2 = "\tssid=\"lab-wpa2\"\n\tscan_ssid=1\n\tkey_mgmt=WPA-PSK\n\tmem_only_psk=1\n";
        let open = "\tssid=\"lab-open\"\n\tscan_ssid=1\n\tkey_mgmt=NONE\n";
        for temporary in [wpa2, open] {
            std::fs::write(&path, format!("{host}\nnetwork={{\n{temporary}}}\n")).unwrap();
            assert!(before.saved_with_temporary_network(), "{temporary}");
        }
        assert_eq!(Snapshot::take(&dir.path().join("missing")), None);
    }
}
