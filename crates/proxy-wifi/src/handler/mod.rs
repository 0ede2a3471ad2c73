//! The operation handler: parses nothing, opens no socket; decides.
//!
//! It receives typed requests from guests, dispatches them to the Wi-Fi interfaces,
//! aggregates their results, keeps each guest's connection state, queues guest
//! notifications and tells the observer. Requests, interface changes and interface
//! events are processed by one task, one at a time (`run`): that task is the
//! serialized work queue. Requests of different guests are taken in turn
//! ([`scheduler`]), so a guest that floods requests delays the others by at most one
//! of its own.
//!
//! Each rule of `behavior.md` is a function or a commented block named after it:
//! [`scan`] (scan rules 1–7), [`connect`] (connect rules 1–6, plus the multi-guest
//! isolation rule), [`disconnect`] (disconnect rules 1–4), [`events`] (host events).

pub mod connect;
pub mod disconnect;
pub mod events;
pub mod scan;
pub mod scheduler;
pub mod session;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use proxy_wifi_protocol::GuestBound;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::identity::GuestId;
use crate::interface::{
    EventClock, EventOrigin, EventReceiver, EventSink, InterfaceEvent, InterfaceId, SharedInterface,
};
use crate::limits;
use crate::notify::{NotificationHub, NotificationQueue};
use crate::observer::ObserverQueue;
use crate::status::{GuestNotificationStatus, GuestStatus, InterfaceStatus, RequestKind, SharedStatus};
use session::{GuestMadeLink, GuestSession};

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
}

impl Default for Timeouts {
    fn default() -> Self {
        Self { scan: limits::SCAN_TIMEOUT, connect: limits::CONNECT_TIMEOUT, disconnect: limits::DISCONNECT_TIMEOUT }
    }
}

/// What the handler keeps for one guest.
pub(crate) struct GuestState {
    session: GuestSession,
    notifications: Arc<NotificationQueue>,
    /// Interfaces whose scan for this guest is still running (more results will come).
    running_scans: HashSet<InterfaceId>,
    last_active: Instant,
    /// Wall-clock times of its first and last request, for operators.
    first_request: SystemTime,
    last_request: SystemTime,
}

/// The operation handler's state. Driven by the work-queue task (`run`); tests drive it directly.
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
}

/// Changes to publish at the end of the current work item.
#[derive(Default)]
struct Unpublished {
    /// Guests whose session changed (or who were forgotten).
    guests: BTreeSet<GuestId>,
    /// Whether the interface count changed.
    interfaces: bool,
    /// Requests handled, by kind.
    requests: Vec<RequestKind>,
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
        }
    }

    /// Handles one request of `guest` and returns the answer.
    pub async fn handle_request(&mut self, guest: &GuestId, request: Request) -> GuestBound {
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
        self.unpublished.requests.push(kind);
        answer
    }

    /// Creates the guest's state on its first request (opening its notification gate)
    /// and marks it active.
    async fn touch_guest(&mut self, guest: &GuestId) {
        if let Some(state) = self.guests.get_mut(guest) {
            state.last_active = Instant::now();
            state.last_request = SystemTime::now();
            self.unpublished.guests.insert(guest.clone());
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
                first_request: SystemTime::now(),
                last_request: SystemTime::now(),
            },
        );
        self.publish_guest(guest);
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
        self.unpublished.guests.insert(id);
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
        self.unpublished.guests.insert(guest.clone());
    }

    /// Publishes what changed during the work item just done, under one lock.
    pub(crate) fn publish_status(&mut self) {
        let changes = std::mem::take(&mut self.unpublished);
        if changes.guests.is_empty() && !changes.interfaces && changes.requests.is_empty() {
            return;
        }
        let mut board = self.status.board.lock().unwrap_or_else(|p| p.into_inner());
        let mut live = self.status.guest_notifications.lock().unwrap_or_else(|p| p.into_inner());
        for guest in changes.guests {
            let key = guest.to_string();
            match self.guests.get(&guest) {
                Some(state) => {
                    let connection = state.session.connection.map(|c| {
                        let mut status: crate::status::ConnectionStatus = c.into();
                        status.interface = self.interface_name(c.interface);
                        status
                    });
                    let status = GuestStatus {
                        first_request: state.first_request,
                        last_request: state.last_request,
                        session_id: state.session.current_session().0,
                        connection,
                        notifications: GuestNotificationStatus::default(),
                    };
                    live.insert(key.clone(), state.notifications.guest_counters.clone());
                    board.guests.insert(key, status);
                }
                None => {
                    live.remove(&key);
                    board.guests.remove(&key);
                }
            }
        }
        if changes.interfaces {
            board.interfaces = self
                .interfaces
                .iter()
                .map(|i| InterfaceStatus { name: i.name(), backend: i.backend().into(), id: i.id().to_string() })
                .collect();
        }
        for kind in changes.requests {
            board.count_request(kind);
        }
    }
}

/// One item of the serialized work queue.
pub(crate) enum Work {
    /// A guest request and where to send its answer.
    Request(GuestId, Request, oneshot::Sender<GuestBound>),
    /// An interface appeared.
    AddInterface(SharedInterface),
    /// An interface disappeared.
    RemoveInterface(InterfaceId),
}

/// The sending side of the work queue, used by transports.
#[derive(Clone)]
pub struct HandlerHandle {
    work: mpsc::Sender<Work>,
}

impl HandlerHandle {
    pub(crate) fn new(work: mpsc::Sender<Work>) -> Self {
        Self { work }
    }

    /// Queues a request of `guest` and waits for its answer; `None` once the service
    /// stopped, or when the guest already has too many requests waiting.
    pub async fn submit(&self, guest: GuestId, request: Request) -> Option<GuestBound> {
        let (reply, answer) = oneshot::channel();
        self.work.send(Work::Request(guest, request, reply)).await.ok()?;
        answer.await.ok()
    }

    /// Queues an interface arrival.
    pub async fn add_interface(&self, interface: SharedInterface) {
        let _ = self.work.send(Work::AddInterface(interface)).await;
    }

    /// Queues an interface removal.
    pub async fn remove_interface(&self, id: InterfaceId) {
        let _ = self.work.send(Work::RemoveInterface(id)).await;
    }
}

/// The serialized work queue: runs until `stop` (or until every [`HandlerHandle`] is
/// dropped), then drains what was already queued. Interface changes are applied as
/// they arrive; requests wait in per-guest queues and are taken one guest at a time.
pub(crate) async fn run(
    mut handler: OperationHandler,
    mut work: mpsc::Receiver<Work>,
    mut events: EventReceiver,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut requests = scheduler::FairQueue::new(limits::MAX_PENDING_PER_GUEST);
    let mut open = true;
    loop {
        // Take in everything already waiting, without blocking.
        while let Ok(item) = work.try_recv() {
            accept_work(&mut handler, &mut requests, item);
        }
        while let Ok((origin, event)) = events.try_recv() {
            handler.on_interface_event(origin, event);
        }
        handler.publish_status();
        if let Some((guest, request, reply)) = requests.pop() {
            let answer = handler.handle_request(&guest, request).await;
            handler.publish_status();
            let _ = reply.send(answer);
            continue;
        }
        if !open {
            handler.publish_status();
            break;
        }
        tokio::select! {
            item = work.recv() => match item {
                Some(item) => accept_work(&mut handler, &mut requests, item),
                None => open = false,
            },
            Some((origin, event)) = events.recv() => handler.on_interface_event(origin, event),
            _ = stop.cancelled() => open = false,
        }
    }
}

fn accept_work(handler: &mut OperationHandler, requests: &mut scheduler::FairQueue, item: Work) {
    match item {
        Work::Request(guest, request, reply) => {
            if let Err((guest, _, _)) = requests.push(guest, request, reply) {
                // The reply is dropped: the connection is closed without an answer.
                tracing::warn!(%guest, max = limits::MAX_PENDING_PER_GUEST,
                    "guest has too many requests waiting; request dropped");
            }
        }
        Work::AddInterface(interface) => handler.add_interface(interface),
        Work::RemoveInterface(id) => handler.remove_interface(id),
    }
}

#[cfg(test)]
mod tests;
