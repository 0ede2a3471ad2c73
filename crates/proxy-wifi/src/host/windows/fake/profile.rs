//! How the fake reads the temporary profile XML of a `WlanConnect` call.

use proxy_wifi_protocol::{Bssid, Ssid};
use uuid::Uuid;

use crate::host::windows::profile::PROFILE_NAMESPACE;

/// A `WlanConnect` call, as the fake understood its profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeConnectCall {
    /// The interface.
    pub interface: Uuid,
    /// The SSID from the profile's `<hex>` element.
    pub ssid: Ssid,
    /// The profile's `<name>`.
    pub name: String,
    /// The profile's `<security>` element.
    pub security: FakeProfileSecurity,
    /// The desired BSSID, if any.
    pub bssid: Option<Bssid>,
}

/// The `<MSM><security>` element of a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeProfileSecurity {
    /// `<authentication>`.
    pub authentication: String,
    /// `<encryption>`.
    pub encryption: String,
    /// `<keyType>`, if any.
    pub key_type: Option<String>,
    /// `<keyMaterial>`, unescaped, if any.
    pub key_material: Option<String>,
}

/// Reads a temporary profile the way the WLAN service would: a well-formed document in the
/// profile namespace with an SSID (`<hex>` preferred to `<name>`) and its security.
pub(super) fn parse_profile(xml: &str, interface: Uuid, bssid: Option<Bssid>) -> Option<FakeConnectCall> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    let root = doc.root_element();
    if root.tag_name().name() != "WLANProfile" || root.tag_name().namespace() != Some(PROFILE_NAMESPACE) {
        return None;
    }
    let path = |names: &[&str]| -> Option<String> {
        let mut node = root;
        for name in names {
            node = node.children().find(|c| c.is_element() && c.tag_name().name() == *name)?;
        }
        Some(node.text().unwrap_or_default().to_owned())
    };
    let ssid = match path(&["SSIDConfig", "SSID", "hex"]) {
        Some(digits) => Ssid::new(&hex::decode(digits).ok()?).ok()?,
        None => Ssid::new(path(&["SSIDConfig", "SSID", "name"])?.as_bytes()).ok()?,
    };
    if path(&["connectionType"])? != "ESS" {
        return None;
    }
    Some(FakeConnectCall {
        interface,
        ssid,
        name: path(&["name"])?,
        security: FakeProfileSecurity {
            authentication: path(&["MSM", "security", "authEncryption", "authentication"])?,
            encryption: path(&["MSM", "security", "authEncryption", "encryption"])?,
            key_type: path(&["MSM", "security", "sharedKey", "keyType"]),
            key_material: path(&["MSM", "security", "sharedKey", "keyMaterial"]),
        },
        bssid,
    })
}
