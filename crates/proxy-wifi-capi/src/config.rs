//! `pwifi_config`: what a service is started with (transport, mode, fake networks,
//! observer, application interfaces).

use std::ffi::{c_char, c_void};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proxy_wifi::{FakeNetwork, GuestAbi, InterfaceId, OperationMode, TransportSettings};

use crate::callback::UserData;
use crate::error::{Error, pwifi_result};
use crate::handles::Table;
use crate::interface::{InterfaceFunctions, pwifi_interface_vtable};
use crate::observer::pwifi_observer;
use crate::types::{
    PWIFI_GUEST_ABI_CURRENT, PWIFI_GUEST_ABI_LEGACY, PWIFI_HOST_BACKEND_AUTO, PWIFI_HOST_BACKEND_NETWORK_MANAGER,
    PWIFI_HOST_BACKEND_NONE, PWIFI_HOST_BACKEND_WPA_SUPPLICANT, PWIFI_MODE_HOST, PWIFI_MODE_SIMULATED, pwifi_guest_abi,
    pwifi_host_backend, pwifi_mode, utf8,
};

/// Settings of a service to start (opaque). Create with `pwifi_config_new`, free with
/// `pwifi_config_free`. Not thread-safe to modify from two threads at once.
pub struct pwifi_config {
    _private: [u8; 0],
}

/// Where the fake-network callback puts its networks (`pwifi_fake_networks_add`);
/// valid during that callback only, on its thread.
pub struct pwifi_fake_networks {
    pub(crate) networks: Vec<FakeNetwork>,
}

/// The application's fake-network callback: adds the networks to simulate with
/// `pwifi_fake_networks_add(networks, ...)`.
///
/// Thread: a worker thread of the service, at each guest scan and connect; not
/// concurrently with itself (calls are serialized), but possibly while an observer
/// callback runs on the observer thread. It should return quickly (it holds up the
/// guest's request). It may call `pwifi_fake_networks_add` and `pwifi_last_error` only.
pub type pwifi_fake_network_provider =
    Option<unsafe extern "C" fn(user_data: *mut c_void, networks: *mut pwifi_fake_networks)>;

pub(crate) struct FakeProvider {
    pub(crate) callback: unsafe extern "C" fn(*mut c_void, *mut pwifi_fake_networks),
    pub(crate) user_data: UserData,
    pub(crate) calls: Mutex<()>,
}

pub(crate) struct ObserverEntry {
    pub(crate) table: pwifi_observer,
    pub(crate) user_data: UserData,
}

/// The host backend a `pwifi_config` asks for (host mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostBackendChoice {
    /// The platform's own.
    Auto,
    /// None.
    None,
    /// wpa_supplicant's control sockets (Linux).
    WpaSupplicant(Option<PathBuf>),
    /// NetworkManager (Linux).
    NetworkManager,
}

/// The contents of a `pwifi_config`.
pub(crate) struct Config {
    pub(crate) transport: TransportSettings,
    pub(crate) mode: OperationMode,
    pub(crate) host_backend: HostBackendChoice,
    pub(crate) guest_abi: GuestAbi,
    pub(crate) fake_networks: Option<Arc<FakeProvider>>,
    pub(crate) observer: Option<ObserverEntry>,
    pub(crate) interfaces: Vec<(InterfaceId, Arc<InterfaceFunctions>)>,
    pub(crate) callback_deadline: Duration,
    pub(crate) allow_tcp_host_mode: bool,
}

pub(crate) static CONFIGS: Table<Mutex<Config>> = Table::new("pwifi_config");

fn with_config(config: *mut pwifi_config, change: impl FnOnce(&mut Config) -> Result<(), Error>) -> Result<(), Error> {
    let config = CONFIGS.get(config, "config")?;
    let mut config = config.lock().unwrap_or_else(|p| p.into_inner());
    change(&mut config)
}

fn ip(text: &str, argument: &str) -> Result<IpAddr, Error> {
    text.parse().map_err(|_| {
        Error::invalid(format!("`{argument}` '{text}' is not an IP address (valid: e.g. 127.0.0.1, 0.0.0.0, ::1)"))
    })
}

/// Creates a config: TCP on 127.0.0.1 with ports 12345 (requests) and 12346
/// (notifications), simulated mode, no fake networks, no observer, no interface.
/// Host mode (`pwifi_config_set_mode`) runs over vsock, hybrid vsock or Hyper-V
/// sockets; over TCP only on loopback and after `pwifi_config_allow_tcp_host_mode`.
///
/// Ownership: `*out` is yours; free it with `pwifi_config_free`. Thread: any. Does not block.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_config_new(out: *mut *mut pwifi_config) -> pwifi_result {
    crate::error::guard("pwifi_config_new", || {
        if out.is_null() {
            return Err(Error::null("out"));
        }
        let handle = CONFIGS.insert(Mutex::new(Config {
            transport: TransportSettings::tcp_loopback(),
            mode: OperationMode::Simulated,
            host_backend: HostBackendChoice::Auto,
            guest_abi: GuestAbi::Current,
            fake_networks: None,
            observer: None,
            interfaces: Vec::new(),
            callback_deadline: proxy_wifi::limits::OBSERVER_CALLBACK_DEADLINE,
            allow_tcp_host_mode: false,
        }));
        // SAFETY: non-null; the caller gives a writable pointer.
        unsafe { *out = handle };
        Ok(())
    })
}

/// Frees a config. Services started from it are not affected. NULL is accepted (no-op).
///
/// Thread: any. Does not block (it may call interface `release` functions).
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_config_free(config: *mut pwifi_config) -> pwifi_result {
    crate::error::guard("pwifi_config_free", || {
        if config.is_null() {
            return Ok(());
        }
        CONFIGS.remove(config, "config").map(drop)
    })
}

/// TCP transport for one guest (tests, or a guest reached over IP): requests are
/// accepted on `listen_ip:request_port` (port 0 picks a free port, see
/// `pwifi_service_tcp_port`); notifications go to `guest_ip:notification_port`.
/// `guest_ip` may be NULL (length 0): the listen address, or loopback when listening on
/// 0.0.0.0 / ::. IPs are UTF-8 text with explicit lengths (no NUL needed).
///
/// Thread: any. Does not block.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_config_set_transport_tcp(
    config: *mut pwifi_config,
    listen_ip: *const c_char,
    listen_ip_len: usize,
    request_port: u16,
    guest_ip: *const c_char,
    guest_ip_len: usize,
    notification_port: u16,
) -> pwifi_result {
    crate::error::guard("pwifi_config_set_transport_tcp", || {
        // SAFETY: the caller gives `listen_ip_len` readable bytes.
        let listen = ip(unsafe { utf8(listen_ip, listen_ip_len, "listen_ip") }?, "listen_ip")?;
        let guest = if guest_ip_len == 0 {
            None
        } else {
            // SAFETY: the caller gives `guest_ip_len` readable bytes.
            Some(ip(unsafe { utf8(guest_ip, guest_ip_len, "guest_ip") }?, "guest_ip")?)
        };
        with_config(config, |c| {
            c.transport = TransportSettings::tcp(listen, request_port, guest, notification_port);
            Ok(())
        })
    })
}

/// TCP transport for any number of guests, each keyed by its source IP; notifications
/// go to that IP at `notification_port`.
///
/// Thread: any. Does not block.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_config_set_transport_tcp_any_guest(
    config: *mut pwifi_config,
    listen_ip: *const c_char,
    listen_ip_len: usize,
    request_port: u16,
    notification_port: u16,
) -> pwifi_result {
    crate::error::guard("pwifi_config_set_transport_tcp_any_guest", || {
        // SAFETY: the caller gives `listen_ip_len` readable bytes.
        let listen = ip(unsafe { utf8(listen_ip, listen_ip_len, "listen_ip") }?, "listen_ip")?;
        with_config(config, |c| {
            c.transport =
                TransportSettings::TcpMulti { listen: SocketAddr::new(listen, request_port), notification_port };
            Ok(())
        })
    })
}

/// vsock transport (Linux hosts: QEMU/KVM vhost-vsock). `cids` lists the accepted guest
/// context ids: one CID serves that guest; several serve each of them; `cid_count` 0
/// (with `cids` NULL) accepts any guest (CID 3 and up: the hypervisor, loopback and host
/// CIDs 0-2 are served only when listed).
///
/// Thread: any. Does not block. Starting fails with `PWIFI_ERR_TRANSPORT` where vsock is
/// not available.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_config_set_transport_vsock(
    config: *mut pwifi_config,
    cids: *const u32,
    cid_count: usize,
    request_port: u32,
    notification_port: u32,
) -> pwifi_result {
    crate::error::guard("pwifi_config_set_transport_vsock", || {
        let cids: Vec<u32> = if cid_count == 0 {
            Vec::new()
        } else if cids.is_null() {
            return Err(Error::null("cids"));
        } else {
            // SAFETY: non-null; the caller gives `cid_count` readable CIDs.
            unsafe { std::slice::from_raw_parts(cids, cid_count) }.to_vec()
        };
        with_config(config, |c| {
            c.transport = match cids.as_slice() {
                [cid] => TransportSettings::Vsock { guest_cid: *cid, request_port, notification_port },
                _ => {
                    let any_guest = cids.is_empty();
                    TransportSettings::VsockMulti { guest_cids: cids, any_guest, request_port, notification_port }
                }
            };
            Ok(())
        })
    })
}

/// A UTF-8 string with an explicit length.
#[repr(C)]
pub struct pwifi_str {
    /// The bytes (not NUL-terminated).
    pub data: *const c_char,
    /// Their number.
    pub len: usize,
}

/// Hybrid-vsock transport (Firecracker, cloud-hypervisor): one guest per VMM socket
/// path. Requests arrive on the Unix listener `<path>_<request_port>` the service
/// creates (mode 0600; anything at that path but a stale socket of this user is refused);
/// notifications connect to `<path>` and ask for `CONNECT <notification_port>`.
///
/// Thread: any. Does not block. Unix only (`PWIFI_ERR_TRANSPORT` at start elsewhere).
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_config_set_transport_hybrid_vsock(
    config: *mut pwifi_config,
    paths: *const pwifi_str,
    path_count: usize,
    request_port: u32,
    notification_port: u32,
) -> pwifi_result {
    crate::error::guard("pwifi_config_set_transport_hybrid_vsock", || {
        if path_count == 0 {
            return Err(Error::invalid("`path_count` is 0; give at least one VMM socket path"));
        }
        if paths.is_null() {
            return Err(Error::null("paths"));
        }
        // SAFETY: non-null; the caller gives `path_count` readable entries.
        let paths = unsafe { std::slice::from_raw_parts(paths, path_count) };
        let sockets = paths
            .iter()
            // SAFETY: each entry gives `len` readable bytes at `data`.
            .map(|p| unsafe { utf8(p.data, p.len, "paths[i]") }.map(PathBuf::from))
            .collect::<Result<Vec<_>, _>>()?;
        with_config(config, |c| {
            c.transport =
                TransportSettings::HybridVsock { sockets, request_port, notification_port, socket_group: None };
            Ok(())
        })
    })
}

/// Hyper-V socket transport (Windows hosts). `vm_id` (16 bytes, RFC 4122 order: the
/// GUID's Data1 most significant byte first) accepts only that VM; NULL accepts any VM.
///
/// Thread: any. Does not block. Windows only (`PWIFI_ERR_TRANSPORT` at start elsewhere).
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_config_set_transport_hyperv(
    config: *mut pwifi_config,
    vm_id: *const u8,
    request_port: u32,
    notification_port: u32,
) -> pwifi_result {
    crate::error::guard("pwifi_config_set_transport_hyperv", || {
        let transport = if vm_id.is_null() {
            TransportSettings::HyperVAny { request_port, notification_port }
        } else {
            // SAFETY: non-null; 16 readable bytes per the contract.
            let vm_id = uuid::Uuid::from_bytes(unsafe { *vm_id.cast::<[u8; 16]>() });
            TransportSettings::HyperV { vm_id, request_port, notification_port }
        };
        with_config(config, |c| {
            c.transport = transport;
            Ok(())
        })
    })
}

/// Host or simulated mode (`PWIFI_MODE_*`).
///
/// Thread: any. Does not block.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_config_set_mode(config: *mut pwifi_config, mode: pwifi_mode) -> pwifi_result {
    crate::error::guard("pwifi_config_set_mode", || {
        let mode = match mode {
            PWIFI_MODE_HOST => OperationMode::Host,
            PWIFI_MODE_SIMULATED => OperationMode::Simulated,
            other => {
                return Err(Error::invalid(format!(
                    "mode {other} is not PWIFI_MODE_HOST (0) or PWIFI_MODE_SIMULATED (1)"
                )));
            }
        };
        with_config(config, |c| {
            c.mode = mode;
            Ok(())
        })
    })
}

/// Whether host mode may run over a TCP transport on a loopback address (default false:
/// `pwifi_service_start` refuses it with `PWIFI_ERR_INVALID_ARGUMENT`). TCP cannot tell a
/// VM from any local process: with this, every local process may drive the host's Wi-Fi.
/// A non-loopback TCP address stays refused in host mode either way; vsock, hybrid vsock
/// and Hyper-V sockets need nothing.
///
/// Thread: any. Does not block.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_config_allow_tcp_host_mode(config: *mut pwifi_config, allow: bool) -> pwifi_result {
    crate::error::guard("pwifi_config_allow_tcp_host_mode", || {
        with_config(config, |c| {
            c.allow_tcp_host_mode = allow;
            Ok(())
        })
    })
}

/// Where host mode finds the host's Wi-Fi (`PWIFI_HOST_BACKEND_*`; default AUTO).
/// `ctrl_dir` (UTF-8, `ctrl_dir_len` bytes; NULL/0 for the default `/run/wpa_supplicant`)
/// is wpa_supplicant's control directory, for `PWIFI_HOST_BACKEND_WPA_SUPPLICANT` only.
/// The Linux backends are refused elsewhere (`PWIFI_ERR_INVALID_ARGUMENT`). A backend that
/// cannot be opened at start is logged, and the service runs with the application's
/// interfaces and fake networks.
///
/// Thread: any. Does not block.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_config_set_host_backend(
    config: *mut pwifi_config,
    backend: pwifi_host_backend,
    ctrl_dir: *const c_char,
    ctrl_dir_len: usize,
) -> pwifi_result {
    crate::error::guard("pwifi_config_set_host_backend", || {
        // SAFETY: the caller gives `ctrl_dir_len` readable bytes at `ctrl_dir`, or NULL/0.
        let dir = if ctrl_dir.is_null() || ctrl_dir_len == 0 {
            None
        } else {
            Some(PathBuf::from(unsafe { utf8(ctrl_dir, ctrl_dir_len, "ctrl_dir") }?))
        };
        if dir.is_some() && backend != PWIFI_HOST_BACKEND_WPA_SUPPLICANT {
            return Err(Error::invalid("`ctrl_dir` is for PWIFI_HOST_BACKEND_WPA_SUPPLICANT only"));
        }
        let choice = match backend {
            PWIFI_HOST_BACKEND_AUTO => HostBackendChoice::Auto,
            PWIFI_HOST_BACKEND_NONE => HostBackendChoice::None,
            PWIFI_HOST_BACKEND_WPA_SUPPLICANT if cfg!(target_os = "linux") => HostBackendChoice::WpaSupplicant(dir),
            PWIFI_HOST_BACKEND_NETWORK_MANAGER if cfg!(target_os = "linux") => HostBackendChoice::NetworkManager,
            PWIFI_HOST_BACKEND_WPA_SUPPLICANT | PWIFI_HOST_BACKEND_NETWORK_MANAGER => {
                return Err(Error::invalid(format!("host backend {backend} exists on Linux only")));
            }
            other => {
                return Err(Error::invalid(format!(
                    "host backend {other} is not one of PWIFI_HOST_BACKEND_AUTO (0), _NONE (1), \
                     _WPA_SUPPLICANT (2), _NETWORK_MANAGER (3)"
                )));
            }
        };
        with_config(config, |c| {
            c.host_backend = choice;
            Ok(())
        })
    })
}

/// Time an awaited observer callback (`authorize_guest_connection_request`,
/// `on_guest_scan_request`, `on_guest_scan_completion`) has to return, in milliseconds
/// (default 5000). Past it the guest's request goes on without the callback: an
/// authorization counts as denied, and the miss is logged. While a callback stays overdue,
/// awaited callbacks are not waited for. Valid: 1 to 20000 (the guest waits 20 s).
///
/// Thread: any. Does not block.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_config_set_callback_deadline(config: *mut pwifi_config, milliseconds: u32) -> pwifi_result {
    crate::error::guard("pwifi_config_set_callback_deadline", || {
        let limit = proxy_wifi::limits::GUEST_REQUEST_TIMEOUT.as_millis();
        if milliseconds == 0 || u128::from(milliseconds) > limit {
            return Err(Error::invalid(format!(
                "callback deadline {milliseconds} ms is not between 1 and {limit} ms (the guest waits {limit} ms)"
            )));
        }
        with_config(config, |c| {
            c.callback_deadline = Duration::from_millis(milliseconds.into());
            Ok(())
        })
    })
}

/// The driver generation of every guest (`PWIFI_GUEST_ABI_*`; default CURRENT). A
/// legacy guest gets scan answers without `scan_complete` and no scan-results
/// notifications.
///
/// Thread: any. Does not block.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_config_set_guest_abi(config: *mut pwifi_config, abi: pwifi_guest_abi) -> pwifi_result {
    crate::error::guard("pwifi_config_set_guest_abi", || {
        let abi = match abi {
            PWIFI_GUEST_ABI_CURRENT => GuestAbi::Current,
            PWIFI_GUEST_ABI_LEGACY => GuestAbi::Legacy,
            other => {
                return Err(Error::invalid(format!(
                    "guest ABI {other} is not PWIFI_GUEST_ABI_CURRENT (0) or PWIFI_GUEST_ABI_LEGACY (1)"
                )));
            }
        };
        with_config(config, |c| {
            c.guest_abi = abi;
            Ok(())
        })
    })
}

/// Sets (or, with a NULL `provider`, removes) the fake-network callback. Its networks are
/// shown to the guest as WPA2-PSK, always visible and connected, ahead of all others.
///
/// `user_data` is passed back to `provider` on service threads; it must stay valid until
/// every service started with this config is freed. Thread: any. Does not block.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_config_set_fake_network_provider(
    config: *mut pwifi_config,
    provider: pwifi_fake_network_provider,
    user_data: *mut c_void,
) -> pwifi_result {
    crate::error::guard("pwifi_config_set_fake_network_provider", || {
        with_config(config, |c| {
            c.fake_networks = provider.map(|callback| {
                Arc::new(FakeProvider { callback, user_data: UserData(user_data), calls: Mutex::new(()) })
            });
            Ok(())
        })
    })
}

/// Sets (or, with a NULL `observer`, removes) the observer. The table is copied.
///
/// `user_data` is passed back to the callbacks on the observer thread; it must stay valid
/// until every service started with this config is freed. Thread: any. Does not block.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_config_set_observer(
    config: *mut pwifi_config,
    observer: *const pwifi_observer,
    user_data: *mut c_void,
) -> pwifi_result {
    crate::error::guard("pwifi_config_set_observer", || {
        let entry = if observer.is_null() {
            None
        } else {
            // SAFETY: non-null; a readable table, copied here.
            Some(ObserverEntry { table: unsafe { *observer }, user_data: UserData(user_data) })
        };
        with_config(config, |c| {
            c.observer = entry;
            Ok(())
        })
    })
}

/// Adds an interface of the application's (host mode), tried in the order added, after
/// the fake networks. `id` (16 bytes, RFC 4122 order) must be unique. The table is
/// copied; `user_data` is passed back to its functions on service threads until its
/// `release` function is called.
///
/// Thread: any. Does not block.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_config_add_interface(
    config: *mut pwifi_config,
    id: *const u8,
    vtable: *const pwifi_interface_vtable,
    user_data: *mut c_void,
) -> pwifi_result {
    crate::error::guard("pwifi_config_add_interface", || {
        let id = crate::types::interface_id_from_c(id, "id")?;
        let config_object = CONFIGS.get(config, "config")?;
        let mut c = config_object.lock().unwrap_or_else(|p| p.into_inner());
        if c.interfaces.iter().any(|(existing, _)| *existing == id) {
            return Err(Error::invalid(format!("interface id {id} was already added to this config")));
        }
        // Made last: `release` is called only for interfaces that were added.
        let functions = InterfaceFunctions::new(vtable, user_data)?;
        c.interfaces.push((id, functions));
        Ok(())
    })
}

/// Adds a network to the list being built by a fake-network callback. `ssid` is bytes
/// (0 to 32), `bssid` 6 bytes.
///
/// Thread: only inside the fake-network callback that received `networks`. Does not block.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_fake_networks_add(
    networks: *mut pwifi_fake_networks,
    ssid: *const u8,
    ssid_len: usize,
    bssid: *const u8,
) -> pwifi_result {
    crate::error::guard("pwifi_fake_networks_add", || {
        // SAFETY: checked against the callback-scoped handles of this thread.
        let list = unsafe { crate::callback::sink(networks, "networks") }?;
        // SAFETY: the caller gives `ssid_len` readable bytes and 6 at `bssid`.
        let ssid = unsafe { crate::types::ssid(ssid, ssid_len, "ssid") }?;
        // SAFETY: as above.
        let bssid = unsafe { crate::types::bssid(bssid, "bssid") }?;
        list.networks.push(FakeNetwork::new(ssid.as_bytes(), bssid));
        Ok(())
    })
}

/// Adds a BSS to the results of an application interface's scan.
///
/// Thread: only inside the `scan` function that received `results`. Does not block.
#[unsafe(no_mangle)]
pub extern "C" fn pwifi_scan_results_add(
    results: *mut crate::interface::pwifi_scan_results,
    bss: *const crate::types::pwifi_bss,
) -> pwifi_result {
    crate::error::guard("pwifi_scan_results_add", || {
        // SAFETY: checked against the callback-scoped handles of this thread.
        let results = unsafe { crate::callback::sink(results, "results") }?;
        if bss.is_null() {
            return Err(Error::null("bss"));
        }
        // SAFETY: non-null; a readable `pwifi_bss` whose `ssid` has `ssid_len` bytes.
        let entry = unsafe { crate::interface::bss_entry(&*bss) }?;
        results.entries.push(entry);
        Ok(())
    })
}
