//! Fair scheduling between guests: one FIFO queue per guest, served round-robin.
//!
//! A real guest sends one request at a time, but a hostile or buggy one may open many
//! connections at once. With one shared FIFO its requests would delay everyone's; here
//! a guest waits behind at most one request of each other guest.

use std::collections::{HashMap, VecDeque};

use proxy_wifi_protocol::GuestBound;
use tokio::sync::oneshot;

use super::Request;
use crate::identity::GuestId;

type Pending = (Request, oneshot::Sender<GuestBound>);

/// Per-guest request queues, served in turn.
pub(crate) struct FairQueue {
    queues: HashMap<GuestId, VecDeque<Pending>>,
    turn: VecDeque<GuestId>,
    max_per_guest: usize,
}

impl FairQueue {
    pub(crate) fn new(max_per_guest: usize) -> Self {
        Self { queues: HashMap::new(), turn: VecDeque::new(), max_per_guest }
    }

    /// Queues a request; gives it back when the guest already has too many waiting.
    #[allow(clippy::result_large_err)]
    pub(crate) fn push(
        &mut self,
        guest: GuestId,
        request: Request,
        reply: oneshot::Sender<GuestBound>,
    ) -> Result<(), (GuestId, Request, oneshot::Sender<GuestBound>)> {
        let queue = self.queues.entry(guest.clone()).or_default();
        if queue.len() >= self.max_per_guest {
            return Err((guest, request, reply));
        }
        if queue.is_empty() {
            self.turn.push_back(guest);
        }
        queue.push_back((request, reply));
        Ok(())
    }

    /// The next request: the oldest of the guest whose turn it is.
    pub(crate) fn pop(&mut self) -> Option<(GuestId, Request, oneshot::Sender<GuestBound>)> {
        let guest = self.turn.pop_front()?;
        let queue = self.queues.get_mut(&guest)?;
        let (request, reply) = queue.pop_front()?;
        if queue.is_empty() {
            self.queues.remove(&guest);
        } else {
            self.turn.push_back(guest.clone());
        }
        Some((guest, request, reply))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxy_wifi_protocol::{DisconnectRequest, SessionId};

    fn request(n: u64) -> Request {
        Request::Disconnect(DisconnectRequest { session_id: SessionId(n) })
    }

    #[test]
    fn guests_are_served_in_turn_and_floods_are_capped() {
        let flooder = GuestId::Vsock(3);
        let quiet = GuestId::Vsock(4);
        let mut q = FairQueue::new(4);
        for n in 0..4 {
            assert!(q.push(flooder.clone(), request(n), oneshot::channel().0).is_ok());
        }
        assert!(q.push(flooder.clone(), request(99), oneshot::channel().0).is_err(), "capped");
        q.push(quiet.clone(), request(100), oneshot::channel().0).unwrap();
        let order: Vec<(GuestId, Request)> = std::iter::from_fn(|| q.pop().map(|(g, r, _)| (g, r))).collect();
        assert_eq!(order[0], (flooder.clone(), request(0)));
        assert_eq!(order[1], (quiet, request(100)), "the quiet guest waits behind one flooder request only");
        assert_eq!(order.len(), 5);
    }
}
