//! The serialized work queue: requests, interface changes and interface events are
//! applied one at a time, under one lock ([`Serialized`]).
//!
//! A task ([`run`]) takes the work in: it applies interface changes and events as they
//! come, and serves queued requests one guest at a time ([`super::scheduler`]). A request
//! read on the request channel's direct path is handled right where it was read, without
//! a hop to that task, when nothing is waiting before it: the lock is free, no request is
//! queued, and every work item, interface event and late connect sent so far has been
//! applied (each is counted when sent and when applied). The order of the work is
//! therefore the same either way. Work that cannot finish at once (a real scan, an
//! observer callback) goes on in a task of its own, still holding the lock.

#[cfg(unix)]
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[cfg(unix)]
use futures::FutureExt;

use proxy_wifi_protocol::GuestBound;
#[cfg(unix)]
use tokio::sync::OwnedMutexGuard;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::time::Instant;

use super::guarded::LateSender;
#[cfg(unix)]
use super::scheduler::Reply;
use super::scheduler::{FairQueue, Queued};
use super::{OperationHandler, Request};
use crate::identity::GuestId;
use crate::interface::{EventClock, EventReceiver, InterfaceId, SharedInterface};
use crate::limits;
use crate::status::RequestKind;

/// One item of the serialized work queue.
pub(crate) enum Work {
    /// A guest request, where to send its answer, and when it arrived.
    Request(GuestId, Queued),
    /// An interface appeared.
    AddInterface(SharedInterface),
    /// An interface disappeared.
    RemoveInterface(InterfaceId),
    /// A guest was removed from the service: end its session.
    ForgetGuest(GuestId),
}

/// What the lock of the work queue guards.
pub(crate) struct Core {
    handler: OperationHandler,
    requests: FairQueue,
    /// Interface events applied so far (compared with the event clock's count of those sent).
    #[cfg_attr(not(unix), allow(dead_code))]
    events_applied: u64,
    /// Late connects applied so far (compared with the count of those sent).
    #[cfg_attr(not(unix), allow(dead_code))]
    late_applied: u64,
}

/// The operation handler under the work queue's lock, and what tells whether work is
/// waiting for it.
pub(crate) struct Serialized {
    core: Arc<Mutex<Core>>,
    /// Counts every interface event sent to the handler.
    #[cfg_attr(not(unix), allow(dead_code))]
    clock: EventClock,
    /// Counts every late connect sent to the handler.
    #[cfg_attr(not(unix), allow(dead_code))]
    late: LateSender,
}

impl Serialized {
    /// The handler, ready for [`run`].
    pub(crate) fn new(handler: OperationHandler) -> Arc<Serialized> {
        let (clock, late) = (handler.clock.clone(), handler.late_sender.clone());
        let requests = FairQueue::new(limits::MAX_PENDING_PER_GUEST);
        let core = Core { handler, requests, events_applied: 0, late_applied: 0 };
        Arc::new(Serialized { core: Arc::new(Mutex::new(core)), clock, late })
    }

    /// The lock, when it is free and nothing sent to the handler waits to be applied:
    /// no work item (`unapplied`), no request queued, no interface event, no late connect.
    #[cfg(unix)]
    fn idle(&self, unapplied: &AtomicUsize) -> Option<OwnedMutexGuard<Core>> {
        if unapplied.load(Ordering::SeqCst) != 0 {
            return None;
        }
        let core = self.core.clone().try_lock_owned().ok()?;
        let nothing_waits = core.requests.is_empty()
            && core.events_applied == self.clock.now()
            && core.late_applied == self.late.sent();
        nothing_waits.then_some(core)
    }
}

/// The receiving end of the work queue, read by [`run`].
pub(crate) struct WorkReceiver {
    receiver: mpsc::Receiver<Work>,
    /// Work items sent and not applied yet (shared with every [`HandlerHandle`]).
    unapplied: Arc<AtomicUsize>,
}

impl WorkReceiver {
    /// One item taken from the queue is applied.
    fn applied(&self) {
        self.unapplied.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A work queue holding at most `capacity` items: the handle every sender clones, and the
/// receiving end for [`run`].
pub(crate) fn work_queue(capacity: usize) -> (HandlerHandle, WorkReceiver) {
    let (work, receiver) = mpsc::channel(capacity);
    let unapplied = Arc::new(AtomicUsize::new(0));
    let handle = HandlerHandle {
        work,
        unapplied: unapplied.clone(),
        #[cfg(unix)]
        inline: None,
    };
    (handle, WorkReceiver { receiver, unapplied })
}

/// One work item counted as sent and not applied, from before it is sent; uncounted when
/// dropped unless it was sent ([`Counted::sent`]).
struct Counted {
    unapplied: Arc<AtomicUsize>,
    sent: bool,
}

impl Counted {
    fn new(unapplied: &Arc<AtomicUsize>) -> Counted {
        unapplied.fetch_add(1, Ordering::SeqCst);
        Counted { unapplied: unapplied.clone(), sent: false }
    }

    /// The item is in the queue: [`run`] uncounts it once applied.
    fn sent(mut self) {
        self.sent = true;
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        if !self.sent {
            self.unapplied.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// The sending side of the work queue, used by transports.
#[derive(Clone)]
pub struct HandlerHandle {
    work: mpsc::Sender<Work>,
    /// Work items sent and not applied yet.
    unapplied: Arc<AtomicUsize>,
    /// Set for the request channel: requests may be handled where they are read.
    #[cfg(unix)]
    inline: Option<Arc<Serialized>>,
}

impl HandlerHandle {
    /// A handle sending to `work`, whose items a test reads itself.
    #[cfg(all(test, target_os = "linux"))]
    pub(crate) fn new(work: mpsc::Sender<Work>) -> Self {
        Self {
            work,
            unapplied: Arc::default(),
            #[cfg(unix)]
            inline: None,
        }
    }

    /// Sends `item`, waiting for room; `false` once the service stopped. Counted from
    /// before it waits for room, so that a direct request arriving meanwhile queues
    /// behind it.
    pub(super) async fn send(&self, item: Work) -> bool {
        let counted = Counted::new(&self.unapplied);
        let sent = self.work.send(item).await.is_ok();
        if sent {
            counted.sent();
        }
        sent
    }

    /// This handle, handling direct requests in place when the work queue is idle.
    #[cfg(unix)]
    pub(crate) fn handling_in_place(mut self, serialized: Arc<Serialized>) -> Self {
        self.inline = Some(serialized);
        self
    }

    /// Queues a request of `guest` and waits for its answer; `None` once the service
    /// stopped, when the guest already has too many requests waiting, or when the request
    /// went stale in the queue (the guest's time for an answer ran out). Dropping the
    /// returned future (the connection closed) withdraws the request.
    pub async fn submit(&self, guest: GuestId, request: Request) -> Option<GuestBound> {
        let (reply, answer) = oneshot::channel();
        let queued = Queued { request, reply: Box::new(reply), arrived: Instant::now() };
        if !self.send(Work::Request(guest, queued)).await {
            return None;
        }
        answer.await.ok()
    }

    /// Handles a request of `guest` whose answer goes to `reply` (the connection itself),
    /// without waiting: the request channel's direct path. It is handled here when the
    /// work queue is idle, queued otherwise; dropped unanswered once the service stopped
    /// or when the guest already has too many requests waiting.
    #[cfg(unix)]
    pub(crate) fn submit_direct(&self, guest: GuestId, request: Request, reply: Box<dyn Reply>) {
        let queued = Queued { request, reply, arrived: Instant::now() };
        if let Some(core) = self.inline.as_ref().and_then(|serialized| serialized.idle(&self.unapplied)) {
            handle_in_place(core, guest, queued);
            return;
        }
        let counted = Counted::new(&self.unapplied);
        match self.work.try_send(Work::Request(guest, queued)) {
            Ok(()) => counted.sent(),
            Err(mpsc::error::TrySendError::Closed(_)) => {}
            Err(mpsc::error::TrySendError::Full(work)) => {
                // The queue is full (the handler is busy): wait for room off the accept loop.
                let sender = self.work.clone();
                tokio::spawn(async move {
                    if sender.send(work).await.is_ok() {
                        counted.sent();
                    }
                });
            }
        }
    }

    /// Queues an interface arrival.
    pub async fn add_interface(&self, interface: SharedInterface) {
        self.send(Work::AddInterface(interface)).await;
    }

    /// Queues an interface removal.
    pub async fn remove_interface(&self, id: InterfaceId) {
        self.send(Work::RemoveInterface(id)).await;
    }

    /// Queues the end of a removed guest's session.
    pub async fn forget_guest(&self, guest: GuestId) {
        self.send(Work::ForgetGuest(guest)).await;
    }
}

/// Handles `queued` under `core`'s lock, here and now as far as it can go; what waits on
/// an interface or the observer goes on in a task of its own. A panic of the handler's
/// code fails this request (its connection closes unanswered), not the accept loop.
#[cfg(unix)]
fn handle_in_place(mut core: OwnedMutexGuard<Core>, guest: GuestId, queued: Queued) {
    let work = AssertUnwindSafe(async move {
        let core = &mut *core;
        handle_queued(&mut core.handler, guest, queued).await;
        core.handler.publish_status();
    });
    let mut work = Box::pin(work.catch_unwind().map(|outcome| {
        if outcome.is_err() {
            tracing::error!("the handler panicked on a request; it is dropped unanswered, the service goes on");
        }
    }));
    // Polled once with a waker that does nothing: a future left pending is polled again
    // by its task, which registers the task's own waker.
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    if work.as_mut().poll(&mut context).is_pending() {
        tokio::spawn(work);
    }
}

/// What [`run`] took from its queues while the lock was free, applied once it holds it.
enum Taken {
    Work(Work),
    Event(crate::interface::EventOrigin, crate::interface::InterfaceEvent),
    LateConnect(super::guarded::LateConnect),
}

/// The serialized work queue: runs until `stop` (or until every [`HandlerHandle`] is
/// dropped), then drains what was already queued. Interface changes are applied as
/// they arrive; requests wait in per-guest queues and are taken one guest at a time.
pub(crate) async fn run(
    serialized: Arc<Serialized>,
    mut work: WorkReceiver,
    mut events: EventReceiver,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut late = serialized.core.lock().await.handler.late_receiver.take().expect("the handler runs once");
    let mut removed_guests = Vec::new();
    let mut open = true;
    let mut taken = None;
    // Made once: each `cancelled()` registers with the token (a lock) until dropped.
    let stopped = stop.cancelled();
    tokio::pin!(stopped);
    loop {
        {
            let mut core = serialized.core.lock().await;
            let Core { handler, requests, events_applied, late_applied } = &mut *core;
            match taken.take() {
                Some(Taken::Work(item)) => {
                    accept_work(handler, requests, &mut removed_guests, item);
                    work.applied();
                }
                Some(Taken::Event(origin, event)) => {
                    handler.on_interface_event(origin, event);
                    *events_applied += 1;
                }
                Some(Taken::LateConnect(connect)) => {
                    handler.on_late_connect(connect).await;
                    *late_applied += 1;
                }
                None => {}
            }
            loop {
                // Take in everything already waiting, without blocking.
                while let Ok(item) = work.receiver.try_recv() {
                    accept_work(handler, requests, &mut removed_guests, item);
                    work.applied();
                }
                while let Ok((origin, event)) = events.try_recv() {
                    handler.on_interface_event(origin, event);
                    *events_applied += 1;
                }
                while let Ok(connect) = late.try_recv() {
                    handler.on_late_connect(connect).await;
                    *late_applied += 1;
                }
                for guest in removed_guests.drain(..) {
                    handler.forget_guest(&guest).await;
                }
                handler.publish_status();
                let Some((guest, queued)) = requests.pop() else { break };
                handle_queued(handler, guest, queued).await;
                handler.publish_status();
            }
        }
        if !open {
            break;
        }
        taken = tokio::select! {
            item = work.receiver.recv() => match item {
                Some(item) => Some(Taken::Work(item)),
                None => {
                    open = false;
                    None
                }
            },
            Some((origin, event)) = events.recv() => Some(Taken::Event(origin, event)),
            Some(connect) = late.recv() => Some(Taken::LateConnect(connect)),
            () = &mut stopped => {
                open = false;
                None
            }
        };
    }
}

/// Rule "nobody waits, nothing is done": a request whose connection closed or whose
/// guest gave up while it waited is dropped unanswered (and counted), so the host does
/// not switch networks for nobody. An answer that can no longer be delivered does not
/// leave a connection behind.
async fn handle_queued(handler: &mut OperationHandler, guest: GuestId, queued: Queued) {
    let now = Instant::now();
    if queued.is_stale(now) {
        let reason =
            if queued.reply.is_closed() { "its connection closed" } else { "the guest's time for an answer ran out" };
        if crate::log_limit::admit(&guest, "request dropped unanswered") {
            tracing::warn!(%guest, operation = RequestKind::of(&queued.request).name(), waited = ?now - queued.arrived, reason,
                "request dropped unanswered: nobody waits for it any more");
        }
        handler.unpublished.stale += 1;
        return;
    }
    let Queued { request, reply, arrived } = queued;
    let answer = handler.handle_request_arrived(&guest, request, arrived).await;
    // Published before the answer goes: a guest that reads the status next sees its change.
    handler.publish_status();
    if Instant::now() >= arrived + limits::REQUEST_ANSWER_DEADLINE {
        handler.on_undelivered(&guest, &answer).await;
    } else if let Err(answer) = reply.send(answer) {
        handler.on_undelivered(&guest, &answer).await;
    }
}

fn accept_work(
    handler: &mut OperationHandler,
    requests: &mut FairQueue,
    removed_guests: &mut Vec<GuestId>,
    item: Work,
) {
    match item {
        Work::Request(guest, queued) => {
            if let Err((guest, _)) = requests.push(guest, queued) {
                // The reply is dropped: the connection is closed without an answer.
                if crate::log_limit::admit(&guest, "too many requests waiting") {
                    tracing::warn!(%guest, max = limits::MAX_PENDING_PER_GUEST,
                        "guest has too many requests waiting; request dropped");
                }
            }
        }
        Work::AddInterface(interface) => handler.add_interface(interface),
        Work::RemoveInterface(id) => handler.remove_interface(id),
        Work::ForgetGuest(guest) => {
            // Requests it sent before it was removed are not carried out for it.
            let dropped = requests.drop_guest(&guest);
            if dropped > 0 {
                tracing::info!(%guest, dropped, "removed guest's waiting requests dropped unanswered");
            }
            removed_guests.push(guest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sent_item_stays_counted_until_applied_and_holds_no_reference() {
        let (handle, receiver) = work_queue(1);
        assert!(handle.send(Work::ForgetGuest(GuestId::Vsock(3))).await);
        assert_eq!(handle.unapplied.load(Ordering::SeqCst), 1, "counted until applied");
        // An item that never gets in (the queue is full and the sender gives up) is uncounted.
        let waiting = tokio::time::timeout(
            std::time::Duration::from_millis(10),
            handle.send(Work::ForgetGuest(GuestId::Vsock(4))),
        )
        .await;
        assert!(waiting.is_err(), "the queue holds one item");
        assert_eq!(handle.unapplied.load(Ordering::SeqCst), 1);
        receiver.applied();
        assert_eq!(handle.unapplied.load(Ordering::SeqCst), 0);
        // Only the handle and the receiver hold the count: nothing leaked a reference.
        assert_eq!(Arc::strong_count(&handle.unapplied), 2);
    }
}
