//! `proxy-wifi serve`.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::ValueEnum;
use proxy_wifi::RequestChannelConfig;
use proxy_wifi::protocol::{DEFAULT_NOTIFICATION_PORT, DEFAULT_REQUEST_PORT};
use proxy_wifi::{
    GuestAbi, GuestConnectPolicy, GuestId, OperationMode, Service, SimulatedNetwork, SsidAllowList, TransportSettings,
};
use tokio::sync::Notify;

use crate::cli::{GuestConnectArg, ServeArgs, TransportKind};
use crate::control::{self, ControlServer};
use crate::serve_messages::{self, Served};
use crate::{config_file, config_override, host_backend, networks_file, serve_rules};

/// The transport settings the flags describe (after [`serve_rules::check`]), or an error
/// naming the flag that is missing.
pub fn transport_settings(args: &ServeArgs) -> Result<(TransportKind, TransportSettings), String> {
    let kind = serve_rules::transport_kind(args);
    let request_port = u32::from(args.request_port);
    let notification_port = u32::from(args.notification_port);
    let settings = match kind {
        TransportKind::Tcp if args.any_guest => TransportSettings::TcpMulti {
            listen: std::net::SocketAddr::new(args.listen, args.request_port),
            notification_port: args.notification_port,
        },
        TransportKind::Tcp if args.dynamic_guests => TransportSettings::TcpListed {
            listen: std::net::SocketAddr::new(args.listen, args.request_port),
            guest_ips: Vec::new(),
            notification_port: args.notification_port,
        },
        TransportKind::Tcp => {
            TransportSettings::tcp(args.listen, args.request_port, args.guest_address, args.notification_port)
        }
        TransportKind::Vsock => {
            if args.guest_cid.is_empty() && !args.any_guest && !args.dynamic_guests {
                return Err("--transport vsock needs --guest-cid N (the VM's context id; QEMU: -device \
                            vhost-vsock-pci,guest-cid=N), several --guest-cid, --any-guest, or --dynamic-guests \
                            (guests added at run time by `proxy-wifi ctl guest add` or the libvirt hook)"
                    .into());
            }
            let cids: Vec<u32> = args.guest_cid.iter().map(|g| g.guest).collect();
            for &cid in &cids {
                if cid == u32::MAX {
                    return Err(format!("--guest-cid {cid} is VMADDR_CID_ANY; use --any-guest to serve every VM"));
                }
                if cid <= 2 {
                    tracing::warn!(
                        cid,
                        "guest CID 0-2 is reserved; it only makes sense for local vsock loopback tests"
                    );
                }
            }
            match (args.any_guest, cids.as_slice()) {
                (false, [cid]) if !args.dynamic_guests => {
                    TransportSettings::Vsock { guest_cid: *cid, request_port, notification_port }
                }
                (any_guest, cids) => TransportSettings::VsockMulti {
                    guest_cids: cids.to_vec(),
                    any_guest,
                    request_port,
                    notification_port,
                },
            }
        }
        TransportKind::Hyperv if args.any_guest => TransportSettings::HyperVAny { request_port, notification_port },
        TransportKind::Hyperv => {
            let vm_id = args.vm_id.as_ref().map(|v| v.guest).ok_or(
                "--transport hyperv needs --vm-id GUID (the VM's id; PowerShell: (Get-VM NAME).Id) or --any-guest",
            )?;
            TransportSettings::HyperV { vm_id, request_port, notification_port }
        }
        TransportKind::HybridVsock => {
            if args.vmm_socket.is_empty() && !args.dynamic_guests {
                return Err("--transport hybrid-vsock needs --vmm-socket PATH: the VMM's vsock Unix socket \
                            (Firecracker uds_path, cloud-hypervisor --vsock socket=), or --dynamic-guests \
                            (sockets added at run time by `proxy-wifi ctl guest add hybrid-vsock:PATH`)"
                    .into());
            }
            let sockets = args.vmm_socket.iter().map(|s| s.guest.clone()).collect();
            let socket_group = args.vmm_socket_group.as_deref().map(group_id).transpose()?;
            TransportSettings::HybridVsock { sockets, request_port, notification_port, socket_group }
        }
    };
    Ok((kind, settings))
}

/// The GID of `--vmm-socket-group`: a number, or a group name from the system's database.
fn group_id(text: &str) -> Result<u32, String> {
    if let Ok(gid) = text.parse::<u32>() {
        return Ok(gid);
    }
    #[cfg(unix)]
    match nix::unistd::Group::from_name(text) {
        Ok(Some(group)) => Ok(group.gid.as_raw()),
        Ok(None) => Err(format!("--vmm-socket-group {text}: no such group; give a group name or a numeric GID")),
        Err(e) => Err(format!("--vmm-socket-group {text}: cannot look the group up ({e}); give a numeric GID")),
    }
    #[cfg(not(unix))]
    Err(format!("--vmm-socket-group {text}: groups exist on Unix hosts only"))
}

/// The guests whose driver generation the command line names (`CID:ABI` and the like).
fn guest_abis(args: &ServeArgs) -> Vec<(GuestId, GuestAbi)> {
    let cids = args.guest_cid.iter().filter_map(|g| Some((GuestId::Vsock(g.guest), g.abi?)));
    let vms = args.vm_id.iter().filter_map(|g| Some((GuestId::HyperV(g.guest), g.abi?)));
    let vmms = args.vmm_socket.iter().filter_map(|g| Some((GuestId::HybridVsock(g.guest.clone()), g.abi?)));
    cids.chain(vms).chain(vmms).collect()
}

/// Which guests get the legacy layout, for the banner (nothing when none does).
fn abi_banner(default: GuestAbi, per_guest: &[(GuestId, GuestAbi)]) -> Option<String> {
    let listed = |abi| per_guest.iter().filter(|(_, a)| *a == abi).map(|(g, _)| g.to_string()).collect::<Vec<_>>();
    match default {
        GuestAbi::Legacy => {
            let current = listed(GuestAbi::Current);
            let except = if current.is_empty() { String::new() } else { format!(" except {}", current.join(", ")) };
            Some(format!(
                "legacy driver layout (no scan_complete, no scan-results notifications) for every guest{except}"
            ))
        }
        GuestAbi::Current => {
            let legacy = listed(GuestAbi::Legacy);
            (!legacy.is_empty()).then(|| {
                format!(
                    "legacy driver layout (no scan_complete, no scan-results notifications) for {}",
                    legacy.join(", ")
                )
            })
        }
    }
}

/// Where notifications go, for the banner.
fn notification_target(settings: &TransportSettings) -> String {
    match settings {
        TransportSettings::Tcp { guest, .. } => format!("tcp:{guest}"),
        TransportSettings::TcpMulti { notification_port, .. }
        | TransportSettings::TcpListed { notification_port, .. } => {
            format!("each guest's IP, port {notification_port}")
        }
        TransportSettings::Vsock { guest_cid, notification_port, .. } => {
            format!("vsock:{guest_cid}:{notification_port}")
        }
        TransportSettings::VsockMulti { guest_cids, any_guest: true, notification_port, .. }
            if guest_cids.is_empty() =>
        {
            format!("each guest's CID, port {notification_port}")
        }
        TransportSettings::VsockMulti { guest_cids, any_guest: true, notification_port, .. } => {
            let cids: Vec<String> = guest_cids.iter().map(u32::to_string).collect();
            format!("each guest's CID and CIDs {}, port {notification_port}", cids.join(", "))
        }
        TransportSettings::VsockMulti { guest_cids, notification_port, .. } if guest_cids.is_empty() => {
            format!("the CIDs added at run time, port {notification_port}")
        }
        TransportSettings::VsockMulti { guest_cids, notification_port, .. } => {
            let cids: Vec<String> = guest_cids.iter().map(u32::to_string).collect();
            format!("CIDs {}, port {notification_port}", cids.join(", "))
        }
        TransportSettings::HybridVsock { sockets, notification_port, .. } if sockets.is_empty() => {
            format!("guest port {notification_port} through the VMM sockets added at run time")
        }
        TransportSettings::HybridVsock { sockets, notification_port, .. } => {
            let paths: Vec<String> = sockets.iter().map(|p| p.display().to_string()).collect();
            format!("guest port {notification_port} through {}", paths.join(", "))
        }
        TransportSettings::HyperV { vm_id, notification_port, .. } => format!("hyperv:{vm_id}:{notification_port}"),
        TransportSettings::HyperVAny { notification_port, .. } => format!("each VM, service port {notification_port}"),
    }
}

fn describe_networks(networks: &[SimulatedNetwork]) -> String {
    networks.iter().map(|n| n.ssid.to_string()).collect::<Vec<_>>().join(", ")
}

/// Runs the service until Ctrl-C, SIGTERM (Ctrl-Break on Windows) or `ctl shutdown`.
/// `given`: the flags given on the command line (they override the config file).
pub async fn run(mut args: ServeArgs, given: BTreeSet<String>) -> Result<ExitCode, String> {
    let (mut sources, extras) = config_file::load(&mut args, given)?;
    let dropped = config_override::drop_dependents(&mut args, &mut sources);
    if let (Some(file), false) = (sources.file(), dropped.is_empty()) {
        tracing::info!(file = %file.display(), settings = %dropped.join(", "),
            "flags given on the command line override these settings of the config file");
    }
    let outcome = serve(args, &sources, extras, &dropped).await;
    outcome.map_err(|error| serve_messages::naming_the_file(error, &sources))
}

/// [`run`] once the settings are known.
async fn serve(
    args: ServeArgs,
    sources: &config_file::SettingSources,
    extras: config_file::FileExtras,
    dropped: &[String],
) -> Result<ExitCode, String> {
    serve_rules::check(&args, sources)?;
    if let Some(address) = args.metrics {
        crate::metrics_server::check_address(address, args.metrics_allow_remote)?;
    }
    let (kind, settings) = transport_settings(&args)?;
    let mode = serve_rules::operation_mode(&args, kind);
    check_host_mode_transport(mode, &settings, &args)?;
    let fake_networks = args
        .fake_networks
        .iter()
        .enumerate()
        .map(|(i, text)| {
            networks_file::parse_fake_network(text, i + 1)
                .map_err(|reason| format!("--fake-network {text:?}: {reason}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let simulated = match &args.networks {
        Some(path) => networks_file::load(path).map_err(|e| e.to_string())?,
        None => SimulatedNetwork::defaults(),
    };

    let mut builder = Service::builder(settings.clone())
        .mode(mode)
        .request_channel(RequestChannelConfig {
            read_deadline: Duration::from_millis(args.read_deadline_ms),
            ..RequestChannelConfig::default()
        })
        .guest_abi(args.guest_abi.into())
        .allow_foreign_socket_dirs(args.allow_foreign_socket_dir)
        .allow_tcp_host_mode(args.allow_tcp_host_mode)
        .guest_connect_policy(guest_connect_policy(&args)?)
        .host_scan_interval(Duration::from_secs(args.host_scan_interval));
    let per_guest_abis = guest_abis(&args);
    for (guest, abi) in &per_guest_abis {
        builder = builder.guest_abi_for(guest.clone(), *abi);
    }
    if mode == OperationMode::Simulated {
        builder = builder.simulated_networks(simulated.clone());
    }
    if !extras.allowed_ssids.is_empty() {
        let rule = SsidAllowList::new();
        for (guest, ssids) in &extras.allowed_ssids {
            rule.restrict(guest.clone(), ssids.iter().copied());
        }
        builder = builder.observer(Arc::new(rule));
    }
    if !fake_networks.is_empty() {
        let list = fake_networks.clone();
        builder = builder.fake_networks(move || list.clone());
    }
    let fake_names =
        fake_networks.iter().map(|n| String::from_utf8_lossy(&n.ssid).into_owned()).collect::<Vec<_>>().join(", ");
    let mut served = match mode {
        OperationMode::Simulated => Served::Simulated(describe_networks(&simulated)),
        OperationMode::Host => Served::HostWifi { fake: fake_names.clone() },
    };
    if mode == OperationMode::Host {
        match host_backend::create(&args) {
            Ok(backend) => builder = builder.host_backend(backend),
            Err(reason) if fake_networks.is_empty() && args.wait_for_backend => {
                tracing::warn!("{reason}; waiting for a Wi-Fi backend to appear (--wait-for-backend)");
                match wait_for_backend(&args).await {
                    Some(backend) => builder = builder.host_backend(backend),
                    None => return Ok(ExitCode::SUCCESS),
                }
            }
            Err(reason) if fake_networks.is_empty() => {
                return Err(format!(
                    "{reason}; there is no network to serve. Start the host's Wi-Fi service, or add \
                     --wait-for-backend (wait for it), --fake-network SSID, or --mode simulated"
                ));
            }
            Err(reason) => {
                tracing::warn!("{reason}; serving the fake networks only");
                served = Served::FakeOnly(fake_names);
            }
        }
    }
    #[cfg(unix)]
    if let Some(listener) = crate::socket_activation::request_listener()? {
        tracing::info!(listener = %listener.describe(), "serving on the request listener systemd passed (socket activation)");
        builder = builder.inherited_listener(listener);
    }
    let service = Arc::new(builder.start().map_err(|e| serve_messages::start_error(e, kind, args.request_port))?);

    let stop_requested = Arc::new(Notify::new());
    let control = if args.no_control {
        None
    } else {
        let path = args.control_socket.clone().map_or_else(control::default_location, Ok)?;
        Some((ControlServer::start(path.clone(), service.clone(), stop_requested.clone()).await?, path))
    };

    let metrics = match args.metrics {
        Some(address) => Some(crate::metrics_server::start(address, &service).await?),
        None => None,
    };

    let guest = notification_target(&settings);
    let what = served.to_string();
    let try_it = match kind {
        TransportKind::Tcp if args.any_guest || args.dynamic_guests => String::new(),
        TransportKind::Tcp
            if args.request_port == DEFAULT_REQUEST_PORT && args.notification_port == DEFAULT_NOTIFICATION_PORT =>
        {
            "; try `proxy-wifi guest scan` in another terminal".to_string()
        }
        TransportKind::Tcp => format!(
            "; try `proxy-wifi guest --request-port {} --notification-port {} scan`",
            args.request_port, args.notification_port
        ),
        _ => String::new(),
    };
    crate::say!("proxy-wifi: serving {what} on {}, notifications to {guest}{try_it}", service.request_address());
    if let Some(layout) = abi_banner(args.guest_abi.into(), &per_guest_abis) {
        crate::say!("proxy-wifi: {layout}");
    }
    if let Some(file) = sources.file() {
        crate::say!("proxy-wifi: {}", serve_messages::file_banner(file, dropped));
    }
    if let Some((_, path)) = &control {
        crate::say!("proxy-wifi: control socket {} (`proxy-wifi ctl status`)", path.display());
    }
    if let Some(metrics) = &metrics {
        crate::say!("proxy-wifi: metrics on http://{}/metrics", metrics.address);
    }
    crate::readiness::ready(&format!("serving {what} on {}", service.request_address()));

    tokio::select! {
        _ = wait_for_stop_signal() => tracing::info!("stopping"),
        _ = stop_requested.notified() => tracing::info!("stopping: `ctl shutdown`"),
    }
    crate::readiness::stopping();
    drop(control);
    drop(metrics);
    service.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// How often `--wait-for-backend` looks for a Wi-Fi backend again.
const BACKEND_RETRY: Duration = Duration::from_secs(2);

/// Looks for a host Wi-Fi backend every [`BACKEND_RETRY`] until one is found (`Some`) or
/// the service is asked to stop (`None`).
async fn wait_for_backend(args: &ServeArgs) -> Option<Box<dyn proxy_wifi::HostBackend>> {
    let stop = wait_for_stop_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return None,
            _ = tokio::time::sleep(BACKEND_RETRY) => {}
        }
        if let Ok(backend) = host_backend::create(args) {
            tracing::info!(backend = backend.name(), "a Wi-Fi backend appeared");
            return Some(backend);
        }
    }
}

/// The `--guest-connect` policy, with its `--guest-connect-ssid` list; an allow-list needs
/// at least one network, and networks make sense with an allow-list only.
fn guest_connect_policy(args: &ServeArgs) -> Result<GuestConnectPolicy, String> {
    let mut ssids = BTreeSet::new();
    for name in &args.guest_connect_ssids {
        let ssid = proxy_wifi::protocol::Ssid::new(name.as_bytes())
            .ok()
            .filter(|_| !name.is_empty())
            .ok_or_else(|| format!("--guest-connect-ssid {name:?}: an SSID is 1 to 32 bytes"))?;
        ssids.insert(ssid);
    }
    match (args.guest_connect, ssids.is_empty()) {
        (GuestConnectArg::AllowList, true) => {
            Err("--guest-connect allow-list with no --guest-connect-ssid would allow \
             no network: name each network guests may move the host to (guest-connect-ssids in a config file), \
             or use mirror-only"
                .into())
        }
        (GuestConnectArg::AllowList, false) => Ok(GuestConnectPolicy::AllowList(ssids)),
        (other, false) => Err(format!(
            "--guest-connect-ssid is used only with --guest-connect allow-list (the policy is {})",
            other.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default()
        )),
        (GuestConnectArg::Any, true) => Ok(GuestConnectPolicy::Any),
        (GuestConnectArg::MirrorOnly, true) => Ok(GuestConnectPolicy::MirrorOnly),
    }
}

/// The library's one host-mode rule ([`proxy_wifi::host_mode_rule`]), checked before
/// anything starts, its refusal worded with this command's flags.
fn check_host_mode_transport(
    mode: OperationMode,
    settings: &TransportSettings,
    args: &ServeArgs,
) -> Result<(), String> {
    use proxy_wifi::host_mode_rule::{self, HostModeRefusal};
    match host_mode_rule::check(mode, settings, args.allow_tcp_host_mode) {
        Ok(()) => Ok(()),
        Err(HostModeRefusal::TcpNotLoopback { listen }) => Err(format!(
            "--listen {listen} in host mode: over TCP anyone who reaches that address would drive the host's \
             Wi-Fi. Host mode listens on loopback only (127.0.0.1 or ::1); give a VM the host's Wi-Fi over \
             vsock (--guest-cid), hybrid-vsock (--vmm-socket) or Hyper-V (--vm-id)"
        )),
        Err(HostModeRefusal::TcpNotAllowed) => Err("--mode host over tcp lets every local process drive the host's \
                    Wi-Fi; use vsock (--guest-cid), hybrid-vsock (--vmm-socket) or Hyper-V (--vm-id), or add \
                    --allow-tcp-host-mode to accept that on loopback"
            .into()),
    }
}

/// Ctrl-C, or SIGTERM on Unix; on Windows also Ctrl-Break and the console's close,
/// logoff and system-shutdown events.
async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(windows)]
    {
        use tokio::signal::windows::{ctrl_break, ctrl_close, ctrl_shutdown};
        match (ctrl_break(), ctrl_close(), ctrl_shutdown()) {
            (Ok(mut brk), Ok(mut close), Ok(mut shutdown)) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = brk.recv() => {}
                    _ = close.recv() => {}
                    _ = shutdown.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn serve_args(flags: &[&str]) -> ServeArgs {
        let cli = Cli::try_parse_from(["proxy-wifi", "serve"].iter().chain(flags)).expect("flags parse");
        match cli.command {
            Command::Serve(args) => args,
            other => panic!("not serve: {other:?}"),
        }
    }

    #[test]
    fn any_guest_keeps_the_reserved_cids_listed_by_name() {
        let (_, settings) = transport_settings(&serve_args(&["--transport", "vsock", "--any-guest"])).unwrap();
        assert!(
            matches!(&settings, TransportSettings::VsockMulti { guest_cids, any_guest: true, .. } if guest_cids.is_empty())
        );
        let (_, settings) = transport_settings(&serve_args(&["--any-guest", "--guest-cid", "1"])).unwrap();
        assert!(
            matches!(&settings, TransportSettings::VsockMulti { guest_cids, any_guest: true, .. } if guest_cids == &[1]),
            "{settings:?}"
        );
    }

    fn host_mode_check(flags: &[&str]) -> Result<(), String> {
        let args = serve_args(flags);
        let (_, settings) = transport_settings(&args).unwrap();
        check_host_mode_transport(OperationMode::Host, &settings, &args)
    }

    #[test]
    fn host_mode_over_tcp_needs_the_flag_and_loopback() {
        let error = host_mode_check(&["--mode", "host"]).unwrap_err();
        assert!(error.contains("--allow-tcp-host-mode"), "{error}");
        assert_eq!(host_mode_check(&["--mode", "host", "--allow-tcp-host-mode"]), Ok(()));
        assert_eq!(host_mode_check(&["--mode", "host", "--allow-tcp-host-mode", "--listen", "::1"]), Ok(()));
        for listen in ["0.0.0.0", "192.168.1.5", "::"] {
            for extra in [&[][..], &["--any-guest"][..], &["--dynamic-guests"][..]] {
                let mut flags = vec!["--mode", "host", "--allow-tcp-host-mode", "--listen", listen];
                flags.extend_from_slice(extra);
                let error = host_mode_check(&flags).unwrap_err();
                assert!(error.starts_with(&format!("--listen {listen} in host mode")), "{error}");
            }
        }
        assert_eq!(host_mode_check(&["--guest-cid", "7"]), Ok(()), "vsock is not concerned");
    }

    #[test]
    fn the_vmm_socket_group_is_a_name_or_a_number() {
        let group = |flags: &[&str]| match transport_settings(&serve_args(flags)) {
            Ok((_, TransportSettings::HybridVsock { socket_group, .. })) => Ok(socket_group),
            Ok((_, other)) => panic!("{other:?}"),
            Err(e) => Err(e),
        };
        assert_eq!(group(&["--vmm-socket", "/run/vm.vsock"]), Ok(None));
        assert_eq!(group(&["--vmm-socket", "/run/vm.vsock", "--vmm-socket-group", "123"]), Ok(Some(123)));
        if cfg!(unix) {
            assert_eq!(group(&["--vmm-socket", "/run/vm.vsock", "--vmm-socket-group", "root"]), Ok(Some(0)));
            let error = group(&["--vmm-socket", "/run/vm.vsock", "--vmm-socket-group", "no-such-group-x"]).unwrap_err();
            assert!(error.contains("no-such-group-x") && error.contains("numeric GID"), "{error}");
        } else {
            let error = group(&["--vmm-socket", "/run/vm.vsock", "--vmm-socket-group", "root"]).unwrap_err();
            assert!(error.contains("root") && error.contains("Unix hosts only"), "{error}");
        }
    }
}
