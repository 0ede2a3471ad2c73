//! Guest notifications, as the handler sees them: a bounded queue per guest that the
//! handler pushes into without ever blocking — its outbox. The transport layer
//! (`transport::notification_sender`) takes the messages out and delivers them.
//!
//! Rules (behavior.md, "Transport"): notifications are dropped until the guest's first
//! request (the *gate*: a guest has no queue before then, see `NotificationHub::open`).
//!
//! When the queue is full: a signal-quality update replaces the one already queued
//! (signal updates are always coalesced to the latest value), the oldest queued scan
//! results make room for anything newer, and otherwise the new message is dropped and
//! counted. The handler never waits.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use proxy_wifi_protocol::{GuestAbi, GuestBound};
use tokio::sync::Notify;

use crate::identity::{GuestAbis, GuestId};
use crate::status::{GuestNotificationCounters, NotificationCounters, NotificationOutcome};

/// The bounded queue of notifications waiting for delivery to one guest.
#[derive(Debug)]
pub struct NotificationQueue {
    items: Mutex<VecDeque<GuestBound>>,
    capacity: usize,
    closed: AtomicBool,
    /// Ended by [`NotificationQueue::discard`]: nothing more is delivered.
    discarded: AtomicBool,
    ready: Notify,
    /// The guest's driver generation: what it accepts, and how it is encoded.
    pub(crate) abi: GuestAbi,
    /// Delivery counters (shared by every guest's queue).
    pub counters: Arc<NotificationCounters>,
    /// This guest's delivery counters.
    pub(crate) guest_counters: Arc<GuestNotificationCounters>,
}

impl NotificationQueue {
    /// An empty queue holding at most `capacity` messages for a guest that speaks `abi`.
    pub fn new(capacity: usize, counters: Arc<NotificationCounters>, abi: GuestAbi) -> Self {
        Self {
            items: Mutex::new(VecDeque::with_capacity(capacity.clamp(1, 1024))),
            capacity: capacity.max(1),
            closed: AtomicBool::new(false),
            discarded: AtomicBool::new(false),
            ready: Notify::new(),
            abi,
            counters,
            guest_counters: Arc::default(),
        }
    }

    /// Counts a delivery outcome, for this guest and in the totals.
    pub(crate) fn count(&self, outcome: NotificationOutcome) {
        let total = match outcome {
            NotificationOutcome::Sent => &self.counters.sent,
            NotificationOutcome::Coalesced => &self.counters.coalesced,
            NotificationOutcome::Dropped => &self.counters.dropped,
            NotificationOutcome::Failed => &self.counters.failed,
        };
        total.fetch_add(1, Ordering::Relaxed);
        self.guest_counters.count(outcome);
    }

    /// Ends the queue: its sender delivers what is queued, then stops.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.ready.notify_one();
    }

    /// Ends the queue and drops what it holds (counted as dropped): the guest was removed,
    /// so nothing more goes to it, not even what was already queued (issue 25 item 12).
    pub fn discard(&self) {
        let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        self.discarded.store(true, Ordering::Release);
        self.closed.store(true, Ordering::Release);
        let dropped = items.len();
        items.clear();
        drop(items);
        self.counters.queued.fetch_sub(dropped as u64, Ordering::Relaxed);
        for _ in 0..dropped {
            self.count(NotificationOutcome::Dropped);
        }
        if dropped > 0 {
            tracing::debug!(dropped, "guest removed; its queued notifications are dropped");
        }
        self.ready.notify_one();
    }

    /// Whether the queue was discarded (its guest removed): a message taken out before
    /// is not delivered either.
    pub fn is_discarded(&self) -> bool {
        self.discarded.load(Ordering::Acquire)
    }

    /// Queues a notification for the guest; never blocks. A notification the guest's
    /// driver does not accept (scan results, for a legacy driver) is not queued.
    pub fn push(&self, message: GuestBound) {
        if !self.abi.accepts_notification(message.operation()) {
            tracing::debug!(operation = %message.operation(), abi = %self.abi, "not sent: the guest's driver does not take it");
            return;
        }
        let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        if let GuestBound::NotifSignalQuality(_) = message {
            if let Some(queued) = items.iter_mut().find(|m| matches!(m, GuestBound::NotifSignalQuality(_))) {
                *queued = message;
                self.count(NotificationOutcome::Coalesced);
                return;
            }
        }
        if items.len() >= self.capacity {
            match items.iter().position(|m| matches!(m, GuestBound::ScanResponse(_))) {
                Some(oldest_scan) => {
                    items.remove(oldest_scan);
                    self.counters.queued.fetch_sub(1, Ordering::Relaxed);
                    self.count(NotificationOutcome::Dropped);
                    tracing::warn!("notification queue full; oldest scan results dropped");
                }
                None => {
                    self.count(NotificationOutcome::Dropped);
                    tracing::warn!(operation = %message.operation(), "notification queue full; notification dropped");
                    return;
                }
            }
        }
        items.push_back(message);
        self.counters.queued.fetch_add(1, Ordering::Relaxed);
        drop(items);
        self.ready.notify_one();
    }

    /// Takes the oldest queued notification, if any.
    pub fn try_pop(&self) -> Option<GuestBound> {
        let message = self.items.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
        if message.is_some() {
            self.counters.queued.fetch_sub(1, Ordering::Relaxed);
        }
        message
    }

    /// Waits for and takes the oldest queued notification; `None` once closed and empty.
    pub async fn pop(&self) -> Option<GuestBound> {
        loop {
            let ready = self.ready.notified();
            if let Some(message) = self.try_pop() {
                return Some(message);
            }
            if self.closed.load(Ordering::Acquire) {
                return None;
            }
            ready.await;
        }
    }

    /// Number of queued notifications.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.items.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Starts the delivery of a new guest's queue (given by the transport layer).
pub(crate) type StartDelivery = Box<dyn Fn(&GuestId, Arc<NotificationQueue>) + Send + Sync>;

/// Creates each guest's queue and hands it to the delivery, if there is one.
pub(crate) struct NotificationHub {
    capacity: usize,
    abis: Arc<GuestAbis>,
    counters: Arc<NotificationCounters>,
    delivery: Option<StartDelivery>,
}

impl NotificationHub {
    /// Queues whose messages stay queued (handler tests read them with `try_pop`).
    #[cfg(test)]
    pub(crate) fn without_delivery(capacity: usize, counters: Arc<NotificationCounters>) -> Self {
        Self { capacity, abis: Arc::default(), counters, delivery: None }
    }

    /// Queues handed to `delivery` as they are made; each guest's queue speaks the layout
    /// `abis` gives it.
    pub(crate) fn delivering(
        capacity: usize,
        abis: Arc<GuestAbis>,
        counters: Arc<NotificationCounters>,
        delivery: StartDelivery,
    ) -> Self {
        Self { capacity, abis, counters, delivery: Some(delivery) }
    }

    /// Counters shared by every queue.
    pub(crate) fn counters(&self) -> &Arc<NotificationCounters> {
        &self.counters
    }

    /// A new guest's queue, made on its first request: until then the guest has no queue,
    /// which is the gate (nothing is queued for a guest that may not be listening yet).
    pub(crate) fn open(&self, guest: &GuestId) -> Arc<NotificationQueue> {
        let queue = Arc::new(NotificationQueue::new(self.capacity, self.counters.clone(), self.abis.of(guest)));
        if let Some(start) = &self.delivery {
            start(guest, queue.clone());
        }
        queue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxy_wifi_protocol::{DisconnectedNotification, ScanResponse, SessionId, SignalQualityNotification};

    fn signal(dbm: i8) -> GuestBound {
        GuestBound::NotifSignalQuality(SignalQualityNotification { signal_dbm: dbm })
    }

    fn scan() -> GuestBound {
        GuestBound::ScanResponse(ScanResponse::default())
    }

    fn disconnected(s: u64) -> GuestBound {
        GuestBound::NotifDisconnected(DisconnectedNotification { session_id: SessionId(s) })
    }

    #[test]
    fn a_legacy_guest_is_never_sent_scan_results() {
        let q = NotificationQueue::new(4, Arc::default(), GuestAbi::Legacy);
        q.push(scan());
        q.push(signal(-60));
        q.push(scan());
        q.push(disconnected(1));
        assert_eq!(q.try_pop(), Some(signal(-60)));
        assert_eq!(q.try_pop(), Some(disconnected(1)));
        assert_eq!(q.try_pop(), None);
        assert_eq!(q.counters.queued.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn signal_updates_coalesce_to_latest() {
        let q = NotificationQueue::new(4, Arc::default(), GuestAbi::Current);
        q.push(signal(-60));
        q.push(disconnected(1));
        q.push(signal(-70));
        q.push(signal(-80));
        assert_eq!(q.try_pop(), Some(signal(-80)));
        assert_eq!(q.try_pop(), Some(disconnected(1)));
        assert_eq!(q.try_pop(), None);
        assert_eq!(q.counters.coalesced.load(Ordering::Relaxed), 2);
        assert_eq!(q.guest_counters.read().coalesced, 2);
        assert_eq!(q.guest_counters.read().dropped, 0);
    }

    #[test]
    fn full_queue_drops_oldest_scan_results_first_then_new_messages() {
        let q = NotificationQueue::new(3, Arc::default(), GuestAbi::Current);
        q.push(scan());
        q.push(disconnected(1));
        q.push(disconnected(2));
        q.push(disconnected(3));
        assert_eq!(q.len(), 3);
        q.push(disconnected(4));
        assert_eq!(q.len(), 3);
        assert_eq!(q.counters.dropped.load(Ordering::Relaxed), 2);
        let all: Vec<_> = std::iter::from_fn(|| q.try_pop()).collect();
        assert_eq!(all, vec![disconnected(1), disconnected(2), disconnected(3)]);
    }
}
