//! Deadlines and liveness of the handler (issue 13, items 9–11), on a paused clock:
//! stale queued requests, the connect budget, late successes, hung observer callbacks
//! and panicking interfaces; and the work queue's order when the direct path handles a
//! request where it was read.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use proxy_wifi_protocol::{Bssid, ConnectRequest, GuestBound, ScanRequest, Ssid, StatusCode};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::scheduler::Queued;
use super::*;
#[cfg(unix)]
use crate::interface::simulated;
use crate::interface::{
    AuthAlgorithm, ConnectParams, ConnectedNetwork, EventSink, InterfaceError, ScanResults, ScanStatus, WifiInterface,
};
use crate::observer::{Authorization, ConnectRequestArgs, Observer, OperationType};
use crate::status::{SharedStatus, StatusBoard};

/// Where an interface of these tests panics.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PanicIn {
    Nowhere,
    Everywhere,
}

/// An interface with slow or hanging operations. A connect that does end runs on its own
/// task, as the Linux backends' do: it completes even when its caller stops waiting.
struct Slow {
    id: InterfaceId,
    lookup_hangs: bool,
    /// `None`: the connect never ends; `Some(d)`: it succeeds after `d`.
    connect_after: Option<Duration>,
    /// `None`: the scan never ends.
    scan_after: Option<Duration>,
    panics: PanicIn,
    calls: Arc<Mutex<Vec<String>>>,
}

impl Slow {
    fn new(n: u128) -> Self {
        Self {
            id: InterfaceId(uuid::Uuid::from_u128(n)),
            lookup_hangs: false,
            connect_after: None,
            scan_after: Some(Duration::ZERO),
            panics: PanicIn::Nowhere,
            calls: Arc::default(),
        }
    }

    /// Interface `n`, as `configure` sets it up from the defaults of [`Slow::new`].
    fn shared(n: u128, configure: impl FnOnce(&mut Slow)) -> Arc<Self> {
        let mut interface = Self::new(n);
        configure(&mut interface);
        Arc::new(interface)
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn log(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }

    fn maybe_panic(&self, call: &str) {
        if self.panics == PanicIn::Everywhere {
            panic!("interface bug in {call}");
        }
    }
}

#[async_trait]
impl WifiInterface for Slow {
    fn id(&self) -> InterfaceId {
        self.id
    }
    fn attach(&self, _events: EventSink) {}
    async fn connection_to(&self, _ssid: &Ssid) -> Option<ConnectedNetwork> {
        self.maybe_panic("connection_to");
        if self.lookup_hangs {
            std::future::pending::<()>().await;
        }
        None
    }
    async fn scan(&self, _ssid: Option<Ssid>) -> Result<ScanResults, InterfaceError> {
        self.log("scan".into());
        self.maybe_panic("scan");
        match self.scan_after {
            Some(after) => tokio::time::sleep(after).await,
            None => std::future::pending().await,
        }
        Ok(ScanResults { bss: vec![], status: ScanStatus::Completed })
    }
    async fn connect(&self, params: &ConnectParams) -> Result<ConnectedNetwork, InterfaceError> {
        self.log(format!("connect {}", params.ssid));
        self.maybe_panic("connect");
        let Some(after) = self.connect_after else { return std::future::pending().await };
        let (calls, ssid) = (self.calls.clone(), params.ssid);
        let attempt = tokio::spawn(async move {
            tokio::time::sleep(after).await;
            calls.lock().unwrap().push(format!("connected {ssid}"));
            ConnectedNetwork { ssid, bssid: Bssid([2, 0, 0, 0, 0, 1]), auth: AuthAlgorithm::Open }
        });
        Ok(attempt.await.expect("the attempt task"))
    }
    async fn disconnect(&self) -> Result<(), InterfaceError> {
        self.log("disconnect".into());
        self.maybe_panic("disconnect");
        Ok(())
    }
}

fn handler_with(
    interfaces: Vec<SharedInterface>,
    observer: ObserverQueue,
    board: Arc<SharedStatus>,
) -> OperationHandler {
    let (events, _) = mpsc::unbounded_channel();
    handler_sending_events(interfaces, observer, board, events)
}

/// [`handler_with`], its interfaces' events going to `events`.
fn handler_sending_events(
    interfaces: Vec<SharedInterface>,
    observer: ObserverQueue,
    board: Arc<SharedStatus>,
    events: mpsc::UnboundedSender<(EventOrigin, InterfaceEvent)>,
) -> OperationHandler {
    let hub = crate::notify::NotificationHub::without_delivery(16, Arc::default());
    let mut handler = OperationHandler::new(observer, hub, Timeouts::default(), events, board);
    for interface in interfaces {
        handler.add_interface(interface);
    }
    handler
}

/// A handler running its work queue, as in the service.
struct Running {
    handle: HandlerHandle,
    /// The request channel's handle: a direct request may be handled in place.
    #[cfg(unix)]
    direct: HandlerHandle,
    /// Where the handler's connect attempts report late successes.
    #[cfg(unix)]
    late: guarded::LateSender,
    board: Arc<SharedStatus>,
    _stop: CancellationToken,
}

impl Running {
    fn start(interfaces: Vec<SharedInterface>) -> Self {
        let board = Arc::new(SharedStatus::default());
        let (event_sender, events) = mpsc::unbounded_channel();
        let handler = handler_sending_events(interfaces, ObserverQueue::none(), board.clone(), event_sender);
        let (handle, work_receiver) = work_queue(limits::WORK_QUEUE_CAPACITY);
        let stop = CancellationToken::new();
        #[cfg(unix)]
        let late = handler.late_sender.clone();
        let serialized = Serialized::new(handler);
        tokio::spawn(run(serialized.clone(), work_receiver, events, stop.clone()));
        Self {
            #[cfg(unix)]
            direct: handle.clone().handling_in_place(serialized),
            #[cfg(unix)]
            late,
            handle,
            board,
            _stop: stop,
        }
    }

    /// Hands a request over as the request channel's direct path does; the answer comes
    /// on the receiver.
    #[cfg(unix)]
    fn submit_direct(&self, guest: u32, request: Request) -> tokio::sync::oneshot::Receiver<GuestBound> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.direct.submit_direct(GuestId::Vsock(guest), request, Box::new(reply));
        answer
    }

    /// Submits on a task of its own, as a request connection does.
    fn submit(&self, guest: u32, request: Request) -> tokio::task::JoinHandle<Option<GuestBound>> {
        let handle = self.handle.clone();
        tokio::spawn(async move { handle.submit(GuestId::Vsock(guest), request).await })
    }

    fn board(&self) -> StatusBoard {
        self.board.snapshot()
    }
}

fn scan() -> Request {
    Request::Scan(ScanRequest::default())
}

fn connect(ssid: &str) -> Request {
    Request::Connect(ConnectRequest::open(Ssid::new(ssid.as_bytes()).unwrap()))
}

fn result_code(answer: Option<GuestBound>) -> StatusCode {
    match answer {
        Some(GuestBound::ConnectResponse(r)) => r.result_code,
        other => panic!("expected a connect response, got {other:?}"),
    }
}

// ---- item 9: stale queued requests --------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn item9_a_queued_request_whose_connection_closed_is_dropped_and_counted() {
    let a = Slow::shared(1, |i| i.scan_after = Some(Duration::from_secs(5)));
    let r = Running::start(vec![a.clone()]);
    // Guest 3's scan keeps the handler busy for 5 s; guest 4's connect waits behind it,
    // and its connection closes after 1 s.
    let busy = r.submit(3, scan());
    tokio::time::sleep(Duration::from_millis(1)).await;
    let withdrawn = r.submit(4, connect("Other"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    withdrawn.abort();
    assert!(busy.await.unwrap().is_some());
    // The service goes on: guest 4's next request is served.
    assert!(r.submit(4, scan()).await.unwrap().is_some());
    assert!(
        !a.calls().contains(&"connect Other".to_string()),
        "the host switched networks for nobody: {:?}",
        a.calls()
    );
    assert_eq!(r.board().stale_requests_dropped, 1);
}

#[tokio::test(start_paused = true)]
async fn item9_a_request_that_waited_past_the_guests_time_is_dropped_and_counted() {
    let a = Arc::new(Slow::new(1));
    let r = Running::start(vec![a.clone()]);
    // A connect that arrived 19 s ago (it waited behind other work while the guest's
    // 20 s ran out) is taken from the queue now.
    let arrived = Instant::now();
    tokio::time::sleep(limits::REQUEST_ANSWER_DEADLINE).await;
    let (reply, answer) = tokio::sync::oneshot::channel();
    let queued = Queued { request: connect("Late"), reply: Box::new(reply), arrived };
    assert!(r.handle.send(Work::Request(GuestId::Vsock(4), queued)).await);
    assert!(answer.await.is_err(), "closed without an answer");
    assert!(!a.calls().contains(&"connect Late".to_string()), "{:?}", a.calls());
    // Just in time is still served.
    let (reply, answer) = tokio::sync::oneshot::channel();
    let arrived = Instant::now();
    tokio::time::sleep(limits::REQUEST_ANSWER_DEADLINE - Duration::from_millis(500)).await;
    let queued = Queued { request: scan(), reply: Box::new(reply), arrived };
    assert!(r.handle.send(Work::Request(GuestId::Vsock(4), queued)).await);
    assert!(matches!(answer.await, Ok(GuestBound::ScanResponse(_))));
    assert_eq!(r.board().stale_requests_dropped, 1);
}

// ---- item 10: one connect budget, late successes rolled back -------------------------------

#[tokio::test(start_paused = true)]
async fn item10_a_connect_answers_within_its_budget_however_many_interfaces_hang() {
    let hanging = |n| Slow::shared(n, |i| i.lookup_hangs = true) as SharedInterface;
    let mut handler = handler_with(vec![hanging(1), hanging(2), hanging(3)], ObserverQueue::none(), Arc::default());
    let started = Instant::now();
    let answer = handler.handle_request(&GuestId::Vsock(3), connect("Home")).await;
    assert_eq!(result_code(Some(answer)), StatusCode::REJECTED_SEQUENCE_TIMEOUT);
    assert!(started.elapsed() <= limits::CONNECT_BUDGET, "answered after {:?}", started.elapsed());

    // The budget counts from the request's arrival: time spent queued is part of it.
    let arrived = Instant::now();
    tokio::time::sleep(Duration::from_secs(15)).await;
    let answer = handler.handle_request_arrived(&GuestId::Vsock(3), connect("Home"), arrived).await;
    assert_eq!(result_code(Some(answer)), StatusCode::REJECTED_SEQUENCE_TIMEOUT);
    assert!(arrived.elapsed() <= limits::CONNECT_BUDGET, "answered {:?} after arrival", arrived.elapsed());
}

#[tokio::test(start_paused = true)]
async fn item10_a_connect_that_succeeds_after_its_answer_is_rolled_back() {
    let a = Slow::shared(1, |i| i.connect_after = Some(Duration::from_secs(25)));
    let r = Running::start(vec![a.clone()]);
    let started = Instant::now();
    assert_eq!(result_code(r.submit(3, connect("Home")).await.unwrap()), StatusCode::REJECTED_SEQUENCE_TIMEOUT);
    assert!(started.elapsed() <= limits::CONNECT_BUDGET);
    tokio::time::sleep(Duration::from_secs(20)).await;
    // The success came at 25 s, for nobody: the interface is disconnected again.
    assert_eq!(a.calls(), ["connect Home", "connected Home", "disconnect"]);
    assert_eq!(r.board().guests["vsock:3"].connection, None);
}

#[tokio::test(start_paused = true)]
async fn item10_a_success_whose_guest_left_is_ended() {
    let a = Slow::shared(1, |i| i.connect_after = Some(Duration::from_secs(2)));
    let r = Running::start(vec![a.clone()]);
    let gone = r.submit(3, connect("Home"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    gone.abort();
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Nobody got the success: the connection it made is ended.
    assert!(r.submit(3, scan()).await.unwrap().is_some());
    assert_eq!(a.calls(), ["connect Home", "connected Home", "disconnect", "scan"]);
    assert_eq!(r.board().guests["vsock:3"].connection, None);
}

// ---- item 11: hung observer callbacks, panicking interfaces --------------------------------

/// An observer whose callbacks block until the test ends (its sender is dropped).
struct Hung(Mutex<std::sync::mpsc::Receiver<()>>);

impl Observer for Hung {
    fn authorize_guest_connection_request(&self, _: OperationType, _: &ConnectRequestArgs) -> Authorization {
        let _ = self.0.lock().unwrap().recv();
        Authorization::Approve
    }
    fn on_guest_scan_request(&self, _: &GuestId) {
        let _ = self.0.lock().unwrap().recv();
    }
}

/// Real time: the observer runs on its own thread, which a paused clock would outrun.
#[tokio::test]
async fn item11_a_hung_authorization_is_denied_at_the_callback_deadline_and_stalls_nobody() {
    let (release, hang) = std::sync::mpsc::channel();
    let (observer, _thread) = ObserverQueue::start(Arc::new(Hung(Mutex::new(hang))));
    let deadline = Duration::from_secs(2);
    let a = Slow::shared(1, |i| i.connect_after = Some(Duration::ZERO));
    let mut handler = handler_with(vec![a.clone()], observer.with_deadline(deadline), Arc::default());
    let guest = GuestId::Vsock(3);

    let started = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(60), handler.handle_request(&guest, connect("Home")))
        .await
        .expect("the connect is answered although the authorization callback hangs");
    assert_eq!(result_code(Some(answer)), StatusCode::DENIED_OTHER_REASON, "denied");
    assert!(started.elapsed() >= deadline, "answered after {:?}", started.elapsed());
    assert!(a.calls().is_empty(), "nothing tried without authorization");

    // While that callback hangs, other requests do not wait for the observer at all
    // (each would take the 2 s deadline again if they did).
    let started = Instant::now();
    let answer = handler.handle_request(&GuestId::Vsock(4), scan()).await;
    assert!(matches!(answer, GuestBound::ScanResponse(_)));
    let answer = handler.handle_request(&guest, connect("Home")).await;
    assert_eq!(result_code(Some(answer)), StatusCode::DENIED_OTHER_REASON);
    assert!(started.elapsed() < deadline, "waited {:?} for a hung observer", started.elapsed());
    drop(release);
}

#[tokio::test(start_paused = true)]
async fn item11_a_panicking_interface_fails_its_call_and_the_handler_keeps_serving() {
    let bad = Slow::shared(1, |i| i.panics = PanicIn::Everywhere);
    let good = Slow::shared(2, |i| i.connect_after = Some(Duration::ZERO));
    let r = Running::start(vec![bad.clone(), good.clone()]);
    let scanned = r.submit(3, scan()).await.unwrap();
    assert!(matches!(scanned, Some(GuestBound::ScanResponse(_))), "{scanned:?}");
    // The bad interface's connect panics: the next interface is tried.
    assert_eq!(result_code(r.submit(3, connect("Home")).await.unwrap()), StatusCode::SUCCESS);
    assert_eq!(bad.calls(), ["scan", "connect Home"]);
    assert_eq!(good.calls(), ["scan", "connect Home", "connected Home"]);
    // Only the bad one: the guest gets an error answer, and is served again afterwards.
    let r = Running::start(vec![bad.clone()]);
    assert_eq!(result_code(r.submit(3, connect("Home")).await.unwrap()), StatusCode::UNSPECIFIED_FAILURE);
    assert!(r.submit(3, scan()).await.unwrap().is_some(), "the handler task survived");
}

// ---- the direct path: a request handled where it was read ----------------------------------

/// A running handler with the simulated interface (its scans answer at once), after its
/// work-queue task has taken in everything and waits.
#[cfg(unix)]
async fn running_simulated() -> (Running, crate::interface::simulated::SimulationControl) {
    let simulated = simulated::SimulatedInterface::new(simulated::SimulatedNetwork::defaults());
    let control = simulated.control();
    let r = Running::start(vec![simulated]);
    settle().await;
    (r, control)
}

/// Lets the work-queue task run until it waits (the tests' runtime has one thread).
#[cfg(unix)]
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

#[cfg(unix)]
#[tokio::test]
async fn a_direct_request_is_answered_where_it_was_read_when_nothing_waits() {
    let (r, _) = running_simulated().await;
    let mut answer = r.submit_direct(3, scan());
    // Nothing yielded to the work-queue task: only the in-place path can have answered.
    match answer.try_recv() {
        Ok(GuestBound::ScanResponse(response)) => assert_eq!(response.bss.len(), 3),
        other => panic!("not answered in place: {other:?}"),
    }
    assert_eq!(r.board().scan_requests, 1, "the status is published by the in-place path too");
}

#[cfg(unix)]
#[tokio::test]
async fn an_interface_change_sent_before_a_direct_request_is_applied_before_it() {
    let (r, _) = running_simulated().await;
    r.handle.remove_interface(simulated::SIMULATED_INTERFACE_ID).await;
    let mut answer = r.submit_direct(3, scan());
    assert!(answer.try_recv().is_err(), "handled in place ahead of the removal");
    match answer.await {
        Ok(GuestBound::ScanResponse(response)) => assert!(response.bss.is_empty(), "{response:?}"),
        other => panic!("{other:?}"),
    }
}

#[cfg(unix)]
#[tokio::test]
async fn an_interface_event_sent_before_a_direct_request_is_applied_before_it() {
    let (r, simulation) = running_simulated().await;
    assert_eq!(result_code(r.submit(3, connect("FakeOpen")).await.unwrap()), StatusCode::SUCCESS);
    settle().await;
    assert!(r.board().guests["vsock:3"].connection.is_some());
    let mut answer = r.submit_direct(3, scan());
    assert!(answer.try_recv().is_ok(), "answered in place once the connect's events were applied");
    // The host loses that network; the guest's next request comes before the task ran.
    simulation.host_disconnect().unwrap();
    let mut answer = r.submit_direct(3, scan());
    // Not handled in place: it went through the queue, which applies events first.
    assert!(answer.try_recv().is_err(), "handled in place ahead of the host event");
    assert!(matches!(answer.await, Ok(GuestBound::ScanResponse(_))));
    assert_eq!(r.board().guests["vsock:3"].connection, None, "the event was applied");
}

#[cfg(unix)]
#[tokio::test]
async fn a_late_connect_reported_before_a_direct_request_is_rolled_back_before_it() {
    let a = Slow::shared(1, |_| {});
    let r = Running::start(vec![a.clone()]);
    settle().await;
    let network = ConnectedNetwork { ssid: Ssid::new(b"Home").unwrap(), bssid: Bssid::ZERO, auth: AuthAlgorithm::Open };
    r.late.send(guarded::LateConnect { interface: a.id, network });
    let mut answer = r.submit_direct(3, scan());
    assert!(answer.try_recv().is_err(), "handled in place ahead of the late connect");
    assert!(matches!(answer.await, Ok(GuestBound::ScanResponse(_))));
    assert_eq!(a.calls(), ["disconnect", "scan"], "the rollback comes first");
}

/// Two workers: the work-queue task takes the change in on one while the request is
/// read on the other.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_request_never_overtakes_an_interface_change_sent_before_it() {
    // Made once: deriving its WPA2 network's key takes a while in a debug build.
    let simulated = simulated::SimulatedInterface::new(simulated::SimulatedNetwork::defaults());
    for round in 0..200 {
        let r = Running::start(vec![simulated.clone()]);
        settle().await;
        r.handle.remove_interface(simulated::SIMULATED_INTERFACE_ID).await;
        match r.submit_direct(3, scan()).await {
            Ok(GuestBound::ScanResponse(response)) => {
                assert!(response.bss.is_empty(), "round {round}: the scan overtook the removal")
            }
            other => panic!("round {round}: {other:?}"),
        }
    }
}

#[cfg(unix)]
#[tokio::test(start_paused = true)]
async fn a_direct_request_that_must_wait_goes_on_in_a_task_and_the_next_one_queues_behind_it() {
    let a = Slow::shared(1, |i| i.scan_after = Some(Duration::from_secs(5)));
    let r = Running::start(vec![a.clone()]);
    settle().await;
    let started = Instant::now();
    let mut first = r.submit_direct(3, scan());
    assert!(first.try_recv().is_err(), "the scan takes 5 s");
    let second = r.submit_direct(4, scan());
    assert!(matches!(first.await, Ok(GuestBound::ScanResponse(_))));
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    assert!(matches!(second.await, Ok(GuestBound::ScanResponse(_))));
    assert_eq!(started.elapsed(), Duration::from_secs(10), "one request at a time");
    assert_eq!(a.calls(), ["scan", "scan"]);
}
