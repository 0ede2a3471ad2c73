//! `pwifi_service`: start, stop, status, simulation events, run-time interfaces.

use std::collections::HashMap;
use std::ffi::{CString, c_char, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use proxy_wifi::HostNetworkKind;
use proxy_wifi::InterfaceEvent;
use proxy_wifi::{InterfaceId, OperationMode, ScanMode, Service, ServiceError, ServiceHandle};

use crate::callback::{in_callback, with_sink};
use crate::config::{CONFIGS, Config, HostBackendChoice, pwifi_config, pwifi_fake_networks};
use crate::error::{Error, PWIFI_ERR_NOT_FOUND, PWIFI_ERR_RUNTIME, PWIFI_ERR_TRANSPORT, guard, pwifi_result};
use crate::handles::Table;
use crate::interface::{CInterface, InterfaceFunctions, pwifi_interface_vtable};
use crate::observer::CObserver;
use crate::types::{
    PWIFI_HOST_NETWORK_OPEN, PWIFI_HOST_NETWORK_PSK, PWIFI_MODE_HOST, PWIFI_MODE_SIMULATED,
    PWIFI_SCAN_MODE_ASYNCHRONOUS, PWIFI_SCAN_MODE_SYNCHRONOUS, auth_to_c, interface_id_from_c, network_from_c,
    pwifi_host_network, pwifi_mode, pwifi_network, pwifi_scan_mode,
};

/// A running (or stopped) service (opaque). Start with `pwifi_service_start`, free with
/// `pwifi_service_free`. Its functions may be called from any thread, concurrently.
pub struct pwifi_service {
    _private: [u8; 0],
}

pub(crate) struct ServiceEntry {
    pub(crate) handle: ServiceHandle,
    mode: OperationMode,
    running: AtomicBool,
    interfaces: Mutex<HashMap<InterfaceId, Arc<CInterface>>>,
}

static SERVICES: Table<ServiceEntry> = Table::new("pwifi_service");

pub(crate) fn lookup(service: *const pwifi_service) -> Result<Arc<ServiceEntry>, Error> {
    SERVICES.get(service, "service")
}

fn not_from_callback(function: &str) -> Result<(), Error> {
    if in_callback() {
        return Err(Error::state(format!(
            "{function} cannot be called from a callback of the service (it waits for the callbacks to end)"
        )));
    }
    Ok(())
}

/// The host backend `choice` names on this platform, if one can be opened (why not is logged).
fn host_backend(choice: &HostBackendChoice) -> Option<Box<dyn proxy_wifi::HostBackend>> {
    #[cfg(windows)]
    return match choice {
        HostBackendChoice::None => None,
        _ => Some(Box::new(proxy_wifi::WlanBackend::open())),
    };
    #[cfg(target_os = "linux")]
    {
        use proxy_wifi::{BackendChoice, select_backend};
        let linux_choice = match choice {
            HostBackendChoice::None => return None,
            HostBackendChoice::Auto => BackendChoice::Auto,
            HostBackendChoice::WpaSupplicant(dir) => BackendChoice::WpaSupplicant { ctrl_dir: dir.clone() },
            HostBackendChoice::NetworkManager => BackendChoice::NetworkManager,
        };
        match select_backend(linux_choice) {
            Ok(backend) => Some(backend),
            Err(error) => {
                tracing::warn!(%error, "no host Wi-Fi backend; serving the application's interfaces and fake networks");
                None
            }
        }
    }
    #[cfg(not(any(windows, target_os = "linux")))]
    {
        let _ = choice;
        None
    }
}

fn build(config: &Config) -> (proxy_wifi::ServiceBuilder, HashMap<InterfaceId, Arc<CInterface>>) {
    let mut builder = Service::builder(config.transport.clone()).mode(config.mode);
    if let Some(provider) = config.fake_networks.clone() {
        builder = builder.fake_networks(move || {
            let _one_at_a_time = provider.calls.lock().unwrap_or_else(|p| p.into_inner());
            let mut list = pwifi_fake_networks { networks: Vec::new() };
            // SAFETY: the application's callback; `list` is a live callback-scoped handle.
            with_sink(&mut list, |sink| unsafe { (provider.callback)(provider.user_data.0, sink) });
            list.networks
        });
    }
    if let Some(observer) = &config.observer {
        builder = builder.observer(Arc::new(CObserver { table: observer.table, user_data: observer.user_data }));
    }
    let mut interfaces = HashMap::new();
    for (id, functions) in &config.interfaces {
        let interface = CInterface::new(*id, functions.clone());
        interfaces.insert(*id, interface.clone());
        builder = builder.host_interface(interface);
    }
    builder = builder
        .guest_abi(config.guest_abi)
        .observer_callback_deadline(config.callback_deadline)
        .allow_tcp_host_mode(config.allow_tcp_host_mode);
    if config.mode == OperationMode::Host {
        if let Some(backend) = host_backend(&config.host_backend) {
            builder = builder.host_backend(backend);
        }
    }
    (builder, interfaces)
}

/// Starts a service with `config`: binds the transport and serves on the service's own
/// threads (a runtime thread, 2 workers, an observer thread when an observer is set).
/// The config stays yours and may be freed or reused at once.
///
/// Ownership: `*out` is yours; free it with `pwifi_service_free`. Thread: any, not from
/// a callback. Blocks until the transport is bound (or failed: `PWIFI_ERR_TRANSPORT`,
/// with the address and cause in `pwifi_last_error`). Host mode over TCP is refused
/// (`PWIFI_ERR_INVALID_ARGUMENT`) unless the address is loopback and
/// `pwifi_config_allow_tcp_host_mode` was called.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_service_start(config: *const pwifi_config, out: *mut *mut pwifi_service) -> pwifi_result {
    guard("pwifi_service_start", || {
        if out.is_null() {
            return Err(Error::null("out"));
        }
        let config = CONFIGS.get(config, "config")?;
        let (builder, interfaces, mode) = {
            let config = config.lock().unwrap_or_else(|p| p.into_inner());
            let (builder, interfaces) = build(&config);
            (builder, interfaces, config.mode)
        };
        let handle = builder.start().map_err(|error| match error {
            ServiceError::Transport { .. } => Error::new(PWIFI_ERR_TRANSPORT, error.to_string()),
            ServiceError::Runtime(_) => Error::new(PWIFI_ERR_RUNTIME, error.to_string()),
            ServiceError::HostMode(_) => Error::invalid(error.to_string()),
        })?;
        let entry = ServiceEntry { handle, mode, running: AtomicBool::new(true), interfaces: Mutex::new(interfaces) };
        let handle = SERVICES.insert(entry);
        // SAFETY: non-null; the caller gives a writable pointer.
        unsafe { *out = handle };
        Ok(())
    })
}

/// Stops the service: closes the listener, lets in-flight requests finish, delivers
/// queued notifications (2 s at most), waits for the callbacks to end and joins the
/// service's threads. Idempotent. The handle stays valid (status still readable) until
/// `pwifi_service_free`.
///
/// Thread: any, not from a callback (`PWIFI_ERR_STATE`). Blocks (typically milliseconds;
/// bounded by the interface deadlines when an operation is in flight).
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_service_stop(service: *mut pwifi_service) -> pwifi_result {
    guard("pwifi_service_stop", || {
        not_from_callback("pwifi_service_stop")?;
        let entry = lookup(service)?;
        entry.handle.stop();
        entry.running.store(false, Ordering::Release);
        Ok(())
    })
}

/// Stops the service if it runs (as `pwifi_service_stop`) and frees the handle. NULL is
/// accepted (no-op). After it, no callback of this service runs anymore.
///
/// Thread: any, not from a callback (`PWIFI_ERR_STATE`, and the handle stays valid). Blocks as `pwifi_service_stop`.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_service_free(service: *mut pwifi_service) -> pwifi_result {
    guard("pwifi_service_free", || {
        if service.is_null() {
            return Ok(());
        }
        not_from_callback("pwifi_service_free")?;
        let entry = SERVICES.remove(service, "service")?;
        entry.handle.stop();
        Ok(())
    })
}

/// A snapshot of the service's state (counters since start).
#[repr(C)]
#[derive(Default)]
pub struct pwifi_service_status {
    /// `PWIFI_MODE_*`.
    pub mode: pwifi_mode,
    /// False once `pwifi_service_stop` was called.
    pub running: bool,
    /// Interfaces in use (fake networks, simulated, host and application ones).
    pub interfaces: u64,
    /// Guests that made a request.
    pub guests: u64,
    /// Guests connected now.
    pub connected_guests: u64,
    /// Scan requests handled.
    pub scan_requests: u64,
    /// Connect requests handled.
    pub connect_requests: u64,
    /// Disconnect requests handled.
    pub disconnect_requests: u64,
    /// Request connections accepted.
    pub requests_accepted: u64,
    /// Requests answered.
    pub requests_answered: u64,
    /// Malformed requests answered with INVALID.
    pub requests_invalid: u64,
    /// Notifications delivered to guests.
    pub notifications_sent: u64,
    /// Notifications dropped because a guest's queue was full.
    pub notifications_dropped: u64,
    /// Notifications that could not be delivered.
    pub notifications_failed: u64,
    /// Signal notifications replaced in a guest's queue by a newer one.
    pub notifications_coalesced: u64,
}

/// Fills `*out` with the service's state now.
///
/// Thread: any, also from callbacks. Does not block (takes a short lock).
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_service_get_status(
    service: *const pwifi_service,
    out: *mut pwifi_service_status,
) -> pwifi_result {
    guard("pwifi_service_get_status", || {
        if out.is_null() {
            return Err(Error::null("out"));
        }
        let entry = lookup(service)?;
        let status = entry.handle.status();
        let board = &status.board;
        let transport = &status.transport;
        let snapshot = pwifi_service_status {
            mode: match entry.mode {
                OperationMode::Host => PWIFI_MODE_HOST,
                OperationMode::Simulated => PWIFI_MODE_SIMULATED,
            },
            running: entry.running.load(Ordering::Acquire),
            interfaces: board.interfaces.len() as u64,
            guests: board.guests.len() as u64,
            connected_guests: board.guests.values().filter(|g| g.connection.is_some()).count() as u64,
            scan_requests: board.scan_requests,
            connect_requests: board.connect_requests,
            disconnect_requests: board.disconnect_requests,
            requests_accepted: transport.accepted,
            requests_answered: transport.answered,
            requests_invalid: transport.invalid,
            notifications_sent: transport.notifications_sent,
            notifications_dropped: transport.notifications_dropped,
            notifications_failed: transport.notifications_failed,
            notifications_coalesced: transport.notifications_coalesced,
        };
        // SAFETY: non-null; the caller gives a writable struct.
        unsafe { *out = snapshot };
        Ok(())
    })
}

/// The full status as JSON (UTF-8, NUL-terminated, `*len` bytes without the NUL): every
/// guest with its request times, session, connection and notifications, the interfaces by name, and all counters.
///
/// Ownership: `*json` is yours; free it with `pwifi_string_free`. Thread: any, also
/// from callbacks. Does not block.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_service_status_json(
    service: *const pwifi_service,
    json: *mut *mut c_char,
    len: *mut usize,
) -> pwifi_result {
    guard("pwifi_service_status_json", || {
        if json.is_null() {
            return Err(Error::null("json"));
        }
        let entry = lookup(service)?;
        let text = serde_json::to_string(&entry.handle.status())
            .map_err(|e| Error::new(PWIFI_ERR_RUNTIME, format!("status not serializable: {e}")))?;
        let length = text.len();
        let text = CString::new(text).map_err(|_| Error::new(PWIFI_ERR_RUNTIME, "status JSON contains NUL"))?;
        // SAFETY: non-null out-pointers given by the caller (`len` may be NULL).
        unsafe {
            *json = text.into_raw();
            if !len.is_null() {
                *len = length;
            }
        }
        Ok(())
    })
}

/// Frees a string returned by this library (`pwifi_service_status_json`). NULL is a no-op.
///
/// Thread: any. Does not block.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_string_free(text: *mut c_char) {
    if text.is_null() {
        return;
    }
    // SAFETY: `text` came from `CString::into_raw` in this library (the documented contract).
    drop(unsafe { CString::from_raw(text) });
}

/// The bound request port of a TCP transport (useful after asking for port 0).
///
/// Thread: any. Does not block. `PWIFI_ERR_STATE` for other transports.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_service_tcp_port(service: *const pwifi_service, port: *mut u16) -> pwifi_result {
    guard("pwifi_service_tcp_port", || {
        if port.is_null() {
            return Err(Error::null("port"));
        }
        let entry = lookup(service)?;
        let address = entry.handle.request_tcp_addr().ok_or_else(|| {
            Error::state(format!("the service listens on {}, not on TCP", entry.handle.request_address()))
        })?;
        // SAFETY: non-null; the caller gives a writable u16.
        unsafe { *port = address.port() };
        Ok(())
    })
}

fn simulation<R>(
    service: *const pwifi_service,
    act: impl FnOnce(&proxy_wifi::SimulationControl) -> Result<R, Error>,
) -> Result<R, Error> {
    let entry = lookup(service)?;
    let control = entry
        .handle
        .simulation()
        .ok_or_else(|| Error::state("the service is not in simulated mode (PWIFI_MODE_SIMULATED)"))?;
    act(control)
}

/// Simulation: the host joins a simulated network of the kind asked
/// (`PWIFI_HOST_NETWORK_*`); the observer's `on_host_connection` follows. `network` may
/// be NULL; else it receives the network joined.
///
/// Thread: any, also from observer callbacks. Does not block. `PWIFI_ERR_STATE` unless
/// in simulated mode.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_service_sim_host_connect(
    service: *mut pwifi_service,
    kind: pwifi_host_network,
    network: *mut pwifi_network,
) -> pwifi_result {
    guard("pwifi_service_sim_host_connect", || {
        let kind = match kind {
            PWIFI_HOST_NETWORK_OPEN => HostNetworkKind::Open,
            PWIFI_HOST_NETWORK_PSK => HostNetworkKind::Psk,
            other => {
                return Err(Error::invalid(format!(
                    "kind {other} is not PWIFI_HOST_NETWORK_OPEN (0) or PWIFI_HOST_NETWORK_PSK (1)"
                )));
            }
        };
        let joined = simulation(service, |control| {
            control.host_connect(kind).map_err(|e| Error::new(PWIFI_ERR_NOT_FOUND, e.to_string()))
        })?;
        if !network.is_null() {
            let mut out = pwifi_network { ssid: [0; 32], ssid_len: joined.ssid.len(), bssid: joined.bssid.0, auth: 0 };
            out.ssid[..joined.ssid.len()].copy_from_slice(joined.ssid.as_bytes());
            out.auth = auth_to_c(joined.auth);
            // SAFETY: non-null; the caller gives a writable struct.
            unsafe { *network = out };
        }
        Ok(())
    })
}

/// Simulation: the host leaves its network; connected guests are told, and the
/// observer's `on_host_disconnection` follows.
///
/// Thread: any, also from observer callbacks. Does not block. `PWIFI_ERR_STATE` unless
/// in simulated mode and connected.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_service_sim_host_disconnect(service: *mut pwifi_service) -> pwifi_result {
    guard("pwifi_service_sim_host_disconnect", || {
        simulation(service, |control| control.host_disconnect().map(drop).map_err(|e| Error::state(e.to_string())))
    })
}

/// Simulation: the link quality of the host's connection changes to `percent` (0–100);
/// connected guests get a signal notification.
///
/// Thread: any, also from observer callbacks. Does not block.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_service_sim_signal_quality(service: *mut pwifi_service, percent: u32) -> pwifi_result {
    guard("pwifi_service_sim_signal_quality", || {
        if percent > 100 {
            return Err(Error::invalid(format!("percent {percent} is above 100")));
        }
        simulation(service, |control| {
            control.set_signal_quality(percent);
            Ok(())
        })
    })
}

/// Simulation: sends the current scan results to the guests (a host scan finished).
///
/// Thread: any, also from observer callbacks. Does not block.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_service_sim_send_scan_results(service: *mut pwifi_service) -> pwifi_result {
    guard("pwifi_service_sim_send_scan_results", || {
        simulation(service, |control| {
            control.send_scan_results();
            Ok(())
        })
    })
}

/// Simulation: how scans are answered (`PWIFI_SCAN_MODE_*`).
///
/// Thread: any, also from observer callbacks. Does not block.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_service_sim_set_scan_mode(service: *mut pwifi_service, mode: pwifi_scan_mode) -> pwifi_result {
    guard("pwifi_service_sim_set_scan_mode", || {
        let mode = match mode {
            PWIFI_SCAN_MODE_SYNCHRONOUS => ScanMode::Synchronous,
            PWIFI_SCAN_MODE_ASYNCHRONOUS => ScanMode::Asynchronous,
            other => {
                return Err(Error::invalid(format!(
                    "mode {other} is not PWIFI_SCAN_MODE_SYNCHRONOUS (0) or PWIFI_SCAN_MODE_ASYNCHRONOUS (1)"
                )));
            }
        };
        simulation(service, |control| {
            control.set_scan_mode(mode);
            Ok(())
        })
    })
}

/// Adds an application interface to the running service (e.g. an adapter plugged in).
/// Same contract as `pwifi_config_add_interface`. The interface takes part in the
/// operations that start after it was added (asynchronously, within milliseconds).
///
/// Thread: any, also from observer callbacks. Does not block.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_service_add_interface(
    service: *mut pwifi_service,
    id: *const u8,
    vtable: *const pwifi_interface_vtable,
    user_data: *mut c_void,
) -> pwifi_result {
    guard("pwifi_service_add_interface", || {
        let id = interface_id_from_c(id, "id")?;
        let entry = lookup(service)?;
        let interface = {
            let mut interfaces = entry.interfaces.lock().unwrap_or_else(|p| p.into_inner());
            if interfaces.contains_key(&id) {
                return Err(Error::invalid(format!("interface id {id} is already in use by this service")));
            }
            // Made last: `release` is called only for interfaces that were added.
            let interface = CInterface::new(id, InterfaceFunctions::new(vtable, user_data)?);
            interfaces.insert(id, interface.clone());
            interface
        };
        entry.handle.add_interface(interface);
        Ok(())
    })
}

/// Removes an application interface from the running service; its `release` function
/// is called once the service no longer uses it.
///
/// Thread: any, also from observer callbacks. Does not block. `PWIFI_ERR_NOT_FOUND` for
/// an id that is not an application interface of this service.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_service_remove_interface(service: *mut pwifi_service, id: *const u8) -> pwifi_result {
    guard("pwifi_service_remove_interface", || {
        let id = interface_id_from_c(id, "id")?;
        let entry = lookup(service)?;
        let removed = entry.interfaces.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
        if removed.is_none() {
            return Err(Error::new(PWIFI_ERR_NOT_FOUND, format!("no application interface {id} in this service")));
        }
        entry.handle.remove_interface(id);
        Ok(())
    })
}

fn interface_event(service: *mut pwifi_service, id: *const u8, event: InterfaceEvent) -> Result<(), Error> {
    let id = interface_id_from_c(id, "id")?;
    let entry = lookup(service)?;
    let interface = entry
        .interfaces
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&id)
        .cloned()
        .ok_or_else(|| Error::new(PWIFI_ERR_NOT_FOUND, format!("no application interface {id} in this service")))?;
    interface.emit(event)
}

/// Event of an application interface: the host connected it to `network` (guests may
/// then mirror it; the observer's `on_host_connection` follows).
///
/// Thread: any, also from callbacks. Does not block.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_service_interface_host_connected(
    service: *mut pwifi_service,
    id: *const u8,
    network: *const pwifi_network,
) -> pwifi_result {
    guard("pwifi_service_interface_host_connected", || {
        if network.is_null() {
            return Err(Error::null("network"));
        }
        // SAFETY: non-null; a readable struct.
        let network = network_from_c(unsafe { &*network })?;
        interface_event(service, id, InterfaceEvent::HostConnected(network))
    })
}

/// Event of an application interface: the host left (or lost) its connection to
/// `ssid`; a guest mirroring it is disconnected.
///
/// Thread: any, also from callbacks. Does not block.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_service_interface_host_disconnected(
    service: *mut pwifi_service,
    id: *const u8,
    ssid: *const u8,
    ssid_len: usize,
) -> pwifi_result {
    guard("pwifi_service_interface_host_disconnected", || {
        // SAFETY: the caller gives `ssid_len` readable bytes.
        let ssid = unsafe { crate::types::ssid(ssid, ssid_len, "ssid") }?;
        interface_event(service, id, InterfaceEvent::HostDisconnected { ssid })
    })
}

/// Event of an application interface: the link quality of its connection is now
/// `percent` (0–100); connected guests get a signal notification.
///
/// Thread: any, also from callbacks. Does not block.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_service_interface_signal_quality(
    service: *mut pwifi_service,
    id: *const u8,
    percent: u32,
) -> pwifi_result {
    guard("pwifi_service_interface_signal_quality", || {
        if percent > 100 {
            return Err(Error::invalid(format!("percent {percent} is above 100")));
        }
        interface_event(service, id, InterfaceEvent::SignalQuality { percent })
    })
}
