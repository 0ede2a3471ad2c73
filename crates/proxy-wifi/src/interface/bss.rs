//! Building scan entries for networks the service describes itself (fake and simulated).

use proxy_wifi_protocol::{BssEntry, Bssid, Capabilities, RsnElement, Ssid, push_rsn_element, push_ssid_element};

use super::AuthAlgorithm;

/// Beacon interval reported for described networks (TUs).
pub const BEACON_INTERVAL: u16 = 100;

/// A scan entry with an SSID element and, for protected networks, an RSN element
/// (CCMP group and pairwise; PSK or SAE).
pub fn build_bss_entry(ssid: &Ssid, bssid: Bssid, auth: AuthAlgorithm, frequency_mhz: u32, rssi_dbm: i32) -> BssEntry {
    let mut ies = Vec::with_capacity(2 + ssid.len() + 22);
    push_ssid_element(&mut ies, ssid);
    let capabilities = match auth {
        AuthAlgorithm::Open => Capabilities::ESS,
        AuthAlgorithm::Wpa2Psk => {
            push_rsn_element(&mut ies, &RsnElement::wpa2_psk());
            Capabilities::ESS | Capabilities::PRIVACY
        }
        AuthAlgorithm::Wpa3Sae => {
            push_rsn_element(&mut ies, &RsnElement::wpa3_sae());
            Capabilities::ESS | Capabilities::PRIVACY
        }
    };
    BssEntry {
        bssid,
        capabilities,
        rssi_dbm,
        beacon_interval: BEACON_INTERVAL,
        frequency_khz: frequency_mhz * 1000,
        ies,
    }
}
