//! Connect rules (behavior.md "Requests / Connect"), and the multi-guest isolation rule.

use futures::future::join_all;
use proxy_wifi_protocol::{Bssid, ConnectRequest, ConnectResponse, GuestBound, SessionId, StatusCode};
use tokio::time::Instant;

use super::session::{GuestConnection, GuestMadeLink};
use super::{OperationHandler, guarded};
use crate::identity::GuestId;
use crate::interface::{ConnectFailure, ConnectParams, ConnectedNetwork, InterfaceId};
use crate::limits;
use crate::observer::{Authorization, ConnectRequestArgs, ConnectionArgs, OperationStatus, OperationType};

fn answer(result_code: StatusCode, bssid: Bssid, session_id: SessionId) -> GuestBound {
    GuestBound::ConnectResponse(ConnectResponse { result_code, bssid, session_id })
}

impl OperationHandler {
    /// Handles a connect request of `guest`.
    pub(crate) async fn connect(&mut self, guest: &GuestId, request: ConnectRequest) -> GuestBound {
        let params = ConnectParams::new(request);
        // One budget for the whole connect, inside the guest's 20 s (limits::CONNECT_BUDGET).
        let deadline = self.work_deadline();
        // Rule 5: every connect response carries a new session id, one greater than the last.
        let session = self.guest(guest).session.next_session();
        self.publish_guest(guest);
        let ssid = params.ssid;
        let auth = params.auth_algorithm();
        tracing::debug!(%guest, operation = "connect", %ssid, bssid = %params.bssid, %auth, %session,
            "guest connect request");

        // Rule 1: no interface, no connection.
        if self.interfaces.is_empty() {
            if crate::log_limit::admit(guest, "connect failed: no Wi-Fi interface") {
                tracing::warn!(%guest, %ssid, "connect failed: no Wi-Fi interface");
            }
            return answer(ConnectFailure::InterfaceGone.status_code(), Bssid::ZERO, session);
        }

        // A guest has one connection at a time: a new connect request supersedes the
        // current one (a guest-directed one releases its interface first, so the new
        // request is honoured afresh and the host is not left connected for nobody).
        if let Some(previous) = self.guest(guest).session.connection {
            tracing::info!(%guest, ssid = %previous.ssid, session = %previous.session,
                "new connect request ends the guest's current connection");
            self.end_guest_connection(guest, previous).await;
        }

        // Rule 2: mirroring when an interface is already connected to the SSID: the host's
        // own connection is shared freely, a guest-made one only with its credentials.
        if let Some(found) = self.find_host_connection(&params, deadline).await {
            return self.mirror(guest, found, session, deadline).await;
        }

        // Rule 3: a guest-directed connection moves the host: the operator's policy
        // (guest-connect) must allow it, then the observer must approve it.
        let denied = match self.guest_connect.permits(&ssid) {
            Err(why) => Some((
                "guest-directed connection refused by the policy",
                format!("guest-directed connection refused: {why}"),
            )),
            Ok(()) => {
                let request_args = ConnectRequestArgs { guest: guest.clone(), interface: None, ssid, auth };
                let verdict =
                    self.observer.authorize_until(Some(deadline), OperationType::GuestDirected, request_args).await;
                (verdict == Authorization::Deny).then(|| {
                    ("guest-directed connection denied", "guest-directed connection denied by the observer".into())
                })
            }
        };
        if let Some((kind, message)) = denied {
            if crate::log_limit::admit_info(guest, kind) {
                tracing::info!(%guest, %ssid, "{message}");
            }
            let args = ConnectionArgs { guest: Some(guest.clone()), interface: None, ssid, bssid: params.bssid, auth };
            self.observer.notify("on_guest_connection_completion", move |o| {
                o.on_guest_connection_completion(OperationType::GuestDirected, OperationStatus::Denied, &args)
            });
            return answer(ConnectFailure::DeniedByObserver.status_code(), Bssid::ZERO, session);
        }

        // Rule 4: each interface in order, 10 s each, until one connects (or the budget is spent).
        // The guest is told the cause of the attempt that got furthest.
        let mut failure = ConnectFailure::Unspecified;
        for interface in self.interfaces.clone() {
            let id = interface.id();
            // Isolation rule: never take an interface away from another guest's connection.
            if id != InterfaceId::FAKE_NETWORKS {
                let others = self.other_guests_on(id, guest);
                if !others.is_empty() {
                    tracing::info!(%guest, interface = %id, users = ?others.iter().map(ToString::to_string).collect::<Vec<_>>(),
                        "interface skipped: it backs another guest's connection");
                    failure = failure.or_further(ConnectFailure::InterfaceBusy);
                    continue;
                }
            }
            if Instant::now() >= deadline {
                tracing::warn!(%guest, interface = %id, %ssid, budget = ?self.timeouts.connect_budget,
                    "connect budget spent; interface not tried");
                failure = failure.or_further(ConnectFailure::TimedOut);
                continue;
            }
            let attempt_deadline = deadline.min(Instant::now() + self.timeouts.connect);
            match guarded::connect(&interface, &params, attempt_deadline, &self.late_sender).await {
                Ok(Ok(network)) => {
                    // Rule 6: the BSS actually joined; the one the request named, if any.
                    let bssid = if params.bssid.is_zero() { network.bssid } else { params.bssid };
                    let since = self.clock.now();
                    self.guest(guest).session.connection = Some(GuestConnection {
                        kind: OperationType::GuestDirected,
                        interface: id,
                        ssid,
                        bssid,
                        auth: network.auth,
                        session,
                        since,
                    });
                    self.links.insert(id, GuestMadeLink::new(ssid, &params.security, guest.clone(), since));
                    self.publish_guest(guest);
                    tracing::info!(%guest, interface = %id, %ssid, %bssid, %session, "guest-directed connection succeeded");
                    let args = ConnectionArgs {
                        guest: Some(guest.clone()),
                        interface: Some(id),
                        ssid,
                        bssid,
                        auth: network.auth,
                    };
                    self.observer.notify("on_guest_connection_completion", move |o| {
                        o.on_guest_connection_completion(
                            OperationType::GuestDirected,
                            OperationStatus::Succeeded,
                            &args,
                        )
                    });
                    return answer(StatusCode::SUCCESS, bssid, session);
                }
                Ok(Err(error)) => {
                    failure = failure.or_further(error.connect_failure());
                    tracing::debug!(%guest, interface = %id, %ssid, %error, "interface could not connect");
                }
                Err(_) => {
                    failure = failure.or_further(ConnectFailure::TimedOut);
                    tracing::warn!(%guest, interface = %id, %ssid, deadline = ?self.timeouts.connect,
                        budget = ?self.timeouts.connect_budget, "interface connect missed its deadline")
                }
            }
        }
        let status = failure.status_code();
        if crate::log_limit::admit_info(guest, "guest-directed connection failed") {
            tracing::info!(%guest, %ssid, %session, cause = %failure, %status, "guest-directed connection failed on every interface");
        }
        let args = ConnectionArgs { guest: Some(guest.clone()), interface: None, ssid, bssid: params.bssid, auth };
        self.observer.notify("on_guest_connection_completion", move |o| {
            o.on_guest_connection_completion(OperationType::GuestDirected, OperationStatus::Failed, &args)
        });
        answer(status, Bssid::ZERO, session)
    }

    /// The first interface (in dispatch order) already connected to the requested SSID
    /// that the guest may share: a guest-made connection only with its credentials. All
    /// are asked at once, with one short deadline inside the connect's budget.
    async fn find_host_connection(&self, params: &ConnectParams, budget: Instant) -> Option<HostConnection> {
        let deadline = budget.min(Instant::now() + limits::MIRROR_LOOKUP_TIMEOUT);
        let lookups = self.interfaces.iter().map(|interface| guarded::connection_to(interface, &params.ssid, deadline));
        let found = join_all(lookups).await;
        // Read right after the lookups: later events may concern these connections.
        let since = self.clock.now();
        for (interface, network) in self.interfaces.iter().zip(found) {
            let id = interface.id();
            let Some(network) = network else { continue };
            let shares_link = match self.links.get(&id) {
                Some(link) if link.ssid == network.ssid => {
                    if !link.admits(&params.security) {
                        tracing::info!(interface = %id, ssid = %network.ssid, users = link.users.len(),
                            "a guest made this connection with other credentials; not shared");
                        continue;
                    }
                    true
                }
                _ => false,
            };
            return Some(HostConnection { interface: id, network, since, shares_link });
        }
        None
    }

    /// Rule 2: ask the observer; approved → success with the host's BSSID, recorded as
    /// mirrored (and as a user of the guest-made link it shares); denied → failure. The
    /// observer is told the outcome either way.
    async fn mirror(
        &mut self,
        guest: &GuestId,
        found: HostConnection,
        session: SessionId,
        deadline: Instant,
    ) -> GuestBound {
        let HostConnection { interface, network, since, shares_link } = found;
        let request_args = ConnectRequestArgs {
            guest: guest.clone(),
            interface: Some(interface),
            ssid: network.ssid,
            auth: network.auth,
        };
        let verdict = self.observer.authorize_until(Some(deadline), OperationType::HostMirroring, request_args).await;
        let args = ConnectionArgs {
            guest: Some(guest.clone()),
            interface: Some(interface),
            ssid: network.ssid,
            bssid: network.bssid,
            auth: network.auth,
        };
        let (status, message) = match verdict {
            Authorization::Approve => {
                self.guest(guest).session.connection = Some(GuestConnection {
                    kind: OperationType::HostMirroring,
                    interface,
                    ssid: network.ssid,
                    bssid: network.bssid,
                    auth: network.auth,
                    session,
                    since,
                });
                if shares_link {
                    if let Some(link) = self.links.get_mut(&interface) {
                        link.users.insert(guest.clone());
                    }
                }
                self.publish_guest(guest);
                tracing::info!(%guest, %interface, ssid = %network.ssid, bssid = %network.bssid, %session, shares_link,
                    "guest mirrors the host connection");
                (OperationStatus::Succeeded, answer(StatusCode::SUCCESS, network.bssid, session))
            }
            Authorization::Deny => {
                tracing::info!(%guest, %interface, ssid = %network.ssid, "mirroring denied by the observer");
                (OperationStatus::Denied, answer(ConnectFailure::DeniedByObserver.status_code(), Bssid::ZERO, session))
            }
        };
        self.observer.notify("on_guest_connection_completion", move |o| {
            o.on_guest_connection_completion(OperationType::HostMirroring, status, &args)
        });
        message
    }
}

/// A host connection a guest may mirror.
struct HostConnection {
    interface: InterfaceId,
    network: ConnectedNetwork,
    /// The event clock right after the lookup.
    since: u64,
    /// Whether it is a guest-made link (the guest becomes one of its users).
    shares_link: bool,
}
