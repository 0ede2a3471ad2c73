//! Windows host backend: the host's Wi-Fi through the WLAN service (`wlanapi.dll`).
//!
//! Everything that decides is plain Rust, compiled and tested on every platform:
//!
//! * [`api`]: the [`WlanApi`] trait, one method per WLAN function used, with plain values;
//! * [`layout`]: decoding of the memory blocks WLAN functions return, from bytes;
//! * [`security`]: conversion of BSS entries for the guest and masking of the networks it
//!   cannot join itself;
//! * [`profile`]: the temporary profile XML a connect request becomes;
//! * [`interface`]: [`WlanInterface`], a [`WifiInterface`](crate::WifiInterface) per host
//!   interface (scan, connect, disconnect, host events);
//! * [`backend`]: [`WlanBackend`], the [`HostBackend`](crate::host::HostBackend) that
//!   registers the interfaces and follows their arrival and removal.
//!
//! Only the client of `wlanapi.dll` (`ffi`, `cfg(windows)`) is platform code: it loads the
//! DLL at run time, calls the functions, frees what they return and turns the returned
//! blocks into byte slices for [`layout`]. A fake of the API (`fake`, for tests or with
//! the `fake-wlan` feature) reproduces the service's behaviour for the tests.
//!
//! Use: `Service::builder(transport).host_backend(Box::new(WlanBackend::open()))`. With no
//! WLAN service (Windows Server without the Wireless LAN feature, or another system), the
//! backend logs it and the service serves the fake networks only.

pub mod api;
pub mod backend;
#[cfg(all(windows, feature = "etw"))]
pub mod etw;
#[cfg(any(test, feature = "fake-wlan"))]
pub mod fake;
#[cfg(windows)]
mod ffi;
pub mod interface;
pub mod layout;
pub mod profile;
pub mod security;

#[cfg(test)]
mod service_tests;
#[cfg(test)]
mod test_data;
#[cfg(test)]
mod tests;
#[cfg(all(test, windows))]
mod wlanapi_tests;

pub use backend::WlanBackend;
