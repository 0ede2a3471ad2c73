//! `proxy-wifi guest doctor`: run inside a VM, checks each link of the chain the
//! `proxy_wifi` driver depends on, and says what to do about each one that is broken.
//!
//! The checks, in the order a request travels:
//! 1. the `proxy_wifi` kernel module is loaded; when it is not, why: a kernel older than
//!    6.1, the driver not installed for the running kernel, DKMS without that kernel's
//!    headers, DKMS not having built it, or a module that does not load. Run as root, the
//!    doctor tries `modprobe proxy_wifi` once to find out: on failure it reports
//!    modprobe's error (and the kernel log's lines about the module), on success it
//!    warns, leaves the module loaded and checks the rest with it;
//! 2. a `proxy_wifi` link exists (made by the module's `auto_link=1`, or by
//!    `ip link add link eth0 name wlan0 type proxy_wifi`) and is up;
//! 3. `/dev/vsock` exists (the VM has a vsock device and its transport driver is loaded);
//! 4. the driver's notification listener holds its port;
//! 5. the host answers a scan at (host CID, request port), as the driver would send it.
//!
//! Gathering the facts ([`probe`], Linux only) is kept apart from judging them
//! ([`diagnose`]), so every verdict and hint is tested without a VM.
// Judging is platform-independent (and tested everywhere); only the probe, and so the
// command itself, is Linux's: elsewhere the judging code has no caller outside tests.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

#[cfg(target_os = "linux")]
mod probe;

use std::process::ExitCode;
use std::time::Duration;

use serde::Serialize;

use crate::cli::GuestArgs;

/// The driver's module name, as in `/sys/module` and `modprobe`.
pub const MODULE_NAME: &str = "proxy_wifi";

/// Where the driver sends its requests and listens for notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Target {
    /// The host's vsock context id (2 for a real VM).
    pub host_cid: u32,
    /// The host's request port.
    pub request_port: u32,
    /// The guest's notification port.
    pub notification_port: u32,
    /// Whether these values were read from the loaded module's parameters.
    pub from_module: bool,
}

/// A `proxy_wifi` network interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProxyLink {
    /// Interface name, e.g. `wlan0`.
    pub name: String,
    /// Whether the interface is administratively up.
    pub up: bool,
    /// The Ethernet device it is stacked on, when known.
    pub lower: Option<String>,
}

/// Who holds the notification port on `VMADDR_CID_ANY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortState {
    /// Binding it failed with "address in use": the driver (or something) listens.
    Held,
    /// Binding it succeeded: nobody listens there.
    Free,
    /// The check itself failed.
    Unknown(String),
}

/// How the host answered the doctor's scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostAnswer {
    /// A scan response with this many networks.
    Scanned {
        /// Networks in the answer.
        networks: usize,
        /// Time from connect to answer.
        elapsed: Duration,
    },
    /// The connection was refused or reset: nothing listens at the address.
    Refused(String),
    /// No connection or no answer within the time allowed.
    TimedOut(String),
    /// The connection was accepted, then closed without an answer (a service that does
    /// not serve this VM does that).
    Closed(String),
    /// Something answered, but not with a valid scan response.
    BadAnswer(String),
    /// Not tried, because vsock is unusable.
    NotTried,
}

/// The oldest kernel (major, minor) the driver supports.
pub const OLDEST_KERNEL: (u32, u32) = (6, 1);

/// What the doctor's own `modprobe proxy_wifi` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum LoadAttempt {
    /// Not tried: the module was loaded already, or is not installed.
    #[default]
    NotTried,
    /// Not tried because the doctor does not run as root.
    NotRoot,
    /// The doctor loaded the module.
    Loaded,
    /// modprobe failed.
    Failed {
        /// modprobe's error message.
        error: String,
        /// The last kernel log lines that mention `proxy_wifi` (empty when unreadable).
        kernel_log: Vec<String>,
    },
}

/// How the driver is installed for the running kernel, and what loading it did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Install {
    /// The running kernel's release (`/proc/sys/kernel/osrelease`), when readable.
    pub kernel: Option<String>,
    /// Whether `/lib/modules/KVER/modules.dep` lists a `proxy_wifi` module.
    pub module_installed: bool,
    /// The versions of the DKMS source trees `/usr/src/proxy_wifi-VERSION`, oldest first.
    pub dkms_sources: Vec<String>,
    /// Whether `/lib/modules/KVER/build` (the kernel headers DKMS builds against) exists.
    pub headers: bool,
    /// What the doctor's `modprobe` did.
    pub load: LoadAttempt,
    /// The loaded module's `auto_link` parameter (`None`: not loaded, or no such parameter).
    pub auto_link: Option<bool>,
    /// The loaded module's `lower` parameter, when not empty.
    pub lower: Option<String>,
}

/// Everything the checks look at, gathered once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Findings {
    /// Whether `/sys/module/proxy_wifi` exists (after the doctor's own load, if any).
    pub module_loaded: bool,
    /// The driver's installation, and the doctor's attempt to load it.
    pub install: Install,
    /// The `proxy_wifi` links, or why they could not be listed.
    pub links: Result<Vec<ProxyLink>, String>,
    /// Whether `/dev/vsock` exists.
    pub vsock_device: bool,
    /// This VM's own context id, or why it is unknown.
    pub local_cid: Result<u32, String>,
    /// The notification port's state.
    pub notification_port: PortState,
    /// The host's answer to a scan.
    pub host: HostAnswer,
}

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Works.
    Ok,
    /// Works, but something deserves a look.
    Warn,
    /// Broken: the driver cannot work until it is fixed.
    Fail,
    /// Not checked, because an earlier check failed.
    Skipped,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Short name, e.g. `module`.
    pub name: &'static str,
    /// The verdict.
    pub verdict: Verdict,
    /// What was found.
    pub detail: String,
    /// What to do about it (for warnings and failures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Check {
    fn new(name: &'static str, verdict: Verdict, detail: impl Into<String>, hint: Option<String>) -> Self {
        Check { name, verdict, detail: detail.into(), hint }
    }
}

/// Judges the findings: one [`Check`] per link of the chain, each failure with a hint.
pub fn diagnose(findings: &Findings, target: &Target) -> Vec<Check> {
    let mut checks = Vec::new();
    checks.push(module_check(findings));
    checks.push(link_check(findings));
    checks.push(if findings.vsock_device {
        let detail = match &findings.local_cid {
            Ok(cid) => format!("/dev/vsock is present; this VM's context id is {cid}"),
            Err(error) => format!("/dev/vsock is present; this VM's context id is unknown ({error})"),
        };
        Check::new("vsock", Verdict::Ok, detail, None)
    } else {
        Check::new(
            "vsock",
            Verdict::Fail,
            "/dev/vsock is missing",
            Some(
                "give the VM a vsock device (QEMU: -device vhost-vsock-pci,guest-cid=N; libvirt: <vsock model='virtio'>; \
                 Firecracker/cloud-hypervisor: a vsock device with a Unix socket) and load its guest transport \
                 (`modprobe vmw_vsock_virtio_transport`)"
                    .into(),
            ),
        )
    });
    checks.push(notification_check(findings, target));
    checks.push(host_check(findings, target));
    checks
}

/// `sudo modprobe -r proxy_wifi && sudo modprobe proxy_wifi`: applies a changed setting.
const RELOAD: &str = "`sudo modprobe -r proxy_wifi && sudo modprobe proxy_wifi`";

fn module_check(findings: &Findings) -> Check {
    let install = &findings.install;
    if findings.module_loaded {
        return if install.load == LoadAttempt::Loaded {
            Check::new(
                "module",
                Verdict::Warn,
                format!("{MODULE_NAME} was not loaded; the doctor loaded it"),
                Some(format!(
                    "it loads at boot through /usr/lib/modules-load.d/{MODULE_NAME}.conf, which the \
                     proxy-wifi-dkms package installs; without the package: \
                     `echo {MODULE_NAME} | sudo tee /etc/modules-load.d/{MODULE_NAME}.conf`"
                )),
            )
        } else {
            Check::new("module", Verdict::Ok, format!("{MODULE_NAME} is loaded"), None)
        };
    }
    match install.kernel.as_deref() {
        Some(kver) => why_not_loaded(install, kver),
        None => Check::new(
            "module",
            Verdict::Fail,
            format!("{MODULE_NAME} is not loaded (and the running kernel's release is unreadable)"),
            Some(format!("load it with `sudo modprobe {MODULE_NAME}`; if modprobe cannot find it, {}", INSTALL)),
        ),
    }
}

/// How to install the driver.
const INSTALL: &str = "install it: `sudo apt install proxy-wifi-dkms` (Debian/Ubuntu) or, from the proxy-wifi \
                       sources on a system with DKMS (Fedora, Arch), `sudo make -C guest/linux dkms-install`";

/// The module is not loaded on kernel `kver`: the first reason found, with its fix.
fn why_not_loaded(install: &Install, kver: &str) -> Check {
    let fail = |detail: String, hint: String| Check::new("module", Verdict::Fail, detail, Some(hint));
    if kernel_older_than(kver, OLDEST_KERNEL) {
        let (major, minor) = OLDEST_KERNEL;
        return fail(
            format!("the running kernel {kver} is older than {major}.{minor}, the oldest {MODULE_NAME} supports"),
            format!("boot a kernel {major}.{minor} or newer (the distribution's current or backports kernel)"),
        );
    }
    if let LoadAttempt::Failed { error, kernel_log } = &install.load {
        return fail(
            format!("{MODULE_NAME} is installed for {kver} but does not load: {error}"),
            load_failure_hint(kver, error, kernel_log),
        );
    }
    if install.module_installed {
        let mut hint = format!("load it with `sudo modprobe {MODULE_NAME}`");
        if install.load == LoadAttempt::NotRoot {
            hint.push_str("; run `sudo proxy-wifi guest doctor` to see why it does not load");
        }
        return fail(format!("{MODULE_NAME} is installed for {kver} but not loaded"), hint);
    }
    not_built(install, kver)
}

/// The module is not installed for kernel `kver`: whether DKMS could build it, and how.
fn not_built(install: &Install, kver: &str) -> Check {
    let fail = |detail: String, hint: String| Check::new("module", Verdict::Fail, detail, Some(hint));
    match install.dkms_sources.last() {
        None => fail(
            format!("{MODULE_NAME} is not installed for kernel {kver}"),
            format!("{INSTALL}; then `sudo modprobe {MODULE_NAME}`"),
        ),
        Some(version) if !install.headers => fail(
            format!(
                "{MODULE_NAME} {version} is installed for DKMS, but not the headers of kernel {kver} \
                 (/lib/modules/{kver}/build) it builds against"
            ),
            format!(
                "install them: `sudo apt install linux-headers-{kver}` (Fedora: `sudo dnf install \
                 kernel-devel-{kver}`, Arch: `sudo pacman -S linux-headers`), then build the module: \
                 `sudo dkms autoinstall -k {kver}`"
            ),
        ),
        Some(version) => fail(
            format!("DKMS has not built {MODULE_NAME} {version} for {kver}"),
            format!(
                "build it with `sudo dkms autoinstall -k {kver}`; its build log is \
                 /var/lib/dkms/{MODULE_NAME}/{version}/build/make.log (DKMS skips kernels without cfg80211 \
                 or vsock)"
            ),
        ),
    }
}

/// The fix for a module that modprobe could not load, from its error and the kernel log.
fn load_failure_hint(kver: &str, error: &str, kernel_log: &[String]) -> String {
    let says = |text: &str| error.contains(text) || kernel_log.iter().any(|line| line.contains(text));
    let mut hint = if says("Key was rejected by service") || says("Required key not available") {
        "Secure Boot refuses the module's signature: enroll DKMS's key (`sudo mokutil --import \
         /var/lib/dkms/mok.pub`, then reboot and confirm it in the MOK manager) or disable Secure Boot"
            .to_string()
    } else if says("Exec format error") || says("Invalid module format") {
        format!(
            "the module was built for another kernel: rebuild it for {kver} with `sudo dkms autoinstall -k {kver}` \
             (without DKMS: `make -C guest/linux && sudo make -C guest/linux install`)"
        )
    } else if says("Unknown symbol") {
        format!(
            "the kernel lacks cfg80211 or vsock, which {MODULE_NAME} needs: `sudo modprobe -a cfg80211 vsock` \
             (missing? Ubuntu ships them in linux-modules-extra-{kver})"
        )
    } else {
        format!("the kernel log says why: `dmesg | grep {MODULE_NAME}`")
    };
    if !kernel_log.is_empty() {
        hint.push_str(&format!("; kernel log: {}", kernel_log.join(" | ")));
    }
    hint
}

/// Whether a kernel release (`6.1.0-13-amd64`) is older than `(major, minor)`; `false`
/// when it does not start with a version.
pub fn kernel_older_than(release: &str, (major, minor): (u32, u32)) -> bool {
    let mut numbers = release.split(['.', '-']).map(|part| part.parse::<u32>().ok());
    match (numbers.next().flatten(), numbers.next().flatten()) {
        (Some(a), Some(b)) => (a, b) < (major, minor),
        (Some(a), None) => a < major,
        _ => false,
    }
}

fn link_check(findings: &Findings) -> Check {
    let links = match &findings.links {
        Err(error) => {
            return Check::new(
                "link",
                Verdict::Warn,
                format!("cannot list network links: {error}"),
                Some("check by hand with `ip -details link show`".into()),
            );
        }
        Ok(links) => links,
    };
    match links.iter().find(|link| link.up).or(links.first()) {
        None => no_link(findings),
        Some(link) => {
            let lower = link.lower.as_deref().map(|l| format!(" on {l}")).unwrap_or_default();
            if link.up {
                Check::new("link", Verdict::Ok, format!("{}{lower} is up", link.name), None)
            } else {
                Check::new(
                    "link",
                    Verdict::Fail,
                    format!("{}{lower} is down", link.name),
                    Some(format!(
                        "bring it up with `ip link set {} up` (wpa_supplicant and NetworkManager do it themselves)",
                        link.name
                    )),
                )
            }
        }
    }
}

/// The link check when no `proxy_wifi` link exists: why, from the module's parameters.
fn no_link(findings: &Findings) -> Check {
    let by_hand = "`ip link add link eth0 name wlan0 type proxy_wifi`";
    let settings = format!("/etc/modprobe.d/{MODULE_NAME}.conf");
    let install = &findings.install;
    let (detail, hint) = if !findings.module_loaded {
        (
            "no proxy_wifi link exists".to_string(),
            format!(
                "once the module is loaded, it creates the link itself with `options proxy_wifi auto_link=1` in \
                 {settings} (the package's setting); otherwise create it on top of the VM's Ethernet device: \
                 {by_hand}"
            ),
        )
    } else if install.auto_link == Some(true) {
        let found = match &install.lower {
            Some(lower) => format!("no device named {lower} (its lower parameter)"),
            None => "no Ethernet NIC".to_string(),
        };
        (
            format!("no proxy_wifi link exists: the module's auto_link found {found} to attach to"),
            format!(
                "name the VM's Ethernet device (`ip -br link` lists them): `options proxy_wifi auto_link=1 lower=DEV` \
                 in {settings}, then reload the module ({RELOAD}); or create the link by hand: {by_hand}"
            ),
        )
    } else {
        (
            "no proxy_wifi link exists (the module's auto_link is off)".to_string(),
            format!(
                "create it on top of the VM's Ethernet device: {by_hand}; or have the module create it: \
                 `options proxy_wifi auto_link=1` in {settings}, then reload the module ({RELOAD})"
            ),
        )
    };
    Check::new("link", Verdict::Fail, detail, Some(hint))
}

fn notification_check(findings: &Findings, target: &Target) -> Check {
    let port = target.notification_port;
    if !findings.vsock_device {
        return Check::new("notifications", Verdict::Skipped, "no vsock device", None);
    }
    match &findings.notification_port {
        PortState::Held => Check::new(
            "notifications",
            Verdict::Ok,
            format!("vsock port {port} is held (the driver's notification listener)"),
            None,
        ),
        PortState::Free => Check::new(
            "notifications",
            Verdict::Fail,
            format!("nothing listens on vsock port {port}"),
            Some(if findings.module_loaded {
                "the driver listens once a proxy_wifi link exists: create the link; if it exists, check the \
                 module's notification port (`modinfo proxy_wifi`, /sys/module/proxy_wifi/parameters)"
                    .into()
            } else {
                "load the module and create the link: the driver starts its listener then".into()
            }),
        ),
        PortState::Unknown(error) => Check::new(
            "notifications",
            Verdict::Warn,
            format!("cannot tell whether vsock port {port} is held: {error}"),
            None,
        ),
    }
}

fn host_check(findings: &Findings, target: &Target) -> Check {
    let at = format!("vsock CID {} port {}", target.host_cid, target.request_port);
    let serve_hint = || match &findings.local_cid {
        Ok(cid) => format!(
            "on the host, run `proxy-wifi serve --guest-cid {cid}` (or --any-guest, or --vmm-socket PATH for \
             Firecracker/cloud-hypervisor), with the same request port"
        ),
        Err(_) => "on the host, run `proxy-wifi serve --guest-cid <this VM's CID>` with the same request port".into(),
    };
    match &findings.host {
        HostAnswer::NotTried => Check::new("host", Verdict::Skipped, "vsock is not usable", None),
        HostAnswer::Scanned { networks, elapsed } => Check::new(
            "host",
            if *networks == 0 { Verdict::Warn } else { Verdict::Ok },
            format!("the host at {at} answered a scan with {networks} networks in {} ms", elapsed.as_millis()),
            (*networks == 0).then(|| {
                "the host has no Wi-Fi networks to show: check its Wi-Fi (or run it with --mode simulated)".into()
            }),
        ),
        HostAnswer::Refused(error) => {
            Check::new("host", Verdict::Fail, format!("nothing answers at {at}: {error}"), Some(serve_hint()))
        }
        HostAnswer::TimedOut(error) => Check::new(
            "host",
            Verdict::Fail,
            format!("no answer from {at}: {error}"),
            Some(format!(
                "{}; if it runs, it may not accept this VM: check its log for a refused connection",
                serve_hint()
            )),
        ),
        HostAnswer::Closed(error) => Check::new(
            "host",
            Verdict::Fail,
            format!("the host at {at} closed the connection without an answer: {error}"),
            Some(format!(
                "proxy-wifi closes connections from VMs it does not serve (its log says so): {}",
                serve_hint()
            )),
        ),
        HostAnswer::BadAnswer(error) => Check::new(
            "host",
            Verdict::Fail,
            format!("the host at {at} did not answer with a scan response: {error}"),
            Some(
                "the host speaks another protocol version or layout: check that it is proxy-wifi (or the \
                 original proxy_wifi host) and, for an older driver, `serve --guest-abi legacy`"
                    .into(),
            ),
        ),
    }
}

/// Prints the report as text lines or one JSON document.
fn print_report(target: &Target, checks: &[Check], json: bool) {
    if json {
        let value = serde_json::json!({ "target": target, "checks": checks });
        crate::say!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
        return;
    }
    for check in checks {
        let label = match check.verdict {
            Verdict::Ok => "ok  ",
            Verdict::Warn => "warn",
            Verdict::Fail => "FAIL",
            Verdict::Skipped => "skip",
        };
        crate::say!("{label}  {:<13} {}", check.name, check.detail);
        if let Some(hint) = &check.hint {
            crate::say!("      {:<13} -> {hint}", "");
        }
    }
}

/// The exit status for a report: failure when any check failed.
pub fn exit_code(checks: &[Check]) -> ExitCode {
    if checks.iter().any(|c| c.verdict == Verdict::Fail) { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

/// Runs `proxy-wifi guest doctor`.
pub async fn run(args: &GuestArgs, json: bool) -> Result<ExitCode, String> {
    #[cfg(target_os = "linux")]
    {
        // First, since loading the module changes the addresses the target reads.
        let install = probe::installation().await;
        let target = probe::target(args);
        let findings = probe::gather(&target, Duration::from_secs(args.timeout), install).await;
        let checks = diagnose(&findings, &target);
        print_report(&target, &checks, json);
        Ok(exit_code(&checks))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (args, json);
        Err("`guest doctor` checks a Linux guest: run it inside the VM".into())
    }
}

#[cfg(test)]
mod tests;
