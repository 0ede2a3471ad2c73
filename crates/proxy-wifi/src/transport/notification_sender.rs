//! The notification sender: takes each guest's queued notifications (the handler's
//! outbox, `crate::notify`) and delivers each message on a fresh connection.
//!
//! Rules (behavior.md, "Transport"): each message is encoded before connecting, written
//! whole right after the connection is made (the guest gives it 10 ms), then the
//! connection is closed; delivery is fire and forget. The sender task runs on the task
//! that the handler's push wakes, and the transport writes as soon as its connect returns
//! ([`NotificationConnector::deliver`]).

use std::sync::Arc;

use proxy_wifi_protocol::GuestBound;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{GuestId, NotificationConnector};
use crate::notify::{NotificationQueue, StartDelivery};
use crate::status::NotificationOutcome;

/// Delivery through `connector`: one sender task per guest, on `tracker`, until `stop`.
pub(crate) fn start_delivery(
    connector: Arc<dyn NotificationConnector>,
    stop: CancellationToken,
    tracker: TaskTracker,
) -> StartDelivery {
    Box::new(move |guest, queue| {
        tracker.spawn(run_sender(queue, connector.clone(), guest.clone(), stop.clone()));
    })
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

async fn deliver(
    queue: &NotificationQueue,
    connector: &dyn NotificationConnector,
    guest: &GuestId,
    message: GuestBound,
) {
    if queue.is_discarded() {
        // Taken out just before its guest was removed: dropped like the rest.
        queue.count(NotificationOutcome::Dropped);
        return;
    }
    let bytes = message.to_bytes_as(queue.abi);
    let operation = message.operation();
    let outcome = connector.deliver(guest, &bytes).await;
    match outcome {
        Ok(()) => {
            queue.count(NotificationOutcome::Sent);
            tracing::debug!(%operation, %guest, to = %connector.describe(guest), "notification sent");
        }
        Err(error) => {
            queue.count(NotificationOutcome::Failed);
            if crate::log_limit::admit(guest, "notification not delivered") {
                tracing::warn!(%operation, %guest, to = %connector.describe(guest), %error, "notification not delivered");
            }
        }
    }
}
