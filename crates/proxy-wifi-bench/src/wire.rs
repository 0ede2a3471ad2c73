//! Raw request/answer exchanges on the request channel, as the guest driver does them:
//! one connection, the whole request, exactly one message back, close.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proxy_wifi::protocol::{
    AuthType, Bssid, ConnectRequest, DisconnectRequest, GuestBound, HEADER_LEN, HostBound, MAX_SCAN_RESPONSE_BODY_LEN,
    Pmk, ScanRequest, SessionId, Ssid,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The host's answer to a request it could not process: an empty INVALID message.
pub const INVALID: [u8; HEADER_LEN] = [0, 0, 0, 0, 0, 1, 0];

/// Operation code of a scan request.
pub const OP_SCAN_REQUEST: u8 = 1;
/// Operation code of a scan response.
pub const OP_SCAN_RESPONSE: u8 = 2;
/// Operation code of a connect request.
pub const OP_CONNECT_REQUEST: u8 = 3;
/// Operation code of a connect response.
pub const OP_CONNECT_RESPONSE: u8 = 4;
/// Operation code of a disconnect request.
pub const OP_DISCONNECT_REQUEST: u8 = 5;
/// Operation code of a disconnect response.
pub const OP_DISCONNECT_RESPONSE: u8 = 6;
/// Operation code of a signal quality notification.
pub const OP_NOTIF_SIGNAL_QUALITY: u8 = 8;

/// A 7-byte header with any values (valid or not).
pub fn header(operation: u8, size: u32, version: u16) -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER_LEN);
    h.push(operation);
    h.extend_from_slice(&size.to_le_bytes());
    h.extend_from_slice(&version.to_le_bytes());
    h
}

/// A wildcard scan request (what `iw scan` makes the driver send).
pub fn scan_request() -> Vec<u8> {
    HostBound::Scan(ScanRequest::default()).to_bytes()
}

/// A scan request for one SSID.
pub fn targeted_scan_request(ssid: &str) -> Vec<u8> {
    HostBound::Scan(ScanRequest { ssid: Ssid::new(ssid.as_bytes()).ok() }).to_bytes()
}

/// A connect request to an open network as `iw connect` sends it (auth type 8, any BSS).
pub fn open_connect_request(ssid: &str) -> Vec<u8> {
    let mut request = ConnectRequest::open(Ssid::new(ssid.as_bytes()).expect("SSID of at most 32 bytes"));
    request.auth_type = AuthType::from_u8(8);
    HostBound::Connect(request).to_bytes()
}

/// A WPA2-PSK connect request as wpa_supplicant makes the driver send it (the PMK).
pub fn wpa2_connect_request(ssid: &str, bssid: Bssid, passphrase: &str) -> Vec<u8> {
    let ssid = Ssid::new(ssid.as_bytes()).expect("SSID of at most 32 bytes");
    let request = ConnectRequest { bssid, ..ConnectRequest::wpa2_psk(ssid, Pmk::derive(passphrase.as_bytes(), &ssid)) };
    HostBound::Connect(request).to_bytes()
}

/// A disconnect request for `session_id`.
pub fn disconnect_request(session_id: u64) -> Vec<u8> {
    HostBound::Disconnect(DisconnectRequest { session_id: SessionId(session_id) }).to_bytes()
}

/// The session id of the raw bytes of a connect response (header included).
pub fn connect_response_session(answer: &[u8]) -> Option<u64> {
    if answer.len() != HEADER_LEN + 16 || answer[0] != OP_CONNECT_RESPONSE {
        return None;
    }
    Some(u64::from_le_bytes(answer[HEADER_LEN + 8..HEADER_LEN + 16].try_into().ok()?))
}

/// Whether a connect response (raw bytes) carries the success status.
pub fn connect_response_succeeded(answer: &[u8]) -> bool {
    answer.len() == HEADER_LEN + 16 && answer[0] == OP_CONNECT_RESPONSE && answer[7] == 0 && answer[8] == 0
}

/// Decodes raw bytes as exactly one whole host-to-guest message.
pub fn decode_answer(bytes: &[u8]) -> Option<GuestBound> {
    match GuestBound::decode_frame(bytes) {
        Ok(proxy_wifi::protocol::Decoded::Complete { message, consumed }) if consumed == bytes.len() => Some(message),
        _ => None,
    }
}

/// Reads exactly one message (header, then the size it declares) into `out`.
///
/// Fails with `InvalidData` when the declared size is above the 16 MiB a guest accepts.
pub async fn read_one_message(stream: &mut TcpStream, out: &mut Vec<u8>) -> io::Result<()> {
    out.clear();
    out.resize(HEADER_LEN, 0);
    stream.read_exact(&mut out[..HEADER_LEN]).await?;
    let size = u32::from_le_bytes([out[1], out[2], out[3], out[4]]);
    if size > MAX_SCAN_RESPONSE_BODY_LEN {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("answer declares {size} bytes")));
    }
    out.resize(HEADER_LEN + size as usize, 0);
    stream.read_exact(&mut out[HEADER_LEN..]).await?;
    Ok(())
}

/// One request on its own connection, as the driver does it; returns the time from the
/// start of the connect to the last byte of the answer.
///
/// After the answer, waits (untimed, bounded by `timeout`) for the server to close, so
/// that the server, not the client, ends up holding the `TIME_WAIT` state.
pub async fn exchange_into(
    addr: SocketAddr,
    request: &[u8],
    answer: &mut Vec<u8>,
    timeout: Duration,
) -> io::Result<Duration> {
    let started = Instant::now();
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(request).await?;
        read_one_message(&mut stream, answer).await?;
        let elapsed = started.elapsed();
        let mut tail = [0u8; 64];
        let _ = stream.read(&mut tail).await;
        Ok(elapsed)
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, format!("no answer within {timeout:?}"))),
    }
}

/// [`exchange_into`] with a fresh buffer: the answer's bytes and the time taken.
pub async fn exchange(addr: SocketAddr, request: &[u8], timeout: Duration) -> io::Result<(Vec<u8>, Duration)> {
    let mut answer = Vec::new();
    let elapsed = exchange_into(addr, request, &mut answer, timeout).await?;
    Ok((answer, elapsed))
}

/// Sends raw bytes, half-closes, and reads whatever comes back until the server closes
/// (`timeout` on the whole). A reset after some bytes keeps the bytes.
pub async fn send_raw_and_read_all(addr: SocketAddr, bytes: &[u8], timeout: Duration) -> io::Result<RawOutcome> {
    let started = Instant::now();
    let run = async {
        let mut stream = TcpStream::connect(addr).await?;
        // The server may answer INVALID and close before reading everything: a failed
        // write is then expected, what matters is what comes back.
        if stream.write_all(bytes).await.is_ok() {
            let _ = stream.shutdown().await;
        }
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) => return Ok(RawOutcome { answer, reset: false, elapsed: started.elapsed() }),
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                Err(e) if is_reset(&e) => return Ok(RawOutcome { answer, reset: true, elapsed: started.elapsed() }),
                Err(e) => return Err(e),
            }
        }
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the server neither answered nor closed within {timeout:?}"),
        )),
    }
}

/// What came back for raw bytes.
#[derive(Debug, Clone)]
pub struct RawOutcome {
    /// Every byte received before the close.
    pub answer: Vec<u8>,
    /// Whether the connection ended with a reset rather than a close.
    pub reset: bool,
    /// Time from connect to the close.
    pub elapsed: Duration,
}

/// Whether an I/O error is the peer resetting or aborting the connection.
pub fn is_reset(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe
    )
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> io::Result<u16> {
    let listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}
