//! The service's counters as the suite reads them, and the accounting checks: the service
//! is quiet after a case, every accepted connection is accounted for, and the guest's session
//! is intact at the end.

use std::time::{Duration, Instant};

use proxy_wifi::{ServiceStatus, TransportStatus};
use serde::Serialize;

use super::suite::{CaseOutcome, SKIP, Suite};
use crate::wire;

/// The status key of the test guest on loopback TCP.
pub const LOOPBACK_GUEST: &str = "tcp:127.0.0.1";

/// The service's counters at one moment, as the suite reads them: the library's own
/// channel counters, and the test guest's session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// The request and notification channels' counters.
    #[serde(flatten)]
    pub transport: TransportStatus,
    /// Last session id given to the guest.
    pub session_id: u64,
    /// Session id of the guest's connection, if it has one.
    pub connection_session: Option<u64>,
}

impl Counters {
    /// Whether every accepted connection is accounted for.
    pub fn consistent(&self) -> bool {
        self.transport.requests_accounted_for()
    }

    /// Notifications that left the queue one way or another.
    pub fn notifications_done(&self) -> u64 {
        let t = &self.transport;
        t.notifications_sent + t.notifications_coalesced + t.notifications_dropped + t.notifications_failed
    }
}

impl From<&ServiceStatus> for Counters {
    fn from(s: &ServiceStatus) -> Self {
        // The loopback test guest (the only guest of a single-guest TCP service).
        let guest = s.board.guests.get(LOOPBACK_GUEST).or_else(|| s.board.guests.values().next());
        Counters {
            transport: s.transport.clone(),
            session_id: guest.map_or(0, |g| g.session_id),
            connection_session: guest.and_then(|g| g.connection.as_ref()).map(|c| c.session_id),
        }
    }
}

/// Reads the target's counters.
pub type CountersFn = Box<dyn Fn() -> Result<Counters, String> + Send + Sync>;

impl Suite<'_> {
    fn counters(&self) -> Option<Result<Counters, String>> {
        self.target.counters.as_ref().map(|c| c())
    }

    /// The counters, or `None` when the target does not expose them; an error reading them is a failure.
    pub(super) fn counters_now(&self) -> Result<Option<Counters>, String> {
        self.counters().transpose()
    }

    /// Waits (bounded) until no request connection is open and no notification queued.
    pub(super) async fn quiesce(&self) -> Result<Option<Counters>, String> {
        let bound = Instant::now() + self.target.read_deadline + Duration::from_secs(5);
        loop {
            let Some(counters) = self.counters_now()? else { return Ok(None) };
            if counters.transport.open == 0 && counters.transport.notifications_queued == 0 && counters.consistent() {
                return Ok(Some(counters));
            }
            if Instant::now() > bound {
                return Err(format!("not quiescent {:?} after the case: {counters:?}", bound.elapsed()));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub(super) async fn session_intact(&mut self) -> CaseOutcome {
        let Some(session) = self.session else {
            return Ok(format!("{SKIP}no open network, no session made at the start"));
        };
        match self.quiesce().await? {
            Some(counters) => {
                if counters.session_id != session || counters.connection_session != Some(session) {
                    return Err(format!(
                        "session {session} not intact: last session {}, connection {:?}",
                        counters.session_id, counters.connection_session
                    ));
                }
                Ok(format!(
                    "connection of session {session} intact; {} connections accepted, all accounted for \
                     ({} answered, {} INVALID, {} timed out, {} closed early, {} refused), none open",
                    counters.transport.accepted,
                    counters.transport.answered,
                    counters.transport.invalid,
                    counters.transport.timed_out,
                    counters.transport.closed_early,
                    counters.transport.refused_busy
                ))
            }
            None => {
                // No counters: the next connect must get the very next session id, so no
                // other connect was honoured since the suite's own.
                let (answer, _) = wire::exchange(
                    self.target.request_addr,
                    &wire::open_connect_request(&self.open_ssid),
                    Duration::from_secs(2),
                )
                .await
                .map_err(|e| e.to_string())?;
                let next = wire::connect_response_session(&answer);
                if let Some(next) = next {
                    let _ = wire::exchange(
                        self.target.request_addr,
                        &wire::disconnect_request(next),
                        Duration::from_secs(2),
                    )
                    .await;
                }
                if next != Some(session + 1) {
                    return Err(format!("the next connect got session {next:?}, expected {}", session + 1));
                }
                Ok(format!("no connect honoured since session {session} (the next one got {})", session + 1))
            }
        }
    }
}
