//! A Wi-Fi interface of the application's: a table of C functions the handler scans,
//! connects and disconnects through.

use std::ffi::c_void;
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use proxy_wifi::build_bss_entry;
use proxy_wifi::protocol::{BssEntry, Ssid, StatusCode};
use proxy_wifi::{ConnectParams, EventSink, InterfaceError, InterfaceEvent, ScanResults, ScanStatus};
use proxy_wifi::{ConnectedNetwork, InterfaceId, WifiInterface};

use crate::callback::{UserData, enter, with_sink};
use crate::error::Error;
use crate::types::{
    PWIFI_IFACE_NOT_FOUND, PWIFI_IFACE_OK, PWIFI_IFACE_REJECTED, PWIFI_IFACE_TIMED_OUT, PWIFI_IFACE_UNAVAILABLE,
    PWIFI_IFACE_WRONG_KEY, auth_to_c, network_from_c, pwifi_connect_params, pwifi_iface_result, pwifi_network,
};

/// Where a scan callback puts the BSSs it sees (`pwifi_scan_results_add`); valid during
/// that callback only, on its thread.
pub struct pwifi_scan_results {
    pub(crate) entries: Vec<BssEntry>,
}

/// The functions of an application interface. `scan`, `connect` and `disconnect` are
/// required; `connection_to` and `release` may be NULL.
///
/// Thread: each function runs on a blocking thread of the service's runtime and may
/// block (the service gives up waiting after 10 s for scan and connect, 5 s for
/// disconnect, and answers the guest with a failure). Calls to one interface are
/// serialized: never two at once, never re-entrantly. A function may call the
/// `pwifi_service_interface_*` event functions and `pwifi_scan_results_add` (scan only);
/// it must not call `pwifi_service_stop` or `pwifi_service_free`, nor unwind.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct pwifi_interface_vtable {
    /// Scans (for `ssid` when `ssid_len` > 0, for every network otherwise) and adds
    /// what is visible now with `pwifi_scan_results_add(results, ...)`. Returns a
    /// `PWIFI_IFACE_*` code.
    pub scan: Option<
        unsafe extern "C" fn(
            user_data: *mut c_void,
            ssid: *const u8,
            ssid_len: usize,
            results: *mut pwifi_scan_results,
        ) -> pwifi_iface_result,
    >,
    /// Connects to `params` for the guest; on `PWIFI_IFACE_OK` fills `connected` with
    /// the network joined.
    pub connect: Option<
        unsafe extern "C" fn(
            user_data: *mut c_void,
            params: *const pwifi_connect_params,
            connected: *mut pwifi_network,
        ) -> pwifi_iface_result,
    >,
    /// Ends the connection made for the guest.
    pub disconnect: Option<unsafe extern "C" fn(user_data: *mut c_void) -> pwifi_iface_result>,
    /// Optional: if the host is connected to `ssid` on this interface, fills `network`
    /// and returns true (the guest then mirrors that connection). NULL: never.
    pub connection_to: Option<
        unsafe extern "C" fn(
            user_data: *mut c_void,
            ssid: *const u8,
            ssid_len: usize,
            network: *mut pwifi_network,
        ) -> bool,
    >,
    /// Optional: called once when the library no longer uses `user_data` (after the
    /// interface was removed or every service and config holding it was freed).
    pub release: Option<unsafe extern "C" fn(user_data: *mut c_void)>,
}

/// The application's table and data, shared by the configs and services using it.
pub(crate) struct InterfaceFunctions {
    table: pwifi_interface_vtable,
    user_data: UserData,
    calls: Mutex<()>,
}

impl InterfaceFunctions {
    pub(crate) fn new(table: *const pwifi_interface_vtable, user_data: *mut c_void) -> Result<Arc<Self>, Error> {
        if table.is_null() {
            return Err(Error::null("vtable"));
        }
        // SAFETY: non-null; the caller gives a readable table (copied here).
        let table = unsafe { *table };
        if table.scan.is_none() || table.connect.is_none() || table.disconnect.is_none() {
            return Err(Error::null("vtable->scan, vtable->connect and vtable->disconnect (all three are required)"));
        }
        Ok(Arc::new(Self { table, user_data: UserData(user_data), calls: Mutex::new(()) }))
    }

    fn serialized<R>(&self, call: impl FnOnce() -> R) -> R {
        let _one_at_a_time = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        enter(call)
    }

    fn scan(&self, ssid: Option<Ssid>) -> Result<ScanResults, InterfaceError> {
        let scan = self.table.scan.expect("checked when added");
        let mut results = pwifi_scan_results { entries: Vec::new() };
        let (data, len) = ssid.as_ref().map_or((std::ptr::null(), 0), |s| (s.as_bytes().as_ptr(), s.len()));
        let code = self.serialized(|| {
            // SAFETY: the application's function; `results` is a live callback-scoped sink
            // and the SSID bytes outlive the call.
            with_sink(&mut results, |sink| unsafe { scan(self.user_data.0, data, len, sink) })
        });
        check(code, ssid)?;
        Ok(ScanResults { bss: results.entries, status: ScanStatus::Completed })
    }

    fn connect(&self, params: &ConnectParams) -> Result<ConnectedNetwork, InterfaceError> {
        let connect = self.table.connect.expect("checked when added");
        let key = params.request.key.expose_secret();
        let args = pwifi_connect_params {
            ssid: params.ssid.as_bytes().as_ptr(),
            ssid_len: params.ssid.len(),
            bssid: params.bssid.0,
            auth: auth_to_c(params.auth_algorithm()),
            key: key.as_ptr(),
            key_len: key.len(),
        };
        let mut connected = pwifi_network { ssid: [0; 32], ssid_len: 0, bssid: [0; 6], auth: args.auth };
        // SAFETY: the application's function; `args` (and the bytes it points to) and
        // `connected` outlive the call.
        let code = self.serialized(|| unsafe { connect(self.user_data.0, &args, &mut connected) });
        check(code, Some(params.ssid))?;
        network_from_c(&connected).map_err(|e| InterfaceError::Backend(format!("connect callback: {}", e.message)))
    }

    fn disconnect(&self) -> Result<(), InterfaceError> {
        let disconnect = self.table.disconnect.expect("checked when added");
        // SAFETY: the application's function, given its own `user_data`.
        let code = self.serialized(|| unsafe { disconnect(self.user_data.0) });
        check(code, None)
    }

    fn connection_to(&self, ssid: &Ssid) -> Option<ConnectedNetwork> {
        let connection_to = self.table.connection_to?;
        let mut network = pwifi_network { ssid: [0; 32], ssid_len: 0, bssid: [0; 6], auth: 0 };
        // SAFETY: the application's function; the SSID bytes and `network` outlive the call.
        let connected = self.serialized(|| unsafe {
            connection_to(self.user_data.0, ssid.as_bytes().as_ptr(), ssid.len(), &mut network)
        });
        if !connected {
            return None;
        }
        network_from_c(&network).map_err(|e| tracing::warn!("connection_to callback: {}", e.message)).ok()
    }
}

impl Drop for InterfaceFunctions {
    fn drop(&mut self) {
        if let Some(release) = self.table.release {
            // SAFETY: the application's function, called once, when nothing uses `user_data` anymore.
            enter(|| unsafe { release(self.user_data.0) });
        }
    }
}

/// The error for an interface result code.
fn check(code: pwifi_iface_result, ssid: Option<Ssid>) -> Result<(), InterfaceError> {
    let ssid = ssid.unwrap_or_else(|| Ssid::new(b"").expect("empty SSID"));
    match code {
        PWIFI_IFACE_OK => Ok(()),
        PWIFI_IFACE_NOT_FOUND => Err(InterfaceError::NetworkNotFound(ssid)),
        PWIFI_IFACE_REJECTED => Err(InterfaceError::Rejected {
            status: StatusCode::UNSPECIFIED_FAILURE,
            reason: "the application interface rejected the connection".into(),
        }),
        PWIFI_IFACE_UNAVAILABLE => Err(InterfaceError::Unavailable("the application interface is unavailable".into())),
        PWIFI_IFACE_WRONG_KEY => {
            Err(InterfaceError::WrongKey("the application interface says the key is wrong".into()))
        }
        PWIFI_IFACE_TIMED_OUT => Err(InterfaceError::TimedOut("the application interface timed out".into())),
        other => Err(InterfaceError::Backend(format!("the application interface failed (code {other})"))),
    }
}

/// One application interface in one service.
pub(crate) struct CInterface {
    id: InterfaceId,
    functions: Arc<InterfaceFunctions>,
    events: OnceLock<EventSink>,
}

impl CInterface {
    pub(crate) fn new(id: InterfaceId, functions: Arc<InterfaceFunctions>) -> Arc<Self> {
        Arc::new(Self { id, functions, events: OnceLock::new() })
    }

    /// Sends a host event of this interface to the service.
    pub(crate) fn emit(&self, event: InterfaceEvent) -> Result<(), Error> {
        match self.events.get() {
            Some(events) => {
                events.send(event);
                Ok(())
            }
            None => Err(Error::state("the interface is not attached to the service yet; retry shortly")),
        }
    }
}

async fn blocking<R: Send + 'static>(
    functions: &Arc<InterfaceFunctions>,
    call: impl FnOnce(&InterfaceFunctions) -> Result<R, InterfaceError> + Send + 'static,
) -> Result<R, InterfaceError> {
    let functions = functions.clone();
    match tokio::task::spawn_blocking(move || call(&functions)).await {
        Ok(result) => result,
        Err(error) => Err(InterfaceError::Backend(format!("application interface call ended abnormally: {error}"))),
    }
}

#[async_trait]
impl WifiInterface for CInterface {
    fn id(&self) -> InterfaceId {
        self.id
    }

    fn attach(&self, events: EventSink) {
        let _ = self.events.set(events);
    }

    async fn connection_to(&self, ssid: &Ssid) -> Option<ConnectedNetwork> {
        let ssid = *ssid;
        blocking(&self.functions, move |f| Ok(f.connection_to(&ssid))).await.ok().flatten()
    }

    async fn scan(&self, ssid: Option<Ssid>) -> Result<ScanResults, InterfaceError> {
        blocking(&self.functions, move |f| f.scan(ssid)).await
    }

    async fn connect(&self, params: &ConnectParams) -> Result<ConnectedNetwork, InterfaceError> {
        let params = params.clone();
        blocking(&self.functions, move |f| f.connect(&params)).await
    }

    async fn disconnect(&self) -> Result<(), InterfaceError> {
        blocking(&self.functions, |f| f.disconnect()).await
    }
}

/// A scan entry from the application's description.
///
/// # Safety
/// `bss.ssid` must point to `bss.ssid_len` readable bytes.
pub(crate) unsafe fn bss_entry(bss: &crate::types::pwifi_bss) -> Result<BssEntry, Error> {
    // SAFETY: forwarded from the caller.
    let ssid = unsafe { crate::types::ssid(bss.ssid, bss.ssid_len, "bss->ssid") }?;
    let auth = crate::types::auth_from_c(bss.auth)?;
    Ok(build_bss_entry(&ssid, proxy_wifi::protocol::Bssid(bss.bssid), auth, bss.frequency_mhz, bss.rssi_dbm))
}
