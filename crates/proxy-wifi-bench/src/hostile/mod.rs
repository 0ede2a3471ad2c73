//! The hostile-guest suite: what a broken or malicious guest may do to the request and
//! notification channels, and the checks that the service keeps serving.
//!
//! Cases: 1 000 connections that send nothing; slow senders (one byte per interval);
//! headers claiming 4 GiB; every header field and count out of range; random bytes
//! (10 000 cases); a notification listener that accepts and never reads; one that
//! refuses; guests that disconnect mid-response. After each case the next well-formed
//! request must be answered correctly within 100 ms of being sent; where the target
//! exposes its counters (an in-process service, or a binary's control socket), the
//! guest's session must be intact, no request connection may be left open, and the
//! counters must add up.
//!
//! The same code runs from `proxy-wifi-bench hostile` against a running binary and from
//! the crate's integration tests against an in-process service.

mod counters;
mod notifications;
mod requests;
mod suite;

pub use counters::{Counters, CountersFn, LOOPBACK_GUEST};
pub(crate) use requests::wait_closed;
pub use suite::{CaseResult, SuiteConfig, SuiteReport, Target, TriggerFn, Verdict, binary_target, run_suite};
