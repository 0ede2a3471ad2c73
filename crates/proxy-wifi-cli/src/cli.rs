//! Command-line definitions (clap derive).

use std::collections::BTreeSet;
use std::fmt::Display;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

use proxy_wifi::{GuestAbi, GuestId};

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use proxy_wifi::protocol::{DEFAULT_NOTIFICATION_PORT, DEFAULT_REQUEST_PORT};

/// Gives a virtual machine the Wi-Fi of the machine it runs on.
#[derive(Debug, Parser)]
#[command(name = "proxy-wifi", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// More logs (-v debug, -vv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Fewer logs (warnings and errors only).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// Also log to Event Tracing for Windows (provider "proxy-wifi"; build with --features etw).
    /// Hidden where it cannot work (builds other than Windows with the `etw` feature).
    #[arg(long, global = true, hide = !cfg!(all(windows, feature = "etw")))]
    pub etw: bool,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses `args` (exits with clap's message on a bad command line) and says which
    /// `serve` flags were given on it (clap ids), so a config file does not override them.
    pub fn parse_with_given_flags(args: impl IntoIterator<Item = std::ffi::OsString>) -> (Cli, BTreeSet<String>) {
        let args: Vec<std::ffi::OsString> = args.into_iter().collect();
        let command = Cli::command();
        let mut matches = match command.clone().try_get_matches_from(&args) {
            Ok(matches) => matches,
            Err(error) => crate::cli_suggest::add_tip(error, &command, &args).exit(),
        };
        let given = matches.subcommand_matches("serve").map(flags_given).unwrap_or_default();
        match Cli::from_arg_matches_mut(&mut matches) {
            Ok(cli) => (cli, given),
            Err(error) => error.format(&mut Cli::command()).exit(),
        }
    }
}

/// The ids of the flags given on the command line (not left at their defaults).
fn flags_given(matches: &ArgMatches) -> BTreeSet<String> {
    matches
        .ids()
        .filter(|id| matches.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .map(|id| id.as_str().to_owned())
        .collect()
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a guest: with no arguments, simulated networks on TCP loopback.
    Serve(ServeArgs),
    /// Act as a guest (like the proxy_wifi driver): scan, connect, disconnect, listen.
    Guest(GuestArgs),
    /// Control a running `serve`: its status, guests and shutdown (every mode); host events
    /// (host-disconnect, host-connect, signal, scan-results, scan-mode: simulated mode).
    Ctl(CtlArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages (proxy-wifi.1 and one per subcommand) into DIR, or print
    /// proxy-wifi.1 on stdout.
    Man {
        /// Directory for the pages (created if missing).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// libvirt's qemu hook (installed as /etc/libvirt/hooks/qemu.d/proxy-wifi): adds a VM's
    /// vsock CID to the running service when it has started, removes it when released.
    LibvirtHook(LibvirtHookArgs),
}

/// Transport between the service and its guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TransportKind {
    /// TCP (testing): `--listen` and `--guest-address`.
    Tcp,
    /// vsock (Linux hosts, QEMU/KVM vhost-vsock): `--guest-cid`.
    Vsock,
    /// Hyper-V sockets (Windows hosts): `--vm-id`.
    Hyperv,
    /// Hybrid vsock over Unix sockets (Firecracker, cloud-hypervisor): `--vmm-socket`.
    HybridVsock,
}

/// What honours the guest's operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// The host's real Wi-Fi (plus `--fake-network`s).
    Host,
    /// Simulated networks (built-in, or from `--networks`), controllable with `ctl`.
    Simulated,
}

/// Which guest-directed connections (those that move the host's Wi-Fi) are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GuestConnectArg {
    /// A guest may move the host to any network (the original's behaviour).
    Any,
    /// Only to the networks given with --guest-connect-ssid.
    AllowList,
    /// Never: guests only join the network the host is already on.
    MirrorOnly,
}

/// Host Wi-Fi backend on Linux.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// NetworkManager if its D-Bus name is present, otherwise wpa_supplicant sockets.
    Auto,
    /// wpa_supplicant control sockets.
    WpaSupplicant,
    /// NetworkManager over D-Bus.
    Networkmanager,
}

/// `proxy-wifi serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Settings from a TOML file (every key: man proxy-wifi.toml); flags given on the
    /// command line override it. Default, when run as root: /etc/proxy-wifi/proxy-wifi.toml
    /// if it exists.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore /etc/proxy-wifi/proxy-wifi.toml.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// Transport (default: vsock with --guest-cid, hyperv with --vm-id, hybrid-vsock with --vmm-socket, else tcp).
    #[arg(long, value_enum)]
    pub transport: Option<TransportKind>,
    /// Port the service listens on for requests.
    #[arg(long, default_value_t = DEFAULT_REQUEST_PORT, value_parser = clap::value_parser!(u16).range(1..))]
    pub request_port: u16,
    /// Port of the guest's notification listener.
    #[arg(long, default_value_t = DEFAULT_NOTIFICATION_PORT, value_parser = clap::value_parser!(u16).range(1..))]
    pub notification_port: u16,
    /// The guest's vsock context id (vsock transport); repeat to serve several VMs.
    /// `CID:legacy` marks a guest with an older driver build (see --guest-abi).
    #[arg(long, value_name = "CID[:ABI]", value_parser = parse_guest_arg::<u32>)]
    pub guest_cid: Vec<GuestArg<u32>>,
    /// The guest VM's id, a GUID (hyperv transport; PowerShell: (Get-VM NAME).Id);
    /// `GUID:legacy` for an older driver build.
    #[arg(long, value_name = "GUID[:ABI]", value_parser = parse_guest_arg::<uuid::Uuid>)]
    pub vm_id: Option<GuestArg<uuid::Uuid>>,
    /// The VMM's vsock Unix socket (hybrid-vsock transport: Firecracker `uds_path`,
    /// cloud-hypervisor `--vsock socket=`); repeat to serve several VMs. `PATH:legacy`
    /// for an older driver build.
    #[arg(long, value_name = "PATH[:ABI]", value_parser = parse_guest_arg::<PathBuf>)]
    pub vmm_socket: Vec<GuestArg<PathBuf>>,
    /// A group that may also connect to the hybrid-vsock request listeners (e.g. the
    /// VMM's group): they get mode 0660 and this group, instead of 0600. A name or a GID.
    #[arg(long, value_name = "GROUP")]
    pub vmm_socket_group: Option<String>,
    /// Make the hybrid-vsock request listeners even in a directory this user does not own
    /// (the VMM user's directory of the usual Firecracker/cloud-hypervisor setup). Refused
    /// by default: that directory's owner could replace the listener. The listener is made
    /// through directory descriptors either way, so it cannot be redirected elsewhere.
    #[arg(long)]
    pub allow_foreign_socket_dir: bool,
    /// The guest driver's generation: `current`, or `legacy` for older builds of the
    /// proxy_wifi driver (scan answers without scan_complete, no scan-results
    /// notifications). Applies to every guest not marked otherwise with `:ABI`.
    #[arg(long, value_enum, value_name = "ABI", default_value_t = AbiArg::Current)]
    pub guest_abi: AbiArg,
    /// Serve every guest that connects: any vsock CID, any Hyper-V VM, or (tcp) every
    /// source IP, each with its own session; notifications go back to each guest.
    #[arg(long)]
    pub any_guest: bool,
    /// Accept the guests listed (possibly none) and those added later with `proxy-wifi ctl
    /// guest add` or the libvirt hook; `ctl guest remove` refuses them again.
    #[arg(long)]
    pub dynamic_guests: bool,
    /// IP address to listen on for requests (tcp transport).
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    pub listen: IpAddr,
    /// IP address of the guest's notification listener (tcp; default: the listen address).
    #[arg(long, value_name = "IP")]
    pub guest_address: Option<IpAddr>,
    /// Host Wi-Fi or simulated networks (default: simulated over tcp, host otherwise).
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,
    /// Simulated networks from a TOML file (example: /usr/share/doc/proxy-wifi/examples/networks.toml
    /// as packaged, contrib/networks.toml in the source).
    #[arg(long, value_name = "FILE")]
    pub networks: Option<PathBuf>,
    /// A fake network, always visible and connected: SSID or SSID=BSSID (repeatable).
    #[arg(long = "fake-network", value_name = "SSID[=BSSID]")]
    pub fake_networks: Vec<String>,
    /// Allow `--mode host` over the tcp transport, on a loopback `--listen` only. TCP
    /// cannot tell a guest from any other local process: whoever reaches the port
    /// drives the host's Wi-Fi.
    #[arg(long)]
    pub allow_tcp_host_mode: bool,
    /// In host mode, when no Wi-Fi backend (NetworkManager, wpa_supplicant, the WLAN
    /// service) is found, wait for one to appear instead of exiting with an error.
    #[arg(long)]
    pub wait_for_backend: bool,
    /// Which networks a guest may move the host's Wi-Fi to (a guest-directed connect);
    /// joining the network the host is already on is always allowed.
    #[arg(long, value_enum, default_value_t = GuestConnectArg::Any)]
    pub guest_connect: GuestConnectArg,
    /// A network guests may move the host to, with --guest-connect allow-list (repeatable).
    #[arg(long = "guest-connect-ssid", value_name = "SSID")]
    pub guest_connect_ssids: Vec<String>,
    /// At most one real scan per SECONDS on each host radio; guests' scans in between are
    /// answered from its newest results (0: every guest scan scans).
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub host_scan_interval: u64,
    /// Host backend on Linux (host mode).
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    pub backend: BackendArg,
    /// Directory of wpa_supplicant control sockets (wpa-supplicant backend).
    #[arg(long, value_name = "DIR")]
    pub wpa_ctrl_dir: Option<PathBuf>,
    /// Control socket for `proxy-wifi ctl` (default: /run/proxy-wifi/control.sock for root,
    /// whatever XDG_RUNTIME_DIR says; for other users $XDG_RUNTIME_DIR/proxy-wifi/control.sock,
    /// else /tmp/proxy-wifi-UID/control.sock; the default directory must be a real directory
    /// of the user with mode 0700; on Windows a named pipe \\.\pipe\NAME, default
    /// \\.\pipe\proxy-wifi-control).
    #[arg(long, value_name = "PATH")]
    pub control_socket: Option<PathBuf>,
    /// Do not open a control socket.
    #[arg(long)]
    pub no_control: bool,
    /// Time a request connection has to deliver its request, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(10..=600_000))]
    pub read_deadline_ms: u64,
    /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9560); off by
    /// default, and on loopback addresses only unless --metrics-allow-remote.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
    /// Let --metrics listen on a non-loopback address (the metrics name guests and networks).
    #[arg(long)]
    pub metrics_allow_remote: bool,
}

/// A guest driver generation on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AbiArg {
    /// Today's driver: scan_complete in scan answers, scan results by notification.
    Current,
    /// Older driver builds: no scan_complete byte, no scan-results notifications.
    Legacy,
}

impl From<AbiArg> for GuestAbi {
    fn from(arg: AbiArg) -> GuestAbi {
        match arg {
            AbiArg::Current => GuestAbi::Current,
            AbiArg::Legacy => GuestAbi::Legacy,
        }
    }
}

/// A guest named on the command line, with the driver generation given after a `:`
/// (`7:legacy`, `GUID:current`, `/run/vm1.vsock:legacy`), if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestArg<T> {
    /// The guest's CID, VM id or VMM socket path.
    pub guest: T,
    /// Its driver generation, when given.
    pub abi: Option<GuestAbi>,
}

/// Parses `VALUE` or `VALUE:ABI`. A path may itself hold `:`; only a last part that is
/// an ABI name is taken as one.
pub fn parse_guest_arg<T>(text: &str) -> Result<GuestArg<T>, String>
where
    T: FromStr,
    T::Err: Display,
{
    if let Some((head, tail)) = text.rsplit_once(':') {
        match tail.parse::<GuestAbi>() {
            Ok(abi) => {
                let guest = head.parse::<T>().map_err(|e| format!("{head:?}: {e}"))?;
                return Ok(GuestArg { guest, abi: Some(abi) });
            }
            // `7:old`: a valid guest before an unknown generation.
            Err(unknown) if text.parse::<T>().is_err() && head.parse::<T>().is_ok() => {
                return Err(unknown.to_string());
            }
            Err(_) => {}
        }
    }
    text.parse::<T>().map(|guest| GuestArg { guest, abi: None }).map_err(|e| format!("{text:?}: {e}"))
}

/// `proxy-wifi guest`.
#[derive(Debug, Args)]
pub struct GuestArgs {
    /// Transport to the host.
    #[arg(long, value_enum, default_value_t = GuestTransportKind::Tcp)]
    pub transport: GuestTransportKind,
    /// Host IP address (tcp).
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Host context id (vsock; 2 is the host).
    #[arg(long, value_name = "CID", default_value_t = 2)]
    pub cid: u32,
    /// The host's request port.
    #[arg(long, default_value_t = DEFAULT_REQUEST_PORT, value_parser = clap::value_parser!(u16).range(1..))]
    pub request_port: u16,
    /// The port this guest listens on for notifications.
    #[arg(long, default_value_t = DEFAULT_NOTIFICATION_PORT, value_parser = clap::value_parser!(u16).range(1..))]
    pub notification_port: u16,
    /// The driver generation to behave as (legacy: read scan answers without
    /// scan_complete, refuse scan-results notifications).
    #[arg(long, value_enum, value_name = "ABI", default_value_t = AbiArg::Current)]
    pub abi: AbiArg,
    /// Seconds to wait for the host's answer (the driver waits 20).
    #[arg(long, value_name = "SECONDS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// Milliseconds each notification connection has to deliver its message (the driver
    /// gives 10; a slower host's notifications are dropped, as the driver would drop them).
    #[arg(long, value_name = "MS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub notification_read_ms: u64,
    #[command(subcommand)]
    pub command: GuestCommand,
}

/// Guest transports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GuestTransportKind {
    /// TCP to `--host`.
    Tcp,
    /// vsock to `--cid` (Linux).
    Vsock,
}

/// Guest operations.
#[derive(Debug, Subcommand)]
pub enum GuestCommand {
    /// Scan and print the networks (waits up to 10 s for late results, like the driver).
    Scan {
        /// Targeted scan for this SSID (hidden networks); only its BSSs are shown.
        #[arg(long)]
        ssid: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Do not wait for scan-results notifications.
        #[arg(long)]
        no_wait: bool,
    },
    /// Connect to a network; prints the host's 802.11 status code and its name.
    ///
    /// Exit status: 0 connected; 3 refused with 1 UNSPECIFIED_FAILURE or a code without a
    /// class below (network not found, interface gone, other); 4 wrong key (15
    /// CHALLENGE_FAILURE); 5 denied (12 DENIED_OTHER_REASON: by the host's policy; 17
    /// DENIED_NO_MORE_STAS: the interfaces serve other guests); 6 timed out (16
    /// REJECTED_SEQUENCE_TIMEOUT); 7 security mismatch (43 INVALID_AKMP: the network is open,
    /// WPA2-PSK or WPA3-SAE, and the request asked for another); 1 no answer (host
    /// unreachable, bad arguments); 2 usage.
    Connect {
        /// The network's SSID.
        ssid: String,
        /// WPA2-PSK passphrase (8 to 63 characters); the PMK is derived like a supplicant does.
        /// Other local users can read it in /proc/PID/cmdline while the command runs, and
        /// shells keep it in their history: prefer --passphrase-file.
        #[arg(long, group = "secret")]
        passphrase: Option<String>,
        /// Read the WPA2-PSK passphrase from FILE (one trailing newline is dropped); `-`
        /// reads standard input, with a prompt and no echo on a terminal.
        #[arg(long, group = "secret", value_name = "FILE")]
        passphrase_file: Option<PathBuf>,
        /// WPA2-PSK key as 64 hex digits.
        #[arg(long, group = "secret", value_name = "HEX64")]
        psk: Option<String>,
        /// WPA3-SAE password. Other local users can read it in /proc/PID/cmdline, and shells
        /// keep it in their history: prefer --sae-password-file.
        #[arg(long, group = "secret")]
        sae_password: Option<String>,
        /// Read the WPA3-SAE password from FILE (one trailing newline is dropped); `-` reads
        /// standard input, with a prompt and no echo on a terminal.
        #[arg(long, group = "secret", value_name = "FILE")]
        sae_password_file: Option<PathBuf>,
        /// A specific BSS.
        #[arg(long)]
        bssid: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// End a connection.
    Disconnect {
        /// The session id printed by `connect`.
        session: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Inside a VM: check the proxy_wifi driver, its link, vsock and the host, and say
    /// what to fix (uses the loaded module's host CID and ports when it has them). When
    /// the module is not loaded it says why (not installed, no kernel headers for DKMS,
    /// not built); run as root, it tries `modprobe proxy_wifi` once.
    Doctor {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print notifications as they arrive.
    Listen {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// Stop after this many notifications.
        #[arg(long)]
        count: Option<u64>,
        /// Stop after this many seconds.
        #[arg(long, value_name = "SECONDS")]
        duration: Option<u64>,
    },
}

/// `proxy-wifi libvirt-hook`: libvirt calls its hooks as `HOOK DOMAIN OPERATION
/// SUB-OPERATION EXTRA`, with the domain's XML on stdin.
#[derive(Debug, Args)]
pub struct LibvirtHookArgs {
    /// The service's control socket (default: the packaged unit's, /run/proxy-wifi/control.sock).
    #[arg(long, value_name = "PATH")]
    pub control_socket: Option<PathBuf>,
    /// The domain's name (libvirt's $1).
    pub domain: String,
    /// The operation (libvirt's $2): `started` and `reconnect` add the VM's CID, `stopped`
    /// and `release` remove it, others are ignored.
    pub operation: String,
    /// libvirt's sub-operation and extra argument ($3, $4), not used.
    #[arg(num_args = 0..=2, allow_hyphen_values = true)]
    pub rest: Vec<String>,
}

/// `proxy-wifi ctl`.
#[derive(Debug, Args)]
pub struct CtlArgs {
    /// The service's control socket, as given to `serve --control-socket` (default: as
    /// `serve` chooses it). `--socket` is the old name.
    #[arg(long, value_name = "PATH", alias = "socket")]
    pub control_socket: Option<PathBuf>,
    /// Print the answer as JSON.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: CtlCommand,
}

/// Operator commands.
#[derive(Debug, Clone, Subcommand, serde::Serialize, serde::Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum CtlCommand {
    /// Simulated mode: the host loses its connection (the guest is told if it used it).
    HostDisconnect,
    /// Simulated mode: the host joins the first open or WPA2-PSK simulated network.
    HostConnect {
        /// Which network.
        #[arg(value_enum)]
        kind: HostNetworkArg,
    },
    /// Simulated mode: the host connection's link quality changes (0-100 %; the guest gets
    /// q/2-100 dBm).
    Signal {
        /// Link quality in percent.
        #[arg(value_parser = clap::value_parser!(u32).range(0..=100))]
        percent: u32,
    },
    /// Simulated mode: the host finishes a scan; all networks go to the guest.
    ScanResults,
    /// Simulated mode: scans answer at once (sync) or first result now and the rest by
    /// notification (async).
    ScanMode {
        /// sync or async.
        #[arg(value_enum)]
        mode: ScanModeArg,
    },
    /// Version, uptime, addresses, interfaces, each guest (requests, session, connection,
    /// notifications) and counters; `--json` gives the same as one structured object.
    Status,
    /// List, add or remove the guests a running service accepts (vsock CIDs, hybrid-vsock
    /// VMM sockets, TCP addresses with `serve --dynamic-guests`).
    Guest {
        /// What to do.
        #[command(subcommand)]
        action: CtlGuestCommand,
    },
    /// Stop the service cleanly (as Ctrl-C does); the way to stop it where no signal can be
    /// sent, e.g. a Windows process without a console.
    Shutdown,
}

/// `ctl guest` actions.
#[derive(Debug, Clone, Subcommand, serde::Serialize, serde::Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum CtlGuestCommand {
    /// The guests the service accepts.
    List,
    /// Serve a guest from its next connection: vsock:CID, hybrid-vsock:PATH (the service
    /// starts listening on PATH_PORT), or tcp:IP (a `serve --dynamic-guests` over tcp).
    Add {
        /// The guest: vsock:CID, hybrid-vsock:PATH or tcp:IP.
        #[arg(value_parser = parse_guest_id)]
        guest: GuestId,
    },
    /// Refuse a guest from its next connection and end its session (a connection the host
    /// made for it is disconnected; a hybrid-vsock listener is closed and its file removed).
    Remove {
        /// The guest, as `ctl guest list` shows it.
        #[arg(value_parser = parse_guest_id)]
        guest: GuestId,
    },
}

/// Reads a guest of `ctl guest add|remove`; a relative hybrid-vsock path is made absolute
/// here, since the service runs in another directory.
pub fn parse_guest_id(text: &str) -> Result<GuestId, String> {
    match text.parse::<GuestId>().map_err(|e| e.to_string())? {
        GuestId::HybridVsock(path) => {
            std::path::absolute(&path).map(GuestId::HybridVsock).map_err(|e| format!("{}: {e}", path.display()))
        }
        guest => Ok(guest),
    }
}

/// `ctl host-connect` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostNetworkArg {
    /// The first open network.
    Open,
    /// The first WPA2-PSK network.
    Psk,
}

/// `ctl scan-mode` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScanModeArg {
    /// All results at once.
    Sync,
    /// First result now, the rest by notification.
    Async,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guest_argument_may_end_with_its_driver_generation() {
        assert_eq!(parse_guest_arg::<u32>("7"), Ok(GuestArg { guest: 7, abi: None }));
        assert_eq!(parse_guest_arg::<u32>("7:legacy"), Ok(GuestArg { guest: 7, abi: Some(GuestAbi::Legacy) }));
        assert_eq!(parse_guest_arg::<u32>("8:current"), Ok(GuestArg { guest: 8, abi: Some(GuestAbi::Current) }));
        let path = parse_guest_arg::<PathBuf>("/run/a:b/vm.vsock:legacy").unwrap();
        assert_eq!((path.guest, path.abi), (PathBuf::from("/run/a:b/vm.vsock"), Some(GuestAbi::Legacy)));
        let path = parse_guest_arg::<PathBuf>("/run/a:b").unwrap();
        assert_eq!((path.guest, path.abi), (PathBuf::from("/run/a:b"), None));
    }

    #[test]
    fn a_bad_generation_or_value_names_what_is_wrong() {
        assert_eq!(
            parse_guest_arg::<u32>("7:old").unwrap_err(),
            "guest ABI \"old\" is unknown; valid values are current and legacy"
        );
        assert!(parse_guest_arg::<u32>("seven:legacy").unwrap_err().starts_with("\"seven\": "));
        assert!(parse_guest_arg::<u32>("x").unwrap_err().starts_with("\"x\": "));
    }
}
