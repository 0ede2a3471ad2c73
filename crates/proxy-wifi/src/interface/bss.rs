//! Building scan entries for networks described by their properties only: the fake and
//! simulated networks, and host backends that have no IE dump (NetworkManager).

use proxy_wifi_protocol::{
    BssEntry, Bssid, Capabilities, RsnElement, SixGhzOperation, Ssid, push_he_capabilities_element,
    push_he_operation_element, push_rsn_element, push_ssid_element, six_ghz_primary_channel,
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
    /// RSN: CCMP group and pairwise, SAE, management frame protection required.
    Wpa3Sae,
    /// RSN: CCMP group and pairwise, PSK and SAE, management frame protection capable
    /// (transition mode).
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

/// A scan entry with an SSID element, for protected networks an RSN element, and for a
/// network on a 6 GHz channel HE Capabilities and HE Operation elements (a 20 MHz
/// indoor BSS on that channel): stations drop a 6 GHz BSS without 6 GHz Operation
/// Information (Linux 6.7 and newer), every real 6 GHz AP sends it.
pub fn build_bss_entry(
    ssid: &Ssid,
    bssid: Bssid,
    security: impl Into<BssSecurity>,
    frequency_mhz: u32,
    rssi_dbm: i32,
) -> BssEntry {
    let mut ies = Vec::with_capacity(2 + ssid.len() + 26 + 24 + 14);
    push_ssid_element(&mut ies, ssid);
    let rsn = match security.into() {
        BssSecurity::Open => None,
        BssSecurity::Wpa2Psk => Some(RsnElement::wpa2_psk()),
        BssSecurity::Wpa3Sae => Some(RsnElement::wpa3_sae()),
        BssSecurity::Wpa2Wpa3 => Some(RsnElement::wpa2_wpa3_transition()),
    };
    let mut capabilities = Capabilities::ESS;
    if let Some(rsn) = rsn {
        push_rsn_element(&mut ies, &rsn);
        capabilities = capabilities | Capabilities::PRIVACY;
    }
    if let Some(channel) = six_ghz_primary_channel(frequency_mhz) {
        push_he_capabilities_element(&mut ies);
        push_he_operation_element(&mut ies, bss_color(bssid), &SixGhzOperation::twenty_mhz(channel));
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

/// A BSS colour (1-63) derived from the BSSID, so neighbouring described networks
/// rarely share one.
fn bss_color(bssid: Bssid) -> u8 {
    bssid.0[5] % 63 + 1
}

#[cfg(test)]
mod tests {
    use proxy_wifi_protocol::{ElementId, InformationElements};

    use super::*;

    fn ssid(s: &str) -> Ssid {
        Ssid::new(s.as_bytes()).unwrap()
    }

    /// The built-in `Fake6GHz` (open, 6115 MHz = channel 33, BSSID …:03): SSID element,
    /// then HE Capabilities (IEEE 802.11ax-2021 9.4.2.248) and HE Operation with 6 GHz
    /// Operation Information (9.4.2.249): primary channel 33, 20 MHz, indoor AP,
    /// segment 0 33, segment 1 0, minimum rate 6 Mb/s; BSS colour 4.
    #[test]
    fn a_6ghz_network_gets_he_capabilities_and_he_operation_with_6ghz_information() {
        let entry = build_bss_entry(&ssid("Fake6GHz"), Bssid([0, 0, 0, 0, 0, 3]), BssSecurity::Open, 6115, -80);
        let mut expected = vec![0, 8];
        expected.extend_from_slice(b"Fake6GHz");
        expected.extend_from_slice(&[
            255, 22, 35, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xfe, 0xff,
        ]);
        expected.extend_from_slice(&[255, 12, 36, 0xf0, 0x3f, 0x02, 4, 0xfc, 0xff, 33, 0, 33, 0, 6]);
        assert_eq!(entry.ies, expected);
        assert_eq!((entry.capabilities, entry.frequency_khz), (Capabilities::ESS, 6_115_000));
    }

    #[test]
    fn he_elements_follow_the_rsn_element_and_only_on_6ghz_channels() {
        let ids = |frequency_mhz, security| {
            let entry = build_bss_entry(&ssid("n"), Bssid([2, 0, 0, 0, 0, 9]), security, frequency_mhz, -50);
            InformationElements::new(&entry.ies).map(|(id, data)| (id, data.first().copied())).collect::<Vec<_>>()
        };
        let ext = |n| (ElementId::EXTENSION, Some(n));
        assert_eq!(
            ids(5955, BssSecurity::Wpa3Sae),
            [(ElementId::SSID, Some(b'n')), (ElementId::RSN, Some(1)), ext(35), ext(36)]
        );
        assert_eq!(ids(5240, BssSecurity::Wpa3Sae), [(ElementId::SSID, Some(b'n')), (ElementId::RSN, Some(1))]);
        assert_eq!(ids(2437, BssSecurity::Open), [(ElementId::SSID, Some(b'n'))]);
        assert_eq!(ids(6120, BssSecurity::Open).len(), 1, "6120 MHz is no 20 MHz channel centre");
    }

    #[test]
    fn wpa3_networks_protect_management_frames() {
        let rsn = |security| {
            let entry = build_bss_entry(&ssid("n"), Bssid([2, 0, 0, 0, 0, 1]), security, 2462, -50);
            let (_, data) = InformationElements::new(&entry.ies).find(|(id, _)| *id == ElementId::RSN).unwrap();
            RsnElement::parse(data).unwrap().capabilities
        };
        assert_eq!(rsn(BssSecurity::Wpa3Sae), RsnElement::MFPC | RsnElement::MFPR);
        assert_eq!(rsn(BssSecurity::Wpa2Wpa3), RsnElement::MFPC);
        assert_eq!(rsn(BssSecurity::Wpa2Psk), 0);
    }
}
