//! Building scan entries for networks described by their properties only: the fake and
//! simulated networks, and host backends that have no IE dump (NetworkManager).

use proxy_wifi_protocol::{
    AkmSuite, BssEntry, Bssid, Capabilities, RsnElement, Ssid, push_rsn_element, push_ssid_element,
};

use super::AuthAlgorithm;

/// Beacon interval reported for described networks (TUs).
pub const BEACON_INTERVAL: u16 = 100;

/// The security a described network is given in its scan entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BssSecurity {
    /// No RSN element, no privacy.
    Open,
    /// RSN: CCMP group and pairwise, PSK.
    Wpa2Psk,
    /// RSN: CCMP group and pairwise, SAE.
    Wpa3Sae,
    /// RSN: CCMP group and pairwise, PSK and SAE (transition mode).
    Wpa2Wpa3,
}

impl From<AuthAlgorithm> for BssSecurity {
    fn from(auth: AuthAlgorithm) -> Self {
        match auth {
            AuthAlgorithm::Open => BssSecurity::Open,
            AuthAlgorithm::Wpa2Psk => BssSecurity::Wpa2Psk,
            AuthAlgorithm::Wpa3Sae => BssSecurity::Wpa3Sae,
        }
    }
}

/// A scan entry with an SSID element and, for protected networks, an RSN element.
pub fn build_bss_entry(
    ssid: &Ssid,
    bssid: Bssid,
    security: impl Into<BssSecurity>,
    frequency_mhz: u32,
    rssi_dbm: i32,
) -> BssEntry {
    let mut ies = Vec::with_capacity(2 + ssid.len() + 26);
    push_ssid_element(&mut ies, ssid);
    let rsn = match security.into() {
        BssSecurity::Open => None,
        BssSecurity::Wpa2Psk => Some(RsnElement::wpa2_psk()),
        BssSecurity::Wpa3Sae => Some(RsnElement::wpa3_sae()),
        BssSecurity::Wpa2Wpa3 => {
            Some(RsnElement { akm_suites: vec![AkmSuite::Psk, AkmSuite::Sae], ..RsnElement::wpa2_psk() })
        }
    };
    let mut capabilities = Capabilities::ESS;
    if let Some(rsn) = rsn {
        push_rsn_element(&mut ies, &rsn);
        capabilities = capabilities | Capabilities::PRIVACY;
    }
    BssEntry {
        bssid,
        capabilities,
        rssi_dbm,
        beacon_interval: BEACON_INTERVAL,
        frequency_khz: frequency_mhz * 1000,
        ies,
    }
}
