//! The service: builder, start, stop.
//!
//! [`ServiceBuilder::run`] is the async core, on the caller's tokio runtime until a
//! shutdown future completes; [`ServiceBuilder::start`] runs the same core on a thread and
//! runtime of its own and hands back a [`ServiceHandle`] (status, stop), as the CLI and the
//! C ABI use it.
//!
//! ```no_run
//! use proxy_wifi::{OperationMode, Service, TransportSettings};
//!
//! let service = Service::builder(TransportSettings::tcp_loopback())
//!     .mode(OperationMode::Simulated)
//!     .start()
//!     .expect("service started");
//! // ... the guest scans, connects ...
//! service.stop();
//! ```

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Instant, SystemTime};

use proxy_wifi_protocol::GuestAbi;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::guest_connect_policy::GuestConnectPolicy;
use crate::guest_set::{GuestChangeError, GuestList};
use crate::handler::{self, HandlerHandle, OperationHandler, Timeouts, WorkReceiver};
use crate::host::{HostBackend, InterfaceRegistry};
use crate::host_mode_rule::{self, HostModeRefusal};
use crate::identity::{GuestAbis, GuestId};
use crate::interface::fake::{FakeNetwork, FakeNetworkProvider, FakeNetworksInterface};
use crate::interface::simulated::{SimulatedInterface, SimulatedNetwork, SimulationControl};
use crate::interface::{InterfaceId, SharedInterface};
use crate::limits;
use crate::notify::NotificationHub;
use crate::observer::{Observer, ObserverQueue};
use crate::status::{
    ListenStatus, NotificationCounters, RequestCounters, ServiceStatus, SharedStatus, TransportStatus,
};
use crate::transport::admission::GuestAdmission;
use crate::transport::request_channel::{self, RequestChannelConfig};
use crate::transport::{self, TransportSettings, notification_sender};

/// Which interfaces honour the guest's operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OperationMode {
    /// The host's real Wi-Fi interfaces (plus fake networks, if a provider is given).
    #[default]
    Host,
    /// One simulated interface (plus fake networks, if a provider is given).
    Simulated,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request listener could not be bound.
    #[error("cannot start the transport ({transport}): {source}")]
    Transport {
        /// The transport settings, described.
        transport: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The runtime thread could not be started.
    #[error("cannot start the service runtime: {0}")]
    Runtime(std::io::Error),
    /// Host mode was asked for on a transport where it may not run
    /// ([`crate::host_mode_rule`]).
    #[error("{0}")]
    HostMode(#[from] HostModeRefusal),
}

/// Entry point: `Service::builder(transport)`.
pub struct Service;

impl Service {
    /// A builder for a service using `transport`.
    pub fn builder(transport: TransportSettings) -> ServiceBuilder {
        ServiceBuilder {
            transport,
            mode: OperationMode::Host,
            simulated_networks: None,
            fake_networks: None,
            observer: None,
            host_interfaces: Vec::new(),
            host_backend: None,
            request_channel: RequestChannelConfig::default(),
            timeouts: Timeouts::default(),
            notification_queue_capacity: limits::NOTIFICATION_QUEUE_CAPACITY,
            worker_threads: 2,
            guest_abis: GuestAbis::default(),
            observer_callback_deadline: limits::OBSERVER_CALLBACK_DEADLINE,
            allow_foreign_socket_dirs: false,
            allow_tcp_host_mode: false,
            #[cfg(unix)]
            inherited_listener: None,
            guest_connect: GuestConnectPolicy::default(),
            host_scan_interval: limits::HOST_SCAN_INTERVAL,
        }
    }
}

/// Configures and starts a service.
pub struct ServiceBuilder {
    transport: TransportSettings,
    mode: OperationMode,
    simulated_networks: Option<Vec<SimulatedNetwork>>,
    fake_networks: Option<FakeNetworkProvider>,
    observer: Option<Arc<dyn Observer>>,
    host_interfaces: Vec<SharedInterface>,
    host_backend: Option<Box<dyn HostBackend>>,
    request_channel: RequestChannelConfig,
    timeouts: Timeouts,
    notification_queue_capacity: usize,
    worker_threads: usize,
    guest_abis: GuestAbis,
    observer_callback_deadline: std::time::Duration,
    allow_foreign_socket_dirs: bool,
    allow_tcp_host_mode: bool,
    #[cfg(unix)]
    inherited_listener: Option<transport::inherited::InheritedListener>,
    guest_connect: GuestConnectPolicy,
    host_scan_interval: std::time::Duration,
}

impl ServiceBuilder {
    /// Host mode over TCP on a loopback address (default false: refused). TCP cannot tell
    /// a VM from any local process, so with this every local process may drive the host's
    /// Wi-Fi; a non-loopback address stays refused either way ([`crate::host_mode_rule`]).
    /// vsock, hybrid vsock and Hyper-V sockets need nothing.
    pub fn allow_tcp_host_mode(mut self, allow: bool) -> Self {
        self.allow_tcp_host_mode = allow;
        self
    }

    /// A request listener already bound and listening, adopted instead of binding the
    /// transport's address: systemd's socket activation (`LISTEN_FDS`), so the port is held
    /// from boot and across restarts. It must be bound exactly where the settings say (a
    /// vsock listener on (any CID, request port), a TCP one on the listen address), else
    /// [`ServiceBuilder::start`] fails naming both; hybrid vsock and Hyper-V sockets refuse it.
    #[cfg(unix)]
    pub fn inherited_listener(mut self, listener: transport::inherited::InheritedListener) -> Self {
        self.inherited_listener = Some(listener);
        self
    }

    /// Which guest-directed connections (those that move a host interface to the guest's
    /// network) are allowed before the observer is asked (default
    /// [`GuestConnectPolicy::Any`], the original's behaviour). Mirroring the host's own
    /// connection is always allowed. Shown in [`ServiceHandle::status`].
    pub fn guest_connect_policy(mut self, policy: GuestConnectPolicy) -> Self {
        self.guest_connect = policy;
        self
    }

    /// At most one real scan per `interval` on each host radio (NetworkManager,
    /// wpa_supplicant, the WLAN service); guests' scans in between are answered from that
    /// interface's newest results (default [`limits::HOST_SCAN_INTERVAL`], zero: off).
    pub fn host_scan_interval(mut self, interval: std::time::Duration) -> Self {
        self.host_scan_interval = interval;
        self
    }

    /// Checks [`crate::host_mode_rule`] for this builder's mode and transport.
    fn check_host_mode(&self) -> Result<(), HostModeRefusal> {
        host_mode_rule::check(self.mode, &self.transport, self.allow_tcp_host_mode)
    }

    /// Whether the hybrid-vsock request listeners (`<VMM socket>_<port>`) may be made in a
    /// directory this user does not own, such as a VMM's directory that belongs to the
    /// VMM's user (default false: such a directory is refused, naming its owner). Safe
    /// either way against that user (the socket is made through directory descriptors,
    /// [`crate::socket_file`]), but that user can then replace the listener at will.
    pub fn allow_foreign_socket_dirs(mut self, allow: bool) -> Self {
        self.allow_foreign_socket_dirs = allow;
        self
    }

    /// The backend that finds and follows the host's Wi-Fi interfaces (host mode).
    pub fn host_backend(mut self, backend: Box<dyn HostBackend>) -> Self {
        self.host_backend = Some(backend);
        self
    }

    /// Host or simulated interfaces (default: host).
    pub fn mode(mut self, mode: OperationMode) -> Self {
        self.mode = mode;
        self
    }

    /// The networks of the simulated interface (default: [`SimulatedNetwork::defaults`]).
    pub fn simulated_networks(mut self, networks: Vec<SimulatedNetwork>) -> Self {
        self.simulated_networks = Some(networks);
        self
    }

    /// A callback listing fake networks, always visible and connected, ahead of all others.
    pub fn fake_networks(mut self, provider: impl Fn() -> Vec<FakeNetwork> + Send + Sync + 'static) -> Self {
        self.fake_networks = Some(Arc::new(provider));
        self
    }

    /// The application's observer.
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Host interfaces to use in host mode (a backend of the application's, or one of
    /// this crate's host backends). Tried in the order given, after the fake networks.
    pub fn host_interface(mut self, interface: SharedInterface) -> Self {
        self.host_interfaces.push(interface);
        self
    }

    /// Time an awaited observer callback (authorization, scan request / completion) has to
    /// return ([`limits::OBSERVER_CALLBACK_DEADLINE`]). Past it the request goes on without
    /// the callback: an authorization counts as denied, and the miss is logged.
    pub fn observer_callback_deadline(mut self, deadline: std::time::Duration) -> Self {
        self.observer_callback_deadline = deadline;
        self
    }

    /// Request channel limits (read deadline, connection cap).
    pub fn request_channel(mut self, config: RequestChannelConfig) -> Self {
        self.request_channel = config;
        self
    }

    /// Deadlines around interface operations (defaults in [`limits`](crate::limits)).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Capacity of each guest's notification queue ([`limits::NOTIFICATION_QUEUE_CAPACITY`]).
    pub fn notification_queue_capacity(mut self, capacity: usize) -> Self {
        self.notification_queue_capacity = capacity.max(1);
        self
    }

    /// The guest driver generation every guest runs, unless [`ServiceBuilder::guest_abi_for`]
    /// names another for it (default [`GuestAbi::Current`]). A [`GuestAbi::Legacy`] guest
    /// gets scan responses without `scan_complete` and no scan-results notifications.
    pub fn guest_abi(mut self, abi: GuestAbi) -> Self {
        self.guest_abis.set_default(abi);
        self
    }

    /// The guest driver generation of one guest (multi-guest transports).
    pub fn guest_abi_for(mut self, guest: GuestId, abi: GuestAbi) -> Self {
        self.guest_abis.set(guest, abi);
        self
    }

    /// Worker threads of the service's runtime (default 2).
    pub fn worker_threads(mut self, threads: usize) -> Self {
        self.worker_threads = threads.max(1);
        self
    }

    /// Binds the transport and serves on the caller's tokio runtime (current-thread or
    /// multi-thread) until `shutdown` completes, then stops in order (listener, in-flight
    /// requests, host backend, work queue, notification flush) and returns.
    ///
    /// This is the service's async core; [`ServiceBuilder::start`] runs it on a thread and
    /// runtime of its own. Fails when host mode may not run on the transport
    /// ([`crate::host_mode_rule`]) or the transport cannot be bound.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ServiceError> {
        self.check_host_mode()?;
        let transport_description = self.transport.to_string();
        let prepared = self.prepare();
        let stop = prepared.parts.shutdown.clone();
        let serving = run_service(prepared.parts, |_| {});
        tokio::pin!(serving);
        let outcome = tokio::select! {
            outcome = &mut serving => outcome,
            () = shutdown => {
                stop.cancel();
                serving.await
            }
        };
        if let Some(thread) = prepared.observer_thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        outcome.map_err(|source| ServiceError::Transport { transport: transport_description, source })
    }

    /// Binds the transport and starts serving on the service's own runtime thread: a thin
    /// wrapper that runs [`ServiceBuilder::run`]'s core there until the handle stops it.
    ///
    /// Works from plain synchronous code and from inside a tokio runtime alike.
    pub fn start(self) -> Result<ServiceHandle, ServiceError> {
        self.check_host_mode()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(self.worker_threads)
            .thread_name("proxy-wifi-worker")
            .enable_all()
            .build()
            .map_err(ServiceError::Runtime)?;
        let runtime_handle = runtime.handle().clone();
        let transport_description = self.transport.to_string();
        let listen = ListenStatus {
            transport: self.transport.kind().into(),
            requests: String::new(),
            notifications: self.transport.notification_destination(),
        };
        let mode = self.mode;
        let (guest_connect, host_scan_interval) = (self.guest_connect.clone(), self.host_scan_interval);
        let Prepared { parts, observer_thread, simulation } = self.prepare();
        let shutdown = parts.shutdown.clone();
        let notification_counters = parts.notification_counters.clone();
        let request_counters = parts.request_counters.clone();
        let board = parts.board.clone();
        let handler_handle = parts.handler_handle.clone();
        let (ready_sender, ready) = std::sync::mpsc::channel();
        let thread = thread::Builder::new()
            .name("proxy-wifi".into())
            .spawn(move || {
                let bound = ready_sender.clone();
                let served = runtime.block_on(run_service(parts, move |ready| {
                    let _ = bound.send(Ok(ready));
                }));
                if let Err(error) = served {
                    let _ = ready_sender.send(Err(error));
                }
                runtime.shutdown_timeout(limits::RUNTIME_SHUTDOWN);
                if let Some(thread) = observer_thread {
                    let _ = thread.join();
                }
            })
            .map_err(ServiceError::Runtime)?;

        match ready.recv() {
            Ok(Ok(Bound { local, local_tcp, guests })) => Ok(ServiceHandle {
                thread: Mutex::new(Some(thread)),
                started: (Instant::now(), SystemTime::now()),
                listen: ListenStatus { requests: local.clone(), ..listen },
                shutdown,
                simulation,
                mode,
                guest_connect,
                host_scan_interval,
                notification_counters,
                request_counters,
                board,
                request_address: local,
                request_tcp_addr: local_tcp,
                guests,
                interface_changes: apply_interface_changes(&runtime_handle, handler_handle),
            }),
            Ok(Err(source)) => {
                let _ = thread.join();
                Err(ServiceError::Transport { transport: transport_description, source })
            }
            Err(_) => {
                let _ = thread.join();
                Err(ServiceError::Runtime(std::io::Error::other("service thread ended during start")))
            }
        }
    }

    /// Everything the core needs, built from the settings; starts the observer thread.
    fn prepare(mut self) -> Prepared {
        let host_backend = match self.mode {
            OperationMode::Host => self.host_backend.take(),
            OperationMode::Simulated => None,
        };
        // Without an application observer every callback is a no-op: run them inline
        // rather than through the observer thread (two thread hand-offs per awaited call).
        let (observer_queue, observer_thread) = match self.observer.clone() {
            Some(observer) => {
                let (queue, thread) = ObserverQueue::start(observer);
                (queue.with_deadline(self.observer_callback_deadline), Some(thread))
            }
            None => (ObserverQueue::none(), None),
        };
        let mut interfaces: Vec<SharedInterface> = Vec::new();
        if let Some(provider) = self.fake_networks.clone() {
            interfaces.push(Arc::new(FakeNetworksInterface::new(provider)));
        }
        let mut simulation = None;
        match self.mode {
            OperationMode::Simulated => {
                let networks = self.simulated_networks.clone().unwrap_or_else(SimulatedNetwork::defaults);
                let simulated = SimulatedInterface::new(networks);
                simulation = Some(simulated.control());
                interfaces.push(simulated);
            }
            OperationMode::Host => {
                if self.host_interfaces.is_empty() && host_backend.is_none() {
                    tracing::warn!("no host Wi-Fi interface available; serving the fake networks only");
                }
                interfaces.extend(self.host_interfaces.iter().cloned());
            }
        }
        let (handler_handle, work_receiver) = handler::work_queue(limits::WORK_QUEUE_CAPACITY);
        let parts = RunParts {
            transport: self.transport,
            guest_connect: self.guest_connect,
            host_scan_interval: self.host_scan_interval,
            bind_options: transport::BindOptions {
                allow_foreign_socket_dirs: self.allow_foreign_socket_dirs,
                #[cfg(unix)]
                inherited: self.inherited_listener,
            },
            request_channel: self.request_channel,
            timeouts: self.timeouts,
            interfaces,
            host_backend,
            observer: observer_queue,
            notification_counters: Arc::new(NotificationCounters::default()),
            notification_queue_capacity: self.notification_queue_capacity,
            guest_abis: Arc::new(self.guest_abis),
            request_counters: Arc::new(RequestCounters::default()),
            board: Arc::new(SharedStatus::default()),
            shutdown: CancellationToken::new(),
            handler_handle,
            work_receiver,
        };
        Prepared { parts, observer_thread, simulation }
    }
}

/// A service ready to run: its parts, the observer thread to join after, and the
/// simulated interface's controls.
struct Prepared {
    parts: RunParts,
    observer_thread: Option<thread::JoinHandle<()>>,
    simulation: Option<SimulationControl>,
}

struct RunParts {
    transport: TransportSettings,
    bind_options: transport::BindOptions,
    guest_connect: GuestConnectPolicy,
    host_scan_interval: std::time::Duration,
    request_channel: RequestChannelConfig,
    timeouts: Timeouts,
    interfaces: Vec<SharedInterface>,
    host_backend: Option<Box<dyn HostBackend>>,
    observer: ObserverQueue,
    notification_counters: Arc<NotificationCounters>,
    notification_queue_capacity: usize,
    guest_abis: Arc<GuestAbis>,
    request_counters: Arc<RequestCounters>,
    board: Arc<SharedStatus>,
    shutdown: CancellationToken,
    /// Every sender's way to the handler's work queue (cloned).
    handler_handle: HandlerHandle,
    work_receiver: WorkReceiver,
}

/// What the service reports once its transport is bound.
struct Bound {
    local: String,
    local_tcp: Option<SocketAddr>,
    guests: Arc<dyn GuestAdmission>,
}

/// Binds, tells `ready` where it listens, serves until `parts.shutdown`, then stops in
/// order: listener, in-flight connections, work queue, notification flush. Fails only when
/// the transport cannot be bound.
async fn run_service(parts: RunParts, ready: impl FnOnce(Bound)) -> std::io::Result<()> {
    let (listener, connector, guests) = transport::bind(&parts.transport, parts.bind_options).await?;
    let local = listener.local_description();
    let local_tcp = listener.local_tcp_addr();
    let (event_sender, event_receiver) = mpsc::unbounded_channel();
    let sender_stop = CancellationToken::new();
    let senders = TaskTracker::new();
    let hub = NotificationHub::delivering(
        parts.notification_queue_capacity,
        parts.guest_abis.clone(),
        parts.notification_counters,
        notification_sender::start_delivery(connector, sender_stop.clone(), senders.clone()),
    );
    let mut handler = OperationHandler::new(parts.observer, hub, parts.timeouts, event_sender, parts.board);
    handler.set_guest_connect_policy(parts.guest_connect);
    handler.set_host_scan_interval(parts.host_scan_interval);
    for interface in parts.interfaces {
        handler.add_interface(interface);
    }
    let handler_stop = CancellationToken::new();
    let serialized = handler::Serialized::new(handler);
    let handler_task =
        tokio::spawn(handler::run(serialized.clone(), parts.work_receiver, event_receiver, handler_stop.clone()));
    let backend_stop = CancellationToken::new();
    let backend_task = parts.host_backend.map(|backend| {
        tracing::info!(backend = backend.name(), "starting the host Wi-Fi backend");
        let registry = InterfaceRegistry::new(parts.handler_handle.clone());
        tokio::spawn(backend.run(registry, backend_stop.clone()))
    });
    let tracker = TaskTracker::new();
    let request_task = tokio::spawn(request_channel::serve(
        listener,
        request_handle(parts.handler_handle, serialized),
        parts.guest_abis,
        parts.request_channel,
        parts.request_counters,
        parts.shutdown.clone(),
        tracker.clone(),
    ));
    tracing::info!(listen = %local, "proxy-wifi service started");
    ready(Bound { local, local_tcp, guests });

    parts.shutdown.cancelled().await;
    let _ = request_task.await;
    tracker.close();
    tracker.wait().await;
    backend_stop.cancel();
    if let Some(task) = backend_task {
        if tokio::time::timeout(limits::HOST_BACKEND_STOP, task).await.is_err() {
            tracing::warn!(limit = ?limits::HOST_BACKEND_STOP, "the host backend did not stop in time");
        }
    }
    handler_stop.cancel();
    let _ = handler_task.await;
    sender_stop.cancel();
    senders.close();
    if tokio::time::timeout(limits::NOTIFICATION_FLUSH_AT_STOP, senders.wait()).await.is_err() {
        tracing::warn!("queued notifications not all delivered before the stop");
    }
    tracing::info!("proxy-wifi service stopped");
    Ok(())
}

/// The request channel's way to the handler: on Unix, a request read whole at accept is
/// handled in place when the work queue is idle.
fn request_handle(handle: HandlerHandle, serialized: Arc<handler::Serialized>) -> HandlerHandle {
    #[cfg(unix)]
    return handle.handling_in_place(serialized);
    #[cfg(not(unix))]
    {
        drop(serialized);
        handle
    }
}

/// A running service. Dropping it stops the service.
pub struct ServiceHandle {
    thread: Mutex<Option<thread::JoinHandle<()>>>,
    shutdown: CancellationToken,
    simulation: Option<SimulationControl>,
    mode: OperationMode,
    guest_connect: GuestConnectPolicy,
    host_scan_interval: std::time::Duration,
    notification_counters: Arc<NotificationCounters>,
    request_counters: Arc<RequestCounters>,
    board: Arc<SharedStatus>,
    /// When it started (monotonic, wall clock).
    started: (Instant, SystemTime),
    listen: ListenStatus,
    request_address: String,
    request_tcp_addr: Option<SocketAddr>,
    interface_changes: mpsc::UnboundedSender<InterfaceChange>,
    guests: Arc<dyn GuestAdmission>,
}

/// A run-time interface change asked through the [`ServiceHandle`] (or the end of a
/// removed guest's session, ordered with them).
enum InterfaceChange {
    Add(SharedInterface),
    Remove(InterfaceId),
    ForgetGuest(GuestId),
}

/// One task applies the run-time interface changes one after the other, in the order they
/// were asked (an add followed by a remove of the same interface never ends added).
fn apply_interface_changes(
    runtime: &tokio::runtime::Handle,
    handler: HandlerHandle,
) -> mpsc::UnboundedSender<InterfaceChange> {
    let (changes, mut receiver) = mpsc::unbounded_channel();
    runtime.spawn(async move {
        while let Some(change) = receiver.recv().await {
            match change {
                InterfaceChange::Add(interface) => handler.add_interface(interface).await,
                InterfaceChange::Remove(id) => handler.remove_interface(id).await,
                InterfaceChange::ForgetGuest(guest) => handler.forget_guest(guest).await,
            }
        }
    });
    changes
}

impl ServiceHandle {
    /// The event API of the simulated interface (simulated mode only).
    pub fn simulation(&self) -> Option<&SimulationControl> {
        self.simulation.as_ref()
    }

    /// Where requests are accepted, e.g. `tcp:127.0.0.1:12345`.
    pub fn request_address(&self) -> &str {
        &self.request_address
    }

    /// The bound request address of a TCP transport (useful with port 0).
    pub fn request_tcp_addr(&self) -> Option<SocketAddr> {
        self.request_tcp_addr
    }

    /// The service's version, uptime, addresses, interfaces, guests and counters now.
    pub fn status(&self) -> ServiceStatus {
        ServiceStatus {
            version: env!("CARGO_PKG_VERSION").into(),
            mode: match self.mode {
                OperationMode::Host => "host".into(),
                OperationMode::Simulated => "simulated".into(),
            },
            guest_connect: self.guest_connect.to_string(),
            host_scan_interval_seconds: self.host_scan_interval.as_secs(),
            started_at: self.started.1,
            uptime_seconds: self.started.0.elapsed().as_secs(),
            listen: self.listen.clone(),
            board: self.board.snapshot(),
            transport: TransportStatus::read(&self.request_counters, &self.notification_counters),
        }
    }

    /// Registers the service's Prometheus metrics into `registry`: requests by operation
    /// and result, request latency, notifications by outcome, request connections,
    /// guests, connections by kind, interfaces, queued notifications.
    pub fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        self.board.request_metrics.register(registry);
        registry.register_collector(Box::new(crate::metrics::StatusCollector {
            status: self.board.clone(),
            requests: self.request_counters.clone(),
            notifications: self.notification_counters.clone(),
        }));
    }

    /// Adds an interface at run time (e.g. a Wi-Fi adapter plugged in). Run-time adds
    /// and removes are applied in the order they are asked, shortly after the call.
    pub fn add_interface(&self, interface: SharedInterface) {
        let _ = self.interface_changes.send(InterfaceChange::Add(interface));
    }

    /// Removes an interface at run time (ordered with [`ServiceHandle::add_interface`]).
    pub fn remove_interface(&self, id: InterfaceId) {
        let _ = self.interface_changes.send(InterfaceChange::Remove(id));
    }

    /// Accepts `guest` from its next connection (vsock CIDs, TCP source addresses of a
    /// [`TransportSettings::TcpListed`] service, hybrid-vsock VMM sockets, whose listener
    /// `<path>_<request port>` is created now). False when it is accepted already.
    pub fn add_guest(&self, guest: GuestId) -> Result<bool, GuestChangeError> {
        if self.shutdown.is_cancelled() {
            return Err(GuestChangeError::Stopped);
        }
        let added = self.guests.add(guest.clone())?;
        if added {
            tracing::info!(%guest, "guest added");
        }
        Ok(added)
    }

    /// Refuses `guest` from its next connection (a hybrid-vsock VMM socket's listener is
    /// closed and its file removed) and ends its session: a connection the host made
    /// for it is disconnected as if it had asked, its queued notifications are dropped.
    /// A request already being carried out is answered; those still waiting are dropped
    /// unanswered. False when it was not listed.
    pub fn remove_guest(&self, guest: &GuestId) -> Result<bool, GuestChangeError> {
        if self.shutdown.is_cancelled() {
            return Err(GuestChangeError::Stopped);
        }
        let removed = self.guests.remove(guest)?;
        if removed {
            tracing::info!(%guest, "guest removed");
            let _ = self.interface_changes.send(InterfaceChange::ForgetGuest(guest.clone()));
        }
        Ok(removed)
    }

    /// The guests the service accepts now.
    pub fn guests(&self) -> GuestList {
        self.guests.list()
    }

    /// Stops the service: closes the listener, lets in-flight requests finish, flushes
    /// queued notifications (2 s at most) and joins its threads.
    ///
    /// Idempotent; also done when the handle is dropped.
    pub fn stop(&self) {
        self.shutdown.cancel();
        if let Some(thread) = self.take_thread() {
            let _ = thread.join();
        }
    }

    /// [`ServiceHandle::stop`] for async callers: does not block a runtime thread.
    pub async fn shutdown(&self) {
        self.shutdown.cancel();
        if let Some(thread) = self.take_thread() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }

    fn take_thread(&self) -> Option<thread::JoinHandle<()>> {
        self.thread.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

impl Drop for ServiceHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// A backend that finds no interface and waits for the end.
    struct IdleBackend;

    #[async_trait::async_trait]
    impl HostBackend for IdleBackend {
        fn name(&self) -> &str {
            "idle"
        }

        async fn run(self: Box<Self>, _registry: crate::InterfaceRegistry, shutdown: CancellationToken) {
            shutdown.cancelled().await;
        }
    }

    /// Log lines written by the code run in `f` on this thread.
    fn logs_of(f: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Buffer(Arc<std::sync::Mutex<Vec<u8>>>);
        impl Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
        tracing::subscriber::with_default(subscriber, f);
        let bytes = buffer.0.lock().unwrap().clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn start_host_mode(backend: Option<Box<dyn HostBackend>>) -> String {
        logs_of(|| {
            let mut builder = Service::builder(TransportSettings::tcp(
                std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
                0,
                None,
                1,
            ))
            .mode(OperationMode::Host)
            .allow_tcp_host_mode(true);
            if let Some(backend) = backend {
                builder = builder.host_backend(backend);
            }
            builder.start().expect("starts").stop();
        })
    }

    #[test]
    fn a_host_backend_given_to_the_builder_is_not_reported_missing() {
        let logs = start_host_mode(Some(Box::new(IdleBackend)));
        assert!(!logs.contains("no host Wi-Fi interface available"), "{logs}");
        let logs = start_host_mode(None);
        assert!(logs.contains("no host Wi-Fi interface available"), "{logs}");
    }
}
