//! Handle tables: the pointers handed to C are keys, never dereferenced, so a NULL,
//! stale or made-up handle is an error code, not a crash.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{Error, PWIFI_ERR_INVALID_HANDLE};

/// Keys are unique across all tables and never reused; they look like aligned pointers.
static NEXT_KEY: AtomicUsize = AtomicUsize::new(0x5157_0000);

/// Live objects of one kind, by key.
pub(crate) struct Table<T> {
    kind: &'static str,
    objects: Mutex<Option<HashMap<usize, Arc<T>>>>,
}

impl<T> Table<T> {
    pub(crate) const fn new(kind: &'static str) -> Self {
        Self { kind, objects: Mutex::new(None) }
    }

    fn objects(&self) -> std::sync::MutexGuard<'_, Option<HashMap<usize, Arc<T>>>> {
        self.objects.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores `object`; returns its handle.
    pub(crate) fn insert<H>(&self, object: T) -> *mut H {
        let key = NEXT_KEY.fetch_add(16, Ordering::Relaxed);
        self.objects().get_or_insert_with(HashMap::new).insert(key, Arc::new(object));
        key as *mut H
    }

    /// The object of `handle`.
    pub(crate) fn get<H>(&self, handle: *const H, argument: &str) -> Result<Arc<T>, Error> {
        if handle.is_null() {
            return Err(Error::null(argument));
        }
        let key = handle as usize;
        self.objects().as_ref().and_then(|objects| objects.get(&key).cloned()).ok_or_else(|| self.invalid(argument))
    }

    /// Removes the object of `handle` and returns it.
    pub(crate) fn remove<H>(&self, handle: *const H, argument: &str) -> Result<Arc<T>, Error> {
        if handle.is_null() {
            return Err(Error::null(argument));
        }
        let key = handle as usize;
        self.objects().as_mut().and_then(|objects| objects.remove(&key)).ok_or_else(|| self.invalid(argument))
    }

    fn invalid(&self, argument: &str) -> Error {
        Error::new(PWIFI_ERR_INVALID_HANDLE, format!("`{argument}` is not a live {} handle", self.kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Opaque;

    #[test]
    fn null_stale_and_made_up_handles_are_errors() {
        let table: Table<u32> = Table::new("thing");
        let handle: *mut Opaque = table.insert(7);
        assert_eq!(*table.get(handle, "h").unwrap(), 7);
        assert_eq!(table.get(std::ptr::null::<Opaque>(), "h").unwrap_err().code, crate::error::PWIFI_ERR_NULL);
        let made_up = (handle as usize + 8) as *const Opaque;
        assert_eq!(table.get(made_up, "h").unwrap_err().code, PWIFI_ERR_INVALID_HANDLE);
        assert_eq!(*table.remove(handle, "h").unwrap(), 7);
        assert_eq!(table.get(handle, "h").unwrap_err().code, PWIFI_ERR_INVALID_HANDLE);
        assert_eq!(table.remove(handle, "h").unwrap_err().code, PWIFI_ERR_INVALID_HANDLE);
    }
}
