//! Gathers the facts `guest doctor` judges, on a Linux guest.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use proxy_wifi_guest::{GuestClient, GuestConfig, GuestError};
use serde::Deserialize;

use super::{Findings, HostAnswer, MODULE_NAME, PortState, ProxyLink, Target};
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

/// Looks at the module, the links, vsock, the notification port and the host.
pub async fn gather(target: &Target, timeout: Duration) -> Findings {
    let vsock_device = Path::new("/dev/vsock").exists();
    let host = if vsock_device { ask_host_for_a_scan(target, timeout).await } else { HostAnswer::NotTried };
    Findings {
        module_loaded: Path::new("/sys/module").join(MODULE_NAME).exists(),
        links: proxy_links(),
        vsock_device,
        local_cid: vsock::get_local_cid().map_err(|e| e.to_string()),
        notification_port: notification_port_state(target.notification_port),
        host,
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
    let output = std::process::Command::new("ip")
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
