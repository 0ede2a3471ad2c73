//! Calling into the application: marks the thread as "inside a callback" (so that
//! calls that would deadlock, such as stopping the service, are refused), and tracks the
//! callback-scoped output handles (`pwifi_fake_networks`, `pwifi_scan_results`).

use std::cell::{Cell, RefCell};
use std::ffi::c_void;

use crate::error::{Error, PWIFI_ERR_INVALID_HANDLE};

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    static ACTIVE_SINKS: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// The application's `user_data`, handed back to its callbacks on service threads.
/// The application promises (header docs) that it may be used from those threads.
#[derive(Clone, Copy)]
pub(crate) struct UserData(pub(crate) *mut c_void);

// SAFETY: the header documents that `user_data` is passed to callbacks on service
// threads; the application is responsible for what it points to being usable there.
unsafe impl Send for UserData {}
// SAFETY: as above; the library never dereferences it.
unsafe impl Sync for UserData {}

/// Whether this thread is running an application callback now.
pub(crate) fn in_callback() -> bool {
    DEPTH.with(|depth| depth.get() > 0)
}

/// Runs `call` (which calls the application) with the thread marked as in a callback.
pub(crate) fn enter<R>(call: impl FnOnce() -> R) -> R {
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            DEPTH.with(|depth| depth.set(depth.get() - 1));
        }
    }
    DEPTH.with(|depth| depth.set(depth.get() + 1));
    let _leave = Leave;
    call()
}

/// Runs `call` with `sink` valid as a callback-scoped handle on this thread.
pub(crate) fn with_sink<T, R>(sink: &mut T, call: impl FnOnce(*mut T) -> R) -> R {
    let key = sink as *mut T as usize;
    struct Remove(usize);
    impl Drop for Remove {
        fn drop(&mut self) {
            ACTIVE_SINKS.with(|active| active.borrow_mut().retain(|k| *k != self.0));
        }
    }
    ACTIVE_SINKS.with(|active| active.borrow_mut().push(key));
    let _remove = Remove(key);
    enter(|| call(sink as *mut T))
}

/// The sink behind a callback-scoped handle, if it is active on this thread.
///
/// # Safety
/// Only sinks registered by [`with_sink`] with the same `T` may be passed as `handle`
/// of that type; the check on the active list makes any other pointer an error.
pub(crate) unsafe fn sink<'a, T>(handle: *mut T, kind: &str) -> Result<&'a mut T, Error> {
    if handle.is_null() {
        return Err(Error::null(kind));
    }
    let active = ACTIVE_SINKS.with(|active| active.borrow().contains(&(handle as usize)));
    if !active {
        return Err(Error::new(
            PWIFI_ERR_INVALID_HANDLE,
            format!("`{kind}` is not the handle of a callback running on this thread"),
        ));
    }
    // SAFETY: the handle is a live `&mut T` of a `with_sink` frame of this thread, whose
    // borrow is only used through this pointer while the callback runs.
    Ok(unsafe { &mut *handle })
}
