//! `proxy-wifi guest doctor`: run inside a VM, checks each link of the chain the
//! `proxy_wifi` driver depends on, and says what to do about each one that is broken.
//!
//! The checks, in the order a request travels:
//! 1. the `proxy_wifi` kernel module is loaded;
//! 2. a `proxy_wifi` link exists (`ip link add link eth0 name wlan0 type proxy_wifi`) and is up;
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

/// Everything the checks look at, gathered once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Findings {
    /// Whether `/sys/module/proxy_wifi` exists.
    pub module_loaded: bool,
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
    checks.push(if findings.module_loaded {
        Check::new("module", Verdict::Ok, format!("{MODULE_NAME} is loaded"), None)
    } else {
        Check::new(
            "module",
            Verdict::Fail,
            format!("{MODULE_NAME} is not loaded"),
            Some(format!(
                "load it with `modprobe {MODULE_NAME}`; if modprobe cannot find it, install the guest driver \
                 (guest/linux in the proxy-wifi sources: `make && sudo make install`, or its DKMS package)"
            )),
        )
    });
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
    let create = "create it on top of the VM's Ethernet device: `ip link add link eth0 name wlan0 type proxy_wifi` \
                  (loading the module alone creates no interface)";
    match links.iter().find(|link| link.up).or(links.first()) {
        None => Check::new("link", Verdict::Fail, "no proxy_wifi link exists", Some(create.into())),
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
        let target = probe::target(args);
        let findings = probe::gather(&target, Duration::from_secs(args.timeout)).await;
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
