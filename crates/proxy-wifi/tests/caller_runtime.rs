//! `ServiceBuilder::run`: the service's async core on the caller's runtime, current-thread
//! and multi-thread, stopped by the caller's shutdown future.

mod common;

use std::time::Duration;

use common::*;
use proxy_wifi_guest::{GuestClient, GuestConfig, GuestTransport};
use tokio::sync::oneshot;

/// A port free a moment ago (the service binds it right after).
fn free_port() -> u16 {
    std::net::TcpListener::bind((LOOPBACK, 0)).unwrap().local_addr().unwrap().port()
}

fn guest_on(port: u16, notification_port: u16) -> GuestClient {
    let mut config = GuestConfig::with_transport(GuestTransport::Tcp { host: LOOPBACK });
    config.request_port = port;
    config.notification_port = notification_port;
    config.io_timeout = Duration::from_secs(5);
    GuestClient::new(config)
}

/// Runs the service on the current runtime, scans through it once it listens, then stops
/// it with the shutdown future and checks that `run` returned and the port is closed.
async fn serve_scan_and_stop() {
    let listener = guest_listener().await;
    let port = free_port();
    let builder =
        proxy_wifi::Service::builder(proxy_wifi::TransportSettings::tcp(LOOPBACK, port, None, listener.local_port()))
            .mode(proxy_wifi::OperationMode::Simulated);
    let (stop, stopped) = oneshot::channel::<()>();
    let service = tokio::spawn(builder.run(async move {
        let _ = stopped.await;
    }));

    let guest = guest_on(port, listener.local_port());
    let mut scan = None;
    for _ in 0..100 {
        match guest.scan(None).await {
            Ok(results) => {
                scan = Some(results);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    let scan = scan.expect("the service answers a scan on the caller's runtime");
    assert!(scan.scan_complete);
    assert!(!scan.bss.is_empty(), "the simulated networks are listed");

    stop.send(()).unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(10), service).await.expect("run returns after shutdown");
    outcome.unwrap().expect("run ends without error");
    // Closed once `run` returned; under Wine the close reaches the socket a moment later.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while tokio::net::TcpStream::connect((LOOPBACK, port)).await.is_ok() {
        assert!(std::time::Instant::now() < deadline, "the listener is still open 2 s after run returned");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn run_serves_on_a_current_thread_runtime_and_stops_on_the_shutdown_future() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(serve_scan_and_stop());
}

#[test]
fn run_serves_on_a_multi_thread_runtime_and_stops_on_the_shutdown_future() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(serve_scan_and_stop());
}

#[tokio::test]
async fn run_fails_when_the_port_is_taken() {
    let taken = std::net::TcpListener::bind((LOOPBACK, 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    let builder = proxy_wifi::Service::builder(proxy_wifi::TransportSettings::tcp(LOOPBACK, port, None, 1))
        .mode(proxy_wifi::OperationMode::Simulated);
    let error = builder.run(std::future::pending()).await.expect_err("the port is in use");
    assert!(error.to_string().contains(&port.to_string()), "{error}");
}
