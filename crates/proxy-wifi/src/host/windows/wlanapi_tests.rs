//! The system's `wlanapi.dll`, called for real through [`WlanClient`] (Windows builds only;
//! `test-windows` runs them under Wine). What each call is proven to do where, and what
//! only the fake shows: `docs/windows.md`.
//!
//! Wine 8's WLAN service implements `WlanOpenHandle`, `WlanEnumInterfaces` (no interface),
//! `WlanFreeMemory` and `WlanCloseHandle` (16 handles per process); it answers `WlanScan`,
//! `WlanGetAvailableNetworkList`, `WlanQueryInterface` and `WlanRegisterNotification` with
//! `ERROR_CALL_NOT_IMPLEMENTED`; `WlanGetNetworkBssList`, `WlanConnect` and `WlanDisconnect`
//! are bare stubs there (calling one aborts the process), so they are not called under Wine.

use std::sync::Arc;

use proxy_wifi_protocol::Ssid;
use uuid::Uuid;

use super::api::{WlanApi, WlanError, win32};
use super::ffi::WlanClient;

/// Set by `test-windows` for test binaries it runs under Wine.
fn under_wine() -> bool {
    std::env::var_os("PROXY_WIFI_UNDER_WINE").is_some()
}

/// Says, past the test harness's output capture (so that it shows in every run's log),
/// which case is skipped and why.
fn skipped(what: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED ({what}): {why}");
}

/// An interface no machine has.
const NO_SUCH_INTERFACE: Uuid = Uuid::from_u128(0x0bad_0bad_0bad_4bad_8bad_0bad_0bad_0bad);

/// Opens the real client; `None` (and says so) on a Windows without the WLAN service.
fn open() -> Option<WlanClient> {
    match WlanClient::open() {
        Ok(client) => Some(client),
        Err(error)
            if !under_wine() && matches!(error.code, win32::ERROR_MOD_NOT_FOUND | win32::ERROR_SERVICE_NOT_ACTIVE) =>
        {
            skipped("the real WLAN API", &format!("this Windows has no WLAN service ({error})"));
            None
        }
        Err(error) => panic!("the WLAN client does not open: {error}"),
    }
}

/// Checks that `result` failed in `function`, and with Wine's "not implemented" under Wine.
fn assert_failed_in<T: std::fmt::Debug>(result: Result<T, WlanError>, function: &str) {
    let error = result.expect_err(function);
    assert_eq!(error.function, function, "{error}");
    assert_ne!(error.code, win32::ERROR_SUCCESS);
    let text = error.to_string();
    assert!(text.starts_with(&format!("{function} failed with Win32 error {}", error.code)), "{text}");
    if under_wine() {
        assert_eq!(error.code, win32::ERROR_CALL_NOT_IMPLEMENTED, "{text}");
        assert!(text.ends_with("(not implemented by this system's wlanapi.dll)"), "{text}");
    }
}

#[test]
fn open_enumerate_free_and_close_for_real() {
    // WlanOpenHandle (API version 2), with the DLL loaded from System32 and all eleven
    // functions resolved.
    let Some(client) = open() else { return };
    // WlanEnumInterfaces: the returned block is decoded, then freed by WlanFreeMemory.
    let interfaces = client.enum_interfaces().expect("WlanEnumInterfaces");
    for interface in &interfaces {
        assert!(!interface.guid.is_nil(), "{interface:?}");
    }
    if under_wine() {
        assert!(interfaces.is_empty(), "Wine's WLAN service has no interface: {interfaces:?}");
    }
    for _ in 0..200 {
        assert_eq!(client.enum_interfaces().expect("WlanEnumInterfaces").len(), interfaces.len());
    }
    drop(client);
    // WlanCloseHandle: each dropped client gives its handle back (Wine has 16 per process;
    // 40 clients one after the other only open if every one was closed).
    for i in 0..40 {
        let client = WlanClient::open().unwrap_or_else(|e| panic!("client {i}: {e}"));
        assert_eq!(client.enum_interfaces().expect("WlanEnumInterfaces").len(), interfaces.len());
    }
}

#[test]
fn calls_on_an_unknown_interface_fail_with_their_name_and_win32_error() {
    let Some(client) = open() else { return };
    let ssid = Ssid::new(b"proxy-wifi-test").unwrap();
    assert_failed_in(client.scan(NO_SUCH_INTERFACE, Some(&ssid)), "WlanScan");
    assert_failed_in(client.available_networks(NO_SUCH_INTERFACE), "WlanGetAvailableNetworkList");
    assert_failed_in(client.current_connection(NO_SUCH_INTERFACE), "WlanQueryInterface");
    if under_wine() {
        skipped(
            "WlanGetNetworkBssList, WlanConnect and WlanDisconnect called for real",
            "they are bare stubs in Wine 8 (calling one aborts the process); the fake WLAN service stands in",
        );
        return;
    }
    assert_failed_in(client.bss_list(NO_SUCH_INTERFACE), "WlanGetNetworkBssList");
    assert_failed_in(client.disconnect(NO_SUCH_INTERFACE), "WlanDisconnect");
    // The interface is checked before the profile: any profile text does.
    assert_failed_in(client.connect(NO_SUCH_INTERFACE, "<WLANProfile/>", None), "WlanConnect");
}

#[test]
fn notifications_register_and_unregister_for_real() {
    let Some(client) = open() else { return };
    let registered = client.register_notifications(Arc::new(|_| {}));
    if under_wine() {
        assert_failed_in(registered, "WlanRegisterNotification");
        skipped(
            "WLAN notification delivery for real",
            "WlanRegisterNotification is not implemented in Wine 8 (error 120); the fake WLAN service stands in",
        );
        return;
    }
    registered.expect("WlanRegisterNotification");
    client.unregister_notifications().expect("WlanRegisterNotification(NONE)");
}
