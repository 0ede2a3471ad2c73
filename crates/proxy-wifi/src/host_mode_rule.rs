//! The one rule for where host mode may run: decided here, for every transport, so the
//! library, the CLI and the C ABI refuse the same things with the same reasons.
//!
//! Host mode drives the host's real Wi-Fi for whoever the transport says is the guest.
//! vsock, hybrid vsock and Hyper-V sockets name the VM (a CID, a VMM's socket, a VM id);
//! TCP names nobody: any process that reaches the port passes. So host mode over TCP is
//! allowed only when the caller asks for it ([`crate::ServiceBuilder::allow_tcp_host_mode`])
//! and only on a loopback listen address, never on an address the network can reach.

use std::net::IpAddr;

use crate::service::OperationMode;
use crate::transport::TransportSettings;

/// Why host mode is refused on a transport.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostModeRefusal {
    /// Host mode over TCP on an address other hosts can reach.
    #[error(
        "host mode over TCP listening on {listen}: anyone who reaches that address would drive the host's \
         Wi-Fi; host mode over TCP listens on loopback only (127.0.0.1 or ::1)"
    )]
    TcpNotLoopback {
        /// The listen address asked for.
        listen: IpAddr,
    },
    /// Host mode over TCP (loopback) without the caller's explicit opt-in.
    #[error(
        "host mode over TCP lets every local process drive the host's Wi-Fi; give VMs the host's Wi-Fi \
         over vsock, hybrid vsock or Hyper-V sockets, or opt in to TCP on loopback explicitly"
    )]
    TcpNotAllowed,
}

/// Whether `mode` may run on `transport`: `Ok` for simulated mode and for every transport
/// that identifies the VM; for TCP, only a loopback listen address with `allow_tcp` set.
pub fn check(mode: OperationMode, transport: &TransportSettings, allow_tcp: bool) -> Result<(), HostModeRefusal> {
    if mode != OperationMode::Host {
        return Ok(());
    }
    let listen = match transport {
        TransportSettings::Tcp { listen, .. }
        | TransportSettings::TcpMulti { listen, .. }
        | TransportSettings::TcpListed { listen, .. } => listen.ip(),
        TransportSettings::Vsock { .. }
        | TransportSettings::VsockMulti { .. }
        | TransportSettings::HybridVsock { .. }
        | TransportSettings::HyperV { .. }
        | TransportSettings::HyperVAny { .. } => return Ok(()),
    };
    if !is_loopback(listen) {
        return Err(HostModeRefusal::TcpNotLoopback { listen });
    }
    if !allow_tcp {
        return Err(HostModeRefusal::TcpNotAllowed);
    }
    Ok(())
}

/// Loopback, counting an IPv4-mapped IPv6 loopback (`::ffff:127.0.0.1`) as loopback too.
fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

    use super::*;

    fn tcp_settings(ip: IpAddr) -> Vec<TransportSettings> {
        let listen = SocketAddr::new(ip, 12345);
        vec![
            TransportSettings::Tcp { listen, guest: SocketAddr::new(ip, 12346) },
            TransportSettings::TcpMulti { listen, notification_port: 12346 },
            TransportSettings::TcpListed { listen, guest_ips: vec![], notification_port: 12346 },
        ]
    }

    #[test]
    fn host_mode_over_tcp_on_any_address_is_refused_for_every_tcp_variant_even_when_allowed() {
        for ip in [IpAddr::V4(Ipv4Addr::UNSPECIFIED), IpAddr::V6(Ipv6Addr::UNSPECIFIED), "192.0.2.7".parse().unwrap()] {
            for settings in tcp_settings(ip) {
                for allow in [false, true] {
                    assert_eq!(
                        check(OperationMode::Host, &settings, allow),
                        Err(HostModeRefusal::TcpNotLoopback { listen: ip }),
                        "{settings}"
                    );
                }
            }
        }
    }

    #[test]
    fn host_mode_over_loopback_tcp_needs_the_opt_in_for_every_tcp_variant() {
        for ip in
            [IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST), "::ffff:127.0.0.1".parse().unwrap()]
        {
            for settings in tcp_settings(ip) {
                assert_eq!(check(OperationMode::Host, &settings, false), Err(HostModeRefusal::TcpNotAllowed));
                assert_eq!(check(OperationMode::Host, &settings, true), Ok(()));
            }
        }
    }

    #[test]
    fn simulated_mode_runs_anywhere_and_host_mode_on_every_transport_that_names_the_vm() {
        for settings in tcp_settings(IpAddr::V4(Ipv4Addr::UNSPECIFIED)) {
            assert_eq!(check(OperationMode::Simulated, &settings, false), Ok(()));
        }
        let named = [
            TransportSettings::Vsock { guest_cid: 3, request_port: 1, notification_port: 2 },
            TransportSettings::VsockMulti {
                guest_cids: vec![],
                any_guest: true,
                request_port: 1,
                notification_port: 2,
            },
            TransportSettings::HybridVsock {
                sockets: vec!["/run/vm.sock".into()],
                request_port: 1,
                notification_port: 2,
                socket_group: None,
            },
            TransportSettings::HyperVAny { request_port: 1, notification_port: 2 },
        ];
        for settings in named {
            assert_eq!(check(OperationMode::Host, &settings, false), Ok(()), "{settings}");
        }
    }
}
