//! The operation handler: parses nothing, opens no socket; decides.
//!
//! It receives typed requests, dispatches them to the Wi-Fi interfaces, aggregates
//! their results, keeps the guest's connection state, queues guest notifications and
//! tells the observer. Requests, interface changes and interface events are processed
//! by one task, one at a time ([`run`]): that task is the serialized work queue.
//!
//! Each rule of `behavior.md` is a function or a commented block named after it:
//! [`scan`] (scan rules 1–7), [`connect`] (connect rules 1–6), [`disconnect`]
//! (disconnect rules 1–4), [`events`] (host events).

pub mod connect;
pub mod disconnect;
pub mod events;
pub mod scan;
pub mod session;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proxy_wifi_protocol::{ConnectRequest, DisconnectRequest, Message, ScanRequest};
use tokio::sync::{mpsc, oneshot};

use crate::interface::{EventSink, InterfaceEvent, InterfaceId, SharedInterface};
use crate::notify::NotificationQueue;
use crate::observer::ObserverQueue;
use crate::status::{ConnectionStatus, StatusBoard};
use session::GuestSession;

/// A request from the guest, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Scan.
    Scan(ScanRequest),
    /// Connect.
    Connect(ConnectRequest),
    /// Disconnect.
    Disconnect(DisconnectRequest),
}

impl TryFrom<Message> for Request {
    type Error = Message;
    fn try_from(message: Message) -> Result<Self, Message> {
        match message {
            Message::ScanRequest(r) => Ok(Request::Scan(r)),
            Message::ConnectRequest(r) => Ok(Request::Connect(r)),
            Message::DisconnectRequest(r) => Ok(Request::Disconnect(r)),
            other => Err(other),
        }
    }
}

impl Request {
    /// The name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Scan(_) => "scan",
            Request::Connect(_) => "connect",
            Request::Disconnect(_) => "disconnect",
        }
    }
}

/// Deadlines the handler puts around interface operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Shared deadline of a scan over all interfaces (10 s).
    pub scan: Duration,
    /// Per-interface connect deadline (10 s).
    pub connect: Duration,
    /// Disconnect deadline (5 s).
    pub disconnect: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self { scan: Duration::from_secs(10), connect: Duration::from_secs(10), disconnect: Duration::from_secs(5) }
    }
}

/// The operation handler's state. Driven by [`run`]; tests drive it directly.
pub struct OperationHandler {
    /// Interfaces in dispatch order; the fake-networks interface, when present, is first.
    interfaces: Vec<SharedInterface>,
    observer: ObserverQueue,
    notifications: Arc<NotificationQueue>,
    session: GuestSession,
    /// Interfaces whose last scan is still running (more results will come).
    running_scans: HashSet<InterfaceId>,
    timeouts: Timeouts,
    events: mpsc::UnboundedSender<(InterfaceId, InterfaceEvent)>,
    status: Arc<Mutex<StatusBoard>>,
}

impl OperationHandler {
    /// A handler with no interface yet. `events` is the sender side of the channel
    /// [`run`] reads interface events from.
    pub(crate) fn new(
        observer: ObserverQueue,
        notifications: Arc<NotificationQueue>,
        timeouts: Timeouts,
        events: mpsc::UnboundedSender<(InterfaceId, InterfaceEvent)>,
        status: Arc<Mutex<StatusBoard>>,
    ) -> Self {
        Self {
            interfaces: Vec::new(),
            observer,
            notifications,
            session: GuestSession::default(),
            running_scans: HashSet::new(),
            timeouts,
            events,
            status,
        }
    }

    /// Handles one guest request and returns the answer.
    pub async fn handle_request(&mut self, request: Request) -> Message {
        // The guest is listening once it has made a request: notifications may flow.
        self.notifications.open_gate();
        let name = request.name();
        let started = tokio::time::Instant::now();
        let answer = match request {
            Request::Scan(r) => self.scan(r).await,
            Request::Connect(r) => self.connect(r).await,
            Request::Disconnect(r) => self.disconnect(r).await,
        };
        tracing::debug!(operation = name, duration = ?started.elapsed(), "request handled");
        self.publish_status(|s| s.count_request(name));
        answer
    }

    /// Interface arrival: adds it (the fake-networks interface stays first).
    pub fn add_interface(&mut self, interface: SharedInterface) {
        let id = interface.id();
        if self.interfaces.iter().any(|i| i.id() == id) {
            tracing::warn!(interface = %id, "interface already present; ignored");
            return;
        }
        interface.attach(EventSink::new(id, self.events.clone()));
        if id == InterfaceId::FAKE_NETWORKS {
            self.interfaces.insert(0, interface);
        } else {
            self.interfaces.push(interface);
        }
        tracing::info!(interface = %id, "interface added");
        self.publish_status(|s| s.interfaces = self.interfaces.len());
    }

    /// Interface removal: forgets it; a guest connection it backed is lost (the guest is
    /// told, as for a host disconnection).
    pub fn remove_interface(&mut self, id: InterfaceId) {
        let before = self.interfaces.len();
        self.interfaces.retain(|i| i.id() != id);
        if self.interfaces.len() == before {
            return;
        }
        self.running_scans.remove(&id);
        tracing::info!(interface = %id, "interface removed");
        if self.session.is_backed_by(id) {
            self.guest_connection_lost();
        }
        self.publish_status(|s| s.interfaces = self.interfaces.len());
    }

    /// The guest's connection, if any.
    pub fn guest_connection(&self) -> Option<session::GuestConnection> {
        self.session.connection
    }

    /// Rule "host disconnected on the interface backing the guest's connection": send
    /// NOTIF_DISCONNECTED with the current session id and forget the connection.
    fn guest_connection_lost(&mut self) {
        if let Some(connection) = self.session.connection.take() {
            let session_id = self.session.current_session();
            tracing::info!(ssid = %connection.ssid, interface = %connection.interface, session = %session_id,
                "host lost the connection backing the guest's; notifying the guest");
            self.notifications
                .push(Message::NotifDisconnected(proxy_wifi_protocol::DisconnectedNotification { session_id }));
            self.publish_connection();
        }
    }

    fn publish_connection(&self) {
        let session = self.session.current_session();
        let connection = self.session.connection.map(ConnectionStatus::from);
        self.publish_status(|s| {
            s.session_id = session.0;
            s.connection = connection;
        });
    }

    fn publish_status(&self, update: impl FnOnce(&mut StatusBoard)) {
        update(&mut self.status.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

/// One item of the serialized work queue.
pub(crate) enum Work {
    /// A guest request and where to send its answer.
    Request(Request, oneshot::Sender<Message>),
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

    /// Queues a request and waits for its answer; `None` once the service stopped.
    pub async fn submit(&self, request: Request) -> Option<Message> {
        let (reply, answer) = oneshot::channel();
        self.work.send(Work::Request(request, reply)).await.ok()?;
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

impl OperationHandler {
    async fn perform(&mut self, work: Work) {
        match work {
            Work::Request(request, reply) => {
                let answer = self.handle_request(request).await;
                let _ = reply.send(answer);
            }
            Work::AddInterface(interface) => self.add_interface(interface),
            Work::RemoveInterface(id) => self.remove_interface(id),
        }
    }
}

/// The serialized work queue: runs until `stop` (or until every [`HandlerHandle`] is
/// dropped), then drains what was already queued.
pub(crate) async fn run(
    mut handler: OperationHandler,
    mut work: mpsc::Receiver<Work>,
    mut events: mpsc::UnboundedReceiver<(InterfaceId, InterfaceEvent)>,
    stop: tokio_util::sync::CancellationToken,
) {
    loop {
        tokio::select! {
            item = work.recv() => match item {
                Some(item) => handler.perform(item).await,
                None => break,
            },
            Some((id, event)) = events.recv() => handler.on_interface_event(id, event),
            _ = stop.cancelled() => break,
        }
    }
    while let Ok(item) = work.try_recv() {
        handler.perform(item).await;
    }
    while let Ok((id, event)) = events.try_recv() {
        handler.on_interface_event(id, event);
    }
}

#[cfg(test)]
mod tests;
