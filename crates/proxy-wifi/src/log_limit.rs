//! Rate limit for warnings a guest can cause over and over (malformed requests, too many
//! connections, undeliverable notifications): the first of a kind from a guest is
//! logged, the rest of that minute are counted, and one line then says how many were
//! left out ("N more like this from guest X in the minute after the first"). A guest
//! that sends bad requests in a loop thus writes a few lines a minute, not thousands.
//!
//! [`RateLimiter`] holds the counts and decides; [`admit`] applies the process-wide
//! limiter and logs the summary lines itself.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// Length of a window: one line per guest and kind per window, plus one summary.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Keys (guest and kind) followed at once; beyond that, warnings are logged unlimited
/// rather than hidden.
pub const MAX_KEYS: usize = 4096;

/// Warnings left out of one window for one guest and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppressed {
    /// The guest (or peer) the warnings came from.
    pub guest: String,
    /// The kind of warning.
    pub kind: &'static str,
    /// How many were left out.
    pub count: u64,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    suppressed: u64,
}

/// Per guest and kind: log the first warning of a window, count the others.
#[derive(Debug)]
pub struct RateLimiter {
    window: Duration,
    max_keys: usize,
    windows: HashMap<(String, &'static str), Window>,
    last_sweep: Option<Instant>,
}

impl RateLimiter {
    /// A limiter with windows of `window`, following at most `max_keys` keys.
    pub fn new(window: Duration, max_keys: usize) -> RateLimiter {
        RateLimiter { window, max_keys, windows: HashMap::new(), last_sweep: None }
    }

    /// Whether the warning of `kind` from `guest` at `now` is to be logged; `summaries`
    /// gets the counts of windows that ended (this key's, and others' found expired by
    /// a sweep, at most one sweep per window), to be logged before it.
    pub fn check(&mut self, guest: &str, kind: &'static str, now: Instant, summaries: &mut Vec<Suppressed>) -> bool {
        if self.last_sweep.is_none_or(|last| now.saturating_duration_since(last) >= self.window) {
            self.sweep(now, summaries);
        }
        let window = self.window;
        if let Some(entry) = self.windows.get_mut(&(guest.to_string(), kind)) {
            if now.saturating_duration_since(entry.started) < window {
                entry.suppressed += 1;
                return false;
            }
            if entry.suppressed > 0 {
                summaries.push(Suppressed { guest: guest.to_string(), kind, count: entry.suppressed });
            }
            *entry = Window { started: now, suppressed: 0 };
            return true;
        }
        if self.windows.len() >= self.max_keys {
            return true;
        }
        self.windows.insert((guest.to_string(), kind), Window { started: now, suppressed: 0 });
        true
    }

    /// Ends the windows that are over: their counts go to `summaries`, their keys away.
    fn sweep(&mut self, now: Instant, summaries: &mut Vec<Suppressed>) {
        self.last_sweep = Some(now);
        let window = self.window;
        self.windows.retain(|(guest, kind), entry| {
            if now.saturating_duration_since(entry.started) < window {
                return true;
            }
            if entry.suppressed > 0 {
                summaries.push(Suppressed { guest: guest.clone(), kind, count: entry.suppressed });
            }
            false
        });
    }

    /// Keys followed now.
    pub fn keys(&self) -> usize {
        self.windows.len()
    }
}

static LIMITER: LazyLock<Mutex<RateLimiter>> = LazyLock::new(|| Mutex::new(RateLimiter::new(WINDOW, MAX_KEYS)));

/// Whether to log a warning of `kind` from `guest` now (the process-wide limiter; the
/// summaries of ended windows are logged here, at WARN). Use as
/// `if log_limit::admit(&guest, "malformed request") { tracing::warn!(...) }`.
pub fn admit(guest: &impl Display, kind: &'static str) -> bool {
    let (admitted, summaries) = check_now(guest, kind);
    for s in summaries {
        tracing::warn!(guest = %s.guest, kind = s.kind, suppressed = s.count,
            "{} more like this from guest {} in the minute after the first: {}", s.count, s.guest, s.kind);
    }
    admitted
}

/// [`admit`] for an INFO line a guest can repeat (a failed connect): summaries at INFO.
pub fn admit_info(guest: &impl Display, kind: &'static str) -> bool {
    let (admitted, summaries) = check_now(guest, kind);
    for s in summaries {
        tracing::info!(guest = %s.guest, kind = s.kind, suppressed = s.count,
            "{} more like this from guest {} in the minute after the first: {}", s.count, s.guest, s.kind);
    }
    admitted
}

fn check_now(guest: &impl Display, kind: &'static str) -> (bool, Vec<Suppressed>) {
    let mut summaries = Vec::new();
    let admitted = match LIMITER.lock() {
        Ok(mut limiter) => limiter.check(&guest.to_string(), kind, Instant::now(), &mut summaries),
        Err(_) => true,
    };
    (admitted, summaries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_of_a_window_is_logged_and_the_rest_counted_then_summarised() {
        let mut limiter = RateLimiter::new(Duration::from_secs(60), 16);
        let start = Instant::now();
        let mut summaries = Vec::new();
        let logged = (0..1000)
            .filter(|i| limiter.check("127.0.0.2", "malformed", start + Duration::from_millis(*i), &mut summaries))
            .count();
        assert_eq!(logged, 1);
        assert!(summaries.is_empty());
        // The next one after the window: logged, with the count of the window before.
        assert!(limiter.check("127.0.0.2", "malformed", start + Duration::from_secs(61), &mut summaries));
        assert_eq!(summaries, vec![Suppressed { guest: "127.0.0.2".into(), kind: "malformed", count: 999 }]);
    }

    #[test]
    fn guests_and_kinds_are_limited_apart() {
        let mut limiter = RateLimiter::new(Duration::from_secs(60), 16);
        let now = Instant::now();
        let mut summaries = Vec::new();
        assert!(limiter.check("a", "malformed", now, &mut summaries));
        assert!(limiter.check("b", "malformed", now, &mut summaries));
        assert!(limiter.check("a", "busy", now, &mut summaries));
        assert!(!limiter.check("a", "malformed", now, &mut summaries));
        assert!(limiter.check("b", "busy", now, &mut summaries));
        assert!(!limiter.check("b", "busy", now, &mut summaries));
        assert_eq!(limiter.keys(), 4);
    }

    #[test]
    fn a_sweep_reports_a_quiet_guest_and_forgets_it() {
        let mut limiter = RateLimiter::new(Duration::from_secs(60), 16);
        let now = Instant::now();
        let mut summaries = Vec::new();
        limiter.check("quiet", "malformed", now, &mut summaries);
        limiter.check("quiet", "malformed", now, &mut summaries);
        limiter.check("quiet", "malformed", now, &mut summaries);
        // Another guest's warning a minute later ends the quiet guest's window.
        assert!(limiter.check("other", "busy", now + Duration::from_secs(61), &mut summaries));
        assert_eq!(summaries, vec![Suppressed { guest: "quiet".into(), kind: "malformed", count: 2 }]);
        assert_eq!(limiter.keys(), 1);
    }

    #[test]
    fn beyond_the_key_cap_warnings_are_logged_not_hidden() {
        let mut limiter = RateLimiter::new(Duration::from_secs(60), 2);
        let now = Instant::now();
        let mut summaries = Vec::new();
        assert!(limiter.check("a", "k", now, &mut summaries));
        assert!(limiter.check("b", "k", now, &mut summaries));
        assert!(limiter.check("c", "k", now, &mut summaries));
        assert!(limiter.check("c", "k", now, &mut summaries));
        assert_eq!(limiter.keys(), 2);
    }
}
