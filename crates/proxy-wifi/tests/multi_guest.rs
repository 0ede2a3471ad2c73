#![cfg(unix)]
//! Many guests on one service: TCP guests keyed by source IP (127.0.0.2, 127.0.0.3, …),
//! and hybrid vsock (Firecracker / cloud-hypervisor) through a test muxer that follows
//! the VMM's documented handshake, failure answers included.

mod common;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proxy_wifi::protocol::{
    ConnectRequest, Decoded, DisconnectedNotification, GuestBound, HostBound, ScanRequest, SessionId,
    SignalQualityNotification, Ssid, StatusCode,
};
use proxy_wifi::{OperationMode, Service, TransportSettings};
use proxy_wifi_guest::{GuestConfig, GuestTransport, NotificationListener};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, UnixListener, UnixStream};
use tokio::sync::mpsc;

/// Reads one whole message from a stream that the peer closes after writing.
async fn read_message<S: AsyncReadExt + Unpin>(stream: &mut S) -> GuestBound {
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut bytes)).await.unwrap().unwrap();
    match GuestBound::decode_frame(&bytes).unwrap() {
        Decoded::Complete { message, .. } => message,
        other => panic!("incomplete answer: {other:?}"),
    }
}

/// One request from a guest whose source address is `source`.
async fn request_from(source: IpAddr, service: SocketAddr, message: &HostBound) -> GuestBound {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(source, 0)).unwrap();
    let mut stream = socket.connect(service).await.unwrap();
    stream.write_all(&message.to_bytes()).await.unwrap();
    read_message(&mut stream).await
}

fn open(ssid: &str) -> HostBound {
    HostBound::Connect(ConnectRequest::open(Ssid::new(ssid.as_bytes()).unwrap()))
}

fn connect_answer(message: GuestBound) -> (StatusCode, SessionId) {
    match message {
        GuestBound::ConnectResponse(r) => (r.result_code, r.session_id),
        other => panic!("{other:?}"),
    }
}

async fn listener_on(ip: IpAddr, port: u16) -> NotificationListener {
    let mut config = GuestConfig::with_transport(GuestTransport::Tcp { host: ip });
    config.notification_port = port;
    NotificationListener::bind(&config).await.unwrap()
}

#[tokio::test]
async fn tcp_guests_keyed_by_source_ip_are_isolated_and_notified_separately() {
    let a_ip: IpAddr = "127.0.0.2".parse().unwrap();
    let b_ip: IpAddr = "127.0.0.3".parse().unwrap();
    let mut a_listener = listener_on(a_ip, 0).await;
    let port = a_listener.local_port();
    let mut b_listener = listener_on(b_ip, port).await;
    let service = Service::builder(TransportSettings::TcpMulti {
        listen: "127.0.0.1:0".parse().unwrap(),
        notification_port: port,
    })
    .mode(OperationMode::Simulated)
    .start()
    .unwrap();
    let addr = service.request_tcp_addr().unwrap();

    // A joins FakeOpen: the simulated interface now backs A's connection.
    let (code, a_session) = connect_answer(request_from(a_ip, addr, &open("FakeOpen")).await);
    assert_eq!((code, a_session), (StatusCode::SUCCESS, SessionId(1)));
    // Isolation: B cannot take the interface to another network…
    let (code, b_session) = connect_answer(request_from(b_ip, addr, &open("Fake6GHz")).await);
    assert_eq!((code, b_session), (StatusCode::DENIED_NO_MORE_STAS, SessionId(1)), "B has its own session ids");
    // …but may mirror the connection A made.
    let (code, b_session) = connect_answer(request_from(b_ip, addr, &open("FakeOpen")).await);
    assert_eq!((code, b_session), (StatusCode::SUCCESS, SessionId(2)));
    let guests = service.status().board.guests;
    assert_eq!(guests["tcp:127.0.0.2"].connection.as_ref().unwrap().ssid, "FakeOpen");
    assert_eq!(guests["tcp:127.0.0.3"].connection.as_ref().unwrap().kind, proxy_wifi::OperationType::HostMirroring);

    // A signal change reaches both (both use that interface), each at its own address.
    let sim = service.simulation().unwrap();
    sim.set_signal_quality(40);
    let expected = GuestBound::NotifSignalQuality(SignalQualityNotification { signal_dbm: -80 });
    assert_eq!(common::next_notification(&mut a_listener).await, expected);
    assert_eq!(common::next_notification(&mut b_listener).await, expected);

    // The host loses the link: each guest gets its own session id.
    sim.host_disconnect().unwrap();
    assert_eq!(
        common::next_notification(&mut a_listener).await,
        GuestBound::NotifDisconnected(DisconnectedNotification { session_id: a_session })
    );
    assert_eq!(
        common::next_notification(&mut b_listener).await,
        GuestBound::NotifDisconnected(DisconnectedNotification { session_id: b_session })
    );
    service.stop();
}

// ---- hybrid vsock -------------------------------------------------------------------------

/// How the test VMM answers `CONNECT <port>`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum VmmAnswer {
    /// `OK <n>` when a guest listens on the port, else close (Firecracker's behaviour).
    Normal,
    /// A malformed answer line.
    Garbage,
}

/// A stand-in for Firecracker's vsock muxer on the host side of `path`.
struct TestVmm {
    guest_listeners: Arc<Mutex<HashMap<u32, mpsc::Sender<UnixStream>>>>,
    answer: Arc<Mutex<VmmAnswer>>,
    path: PathBuf,
}

impl TestVmm {
    fn start(path: &Path) -> TestVmm {
        let listener = UnixListener::bind(path).unwrap();
        let guest_listeners: Arc<Mutex<HashMap<u32, mpsc::Sender<UnixStream>>>> = Arc::default();
        let answer = Arc::new(Mutex::new(VmmAnswer::Normal));
        let (listeners, mode) = (guest_listeners.clone(), answer.clone());
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let (listeners, mode) = (listeners.clone(), mode.clone());
                tokio::spawn(async move {
                    let mut reader = BufReader::new(stream);
                    let mut line = String::new();
                    reader.read_line(&mut line).await.unwrap();
                    let port: u32 = line.trim().strip_prefix("CONNECT ").expect("CONNECT line").parse().unwrap();
                    let mut stream = reader.into_inner();
                    let mode = *mode.lock().unwrap();
                    let target = listeners.lock().unwrap().get(&port).cloned();
                    match (mode, target) {
                        (VmmAnswer::Garbage, _) => stream.write_all(b"WHAT\n").await.unwrap(),
                        (VmmAnswer::Normal, Some(guest)) => {
                            stream.write_all(b"OK 1073741824\n").await.unwrap();
                            let _ = guest.send(stream).await;
                        }
                        // No guest listener: the VMM just closes the connection.
                        (VmmAnswer::Normal, None) => drop(stream),
                    }
                });
            }
        });
        TestVmm { guest_listeners, answer, path: path.to_owned() }
    }

    /// The guest starts listening on `port`.
    fn guest_listen(&self, port: u32) -> mpsc::Receiver<UnixStream> {
        let (sender, receiver) = mpsc::channel(8);
        self.guest_listeners.lock().unwrap().insert(port, sender);
        receiver
    }

    fn guest_stops_listening(&self, port: u32) {
        self.guest_listeners.lock().unwrap().remove(&port);
    }

    /// A guest request to host port `port`: the VMM connects to `<path>_<port>`.
    async fn guest_request(&self, port: u32, message: &HostBound) -> GuestBound {
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!("_{port}"));
        let mut stream = UnixStream::connect(PathBuf::from(name)).await.unwrap();
        stream.write_all(&message.to_bytes()).await.unwrap();
        read_message(&mut stream).await
    }
}

/// A simulated service over hybrid vsock on the driver's default ports, serving the VMM
/// sockets `sockets`.
fn simulated_hybrid_vsock(sockets: Vec<PathBuf>) -> proxy_wifi::ServiceHandle {
    Service::builder(TransportSettings::HybridVsock {
        sockets,
        request_port: 12345,
        notification_port: 12346,
        socket_group: None,
    })
    .mode(OperationMode::Simulated)
    .start()
    .unwrap()
}

#[tokio::test]
async fn hybrid_vsock_end_to_end_through_a_vmm_muxer() {
    let dir = tempfile_dir();
    let socket = dir.join("fc-vsock.sock");
    let vmm = TestVmm::start(&socket);
    let service = simulated_hybrid_vsock(vec![socket.clone()]);
    assert!(dir.join("fc-vsock.sock_12345").exists(), "the service listens on <path>_<port>");
    let mode = std::fs::symlink_metadata(dir.join("fc-vsock.sock_12345")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the listener is this user's only, whatever the umask");

    let scan = vmm.guest_request(12345, &HostBound::Scan(ScanRequest::default())).await;
    assert!(matches!(scan, GuestBound::ScanResponse(r) if r.bss.len() == 3));
    let (code, _) = connect_answer(vmm.guest_request(12345, &open("FakeOpen")).await);
    assert_eq!(code, StatusCode::SUCCESS);
    let guest_key = format!("hybrid-vsock:{}", socket.display());
    assert!(service.status().board.guests.contains_key(&guest_key));

    // Host → guest: CONNECT 12346, OK, then the message.
    let mut notifications = vmm.guest_listen(12346);
    service.simulation().unwrap().set_signal_quality(40);
    let mut stream = tokio::time::timeout(Duration::from_secs(5), notifications.recv()).await.unwrap().unwrap();
    assert_eq!(
        read_message(&mut stream).await,
        GuestBound::NotifSignalQuality(SignalQualityNotification { signal_dbm: -80 })
    );

    // Failure answers: nobody listening (the VMM closes), then a malformed answer.
    vmm.guest_stops_listening(12346);
    service.simulation().unwrap().set_signal_quality(60);
    wait_for(|| service.status().transport.notifications_failed == 1).await;
    *vmm.answer.lock().unwrap() = VmmAnswer::Garbage;
    service.simulation().unwrap().set_signal_quality(70);
    wait_for(|| service.status().transport.notifications_failed == 2).await;
    // The service keeps serving.
    let scan = vmm.guest_request(12345, &HostBound::Scan(ScanRequest::default())).await;
    assert!(matches!(scan, GuestBound::ScanResponse(_)));
    service.stop();
    assert!(!dir.join("fc-vsock.sock_12345").exists(), "listener socket removed at stop");
}

#[tokio::test]
async fn hybrid_vsock_refuses_to_replace_what_is_not_its_own_stale_socket() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let settings = |name: &str| TransportSettings::HybridVsock {
        sockets: vec![dir.join(name)],
        request_port: 12345,
        notification_port: 12346,
        socket_group: None,
    };
    std::fs::write(dir.join("file.sock_12345"), b"not ours").unwrap();
    let Err(error) = Service::builder(settings("file.sock")).mode(OperationMode::Simulated).start() else {
        panic!("file.sock: started over what is not a stale socket")
    };
    let error = error.to_string();
    assert!(error.contains("file.sock_12345") && error.contains("regular file"), "{error}");
    assert_eq!(std::fs::read(dir.join("file.sock_12345")).unwrap(), b"not ours", "the file is kept");

    std::os::unix::fs::symlink(dir.join("elsewhere"), dir.join("link.sock_12345")).unwrap();
    let Err(error) = Service::builder(settings("link.sock")).mode(OperationMode::Simulated).start() else {
        panic!("link.sock: started over what is not a stale socket")
    };
    let error = error.to_string();
    assert!(error.contains("symbolic link"), "{error}");

    // A socket left by an earlier run (nobody listens on it) is replaced.
    drop(std::os::unix::net::UnixListener::bind(dir.join("stale.sock_12345")).unwrap());
    let service = Service::builder(settings("stale.sock")).mode(OperationMode::Simulated).start().unwrap();
    service.stop();
}

fn tempfile_dir() -> PathBuf {
    // One directory per call: the tests of this file run in parallel.
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("proxy-wifi-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn wait_for(mut condition: impl FnMut() -> bool) {
    for _ in 0..250 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("condition not met within 5 s");
}

// ---- guests added and removed while the service runs -------------------------------------

/// Whether a request from `source` is answered (a refused guest's connection is closed
/// without an answer).
async fn answered(source: IpAddr, service: SocketAddr) -> bool {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(source, 0)).unwrap();
    let Ok(mut stream) = socket.connect(service).await else { return false };
    if stream.write_all(&HostBound::Scan(ScanRequest::default()).to_bytes()).await.is_err() {
        return false;
    }
    let mut bytes = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut bytes)).await.unwrap();
    !bytes.is_empty()
}

#[tokio::test]
async fn a_tcp_guest_added_at_run_time_is_served_and_a_removed_one_refused_with_its_session_ended() {
    let guest_ip: IpAddr = "127.0.0.4".parse().unwrap();
    let guest = proxy_wifi::GuestId::Tcp(guest_ip);
    let service = Service::builder(TransportSettings::TcpListed {
        listen: "127.0.0.1:0".parse().unwrap(),
        guest_ips: Vec::new(),
        notification_port: 1,
    })
    .mode(OperationMode::Simulated)
    .start()
    .unwrap();
    let addr = service.request_tcp_addr().unwrap();
    assert!(service.guests().listed.is_empty() && service.guests().changeable);
    assert!(!answered(guest_ip, addr).await, "not listed yet: refused");

    assert!(service.add_guest(guest.clone()).unwrap());
    assert!(!service.add_guest(guest.clone()).unwrap(), "already listed");
    assert_eq!(service.guests().listed, std::slice::from_ref(&guest));
    let (code, _) = connect_answer(request_from(guest_ip, addr, &open("FakeOpen")).await);
    assert_eq!(code, StatusCode::SUCCESS, "served once added");
    assert!(service.status().board.guests["tcp:127.0.0.4"].connection.is_some());
    assert!(!answered("127.0.0.5".parse().unwrap(), addr).await, "other addresses stay refused");

    assert!(service.remove_guest(&guest).unwrap());
    assert!(!service.remove_guest(&guest).unwrap(), "not listed any more");
    wait_for(|| !service.status().board.guests.contains_key("tcp:127.0.0.4")).await;
    assert!(!answered(guest_ip, addr).await, "refused once removed");
    let wrong = service.add_guest(proxy_wifi::GuestId::Vsock(3)).unwrap_err().to_string();
    assert!(wrong.contains("give a tcp:IP guest"), "{wrong}");
    service.stop();
    assert!(matches!(service.add_guest(guest), Err(proxy_wifi::GuestChangeError::Stopped)));
}

#[tokio::test]
async fn a_vmm_socket_added_at_run_time_gets_its_listener_and_loses_it_when_removed() {
    let dir = tempfile_dir();
    let socket = dir.join("ch-vsock.sock");
    let vmm = TestVmm::start(&socket);
    let service = simulated_hybrid_vsock(Vec::new());
    let listener = dir.join("ch-vsock.sock_12345");
    assert!(!listener.exists());
    let guest = proxy_wifi::GuestId::HybridVsock(socket.clone());
    assert!(service.add_guest(guest.clone()).unwrap());
    assert!(listener.exists(), "the service listens on <path>_<port> from now on");
    let scan = vmm.guest_request(12345, &HostBound::Scan(ScanRequest::default())).await;
    assert!(matches!(scan, GuestBound::ScanResponse(_)));
    let (code, _) = connect_answer(vmm.guest_request(12345, &open("FakeOpen")).await);
    assert_eq!(code, StatusCode::SUCCESS);
    let key = format!("hybrid-vsock:{}", socket.display());
    assert!(service.status().board.guests.contains_key(&key));

    assert!(service.remove_guest(&guest).unwrap());
    assert!(!listener.exists(), "listener closed and its file removed");
    assert!(UnixStream::connect(&listener).await.is_err(), "the guest's next connection is refused");
    wait_for(|| !service.status().board.guests.contains_key(&key)).await;
    // Added again, it is served again.
    assert!(service.add_guest(guest).unwrap());
    let scan = vmm.guest_request(12345, &HostBound::Scan(ScanRequest::default())).await;
    assert!(matches!(scan, GuestBound::ScanResponse(_)));
    service.stop();
    assert!(!listener.exists(), "removed at stop");
}
