//! How much a guest that loops writes to the log at the binary's default level (INFO): a
//! guest scanning 1,000 times, then sending 1,000 malformed requests, adds a handful of
//! lines, not one per request (issue 27: 82,000 lines in 5 s under load).
//!
//! One test in this file: it installs the process-wide subscriber (the service logs from
//! its own threads, which a thread-local one would miss).

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proxy_wifi::protocol::{HostBound, ScanRequest};
use proxy_wifi::{OperationMode, Service, TransportSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines_naming(&self, needle: &str) -> Vec<String> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8_lossy(&bytes).lines().filter(|l| l.contains(needle)).map(str::to_string).collect()
    }
}

/// Sends `bytes` from `source` on a connection of its own and reads the answer to the end.
async fn send_from(source: IpAddr, service: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(source, 0)).unwrap();
    let mut stream = socket.connect(service).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await.unwrap().unwrap();
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_looping_on_scans_and_bad_requests_writes_a_few_lines_at_info() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .init();

    let service = Service::builder(TransportSettings::TcpMulti {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        // Nothing listens there: the guest gets no notification, which is fine here.
        notification_port: 9,
    })
    .mode(OperationMode::Simulated)
    .start()
    .unwrap();
    let addr = service.request_tcp_addr().unwrap();
    let guest = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 7));

    let scan = HostBound::Scan(ScanRequest::default()).to_bytes();
    for _ in 0..1000 {
        let answer = send_from(guest, addr, &scan).await;
        assert!(!answer.is_empty(), "every scan is answered");
    }
    let scan_lines = captured.lines_naming("127.0.0.7");

    // An operation the protocol does not have: each answered INVALID.
    let malformed = [42u8, 0, 0, 0, 0, 1, 0];
    for _ in 0..1000 {
        let answer = send_from(guest, addr, &malformed).await;
        assert!(!answer.is_empty(), "every malformed request is answered");
    }
    service.shutdown().await;
    let all_lines = captured.lines_naming("127.0.0.7");
    let malformed_lines = all_lines.len() - scan_lines.len();

    // 1,000 scans: at most "new guest" and the like, never a line per scan.
    assert!(
        scan_lines.len() <= 3,
        "{} lines for 1,000 scans:\n{}",
        scan_lines.len(),
        scan_lines[..10.min(scan_lines.len())].join("\n")
    );
    // 1,000 malformed requests in well under a minute: the first is logged, the rest counted.
    assert!(
        (1..=2).contains(&malformed_lines),
        "{malformed_lines} lines for 1,000 malformed requests:\n{}",
        all_lines[scan_lines.len()..].iter().take(10).cloned().collect::<Vec<_>>().join("\n")
    );
}
