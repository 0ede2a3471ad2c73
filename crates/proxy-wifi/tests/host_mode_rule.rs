//! The library refuses host mode over TCP itself (start and run alike), so every
//! embedder inherits the rule: never on a network address, on loopback only when asked.

use std::net::SocketAddr;

use proxy_wifi::host_mode_rule::HostModeRefusal;
use proxy_wifi::{OperationMode, Service, ServiceError, TransportSettings};

fn listed(listen: &str) -> TransportSettings {
    TransportSettings::TcpListed { listen: listen.parse().unwrap(), guest_ips: Vec::new(), notification_port: 9 }
}

#[test]
fn start_refuses_host_mode_on_a_network_address_even_when_tcp_host_mode_is_allowed() {
    let outcome = Service::builder(listed("0.0.0.0:0")).mode(OperationMode::Host).allow_tcp_host_mode(true).start();
    match outcome {
        Err(ServiceError::HostMode(HostModeRefusal::TcpNotLoopback { listen })) => {
            assert_eq!(listen.to_string(), "0.0.0.0")
        }
        Err(other) => panic!("wrong refusal: {other}"),
        Ok(service) => {
            service.stop();
            panic!("host mode served the network on 0.0.0.0")
        }
    }
}

#[test]
fn start_refuses_host_mode_on_loopback_without_the_opt_in_and_serves_with_it() {
    let Err(error) = Service::builder(listed("127.0.0.1:0")).start() else {
        panic!("host mode (the default) over TCP started without the opt-in");
    };
    assert!(matches!(error, ServiceError::HostMode(HostModeRefusal::TcpNotAllowed)), "{error}");
    let service =
        Service::builder(listed("127.0.0.1:0")).allow_tcp_host_mode(true).start().expect("loopback, opted in");
    assert!(service.request_tcp_addr().is_some_and(|a: SocketAddr| a.ip().is_loopback()));
    service.stop();
}

#[tokio::test]
async fn run_applies_the_same_rule() {
    let refused =
        Service::builder(TransportSettings::TcpMulti { listen: "[::]:0".parse().unwrap(), notification_port: 9 })
            .allow_tcp_host_mode(true)
            .run(std::future::pending())
            .await;
    assert!(matches!(refused, Err(ServiceError::HostMode(HostModeRefusal::TcpNotLoopback { .. }))), "{refused:?}");
    let simulated =
        Service::builder(TransportSettings::TcpMulti { listen: "[::]:0".parse().unwrap(), notification_port: 9 })
            .mode(OperationMode::Simulated)
            .run(async {})
            .await;
    assert!(simulated.is_ok(), "{simulated:?}");
}
