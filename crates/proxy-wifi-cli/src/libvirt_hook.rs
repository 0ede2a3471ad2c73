//! `proxy-wifi libvirt-hook DOMAIN OPERATION [SUB-OPERATION [EXTRA]]`: what libvirt's
//! qemu hook (`/etc/libvirt/hooks/qemu.d/proxy-wifi`, contrib/libvirt-hook) runs at every
//! step of a domain's life, with the domain's XML on stdin.
//!
//! At `started` (and `reconnect`, when libvirtd restarts with the VM running) it asks the
//! running service to accept the VM's vsock CID, read from the live XML
//! (`<vsock model='virtio'><cid auto='yes' address='N'/></vsock>`: with `auto='yes'`,
//! libvirt has written the CID it chose by then). At `stopped` and `release` it asks the
//! service to refuse it again. Other operations and domains without vsock are left alone.
//!
//! A hook that fails can stop libvirt's operation, so problems (no service, a domain XML
//! without a CID) are reported on stderr, which libvirt logs, and the hook still exits 0:
//! the VM runs, without the host's Wi-Fi.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use proxy_wifi::GuestId;

use crate::cli::{CtlCommand, CtlGuestCommand, LibvirtHookArgs};

/// Where the packaged service (contrib/proxy-wifi.service) opens its control socket: in
/// root's directory, /run/proxy-wifi.
pub const DEFAULT_SOCKET: &str = "/run/proxy-wifi/control.sock";

/// Longest domain XML read from stdin.
const MAX_XML: u64 = 16 << 20;

/// Longest the hook waits for the service: libvirt waits for its hooks while it holds
/// the domain, so a service that does not answer must not hold the VM's start up.
const SERVICE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// What the hook does for a libvirt operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Add,
    Remove,
}

fn action(operation: &str) -> Option<Action> {
    match operation {
        "started" | "reconnect" => Some(Action::Add),
        "stopped" | "release" => Some(Action::Remove),
        _ => None,
    }
}

/// The vsock CID of a domain, from its XML: `Ok(None)` when it has no vsock device.
pub fn vsock_cid(xml: &str) -> Result<Option<u32>, String> {
    let document = roxmltree::Document::parse(xml).map_err(|e| format!("the domain XML is not valid XML: {e}"))?;
    let domain = document.root_element();
    if !domain.has_tag_name("domain") {
        return Err(format!("the XML's root is <{}>, not a libvirt <domain>", domain.tag_name().name()));
    }
    let vsock = domain
        .children()
        .filter(|n| n.has_tag_name("devices"))
        .flat_map(|devices| devices.children())
        .find(|n| n.has_tag_name("vsock"));
    let Some(vsock) = vsock else { return Ok(None) };
    let cid = vsock.children().find(|n| n.has_tag_name("cid"));
    let Some(address) = cid.and_then(|cid| cid.attribute("address")) else {
        return Err("its <vsock> device has no <cid address='N'/>: with <cid auto='yes'/> libvirt writes the CID \
                    it chose into the live XML when the VM starts"
            .into());
    };
    match address.parse::<u32>() {
        Ok(cid) if (3..u32::MAX).contains(&cid) => Ok(Some(cid)),
        _ => Err(format!("its vsock CID address='{address}' is not a VM's CID (3 to 4294967294)")),
    }
}

/// Runs the hook; always exits 0 once the command line is valid (see the module notes).
pub async fn run(args: LibvirtHookArgs) -> Result<ExitCode, String> {
    let Some(action) = action(&args.operation) else {
        return Ok(ExitCode::SUCCESS);
    };
    let say = |message: String| eprintln!("proxy-wifi libvirt-hook: domain {}: {message}", args.domain);
    let mut xml = String::new();
    if let Err(error) = std::io::stdin().take(MAX_XML).read_to_string(&mut xml) {
        say(format!("cannot read the domain XML on stdin: {error}"));
        return Ok(ExitCode::SUCCESS);
    }
    let cid = match vsock_cid(&xml) {
        Ok(Some(cid)) => cid,
        Ok(None) => return Ok(ExitCode::SUCCESS),
        Err(problem) => {
            say(problem);
            return Ok(ExitCode::SUCCESS);
        }
    };
    let guest = GuestId::Vsock(cid);
    let command = CtlCommand::Guest {
        action: match action {
            Action::Add => CtlGuestCommand::Add { guest: guest.clone() },
            Action::Remove => CtlGuestCommand::Remove { guest: guest.clone() },
        },
    };
    let socket = args.control_socket.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET));
    // The default directory must be what the service makes it (a private directory of
    // this user), as for `ctl`.
    #[cfg(unix)]
    if args.control_socket.is_none() {
        let dir = std::path::Path::new(crate::control_dir::ROOT_DIR);
        if let Err(problem) = crate::control_dir::check_private(dir, proxy_wifi::socket_file::effective_uid()) {
            say(format!("{problem} (the VM runs without the host's Wi-Fi)"));
            return Ok(ExitCode::SUCCESS);
        }
    }
    match tokio::time::timeout(SERVICE_DEADLINE, crate::control::send(&socket, &command)).await {
        Ok(Ok(answer)) if answer.ok => say(answer.message),
        Ok(Ok(answer)) => say(format!("the service refused: {}", answer.message)),
        Ok(Err(error)) => say(format!("{error} (the VM runs without the host's Wi-Fi)")),
        Err(_) => say(format!(
            "the service on {} did not answer within {} s; {guest} left as it was",
            socket.display(),
            SERVICE_DEADLINE.as_secs()
        )),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STARTED: &str = include_str!("../tests/data/libvirt/started-auto-cid.xml");
    const FIXED: &str = include_str!("../tests/data/libvirt/fixed-cid.xml");
    const NO_VSOCK: &str = include_str!("../tests/data/libvirt/no-vsock.xml");
    const INACTIVE: &str = include_str!("../tests/data/libvirt/inactive-auto-cid.xml");

    #[test]
    fn the_cid_comes_from_the_live_xml_auto_assigned_or_fixed() {
        assert_eq!(vsock_cid(STARTED), Ok(Some(3)), "auto='yes' address='3', beside a PCI <address>");
        assert_eq!(vsock_cid(FIXED), Ok(Some(42)));
        assert_eq!(vsock_cid(NO_VSOCK), Ok(None));
    }

    #[test]
    fn a_missing_or_reserved_cid_and_bad_xml_are_explained() {
        assert!(vsock_cid(INACTIVE).unwrap_err().contains("no <cid address='N'/>"));
        let host = FIXED.replace("address='42'", "address='2'");
        assert!(vsock_cid(&host).unwrap_err().contains("address='2' is not a VM's CID"));
        assert!(vsock_cid("<domain>").unwrap_err().starts_with("the domain XML is not valid XML"));
        assert!(vsock_cid("<network/>").unwrap_err().contains("not a libvirt <domain>"));
    }

    #[test]
    fn only_start_and_end_of_life_operations_change_the_guests() {
        assert_eq!(action("started"), Some(Action::Add));
        assert_eq!(action("reconnect"), Some(Action::Add));
        assert_eq!(action("release"), Some(Action::Remove));
        assert_eq!(action("stopped"), Some(Action::Remove));
        for other in ["prepare", "start", "migrate", "restore", "attach"] {
            assert_eq!(action(other), None, "{other}");
        }
    }
}
