//! The operation handler: parses nothing, opens no socket; decides.
//!
//! It receives typed requests from guests, dispatches them to the Wi-Fi interfaces,
//! aggregates their results, keeps each guest's connection state, queues guest
//! notifications and tells the observer. Requests, interface changes and interface
//! events are processed one at a time, under one lock: the serialized work queue
//! ([`work_queue`]). Its task takes queued work in; a request the request channel read
//! whole at accept is handled right where it was read when nothing waits before it.
//! Requests of different guests are taken in turn ([`scheduler`]), so a guest that
//! floods requests delays the others by at most one of its own.
//!
//! Each rule of `behavior.md` is a function or a commented block named after it:
//! [`scan`] (scan rules 1–7), [`connect`] (connect rules 1–6, plus the multi-guest
//! isolation rule), [`disconnect`] (disconnect rules 1–4), [`events`] (host events).

pub mod connect;
pub mod disconnect;
pub mod events;
pub(crate) mod guarded;
pub mod scan;
mod scan_throttle;
pub mod scheduler;
pub mod session;
mod work_queue;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use proxy_wifi_protocol::GuestBound;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::guest_connect_policy::GuestConnectPolicy;
use crate::identity::GuestId;
use crate::interface::{EventClock, EventOrigin, EventSink, InterfaceEvent, InterfaceId, SharedInterface};
use crate::limits;
use crate::notify::{NotificationHub, NotificationQueue};
use crate::observer::ObserverQueue;
use crate::status::{GuestNotificationStatus, GuestStatus, InterfaceStatus, RequestKind, SharedStatus};
use guarded::LateConnect;
#[cfg(unix)]
pub(crate) use scheduler::Reply;
use session::{GuestMadeLink, GuestSession};
pub use work_queue::HandlerHandle;
#[cfg(test)]
pub(crate) use work_queue::Work;
pub(crate) use work_queue::{Serialized, WorkReceiver, run, work_queue};

use crate::limits::MAX_GUESTS;

/// A request from the guest, typed: the protocol's host-bound message.
pub use proxy_wifi_protocol::HostBound as Request;

/// Deadlines the handler puts around interface operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Shared deadline of a scan over all interfaces ([`limits::SCAN_TIMEOUT`]).
    pub scan: Duration,
    /// Per-interface connect deadline ([`limits::CONNECT_TIMEOUT`]).
    pub connect: Duration,
    /// Disconnect deadline ([`limits::DISCONNECT_TIMEOUT`]).
    pub disconnect: Duration,
    /// The whole of one connect, from the request's arrival ([`limits::CONNECT_BUDGET`];
    /// never beyond [`limits::REQUEST_ANSWER_DEADLINE`]). A scan's interfaces get no
    /// longer either.
    pub connect_budget: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            scan: limits::SCAN_TIMEOUT,
            connect: limits::CONNECT_TIMEOUT,
            disconnect: limits::DISCONNECT_TIMEOUT,
            connect_budget: limits::CONNECT_BUDGET,
        }
    }
}

/// What the handler keeps for one guest.
pub(crate) struct GuestState {
    session: GuestSession,
    notifications: Arc<NotificationQueue>,
    /// Interfaces whose scan for this guest is still running (more results will come).
    running_scans: HashSet<InterfaceId>,
    last_active: Instant,
    /// Its key on the status board (`vsock:7`, ...), made once.
    status_key: String,
    /// Wall-clock times of its first and last request, for operators.
    first_request: SystemTime,
    last_request: SystemTime,
}

/// The operation handler's state. Driven under the work queue's lock (by `run`, or by a
/// direct request handled in place); tests drive it directly.
pub struct OperationHandler {
    /// Interfaces in dispatch order; the fake-networks interface, when present, is first.
    interfaces: Vec<SharedInterface>,
    observer: ObserverQueue,
    hub: NotificationHub,
    guests: BTreeMap<GuestId, GuestState>,
    /// The host connections guests made, by interface (at most one per interface).
    links: BTreeMap<InterfaceId, GuestMadeLink>,
    /// How many guests are remembered at most ([`MAX_GUESTS`]).
    max_guests: usize,
    timeouts: Timeouts,
    events: mpsc::UnboundedSender<(EventOrigin, InterfaceEvent)>,
    /// Stamps every interface event (see [`EventClock`]).
    clock: EventClock,
    status: Arc<SharedStatus>,
    /// What changed since the status was last published.
    unpublished: Unpublished,
    /// When the request being handled arrived (its deadlines count from there).
    arrived: Instant,
    /// Connects that succeeded after their deadline (sender given to each attempt).
    late_sender: guarded::LateSender,
    /// Their receiving end, taken by [`run`].
    late_receiver: Option<mpsc::UnboundedReceiver<LateConnect>>,
    /// Which guest-directed connections the operator allows.
    guest_connect: GuestConnectPolicy,
    /// At most one real scan per interval on each host radio.
    scan_throttle: scan_throttle::ScanThrottle,
}

/// Changes to publish at the end of the current work item. Kept between work items
/// (emptied, not dropped), so that recording a change allocates nothing.
#[derive(Default)]
struct Unpublished {
    /// Guests whose session changed (or who were forgotten), each once.
    guests: Vec<GuestId>,
    /// Whether the interface count changed.
    interfaces: bool,
    /// Requests handled: scans, connects, disconnects.
    requests: [u64; 3],
    /// Requests dropped unanswered because nobody waited for them any more.
    stale: u64,
}

impl Unpublished {
    fn guest(&mut self, guest: &GuestId) {
        if !self.guests.contains(guest) {
            self.guests.push(guest.clone());
        }
    }

    fn request(&mut self, kind: RequestKind) {
        let index = match kind {
            RequestKind::Scan => 0,
            RequestKind::Connect => 1,
            RequestKind::Disconnect => 2,
        };
        self.requests[index] += 1;
    }

    fn is_empty(&self) -> bool {
        self.guests.is_empty() && !self.interfaces && self.requests == [0; 3] && self.stale == 0
    }
}

impl OperationHandler {
    /// A handler with no interface yet. `events` is the sender side of the channel
    /// [`run`] reads interface events from.
    pub(crate) fn new(
        observer: ObserverQueue,
        hub: NotificationHub,
        timeouts: Timeouts,
        events: mpsc::UnboundedSender<(EventOrigin, InterfaceEvent)>,
        status: Arc<SharedStatus>,
    ) -> Self {
        let (late_sender, late_receiver) = guarded::LateSender::channel();
        Self {
            interfaces: Vec::new(),
            observer,
            hub,
            guests: BTreeMap::new(),
            links: BTreeMap::new(),
            max_guests: MAX_GUESTS,
            timeouts,
            events,
            clock: EventClock::default(),
            status,
            unpublished: Unpublished::default(),
            arrived: Instant::now(),
            late_sender,
            late_receiver: Some(late_receiver),
            guest_connect: GuestConnectPolicy::default(),
            scan_throttle: scan_throttle::ScanThrottle::default(),
        }
    }

    /// The operator's rule for guest-directed connections (default: any).
    pub(crate) fn set_guest_connect_policy(&mut self, policy: GuestConnectPolicy) {
        self.guest_connect = policy;
    }

    /// One real scan per `interval` on each host radio (default zero: every guest scan
    /// scans).
    pub(crate) fn set_host_scan_interval(&mut self, interval: Duration) {
        self.scan_throttle = scan_throttle::ScanThrottle::new(interval);
    }

    /// Handles one request of `guest` that arrives now and returns the answer.
    #[cfg(test)]
    pub async fn handle_request(&mut self, guest: &GuestId, request: Request) -> GuestBound {
        self.handle_request_arrived(guest, request, Instant::now()).await
    }

    /// Handles one request of `guest` that arrived at `arrived` and returns the answer.
    pub(crate) async fn handle_request_arrived(
        &mut self,
        guest: &GuestId,
        request: Request,
        arrived: Instant,
    ) -> GuestBound {
        self.arrived = arrived;
        // The guest is listening once it has made a request: its notifications may flow.
        self.touch_guest(guest).await;
        let kind = RequestKind::of(&request);
        let started = Instant::now();
        let answer = match request {
            Request::Scan(r) => self.scan(guest, r).await,
            Request::Connect(r) => self.connect(guest, r).await,
            Request::Disconnect(r) => self.disconnect(guest, r).await,
        };
        tracing::debug!(%guest, operation = kind.name(), duration = ?started.elapsed(), "request handled");
        self.status.request_metrics.observe(kind, &answer, started.elapsed());
        self.unpublished.request(kind);
        answer
    }

    /// Until when the current request's work may run: the connect budget from the
    /// request's arrival, never beyond the guest's time for an answer.
    pub(crate) fn work_deadline(&self) -> Instant {
        self.arrived + self.timeouts.connect_budget.min(limits::REQUEST_ANSWER_DEADLINE)
    }

    /// A connect of an interface succeeded after the guest was answered without it:
    /// disconnect it, unless a guest connection it backs now (a later connect replaced it).
    pub(crate) async fn on_late_connect(&mut self, late: LateConnect) {
        let LateConnect { interface: id, network } = late;
        let Some(interface) = self.interfaces.iter().find(|i| i.id() == id).cloned() else {
            return;
        };
        if self.guests.values().any(|state| state.session.is_backed_by(id)) {
            tracing::info!(interface = %id, ssid = %network.ssid,
                "a connect succeeded after its answer, but the interface now backs a guest connection; left as is");
            return;
        }
        tracing::warn!(interface = %id, ssid = %network.ssid,
            "a connect succeeded after the guest was answered; rolling it back");
        match guarded::disconnect(&interface, self.timeouts.disconnect).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(interface = %id, %error, "rolling back a late connect failed"),
            Err(_) => tracing::warn!(interface = %id, deadline = ?self.timeouts.disconnect,
                "rolling back a late connect missed its deadline"),
        }
    }

    /// The answer to a connect of `guest` could not be delivered: end the connection it
    /// made, so the host is not connected for nobody.
    pub(crate) async fn on_undelivered(&mut self, guest: &GuestId, answer: &GuestBound) {
        let GuestBound::ConnectResponse(response) = answer else { return };
        let Some(connection) = self.guests.get(guest).and_then(|s| s.session.connection) else { return };
        if response.result_code.is_success() && connection.session == response.session_id {
            tracing::warn!(%guest, ssid = %connection.ssid, session = %connection.session,
                "the guest is gone before its connect answer; ending the connection");
            self.end_guest_connection(guest, connection).await;
        }
    }

    /// Creates the guest's state on its first request (opening its notification gate)
    /// and marks it active.
    async fn touch_guest(&mut self, guest: &GuestId) {
        if let Some(state) = self.guests.get_mut(guest) {
            state.last_active = Instant::now();
            state.last_request = SystemTime::now();
            self.unpublished.guest(guest);
            return;
        }
        while self.guests.len() >= self.max_guests {
            if !self.forget_idlest_guest().await {
                break;
            }
        }
        tracing::info!(%guest, "new guest");
        let notifications = self.hub.open(guest);
        self.guests.insert(
            guest.clone(),
            GuestState {
                session: GuestSession::default(),
                notifications,
                running_scans: HashSet::new(),
                last_active: Instant::now(),
                status_key: guest.to_string(),
                first_request: SystemTime::now(),
                last_request: SystemTime::now(),
            },
        );
        self.publish_guest(guest);
    }

    /// A guest removed from the service: ends its connection as a disconnect request
    /// would (a guest-directed one is disconnected unless other guests use it), drops its
    /// queued notifications and forgets its session.
    pub(crate) async fn forget_guest(&mut self, guest: &GuestId) {
        let Some(connection) = self.guests.get(guest).map(|state| state.session.connection) else {
            return;
        };
        if let Some(connection) = connection {
            self.end_guest_connection(guest, connection).await;
        }
        if let Some(state) = self.guests.remove(guest) {
            state.notifications.discard();
        }
        tracing::info!(%guest, "guest removed; its session ended");
        self.unpublished.guest(guest);
    }

    /// Rule (issue 13, the guest cap): at [`MAX_GUESTS`] guests, the least recently active
    /// one is forgotten — preferring guests without a connection, then guests that only
    /// mirror a host connection, then users of a guest-made link. An evicted guest's
    /// connection is ended as its disconnect would end it (a guest-made link it was the
    /// last user of is disconnected, so the host is never left connected for nobody) and
    /// the guest is told (NOTIF_DISCONNECTED). Never evicting link users instead could
    /// lock every new guest out. Returns whether a guest was forgotten.
    async fn forget_idlest_guest(&mut self) -> bool {
        let links = &self.links;
        let idlest = self
            .guests
            .iter()
            .min_by_key(|(id, s)| {
                let uses_link = links.values().any(|l| l.users.contains(*id));
                (uses_link, s.session.connection.is_some(), s.last_active)
            })
            .map(|(id, _)| id.clone());
        let Some(id) = idlest else { return false };
        tracing::warn!(guest = %id, max = self.max_guests, "too many guests; forgetting the least recently active one");
        if let Some(connection) = self.guest(&id).session.connection {
            self.end_guest_connection(&id, connection).await;
            let session_id = self.guest(&id).session.current_session();
            self.notify_guest(
                &id,
                GuestBound::NotifDisconnected(proxy_wifi_protocol::DisconnectedNotification { session_id }),
            );
        }
        if let Some(state) = self.guests.remove(&id) {
            state.notifications.close();
        }
        self.unpublished.guest(&id);
        true
    }

    /// The state of `guest` (created by its first request).
    fn guest(&mut self, guest: &GuestId) -> &mut GuestState {
        self.guests.get_mut(guest).expect("guest state exists once it made a request")
    }

    /// Interface arrival: adds it (the fake-networks interface stays first).
    pub fn add_interface(&mut self, interface: SharedInterface) {
        let id = interface.id();
        if self.interfaces.iter().any(|i| i.id() == id) {
            tracing::warn!(interface = %id, "interface already present; ignored");
            return;
        }
        interface.attach(EventSink::new(id, self.clock.clone(), self.events.clone()));
        if id == InterfaceId::FAKE_NETWORKS {
            self.interfaces.insert(0, interface);
        } else {
            self.interfaces.push(interface);
        }
        tracing::info!(interface = %id, "interface added");
        self.unpublished.interfaces = true;
    }

    /// Interface removal: forgets it; guest connections it backed are lost (the guests
    /// are told, as for a host disconnection).
    pub fn remove_interface(&mut self, id: InterfaceId) {
        let before = self.interfaces.len();
        self.interfaces.retain(|i| i.id() != id);
        if self.interfaces.len() == before {
            return;
        }
        tracing::info!(interface = %id, "interface removed");
        self.scan_throttle.forget(id);
        let affected: Vec<GuestId> = self
            .guests
            .iter_mut()
            .filter_map(|(guest, state)| {
                state.running_scans.remove(&id);
                state.session.is_backed_by(id).then(|| guest.clone())
            })
            .collect();
        for guest in affected {
            self.guest_connection_lost(&guest);
        }
        self.links.remove(&id);
        self.unpublished.interfaces = true;
    }

    /// The connection of `guest`, if any.
    #[cfg(test)]
    pub fn guest_connection(&self, guest: &GuestId) -> Option<session::GuestConnection> {
        self.guests.get(guest).and_then(|s| s.session.connection)
    }

    /// Guests other than `guest` whose connection `interface` backs.
    fn other_guests_on(&self, interface: InterfaceId, guest: &GuestId) -> Vec<GuestId> {
        self.guests
            .iter()
            .filter(|(id, state)| *id != guest && state.session.is_backed_by(interface))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Queues a notification for `guest`.
    fn notify_guest(&self, guest: &GuestId, message: GuestBound) {
        if let Some(state) = self.guests.get(guest) {
            state.notifications.push(message);
        }
    }

    /// Rule "host disconnected on the interface backing the guest's connection": send
    /// NOTIF_DISCONNECTED with the guest's current session id and forget the connection.
    fn guest_connection_lost(&mut self, guest: &GuestId) {
        let state = self.guest(guest);
        if let Some(connection) = state.session.connection.take() {
            let session_id = state.session.current_session();
            self.leave_link(guest, connection.interface);
            tracing::info!(%guest, ssid = %connection.ssid, interface = %connection.interface, session = %session_id,
                "host lost the connection backing the guest's; notifying the guest");
            self.notify_guest(
                guest,
                GuestBound::NotifDisconnected(proxy_wifi_protocol::DisconnectedNotification { session_id }),
            );
            self.publish_guest(guest);
        }
    }

    /// `guest` stops using the guest-made link of `interface`, if it used it. Returns
    /// whether the link is left without users (its host connection should end).
    fn leave_link(&mut self, guest: &GuestId, interface: InterfaceId) -> bool {
        self.links.get_mut(&interface).is_some_and(|link| link.users.remove(guest) && link.users.is_empty())
    }

    /// The operator-facing name of an interface (its id once it is gone).
    fn interface_name(&self, id: InterfaceId) -> String {
        self.interfaces.iter().find(|i| i.id() == id).map_or_else(|| id.to_string(), |i| i.name())
    }

    /// Marks `guest`'s session for the next status publication.
    fn publish_guest(&mut self, guest: &GuestId) {
        self.unpublished.guest(guest);
    }

    /// Publishes what changed during the work item just done, under one lock. A guest
    /// already on the board is updated in place (no allocation); the live notification
    /// counters change only when a guest appears or is forgotten.
    pub(crate) fn publish_status(&mut self) {
        if self.unpublished.is_empty() {
            return;
        }
        let mut guests = std::mem::take(&mut self.unpublished.guests);
        let mut board = self.status.board.lock().unwrap_or_else(|p| p.into_inner());
        for guest in guests.drain(..) {
            match self.guests.get(&guest) {
                Some(state) => {
                    let connection = state.session.connection.map(|c| {
                        let mut status: crate::status::ConnectionStatus = c.into();
                        status.interface = self.interface_name(c.interface);
                        status
                    });
                    let session_id = state.session.current_session().0;
                    if let Some(status) = board.guests.get_mut(&state.status_key) {
                        status.first_request = state.first_request;
                        status.last_request = state.last_request;
                        status.session_id = session_id;
                        status.connection = connection;
                        continue;
                    }
                    let status = GuestStatus {
                        first_request: state.first_request,
                        last_request: state.last_request,
                        session_id,
                        connection,
                        notifications: GuestNotificationStatus::default(),
                    };
                    board.guests.insert(state.status_key.clone(), status);
                    let mut live = self.status.guest_notifications.lock().unwrap_or_else(|p| p.into_inner());
                    live.insert(state.status_key.clone(), state.notifications.guest_counters.clone());
                }
                None => {
                    let key = guest.to_string();
                    let mut live = self.status.guest_notifications.lock().unwrap_or_else(|p| p.into_inner());
                    live.remove(&key);
                    board.guests.remove(&key);
                }
            }
        }
        // Handed back empty, its capacity kept for the next work item.
        self.unpublished.guests = guests;
        if std::mem::take(&mut self.unpublished.interfaces) {
            board.interfaces = self
                .interfaces
                .iter()
                .map(|i| InterfaceStatus { name: i.name(), backend: i.backend().into(), id: i.id().to_string() })
                .collect();
        }
        let [scans, connects, disconnects] = std::mem::take(&mut self.unpublished.requests);
        board.scan_requests += scans;
        board.connect_requests += connects;
        board.disconnect_requests += disconnects;
        board.stale_requests_dropped += std::mem::take(&mut self.unpublished.stale);
    }
}

#[cfg(test)]
mod deadline_tests;
#[cfg(test)]
mod tests;
