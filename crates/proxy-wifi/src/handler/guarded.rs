//! The handler's calls into interfaces, guarded: each has a deadline, a panic inside an
//! interface (an application's [`WifiInterface`](crate::WifiInterface)) fails that one
//! call instead of the handler, and a connect that misses its deadline is watched
//! so that a late success can be rolled back ([`LateConnect`]).

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::FutureExt;
use proxy_wifi_protocol::Ssid;
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout, timeout_at};

use crate::interface::{ConnectParams, ConnectedNetwork, InterfaceError, InterfaceId, ScanResults, SharedInterface};
use crate::limits;

/// The call's deadline passed before it answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Missed;

/// A connect that succeeded after the handler had stopped waiting for it: the guest was
/// answered without it, so the host is connected for nobody.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LateConnect {
    /// The interface that connected.
    pub(crate) interface: InterfaceId,
    /// What it joined.
    pub(crate) network: ConnectedNetwork,
}

/// Where late connects are reported. Each one sent is counted first, so that the work
/// queue can tell whether one is waiting (it counts those it applied).
#[derive(Clone)]
pub(crate) struct LateSender {
    sender: mpsc::UnboundedSender<LateConnect>,
    sent: Arc<AtomicU64>,
}

impl LateSender {
    /// A sender and the receiving end the work queue reads.
    pub(crate) fn channel() -> (LateSender, mpsc::UnboundedReceiver<LateConnect>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (LateSender { sender, sent: Arc::default() }, receiver)
    }

    /// Late connects sent so far.
    #[cfg(unix)]
    pub(crate) fn sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }

    /// Reports a late connect.
    pub(super) fn send(&self, late: LateConnect) {
        self.sent.fetch_add(1, Ordering::SeqCst);
        let _ = self.sender.send(late);
    }
}

/// Logs a panic of `interface` in `call` and turns it into that call's error.
fn panicked(interface: InterfaceId, call: &str, payload: &(dyn Any + Send)) -> InterfaceError {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(%interface, call, panic = %message, "interface panicked; the call fails, the service goes on");
    InterfaceError::Backend(format!("the interface panicked in {call}"))
}

/// Runs `call` of `interface` with a panic turned into an error.
async fn contained<T>(
    interface: InterfaceId,
    call: &'static str,
    future: impl Future<Output = Result<T, InterfaceError>>,
) -> Result<T, InterfaceError> {
    match AssertUnwindSafe(future).catch_unwind().await {
        Ok(result) => result,
        Err(payload) => Err(panicked(interface, call, payload.as_ref())),
    }
}

/// `interface.scan(ssid)` until `deadline`.
pub(crate) async fn scan(
    interface: &SharedInterface,
    ssid: Option<Ssid>,
    deadline: Instant,
) -> Result<Result<ScanResults, InterfaceError>, Missed> {
    timeout_at(deadline, contained(interface.id(), "scan", interface.scan(ssid))).await.map_err(|_| Missed)
}

/// `interface.connection_to(ssid)` until `deadline`; `None` when it misses it or panics.
pub(crate) async fn connection_to(
    interface: &SharedInterface,
    ssid: &Ssid,
    deadline: Instant,
) -> Option<ConnectedNetwork> {
    let id = interface.id();
    let lookup = contained(id, "connection_to", interface.connection_to(ssid).map(Ok));
    match timeout_at(deadline, lookup).await {
        Ok(Ok(network)) => network,
        Ok(Err(_)) => None,
        Err(_) => {
            tracing::warn!(interface = %id, %ssid, "mirror lookup missed its deadline; taken as not connected");
            None
        }
    }
}

/// `interface.disconnect()` within `limit`.
pub(crate) async fn disconnect(
    interface: &SharedInterface,
    limit: std::time::Duration,
) -> Result<Result<(), InterfaceError>, Missed> {
    timeout(limit, contained(interface.id(), "disconnect", interface.disconnect())).await.map_err(|_| Missed)
}

/// `interface.connect(params)` on its own task, until `deadline`. When the deadline
/// passes first the attempt goes on (a backend may be mid-way through it) and is watched
/// for [`limits::LATE_CONNECT_WATCH`]: a success is reported on `late`, for rollback.
pub(crate) async fn connect(
    interface: &SharedInterface,
    params: &ConnectParams,
    deadline: Instant,
    late: &LateSender,
) -> Result<Result<ConnectedNetwork, InterfaceError>, Missed> {
    let id = interface.id();
    let (attempt_interface, attempt_params) = (interface.clone(), params.clone());
    let mut attempt = tokio::spawn(async move { attempt_interface.connect(&attempt_params).await });
    match timeout_at(deadline, &mut attempt).await {
        Ok(Ok(result)) => Ok(result),
        Ok(Err(error)) if error.is_panic() => Ok(Err(panicked(id, "connect", error.into_panic().as_ref()))),
        Ok(Err(error)) => Ok(Err(InterfaceError::Backend(format!("connect task ended: {error}")))),
        Err(_) => {
            let late = late.clone();
            tokio::spawn(async move {
                match timeout(limits::LATE_CONNECT_WATCH, &mut attempt).await {
                    Ok(Ok(Ok(network))) => {
                        late.send(LateConnect { interface: id, network });
                    }
                    Ok(_) => {}
                    Err(_) => {
                        tracing::warn!(interface = %id, watched = ?limits::LATE_CONNECT_WATCH,
                            "a connect past its deadline never ended; dropped");
                        attempt.abort();
                    }
                }
            });
            Err(Missed)
        }
    }
}
