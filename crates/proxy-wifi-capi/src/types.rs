//! Plain C value types and their conversions. Pointers inside these structs borrow data
//! owned by the caller of the function or callback they are passed to, for that call only.

use std::ffi::c_char;

use proxy_wifi::protocol::{Bssid, Ssid};
use proxy_wifi::{AuthAlgorithm, GuestId, InterfaceId, OperationStatus, OperationType};

use crate::error::Error;

/// Which interfaces honour the guest's operations (`PWIFI_MODE_*`).
pub type pwifi_mode = i32;
/// The host's Wi-Fi interfaces (from the backend `pwifi_config_set_host_backend` picks:
/// the WLAN service on Windows, NetworkManager or wpa_supplicant on Linux), plus the
/// interfaces the application adds.
pub const PWIFI_MODE_HOST: pwifi_mode = 0;
/// One simulated interface with three networks (`FakeWpa2Psk` with passphrase
/// `secretsecret`, `FakeOpen`, `Fake6GHz`) and the simulation event API.
pub const PWIFI_MODE_SIMULATED: pwifi_mode = 1;

/// Where host mode finds the host's Wi-Fi (`PWIFI_HOST_BACKEND_*`).
pub type pwifi_host_backend = i32;
/// The platform's own (default): the WLAN service on Windows; on Linux NetworkManager
/// when it is on the D-Bus system bus, otherwise wpa_supplicant's control sockets. When
/// none is there, the service runs with the application's interfaces and fake networks.
pub const PWIFI_HOST_BACKEND_AUTO: pwifi_host_backend = 0;
/// No host backend: only the application's interfaces and the fake networks.
pub const PWIFI_HOST_BACKEND_NONE: pwifi_host_backend = 1;
/// Linux: wpa_supplicant's control sockets (in the given directory, or the default one).
pub const PWIFI_HOST_BACKEND_WPA_SUPPLICANT: pwifi_host_backend = 2;
/// Linux: NetworkManager over D-Bus.
pub const PWIFI_HOST_BACKEND_NETWORK_MANAGER: pwifi_host_backend = 3;

/// Which generation of the guest driver the guests run (`PWIFI_GUEST_ABI_*`).
pub type pwifi_guest_abi = i32;
/// Today's driver: scan answers carry `scan_complete`, scan results come by notification.
pub const PWIFI_GUEST_ABI_CURRENT: pwifi_guest_abi = 0;
/// Older driver builds: scan answers without `scan_complete`, no scan-results notifications.
pub const PWIFI_GUEST_ABI_LEGACY: pwifi_guest_abi = 1;

/// Authentication of a network as the guest sees it (`PWIFI_AUTH_*`).
pub type pwifi_auth = i32;
/// Open system.
pub const PWIFI_AUTH_OPEN: pwifi_auth = 0;
/// WPA2-Personal.
pub const PWIFI_AUTH_WPA2_PSK: pwifi_auth = 1;
/// WPA3-Personal (SAE).
pub const PWIFI_AUTH_WPA3_SAE: pwifi_auth = 2;

/// Whether the host connects for the guest or the guest mirrors a host connection
/// (`PWIFI_OPERATION_*`).
pub type pwifi_operation_type = i32;
/// The host connects (or disconnects) an interface because the guest asked.
pub const PWIFI_OPERATION_GUEST_DIRECTED: pwifi_operation_type = 0;
/// The guest mirrors a connection the host already has; the host is not touched.
pub const PWIFI_OPERATION_HOST_MIRRORING: pwifi_operation_type = 1;

/// Outcome of a guest operation (`PWIFI_STATUS_*`).
pub type pwifi_operation_status = i32;
/// It worked.
pub const PWIFI_STATUS_SUCCEEDED: pwifi_operation_status = 0;
/// It was tried and failed.
pub const PWIFI_STATUS_FAILED: pwifi_operation_status = 1;
/// The observer refused it.
pub const PWIFI_STATUS_DENIED: pwifi_operation_status = 2;

/// The observer's verdict on a connection request (`PWIFI_AUTHORIZATION_*`).
pub type pwifi_authorization = i32;
/// Let the guest connect.
pub const PWIFI_AUTHORIZATION_APPROVE: pwifi_authorization = 0;
/// Refuse the connection (any value other than `PWIFI_AUTHORIZATION_APPROVE` also denies).
pub const PWIFI_AUTHORIZATION_DENY: pwifi_authorization = 1;

/// The kind of a guest identity (`PWIFI_GUEST_*`).
pub type pwifi_guest_kind = i32;
/// A TCP guest, keyed by its IP address (`ip`, `ip_len`).
pub const PWIFI_GUEST_TCP: pwifi_guest_kind = 0;
/// A vsock guest, keyed by its context id (`cid`).
pub const PWIFI_GUEST_VSOCK: pwifi_guest_kind = 1;
/// A Hyper-V guest, keyed by its VM id (`vm_id`).
pub const PWIFI_GUEST_HYPERV: pwifi_guest_kind = 2;
/// A hybrid-vsock guest, keyed by its VMM socket path (in `name`).
pub const PWIFI_GUEST_HYBRID_VSOCK: pwifi_guest_kind = 3;

/// Result of an application interface operation (`PWIFI_IFACE_*`).
pub type pwifi_iface_result = i32;
/// The operation succeeded.
pub const PWIFI_IFACE_OK: pwifi_iface_result = 0;
/// The interface does not see the requested network.
pub const PWIFI_IFACE_NOT_FOUND: pwifi_iface_result = 1;
/// The network refused the connection (association rejected). The guest is told 1
/// (unspecified failure); use `PWIFI_IFACE_WRONG_KEY` when the key was wrong.
pub const PWIFI_IFACE_REJECTED: pwifi_iface_result = 2;
/// The interface is gone or its Wi-Fi service is unavailable.
pub const PWIFI_IFACE_UNAVAILABLE: pwifi_iface_result = 3;
/// Any other failure.
pub const PWIFI_IFACE_FAILED: pwifi_iface_result = 4;
/// The network refused the key (the guest is told 15, CHALLENGE_FAILURE).
pub const PWIFI_IFACE_WRONG_KEY: pwifi_iface_result = 5;
/// The connection did not complete in time (the guest is told 16, REJECTED_SEQUENCE_TIMEOUT).
pub const PWIFI_IFACE_TIMED_OUT: pwifi_iface_result = 6;

/// Scan mode of the simulated interface (`PWIFI_SCAN_MODE_*`).
pub type pwifi_scan_mode = i32;
/// All results at once, completed.
pub const PWIFI_SCAN_MODE_SYNCHRONOUS: pwifi_scan_mode = 0;
/// The first result at once, the rest by notification a second later.
pub const PWIFI_SCAN_MODE_ASYNCHRONOUS: pwifi_scan_mode = 1;

/// Which network the simulated host joins (`PWIFI_HOST_NETWORK_*`).
pub type pwifi_host_network = i32;
/// The first open simulated network.
pub const PWIFI_HOST_NETWORK_OPEN: pwifi_host_network = 0;
/// The first WPA2-PSK simulated network.
pub const PWIFI_HOST_NETWORK_PSK: pwifi_host_network = 1;

/// The identity of a guest (a VM), valid during the callback it is passed to.
#[repr(C)]
pub struct pwifi_guest {
    /// `PWIFI_GUEST_*`.
    pub kind: pwifi_guest_kind,
    /// vsock context id (vsock guests), 0 otherwise.
    pub cid: u32,
    /// VM id, RFC 4122 byte order (Hyper-V guests), zeros otherwise.
    pub vm_id: [u8; 16],
    /// IP address bytes, network order (TCP guests): `ip_len` is 4 or 16, 0 otherwise.
    pub ip: [u8; 16],
    /// Number of meaningful bytes of `ip`.
    pub ip_len: usize,
    /// The guest's printable name, UTF-8, not NUL-terminated: `tcp:10.0.0.2`,
    /// `vsock:3`, `hyperv:<uuid>`, `hybrid-vsock:<path>`.
    pub name: *const c_char,
    /// Length of `name` in bytes.
    pub name_len: usize,
}

/// A connection, as given to the connection callbacks.
#[repr(C)]
pub struct pwifi_connection {
    /// The guest concerned; NULL for host events.
    pub guest: *const pwifi_guest,
    /// Whether `interface_id` is set (false when no interface was involved: a denied
    /// guest-directed request, or every interface failed).
    pub has_interface: bool,
    /// The interface holding (or that held) the connection, RFC 4122 byte order.
    pub interface_id: [u8; 16],
    /// SSID bytes (not a C string; may contain any byte).
    pub ssid: *const u8,
    /// SSID length, 0 to 32.
    pub ssid_len: usize,
    /// BSSID, zeros when unknown.
    pub bssid: [u8; 6],
    /// `PWIFI_AUTH_*`.
    pub auth: pwifi_auth,
}

/// A guest's connection request, as given to the authorization callback.
#[repr(C)]
pub struct pwifi_connect_request {
    /// The guest asking.
    pub guest: *const pwifi_guest,
    /// Whether `interface_id` is set: the mirrored interface; false for a guest-directed
    /// request (every interface may be tried).
    pub has_interface: bool,
    /// The interface concerned, RFC 4122 byte order.
    pub interface_id: [u8; 16],
    /// SSID bytes.
    pub ssid: *const u8,
    /// SSID length, 0 to 32.
    pub ssid_len: usize,
    /// `PWIFI_AUTH_*` as the guest sees it.
    pub auth: pwifi_auth,
}

/// A guest disconnection, as given to the disconnection callbacks.
#[repr(C)]
pub struct pwifi_disconnect_request {
    /// The guest disconnecting.
    pub guest: *const pwifi_guest,
    /// The interface backing the guest's connection, RFC 4122 byte order.
    pub interface_id: [u8; 16],
    /// SSID bytes of the network the guest leaves.
    pub ssid: *const u8,
    /// SSID length, 0 to 32.
    pub ssid_len: usize,
}

/// A network an application interface is connected to (filled by the application).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct pwifi_network {
    /// SSID bytes; the first `ssid_len` are used.
    pub ssid: [u8; 32],
    /// SSID length, 0 to 32.
    pub ssid_len: usize,
    /// BSSID.
    pub bssid: [u8; 6],
    /// `PWIFI_AUTH_*`.
    pub auth: pwifi_auth,
}

/// A BSS seen by an application interface's scan (see `pwifi_scan_results_add`).
#[repr(C)]
pub struct pwifi_bss {
    /// SSID bytes.
    pub ssid: *const u8,
    /// SSID length, 0 to 32.
    pub ssid_len: usize,
    /// BSSID.
    pub bssid: [u8; 6],
    /// `PWIFI_AUTH_*`: the service builds the matching RSN element.
    pub auth: pwifi_auth,
    /// Centre frequency in MHz (e.g. 2437, 5180).
    pub frequency_mhz: u32,
    /// Signal in dBm (e.g. -55).
    pub rssi_dbm: i32,
}

/// What the guest asks an application interface to join.
#[repr(C)]
pub struct pwifi_connect_params {
    /// SSID bytes.
    pub ssid: *const u8,
    /// SSID length, 0 to 32.
    pub ssid_len: usize,
    /// A specific BSS, or zeros for any BSS of the SSID.
    pub bssid: [u8; 6],
    /// `PWIFI_AUTH_*` the guest asks for.
    pub auth: pwifi_auth,
    /// Key bytes as the guest sent them: the 32-byte PMK (WPA2-PSK), the password
    /// (WPA3-SAE), or none (`key_len` 0).
    pub key: *const u8,
    /// Length of `key`.
    pub key_len: usize,
}

pub(crate) fn auth_to_c(auth: AuthAlgorithm) -> pwifi_auth {
    match auth {
        AuthAlgorithm::Open => PWIFI_AUTH_OPEN,
        AuthAlgorithm::Wpa2Psk => PWIFI_AUTH_WPA2_PSK,
        AuthAlgorithm::Wpa3Sae => PWIFI_AUTH_WPA3_SAE,
    }
}

pub(crate) fn auth_from_c(auth: pwifi_auth) -> Result<AuthAlgorithm, Error> {
    match auth {
        PWIFI_AUTH_OPEN => Ok(AuthAlgorithm::Open),
        PWIFI_AUTH_WPA2_PSK => Ok(AuthAlgorithm::Wpa2Psk),
        PWIFI_AUTH_WPA3_SAE => Ok(AuthAlgorithm::Wpa3Sae),
        other => Err(Error::invalid(format!(
            "auth {other} is not one of PWIFI_AUTH_OPEN (0), PWIFI_AUTH_WPA2_PSK (1), PWIFI_AUTH_WPA3_SAE (2)"
        ))),
    }
}

pub(crate) fn operation_type_to_c(kind: OperationType) -> pwifi_operation_type {
    match kind {
        OperationType::GuestDirected => PWIFI_OPERATION_GUEST_DIRECTED,
        OperationType::HostMirroring => PWIFI_OPERATION_HOST_MIRRORING,
    }
}

pub(crate) fn operation_status_to_c(status: OperationStatus) -> pwifi_operation_status {
    match status {
        OperationStatus::Succeeded => PWIFI_STATUS_SUCCEEDED,
        OperationStatus::Failed => PWIFI_STATUS_FAILED,
        OperationStatus::Denied => PWIFI_STATUS_DENIED,
    }
}

pub(crate) fn interface_id_to_c(id: InterfaceId) -> [u8; 16] {
    *id.0.as_bytes()
}

pub(crate) fn interface_id_from_c(id: *const u8, argument: &str) -> Result<InterfaceId, Error> {
    if id.is_null() {
        return Err(Error::null(argument));
    }
    // SAFETY: non-null; the caller gives 16 readable bytes.
    Ok(InterfaceId(uuid::Uuid::from_bytes(unsafe { *id.cast::<[u8; 16]>() })))
}

/// A guest identity in C form, with the storage its `name` points into.
pub(crate) struct GuestView {
    name: String,
    guest: pwifi_guest,
}

impl GuestView {
    pub(crate) fn new(guest: &GuestId) -> Box<GuestView> {
        let mut view = Box::new(GuestView {
            name: guest.to_string(),
            guest: pwifi_guest {
                kind: PWIFI_GUEST_TCP,
                cid: 0,
                vm_id: [0; 16],
                ip: [0; 16],
                ip_len: 0,
                name: std::ptr::null(),
                name_len: 0,
            },
        });
        match guest {
            GuestId::Tcp(std::net::IpAddr::V4(ip)) => {
                view.guest.ip[..4].copy_from_slice(&ip.octets());
                view.guest.ip_len = 4;
            }
            GuestId::Tcp(std::net::IpAddr::V6(ip)) => {
                view.guest.ip = ip.octets();
                view.guest.ip_len = 16;
            }
            GuestId::Vsock(cid) => {
                view.guest.kind = PWIFI_GUEST_VSOCK;
                view.guest.cid = *cid;
            }
            GuestId::HyperV(vm) => {
                view.guest.kind = PWIFI_GUEST_HYPERV;
                view.guest.vm_id = *vm.as_bytes();
            }
            GuestId::HybridVsock(_) => view.guest.kind = PWIFI_GUEST_HYBRID_VSOCK,
        }
        view.guest.name = view.name.as_ptr().cast();
        view.guest.name_len = view.name.len();
        view
    }

    pub(crate) fn as_ptr(&self) -> *const pwifi_guest {
        &self.guest
    }
}

/// `len` bytes at `data` (NULL allowed when `len` is 0).
///
/// # Safety
/// `data` must point to `len` readable bytes that outlive the returned slice.
pub(crate) unsafe fn bytes<'a>(data: *const u8, len: usize, argument: &str) -> Result<&'a [u8], Error> {
    if len == 0 {
        return Ok(&[]);
    }
    if data.is_null() {
        return Err(Error::null(argument));
    }
    // SAFETY: non-null; the caller guarantees `len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(data, len) })
}

/// A UTF-8 string of `len` bytes at `data`.
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn utf8<'a>(data: *const c_char, len: usize, argument: &str) -> Result<&'a str, Error> {
    // SAFETY: forwarded from the caller.
    let raw = unsafe { bytes(data.cast(), len, argument) }?;
    std::str::from_utf8(raw).map_err(|_| Error::invalid(format!("`{argument}` is not valid UTF-8")))
}

/// An SSID of `len` bytes at `data`.
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn ssid(data: *const u8, len: usize, argument: &str) -> Result<Ssid, Error> {
    // SAFETY: forwarded from the caller.
    let raw = unsafe { bytes(data, len, argument) }?;
    Ssid::new(raw).map_err(|_| Error::invalid(format!("`{argument}` is {len} bytes long; an SSID has at most 32")))
}

/// A BSSID from 6 bytes at `data`.
///
/// # Safety
/// `data` must be NULL or point to 6 readable bytes.
pub(crate) unsafe fn bssid(data: *const u8, argument: &str) -> Result<Bssid, Error> {
    if data.is_null() {
        return Err(Error::null(argument));
    }
    // SAFETY: non-null; 6 readable bytes per the contract.
    Ok(Bssid(unsafe { *data.cast::<[u8; 6]>() }))
}

pub(crate) fn network_from_c(network: &pwifi_network) -> Result<proxy_wifi::ConnectedNetwork, Error> {
    let ssid = Ssid::new(network.ssid.get(..network.ssid_len).unwrap_or(&network.ssid))
        .map_err(|_| Error::invalid(format!("network ssid_len {} is above 32", network.ssid_len)))?;
    if network.ssid_len > 32 {
        return Err(Error::invalid(format!("network ssid_len {} is above 32", network.ssid_len)));
    }
    Ok(proxy_wifi::ConnectedNetwork { ssid, bssid: Bssid(network.bssid), auth: auth_from_c(network.auth)? })
}
