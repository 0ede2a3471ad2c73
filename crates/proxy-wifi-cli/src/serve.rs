//! `proxy-wifi serve`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use proxy_wifi::transport::request_channel::RequestChannelConfig;
use proxy_wifi::{OperationMode, Service, SimulatedNetwork, TransportSettings};

use crate::cli::{ModeArg, ServeArgs, TransportKind};
use crate::control::{self, ControlServer};
use crate::{host_backend, networks_file};

/// The transport settings the flags describe, or an error naming the bad flag.
pub fn transport_settings(args: &ServeArgs) -> Result<(TransportKind, TransportSettings), String> {
    let kind = args.transport.unwrap_or(if args.guest_cid.is_some() {
        TransportKind::Vsock
    } else if args.vm_id.is_some() {
        TransportKind::Hyperv
    } else {
        TransportKind::Tcp
    });
    let settings = match kind {
        TransportKind::Tcp => {
            if let Some(cid) = args.guest_cid {
                return Err(format!("--guest-cid {cid} is for --transport vsock, not tcp"));
            }
            if let Some(vm) = args.vm_id {
                return Err(format!("--vm-id {vm} is for --transport hyperv, not tcp"));
            }
            TransportSettings::tcp(args.listen, args.request_port, args.guest_address, args.notification_port)
        }
        TransportKind::Vsock => {
            let cid = args.guest_cid.ok_or(
                "--transport vsock needs --guest-cid N: the VM's context id (QEMU: -device vhost-vsock-pci,guest-cid=N)",
            )?;
            if cid == u32::MAX {
                return Err(format!("--guest-cid {cid} is VMADDR_CID_ANY; give the VM's own context id (3 or more)"));
            }
            if cid <= 2 {
                tracing::warn!(cid, "guest CID 0-2 is reserved; it only makes sense for local vsock loopback tests");
            }
            TransportSettings::Vsock {
                guest_cid: cid,
                request_port: args.request_port.into(),
                notification_port: args.notification_port.into(),
            }
        }
        TransportKind::Hyperv => {
            let vm_id = args
                .vm_id
                .ok_or("--transport hyperv needs --vm-id GUID: the VM's id (PowerShell: (Get-VM NAME).Id)")?;
            TransportSettings::HyperV {
                vm_id,
                request_port: args.request_port.into(),
                notification_port: args.notification_port.into(),
            }
        }
    };
    Ok((kind, settings))
}

fn describe_networks(networks: &[SimulatedNetwork]) -> String {
    networks.iter().map(|n| n.ssid.to_string()).collect::<Vec<_>>().join(", ")
}

/// Runs the service until Ctrl-C or SIGTERM.
pub async fn run(args: ServeArgs) -> Result<ExitCode, String> {
    let (kind, settings) = transport_settings(&args)?;
    let mode = match args.mode {
        Some(ModeArg::Host) => OperationMode::Host,
        Some(ModeArg::Simulated) => OperationMode::Simulated,
        // Pointing at a VM uses the host's Wi-Fi; the loopback test setup is simulated.
        None if kind == TransportKind::Tcp => OperationMode::Simulated,
        None => OperationMode::Host,
    };
    if mode == OperationMode::Host && args.networks.is_some() {
        return Err(
            "--networks describes simulated networks: add --mode simulated (in host mode use --fake-network)".into()
        );
    }
    let fake_networks = args
        .fake_networks
        .iter()
        .enumerate()
        .map(|(i, text)| networks_file::parse_fake_network(text, i + 1))
        .collect::<Result<Vec<_>, _>>()?;
    let simulated = match &args.networks {
        Some(path) => networks_file::load(path).map_err(|e| e.to_string())?,
        None => SimulatedNetwork::defaults(),
    };

    let mut builder = Service::builder(settings.clone()).mode(mode).request_channel(RequestChannelConfig {
        read_deadline: Duration::from_millis(args.read_deadline_ms),
        ..RequestChannelConfig::default()
    });
    if mode == OperationMode::Simulated {
        builder = builder.simulated_networks(simulated.clone());
    }
    if !fake_networks.is_empty() {
        let list = fake_networks.clone();
        builder = builder.fake_networks(move || list.clone());
    }
    if mode == OperationMode::Host {
        match host_backend::create(&args) {
            Ok(backend) => builder = builder.host_backend(backend),
            Err(reason) if fake_networks.is_empty() => {
                tracing::error!("{reason}; serving no network (add --fake-network or --mode simulated)")
            }
            Err(reason) => tracing::warn!("{reason}; serving the fake networks only"),
        }
    }
    let service = Arc::new(builder.start().map_err(|e| e.to_string())?);

    let control = if args.no_control {
        None
    } else {
        let path = args.control_socket.clone().map_or_else(control::default_location, Ok)?;
        Some((ControlServer::start(path.clone(), service.clone()).await?, path))
    };

    let guest = match &settings {
        TransportSettings::Tcp { guest, .. } => format!("tcp:{guest}"),
        TransportSettings::Vsock { guest_cid, notification_port, .. } => {
            format!("vsock:{guest_cid}:{notification_port}")
        }
        TransportSettings::HyperV { vm_id, notification_port, .. } => format!("hyperv:{vm_id}:{notification_port}"),
    };
    let what = match mode {
        OperationMode::Simulated => format!("simulated Wi-Fi ({})", describe_networks(&simulated)),
        OperationMode::Host => "the host's Wi-Fi".to_string(),
    };
    let try_it = match kind {
        TransportKind::Tcp if args.request_port == 12345 && args.notification_port == 12346 => {
            "; try `proxy-wifi guest scan` in another terminal".to_string()
        }
        TransportKind::Tcp => format!(
            "; try `proxy-wifi guest --request-port {} --notification-port {} scan`",
            args.request_port, args.notification_port
        ),
        _ => String::new(),
    };
    crate::say!("proxy-wifi: serving {what} on {}, notifications to {guest}{try_it}", service.request_address());
    if let Some((_, path)) = &control {
        crate::say!("proxy-wifi: control socket {} (`proxy-wifi ctl status`)", path.display());
    }

    wait_for_stop_signal().await;
    tracing::info!("stopping");
    drop(control);
    service.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

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
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
