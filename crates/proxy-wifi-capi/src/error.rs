//! Result codes, the thread-local last-error message, and the guard that keeps panics
//! from crossing the C boundary.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Result of every fallible function: `PWIFI_OK` (0) or a negative error code.
pub type pwifi_result = i32;

/// Success.
pub const PWIFI_OK: pwifi_result = 0;
/// A required pointer argument was NULL.
pub const PWIFI_ERR_NULL: pwifi_result = -1;
/// A handle is not (or no longer) a live object of the expected kind.
pub const PWIFI_ERR_INVALID_HANDLE: pwifi_result = -2;
/// An argument has a bad value (the last-error message names it).
pub const PWIFI_ERR_INVALID_ARGUMENT: pwifi_result = -3;
/// The call is not allowed now (e.g. stopping the service from one of its callbacks,
/// a simulation event on a service that is not in simulated mode).
pub const PWIFI_ERR_STATE: pwifi_result = -4;
/// The transport could not be set up (bind failed, unsupported on this platform, ...).
pub const PWIFI_ERR_TRANSPORT: pwifi_result = -5;
/// The service runtime could not be started.
pub const PWIFI_ERR_RUNTIME: pwifi_result = -6;
/// The library panicked; the panic was caught and logged.
pub const PWIFI_ERR_PANIC: pwifi_result = -7;
/// The named object (interface id, network) does not exist.
pub const PWIFI_ERR_NOT_FOUND: pwifi_result = -8;

/// An error to report: its code and message.
#[derive(Debug)]
pub(crate) struct Error {
    pub(crate) code: pwifi_result,
    pub(crate) message: String,
}

impl Error {
    pub(crate) fn new(code: pwifi_result, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    pub(crate) fn null(argument: &str) -> Self {
        Self::new(PWIFI_ERR_NULL, format!("argument `{argument}` is NULL"))
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(PWIFI_ERR_INVALID_ARGUMENT, message)
    }

    pub(crate) fn state(message: impl Into<String>) -> Self {
        Self::new(PWIFI_ERR_STATE, message)
    }
}

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

fn set_last_error(message: &str) {
    LAST_ERROR.with(|last| {
        let mut last = last.borrow_mut();
        last.clear();
        last.push_str(message);
    });
}

/// Copies the last error message of this thread into `buffer`.
pub(crate) fn copy_last_error(buffer: *mut u8, capacity: usize) -> usize {
    LAST_ERROR.with(|last| {
        let last = last.borrow();
        if !buffer.is_null() && capacity > 0 {
            let n = last.len().min(capacity - 1);
            // SAFETY: the caller gives `capacity` writable bytes at `buffer`; n < capacity.
            unsafe {
                std::ptr::copy_nonoverlapping(last.as_ptr(), buffer, n);
                *buffer.add(n) = 0;
            }
        }
        last.len()
    })
}

/// Runs the body of an exported function: clears the last error, turns an `Err` into its
/// code (recording the message) and a panic into `PWIFI_ERR_PANIC` (logged).
pub(crate) fn guard(function: &'static str, body: impl FnOnce() -> Result<(), Error>) -> pwifi_result {
    set_last_error("");
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => PWIFI_OK,
        Ok(Err(error)) => {
            set_last_error(&format!("{function}: {}", error.message));
            error.code
        }
        Err(payload) => {
            let what = panic_message(payload.as_ref());
            tracing::error!(function, panic = %what, "panic caught at the C boundary");
            set_last_error(&format!("{function}: internal error (panic: {what})"));
            PWIFI_ERR_PANIC
        }
    }
}

/// The text of a panic payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last() -> String {
        let mut buffer = [0u8; 256];
        let len = copy_last_error(buffer.as_mut_ptr(), buffer.len());
        String::from_utf8_lossy(&buffer[..len.min(255)]).into_owned()
    }

    #[test]
    fn a_panic_becomes_an_error_code_with_its_message() {
        let code = guard("pwifi_example", || panic!("boom"));
        assert_eq!(code, PWIFI_ERR_PANIC);
        assert_eq!(last(), "pwifi_example: internal error (panic: boom)");
    }

    #[test]
    fn errors_set_and_success_clears_the_message() {
        assert_eq!(guard("pwifi_example", || Err(Error::null("out"))), PWIFI_ERR_NULL);
        assert_eq!(last(), "pwifi_example: argument `out` is NULL");
        assert_eq!(guard("pwifi_example", || Ok(())), PWIFI_OK);
        assert_eq!(copy_last_error(std::ptr::null_mut(), 0), 0);
    }

    #[test]
    fn a_short_buffer_gets_a_truncated_nul_terminated_message() {
        guard("f", || Err(Error::invalid("abcdef")));
        let mut buffer = [0xffu8; 4];
        let full = copy_last_error(buffer.as_mut_ptr(), buffer.len());
        assert_eq!(full, "f: abcdef".len());
        assert_eq!(&buffer, b"f: \0");
    }
}
