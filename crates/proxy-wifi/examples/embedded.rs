//! Embedding proxy-wifi in an application: a simulated service on loopback TCP with an
//! observer that logs what the guest does and vetoes one network, a fake network from
//! the application, and the event API. A built-in test guest drives it.
//!
//! `cargo run -p proxy-wifi --example embedded`

use std::sync::Arc;
use std::time::Duration;

use proxy_wifi::protocol::{Bssid, ConnectRequest, Ssid};
use proxy_wifi::{
    Authorization, ConnectRequestArgs, ConnectionArgs, FakeNetwork, GuestId, Observer, OperationMode, OperationStatus,
    OperationType, Service, TransportSettings,
};
use proxy_wifi_guest::{GuestClient, GuestConfig, GuestTransport, NotificationListener};

/// Logs guest activity; refuses guest-directed connections to "Fake6GHz".
struct Policy;

impl Observer for Policy {
    fn authorize_guest_connection_request(&self, kind: OperationType, request: &ConnectRequestArgs) -> Authorization {
        let verdict = if request.ssid.as_bytes() == b"Fake6GHz" { Authorization::Deny } else { Authorization::Approve };
        println!(
            "observer: {} asks a {kind:?} connection to {} ({}) -> {verdict:?}",
            request.guest, request.ssid, request.auth
        );
        verdict
    }

    fn on_guest_connection_completion(&self, kind: OperationType, status: OperationStatus, c: &ConnectionArgs) {
        println!("observer: {kind:?} connection to {} {status:?}", c.ssid);
    }

    fn on_guest_scan_completion(&self, guest: &GuestId, status: OperationStatus) {
        println!("observer: scan of {guest} {status:?}");
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let loopback = "127.0.0.1".parse()?;
    // The guest side: a notification listener on a free port.
    let mut guest_config = GuestConfig::with_transport(GuestTransport::Tcp { host: loopback });
    guest_config.notification_port = 0;
    let mut notifications = NotificationListener::bind(&guest_config).await?;

    // The host side: the service, with its own runtime thread.
    let service = Service::builder(TransportSettings::tcp(loopback, 0, None, notifications.local_port()))
        .mode(OperationMode::Simulated)
        .fake_networks(|| vec![FakeNetwork::new("CorpNet", Bssid([0x02, 0xc0, 0, 0, 0, 1]))])
        .observer(Arc::new(Policy))
        .start()?;
    println!("service listening on {}", service.request_address());

    guest_config.request_port = service.request_tcp_addr().expect("tcp").port();
    guest_config.notification_port = notifications.local_port();
    let guest = GuestClient::new(guest_config);

    let scan = guest.scan(None).await?;
    for bss in &scan.bss {
        println!(
            "guest sees {} at {} MHz, {} dBm",
            bss.ssid().unwrap_or(Ssid::new(b"?")?),
            bss.frequency_mhz(),
            bss.rssi_dbm
        );
    }
    let denied = guest.connect(ConnectRequest::open(Ssid::new(b"Fake6GHz")?)).await?;
    println!("connect Fake6GHz: result {}", denied.result_code);
    let open = guest.connect(ConnectRequest::open(Ssid::new(b"FakeOpen")?)).await?;
    println!("connect FakeOpen: result {}, session {}", open.result_code, open.session_id);

    // The event API: the host's link degrades, then drops.
    let simulation = service.simulation().expect("simulated mode");
    simulation.set_signal_quality(30);
    println!("guest notified: {:?}", tokio::time::timeout(Duration::from_secs(2), notifications.next()).await??);
    simulation.host_disconnect()?;
    println!("guest notified: {:?}", tokio::time::timeout(Duration::from_secs(2), notifications.next()).await??);

    println!("guests: {:?}", service.status().board.guests);
    service.shutdown().await;
    Ok(())
}
