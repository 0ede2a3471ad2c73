//! Settings of `serve` that contradict each other, rejected with the reason instead of
//! one of them being ignored in silence. Each message names the settings as the user
//! wrote them (flag, or config-file field with its line).

use std::collections::HashSet;

use proxy_wifi::OperationMode;

use crate::cli::{BackendArg, ServeArgs, TransportKind};

/// Whether a vsock CID is never a VM (0-2, `VMADDR_CID_ANY`): such a CID is served only
/// when listed, even with `--any-guest`.
fn is_reserved_cid(cid: u32) -> bool {
    cid <= 2 || cid == u32::MAX
}
use crate::config_file::SettingSources;

/// The transport `args` ask for: `--transport`, or the one their guest flags imply.
pub fn transport_kind(args: &ServeArgs) -> TransportKind {
    args.transport.unwrap_or(if !args.guest_cid.is_empty() {
        TransportKind::Vsock
    } else if args.vm_id.is_some() {
        TransportKind::Hyperv
    } else if !args.vmm_socket.is_empty() {
        TransportKind::HybridVsock
    } else {
        TransportKind::Tcp
    })
}

/// Host Wi-Fi or simulated networks: `--mode`, else simulated over TCP (the loopback test
/// setup) and host Wi-Fi when serving a VM.
pub fn operation_mode(args: &ServeArgs, kind: TransportKind) -> OperationMode {
    match args.mode {
        Some(crate::cli::ModeArg::Host) => OperationMode::Host,
        Some(crate::cli::ModeArg::Simulated) => OperationMode::Simulated,
        None if kind == TransportKind::Tcp => OperationMode::Simulated,
        None => OperationMode::Host,
    }
}

/// The name of a transport as `--transport` spells it.
pub fn transport_name(kind: TransportKind) -> &'static str {
    match kind {
        TransportKind::Tcp => "tcp",
        TransportKind::Vsock => "vsock",
        TransportKind::Hyperv => "hyperv",
        TransportKind::HybridVsock => "hybrid-vsock",
    }
}

/// Rejects settings that contradict each other, saying why.
pub fn check(args: &ServeArgs, sources: &SettingSources) -> Result<(), String> {
    let kind = transport_kind(args);
    let mode = operation_mode(args, kind);
    let s = |id: &str, value: &dyn std::fmt::Display| sources.describe(id, value);
    let first_guest = first_guest(args);

    // Guests: named ones, every one, or a list that changes.
    if args.any_guest {
        // A CID listed beside --any-guest must add something: a reserved CID (0-2, served
        // only by name) or a driver generation; a plain VM CID would be ignored.
        if let Some(cid) = args.guest_cid.iter().find(|g| g.abi.is_none() && !is_reserved_cid(g.guest)) {
            return Err(format!(
                "{} and {} contradict each other: --any-guest serves every VM that connects, --guest-cid names \
                 the only ones served; keep one (beside --any-guest, list only a reserved CID 0-2 or a CID with \
                 its driver generation, e.g. {}:legacy)",
                sources.describe_switch("any_guest"),
                s("guest_cid", &cid.guest),
                cid.guest
            ));
        }
        if args.dynamic_guests {
            return Err(format!(
                "{} and {} contradict each other: --any-guest already serves every VM; --dynamic-guests keeps a \
                 list of guests that `proxy-wifi ctl guest add|remove` changes; keep one",
                sources.describe_switch("any_guest"),
                sources.describe_switch("dynamic_guests")
            ));
        }
        if kind == TransportKind::HybridVsock || !args.vmm_socket.is_empty() {
            return Err(format!(
                "{} does not work with the hybrid-vsock transport: each VMM socket is one VM, so the service \
                 serves the sockets listed with --vmm-socket (or added with `ctl guest add hybrid-vsock:PATH`)",
                sources.describe_switch("any_guest")
            ));
        }
    }
    if let Some((id, value)) = &first_guest {
        let wanted = match *id {
            "guest_cid" => TransportKind::Vsock,
            "vm_id" => TransportKind::Hyperv,
            _ => TransportKind::HybridVsock,
        };
        if kind != wanted {
            return Err(format!(
                "{} is for --transport {}, not {} ({})",
                s(id, value),
                transport_name(wanted),
                transport_name(kind),
                s("transport", &transport_name(kind)),
            ));
        }
    }
    if args.dynamic_guests && kind == TransportKind::Hyperv {
        return Err(format!(
            "{} does not work with the hyperv transport yet: its listener is bound to one VM id; serve every VM \
             with --any-guest",
            sources.describe_switch("dynamic_guests")
        ));
    }
    if let Some(duplicate) = duplicate_guest(args) {
        return Err(format!("the guest {duplicate} is listed twice; list each VM once"));
    }

    // Addresses: TCP only.
    if kind != TransportKind::Tcp {
        for (id, value) in [("listen", Some(args.listen)), ("guest_address", args.guest_address)] {
            if let (true, Some(ip)) = (sources.is_set(id), value) {
                return Err(format!(
                    "{} is an address of the tcp transport, but the service uses {}: {}; remove it",
                    s(id, &ip),
                    transport_name(kind),
                    match kind {
                        TransportKind::Vsock => "vsock listens on the host's own context id, for every VM",
                        TransportKind::Hyperv => "Hyper-V sockets listen on the host's partition, for the VM named",
                        _ => "hybrid vsock listens on Unix sockets next to each VMM socket",
                    }
                ));
            }
        }
    }
    if let (true, Some(ip)) = (args.any_guest || args.dynamic_guests, args.guest_address) {
        return Err(format!(
            "{} contradicts {}: with several guests, notifications go to each guest's own source address",
            s("guest_address", &ip),
            sources.describe_switch(if args.any_guest { "any_guest" } else { "dynamic_guests" })
        ));
    }
    if kind == TransportKind::Tcp && !args.any_guest && !args.dynamic_guests {
        let guest_ip = args.guest_address.unwrap_or(args.listen);
        let same_ip = guest_ip == args.listen || (args.listen.is_unspecified() && guest_ip.is_loopback());
        if same_ip && args.request_port == args.notification_port {
            return Err(format!(
                "{} and {} are the same port on {guest_ip}: notifications would go to the service's own request \
                 listener; give the guest's notification listener another port",
                s("request_port", &args.request_port),
                s("notification_port", &args.notification_port)
            ));
        }
    }

    // Host Wi-Fi settings in simulated mode, and simulated networks in host mode.
    if mode == OperationMode::Simulated {
        for (id, value) in [
            ("backend", sources.is_set("backend").then(|| backend_name(args.backend).to_string())),
            ("wpa_ctrl_dir", args.wpa_ctrl_dir.as_ref().map(|d| d.display().to_string())),
        ] {
            if let Some(value) = value {
                return Err(format!(
                    "{} chooses how the host's Wi-Fi is reached, but the service runs simulated networks ({}); \
                     remove it, or serve the host's Wi-Fi with --mode host",
                    s(id, &value),
                    mode_reason(args, sources, kind)
                ));
            }
        }
    }
    if let (OperationMode::Host, Some(networks)) = (mode, &args.networks) {
        return Err(format!(
            "{} describes simulated networks, but the service serves the host's Wi-Fi ({}): add --mode simulated \
             (in host mode use --fake-network)",
            s("networks", &networks.display()),
            mode_reason(args, sources, kind)
        ));
    }
    if let (Some(dir), false) = (&args.wpa_ctrl_dir, args.backend == BackendArg::WpaSupplicant) {
        return Err(format!(
            "{} is read by the wpa-supplicant backend only, and the backend is {}; add --backend wpa-supplicant",
            s("wpa_ctrl_dir", &dir.display()),
            if sources.is_set("backend") {
                s("backend", &backend_name(args.backend))
            } else {
                "auto (the default)".into()
            },
        ));
    }

    if let (true, Some(group)) = (kind != TransportKind::HybridVsock, &args.vmm_socket_group) {
        return Err(format!(
            "{} is for --transport hybrid-vsock, not {}: only hybrid vsock creates socket files for the VMM",
            s("vmm_socket_group", group),
            transport_name(kind)
        ));
    }

    // The control socket.
    if let (true, Some(path)) = (args.no_control, &args.control_socket) {
        return Err(format!(
            "{} and {} contradict each other: one opens a control socket, the other none; keep one",
            s("control_socket", &path.display()),
            sources.describe_switch("no_control")
        ));
    }
    Ok(())
}

/// The first guest named, as (clap id, value).
fn first_guest(args: &ServeArgs) -> Option<(&'static str, String)> {
    if let Some(g) = args.guest_cid.first() {
        return Some(("guest_cid", g.guest.to_string()));
    }
    if let Some(g) = &args.vm_id {
        return Some(("vm_id", g.guest.to_string()));
    }
    args.vmm_socket.first().map(|g| ("vmm_socket", g.guest.display().to_string()))
}

/// A guest named twice, if any.
fn duplicate_guest(args: &ServeArgs) -> Option<String> {
    let mut seen = HashSet::new();
    if let Some(g) = args.guest_cid.iter().find(|g| !seen.insert(g.guest)) {
        return Some(format!("vsock:{}", g.guest));
    }
    let mut seen = HashSet::new();
    args.vmm_socket.iter().find(|g| !seen.insert(&g.guest)).map(|g| format!("hybrid-vsock:{}", g.guest.display()))
}

fn backend_name(backend: BackendArg) -> &'static str {
    match backend {
        BackendArg::Auto => "auto",
        BackendArg::WpaSupplicant => "wpa-supplicant",
        BackendArg::Networkmanager => "networkmanager",
    }
}

/// Why the service is in its mode, for messages.
fn mode_reason(args: &ServeArgs, sources: &SettingSources, kind: TransportKind) -> String {
    match args.mode {
        Some(crate::cli::ModeArg::Host) => sources.describe("mode", "host"),
        Some(crate::cli::ModeArg::Simulated) => sources.describe("mode", "simulated"),
        None if kind == TransportKind::Tcp => "the default over tcp".into(),
        None => format!("the default over {}", transport_name(kind)),
    }
}
