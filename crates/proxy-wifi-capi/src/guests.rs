//! `pwifi_service_add_guest` / `pwifi_service_remove_guest`: the guests a running
//! service accepts, changed while it runs.

use std::ffi::c_char;

use proxy_wifi::{GuestChangeError, GuestId};

use crate::error::{Error, PWIFI_ERR_STATE, guard, pwifi_result};
use crate::service::{lookup, pwifi_service};
use crate::types::utf8;

/// The guest written at (`guest`, `guest_len`).
fn guest_from_c(guest: *const c_char, guest_len: usize) -> Result<GuestId, Error> {
    // SAFETY: the caller gives `guest_len` readable bytes at `guest`.
    let text = unsafe { utf8(guest, guest_len, "guest") }?;
    text.parse().map_err(|e: proxy_wifi::BadGuestId| Error::invalid(e.to_string()))
}

fn change_error(error: GuestChangeError) -> Error {
    match error {
        GuestChangeError::WrongKind { .. } | GuestChangeError::Reserved { .. } => Error::invalid(error.to_string()),
        GuestChangeError::Listen { .. } => Error::new(crate::error::PWIFI_ERR_TRANSPORT, error.to_string()),
        _ => Error::new(PWIFI_ERR_STATE, error.to_string()),
    }
}

/// Writes `value` to `out` when it is not NULL.
fn report(out: *mut bool, value: bool) {
    if !out.is_null() {
        // SAFETY: non-null; the caller gives a writable bool.
        unsafe { *out = value };
    }
}

/// Accepts a guest from its next connection: `guest` (UTF-8, explicit length) is
/// `vsock:CID`, `hybrid-vsock:PATH` (the service starts listening on `PATH_<request
/// port>` now) or `tcp:IP`. `added` may be NULL; else it tells whether the guest was new.
///
/// Thread: any. Does not block. `PWIFI_ERR_INVALID_ARGUMENT` for a guest the transport
/// cannot serve, `PWIFI_ERR_STATE` when its guests are fixed (one TCP guest, any guest,
/// Hyper-V) or it has stopped, `PWIFI_ERR_TRANSPORT` when a hybrid-vsock listener
/// cannot be created.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_service_add_guest(
    service: *mut pwifi_service,
    guest: *const c_char,
    guest_len: usize,
    added: *mut bool,
) -> pwifi_result {
    guard("pwifi_service_add_guest", || {
        let guest = guest_from_c(guest, guest_len)?;
        let entry = lookup(service)?;
        report(added, entry.handle.add_guest(guest).map_err(change_error)?);
        Ok(())
    })
}

/// Refuses a guest from its next connection and ends its session (a connection the host
/// made for it is disconnected; a hybrid-vsock listener is closed and its file removed).
/// `removed` may be NULL; else it tells whether the guest was listed.
///
/// Thread: any. Does not block. Errors as `pwifi_service_add_guest`.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_service_remove_guest(
    service: *mut pwifi_service,
    guest: *const c_char,
    guest_len: usize,
    removed: *mut bool,
) -> pwifi_result {
    guard("pwifi_service_remove_guest", || {
        let guest = guest_from_c(guest, guest_len)?;
        let entry = lookup(service)?;
        report(removed, entry.handle.remove_guest(&guest).map_err(change_error)?);
        Ok(())
    })
}
