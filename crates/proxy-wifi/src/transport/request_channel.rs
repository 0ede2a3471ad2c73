//! The request channel: accept a connection, read one request, hand it to the operation
//! handler, write the answer, close.
//!
//! On Linux a request already whole at accept takes the direct path ([`super::direct`]):
//! read from the unregistered socket, queued with the connection as its reply, answered by
//! the handler. Any other connection is served here by a task of its own. The rules below
//! hold for both.
//!
//! Rules:
//! * **One request per connection.** Whatever follows the first message is ignored.
//! * **Read deadline.** A connection has [`RequestChannelConfig::read_deadline`] to
//!   deliver its whole request; a silent or slow client is dropped. Connections are read
//!   concurrently, so a silent client never stalls the next one; the requests
//!   themselves are handled one at a time by the handler's serialized queue. On Linux a
//!   TCP connection reaches the service only once its first bytes came (the kernel holds
//!   a silent one for [`limits::TCP_SILENT_CONNECTION_HELD`] first).
//! * **Size cap before allocation.** The header is checked (version, operation, size
//!   against the operation's bound, at most 331 bytes for any request) before the body
//!   buffer is allocated.
//! * **Malformed → INVALID.** A bad header or body is answered with an empty INVALID
//!   message; the service keeps its state and goes on.
//! * **Withdrawn when the guest leaves.** A connection that closes while its request
//!   waits withdraws it (the handler drops it unanswered).
//! * **Connection cap, shared fairly.** At most [`RequestChannelConfig::max_connections`]
//!   connections are open at once (fewer if `RLIMIT_NOFILE` leaves less room once fds are
//!   kept for notifications and backends). When all are taken, a guest below its fair share
//!   takes the oldest connection of the guest holding the most; otherwise the new one is
//!   closed at once ([`super::connection_slots`]).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use proxy_wifi_protocol::{DecodeError, GuestAbi, GuestBound, HEADER_LEN, HostBound, MAX_REQUEST_BODY_LEN};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use zeroize::Zeroize;
use zeroize::Zeroizing;

use super::connection_slots::{self, Admission, ConnectionSlots, Slot};
use super::{Accepted, BoxedStream, GuestId, RequestListener};
use crate::handler::HandlerHandle;
use crate::identity::GuestAbis;
use crate::limits;
use crate::status::RequestCounters;

/// Limits of the request channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestChannelConfig {
    /// Time a connection has to deliver its whole request ([`limits::REQUEST_READ_DEADLINE`]).
    pub read_deadline: Duration,
    /// Time to write the answer ([`limits::REQUEST_WRITE_DEADLINE`]; the guest waits 20 s).
    pub write_deadline: Duration,
    /// Request connections open at once ([`limits::MAX_REQUEST_CONNECTIONS`]), shared
    /// fairly between guests. The service lowers it to what the soft `RLIMIT_NOFILE`
    /// allows after keeping [`limits::FD_RESERVE_BACKENDS`] +
    /// [`limits::FD_RESERVE_NOTIFICATIONS`] fds; an embedding application should raise
    /// that limit to its hard limit before starting the service (the `proxy-wifi` binary
    /// does).
    pub max_connections: usize,
}

impl Default for RequestChannelConfig {
    fn default() -> Self {
        Self {
            read_deadline: limits::REQUEST_READ_DEADLINE,
            write_deadline: limits::REQUEST_WRITE_DEADLINE,
            max_connections: limits::MAX_REQUEST_CONNECTIONS,
        }
    }
}

/// Why no request could be read from a connection.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    /// The bytes are not a valid request: answer INVALID.
    #[error(transparent)]
    Malformed(#[from] DecodeError),
    /// The connection failed or closed early: just close.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads one request: header, checks, then exactly the declared body.
pub(crate) async fn read_request<R: AsyncRead + Unpin>(reader: &mut R) -> Result<HostBound, ReadError> {
    // The header check caps the size: the body fits a stack buffer, no allocation.
    let mut body = [0u8; MAX_REQUEST_BODY_LEN as usize];
    read_request_into(reader, &mut body).await
}

/// [`read_request`] into the caller's `body` buffer, which is wiped before this returns or
/// is cancelled (a connect request's body holds the PMK or SAE password).
async fn read_request_into<R: AsyncRead + Unpin>(
    reader: &mut R,
    body: &mut [u8; MAX_REQUEST_BODY_LEN as usize],
) -> Result<HostBound, ReadError> {
    let body = WipeOnDrop(body);
    let mut header_bytes = [0u8; HEADER_LEN];
    reader.read_exact(&mut header_bytes).await?;
    let header = HostBound::decode_header(&header_bytes)?;
    let body = &mut body.0[..header.body_len()];
    reader.read_exact(body).await?;
    Ok(HostBound::decode_body(header, body)?)
}

/// Zeroizes the borrowed bytes when dropped, also when the read is cancelled midway.
pub(super) struct WipeOnDrop<'a>(pub(super) &'a mut [u8]);

impl Drop for WipeOnDrop<'_> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Returns once the peer closed the connection (end of stream or error) while its answer
/// is pending. The guest driver never half-closes: it closes when it stops waiting for the
/// answer (its 20 s ran out, or it went away). Bytes after the request are ignored; past a
/// few KiB of them the connection is no longer watched.
async fn peer_gone(stream: &mut BoxedStream) {
    let mut scratch = [0u8; 512];
    let mut ignored = 0usize;
    while ignored < limits::REQUEST_TRAILING_BYTES_WATCHED {
        match stream.read(&mut scratch).await {
            Ok(0) | Err(_) => return,
            Ok(n) => ignored += n,
        }
    }
    std::future::pending().await
}

/// What every connection of the channel shares: one reference count per connection
/// (cloning a cancellation token or a queue sender takes a lock or more atomics each).
pub(super) struct Shared {
    pub(super) handler: HandlerHandle,
    pub(super) config: RequestChannelConfig,
    pub(super) counters: Arc<RequestCounters>,
    pub(super) shutdown: CancellationToken,
    pub(super) tracker: TaskTracker,
}

/// Accepts and serves request connections until `shutdown`.
///
/// Each answer is encoded in the layout of its guest's driver generation (`abis`).
pub(crate) async fn serve(
    mut listener: Box<dyn RequestListener>,
    handler: HandlerHandle,
    abis: Arc<GuestAbis>,
    config: RequestChannelConfig,
    counters: Arc<RequestCounters>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    let slots = ConnectionSlots::new(connection_slots::cap_for_this_process(config.max_connections));
    tracing::info!(listen = %listener.local_description(), max_connections = slots.cap(), "request channel listening");
    let shared = Arc::new(Shared { handler, config, counters, shutdown, tracker });
    let counters = &shared.counters;
    // Made once: each `cancelled()` registers with the token (a lock) until dropped.
    let stopping = shared.shutdown.cancelled();
    tokio::pin!(stopping);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stopping => break,
        };
        let (connection, guest) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // EMFILE and friends: back off a little instead of spinning.
                tracing::warn!(%error, "accepting a request connection failed");
                tokio::time::sleep(limits::ACCEPT_RETRY_DELAY).await;
                continue;
            }
        };
        counters.accepted.fetch_add(1, Ordering::Relaxed);
        let slot = match slots.admit(&guest) {
            Admission::Admitted(slot) => slot,
            Admission::TookFrom(slot, holder) => {
                // The holder's connection is closed (by its task, or at once when it waits
                // on the direct path) and counted as refused_busy.
                if crate::log_limit::admit(&guest, "request connections all taken") {
                    tracing::warn!(%guest, %holder, max = slots.cap(),
                        "request connections all taken; the guest holding the most gives its oldest up");
                }
                slot
            }
            Admission::Refused => {
                counters.refused_busy.fetch_add(1, Ordering::Relaxed);
                if crate::log_limit::admit(&guest, "too many open request connections") {
                    tracing::warn!(%guest, max = slots.cap(), "too many open request connections for this guest's share; closed");
                }
                continue;
            }
        };
        let abi = abis.of(&guest);
        match connection {
            #[cfg(not(unix))]
            Accepted::Stream(stream) => spawn_connection(&shared, stream, Zeroizing::default(), guest, abi, slot),
            #[cfg(unix)]
            Accepted::Raw(connection) => super::direct::serve(&shared, connection, guest, abi, slot),
        }
    }
    tracing::info!("request channel closed");
}

/// Serves a registered connection in its own task: reads the request (after the bytes
/// already read from it, `prefix`), waits for the handler's answer while watching the
/// peer, writes the answer.
pub(super) fn spawn_connection(
    shared: &Arc<Shared>,
    stream: BoxedStream,
    prefix: Zeroizing<Vec<u8>>,
    guest: GuestId,
    abi: GuestAbi,
    slot: Slot,
) {
    let shared = shared.clone();
    shared.tracker.clone().spawn(async move {
        let open = OpenCount::new(&shared.counters);
        unless_taken_back(&slot, &shared.counters, serve_connection(stream, prefix, guest, abi, &shared)).await;
        drop((open, slot));
    });
}

/// Runs `work` on a connection unless its place under the cap is taken back first (by a
/// guest below its fair share); then the connection is closed and counted `refused_busy`.
pub(super) async fn unless_taken_back(slot: &Slot, counters: &RequestCounters, work: impl Future<Output = ()>) {
    tokio::select! {
        () = work => {}
        () = slot.taken_back().cancelled() => {
            counters.refused_busy.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(guest = %slot.guest(), "connection closed: its place went to a guest below its fair share");
        }
    }
}

/// One connection counted in the channel's `open` gauge while this lives.
pub(super) struct OpenCount(Arc<RequestCounters>);

impl OpenCount {
    pub(super) fn new(counters: &Arc<RequestCounters>) -> OpenCount {
        counters.open.fetch_add(1, Ordering::Relaxed);
        OpenCount(counters.clone())
    }
}

impl Drop for OpenCount {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn serve_connection(
    mut stream: BoxedStream,
    prefix: Zeroizing<Vec<u8>>,
    guest: GuestId,
    abi: GuestAbi,
    shared: &Shared,
) {
    let Shared { handler, config, counters, shutdown, .. } = shared;
    let started = Instant::now();
    let mut reader = prefix.as_slice().chain(&mut stream);
    let read = tokio::select! {
        read = tokio::time::timeout(config.read_deadline, read_request(&mut reader)) => read,
        _ = shutdown.cancelled() => return,
    };
    drop(prefix);
    let answer = match read {
        Err(_) => {
            counters.timed_out.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%guest, deadline = ?config.read_deadline, "no whole request within the read deadline; closed");
            return;
        }
        Ok(Err(ReadError::Io(error))) => {
            counters.closed_early.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%guest, %error, "request connection closed before a whole request");
            return;
        }
        Ok(Err(ReadError::Malformed(error))) => {
            counters.invalid.fetch_add(1, Ordering::Relaxed);
            if crate::log_limit::admit(&guest, "malformed request") {
                tracing::warn!(%guest, %error, "malformed request; answering INVALID");
            }
            GuestBound::Invalid
        }
        Ok(Ok(request)) => {
            let answered = tokio::select! {
                answer = handler.submit(guest.clone(), request) => answer,
                () = peer_gone(&mut stream) => {
                    counters.unanswered.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%guest, "the guest closed the connection before its answer; request withdrawn");
                    return;
                }
            };
            match answered {
                Some(answer) => {
                    counters.answered.fetch_add(1, Ordering::Relaxed);
                    answer
                }
                None => {
                    counters.unanswered.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%guest, "request dropped unanswered (service stopping, queue full or stale)");
                    return;
                }
            }
        }
    };
    let bytes = answer.to_bytes_as(abi);
    let written = tokio::time::timeout(config.write_deadline, async {
        // Closing the stream (on drop, right after) sends the FIN: no separate shutdown(2).
        stream.write_all(&bytes).await
    })
    .await;
    match written {
        Ok(Ok(())) => tracing::trace!(%guest, elapsed = ?started.elapsed(), "answer written"),
        Ok(Err(error)) => tracing::debug!(%guest, %error, "writing the answer failed"),
        Err(_) => tracing::debug!(%guest, "writing the answer timed out"),
    }
}

#[cfg(test)]
mod tests {
    use proxy_wifi_protocol::{ConnectRequest, Pmk, Ssid};
    use tokio::io::AsyncWriteExt;

    use super::*;

    fn connect_with_pmk() -> (Vec<u8>, Pmk) {
        let ssid = Ssid::new(b"lab-wpa2").unwrap();
        let pmk = Pmk::derive(b"labpassword", &ssid);
        (HostBound::Connect(ConnectRequest::wpa2_psk(ssid, pmk.clone())).to_bytes(), pmk)
    }

    #[tokio::test]
    async fn the_body_buffer_is_wiped_after_a_request_with_a_pmk() {
        let (bytes, pmk) = connect_with_pmk();
        let (mut guest, host) = tokio::io::duplex(1024);
        guest.write_all(&bytes).await.unwrap();
        let mut stream = host;
        let mut body = [0u8; MAX_REQUEST_BODY_LEN as usize];
        let request = read_request_into(&mut stream, &mut body).await.unwrap();
        assert!(matches!(request, HostBound::Connect(_)));
        assert!(body.iter().all(|&b| b == 0), "the PMK {:02x?} stays in the read buffer", &pmk.expose_secret()[..4]);
    }

    #[tokio::test]
    async fn the_body_buffer_is_wiped_when_the_read_is_cancelled_midway() {
        let (bytes, _) = connect_with_pmk();
        let (mut guest, host) = tokio::io::duplex(1024);
        // Everything but the last byte: the read waits for it until cancelled.
        guest.write_all(&bytes[..bytes.len() - 1]).await.unwrap();
        let mut stream = host;
        let mut body = [0u8; MAX_REQUEST_BODY_LEN as usize];
        let read = tokio::time::timeout(Duration::from_millis(50), read_request_into(&mut stream, &mut body)).await;
        assert!(read.is_err(), "the read waits for the last byte");
        assert!(body.iter().all(|&b| b == 0), "a cancelled read leaves key bytes in the buffer");
    }
}
