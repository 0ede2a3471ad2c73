//! The application's observer: a table of C function pointers plus `user_data`.

use std::ffi::c_void;

use proxy_wifi::{
    Authorization, ConnectRequestArgs, ConnectionArgs, DisconnectRequestArgs, GuestId, Observer, OperationStatus,
    OperationType,
};

use crate::callback::{UserData, enter};
use crate::types::{
    GuestView, PWIFI_AUTHORIZATION_APPROVE, interface_id_to_c, operation_status_to_c, operation_type_to_c,
    pwifi_authorization, pwifi_connect_request, pwifi_connection, pwifi_disconnect_request, pwifi_guest,
    pwifi_operation_status, pwifi_operation_type,
};

/// The observer's callbacks. Any of them may be NULL (the default: nothing, and approve
/// for `authorize_guest_connection_request`).
///
/// Thread: every callback runs on the service's observer thread, one at a time, in the
/// order of the events; never re-entrantly. Pointers in the arguments are valid during
/// the call only: copy what you keep.
///
/// A callback may call: `pwifi_service_status`, `pwifi_service_status_json`, the
/// `pwifi_service_sim_*` and `pwifi_service_interface_*` event functions,
/// `pwifi_service_add_interface` / `pwifi_service_remove_interface`, `pwifi_last_error`.
/// It must not call `pwifi_service_stop` or `pwifi_service_free` (they return
/// `PWIFI_ERR_STATE`). It must not unwind (C++ exceptions, longjmp) out of the call.
/// Authorization and scan callbacks hold up the guest's request while they run.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct pwifi_observer {
    /// The host connected an interface to a network (`connection->guest` is NULL).
    pub on_host_connection: Option<unsafe extern "C" fn(user_data: *mut c_void, connection: *const pwifi_connection)>,
    /// The host lost or left a connection (`connection->guest` is NULL).
    pub on_host_disconnection:
        Option<unsafe extern "C" fn(user_data: *mut c_void, connection: *const pwifi_connection)>,
    /// The guest asks to connect: return `PWIFI_AUTHORIZATION_APPROVE` or
    /// `PWIFI_AUTHORIZATION_DENY` (any other value denies). The request waits for it.
    pub authorize_guest_connection_request: Option<
        unsafe extern "C" fn(
            user_data: *mut c_void,
            kind: pwifi_operation_type,
            request: *const pwifi_connect_request,
        ) -> pwifi_authorization,
    >,
    /// A guest connection request finished.
    pub on_guest_connection_completion: Option<
        unsafe extern "C" fn(
            user_data: *mut c_void,
            kind: pwifi_operation_type,
            status: pwifi_operation_status,
            connection: *const pwifi_connection,
        ),
    >,
    /// The guest asks to disconnect.
    pub on_guest_disconnection_request: Option<
        unsafe extern "C" fn(
            user_data: *mut c_void,
            kind: pwifi_operation_type,
            request: *const pwifi_disconnect_request,
        ),
    >,
    /// A guest disconnection finished.
    pub on_guest_disconnection_completion: Option<
        unsafe extern "C" fn(
            user_data: *mut c_void,
            kind: pwifi_operation_type,
            status: pwifi_operation_status,
            request: *const pwifi_disconnect_request,
        ),
    >,
    /// A guest asked for a scan; the scan starts when this returns.
    pub on_guest_scan_request: Option<unsafe extern "C" fn(user_data: *mut c_void, guest: *const pwifi_guest)>,
    /// A guest scan finished; the answer is sent when this returns.
    pub on_guest_scan_completion:
        Option<unsafe extern "C" fn(user_data: *mut c_void, guest: *const pwifi_guest, status: pwifi_operation_status)>,
}

/// An [`Observer`] calling the application's table.
pub(crate) struct CObserver {
    pub(crate) table: pwifi_observer,
    pub(crate) user_data: UserData,
}

fn connection_view(args: &ConnectionArgs) -> (Option<Box<GuestView>>, impl Fn(*const pwifi_guest) -> pwifi_connection) {
    let guest = args.guest.as_ref().map(GuestView::new);
    let ssid = args.ssid;
    let (has_interface, interface_id) = match args.interface {
        Some(id) => (true, interface_id_to_c(id)),
        None => (false, [0; 16]),
    };
    let bssid = args.bssid.0;
    let auth = crate::types::auth_to_c(args.auth);
    (guest, move |guest| pwifi_connection {
        guest,
        has_interface,
        interface_id,
        ssid: ssid.as_bytes().as_ptr(),
        ssid_len: ssid.len(),
        bssid,
        auth,
    })
}

fn disconnect_view(request: &DisconnectRequestArgs, guest: &GuestView) -> pwifi_disconnect_request {
    pwifi_disconnect_request {
        guest: guest.as_ptr(),
        interface_id: interface_id_to_c(request.interface),
        ssid: request.ssid.as_bytes().as_ptr(),
        ssid_len: request.ssid.len(),
    }
}

impl CObserver {
    fn host_event(
        &self,
        callback: Option<unsafe extern "C" fn(*mut c_void, *const pwifi_connection)>,
        args: &ConnectionArgs,
    ) {
        let Some(callback) = callback else { return };
        let (guest, build) = connection_view(args);
        let connection = build(guest.as_ref().map_or(std::ptr::null(), |g| g.as_ptr()));
        // SAFETY: the application's callback; `connection` and what it points to live
        // until the call returns.
        enter(|| unsafe { callback(self.user_data.0, &connection) });
    }
}

impl Observer for CObserver {
    fn on_host_connection(&self, connection: &ConnectionArgs) {
        self.host_event(self.table.on_host_connection, connection);
    }

    fn on_host_disconnection(&self, connection: &ConnectionArgs) {
        self.host_event(self.table.on_host_disconnection, connection);
    }

    fn authorize_guest_connection_request(&self, kind: OperationType, request: &ConnectRequestArgs) -> Authorization {
        let Some(callback) = self.table.authorize_guest_connection_request else { return Authorization::Approve };
        let guest = GuestView::new(&request.guest);
        let (has_interface, interface_id) = match request.interface {
            Some(id) => (true, interface_id_to_c(id)),
            None => (false, [0; 16]),
        };
        let args = pwifi_connect_request {
            guest: guest.as_ptr(),
            has_interface,
            interface_id,
            ssid: request.ssid.as_bytes().as_ptr(),
            ssid_len: request.ssid.len(),
            auth: crate::types::auth_to_c(request.auth),
        };
        // SAFETY: the application's callback; `args` and what it points to outlive the call.
        let verdict = enter(|| unsafe { callback(self.user_data.0, operation_type_to_c(kind), &args) });
        if verdict == PWIFI_AUTHORIZATION_APPROVE { Authorization::Approve } else { Authorization::Deny }
    }

    fn on_guest_connection_completion(&self, kind: OperationType, status: OperationStatus, args: &ConnectionArgs) {
        let Some(callback) = self.table.on_guest_connection_completion else { return };
        let (guest, build) = connection_view(args);
        let connection = build(guest.as_ref().map_or(std::ptr::null(), |g| g.as_ptr()));
        // SAFETY: the application's callback; `connection` outlives the call.
        enter(|| unsafe {
            callback(self.user_data.0, operation_type_to_c(kind), operation_status_to_c(status), &connection)
        });
    }

    fn on_guest_disconnection_request(&self, kind: OperationType, request: &DisconnectRequestArgs) {
        let Some(callback) = self.table.on_guest_disconnection_request else { return };
        let guest = GuestView::new(&request.guest);
        let args = disconnect_view(request, &guest);
        // SAFETY: the application's callback; `args` outlives the call.
        enter(|| unsafe { callback(self.user_data.0, operation_type_to_c(kind), &args) });
    }

    fn on_guest_disconnection_completion(
        &self,
        kind: OperationType,
        status: OperationStatus,
        request: &DisconnectRequestArgs,
    ) {
        let Some(callback) = self.table.on_guest_disconnection_completion else { return };
        let guest = GuestView::new(&request.guest);
        let args = disconnect_view(request, &guest);
        // SAFETY: the application's callback; `args` outlives the call.
        enter(|| unsafe {
            callback(self.user_data.0, operation_type_to_c(kind), operation_status_to_c(status), &args)
        });
    }

    fn on_guest_scan_request(&self, guest: &GuestId) {
        let Some(callback) = self.table.on_guest_scan_request else { return };
        let guest = GuestView::new(guest);
        // SAFETY: the application's callback; `guest` outlives the call.
        enter(|| unsafe { callback(self.user_data.0, guest.as_ptr()) });
    }

    fn on_guest_scan_completion(&self, guest: &GuestId, status: OperationStatus) {
        let Some(callback) = self.table.on_guest_scan_completion else { return };
        let guest = GuestView::new(guest);
        // SAFETY: the application's callback; `guest` outlives the call.
        enter(|| unsafe { callback(self.user_data.0, guest.as_ptr(), operation_status_to_c(status)) });
    }
}
