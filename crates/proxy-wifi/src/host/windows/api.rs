//! The WLAN API as the backend sees it: a trait with one method per WLAN function it
//! uses, and plain-Rust values in place of the Win32 structures.
//!
//! [`WlanApi`] is implemented by the real client over `wlanapi.dll` (Windows only) and by
//! the fake used in tests. Its methods are synchronous and return promptly: like the
//! functions they mirror, they *start* scans, connections and disconnections, whose
//! completion arrives later as a [`WlanEvent`] on the callback given to
//! [`WlanApi::register_notifications`], on another thread.

use std::fmt;
use std::sync::Arc;

use proxy_wifi_protocol::{Bssid, Ssid};
use uuid::Uuid;

/// Win32 error codes the backend and the fake use, as the SDK declares them.
pub mod win32 {
    pub use windows_sys::Win32::Foundation::{
        ERROR_ACCESS_DENIED, ERROR_BAD_PROFILE, ERROR_CALL_NOT_IMPLEMENTED, ERROR_INVALID_HANDLE,
        ERROR_INVALID_PARAMETER, ERROR_INVALID_STATE, ERROR_MOD_NOT_FOUND, ERROR_NOT_FOUND, ERROR_NOT_SUPPORTED,
        ERROR_PROC_NOT_FOUND, ERROR_SERVICE_NOT_ACTIVE, ERROR_SUCCESS,
    };
}

/// `WLAN_REASON_CODE` values the backend and the fake name (the backend passes every code
/// through), as the SDK declares them, without their `WLAN_REASON_CODE_` prefix.
#[allow(unused_imports)] // Some are named by the fake only.
pub mod reason {
    pub use windows_sys::Win32::NetworkManagement::WiFi::{
        WLAN_REASON_CODE_ASSOCIATION_FAILURE as ASSOCIATION_FAILURE,
        WLAN_REASON_CODE_DRIVER_OPERATION_FAILURE as DRIVER_OPERATION_FAILURE,
        WLAN_REASON_CODE_KEY_MISMATCH as KEY_MISMATCH,
        WLAN_REASON_CODE_MSMSEC_PSK_MISMATCH_SUSPECTED as PSK_MISMATCH_SUSPECTED,
        WLAN_REASON_CODE_NETWORK_NOT_AVAILABLE as NETWORK_NOT_AVAILABLE, WLAN_REASON_CODE_NOT_VISIBLE as NOT_VISIBLE,
        WLAN_REASON_CODE_SUCCESS as SUCCESS, WLAN_REASON_CODE_UNKNOWN as UNKNOWN,
    };
}

/// A failed WLAN API call: the function and its Win32 error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{function} failed with Win32 error {code}{}", describe_win32(*.code))]
pub struct WlanError {
    /// The WLAN function (`WlanScan`, ...), or `LoadLibrary` for the DLL.
    pub function: &'static str,
    /// The Win32 error code.
    pub code: u32,
}

impl WlanError {
    /// An error of `function` with `code`.
    pub fn new(function: &'static str, code: u32) -> Self {
        Self { function, code }
    }
}

/// What `code` means for the operator: the backend's own words for the codes it knows, the
/// system's message for the others (on Windows), in parentheses.
fn describe_win32(code: u32) -> String {
    let known = match code {
        win32::ERROR_ACCESS_DENIED => " (access denied)",
        win32::ERROR_INVALID_PARAMETER => " (invalid parameter)",
        win32::ERROR_MOD_NOT_FOUND => " (wlanapi.dll not found: no Wireless LAN service on this machine)",
        win32::ERROR_PROC_NOT_FOUND => " (function missing from wlanapi.dll)",
        win32::ERROR_SERVICE_NOT_ACTIVE => " (the WLAN AutoConfig service is not running)",
        win32::ERROR_NOT_FOUND => " (no such interface)",
        win32::ERROR_BAD_PROFILE => " (profile refused)",
        win32::ERROR_INVALID_STATE => " (invalid state)",
        win32::ERROR_INVALID_HANDLE => " (invalid handle)",
        win32::ERROR_NOT_SUPPORTED => " (not supported)",
        win32::ERROR_CALL_NOT_IMPLEMENTED => " (not implemented by this system's wlanapi.dll)",
        _ => "",
    };
    if !known.is_empty() || cfg!(not(windows)) {
        return known.to_owned();
    }
    // On Windows the standard library asks the system (FormatMessageW) for the text.
    let system = std::io::Error::from_raw_os_error(code as i32).to_string();
    let text = system.trim_end_matches(&format!(" (os error {code})")).trim().trim_end_matches('.');
    if text.is_empty() { String::new() } else { format!(" ({text})") }
}

/// Result of a WLAN API call.
pub type WlanResult<T> = Result<T, WlanError>;

/// `DOT11_AUTH_ALGORITHM`: the authentication of a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dot11AuthAlgorithm {
    /// 1: open system.
    Open,
    /// 2: WEP shared key.
    SharedKey,
    /// 3: WPA-Enterprise.
    Wpa,
    /// 4: WPA-Personal.
    WpaPsk,
    /// 5: WPA ad hoc.
    WpaNone,
    /// 6: WPA2-Enterprise.
    Rsna,
    /// 7: WPA2-Personal.
    RsnaPsk,
    /// 8: WPA3-Enterprise 192-bit.
    Wpa3Enterprise192,
    /// 9: WPA3-Personal.
    Wpa3Sae,
    /// 10: opportunistic wireless encryption.
    Owe,
    /// 11: WPA3-Enterprise.
    Wpa3Enterprise,
    /// Any other value (IHV algorithms).
    Other(i32),
}

impl Dot11AuthAlgorithm {
    /// The algorithm of a `DOT11_AUTH_ALGORITHM` value.
    pub fn from_raw(value: i32) -> Self {
        match value {
            1 => Self::Open,
            2 => Self::SharedKey,
            3 => Self::Wpa,
            4 => Self::WpaPsk,
            5 => Self::WpaNone,
            6 => Self::Rsna,
            7 => Self::RsnaPsk,
            8 => Self::Wpa3Enterprise192,
            9 => Self::Wpa3Sae,
            10 => Self::Owe,
            11 => Self::Wpa3Enterprise,
            other => Self::Other(other),
        }
    }

    /// The `DOT11_AUTH_ALGORITHM` value.
    pub fn to_raw(self) -> i32 {
        match self {
            Self::Open => 1,
            Self::SharedKey => 2,
            Self::Wpa => 3,
            Self::WpaPsk => 4,
            Self::WpaNone => 5,
            Self::Rsna => 6,
            Self::RsnaPsk => 7,
            Self::Wpa3Enterprise192 => 8,
            Self::Wpa3Sae => 9,
            Self::Owe => 10,
            Self::Wpa3Enterprise => 11,
            Self::Other(other) => other,
        }
    }
}

impl fmt::Display for Dot11AuthAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Open => f.write_str("open"),
            Self::SharedKey => f.write_str("shared-key"),
            Self::Wpa => f.write_str("WPA"),
            Self::WpaPsk => f.write_str("WPA-PSK"),
            Self::WpaNone => f.write_str("WPA-none"),
            Self::Rsna => f.write_str("WPA2"),
            Self::RsnaPsk => f.write_str("WPA2-PSK"),
            Self::Wpa3Enterprise192 => f.write_str("WPA3-192"),
            Self::Wpa3Sae => f.write_str("WPA3-SAE"),
            Self::Owe => f.write_str("OWE"),
            Self::Wpa3Enterprise => f.write_str("WPA3"),
            Self::Other(v) => write!(f, "auth {v:#x}"),
        }
    }
}

/// `DOT11_CIPHER_ALGORITHM`: the data cipher of a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dot11CipherAlgorithm {
    /// 0: no encryption.
    None,
    /// 1: WEP-40.
    Wep40,
    /// 2: TKIP.
    Tkip,
    /// 4: CCMP (AES).
    Ccmp,
    /// 5: WEP-104.
    Wep104,
    /// 6: BIP.
    Bip,
    /// 8: GCMP.
    Gcmp,
    /// 9: GCMP-256.
    Gcmp256,
    /// 10: CCMP-256.
    Ccmp256,
    /// 0x100: use the group cipher.
    UseGroup,
    /// 0x101: WEP of any length.
    Wep,
    /// Any other value.
    Other(i32),
}

impl Dot11CipherAlgorithm {
    /// The cipher of a `DOT11_CIPHER_ALGORITHM` value.
    pub fn from_raw(value: i32) -> Self {
        match value {
            0 => Self::None,
            1 => Self::Wep40,
            2 => Self::Tkip,
            4 => Self::Ccmp,
            5 => Self::Wep104,
            6 => Self::Bip,
            8 => Self::Gcmp,
            9 => Self::Gcmp256,
            10 => Self::Ccmp256,
            0x100 => Self::UseGroup,
            0x101 => Self::Wep,
            other => Self::Other(other),
        }
    }

    /// The `DOT11_CIPHER_ALGORITHM` value.
    pub fn to_raw(self) -> i32 {
        match self {
            Self::None => 0,
            Self::Wep40 => 1,
            Self::Tkip => 2,
            Self::Ccmp => 4,
            Self::Wep104 => 5,
            Self::Bip => 6,
            Self::Gcmp => 8,
            Self::Gcmp256 => 9,
            Self::Ccmp256 => 10,
            Self::UseGroup => 0x100,
            Self::Wep => 0x101,
            Self::Other(other) => other,
        }
    }
}

impl fmt::Display for Dot11CipherAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("none"),
            Self::Wep40 => f.write_str("WEP-40"),
            Self::Tkip => f.write_str("TKIP"),
            Self::Ccmp => f.write_str("CCMP"),
            Self::Wep104 => f.write_str("WEP-104"),
            Self::Bip => f.write_str("BIP"),
            Self::Gcmp => f.write_str("GCMP"),
            Self::Gcmp256 => f.write_str("GCMP-256"),
            Self::Ccmp256 => f.write_str("CCMP-256"),
            Self::UseGroup => f.write_str("use-group"),
            Self::Wep => f.write_str("WEP"),
            Self::Other(v) => write!(f, "cipher {v:#x}"),
        }
    }
}

/// `WLAN_INTERFACE_STATE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InterfaceState {
    /// 0: not ready.
    NotReady,
    /// 1: connected.
    Connected,
    /// 2: first node of an ad hoc network.
    AdHocNetworkFormed,
    /// 3: disconnecting.
    Disconnecting,
    /// 4: not connected.
    Disconnected,
    /// 5: associating.
    Associating,
    /// 6: discovering the network's settings.
    Discovering,
    /// 7: authenticating.
    Authenticating,
    /// Any other value.
    Other(i32),
}

impl InterfaceState {
    /// The state of a `WLAN_INTERFACE_STATE` value.
    pub fn from_raw(value: i32) -> Self {
        match value {
            0 => Self::NotReady,
            1 => Self::Connected,
            2 => Self::AdHocNetworkFormed,
            3 => Self::Disconnecting,
            4 => Self::Disconnected,
            5 => Self::Associating,
            6 => Self::Discovering,
            7 => Self::Authenticating,
            other => Self::Other(other),
        }
    }

    /// The `WLAN_INTERFACE_STATE` value.
    pub fn to_raw(self) -> i32 {
        match self {
            Self::NotReady => 0,
            Self::Connected => 1,
            Self::AdHocNetworkFormed => 2,
            Self::Disconnecting => 3,
            Self::Disconnected => 4,
            Self::Associating => 5,
            Self::Discovering => 6,
            Self::Authenticating => 7,
            Self::Other(other) => other,
        }
    }
}

/// An entry of `WlanEnumInterfaces`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WlanInterfaceInfo {
    /// The interface GUID.
    pub guid: Uuid,
    /// The adapter's description.
    pub description: String,
    /// Its state.
    pub state: InterfaceState,
}

/// An entry of `WlanGetNetworkBssList` (infrastructure BSSs only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WlanBss {
    /// The SSID of the BSS.
    pub ssid: Ssid,
    /// Its address.
    pub bssid: Bssid,
    /// `DOT11_PHY_TYPE` of the BSS (7 HT, 8 VHT, 10 HE, ...).
    pub phy_type: u32,
    /// Received signal strength, dBm.
    pub rssi_dbm: i32,
    /// Link quality, 0–100.
    pub link_quality: u32,
    /// Channel centre frequency in **kHz**, as the WLAN service reports it.
    pub frequency_khz: u32,
    /// 802.11 capability information.
    pub capabilities: u16,
    /// Beacon interval, TUs.
    pub beacon_period: u16,
    /// The information elements, as received.
    pub ies: Vec<u8>,
}

/// An entry of `WlanGetAvailableNetworkList`: a network (SSID) and the security the WLAN
/// service would use with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WlanNetwork {
    /// The network's SSID.
    pub ssid: Ssid,
    /// Default authentication.
    pub auth: Dot11AuthAlgorithm,
    /// Default cipher.
    pub cipher: Dot11CipherAlgorithm,
    /// Whether it is protected.
    pub security_enabled: bool,
    /// Signal quality, 0–100.
    pub signal_quality: u32,
    /// Whether the host could connect to it.
    pub connectable: bool,
}

/// `WlanQueryInterface(wlan_intf_opcode_current_connection)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WlanConnection {
    /// The interface state (connected, associating, ...).
    pub state: InterfaceState,
    /// The profile in use.
    pub profile_name: String,
    /// The network.
    pub ssid: Ssid,
    /// The BSS joined.
    pub bssid: Bssid,
    /// Link quality, 0–100.
    pub signal_quality: u32,
    /// Authentication in use.
    pub auth: Dot11AuthAlgorithm,
    /// Cipher in use.
    pub cipher: Dot11CipherAlgorithm,
}

/// A WLAN notification, decoded (ACM and MSM sources; others are not delivered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WlanNotification {
    /// `wlan_notification_acm_scan_complete`.
    ScanComplete,
    /// `wlan_notification_acm_scan_fail`, with its reason code.
    ScanFailed {
        /// `WLAN_REASON_CODE`.
        reason: u32,
    },
    /// `wlan_notification_acm_connection_complete`: success when `reason` is 0.
    ConnectionComplete {
        /// The network.
        ssid: Ssid,
        /// `WLAN_REASON_CODE`.
        reason: u32,
    },
    /// `wlan_notification_acm_disconnected`.
    Disconnected {
        /// The network left.
        ssid: Ssid,
        /// `WLAN_REASON_CODE`.
        reason: u32,
    },
    /// `wlan_notification_msm_signal_quality_change`.
    SignalQuality {
        /// Link quality, 0–100.
        percent: u32,
    },
    /// `wlan_notification_acm_interface_arrival`.
    InterfaceArrival,
    /// `wlan_notification_acm_interface_removal`.
    InterfaceRemoval,
}

/// A notification about one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WlanEvent {
    /// The interface concerned.
    pub interface: Uuid,
    /// What happened.
    pub notification: WlanNotification,
}

/// Receives notifications, on a thread of the WLAN service (or of the fake). Must return
/// quickly and must not call back into the [`WlanApi`].
pub type NotificationCallback = Arc<dyn Fn(WlanEvent) + Send + Sync>;

/// The WLAN functions the backend uses. See the module documentation for the threading
/// contract.
pub trait WlanApi: Send + Sync + 'static {
    /// `WlanEnumInterfaces`: the station interfaces present now.
    fn enum_interfaces(&self) -> WlanResult<Vec<WlanInterfaceInfo>>;

    /// `WlanScan`: starts a scan, targeted at `ssid` when given (hidden networks). The
    /// BSS cache is flushed; completion comes as `ScanComplete` or `ScanFailed`.
    fn scan(&self, interface: Uuid, ssid: Option<&Ssid>) -> WlanResult<()>;

    /// `WlanGetNetworkBssList`: the cached infrastructure BSSs.
    fn bss_list(&self, interface: Uuid) -> WlanResult<Vec<WlanBss>>;

    /// `WlanGetAvailableNetworkList`: the cached networks with their security.
    fn available_networks(&self, interface: Uuid) -> WlanResult<Vec<WlanNetwork>>;

    /// `WlanQueryInterface(current_connection)`: `None` when not connected.
    fn current_connection(&self, interface: Uuid) -> WlanResult<Option<WlanConnection>>;

    /// `WlanConnect` with a temporary profile (`profile_xml`), restricted to `bssid` when
    /// given. Completion comes as `ConnectionComplete`.
    fn connect(&self, interface: Uuid, profile_xml: &str, bssid: Option<Bssid>) -> WlanResult<()>;

    /// `WlanDisconnect`. Completion comes as `Disconnected`.
    fn disconnect(&self, interface: Uuid) -> WlanResult<()>;

    /// `WlanRegisterNotification` for the ACM and MSM sources, replacing any previous
    /// callback.
    fn register_notifications(&self, callback: NotificationCallback) -> WlanResult<()>;

    /// `WlanRegisterNotification(WLAN_NOTIFICATION_SOURCE_NONE)`: no more callbacks once
    /// this returns.
    fn unregister_notifications(&self) -> WlanResult<()>;
}

/// A shared [`WlanApi`].
pub type SharedWlanApi = Arc<dyn WlanApi>;
