//! Every timeout, cap and delay of the service, in one place, each with where it comes
//! from. The configurable ones are defaults ([`crate::Timeouts`],
//! [`crate::RequestChannelConfig`], the builder's queue capacity); logs print the value in
//! force, never these literals.

use std::time::Duration;

// ---- the operation handler (behavior.md "Requests") --------------------------------------

/// Shared deadline of a scan over all interfaces (behavior.md "Scan": 10 s).
pub const SCAN_TIMEOUT: Duration = Duration::from_secs(10);
/// Per-interface connect deadline (behavior.md "Connect": 10 s each).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The whole of one connect, counted from the request's arrival: mirror lookup,
/// authorization and every interface's attempt (each still capped by [`CONNECT_TIMEOUT`]).
/// Inside the guest's 20 s ([`GUEST_REQUEST_TIMEOUT`]) with room to write the answer.
pub const CONNECT_BUDGET: Duration = Duration::from_secs(18);
/// The mirror lookup (is an interface already on the requested network?), all interfaces
/// at once: it reads state the interfaces already hold.
pub const MIRROR_LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);
/// A connect that missed its deadline is watched this long for a late success (which is
/// then rolled back: the guest was answered without it); after that it is dropped.
pub const LATE_CONNECT_WATCH: Duration = Duration::from_secs(60);
/// Disconnect deadline (behavior.md "Disconnect": 5 s).
pub const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Guests remembered at once; beyond, the least recently active one without a
/// connection is forgotten (bounds the handler's memory against guest-id churn).
pub const MAX_GUESTS: usize = 1024;
/// Requests of one guest waiting in the handler's queue; beyond, its requests are dropped
/// unanswered (a flooding guest delays the others by at most one of its own).
pub const MAX_PENDING_PER_GUEST: usize = 16;
/// Capacity of the handler's work queue (requests of all guests, interface changes).
pub const WORK_QUEUE_CAPACITY: usize = 256;
/// The guest driver's send and receive timeouts on a request connection (protocol.md:
/// 20 s); after that it has closed the connection and forgotten the request.
pub const GUEST_REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// A request is answered within this long of its arrival, or dropped unanswered (it
/// waited in the queue while the guest gave up): [`GUEST_REQUEST_TIMEOUT`] minus 1 s to
/// write the answer.
pub const REQUEST_ANSWER_DEADLINE: Duration = Duration::from_secs(19);

// ---- the observer (client-application callbacks) ------------------------------------------

/// At most one real scan per this interval on each host radio (NetworkManager,
/// wpa_supplicant, WLAN service interfaces); guests' scans in between are answered from
/// its newest results. `ServiceBuilder::host_scan_interval` changes it (zero: off).
pub const HOST_SCAN_INTERVAL: Duration = Duration::from_secs(10);

/// Time an awaited observer callback (authorization, scan request / completion) has to
/// return; beyond, the handler goes on without it (an authorization counts as denied).
pub const OBSERVER_CALLBACK_DEADLINE: Duration = Duration::from_secs(5);
/// Observer callbacks waiting for the observer thread; beyond (a callback hangs), new
/// notifications are dropped and logged.
pub const OBSERVER_QUEUE_CAPACITY: usize = 1024;

// ---- the request channel (behavior.md "Transport"; protocol.md) ---------------------------

/// Time a connection has to deliver its whole request (a silent guest is dropped).
pub const REQUEST_READ_DEADLINE: Duration = Duration::from_secs(5);
/// Time to write an answer (the driver waits 20 s for it).
pub const REQUEST_WRITE_DEADLINE: Duration = Duration::from_secs(5);
/// Request connections open at once. When they are all taken, a guest below its fair
/// share (this cap divided by the guests holding connections) takes the oldest connection
/// of the guest holding the most; otherwise the new connection is closed at once.
pub const MAX_REQUEST_CONNECTIONS: usize = 1024;
/// File descriptors kept out of the request connections' reach (`RLIMIT_NOFILE`): the host
/// backends (D-Bus, wpa_supplicant control sockets), the control socket, listeners, logs.
pub const FD_RESERVE_BACKENDS: usize = 64;
/// File descriptors kept out of the request connections' reach for notification
/// connections (one per guest being notified at that moment).
pub const FD_RESERVE_NOTIFICATIONS: usize = 256;
/// Bytes a guest may send after its request while it waits for the answer; they are read
/// and ignored, and past this many its connection is no longer watched for a close.
pub const REQUEST_TRAILING_BYTES_WATCHED: usize = 4096;
/// How long the kernel holds a TCP request connection that has sent nothing before the
/// service accepts it (`TCP_DEFER_ACCEPT`, Linux; whole seconds, at least 1). A guest's
/// connection is accepted with its request already there; a silent one reaches the service
/// after about this long and then has [`REQUEST_READ_DEADLINE`].
pub const TCP_SILENT_CONNECTION_HELD: Duration = Duration::from_secs(1);
/// Pause after a failed accept (EMFILE and friends), instead of spinning.
pub const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(20);

// ---- notifications (behavior.md "Transport") ----------------------------------------------

/// Notifications waiting for one guest; beyond, older scan results make room or the new
/// message is dropped.
pub const NOTIFICATION_QUEUE_CAPACITY: usize = 64;
/// Time the guest has to accept a notification connection.
pub const NOTIFICATION_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Time to write a notification (the driver reads it within 10 ms of its accept).
pub const NOTIFICATION_WRITE_TIMEOUT: Duration = Duration::from_secs(2);

// ---- stopping (ServiceHandle::stop) --------------------------------------------------------

/// Time the host backend has to stop following its interfaces.
pub const HOST_BACKEND_STOP: Duration = Duration::from_secs(5);
/// Time queued notifications have to be delivered once the service stops.
pub const NOTIFICATION_FLUSH_AT_STOP: Duration = Duration::from_secs(2);
/// Time the runtime's remaining tasks have once the service stopped.
pub const RUNTIME_SHUTDOWN: Duration = Duration::from_secs(1);
/// Time a Linux backend's follower has to end its event monitor (interface removed, then
/// backend stopped).
pub const MONITOR_STOP_ON_REMOVAL: Duration = Duration::from_secs(2);
/// Time a Linux backend's followers have to end their monitors when the backend stops.
pub const MONITOR_STOP_ON_SHUTDOWN: Duration = Duration::from_secs(3);

// ---- Linux host backends -------------------------------------------------------------------

/// A backend's own deadline for a guest's connection: just under the handler's 10 s, so
/// the backend cleans up its temporary network before the handler gives up.
pub const HOST_CONNECT_DEADLINE: Duration = Duration::from_millis(9_500);
/// Time a backend waits for the host to confirm a disconnection.
pub const HOST_DISCONNECT_WAIT: Duration = Duration::from_secs(4);
/// Delay before a backend removes the temporary network of a connection the host lost
/// (lets the daemon's own retry settle first).
pub const HOST_LOSS_CLEANUP_DELAY: Duration = Duration::from_millis(500);
/// wpa_supplicant: the control sockets directory is polled for interfaces this often.
pub const WPA_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// wpa_supplicant: signal polled this often while connected (no event carries it).
pub const WPA_SIGNAL_POLL_PERIOD: Duration = Duration::from_secs(3);
/// wpa_supplicant: the answer to one control command (what wpa_cli's library waits;
/// why not less: `host::linux::wpa::ctrl::REPLY_BUDGET`).
pub const WPA_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// wpa_supplicant: the configuration file (checked for a save during a guest connection)
/// is read only up to this size (real ones are a few kilobytes).
pub const WPA_CONFIG_MAX_BYTES: u64 = 1024 * 1024;
/// wpa_supplicant: time to find the configuration file in `/proc` or to read it (off the
/// runtime); beyond, it is not used.
pub const WPA_CONFIG_READ_DEADLINE: Duration = Duration::from_secs(2);
/// NetworkManager: the access point's strength is polled this often while connected.
pub const NM_STRENGTH_POLL_PERIOD: Duration = Duration::from_secs(2);
/// NetworkManager: time the system bus has to answer the presence probe.
pub const NM_PROBE_TIMEOUT: Duration = Duration::from_secs(3);

// ---- Windows host backend ------------------------------------------------------------------

/// A host scan whose completion never arrives is forgotten after this long.
pub const WLAN_LOST_SCAN_AFTER: Duration = Duration::from_secs(10);

// ---- transports ----------------------------------------------------------------------------

/// Hybrid vsock: time the VMM has to answer `CONNECT <port>`.
pub const HYBRID_VSOCK_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);

// ---- simulated mode (behavior.md "Simulated mode") ------------------------------------------

/// Asynchronous scans: the rest of the results arrive this long after the first.
pub const SIMULATED_ASYNC_SCAN_DELAY: Duration = Duration::from_secs(1);
