//! D-Bus proxies of the NetworkManager objects used (NetworkManager D-Bus API 1.x).

use std::collections::HashMap;

use zbus::zvariant::{ObjectPath, OwnedObjectPath, OwnedValue, Value};

/// `org.freedesktop.NetworkManager`.
#[zbus::proxy(
    interface = "org.freedesktop.NetworkManager",
    default_service = "org.freedesktop.NetworkManager",
    default_path = "/org/freedesktop/NetworkManager"
)]
pub trait NetworkManager {
    /// The network devices (realized ones).
    fn get_devices(&self) -> zbus::Result<Vec<OwnedObjectPath>>;

    /// Adds a connection and activates it; `options` may ask for `persist: volatile`.
    #[zbus(name = "AddAndActivateConnection2")]
    fn add_and_activate_connection2(
        &self,
        connection: HashMap<&str, HashMap<&str, Value<'_>>>,
        device: &ObjectPath<'_>,
        specific_object: &ObjectPath<'_>,
        options: HashMap<&str, Value<'_>>,
    ) -> zbus::Result<(OwnedObjectPath, OwnedObjectPath, HashMap<String, OwnedValue>)>;

    /// Deactivates an active connection.
    fn deactivate_connection(&self, active_connection: &ObjectPath<'_>) -> zbus::Result<()>;

    /// A device appeared.
    #[zbus(signal)]
    fn device_added(&self, device_path: ObjectPath<'_>) -> zbus::Result<()>;

    /// A device disappeared.
    #[zbus(signal)]
    fn device_removed(&self, device_path: ObjectPath<'_>) -> zbus::Result<()>;
}

/// `org.freedesktop.NetworkManager.Device`.
#[zbus::proxy(interface = "org.freedesktop.NetworkManager.Device", default_service = "org.freedesktop.NetworkManager")]
pub trait Device {
    /// The kernel interface name.
    #[zbus(property)]
    fn interface(&self) -> zbus::Result<String>;

    /// `NMDeviceType` (2 is Wi-Fi).
    #[zbus(property)]
    fn device_type(&self) -> zbus::Result<u32>;

    /// `NMDeviceState` (the `State` property).
    #[zbus(property, name = "State")]
    fn device_state(&self) -> zbus::Result<u32>;

    /// The active connection, or `/`.
    #[zbus(property)]
    fn active_connection(&self) -> zbus::Result<OwnedObjectPath>;

    /// The device's state changed: new state, old state, reason.
    #[zbus(signal)]
    fn state_changed(&self, new_state: u32, old_state: u32, reason: u32) -> zbus::Result<()>;
}

/// `org.freedesktop.NetworkManager.Device.Wireless`.
#[zbus::proxy(
    interface = "org.freedesktop.NetworkManager.Device.Wireless",
    default_service = "org.freedesktop.NetworkManager"
)]
pub trait Wireless {
    /// Asks for a scan; `options` may hold `ssids` (`aay`) for a targeted one.
    fn request_scan(&self, options: HashMap<&str, Value<'_>>) -> zbus::Result<()>;

    /// Every access point known, hidden ones included.
    fn get_all_access_points(&self) -> zbus::Result<Vec<OwnedObjectPath>>;

    /// The access point of the current connection, or `/`.
    #[zbus(property)]
    fn active_access_point(&self) -> zbus::Result<OwnedObjectPath>;

    /// `CLOCK_BOOTTIME` milliseconds of the last finished scan (-1: never).
    #[zbus(property)]
    fn last_scan(&self) -> zbus::Result<i64>;
}

/// `org.freedesktop.DBus.Properties` of a NetworkManager object.
#[zbus::proxy(interface = "org.freedesktop.DBus.Properties", default_service = "org.freedesktop.NetworkManager")]
pub trait NmProperties {
    /// Every property of `interface_name`.
    fn get_all(&self, interface_name: &str) -> zbus::Result<HashMap<String, OwnedValue>>;

    /// One property.
    fn get(&self, interface_name: &str, property_name: &str) -> zbus::Result<OwnedValue>;

    /// Properties of `interface_name` changed.
    #[zbus(signal)]
    fn properties_changed(
        &self,
        interface_name: &str,
        changed_properties: HashMap<&str, Value<'_>>,
        invalidated_properties: Vec<&str>,
    ) -> zbus::Result<()>;
}

/// `org.freedesktop.NetworkManager.Settings.Connection`.
#[zbus::proxy(
    interface = "org.freedesktop.NetworkManager.Settings.Connection",
    default_service = "org.freedesktop.NetworkManager"
)]
pub trait SettingsConnection {
    /// Deletes the connection.
    fn delete(&self) -> zbus::Result<()>;
}
