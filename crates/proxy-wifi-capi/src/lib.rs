//! The C ABI of proxy-wifi: embed the service from C, C++ and any language with an FFI.
//!
//! The header `include/proxy_wifi.h` is generated from this crate by cbindgen (a test
//! fails when it is out of date); `include/proxy_wifi.hpp` is a header-only C++ layer
//! over it with the shape of the original C++ API. See `docs/capi.md`.
//!
//! Rules kept by every exported function: handles are keys into tables (a NULL, stale
//! or made-up handle gives an error code), errors are codes with a thread-local message
//! (`pwifi_last_error`), and no panic crosses the boundary.
#![allow(non_camel_case_types)]
// The exported functions are C entry points: their pointer arguments follow the contract
// written in the header (valid for the length given, or NULL where allowed), which is the
// same for a Rust caller. Marking them `unsafe fn` would change nothing for C callers.
#![allow(clippy::not_unsafe_ptr_arg_deref)]
#![warn(missing_docs)]

mod callback;
mod config;
mod error;
mod guests;
mod handles;
mod interface;
mod observer;
mod service;
mod types;

pub use config::*;
pub use error::{
    PWIFI_ERR_INVALID_ARGUMENT, PWIFI_ERR_INVALID_HANDLE, PWIFI_ERR_NOT_FOUND, PWIFI_ERR_NULL, PWIFI_ERR_PANIC,
    PWIFI_ERR_RUNTIME, PWIFI_ERR_STATE, PWIFI_ERR_TRANSPORT, PWIFI_OK, pwifi_result,
};
pub use interface::{pwifi_interface_vtable, pwifi_scan_results};
pub use observer::pwifi_observer;
pub use service::*;
pub use types::*;

use std::ffi::c_char;

/// Version of this C ABI; it changes when a function or type changes incompatibly.
pub const PWIFI_ABI_VERSION: u32 = 1;

/// The library's version (e.g. `0.1.0`): a static UTF-8 string, NUL-terminated, whose
/// length (without the NUL) is stored in `*len` when `len` is not NULL.
///
/// Ownership: static, never free it. Thread: any. Does not block.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_version(len: *mut usize) -> *const c_char {
    const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    if !len.is_null() {
        // SAFETY: non-null; the caller gives a writable size_t.
        unsafe { *len = VERSION.len() - 1 };
    }
    VERSION.as_ptr().cast()
}

/// Copies the message of the last error of this thread into `buffer` (at most
/// `capacity - 1` bytes and a NUL; nothing when `buffer` is NULL or `capacity` 0) and
/// returns the message's full length in bytes (0: the last call succeeded). UTF-8.
///
/// Every function except this one, `pwifi_version` and `pwifi_string_free` resets the
/// message when it starts. Thread: any (the message is per thread). Does not block.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_last_error(buffer: *mut c_char, capacity: usize) -> usize {
    error::copy_last_error(buffer.cast(), capacity)
}

/// Sends the library's logs to standard error, filtered by `filter` (UTF-8, explicit
/// length; e.g. `info`, `proxy_wifi=debug`; NULL/0: `info`). Once per process: a second
/// call returns `PWIFI_ERR_STATE`. Without it the library logs nothing.
///
/// Thread: any. Does not block.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_log_to_stderr(filter: *const c_char, filter_len: usize) -> pwifi_result {
    error::guard("pwifi_log_to_stderr", || {
        // SAFETY: the caller gives `filter_len` readable bytes.
        let filter = if filter_len == 0 { "info" } else { unsafe { types::utf8(filter, filter_len, "filter") }? };
        let filter = tracing_subscriber::EnvFilter::try_new(filter)
            .map_err(|e| error::Error::invalid(format!("filter '{filter}' is not a valid log filter: {e}")))?;
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init()
            .map_err(|_| error::Error::state("a logger is already installed in this process"))
    })
}
