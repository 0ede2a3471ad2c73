//! Shared helpers of the end-to-end tests: a service on loopback TCP with free ports,
//! and a test guest that behaves like the driver.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use proxy_wifi::RequestChannelConfig;
use proxy_wifi::{OperationMode, Service, ServiceBuilder, ServiceHandle, TransportSettings};
use proxy_wifi_guest::{GuestClient, GuestConfig, GuestTransport, NotificationListener};

pub const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A running service and a guest wired to it.
pub struct Setup {
    pub service: ServiceHandle,
    pub guest: GuestClient,
    pub listener: NotificationListener,
}

/// The guest's notification listener on a free port, and the builder pointed at it.
pub async fn guest_listener() -> NotificationListener {
    let mut config = GuestConfig::with_transport(GuestTransport::Tcp { host: LOOPBACK });
    config.notification_port = 0;
    // The driver gives a notification 10 ms; on a loaded machine (or under Wine) its bytes
    // can come later, and a dropped notification is not sent again: the tests' reader waits.
    config.notification_read_timeout = Duration::from_secs(2);
    NotificationListener::bind(&config).await.expect("bind the notification listener")
}

pub fn builder_for(listener: &NotificationListener) -> ServiceBuilder {
    Service::builder(TransportSettings::tcp(LOOPBACK, 0, None, listener.local_port()))
        .mode(OperationMode::Simulated)
        .request_channel(RequestChannelConfig { read_deadline: Duration::from_millis(300), ..Default::default() })
}

pub fn guest_for(service: &ServiceHandle, listener: &NotificationListener) -> GuestClient {
    let mut config = GuestConfig::with_transport(GuestTransport::Tcp { host: LOOPBACK });
    config.request_port = service.request_tcp_addr().expect("tcp").port();
    config.notification_port = listener.local_port();
    config.io_timeout = Duration::from_secs(5);
    GuestClient::new(config)
}

/// A simulated service with the built-in networks.
pub async fn simulated() -> Setup {
    simulated_with(|b| b).await
}

/// A simulated service with builder tweaks.
pub async fn simulated_with(configure: impl FnOnce(ServiceBuilder) -> ServiceBuilder) -> Setup {
    let listener = guest_listener().await;
    let service = configure(builder_for(&listener)).start().expect("service starts");
    let guest = guest_for(&service, &listener);
    Setup { service, guest, listener }
}

/// The next notification, or a panic after 5 s.
pub async fn next_notification(listener: &mut NotificationListener) -> proxy_wifi::protocol::GuestBound {
    tokio::time::timeout(Duration::from_secs(5), listener.next()).await.expect("a notification within 5 s").unwrap()
}

/// Whether a notification arrives within `wait`.
pub async fn no_notification(listener: &mut NotificationListener, wait: Duration) -> bool {
    tokio::time::timeout(wait, listener.next()).await.is_err()
}

/// The connection of the only guest, as the service reports it.
pub fn connection(service: &ServiceHandle) -> Option<proxy_wifi::ConnectionStatus> {
    let status = service.status();
    assert!(status.board.guests.len() <= 1, "one guest expected: {:?}", status.board.guests);
    status.board.guests.values().next().and_then(|g| g.connection.clone())
}
