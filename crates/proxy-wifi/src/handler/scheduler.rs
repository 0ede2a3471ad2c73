//! Fair scheduling between guests: one FIFO queue per guest, served round-robin.
//!
//! A real guest sends one request at a time, but a hostile or buggy one may open many
//! connections at once. With one shared FIFO its requests would delay everyone's; here
//! a guest waits behind at most one request of each other guest.

use std::collections::{HashMap, VecDeque};

use proxy_wifi_protocol::GuestBound;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::Request;
use crate::identity::GuestId;

/// Where the answer to a queued request goes: a channel a connection task waits on, or
/// the connection itself (the request channel's direct path).
pub(crate) trait Reply: Send + 'static {
    /// Nobody waits for the answer any more (its connection closed or lost its place).
    fn is_closed(&self) -> bool;
    /// Hands the answer over; gives it back when it can no longer be delivered.
    fn send(self: Box<Self>, answer: GuestBound) -> Result<(), GuestBound>;
}

impl Reply for oneshot::Sender<GuestBound> {
    fn is_closed(&self) -> bool {
        oneshot::Sender::is_closed(self)
    }

    fn send(self: Box<Self>, answer: GuestBound) -> Result<(), GuestBound> {
        oneshot::Sender::send(*self, answer)
    }
}

/// A request waiting for its turn.
pub(crate) struct Queued {
    /// The request.
    pub(crate) request: Request,
    /// Where its answer goes; closed once the connection is gone.
    pub(crate) reply: Box<dyn Reply>,
    /// When it arrived (its deadlines count from here).
    pub(crate) arrived: Instant,
}

impl Queued {
    /// Nobody waits for its answer any more: the connection closed, or the guest's time
    /// for an answer ([`crate::limits::REQUEST_ANSWER_DEADLINE`]) ran out while it waited.
    pub(crate) fn is_stale(&self, now: Instant) -> bool {
        self.reply.is_closed() || now >= self.arrived + crate::limits::REQUEST_ANSWER_DEADLINE
    }
}

/// Per-guest request queues, served in turn.
pub(crate) struct FairQueue {
    queues: HashMap<GuestId, VecDeque<Queued>>,
    turn: VecDeque<GuestId>,
    max_per_guest: usize,
}

impl FairQueue {
    pub(crate) fn new(max_per_guest: usize) -> Self {
        Self { queues: HashMap::new(), turn: VecDeque::new(), max_per_guest }
    }

    /// Queues a request; gives it back when the guest already has too many waiting.
    #[allow(clippy::result_large_err)]
    pub(crate) fn push(&mut self, guest: GuestId, queued: Queued) -> Result<(), (GuestId, Queued)> {
        let queue = self.queues.entry(guest.clone()).or_default();
        if queue.len() >= self.max_per_guest {
            return Err((guest, queued));
        }
        if queue.is_empty() {
            self.turn.push_back(guest);
        }
        queue.push_back(queued);
        Ok(())
    }

    /// Whether no request waits.
    #[cfg(unix)]
    pub(crate) fn is_empty(&self) -> bool {
        self.turn.is_empty()
    }

    /// The next request: the oldest of the guest whose turn it is.
    pub(crate) fn pop(&mut self) -> Option<(GuestId, Queued)> {
        let guest = self.turn.pop_front()?;
        let queue = self.queues.get_mut(&guest)?;
        let queued = queue.pop_front()?;
        if queue.is_empty() {
            self.queues.remove(&guest);
        } else {
            self.turn.push_back(guest.clone());
        }
        Some((guest, queued))
    }

    /// Drops every request `guest` has waiting (their connections close unanswered) and
    /// says how many there were.
    pub(crate) fn drop_guest(&mut self, guest: &GuestId) -> usize {
        self.turn.retain(|waiting| waiting != guest);
        self.queues.remove(guest).map_or(0, |queue| queue.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxy_wifi_protocol::{DisconnectRequest, SessionId};

    fn request(n: u64) -> Request {
        Request::Disconnect(DisconnectRequest { session_id: SessionId(n) })
    }

    fn queued(n: u64) -> Queued {
        Queued { request: request(n), reply: Box::new(oneshot::channel().0), arrived: Instant::now() }
    }

    /// A queue of 4 requests at most per guest, holding requests 0..`count` of `guest`
    /// (each accepted).
    fn queue_holding(guest: &GuestId, count: u64) -> FairQueue {
        let mut q = FairQueue::new(4);
        for n in 0..count {
            assert!(q.push(guest.clone(), queued(n)).is_ok());
        }
        q
    }

    #[test]
    fn guests_are_served_in_turn_and_floods_are_capped() {
        let flooder = GuestId::Vsock(3);
        let quiet = GuestId::Vsock(4);
        let mut q = queue_holding(&flooder, 4);
        assert!(q.push(flooder.clone(), queued(99)).is_err(), "capped");
        assert!(q.push(quiet.clone(), queued(100)).is_ok());
        let order: Vec<(GuestId, Request)> = std::iter::from_fn(|| q.pop().map(|(g, q)| (g, q.request))).collect();
        assert_eq!(order[0], (flooder.clone(), request(0)));
        assert_eq!(order[1], (quiet, request(100)), "the quiet guest waits behind one flooder request only");
        assert_eq!(order.len(), 5);
    }

    #[test]
    fn a_removed_guests_waiting_requests_are_dropped_and_the_others_kept() {
        let removed = GuestId::Vsock(3);
        let kept = GuestId::Vsock(4);
        let mut q = queue_holding(&removed, 3);
        assert!(q.push(kept.clone(), queued(10)).is_ok());
        assert_eq!(q.drop_guest(&removed), 3);
        assert_eq!(q.drop_guest(&removed), 0, "nothing left");
        let (guest, next) = q.pop().unwrap();
        assert_eq!((guest, next.request), (kept, request(10)));
        assert!(q.pop().is_none());
    }
}
