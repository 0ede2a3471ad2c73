//! The notification-channel cases: a listener that accepts and never reads, one that
//! refuses, with signal events triggered on the host side and probes in between.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;

use super::suite::{CaseOutcome, SKIP, Suite, TriggerFn};

impl Suite<'_> {
    pub(super) async fn notification_never_reads(&mut self) -> CaseOutcome {
        let (Some(port), Some(trigger)) = (self.target.notification_port, self.target.trigger_signal.as_ref()) else {
            return Ok(format!("{SKIP}needs --notification-port and a way to trigger events (--ctl-socket)"));
        };
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| format!("cannot listen on the notification port {port}: {e}"))?;
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        let holder = tokio::spawn(async move {
            // Accepts and keeps every connection, never reads (bounded).
            let mut held = Vec::new();
            while held.len() < 10_000 {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        held.push(stream);
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            }
        });
        let outcome = self.notifications_while(trigger, "never-reading listener").await;
        // Let the service finish its deliveries before the listener goes away.
        let _ = self.quiesce().await;
        holder.abort();
        let _ = holder.await;
        let mut detail = outcome?;
        let accepted = accepted.load(Ordering::Relaxed);
        if accepted == 0 && self.session.is_some() {
            return Err(format!("{detail}; the service never connected to the listener"));
        }
        detail.push_str(&format!("; {accepted} notification connections accepted and never read"));
        Ok(detail)
    }

    pub(super) async fn notification_refuses(&mut self) -> CaseOutcome {
        let (Some(_), Some(trigger)) = (self.target.notification_port, self.target.trigger_signal.as_ref()) else {
            return Ok(format!("{SKIP}needs --notification-port and a way to trigger events (--ctl-socket)"));
        };
        // Nothing listens on the port now: every connection is refused.
        self.notifications_while(trigger, "refusing listener").await
    }

    /// Triggers the events, probing between them; checks the notification counters.
    async fn notifications_while(&mut self, trigger: &TriggerFn, what: &str) -> CaseOutcome {
        let before = self.counters_now()?;
        let events = self.config.notification_events;
        for i in 0..events {
            trigger(20 + (i % 60) as u32).map_err(|e| format!("triggering a signal event: {e}"))?;
            if i % 10 == 0 {
                self.probe().await.map_err(|e| format!("with a {what}: {e}"))?;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let mut detail = format!("{events} signal events");
        if let (Some(before), Some(mut after)) = (before, self.quiesce().await?) {
            // Every event ends up sent, coalesced or failed; the last delivery may still be
            // under way (a refused or unread connection fails within the 2 s connect timeout).
            let bound = Instant::now() + Duration::from_secs(5);
            while self.session.is_some()
                && after.notifications_done() - before.notifications_done() < events as u64
                && Instant::now() < bound
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
                after = self.counters_now()?.unwrap_or(after);
            }
            let done = after.notifications_done() - before.notifications_done();
            detail.push_str(&format!(
                "; notifications sent +{}, coalesced +{}, dropped +{}, failed +{}",
                after.transport.notifications_sent - before.transport.notifications_sent,
                after.transport.notifications_coalesced - before.transport.notifications_coalesced,
                after.transport.notifications_dropped - before.transport.notifications_dropped,
                after.transport.notifications_failed - before.transport.notifications_failed
            ));
            if self.session.is_some() && done != events as u64 {
                return Err(format!("{detail}: {done} accounted for, expected {events}"));
            }
        }
        Ok(detail)
    }
}
