//! Guest notifications: a bounded queue the handler pushes into without ever blocking,
//! and the sender task that delivers each message on a fresh connection.
//!
//! Rules (behavior.md, "Transport"): notifications are dropped until the guest's first
//! request (the *gate*: a guest has no queue before then, see `NotificationHub::open`); each message is encoded before connecting, written whole right
//! after the connection is made (the guest gives it 10 ms), then the connection is
//! closed; delivery is fire and forget.
//!
//! When the queue is full: a signal-quality update replaces the one already queued
//! (signal updates are always coalesced to the latest value), the oldest queued scan
//! results make room for anything newer, and otherwise the new message is dropped and
//! counted. The handler never waits.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proxy_wifi_protocol::Message;
use tokio::io::AsyncWriteExt;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use tokio_util::task::TaskTracker;

use crate::identity::GuestId;
use crate::transport::NotificationConnector;

/// Default capacity of the guest notification queue.
pub const DEFAULT_NOTIFICATION_QUEUE_CAPACITY: usize = 64;

/// How long the sender waits for the guest to accept a notification connection.
pub const NOTIFICATION_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long the sender waits for a notification to be written.
pub const NOTIFICATION_WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// Counters of the notification channel.
#[derive(Debug, Default)]
pub struct NotificationCounters {
    /// Delivered (connected and written).
    pub sent: AtomicU64,
    /// Dropped before the guest's first request.
    pub gated: AtomicU64,
    /// Dropped because the queue was full, or replaced by a newer signal update.
    pub dropped: AtomicU64,
    /// Could not be delivered (connect or write failed).
    pub failed: AtomicU64,
    /// Waiting in the queues now.
    pub queued: AtomicU64,
}

/// The bounded queue of notifications waiting for delivery to one guest.
#[derive(Debug)]
pub struct NotificationQueue {
    items: Mutex<VecDeque<Message>>,
    capacity: usize,
    closed: AtomicBool,
    ready: Notify,
    /// Delivery counters (shared by every guest's queue).
    pub counters: Arc<NotificationCounters>,
}

impl NotificationQueue {
    /// An empty queue holding at most `capacity` messages.
    pub fn new(capacity: usize, counters: Arc<NotificationCounters>) -> Self {
        Self {
            items: Mutex::new(VecDeque::with_capacity(capacity.clamp(1, 1024))),
            capacity: capacity.max(1),
            closed: AtomicBool::new(false),
            ready: Notify::new(),
            counters,
        }
    }

    /// Ends the queue: its sender delivers what is queued, then stops.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.ready.notify_one();
    }

    /// Queues a notification for the guest; never blocks.
    pub fn push(&self, message: Message) {
        let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        if let Message::NotifSignalQuality(_) = message {
            if let Some(queued) = items.iter_mut().find(|m| matches!(m, Message::NotifSignalQuality(_))) {
                *queued = message;
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        if items.len() >= self.capacity {
            match items.iter().position(|m| matches!(m, Message::ScanResponse(_))) {
                Some(oldest_scan) => {
                    items.remove(oldest_scan);
                    self.counters.queued.fetch_sub(1, Ordering::Relaxed);
                    self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!("notification queue full; oldest scan results dropped");
                }
                None => {
                    self.counters.dropped.fetch_add(1, Ordering::Relaxed);
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
    pub fn try_pop(&self) -> Option<Message> {
        let message = self.items.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
        if message.is_some() {
            self.counters.queued.fetch_sub(1, Ordering::Relaxed);
        }
        message
    }

    /// Waits for and takes the oldest queued notification; `None` once closed and empty.
    pub async fn pop(&self) -> Option<Message> {
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

/// Creates each guest's queue and, when delivering for real, its sender task.
pub(crate) struct NotificationHub {
    capacity: usize,
    counters: Arc<NotificationCounters>,
    delivery: Option<Delivery>,
}

struct Delivery {
    connector: Arc<dyn NotificationConnector>,
    stop: CancellationToken,
    tracker: TaskTracker,
}

impl NotificationHub {
    /// Queues whose messages stay queued (handler tests read them with `try_pop`).
    #[cfg(test)]
    pub(crate) fn without_delivery(capacity: usize, counters: Arc<NotificationCounters>) -> Self {
        Self { capacity, counters, delivery: None }
    }

    /// Queues delivered through `connector` by one task per guest, on `tracker`, until `stop`.
    pub(crate) fn delivering(
        capacity: usize,
        counters: Arc<NotificationCounters>,
        connector: Arc<dyn NotificationConnector>,
        stop: CancellationToken,
        tracker: TaskTracker,
    ) -> Self {
        Self { capacity, counters, delivery: Some(Delivery { connector, stop, tracker }) }
    }

    /// Counters shared by every queue.
    pub(crate) fn counters(&self) -> &Arc<NotificationCounters> {
        &self.counters
    }

    /// A new guest's queue, made on its first request: until then the guest has no queue,
    /// which is the gate (nothing is queued for a guest that may not be listening yet).
    pub(crate) fn open(&self, guest: &GuestId) -> Arc<NotificationQueue> {
        let queue = Arc::new(NotificationQueue::new(self.capacity, self.counters.clone()));
        if let Some(delivery) = &self.delivery {
            delivery.tracker.spawn(run_sender(
                queue.clone(),
                delivery.connector.clone(),
                guest.clone(),
                delivery.stop.clone(),
            ));
        }
        queue
    }
}

/// Delivers one guest's notifications until `stop` (then flushes what is left) or until
/// its queue is closed.
pub(crate) async fn run_sender(
    queue: Arc<NotificationQueue>,
    connector: Arc<dyn NotificationConnector>,
    guest: GuestId,
    stop: CancellationToken,
) {
    loop {
        let message = tokio::select! {
            message = queue.pop() => match message {
                Some(message) => message,
                None => return,
            },
            _ = stop.cancelled() => break,
        };
        deliver(&queue, connector.as_ref(), &guest, message).await;
    }
    while let Some(message) = queue.try_pop() {
        deliver(&queue, connector.as_ref(), &guest, message).await;
    }
}

async fn deliver(queue: &NotificationQueue, connector: &dyn NotificationConnector, guest: &GuestId, message: Message) {
    let bytes = message.to_bytes();
    let operation = message.operation();
    let outcome = async {
        let mut stream = tokio::time::timeout(NOTIFICATION_CONNECT_TIMEOUT, connector.connect(guest))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))??;
        tokio::time::timeout(NOTIFICATION_WRITE_TIMEOUT, async {
            stream.write_all(&bytes).await?;
            stream.shutdown().await
        })
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "write timed out"))?
    }
    .await;
    match outcome {
        Ok(()) => {
            queue.counters.sent.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%operation, %guest, to = %connector.describe(guest), "notification sent");
        }
        Err(error) => {
            queue.counters.failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%operation, %guest, to = %connector.describe(guest), %error, "notification not delivered");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxy_wifi_protocol::{DisconnectedNotification, ScanResponse, SessionId, SignalQualityNotification};

    fn signal(dbm: i8) -> Message {
        Message::NotifSignalQuality(SignalQualityNotification { signal_dbm: dbm })
    }

    fn scan() -> Message {
        Message::ScanResponse(ScanResponse::default())
    }

    fn disconnected(s: u64) -> Message {
        Message::NotifDisconnected(DisconnectedNotification { session_id: SessionId(s) })
    }

    #[test]
    fn signal_updates_coalesce_to_latest() {
        let q = NotificationQueue::new(4, Arc::default());
        q.push(signal(-60));
        q.push(disconnected(1));
        q.push(signal(-70));
        q.push(signal(-80));
        assert_eq!(q.try_pop(), Some(signal(-80)));
        assert_eq!(q.try_pop(), Some(disconnected(1)));
        assert_eq!(q.try_pop(), None);
    }

    #[test]
    fn full_queue_drops_oldest_scan_results_first_then_new_messages() {
        let q = NotificationQueue::new(3, Arc::default());
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
