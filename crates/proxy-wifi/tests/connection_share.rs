#![cfg(target_os = "linux")]
//! The request connection cap is shared fairly between guests (TCP guests keyed by source
//! IP, 127.0.0.2 and 127.0.0.3): one guest's idle connections never lock another out.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use proxy_wifi::protocol::{Decoded, GuestBound, HostBound, ScanRequest};
use proxy_wifi::{OperationMode, RequestChannelConfig, Service, TransportSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

async fn connect_from(source: IpAddr, service: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(source, 0)).unwrap();
    socket.connect(service).await.unwrap()
}

#[tokio::test]
async fn one_guests_idle_connections_do_not_lock_another_guest_out() {
    let (flooder, quiet): (IpAddr, IpAddr) = ("127.0.0.2".parse().unwrap(), "127.0.0.3".parse().unwrap());
    let cap = 8;
    let service =
        Service::builder(TransportSettings::TcpMulti { listen: "127.0.0.1:0".parse().unwrap(), notification_port: 9 })
            .mode(OperationMode::Simulated)
            .request_channel(RequestChannelConfig {
                max_connections: cap,
                read_deadline: Duration::from_secs(60),
                ..RequestChannelConfig::default()
            })
            .start()
            .unwrap();
    let addr = service.request_tcp_addr().unwrap();

    // The flooder opens more idle connections than the whole cap.
    let mut idle = Vec::new();
    for _ in 0..cap + 2 {
        idle.push(connect_from(flooder, addr).await);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while service.status().transport.accepted < (cap + 2) as u64 {
        assert!(Instant::now() < deadline, "connections not accepted: {:?}", service.status().transport);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(service.status().transport.open, cap as u64, "the flooder holds the whole cap");

    // The quiet guest still scans.
    let mut stream = connect_from(quiet, addr).await;
    stream.write_all(&HostBound::Scan(ScanRequest::default()).to_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes)).await.unwrap().unwrap();
    match GuestBound::decode_frame(&bytes) {
        Ok(Decoded::Complete { message: GuestBound::ScanResponse(scan), .. }) => assert_eq!(scan.bss.len(), 3),
        other => panic!("the quiet guest got no scan answer ({} bytes): {other:?}", bytes.len()),
    }
    // The flooder gave up its oldest connection, and was refused beyond the cap.
    let mut oldest = idle.remove(0);
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(5), oldest.read(&mut byte)).await.unwrap();
    assert!(matches!(read, Ok(0) | Err(_)), "the flooder's oldest connection is closed: {read:?}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while service.status().transport.refused_busy != 3 {
        assert!(Instant::now() < deadline, "2 refused + 1 given up: {:?}", service.status().transport);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
