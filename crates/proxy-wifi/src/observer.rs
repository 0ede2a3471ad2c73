//! Client-application callbacks ("observer") and the serialized queue that delivers them.
//!
//! Callbacks run one at a time on a dedicated thread, never on the service's runtime,
//! so a slow callback cannot stall the transport. Authorization and scan callbacks are
//! awaited by the operation handler, each for at most the callback deadline
//! ([`crate::limits::OBSERVER_CALLBACK_DEADLINE`], [`crate::ServiceBuilder::observer_callback_deadline`]);
//! the others are queued and not awaited. A callback that panics or misses its deadline
//! is logged; for an authorization it counts as [`Authorization::Deny`]. While a callback
//! is overdue, awaited callbacks are not waited for (the handler goes on at once), and
//! awaited callbacks nobody waits for any more are skipped when their turn comes.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc as std_mpsc;
use std::thread;
use std::time::Duration;

use proxy_wifi_protocol::{Bssid, Ssid};
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::limits;

use crate::identity::GuestId;
use crate::interface::{AuthAlgorithm, InterfaceId};

/// Whether a guest connection is made by the host for the guest, or mirrors one the host already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OperationType {
    /// The host connects (or disconnects) an interface because the guest asked.
    GuestDirected,
    /// The guest mirrors a connection the host already has; the host is not touched.
    HostMirroring,
}

/// Outcome of a guest operation, as told to the observer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OperationStatus {
    /// It worked.
    Succeeded,
    /// It was tried and failed.
    Failed,
    /// The observer refused it.
    Denied,
}

/// The observer's verdict on a guest connection request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorization {
    /// Let the guest connect.
    Approve,
    /// Refuse the connection.
    Deny,
}

/// A guest connection request, as given to [`Observer::authorize_guest_connection_request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRequestArgs {
    /// The guest asking.
    pub guest: GuestId,
    /// The interface concerned: the mirrored one, or `None` for a guest-directed request
    /// (every interface may be tried).
    pub interface: Option<InterfaceId>,
    /// The requested network.
    pub ssid: Ssid,
    /// The authentication as the guest sees it.
    pub auth: AuthAlgorithm,
}

/// A connection, as given to connection and host callbacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionArgs {
    /// The guest concerned; `None` for host events.
    pub guest: Option<GuestId>,
    /// The interface that holds (or held) the connection; `None` when no interface was
    /// involved (a denied guest-directed request, or every interface failed).
    pub interface: Option<InterfaceId>,
    /// The network.
    pub ssid: Ssid,
    /// The BSS, when known (zero otherwise).
    pub bssid: Bssid,
    /// The authentication as the guest sees it.
    pub auth: AuthAlgorithm,
}

/// A guest disconnection, as given to disconnection callbacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisconnectRequestArgs {
    /// The guest disconnecting.
    pub guest: GuestId,
    /// The interface that backs the guest's connection.
    pub interface: InterfaceId,
    /// The network the guest leaves.
    pub ssid: Ssid,
}

/// Callbacks of the client application. Every method has a default: nothing, or
/// [`Authorization::Approve`] for authorization.
///
/// Methods run on the observer thread, one at a time, in the order of the events.
pub trait Observer: Send + Sync + 'static {
    /// The host connected an interface to a network.
    fn on_host_connection(&self, _connection: &ConnectionArgs) {}
    /// The host lost or left a connection.
    fn on_host_disconnection(&self, _connection: &ConnectionArgs) {}
    /// The guest asks to connect: approve or deny. Awaited by the handler.
    fn authorize_guest_connection_request(&self, _kind: OperationType, _request: &ConnectRequestArgs) -> Authorization {
        Authorization::Approve
    }
    /// A guest connection request finished.
    fn on_guest_connection_completion(
        &self,
        _kind: OperationType,
        _status: OperationStatus,
        _connection: &ConnectionArgs,
    ) {
    }
    /// The guest asks to disconnect.
    fn on_guest_disconnection_request(&self, _kind: OperationType, _request: &DisconnectRequestArgs) {}
    /// A guest disconnection finished.
    fn on_guest_disconnection_completion(
        &self,
        _kind: OperationType,
        _status: OperationStatus,
        _request: &DisconnectRequestArgs,
    ) {
    }
    /// A guest asked for a scan. Awaited before the scan starts.
    fn on_guest_scan_request(&self, _guest: &GuestId) {}
    /// A guest scan finished. Awaited before the response is sent.
    fn on_guest_scan_completion(&self, _guest: &GuestId, _status: OperationStatus) {}
}

/// An observer that does nothing and approves everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopObserver;

impl Observer for NoopObserver {}

type Job = Box<dyn FnOnce(&dyn Observer) + Send>;

/// What the observer thread and the queue's clones share.
#[derive(Default)]
struct ThreadState {
    /// A callback is running now.
    running: AtomicBool,
    /// An awaited callback missed its deadline and the thread has not finished a callback since.
    overdue: AtomicBool,
    /// Callbacks queued and not yet started.
    queued: AtomicUsize,
}

/// The serialized observer queue: one thread runs the callbacks in order.
#[derive(Clone)]
pub(crate) struct ObserverQueue {
    /// `None`: the application gave no observer; callbacks are the no-op defaults, run
    /// inline instead of through the observer thread.
    jobs: Option<std_mpsc::Sender<Job>>,
    state: Arc<ThreadState>,
    /// Time an awaited callback has to return; `None`: waited for as long as it takes.
    deadline: Option<Duration>,
}

impl ObserverQueue {
    /// Starts the observer thread, with no callback deadline (see
    /// [`ObserverQueue::with_deadline`]). It ends when every queue clone is dropped.
    pub(crate) fn start(observer: Arc<dyn Observer>) -> (ObserverQueue, thread::JoinHandle<()>) {
        let (jobs, receiver) = std_mpsc::channel::<Job>();
        let state = Arc::new(ThreadState::default());
        let thread_state = state.clone();
        let handle = thread::Builder::new()
            .name("proxy-wifi-observer".into())
            .spawn(move || {
                for job in receiver {
                    thread_state.queued.fetch_sub(1, Ordering::Relaxed);
                    thread_state.running.store(true, Ordering::SeqCst);
                    job(observer.as_ref());
                    thread_state.running.store(false, Ordering::SeqCst);
                    thread_state.overdue.store(false, Ordering::SeqCst);
                }
            })
            .expect("spawning the observer thread");
        (ObserverQueue { jobs: Some(jobs), state, deadline: None }, handle)
    }

    /// No observer: no thread; every callback is [`NoopObserver`]'s, run inline.
    pub(crate) fn none() -> ObserverQueue {
        ObserverQueue { jobs: None, state: Arc::default(), deadline: None }
    }

    /// The same queue, awaited callbacks given `deadline` to return.
    pub(crate) fn with_deadline(mut self, deadline: Duration) -> ObserverQueue {
        self.deadline = Some(deadline);
        self
    }

    /// Hands a job to the observer thread; `false` when the thread is gone.
    fn send(&self, jobs: &std_mpsc::Sender<Job>, job: Job) -> bool {
        self.state.queued.fetch_add(1, Ordering::Relaxed);
        if jobs.send(job).is_err() {
            self.state.queued.fetch_sub(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// Whether a callback is running past its deadline right now.
    fn is_stuck(&self) -> bool {
        self.state.overdue.load(Ordering::SeqCst) && self.state.running.load(Ordering::SeqCst)
    }

    /// Queues a callback; not awaited. A panic in it is logged. Dropped (and logged) when
    /// [`limits::OBSERVER_QUEUE_CAPACITY`] callbacks already wait (a callback hangs).
    pub(crate) fn notify(&self, name: &'static str, callback: impl FnOnce(&dyn Observer) + Send + 'static) {
        let Some(jobs) = &self.jobs else { return };
        if self.state.queued.load(Ordering::Relaxed) >= limits::OBSERVER_QUEUE_CAPACITY {
            tracing::warn!(
                callback = name,
                max = limits::OBSERVER_QUEUE_CAPACITY,
                "too many observer callbacks waiting (one hangs?); callback dropped"
            );
            return;
        }
        let job: Job = Box::new(move |observer| {
            if catch_unwind(AssertUnwindSafe(|| callback(observer))).is_err() {
                tracing::error!(callback = name, "observer callback panicked; the service keeps running");
            }
        });
        if !self.send(jobs, job) {
            tracing::debug!(callback = name, "observer thread stopped; callback dropped");
        }
    }

    /// Queues a callback and waits for its result, at most the callback deadline; `None`
    /// if it panicked, missed the deadline, or an earlier callback is still overdue.
    pub(crate) async fn call<T: Send + 'static>(
        &self,
        name: &'static str,
        callback: impl FnOnce(&dyn Observer) -> T + Send + 'static,
    ) -> Option<T> {
        self.call_until(name, None, callback).await
    }

    /// [`ObserverQueue::call`], waiting no later than `cap` either (when the queue has a
    /// callback deadline).
    async fn call_until<T: Send + 'static>(
        &self,
        name: &'static str,
        cap: Option<Instant>,
        callback: impl FnOnce(&dyn Observer) -> T + Send + 'static,
    ) -> Option<T> {
        let Some(jobs) = &self.jobs else {
            return Some(callback(&NoopObserver));
        };
        if self.is_stuck() {
            tracing::warn!(
                callback = name,
                "an earlier observer callback is still running past its deadline; not waited for"
            );
            return None;
        }
        let (reply, result) = oneshot::channel();
        let job: Job = Box::new(move |observer| {
            if reply.is_closed() {
                tracing::debug!(callback = name, "observer callback skipped: nobody waits for it any more");
                return;
            }
            let outcome = catch_unwind(AssertUnwindSafe(|| callback(observer)));
            if outcome.is_err() {
                tracing::error!(callback = name, "observer callback panicked; the service keeps running");
            }
            let _ = reply.send(outcome.ok());
        });
        if !self.send(jobs, job) {
            return None;
        }
        let Some(limit) = self.deadline else {
            return result.await.ok().flatten();
        };
        let own = Instant::now() + limit;
        let deadline = cap.map_or(own, |cap| cap.min(own));
        match tokio::time::timeout_at(deadline, result).await {
            Ok(outcome) => outcome.ok().flatten(),
            Err(_) if deadline < own => {
                tracing::warn!(callback = name, "the request's time ran out while waiting for the observer");
                None
            }
            Err(_) => {
                self.state.overdue.store(true, Ordering::SeqCst);
                tracing::error!(callback = name, deadline = ?limit,
                    "observer callback did not return within its deadline; going on without it");
                None
            }
        }
    }

    /// Asks the observer to authorize a connection; a panic or a missed callback deadline
    /// counts as a denial.
    #[cfg(test)]
    pub(crate) async fn authorize(&self, kind: OperationType, request: ConnectRequestArgs) -> Authorization {
        self.authorize_until(None, kind, request).await
    }

    /// Asks the observer to authorize a connection, waiting no later than `cap` (the
    /// connect's budget) either; a panic, a missed deadline or an overdue observer counts
    /// as a denial, logged.
    pub(crate) async fn authorize_until(
        &self,
        cap: Option<Instant>,
        kind: OperationType,
        request: ConnectRequestArgs,
    ) -> Authorization {
        let (guest, ssid) = (request.guest.clone(), request.ssid);
        let verdict = self
            .call_until("authorize_guest_connection_request", cap, move |o| {
                o.authorize_guest_connection_request(kind, &request)
            })
            .await;
        verdict.unwrap_or_else(|| {
            tracing::warn!(%guest, %ssid, ?kind, "no verdict from the observer; connection denied");
            Authorization::Deny
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Recorder(Mutex<Vec<String>>);

    impl Observer for Recorder {
        fn on_guest_scan_request(&self, _guest: &GuestId) {
            self.0.lock().unwrap().push("scan".into());
        }
        fn on_host_connection(&self, c: &ConnectionArgs) {
            self.0.lock().unwrap().push(format!("host {}", c.ssid));
        }
        fn authorize_guest_connection_request(&self, _: OperationType, r: &ConnectRequestArgs) -> Authorization {
            if r.ssid.as_bytes() == b"panic" {
                panic!("observer bug");
            }
            Authorization::Approve
        }
    }

    fn args(ssid: &str) -> ConnectRequestArgs {
        ConnectRequestArgs {
            guest: GuestId::Vsock(3),
            interface: None,
            ssid: Ssid::new(ssid.as_bytes()).unwrap(),
            auth: AuthAlgorithm::Open,
        }
    }

    #[tokio::test]
    async fn callbacks_run_in_order_and_panics_deny() {
        let recorder = Arc::new(Recorder(Mutex::new(Vec::new())));
        let (queue, thread) = ObserverQueue::start(recorder.clone());
        queue.notify("on_host_connection", |o| {
            o.on_host_connection(&ConnectionArgs {
                guest: None,
                interface: Some(InterfaceId::FAKE_NETWORKS),
                ssid: Ssid::new(b"a").unwrap(),
                bssid: Bssid::ZERO,
                auth: AuthAlgorithm::Open,
            })
        });
        queue.call("on_guest_scan_request", |o| o.on_guest_scan_request(&GuestId::Vsock(3))).await.unwrap();
        assert_eq!(queue.authorize(OperationType::GuestDirected, args("panic")).await, Authorization::Deny);
        assert_eq!(queue.authorize(OperationType::GuestDirected, args("fine")).await, Authorization::Approve);
        assert_eq!(*recorder.0.lock().unwrap(), vec!["host a".to_string(), "scan".to_string()]);
        drop(queue);
        thread.join().unwrap();
    }

    #[tokio::test]
    async fn default_observer_approves() {
        let (queue, _thread) = ObserverQueue::start(Arc::new(NoopObserver));
        assert_eq!(queue.authorize(OperationType::HostMirroring, args("x")).await, Authorization::Approve);
    }
}
