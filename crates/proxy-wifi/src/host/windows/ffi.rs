//! The client of the real WLAN service: `wlanapi.dll`, loaded at run time.
//!
//! A Windows Server without the Wireless LAN feature has no `wlanapi.dll`, so the DLL is
//! loaded with `LoadLibraryExW` (from System32 only) and its functions looked up with
//! `GetProcAddress`; a missing DLL, function or service makes [`WlanClient::open`] fail
//! and the backend serve nothing. Nothing here decides anything: each method calls one
//! WLAN function, keeps the returned block in a guard that frees it with `WlanFreeMemory`
//! on every path, and hands it to [`layout`](super::layout) as bytes.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::mem::size_of;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::sync::RwLock;

use proxy_wifi_protocol::{Bssid, MAX_SSID_LEN, Ssid};
use uuid::Uuid;
use windows_sys::Win32::Foundation::{ERROR_INVALID_STATE, FreeLibrary, GetLastError, HANDLE, HMODULE};
use windows_sys::Win32::NetworkManagement::Ndis::{NDIS_OBJECT_HEADER, NDIS_OBJECT_TYPE_DEFAULT};
use windows_sys::Win32::NetworkManagement::WiFi::{
    DOT11_BSS_TYPE, DOT11_BSSID_LIST, DOT11_BSSID_LIST_REVISION_1, DOT11_SSID, L2_NOTIFICATION_DATA,
    WLAN_API_VERSION_2_0, WLAN_AVAILABLE_NETWORK_LIST, WLAN_BSS_LIST, WLAN_CONNECTION_PARAMETERS,
    WLAN_INTERFACE_INFO_LIST, WLAN_INTF_OPCODE, WLAN_NOTIFICATION_CALLBACK, WLAN_NOTIFICATION_SOURCE_ACM,
    WLAN_NOTIFICATION_SOURCE_MSM, WLAN_NOTIFICATION_SOURCE_NONE, WLAN_NOTIFICATION_SOURCES, WLAN_OPCODE_VALUE_TYPE,
    WLAN_RAW_DATA, dot11_BSS_type_infrastructure, wlan_connection_mode_temporary_profile,
    wlan_intf_opcode_current_connection,
};
use windows_sys::Win32::System::LibraryLoader::{GetProcAddress, LOAD_LIBRARY_SEARCH_SYSTEM32, LoadLibraryExW};
use windows_sys::core::{BOOL, GUID};
use zeroize::Zeroizing;

use super::api::{
    NotificationCallback, WlanApi, WlanBss, WlanConnection, WlanError, WlanEvent, WlanInterfaceInfo, WlanNetwork,
    WlanResult, win32,
};
use super::layout::{self, ListLayout};

type WlanOpenHandleFn = unsafe extern "system" fn(u32, *const c_void, *mut u32, *mut HANDLE) -> u32;
type WlanCloseHandleFn = unsafe extern "system" fn(HANDLE, *const c_void) -> u32;
type WlanEnumInterfacesFn = unsafe extern "system" fn(HANDLE, *const c_void, *mut *mut WLAN_INTERFACE_INFO_LIST) -> u32;
type WlanScanFn =
    unsafe extern "system" fn(HANDLE, *const GUID, *const DOT11_SSID, *const WLAN_RAW_DATA, *const c_void) -> u32;
type WlanGetNetworkBssListFn = unsafe extern "system" fn(
    HANDLE,
    *const GUID,
    *const DOT11_SSID,
    DOT11_BSS_TYPE,
    BOOL,
    *const c_void,
    *mut *mut WLAN_BSS_LIST,
) -> u32;
type WlanGetAvailableNetworkListFn =
    unsafe extern "system" fn(HANDLE, *const GUID, u32, *const c_void, *mut *mut WLAN_AVAILABLE_NETWORK_LIST) -> u32;
type WlanQueryInterfaceFn = unsafe extern "system" fn(
    HANDLE,
    *const GUID,
    WLAN_INTF_OPCODE,
    *const c_void,
    *mut u32,
    *mut *mut c_void,
    *mut WLAN_OPCODE_VALUE_TYPE,
) -> u32;
type WlanConnectFn =
    unsafe extern "system" fn(HANDLE, *const GUID, *const WLAN_CONNECTION_PARAMETERS, *const c_void) -> u32;
type WlanDisconnectFn = unsafe extern "system" fn(HANDLE, *const GUID, *const c_void) -> u32;
type WlanRegisterNotificationFn = unsafe extern "system" fn(
    HANDLE,
    WLAN_NOTIFICATION_SOURCES,
    BOOL,
    WLAN_NOTIFICATION_CALLBACK,
    *const c_void,
    *const c_void,
    *mut u32,
) -> u32;
type WlanFreeMemoryFn = unsafe extern "system" fn(*const c_void);

/// The WLAN functions, resolved from the loaded DLL.
struct Functions {
    open_handle: WlanOpenHandleFn,
    close_handle: WlanCloseHandleFn,
    enum_interfaces: WlanEnumInterfacesFn,
    scan: WlanScanFn,
    get_network_bss_list: WlanGetNetworkBssListFn,
    get_available_network_list: WlanGetAvailableNetworkListFn,
    query_interface: WlanQueryInterfaceFn,
    connect: WlanConnectFn,
    disconnect: WlanDisconnectFn,
    register_notification: WlanRegisterNotificationFn,
    free_memory: WlanFreeMemoryFn,
}

/// The loaded `wlanapi.dll`, freed on drop.
struct Library(HMODULE);

impl Drop for Library {
    fn drop(&mut self) {
        // SAFETY: the module was loaded by `LoadLibraryExW` and is freed once, after every
        // use of its functions (the client closes its handle before this field drops).
        unsafe { FreeLibrary(self.0) };
    }
}

impl Library {
    fn load() -> WlanResult<Library> {
        let name: Vec<u16> = "wlanapi.dll".encode_utf16().chain(std::iter::once(0)).collect();
        // SAFETY: `name` is a NUL-terminated UTF-16 string alive for the call; no file
        // handle is passed; the flag limits the search to System32.
        let module = unsafe { LoadLibraryExW(name.as_ptr(), ptr::null_mut(), LOAD_LIBRARY_SEARCH_SYSTEM32) };
        if module.is_null() {
            // SAFETY: reads the calling thread's last error, set by the failed load.
            let code = unsafe { GetLastError() };
            return Err(WlanError::new("LoadLibraryExW(wlanapi.dll)", code));
        }
        Ok(Library(module))
    }

    fn functions(&self) -> WlanResult<Functions> {
        macro_rules! resolve {
            ($name:literal as $ty:ty) => {{
                // SAFETY: the module handle is valid while `self` lives; the name is a
                // NUL-terminated ASCII literal.
                let address = unsafe { GetProcAddress(self.0, concat!($name, "\0").as_ptr()) };
                match address {
                    // SAFETY: the export has the signature declared in wlanapi.h, which `$ty`
                    // reproduces with the `windows-sys` types; both are `extern "system"`
                    // function pointers of the same size.
                    Some(function) => unsafe {
                        std::mem::transmute::<unsafe extern "system" fn() -> isize, $ty>(function)
                    },
                    None => {
                        return Err(WlanError::new(
                            concat!("GetProcAddress(", $name, ")"),
                            win32::ERROR_PROC_NOT_FOUND,
                        ));
                    }
                }
            }};
        }
        Ok(Functions {
            open_handle: resolve!("WlanOpenHandle" as WlanOpenHandleFn),
            close_handle: resolve!("WlanCloseHandle" as WlanCloseHandleFn),
            enum_interfaces: resolve!("WlanEnumInterfaces" as WlanEnumInterfacesFn),
            scan: resolve!("WlanScan" as WlanScanFn),
            get_network_bss_list: resolve!("WlanGetNetworkBssList" as WlanGetNetworkBssListFn),
            get_available_network_list: resolve!("WlanGetAvailableNetworkList" as WlanGetAvailableNetworkListFn),
            query_interface: resolve!("WlanQueryInterface" as WlanQueryInterfaceFn),
            connect: resolve!("WlanConnect" as WlanConnectFn),
            disconnect: resolve!("WlanDisconnect" as WlanDisconnectFn),
            register_notification: resolve!("WlanRegisterNotification" as WlanRegisterNotificationFn),
            free_memory: resolve!("WlanFreeMemory" as WlanFreeMemoryFn),
        })
    }
}

/// A block returned by a WLAN function, freed with `WlanFreeMemory` when dropped.
struct WlanMemory {
    block: *mut c_void,
    free: WlanFreeMemoryFn,
}

// `WlanMemory::counted_list` reads the item count at the start of the lists it is given.
const _: () = assert!(layout::INTERFACE_LIST.count_at == 0 && layout::NETWORK_LIST.count_at == 0);

impl WlanMemory {
    /// The first `len` bytes of the block.
    ///
    /// # Safety
    /// The block must be non-null and at least `len` bytes long.
    unsafe fn bytes(&self, len: usize) -> &[u8] {
        // SAFETY: the caller guarantees the length; the block lives as long as `self`.
        unsafe { std::slice::from_raw_parts(self.block.cast::<u8>(), len) }
    }

    /// The bytes of a counted list laid out as `list` (its `u32` item count first), or
    /// `None` when `function` returned no block.
    ///
    /// # Safety
    /// The block must be null or such a list, as `function` returned it.
    unsafe fn counted_list(&self, function: &'static str, list: ListLayout) -> WlanResult<Option<&[u8]>> {
        if self.block.is_null() {
            return Ok(None);
        }
        // SAFETY: the list starts with its item count (`dwNumberOfItems` at offset 0,
        // asserted above for both list types).
        let count = unsafe { self.block.cast::<u32>().read() };
        let len = list.byte_len(count).ok_or(WlanError::new(function, win32::ERROR_INVALID_PARAMETER))?;
        // SAFETY: the block holds the header and `count` entries.
        Ok(Some(unsafe { self.bytes(len) }))
    }
}

impl Drop for WlanMemory {
    fn drop(&mut self) {
        if !self.block.is_null() {
            // SAFETY: the block was allocated by a WLAN function and is freed once.
            unsafe { (self.free)(self.block) };
        }
    }
}

/// Where notification callbacks find the backend's callback.
#[derive(Default)]
struct NotifyContext {
    callback: RwLock<Option<NotificationCallback>>,
}

fn to_guid(uuid: Uuid) -> GUID {
    let (data1, data2, data3, data4) = uuid.as_fields();
    GUID { data1, data2, data3, data4: *data4 }
}

fn to_uuid(guid: &GUID) -> Uuid {
    Uuid::from_fields(guid.data1, guid.data2, guid.data3, &guid.data4)
}

fn to_dot11_ssid(ssid: &Ssid) -> DOT11_SSID {
    let mut bytes = [0u8; MAX_SSID_LEN];
    bytes[..ssid.len()].copy_from_slice(ssid.as_bytes());
    DOT11_SSID { uSSIDLength: ssid.len() as u32, ucSSID: bytes }
}

fn check(function: &'static str, code: u32) -> WlanResult<()> {
    if code == win32::ERROR_SUCCESS { Ok(()) } else { Err(WlanError::new(function, code)) }
}

/// Receives notifications on a WLAN service thread; hands them to the backend's callback.
extern "system" fn on_notification(data: *mut L2_NOTIFICATION_DATA, context: *mut c_void) {
    let delivered = catch_unwind(AssertUnwindSafe(|| {
        if data.is_null() || context.is_null() {
            return;
        }
        // SAFETY: the service passes a notification valid for the duration of the call.
        let data = unsafe { &*data };
        // SAFETY: `context` is the address of the client's boxed `NotifyContext`, given at
        // registration; it is freed only after notifications are unregistered, which waits
        // for running callbacks.
        let context = unsafe { &*context.cast::<NotifyContext>() };
        let payload: &[u8] = if data.pData.is_null() || data.dwDataSize == 0 {
            &[]
        } else {
            // SAFETY: `pData` points to `dwDataSize` bytes valid during the call.
            unsafe { std::slice::from_raw_parts(data.pData.cast::<u8>(), data.dwDataSize as usize) }
        };
        let Some(notification) = layout::decode_notification(data.NotificationSource, data.NotificationCode, payload)
        else {
            return;
        };
        let event = WlanEvent { interface: to_uuid(&data.InterfaceGuid), notification };
        let callback = context.callback.read().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(callback) = callback {
            callback(event);
        }
    }));
    if delivered.is_err() {
        tracing::error!("panic while handling a WLAN notification");
    }
}

/// An open WLAN client handle and the functions of `wlanapi.dll`.
pub struct WlanClient {
    handle: HANDLE,
    functions: Functions,
    context: Box<NotifyContext>,
    // Dropped last: the functions above belong to it.
    _library: Library,
}

// SAFETY: the WLAN client handle may be used from any thread (each call is a request to
// the WLAN service); the module handle is process-wide; the context is synchronized.
unsafe impl Send for WlanClient {}
// SAFETY: as above; no method needs exclusive access to the handle.
unsafe impl Sync for WlanClient {}

impl WlanClient {
    /// Loads `wlanapi.dll` and opens a client handle (WLAN API version 2).
    pub fn open() -> WlanResult<WlanClient> {
        let library = Library::load()?;
        let functions = library.functions()?;
        let mut negotiated = 0u32;
        let mut handle: HANDLE = ptr::null_mut();
        // SAFETY: out-pointers to locals; the reserved argument is null.
        let code = unsafe { (functions.open_handle)(WLAN_API_VERSION_2_0, ptr::null(), &mut negotiated, &mut handle) };
        check("WlanOpenHandle", code)?;
        tracing::info!(version = negotiated, "WLAN service opened");
        Ok(WlanClient { handle, functions, context: Box::default(), _library: library })
    }

    fn owned(&self, block: *mut c_void) -> WlanMemory {
        WlanMemory { block, free: self.functions.free_memory }
    }

    fn set_callback(&self, callback: Option<NotificationCallback>) {
        *self.context.callback.write().unwrap_or_else(|p| p.into_inner()) = callback;
    }
}

impl Drop for WlanClient {
    fn drop(&mut self) {
        let _ = self.unregister_notifications();
        // SAFETY: the handle was opened by `WlanOpenHandle` and is closed once.
        unsafe { (self.functions.close_handle)(self.handle, ptr::null()) };
    }
}

impl WlanApi for WlanClient {
    fn enum_interfaces(&self) -> WlanResult<Vec<WlanInterfaceInfo>> {
        let mut list: *mut WLAN_INTERFACE_INFO_LIST = ptr::null_mut();
        // SAFETY: open handle, null reserved argument, out-pointer to a local.
        let code = unsafe { (self.functions.enum_interfaces)(self.handle, ptr::null(), &mut list) };
        let memory = self.owned(list.cast());
        check("WlanEnumInterfaces", code)?;
        // SAFETY: the block is a `WLAN_INTERFACE_INFO_LIST`, or null.
        let entries = unsafe { memory.counted_list("WlanEnumInterfaces", layout::INTERFACE_LIST) }?;
        Ok(entries.map(layout::decode_interface_list).unwrap_or_default())
    }

    fn scan(&self, interface: Uuid, ssid: Option<&Ssid>) -> WlanResult<()> {
        let guid = to_guid(interface);
        let dot11 = ssid.map(to_dot11_ssid);
        let ssid_ptr = dot11.as_ref().map_or(ptr::null(), |s| s as *const DOT11_SSID);
        // SAFETY: the GUID and SSID live for the call; no IE data; null reserved argument.
        let code = unsafe { (self.functions.scan)(self.handle, &guid, ssid_ptr, ptr::null(), ptr::null()) };
        check("WlanScan", code)
    }

    fn bss_list(&self, interface: Uuid) -> WlanResult<Vec<WlanBss>> {
        let guid = to_guid(interface);
        let mut list: *mut WLAN_BSS_LIST = ptr::null_mut();
        // SAFETY: the GUID lives for the call; no SSID filter (the security flag is then
        // ignored); null reserved argument; out-pointer to a local.
        let code = unsafe {
            (self.functions.get_network_bss_list)(
                self.handle,
                &guid,
                ptr::null(),
                dot11_BSS_type_infrastructure,
                0,
                ptr::null(),
                &mut list,
            )
        };
        let memory = self.owned(list.cast());
        check("WlanGetNetworkBssList", code)?;
        if list.is_null() {
            return Ok(Vec::new());
        }
        // SAFETY: the list starts with the total size of the block, IEs included.
        let total = unsafe { (*list).dwTotalSize } as usize;
        // SAFETY: the block is `dwTotalSize` bytes long.
        Ok(layout::decode_bss_list(unsafe { memory.bytes(total) }))
    }

    fn available_networks(&self, interface: Uuid) -> WlanResult<Vec<WlanNetwork>> {
        let guid = to_guid(interface);
        let mut list: *mut WLAN_AVAILABLE_NETWORK_LIST = ptr::null_mut();
        // SAFETY: the GUID lives for the call; no flags; null reserved argument.
        let code =
            unsafe { (self.functions.get_available_network_list)(self.handle, &guid, 0, ptr::null(), &mut list) };
        let memory = self.owned(list.cast());
        check("WlanGetAvailableNetworkList", code)?;
        // SAFETY: the block is a `WLAN_AVAILABLE_NETWORK_LIST`, or null.
        let entries = unsafe { memory.counted_list("WlanGetAvailableNetworkList", layout::NETWORK_LIST) }?;
        Ok(entries.map(layout::decode_available_networks).unwrap_or_default())
    }

    fn current_connection(&self, interface: Uuid) -> WlanResult<Option<WlanConnection>> {
        let guid = to_guid(interface);
        let mut size = 0u32;
        let mut data: *mut c_void = ptr::null_mut();
        // SAFETY: the GUID lives for the call; out-pointers to locals; the value type is
        // optional (null).
        let code = unsafe {
            (self.functions.query_interface)(
                self.handle,
                &guid,
                wlan_intf_opcode_current_connection,
                ptr::null(),
                &mut size,
                &mut data,
                ptr::null_mut(),
            )
        };
        let memory = self.owned(data);
        // Not connected.
        if code == ERROR_INVALID_STATE {
            return Ok(None);
        }
        check("WlanQueryInterface", code)?;
        if data.is_null() {
            return Ok(None);
        }
        // SAFETY: the block is `size` bytes long, as the function reported.
        Ok(layout::decode_connection_attributes(unsafe { memory.bytes(size as usize) }))
    }

    fn connect(&self, interface: Uuid, profile_xml: &str, bssid: Option<Bssid>) -> WlanResult<()> {
        let guid = to_guid(interface);
        let profile: Zeroizing<Vec<u16>> =
            Zeroizing::new(profile_xml.encode_utf16().chain(std::iter::once(0)).collect());
        let mut desired = bssid.map(|bssid| DOT11_BSSID_LIST {
            Header: NDIS_OBJECT_HEADER {
                Type: NDIS_OBJECT_TYPE_DEFAULT as u8,
                Revision: DOT11_BSSID_LIST_REVISION_1 as u8,
                Size: size_of::<DOT11_BSSID_LIST>() as u16,
            },
            uNumOfEntries: 1,
            uTotalNumOfEntries: 1,
            BSSIDs: bssid.0,
        });
        let parameters = WLAN_CONNECTION_PARAMETERS {
            wlanConnectionMode: wlan_connection_mode_temporary_profile,
            strProfile: profile.as_ptr(),
            pDot11Ssid: ptr::null_mut(),
            pDesiredBssidList: desired.as_mut().map_or(ptr::null_mut(), |list| list as *mut DOT11_BSSID_LIST),
            dot11BssType: dot11_BSS_type_infrastructure,
            dwFlags: 0,
        };
        // SAFETY: the GUID, the NUL-terminated profile and the BSSID list live for the call;
        // null reserved argument.
        let code = unsafe { (self.functions.connect)(self.handle, &guid, &parameters, ptr::null()) };
        check("WlanConnect", code)
    }

    fn disconnect(&self, interface: Uuid) -> WlanResult<()> {
        let guid = to_guid(interface);
        // SAFETY: the GUID lives for the call; null reserved argument.
        let code = unsafe { (self.functions.disconnect)(self.handle, &guid, ptr::null()) };
        check("WlanDisconnect", code)
    }

    fn register_notifications(&self, callback: NotificationCallback) -> WlanResult<()> {
        self.set_callback(Some(callback));
        let context: *const NotifyContext = &*self.context;
        // SAFETY: the callback is a plain function; the context outlives the registration
        // (it is unregistered before the client, and its context, are dropped); duplicate
        // notifications are ignored; the previous sources are not asked for.
        let code = unsafe {
            (self.functions.register_notification)(
                self.handle,
                WLAN_NOTIFICATION_SOURCE_ACM | WLAN_NOTIFICATION_SOURCE_MSM,
                1,
                Some(on_notification),
                context.cast(),
                ptr::null(),
                ptr::null_mut(),
            )
        };
        check("WlanRegisterNotification", code)
    }

    fn unregister_notifications(&self) -> WlanResult<()> {
        // SAFETY: unregisters every source; waits for a callback in progress to return.
        let code = unsafe {
            (self.functions.register_notification)(
                self.handle,
                WLAN_NOTIFICATION_SOURCE_NONE,
                1,
                None,
                ptr::null(),
                ptr::null(),
                ptr::null_mut(),
            )
        };
        self.set_callback(None);
        check("WlanRegisterNotification", code)
    }
}
