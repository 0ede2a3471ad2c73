//! `serve --config FILE`: every `serve` flag as a TOML setting (same name, without the
//! dashes in front), plus one `[[guest]]` section per VM. Flags given on the command line
//! override the file. See contrib/proxy-wifi.toml for a commented example.
//!
//! Every error names the file, the line, the field and the value, and says what is valid.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use proxy_wifi::protocol::Ssid;
use proxy_wifi::{GuestAbi, GuestId};
use serde::Deserialize;
use toml::Spanned;

use crate::cli::{GuestArg, ServeArgs};
use crate::toml_file::{FileError, TomlFile};

/// How the config file is named in messages.
const KIND: &str = "config file";

/// The file `serve` reads when no `--config` is given, if it exists.
pub const DEFAULT_PATH: &str = "/etc/proxy-wifi/proxy-wifi.toml";

/// The flags that name guests: given on the command line, they replace the file's
/// `[[guest]]` sections.
const GUEST_FLAGS: [&str; 4] = ["guest_cid", "vm_id", "vmm_socket", "any_guest"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    transport: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
    request_port: Option<Spanned<i64>>,
    notification_port: Option<Spanned<i64>>,
    guest_abi: Option<Spanned<String>>,
    any_guest: Option<Spanned<bool>>,
    dynamic_guests: Option<Spanned<bool>>,
    listen: Option<Spanned<String>>,
    guest_address: Option<Spanned<String>>,
    networks: Option<Spanned<String>>,
    fake_networks: Option<Spanned<Vec<Spanned<String>>>>,
    backend: Option<Spanned<String>>,
    wpa_ctrl_dir: Option<Spanned<String>>,
    control_socket: Option<Spanned<String>>,
    no_control: Option<Spanned<bool>>,
    read_deadline_ms: Option<Spanned<i64>>,
    metrics: Option<Spanned<String>>,
    metrics_allow_remote: Option<Spanned<bool>>,
    vmm_socket_group: Option<Spanned<String>>,
    allow_foreign_socket_dir: Option<Spanned<bool>>,
    allow_tcp_host_mode: Option<Spanned<bool>>,
    wait_for_backend: Option<Spanned<bool>>,
    guest_connect: Option<Spanned<String>>,
    guest_connect_ssids: Option<Spanned<Vec<Spanned<String>>>>,
    host_scan_interval: Option<Spanned<i64>>,
    #[serde(default)]
    guest: Vec<Spanned<RawGuest>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawGuest {
    vsock_cid: Option<Spanned<i64>>,
    vm_id: Option<Spanned<String>>,
    vmm_socket: Option<Spanned<String>>,
    abi: Option<Spanned<String>>,
    allowed_ssids: Option<Spanned<Vec<Spanned<String>>>>,
}

/// Where each `serve` setting came from: the command line, the config file, or neither
/// (its default). Used to name a setting in messages the way the user wrote it.
#[derive(Debug, Default)]
pub struct SettingSources {
    /// The config file read, if any.
    file: Option<PathBuf>,
    /// Settings taken from the file: clap id → line.
    from_file: BTreeMap<&'static str, usize>,
    /// Flags given on the command line (clap ids).
    given: BTreeSet<String>,
}

impl SettingSources {
    /// Settings from the command line only.
    pub fn command_line(given: BTreeSet<String>) -> Self {
        Self { file: None, from_file: BTreeMap::new(), given }
    }

    /// Whether the setting `id` (clap id, e.g. `guest_cid`) was given, on the command
    /// line or in the file, rather than left at its default.
    pub fn is_set(&self, id: &str) -> bool {
        self.given.contains(id) || self.from_file.contains_key(id)
    }

    /// The setting as the user wrote it: `--backend wpa-supplicant`, or
    /// `backend = "wpa-supplicant" (config file F, line 9)`.
    pub fn describe(&self, id: &str, value: impl std::fmt::Display) -> String {
        let flag = id.replace('_', "-");
        match (self.from_file.get(id), &self.file) {
            (Some(line), Some(file)) if !self.given.contains(id) => {
                format!("{flag} = {value} ({KIND} {}, line {line})", file.display())
            }
            _ => format!("--{flag} {value}"),
        }
    }

    /// A switch as the user wrote it: `--any-guest`, or
    /// `any-guest = true (config file F, line 3)`.
    pub fn describe_switch(&self, id: &str) -> String {
        match (self.from_file.get(id), &self.file) {
            (Some(_), Some(_)) if !self.given.contains(id) => self.describe(id, true),
            _ => format!("--{}", id.replace('_', "-")),
        }
    }

    /// The config file read, if any.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Whether the setting `id` was given on the command line.
    pub fn on_command_line(&self, id: &str) -> bool {
        self.given.contains(id)
    }

    /// Whether the setting `id` comes from the config file (not given on the command line).
    pub fn only_in_file(&self, id: &str) -> bool {
        self.from_file.contains_key(id) && !self.given.contains(id)
    }

    /// Forgets that the file set `id` (a setting dropped in favour of the command line).
    pub fn forget(&mut self, id: &str) {
        self.from_file.remove(id);
    }

    /// The settings taken from the file, as it spells them (`mode`, `request-port`).
    pub fn file_settings(&self) -> Vec<String> {
        self.from_file.keys().filter(|id| !self.given.contains(**id)).map(|id| id.replace('_', "-")).collect()
    }
}

/// What the config file adds beyond the flags.
#[derive(Debug, Default)]
pub struct FileExtras {
    /// The networks each listed guest may join (`allowed-ssids`).
    pub allowed_ssids: Vec<(GuestId, Vec<Ssid>)>,
}

/// Reads the config file `args` names (or the default one, when it exists, `--no-config`
/// is not given and the service runs as root: see [`reads_default_file`]) into `args`,
/// under the flags of `given`.
pub fn load(args: &mut ServeArgs, given: BTreeSet<String>) -> Result<(SettingSources, FileExtras), String> {
    let path = match &args.config {
        Some(path) => path.clone(),
        None if args.no_config || !reads_default_file() => {
            return Ok((SettingSources::command_line(given), FileExtras::default()));
        }
        None => match default_path().filter(|p| p.exists()) {
            Some(path) => path,
            None => return Ok((SettingSources::command_line(given), FileExtras::default())),
        },
    };
    let text = TomlFile::read(KIND, &path).map_err(|e| e.to_string())?;
    apply(&path, &text, args, given).map_err(|e| e.to_string())
}

/// Whether `serve` without `--config` reads the package's file: as root only on Unix (the
/// packaged service; a `cargo run` in a checkout or a user's test run is not configured by
/// the system's service settings), always on Windows.
fn reads_default_file() -> bool {
    #[cfg(unix)]
    return proxy_wifi::socket_file::effective_uid() == 0;
    #[cfg(not(unix))]
    return true;
}

/// Where the package's config file lives on this platform.
fn default_path() -> Option<PathBuf> {
    if cfg!(windows) {
        std::env::var_os("ProgramData").map(|dir| PathBuf::from(dir).join("proxy-wifi").join("proxy-wifi.toml"))
    } else {
        Some(PathBuf::from(DEFAULT_PATH))
    }
}

/// Fills `args` from the text of a config file, except the flags of `given`.
pub fn apply(
    path: &Path,
    text: &str,
    args: &mut ServeArgs,
    given: BTreeSet<String>,
) -> Result<(SettingSources, FileExtras), FileError> {
    let file = TomlFile::new(KIND, path, text);
    let raw: RawConfig = file.parse()?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut merge = Merge { file: &file, given: &given, from_file: BTreeMap::new() };

    if let Some(v) = &raw.transport {
        merge.put("transport", v.span(), &mut args.transport, Some(choice(&file, "", "transport", v)?));
    }
    if let Some(v) = &raw.mode {
        merge.put("mode", v.span(), &mut args.mode, Some(choice(&file, "", "mode", v)?));
    }
    if let Some(v) = &raw.request_port {
        merge.put("request_port", v.span(), &mut args.request_port, port(&file, "request-port", v)?);
    }
    if let Some(v) = &raw.notification_port {
        merge.put("notification_port", v.span(), &mut args.notification_port, port(&file, "notification-port", v)?);
    }
    if let Some(v) = &raw.guest_abi {
        merge.put("guest_abi", v.span(), &mut args.guest_abi, choice(&file, "", "guest-abi", v)?);
    }
    if let Some(v) = &raw.any_guest {
        merge.put("any_guest", v.span(), &mut args.any_guest, *v.get_ref());
    }
    if let Some(v) = &raw.dynamic_guests {
        merge.put("dynamic_guests", v.span(), &mut args.dynamic_guests, *v.get_ref());
    }
    if let Some(v) = &raw.listen {
        merge.put("listen", v.span(), &mut args.listen, ip(&file, "listen", v)?);
    }
    if let Some(v) = &raw.guest_address {
        merge.put("guest_address", v.span(), &mut args.guest_address, Some(ip(&file, "guest-address", v)?));
    }
    if let Some(v) = &raw.networks {
        merge.put("networks", v.span(), &mut args.networks, Some(file_path(&file, base, "", "networks", v)?));
    }
    if let Some(list) = &raw.fake_networks {
        let mut texts = Vec::new();
        for (i, v) in list.get_ref().iter().enumerate() {
            crate::networks_file::parse_fake_network(v.get_ref(), i + 1)
                .map_err(|reason| file.invalid("", "fake-networks", v.span(), format!("{:?}", v.get_ref()), reason))?;
            texts.push(v.get_ref().clone());
        }
        merge.put("fake_networks", list.span(), &mut args.fake_networks, texts);
    }
    if let Some(v) = &raw.backend {
        merge.put("backend", v.span(), &mut args.backend, choice(&file, "", "backend", v)?);
    }
    if let Some(v) = &raw.wpa_ctrl_dir {
        merge.put(
            "wpa_ctrl_dir",
            v.span(),
            &mut args.wpa_ctrl_dir,
            Some(file_path(&file, base, "", "wpa-ctrl-dir", v)?),
        );
    }
    if let Some(v) = &raw.control_socket {
        let path = file_path(&file, base, "", "control-socket", v)?;
        merge.put("control_socket", v.span(), &mut args.control_socket, Some(path));
    }
    if let Some(v) = &raw.no_control {
        merge.put("no_control", v.span(), &mut args.no_control, *v.get_ref());
    }
    if let Some(v) = &raw.read_deadline_ms {
        let ms = u64::try_from(*v.get_ref()).ok().filter(|ms| (10..=600_000).contains(ms)).ok_or_else(|| {
            file.invalid("", "read-deadline-ms", v.span(), v.get_ref().to_string(), "10 to 600000 milliseconds")
        })?;
        merge.put("read_deadline_ms", v.span(), &mut args.read_deadline_ms, ms);
    }
    if let Some(v) = &raw.metrics {
        let address = v.get_ref().parse::<std::net::SocketAddr>().map_err(|_| {
            file.invalid(
                "",
                "metrics",
                v.span(),
                format!("{:?}", v.get_ref()),
                "an IP address and port, e.g. \"127.0.0.1:9560\"",
            )
        })?;
        merge.put("metrics", v.span(), &mut args.metrics, Some(address));
    }
    if let Some(v) = &raw.metrics_allow_remote {
        merge.put("metrics_allow_remote", v.span(), &mut args.metrics_allow_remote, *v.get_ref());
    }
    if let Some(v) = &raw.vmm_socket_group {
        merge.put("vmm_socket_group", v.span(), &mut args.vmm_socket_group, Some(v.get_ref().clone()));
    }
    if let Some(v) = &raw.allow_foreign_socket_dir {
        merge.put("allow_foreign_socket_dir", v.span(), &mut args.allow_foreign_socket_dir, *v.get_ref());
    }
    if let Some(v) = &raw.allow_tcp_host_mode {
        merge.put("allow_tcp_host_mode", v.span(), &mut args.allow_tcp_host_mode, *v.get_ref());
    }
    if let Some(v) = &raw.wait_for_backend {
        merge.put("wait_for_backend", v.span(), &mut args.wait_for_backend, *v.get_ref());
    }
    if let Some(v) = &raw.guest_connect {
        let policy = crate::cli::GuestConnectArg::from_str(v.get_ref(), false).map_err(|_| {
            file.invalid(
                "",
                "guest-connect",
                v.span(),
                format!("{:?}", v.get_ref()),
                "\"any\", \"allow-list\" or \"mirror-only\"",
            )
        })?;
        merge.put("guest_connect", v.span(), &mut args.guest_connect, policy);
    }
    if let Some(v) = &raw.guest_connect_ssids {
        let mut ssids = Vec::new();
        for ssid in v.get_ref() {
            if ssid.get_ref().is_empty() || ssid.get_ref().len() > 32 {
                return Err(file.invalid(
                    "",
                    "guest-connect-ssids",
                    ssid.span(),
                    format!("{:?}", ssid.get_ref()),
                    "an SSID of 1 to 32 bytes",
                ));
            }
            ssids.push(ssid.get_ref().clone());
        }
        merge.put("guest_connect_ssids", v.span(), &mut args.guest_connect_ssids, ssids);
    }
    if let Some(v) = &raw.host_scan_interval {
        let seconds = u64::try_from(*v.get_ref()).ok().filter(|s| *s <= 3600).ok_or_else(|| {
            file.invalid("", "host-scan-interval", v.span(), v.get_ref().to_string(), "0 to 3600 seconds")
        })?;
        merge.put("host_scan_interval", v.span(), &mut args.host_scan_interval, seconds);
    }

    let guests = read_guests(&file, base, &raw.guest)?;
    let mut extras = FileExtras::default();
    if !guests.is_empty() {
        if let Some(flag) = GUEST_FLAGS.iter().find(|f| given.contains(**f)) {
            tracing::info!(flag = %flag.replace('_', "-"), file = %path.display(),
                "guests named on the command line; the file's [[guest]] sections are not used");
        } else {
            let line = file.line_of(raw.guest[0].span().start);
            for guest in guests {
                match guest.id {
                    GuestId::Vsock(cid) => {
                        args.guest_cid.push(GuestArg { guest: cid, abi: guest.abi });
                        merge.from_file.insert("guest_cid", line);
                    }
                    GuestId::HyperV(vm) => {
                        if let Some(first) = &args.vm_id {
                            return Err(file.invalid(
                                &guest.entry,
                                "vm-id",
                                guest.span,
                                vm.to_string(),
                                format!(
                                    "one Hyper-V VM per service ({} is already listed); to serve several, set \
                                     any-guest = true without [[guest]] sections",
                                    first.guest
                                ),
                            ));
                        }
                        args.vm_id = Some(GuestArg { guest: vm, abi: guest.abi });
                        merge.from_file.insert("vm_id", line);
                    }
                    GuestId::HybridVsock(ref socket) => {
                        args.vmm_socket.push(GuestArg { guest: socket.clone(), abi: guest.abi });
                        merge.from_file.insert("vmm_socket", line);
                    }
                    GuestId::Tcp(_) => unreachable!("the file names no TCP guest"),
                }
                if let Some(ssids) = guest.allowed_ssids {
                    extras.allowed_ssids.push((guest.id, ssids));
                }
            }
        }
    }
    let from_file = merge.from_file;
    Ok((SettingSources { file: Some(path.to_owned()), from_file, given }, extras))
}

/// Applies file values under the command line's flags and records where they came from.
struct Merge<'a> {
    file: &'a TomlFile<'a>,
    given: &'a BTreeSet<String>,
    from_file: BTreeMap<&'static str, usize>,
}

impl Merge<'_> {
    /// Sets `slot` to `value` unless the flag `id` was given on the command line.
    fn put<T>(&mut self, id: &'static str, span: Range<usize>, slot: &mut T, value: T) {
        if !self.given.contains(id) {
            *slot = value;
            self.from_file.insert(id, self.file.line_of(span.start));
        }
    }
}

/// One `[[guest]]` section, checked.
struct FileGuest {
    /// "guest N", for messages.
    entry: String,
    span: Range<usize>,
    id: GuestId,
    abi: Option<GuestAbi>,
    allowed_ssids: Option<Vec<Ssid>>,
}

fn read_guests(file: &TomlFile, base: &Path, raw: &[Spanned<RawGuest>]) -> Result<Vec<FileGuest>, FileError> {
    let mut guests: Vec<FileGuest> = Vec::new();
    for (i, section) in raw.iter().enumerate() {
        let entry = format!("guest {}", i + 1);
        let g = section.get_ref();
        let named = [g.vsock_cid.is_some(), g.vm_id.is_some(), g.vmm_socket.is_some()];
        let (id, span) = match (&g.vsock_cid, &g.vm_id, &g.vmm_socket) {
            (Some(cid), None, None) => {
                let value =
                    u32::try_from(*cid.get_ref()).ok().filter(|c| (1..u32::MAX).contains(c)).ok_or_else(|| {
                        file.invalid(
                        &entry,
                        "vsock-cid",
                        cid.span(),
                        cid.get_ref().to_string(),
                        "the VM's vsock context id, 3 to 4294967294 (libvirt: <cid address='N'/>, QEMU: guest-cid=N)",
                    )
                    })?;
                (GuestId::Vsock(value), cid.span())
            }
            (None, Some(vm), None) => {
                let value = vm.get_ref().parse::<uuid::Uuid>().map_err(|_| {
                    file.invalid(
                        &entry,
                        "vm-id",
                        vm.span(),
                        format!("{:?}", vm.get_ref()),
                        "the VM's id, a GUID (PowerShell: (Get-VM NAME).Id)",
                    )
                })?;
                (GuestId::HyperV(value), vm.span())
            }
            (None, None, Some(socket)) => {
                (GuestId::HybridVsock(file_path(file, base, &entry, "vmm-socket", socket)?), socket.span())
            }
            _ => {
                let what = if named.iter().any(|n| *n) { "more than one of" } else { "none of" };
                return Err(file.invalid(
                    &entry,
                    "guest",
                    section.span(),
                    format!("(a section with {what} vsock-cid, vm-id, vmm-socket)"),
                    "each [[guest]] names its VM by exactly one of vsock-cid = N, vm-id = \"GUID\", \
                     vmm-socket = \"PATH\"",
                ));
            }
        };
        if let Some(earlier) = guests.iter().find(|other| other.id == id) {
            return Err(file.invalid(
                &entry,
                "guest",
                span,
                id.to_string(),
                format!("a VM not listed already ({} names it too)", earlier.entry),
            ));
        }
        let abi = match &g.abi {
            Some(v) => Some(v.get_ref().parse::<GuestAbi>().map_err(|_| {
                file.invalid(&entry, "abi", v.span(), format!("{:?}", v.get_ref()), "\"current\" or \"legacy\"")
            })?),
            None => None,
        };
        let allowed_ssids = match &g.allowed_ssids {
            Some(list) => Some(
                list.get_ref()
                    .iter()
                    .map(|v| {
                        Ssid::new(v.get_ref().as_bytes()).ok().filter(|s| !s.is_empty()).ok_or_else(|| {
                            file.invalid(
                                &entry,
                                "allowed-ssids",
                                v.span(),
                                format!("{:?}", v.get_ref()),
                                format!("SSIDs of 1 to 32 bytes, this one has {}", v.get_ref().len()),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };
        guests.push(FileGuest { entry, span, id, abi, allowed_ssids });
    }
    Ok(guests)
}

/// A value of a clap value enum (`transport = "vsock"`), named like its flag.
fn choice<E: ValueEnum>(
    file: &TomlFile,
    entry: &str,
    field: &'static str,
    v: &Spanned<String>,
) -> Result<E, FileError> {
    E::from_str(v.get_ref(), false).map_err(|_| {
        let names: Vec<String> = E::value_variants()
            .iter()
            .filter_map(|e| e.to_possible_value().map(|p| format!("{:?}", p.get_name())))
            .collect();
        file.invalid(entry, field, v.span(), format!("{:?}", v.get_ref()), format!("one of {}", names.join(", ")))
    })
}

fn port(file: &TomlFile, field: &'static str, v: &Spanned<i64>) -> Result<u16, FileError> {
    u16::try_from(*v.get_ref())
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| file.invalid("", field, v.span(), v.get_ref().to_string(), "a port from 1 to 65535"))
}

fn ip(file: &TomlFile, field: &'static str, v: &Spanned<String>) -> Result<IpAddr, FileError> {
    v.get_ref().parse().map_err(|_| {
        file.invalid("", field, v.span(), format!("{:?}", v.get_ref()), "an IP address like \"127.0.0.1\" or \"::1\"")
    })
}

/// A path setting; a relative one is taken from the config file's directory.
fn file_path(
    file: &TomlFile,
    base: &Path,
    entry: &str,
    field: &'static str,
    v: &Spanned<String>,
) -> Result<PathBuf, FileError> {
    if v.get_ref().is_empty() {
        return Err(file.invalid(
            entry,
            field,
            v.span(),
            "\"\"".into(),
            "a path; relative ones start at the config file's directory",
        ));
    }
    Ok(base.join(v.get_ref()))
}

#[cfg(test)]
mod tests;
