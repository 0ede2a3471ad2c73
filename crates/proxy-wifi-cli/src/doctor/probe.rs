//! Gathers the facts `guest doctor` judges, on a Linux guest.

use std::io;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use proxy_wifi_guest::{GuestClient, GuestConfig, GuestError};
use serde::Deserialize;

use super::{Findings, HostAnswer, Install, LoadAttempt, MODULE_NAME, PortState, ProxyLink, Target};
use crate::cli::GuestArgs;

/// `VMADDR_CID_ANY`: the wildcard the driver's notification listener binds.
const VMADDR_CID_ANY: u32 = u32::MAX;

/// The driver's addresses: the loaded module's parameters where it has them, otherwise
/// the command line's values.
pub fn target(args: &GuestArgs) -> Target {
    let parameters = Path::new("/sys/module").join(MODULE_NAME).join("parameters");
    let read = |name: &str| -> Option<u32> { std::fs::read_to_string(parameters.join(name)).ok()?.trim().parse().ok() };
    let (cid, request, notification) = (read("host_cid"), read("request_port"), read("notification_port"));
    Target {
        host_cid: cid.unwrap_or(args.cid),
        request_port: request.unwrap_or(args.request_port.into()),
        notification_port: notification.unwrap_or(args.notification_port.into()),
        from_module: cid.is_some() || request.is_some() || notification.is_some(),
    }
}

/// Looks at the module, the links, vsock, the notification port and the host; `install`
/// comes from [`installation`].
pub async fn gather(target: &Target, timeout: Duration, install: Install) -> Findings {
    let vsock_device = Path::new("/dev/vsock").exists();
    let host = if vsock_device { ask_host_for_a_scan(target, timeout).await } else { HostAnswer::NotTried };
    Findings {
        module_loaded: module_loaded(Path::new("/")),
        install,
        links: proxy_links(),
        vsock_device,
        local_cid: vsock::get_local_cid().map_err(|e| e.to_string()),
        notification_port: notification_port_state(target.notification_port),
        host,
    }
}

/// The driver's installation for the running kernel. As root, when the module is
/// installed but not loaded, runs `modprobe proxy_wifi` once, and then gives the module's
/// auto link up to 2 s to appear.
pub async fn installation() -> Install {
    let root = Path::new("/");
    let mut install = installed(root);
    if install.module_installed && !module_loaded(root) {
        install.load = if nix::unistd::geteuid().is_root() { load_module(root) } else { LoadAttempt::NotRoot };
    }
    (install.auto_link, install.lower) = link_parameters(root);
    if install.load == LoadAttempt::Loaded && install.auto_link == Some(true) {
        wait_for_a_link(Duration::from_secs(2)).await;
    }
    install
}

/// What is installed under `root` (`/` on a live system) for the kernel it runs: the
/// module, DKMS source trees, kernel headers. The load attempt and parameters are left out.
pub(super) fn installed(root: &Path) -> Install {
    let kernel = std::fs::read_to_string(root.join("proc/sys/kernel/osrelease"))
        .ok()
        .map(|release| release.trim().to_owned())
        .filter(|release| !release.is_empty());
    let modules = kernel.as_ref().map(|release| root.join("lib/modules").join(release));
    Install {
        module_installed: modules
            .as_ref()
            .is_some_and(|dir| lists_the_module(&std::fs::read_to_string(dir.join("modules.dep")).unwrap_or_default())),
        headers: modules.is_some_and(|dir| dir.join("build").exists()),
        dkms_sources: dkms_sources(root),
        kernel,
        ..Install::default()
    }
}

/// Whether a `modules.dep` has a line for the module (`.../proxy_wifi.ko[.xz|.zst|.gz]:`).
pub(super) fn lists_the_module(modules_dep: &str) -> bool {
    let names = ["", ".xz", ".zst", ".gz"].map(|compression| format!("{MODULE_NAME}.ko{compression}"));
    modules_dep.lines().filter_map(|line| line.split_once(':')).any(|(path, _)| {
        let file = path.trim().rsplit('/').next().unwrap_or_default();
        names.iter().any(|name| name == file)
    })
}

/// The versions of the DKMS source trees `root/usr/src/proxy_wifi-VERSION`, oldest first.
fn dkms_sources(root: &Path) -> Vec<String> {
    let prefix = format!("{MODULE_NAME}-");
    let entries = std::fs::read_dir(root.join("usr/src")).into_iter().flatten().flatten();
    let mut versions: Vec<String> =
        entries.filter_map(|entry| entry.file_name().to_str()?.strip_prefix(&prefix).map(str::to_owned)).collect();
    versions.sort_by_key(|version| {
        version.split(['.', '-', '+', '~']).map(|part| part.parse::<u64>().unwrap_or(0)).collect::<Vec<_>>()
    });
    versions
}

fn module_loaded(root: &Path) -> bool {
    root.join("sys/module").join(MODULE_NAME).exists()
}

/// The loaded module's `auto_link` and (non-empty) `lower` parameters under `root`.
pub(super) fn link_parameters(root: &Path) -> (Option<bool>, Option<String>) {
    let parameters = root.join("sys/module").join(MODULE_NAME).join("parameters");
    let read = |name: &str| Some(std::fs::read_to_string(parameters.join(name)).ok()?.trim().to_owned());
    (read("auto_link").map(|value| value == "Y" || value == "1"), read("lower").filter(|value| !value.is_empty()))
}

/// Runs `modprobe proxy_wifi`.
fn load_module(root: &Path) -> LoadAttempt {
    let failed = |error: String| LoadAttempt::Failed { error, kernel_log: kernel_log() };
    match Command::new("modprobe").arg(MODULE_NAME).output() {
        Err(error) => failed(format!("cannot run modprobe: {error}")),
        Ok(output) if !output.status.success() => failed(modprobe_error(&output.stderr)),
        Ok(_) if !module_loaded(root) => {
            failed(format!("modprobe succeeded, yet /sys/module/{MODULE_NAME} does not exist (a modprobe.d rule?)"))
        }
        Ok(_) => LoadAttempt::Loaded,
    }
}

/// modprobe's error message: its non-empty stderr lines, joined.
fn modprobe_error(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|line| !line.is_empty()).collect();
    if lines.is_empty() { "modprobe failed without a message".into() } else { lines.join("; ") }
}

/// The last kernel log lines about the module; none when `dmesg` cannot read the log.
fn kernel_log() -> Vec<String> {
    match Command::new("dmesg").output() {
        Ok(output) if output.status.success() => last_mentions(&String::from_utf8_lossy(&output.stdout), 3),
        _ => Vec::new(),
    }
}

/// The last `count` lines of a log that mention the module.
pub(super) fn last_mentions(log: &str, count: usize) -> Vec<String> {
    let lines: Vec<&str> = log.lines().filter(|line| line.contains(MODULE_NAME)).collect();
    lines[lines.len().saturating_sub(count)..].iter().map(|line| line.trim().to_owned()).collect()
}

/// Waits until a `proxy_wifi` link exists, at most `limit`.
async fn wait_for_a_link(limit: Duration) {
    let started = Instant::now();
    while started.elapsed() < limit {
        if proxy_links().is_ok_and(|links| !links.is_empty()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One interface of `ip -details -json link show`.
#[derive(Debug, Deserialize)]
struct IpLink {
    ifname: String,
    #[serde(default)]
    flags: Vec<String>,
    /// The lower device of a stacked link.
    link: Option<String>,
    linkinfo: Option<IpLinkInfo>,
}

#[derive(Debug, Deserialize)]
struct IpLinkInfo {
    info_kind: Option<String>,
}

/// The `proxy_wifi` links in the JSON that `ip -details -json link show` prints.
pub(super) fn parse_ip_links(json: &str) -> Result<Vec<ProxyLink>, String> {
    let links: Vec<IpLink> = serde_json::from_str(json).map_err(|e| format!("unexpected `ip -json` output: {e}"))?;
    Ok(links
        .into_iter()
        .filter(|l| l.linkinfo.as_ref().and_then(|i| i.info_kind.as_deref()) == Some(MODULE_NAME))
        .map(|l| ProxyLink { up: l.flags.iter().any(|f| f == "UP"), name: l.ifname, lower: l.link })
        .collect())
}

fn proxy_links() -> Result<Vec<ProxyLink>, String> {
    let output = Command::new("ip")
        .args(["-details", "-json", "link", "show"])
        .output()
        .map_err(|e| format!("cannot run `ip` (iproute2): {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`ip -details -json link show` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    parse_ip_links(&String::from_utf8_lossy(&output.stdout))
}

fn notification_port_state(port: u32) -> PortState {
    match vsock::VsockListener::bind_with_cid_port(VMADDR_CID_ANY, port) {
        // Dropping the listener closes it at once: the port is free again for the driver.
        Ok(_listener) => PortState::Free,
        Err(error) if error.kind() == io::ErrorKind::AddrInUse => PortState::Held,
        Err(error) => PortState::Unknown(error.to_string()),
    }
}

async fn ask_host_for_a_scan(target: &Target, timeout: Duration) -> HostAnswer {
    let mut config = GuestConfig::vsock(target.host_cid);
    config.request_port = match u16::try_from(target.request_port) {
        Ok(port) => port,
        Err(_) => return HostAnswer::BadAnswer(format!("request port {} is above 65535", target.request_port)),
    };
    config.io_timeout = timeout;
    let started = Instant::now();
    match GuestClient::new(config).scan(None).await {
        Ok(response) => HostAnswer::Scanned { networks: response.bss.len(), elapsed: started.elapsed() },
        Err(error) => classify(error),
    }
}

fn classify(error: GuestError) -> HostAnswer {
    let text = error.to_string();
    match error {
        GuestError::Connect { .. } => HostAnswer::Refused(text),
        GuestError::ConnectTimeout { .. } | GuestError::Timeout { .. } => HostAnswer::TimedOut(text),
        GuestError::Closed { .. } => HostAnswer::Closed(text),
        _ => HostAnswer::BadAnswer(text),
    }
}
