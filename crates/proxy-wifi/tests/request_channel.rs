//! The request channel over real loopback sockets: a request already there at accept is
//! answered directly, one that arrives in pieces is read whole, an answer larger than the
//! socket buffer is written whole, and a request whose guest left before its turn is not
//! carried out.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use common::*;
use proxy_wifi::protocol::{Bssid, ConnectRequest, Decoded, GuestBound, HostBound, ScanRequest, Ssid, StatusCode};
use proxy_wifi::{
    AuthAlgorithm, ConnectParams, ConnectedNetwork, EventSink, InterfaceError, InterfaceId, OperationMode, ScanResults,
    ScanStatus, ServiceHandle, SimulatedNetwork, SimulatedSecurity, TransportStatus, WifiInterface,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// Reads the whole answer (the service closes after it) and decodes it.
async fn read_answer(stream: &mut TcpStream) -> GuestBound {
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes))
        .await
        .expect("the answer within 10 s")
        .expect("read the answer");
    match GuestBound::decode_frame(&bytes) {
        Ok(Decoded::Complete { message, consumed }) if consumed == bytes.len() => message,
        other => panic!("not one whole answer ({} bytes): {other:?}", bytes.len()),
    }
}

/// The transport counters once `settled` holds; fails, saying `what` did not happen, after
/// `within`. The counters follow the sockets: an answer is counted just after its last byte
/// went, so its guest may read it first.
async fn transport_once(
    service: &ServiceHandle,
    within: Duration,
    what: &str,
    settled: impl Fn(&TransportStatus) -> bool,
) -> TransportStatus {
    let deadline = Instant::now() + within;
    loop {
        let transport = service.status().transport;
        if settled(&transport) {
            return transport;
        }
        assert!(Instant::now() < deadline, "{what} within {within:?}: {transport:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_request_that_arrives_in_pieces_is_read_whole() {
    let s = simulated().await;
    let addr = s.service.request_tcp_addr().unwrap();
    let request = HostBound::Scan(ScanRequest::default()).to_bytes();
    // Cut inside the header, then inside the body, and between the two.
    for cut in [1, 7, 9] {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(&request[..cut]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        stream.write_all(&request[cut..]).await.unwrap();
        match read_answer(&mut stream).await {
            GuestBound::ScanResponse(scan) => assert_eq!(scan.bss.len(), 3, "cut at {cut}"),
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
    // A connect whose key arrives after a pause is read whole too.
    let ssid = Ssid::new(b"FakeWpa2Psk").unwrap();
    let pmk = proxy_wifi::protocol::Pmk::derive(SimulatedNetwork::DEFAULT_PASSPHRASE.as_bytes(), &ssid);
    let connect = HostBound::Connect(ConnectRequest::wpa2_psk(ssid, pmk)).to_bytes();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(&connect[..connect.len() - 5]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    stream.write_all(&connect[connect.len() - 5..]).await.unwrap();
    match read_answer(&mut stream).await {
        GuestBound::ConnectResponse(answer) => assert_eq!(answer.result_code, StatusCode::SUCCESS),
        other => panic!("{other:?}"),
    }
    let transport = transport_once(&s.service, Duration::from_secs(5), "not all counted", |t| t.answered == 4).await;
    assert_eq!((transport.answered, transport.invalid, transport.timed_out), (4, 0, 0), "{transport:?}");
}

/// On Linux the kernel holds a TCP connection until its first bytes come
/// (`limits::TCP_SILENT_CONNECTION_HELD`), so the service accepts it with its request there.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_tcp_connection_reaches_the_service_with_its_request() {
    let s = simulated().await;
    let addr = s.service.request_tcp_addr().unwrap();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.service.status().transport.accepted, 0, "accepted before its first byte came");
    stream.write_all(&HostBound::Scan(ScanRequest::default()).to_bytes()).await.unwrap();
    match read_answer(&mut stream).await {
        GuestBound::ScanResponse(scan) => assert_eq!(scan.bss.len(), 3),
        other => panic!("{other:?}"),
    }
    let transport = transport_once(&s.service, Duration::from_secs(5), "not counted", |t| t.answered == 1).await;
    assert_eq!((transport.accepted, transport.answered), (1, 1), "{transport:?}");
}

/// `count` open networks with distinct BSSIDs and names.
fn many_networks(count: usize) -> Vec<SimulatedNetwork> {
    (0..count)
        .map(|i| SimulatedNetwork {
            ssid: Ssid::new(format!("net-{i:05}").as_bytes()).unwrap(),
            bssid: Bssid([2, 0, 0, 0, (i >> 8) as u8, i as u8]),
            security: SimulatedSecurity::Open,
            frequency_mhz: 2412,
            rssi_dbm: -50,
        })
        .collect()
}

#[tokio::test]
async fn an_answer_larger_than_the_socket_buffer_is_written_whole() {
    const NETWORKS: usize = 3000;
    let s = simulated_with(|builder| builder.simulated_networks(many_networks(NETWORKS))).await;
    let addr = s.service.request_tcp_addr().unwrap();
    // A small receive buffer, and nothing read for a while: the answer cannot go in one write.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&addr.into()).unwrap();
    socket.set_nonblocking(true).unwrap();
    let mut stream = TcpStream::from_std(socket.into()).unwrap();
    stream.write_all(&HostBound::Scan(ScanRequest::default()).to_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    match read_answer(&mut stream).await {
        GuestBound::ScanResponse(scan) => assert_eq!(scan.bss.len(), NETWORKS),
        other => panic!("{other:?}"),
    }
}

/// An interface whose connects wait until the test lets them go, and are recorded.
struct Gate {
    open: Semaphore,
    connects: Mutex<Vec<Ssid>>,
}

impl Gate {
    /// A gate that lets no connect go yet.
    fn closed() -> Arc<Gate> {
        Arc::new(Gate { open: Semaphore::new(0), connects: Mutex::new(Vec::new()) })
    }

    /// Returns once a connect reached the interface (fails after 10 s).
    async fn wait_for_a_connect(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.connects.lock().unwrap().is_empty() {
            assert!(Instant::now() < deadline, "no connect reached the interface");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[async_trait]
impl WifiInterface for Gate {
    fn id(&self) -> InterfaceId {
        InterfaceId(uuid::Uuid::from_u128(7))
    }
    fn attach(&self, _events: EventSink) {}
    async fn connection_to(&self, _ssid: &Ssid) -> Option<ConnectedNetwork> {
        None
    }
    async fn scan(&self, _ssid: Option<Ssid>) -> Result<ScanResults, InterfaceError> {
        Ok(ScanResults { bss: vec![], status: ScanStatus::Completed })
    }
    async fn connect(&self, params: &ConnectParams) -> Result<ConnectedNetwork, InterfaceError> {
        self.connects.lock().unwrap().push(params.ssid);
        self.open.acquire().await.expect("the gate stays").forget();
        Ok(ConnectedNetwork { ssid: params.ssid, bssid: Bssid([2, 0, 0, 0, 0, 9]), auth: AuthAlgorithm::Open })
    }
    async fn disconnect(&self) -> Result<(), InterfaceError> {
        Ok(())
    }
}

#[tokio::test]
async fn a_request_whose_guest_left_before_its_turn_is_not_carried_out() {
    let gate = Gate::closed();
    let s = simulated_with(|builder| {
        builder.mode(OperationMode::Host).allow_tcp_host_mode(true).host_interface(gate.clone())
    })
    .await;
    let addr = s.service.request_tcp_addr().unwrap();
    // A connect holds the work queue...
    let held = Ssid::new(b"Held").unwrap();
    let mut first = TcpStream::connect(addr).await.unwrap();
    first.write_all(&HostBound::Connect(ConnectRequest::open(held)).to_bytes()).await.unwrap();
    gate.wait_for_a_connect().await;
    // ...while another, whole at accept, waits behind it; its guest gives up.
    let mut connect = TcpStream::connect(addr).await.unwrap();
    let ssid = Ssid::new(b"Elsewhere").unwrap();
    connect.write_all(&HostBound::Connect(ConnectRequest::open(ssid)).to_bytes()).await.unwrap();
    transport_once(&s.service, Duration::from_secs(10), "both requests were not taken in", |t| t.open >= 2).await;
    drop(connect);
    tokio::time::sleep(Duration::from_millis(50)).await;
    gate.open.add_permits(1);
    match read_answer(&mut first).await {
        GuestBound::ConnectResponse(answer) => assert_eq!(answer.result_code, StatusCode::SUCCESS),
        other => panic!("{other:?}"),
    }
    // Dropped unanswered: by the handler at its turn (counted stale too), or, when it
    // came in pieces, by its connection task before it reached the queue.
    let transport = transport_once(&s.service, Duration::from_secs(10), "the second connect is still open", |t| {
        t.open == 0 && t.answered + t.unanswered == 2
    })
    .await;
    assert_eq!((transport.answered, transport.unanswered), (1, 1), "{transport:?}");
    assert_eq!(*gate.connects.lock().unwrap(), vec![held], "the second connect was carried out for nobody");
}

/// Connects from the loopback address `source` (TCP guests are keyed by source address).
#[cfg(target_os = "linux")]
async fn connect_from(source: &str, service: std::net::SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(std::net::SocketAddr::new(source.parse().unwrap(), 0)).unwrap();
    socket.connect(service).await.unwrap()
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_waiting_request_whose_place_is_taken_back_is_closed_at_once() {
    let gate = Gate::closed();
    let cap = 4;
    let service = proxy_wifi::Service::builder(proxy_wifi::TransportSettings::TcpMulti {
        listen: "127.0.0.1:0".parse().unwrap(),
        notification_port: 9,
    })
    .mode(OperationMode::Host)
    .allow_tcp_host_mode(true)
    .host_interface(gate.clone())
    .request_channel(proxy_wifi::RequestChannelConfig { max_connections: cap, ..Default::default() })
    .start()
    .unwrap();
    let addr = service.request_tcp_addr().unwrap();
    let connect = HostBound::Connect(ConnectRequest::open(Ssid::new(b"Held").unwrap())).to_bytes();
    // One guest fills the cap with whole requests; the first holds the work queue.
    let mut flooder = Vec::new();
    for _ in 0..cap {
        let mut stream = connect_from("127.0.0.2", addr).await;
        stream.write_all(&connect).await.unwrap();
        flooder.push(stream);
        gate.wait_for_a_connect().await;
    }
    transport_once(&service, Duration::from_secs(10), "not all taken in", |t| t.open >= cap as u64).await;
    // Another guest comes: the flooder's oldest connection gives its place up, closed now,
    // while the work queue is still held.
    let mut quiet = connect_from("127.0.0.3", addr).await;
    quiet.write_all(&HostBound::Scan(ScanRequest::default()).to_bytes()).await.unwrap();
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(5), flooder[0].read(&mut byte)).await;
    assert!(matches!(read, Ok(Ok(0) | Err(_))), "the oldest connection is still open: {read:?}");
    // Counted closed too: the cap holds the other guest's connection and the three left.
    transport_once(&service, Duration::from_secs(5), "the taken place is not counted closed", |t| {
        t.open == cap as u64 && t.accepted == cap as u64 + 1
    })
    .await;
    // Let the work go: the other guest is answered; the taken connect had nobody to answer.
    gate.open.add_permits(cap);
    assert!(matches!(read_answer(&mut quiet).await, GuestBound::ScanResponse(_)));
}

#[tokio::test]
async fn a_request_in_flight_when_the_service_stops_is_answered() {
    let gate = Gate::closed();
    let s = simulated_with(|builder| {
        builder.mode(OperationMode::Host).allow_tcp_host_mode(true).host_interface(gate.clone())
    })
    .await;
    let addr = s.service.request_tcp_addr().unwrap();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(&HostBound::Connect(ConnectRequest::open(Ssid::new(b"Held").unwrap())).to_bytes()).await.unwrap();
    gate.wait_for_a_connect().await;
    // The service is told to stop while the connect runs; it lets it finish.
    let service = s.service;
    let stopping = tokio::task::spawn_blocking(move || service.stop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    gate.open.add_permits(1);
    match read_answer(&mut stream).await {
        GuestBound::ConnectResponse(answer) => assert_eq!(answer.result_code, StatusCode::SUCCESS),
        other => panic!("{other:?}"),
    }
    stopping.await.unwrap();
}
