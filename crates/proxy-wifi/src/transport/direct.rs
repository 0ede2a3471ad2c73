//! The request channel's direct path: a connection whose whole request is already there
//! when it is accepted is read at once and handed to the handler with the connection
//! itself as the place its answer goes; the handler answers with one non-blocking write.
//! When the handler's work queue is idle the request is handled right here, on the accept
//! loop; otherwise it is queued. No task, no registration with the reactor, no channel
//! back from the handler (see [`super::raw`]).
//!
//! The rules of [`super::request_channel`] hold unchanged:
//! * a request not all there yet goes the registered way, with the bytes read so far;
//! * a malformed one is answered INVALID;
//! * a request whose guest closed the connection is dropped unanswered (the handler asks
//!   [`Reply::is_closed`] before doing its work, and an answer to a closed connection is
//!   given back as undelivered);
//! * a connection whose place under the connection cap is taken back is closed at once;
//! * the service's stop waits for direct requests as for connection tasks: a request
//!   already read is answered;
//! * an answer that does not fit the socket buffer at once is written by a task under
//!   the write deadline.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use proxy_wifi_protocol::{Decoded, GuestAbi, GuestBound, HEADER_LEN, HostBound, MAX_REQUEST_BODY_LEN};
use tokio::io::AsyncWriteExt;
use tokio_util::task::task_tracker::TaskTrackerToken;
use zeroize::Zeroizing;

use super::connection_slots::Slot;
use super::raw::RawConnection;
use super::request_channel::{OpenCount, Shared, WipeOnDrop, spawn_connection, unless_taken_back};
use crate::handler::Reply;
use crate::identity::GuestId;

/// Bytes read at once from a fresh connection: the largest request.
const FIRST_READ_LEN: usize = HEADER_LEN + MAX_REQUEST_BODY_LEN as usize;

/// What the bytes already there make.
enum FirstRead {
    /// A whole request.
    Request(HostBound),
    /// Not a valid request: answer INVALID.
    Malformed(proxy_wifi_protocol::DecodeError),
    /// Not all there yet (these bytes were read).
    Partial(usize),
    /// The guest closed the connection first.
    Closed,
}

/// Serves a freshly accepted, unregistered connection (see the module doc).
pub(super) fn serve(shared: &Arc<Shared>, connection: RawConnection, guest: GuestId, abi: GuestAbi, slot: Slot) {
    let counters = &shared.counters;
    let mut bytes = [0u8; FIRST_READ_LEN];
    let bytes = WipeOnDrop(&mut bytes);
    match first_read(&connection, bytes.0) {
        FirstRead::Request(request) => {
            let reply = DirectReply { held: Some(Held::new(shared, connection, slot)), abi };
            shared.handler.submit_direct(guest, request, Box::new(reply));
        }
        FirstRead::Malformed(error) => {
            counters.invalid.fetch_add(1, Ordering::Relaxed);
            if crate::log_limit::admit(&guest, "malformed request") {
                tracing::warn!(%guest, %error, "malformed request; answering INVALID");
            }
            let held = Held::new(shared, connection, slot);
            if let Err(error) = held.write(GuestBound::Invalid.to_bytes_as(abi)) {
                tracing::debug!(%guest, %error, "writing the INVALID answer failed");
            }
        }
        FirstRead::Partial(read) => match connection.into_stream() {
            Ok(stream) => {
                let prefix = Zeroizing::new(bytes.0[..read].to_vec());
                spawn_connection(shared, stream, prefix, guest, abi, slot);
            }
            Err(error) => {
                counters.closed_early.fetch_add(1, Ordering::Relaxed);
                if crate::log_limit::admit(&guest, "request connection not registered") {
                    tracing::warn!(%guest, %error, "a request connection could not be registered; closed");
                }
            }
        },
        FirstRead::Closed => {
            counters.closed_early.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%guest, "request connection closed before a whole request");
        }
    }
}

/// Reads what is there and says what it makes; `buffer` holds the bytes read.
fn first_read(connection: &RawConnection, buffer: &mut [u8]) -> FirstRead {
    let read = match connection.read_now(buffer) {
        Ok(0) => return FirstRead::Closed,
        Ok(read) => read,
        Err(error) if matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => 0,
        Err(_) => return FirstRead::Closed,
    };
    match HostBound::decode_frame(&buffer[..read]) {
        Ok(Decoded::Complete { message, .. }) => FirstRead::Request(message),
        Ok(Decoded::Incomplete { .. }) => FirstRead::Partial(read),
        Err(error) => FirstRead::Malformed(error),
    }
}

/// A connection served directly, with what goes with it until it closes: its place under
/// the connection cap and the service's wait for it at stop.
struct Held {
    /// `None` once closed: by its answer, or because its place was taken back.
    connection: Arc<Mutex<Option<Watched>>>,
    slot: Slot,
    shared: Arc<Shared>,
    /// The service's stop waits for it, as for a connection task.
    _in_flight: TaskTrackerToken,
}

/// The connection, the bytes read from it after its request, and its count in `open`.
struct Watched {
    connection: RawConnection,
    ignored: usize,
    open: OpenCount,
}

impl Held {
    /// Holds `connection`: counted open, closed at once if its place is taken back.
    fn new(shared: &Arc<Shared>, connection: RawConnection, slot: Slot) -> Held {
        let open = OpenCount::new(&shared.counters);
        let connection = Arc::new(Mutex::new(Some(Watched { connection, ignored: 0, open })));
        let closing = Arc::downgrade(&connection);
        slot.on_taken_back(Box::new(move || {
            if let Some(connection) = closing.upgrade() {
                drop(lock(&connection).take());
            }
        }));
        Held { connection, slot, shared: shared.clone(), _in_flight: shared.tracker.token() }
    }

    fn taken_back(&self) -> bool {
        self.slot.taken_back().is_cancelled()
    }

    /// Whether nobody waits for an answer: the place was taken back, or the guest closed or
    /// reset the connection. Bytes after the request are read and ignored, as on the
    /// registered path; past a few KiB of them the connection is no longer watched.
    fn is_closed(&self) -> bool {
        if self.taken_back() {
            return true;
        }
        let mut watched = lock(&self.connection);
        let Some(Watched { connection, ignored, .. }) = watched.as_mut() else { return true };
        connection.peer_gone(ignored)
    }

    /// Writes `bytes` now; what does not fit goes on in a task under the write deadline.
    /// Fails only when the connection is gone.
    fn write(self, bytes: Vec<u8>) -> io::Result<()> {
        let Some(Watched { connection, open, .. }) = lock(&self.connection).take() else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        let written = match connection.write_now(&bytes) {
            Ok(written) if written == bytes.len() => return Ok(()),
            Ok(written) => written,
            Err(error) if matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => 0,
            Err(error) => return Err(error),
        };
        let mut stream = connection.into_stream()?;
        let deadline = self.shared.config.write_deadline;
        let tracker = self.shared.tracker.clone();
        tracker.spawn(async move {
            let rest = &bytes[written..];
            let writing = async {
                match tokio::time::timeout(deadline, stream.write_all(rest)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => tracing::debug!(%error, "writing the answer failed"),
                    Err(_) => tracing::debug!("writing the answer timed out"),
                }
            };
            unless_taken_back(&self.slot, &self.shared.counters, writing).await;
            drop((open, self));
        });
        Ok(())
    }
}

fn lock(connection: &Mutex<Option<Watched>>) -> std::sync::MutexGuard<'_, Option<Watched>> {
    connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The connection of a queued request, where the handler writes its answer.
struct DirectReply {
    /// Taken when the answer is written.
    held: Option<Held>,
    abi: GuestAbi,
}

impl Reply for DirectReply {
    fn is_closed(&self) -> bool {
        self.held.as_ref().is_none_or(Held::is_closed)
    }

    fn send(mut self: Box<Self>, answer: GuestBound) -> Result<(), GuestBound> {
        if self.is_closed() {
            return Err(answer);
        }
        let Some(held) = self.held.take() else { return Err(answer) };
        let counters = held.shared.counters.clone();
        match held.write(answer.to_bytes_as(self.abi)) {
            Ok(()) => {
                counters.answered.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(_) => {
                counters.unanswered.fetch_add(1, Ordering::Relaxed);
                Err(answer)
            }
        }
    }
}

impl Drop for DirectReply {
    fn drop(&mut self) {
        // Dropped with its connection: never answered.
        if let Some(held) = &self.held {
            let counters = &held.shared.counters;
            if held.taken_back() {
                counters.refused_busy.fetch_add(1, Ordering::Relaxed);
            } else {
                counters.unanswered.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
