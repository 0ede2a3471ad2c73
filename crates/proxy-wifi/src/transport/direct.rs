//! The request channel's direct path: a connection whose whole request is already there
//! when it is accepted is read at once, queued with the connection itself as the place
//! its answer goes, and answered by the handler with one non-blocking write. No task, no
//! registration with the reactor, no channel back from the handler (see [`super::raw`]).
//!
//! The rules of [`super::request_channel`] hold unchanged:
//! * a request not all there yet goes the registered way, with the bytes read so far;
//! * a malformed one is answered INVALID;
//! * a request whose guest closed the connection, whose place under the connection cap
//!   was taken back, or that is still waiting when the service stops, is dropped
//!   unanswered (the handler asks [`Reply::is_closed`] before doing its work, and an
//!   answer to a closed connection is given back as undelivered);
//! * an answer that does not fit the socket buffer at once is written by a task under
//!   the write deadline.

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use proxy_wifi_protocol::{GuestAbi, GuestBound, HEADER_LEN, HostBound, MAX_REQUEST_BODY_LEN};
use tokio::io::AsyncWriteExt;
use zeroize::Zeroizing;

use super::connection_slots::Slot;
use super::raw::RawConnection;
use super::request_channel::{Shared, WipeOnDrop, spawn_connection};
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
            counters.open.fetch_add(1, Ordering::Relaxed);
            let reply = DirectReply {
                connection: Some(connection),
                abi,
                slot: Some(slot),
                shared: shared.clone(),
                answered: false,
            };
            shared.handler.submit_direct(guest, request, Box::new(reply));
        }
        FirstRead::Malformed(error) => {
            counters.invalid.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%guest, %error, "malformed request; answering INVALID");
            if let Err(error) = write_or_hand_over(shared, connection, GuestBound::Invalid.to_bytes_as(abi), slot) {
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
                tracing::warn!(%guest, %error, "a request connection could not be registered; closed");
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
    if read < HEADER_LEN {
        return FirstRead::Partial(read);
    }
    let header = match HostBound::decode_header(buffer[..HEADER_LEN].try_into().expect("HEADER_LEN bytes")) {
        Ok(header) => header,
        Err(error) => return FirstRead::Malformed(error),
    };
    let end = HEADER_LEN + header.body_len();
    if read < end {
        return FirstRead::Partial(read);
    }
    match HostBound::decode_body(header, &buffer[HEADER_LEN..end]) {
        Ok(request) => FirstRead::Request(request),
        Err(error) => FirstRead::Malformed(error),
    }
}

/// Writes `bytes` now; what does not fit goes on in a task, under the write deadline.
/// Fails only when the connection is gone.
fn write_or_hand_over(shared: &Arc<Shared>, connection: RawConnection, bytes: Vec<u8>, slot: Slot) -> io::Result<()> {
    let written = match connection.write_now(&bytes) {
        Ok(written) if written == bytes.len() => return Ok(()),
        Ok(written) => written,
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => 0,
        Err(error) => return Err(error),
    };
    let mut stream = connection.into_stream()?;
    let deadline = shared.config.write_deadline;
    shared.tracker.spawn(async move {
        let rest = &bytes[written..];
        match tokio::time::timeout(deadline, stream.write_all(rest)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::debug!(%error, "writing the answer failed"),
            Err(_) => tracing::debug!("writing the answer timed out"),
        }
        drop(slot);
    });
    Ok(())
}

/// The connection of a queued request, where the handler writes its answer.
struct DirectReply {
    /// Taken when the answer is written.
    connection: Option<RawConnection>,
    abi: GuestAbi,
    /// Its place under the connection cap; goes with the connection.
    slot: Option<Slot>,
    shared: Arc<Shared>,
    answered: bool,
}

impl DirectReply {
    fn taken_back(&self) -> bool {
        self.slot.as_ref().is_some_and(|slot| slot.taken_back().is_cancelled())
    }
}

impl Reply for DirectReply {
    fn is_closed(&self) -> bool {
        self.taken_back()
            || self.shared.shutdown.is_cancelled()
            || self.connection.as_ref().is_none_or(RawConnection::peer_gone)
    }

    fn send(mut self: Box<Self>, answer: GuestBound) -> Result<(), GuestBound> {
        if self.is_closed() {
            return Err(answer);
        }
        let (Some(connection), Some(slot)) = (self.connection.take(), self.slot.take()) else {
            return Err(answer);
        };
        match write_or_hand_over(&self.shared, connection, answer.to_bytes_as(self.abi), slot) {
            Ok(()) => {
                self.answered = true;
                self.shared.counters.answered.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(_) => Err(answer),
        }
    }
}

impl Drop for DirectReply {
    fn drop(&mut self) {
        let counters = &self.shared.counters;
        counters.open.fetch_sub(1, Ordering::Relaxed);
        if self.answered {
            return;
        }
        if self.taken_back() {
            counters.refused_busy.fetch_add(1, Ordering::Relaxed);
        } else {
            counters.unanswered.fetch_add(1, Ordering::Relaxed);
        }
    }
}
