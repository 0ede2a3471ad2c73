//! The fake's clock: actions scheduled on tokio's timer run in order on a delivery task of
//! their own, which hands the notifications they return to the registered callback.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use uuid::Uuid;

use super::{FakeState, FakeWlanApi, Inner, lock};
use crate::host::windows::api::{WlanEvent, WlanNotification};

pub(super) type Action = Box<dyn FnOnce(&mut FakeState) -> Vec<WlanEvent> + Send>;

#[derive(Default)]
pub(super) struct Scheduler {
    queue: BTreeMap<(Instant, u64), Action>,
    sequence: u64,
    held: bool,
}

enum Next {
    Due(Action),
    At(Instant),
    Idle,
}

impl FakeWlanApi {
    /// Runs `action` on the state after `delay`, from the delivery task, and delivers the
    /// notifications it returns.
    pub(super) fn schedule(
        &self,
        delay: Duration,
        action: impl FnOnce(&mut FakeState) -> Vec<WlanEvent> + Send + 'static,
    ) {
        self.ensure_task();
        let deadline = Instant::now() + delay;
        {
            let mut scheduler = lock(&self.inner.scheduler);
            scheduler.sequence += 1;
            let key = (deadline, scheduler.sequence);
            scheduler.queue.insert(key, Box::new(action));
        }
        self.inner.pending.send_modify(|n| *n += 1);
        self.inner.wake.notify_one();
    }

    /// Delivers `notification` for `guid` after `delay`, if the interface still exists.
    pub(super) fn notify_later(&self, delay: Duration, guid: Uuid, notification: WlanNotification) {
        self.schedule(delay, move |state| {
            if state.interface(guid).is_none() {
                return Vec::new();
            }
            vec![WlanEvent { interface: guid, notification }]
        });
    }

    pub(super) fn ensure_task(&self) {
        if self.inner.task_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = Arc::downgrade(&self.inner);
        let wake = self.inner.wake.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(deliver(inner, wake));
            }
            Err(_) => {
                std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build();
                    if let Ok(runtime) = runtime {
                        runtime.block_on(deliver(inner, wake));
                    }
                });
            }
        }
    }

    /// Holds notifications back (they queue) until [`FakeWlanApi::release_notifications`].
    pub fn hold_notifications(&self) {
        lock(&self.inner.scheduler).held = true;
    }

    /// Delivers held notifications, in order.
    pub fn release_notifications(&self) {
        lock(&self.inner.scheduler).held = false;
        self.inner.wake.notify_one();
    }

    /// Waits until every scheduled notification was delivered.
    pub async fn settled(&self) {
        let mut pending = self.inner.pending.subscribe();
        let _ = pending.wait_for(|n| *n == 0).await;
    }
}

/// Marks the delivery task as gone when its runtime drops it, so that the next call
/// starts another one (a fake can outlive the runtime that first used it).
struct TaskGuard(Weak<Inner>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        if let Some(inner) = self.0.upgrade() {
            inner.task_started.store(false, Ordering::Release);
        }
    }
}

async fn deliver(inner: Weak<Inner>, wake: Arc<Notify>) {
    let _guard = TaskGuard(inner.clone());
    loop {
        let next = {
            let Some(inner) = inner.upgrade() else { return };
            let mut scheduler = lock(&inner.scheduler);
            match scheduler.queue.first_key_value() {
                _ if scheduler.held => Next::Idle,
                Some((&(deadline, _), _)) if deadline <= Instant::now() => {
                    Next::Due(scheduler.queue.pop_first().map(|(_, action)| action).expect("first entry"))
                }
                Some((&(deadline, _), _)) => Next::At(deadline),
                None => Next::Idle,
            }
        };
        match next {
            Next::Due(action) => {
                let Some(inner) = inner.upgrade() else { return };
                let events = action(&mut lock(&inner.state));
                let callback = lock(&inner.callback).clone();
                if let Some(callback) = callback {
                    for event in events {
                        callback(event);
                    }
                }
                inner.pending.send_modify(|n| *n = n.saturating_sub(1));
            }
            Next::At(deadline) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(deadline) => {}
                    _ = wake.notified() => {}
                }
            }
            Next::Idle => wake.notified().await,
        }
    }
}
