//! What the guest is shown of the host's networks: BSS conversion and masking.
//!
//! The rule and its rendering are `crate::interface::guest_view`'s; this module reads the
//! WLAN service's (authentication, cipher) pair of a network. The guest is shown as
//! joinable only Open networks without a cipher and WPA2-PSK networks with CCMP or GCMP:
//! like the original Windows host, WPA3-SAE networks are masked too (the rule's "where the
//! backend can").

use proxy_wifi_protocol::{BssEntry, Capabilities};

use super::api::{Dot11AuthAlgorithm, Dot11CipherAlgorithm, WlanBss, WlanNetwork};
use crate::interface::AuthAlgorithm;
use crate::interface::guest_view::shown_to_guest;

/// Whether the guest can join a network of this authentication and cipher by itself.
pub fn is_supported(auth: Dot11AuthAlgorithm, cipher: Dot11CipherAlgorithm) -> bool {
    matches!(
        (auth, cipher),
        (Dot11AuthAlgorithm::Open, Dot11CipherAlgorithm::None)
            | (Dot11AuthAlgorithm::RsnaPsk, Dot11CipherAlgorithm::Ccmp)
            | (Dot11AuthAlgorithm::RsnaPsk, Dot11CipherAlgorithm::Gcmp)
    )
}

/// The authentication the guest sees for a network: Open for Open/none, WPA2-PSK for
/// everything else (supported WPA2-PSK, or masked).
pub fn guest_auth(auth: Dot11AuthAlgorithm, cipher: Dot11CipherAlgorithm) -> AuthAlgorithm {
    if (auth, cipher) == (Dot11AuthAlgorithm::Open, Dot11CipherAlgorithm::None) {
        AuthAlgorithm::Open
    } else {
        AuthAlgorithm::Wpa2Psk
    }
}

/// Converts one BSS of the WLAN cache into a scan entry for the guest, masked when the
/// network (found by SSID in `networks`) is not supported. A BSS whose network is not
/// listed is reported as it is.
pub fn convert_bss(bss: &WlanBss, networks: &[WlanNetwork]) -> BssEntry {
    let network = networks.iter().find(|n| n.ssid == bss.ssid);
    let masked = network.is_some_and(|n| !is_supported(n.auth, n.cipher));
    if let Some(n) = network.filter(|_| masked) {
        tracing::debug!(ssid = %bss.ssid, bssid = %bss.bssid, auth = %n.auth, cipher = %n.cipher,
            "network the guest cannot join itself: shown as WPA2-PSK (mirroring only)");
    }
    let (capabilities, ies) = shown_to_guest(Capabilities(bss.capabilities), &bss.ies, &bss.ssid, masked);
    BssEntry {
        bssid: bss.bssid,
        capabilities,
        rssi_dbm: bss.rssi_dbm,
        beacon_interval: bss.beacon_period,
        frequency_khz: bss.frequency_khz,
        ies,
    }
}

/// Converts the WLAN cache (BSS list and network list) into scan entries for the guest.
pub fn convert_scan(bss_list: &[WlanBss], networks: &[WlanNetwork]) -> Vec<BssEntry> {
    bss_list.iter().map(|bss| convert_bss(bss, networks)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxy_wifi_protocol::{
        AkmSuite, Bssid, CipherSuite, ElementId, InformationElements, RsnElement, Security, SecurityKind, Ssid,
        push_rsn_element,
    };

    fn ssid(s: &str) -> Ssid {
        Ssid::new(s.as_bytes()).unwrap()
    }

    fn network(name: &str, auth: Dot11AuthAlgorithm, cipher: Dot11CipherAlgorithm) -> WlanNetwork {
        WlanNetwork {
            ssid: ssid(name),
            auth,
            cipher,
            security_enabled: auth != Dot11AuthAlgorithm::Open,
            signal_quality: 80,
            connectable: true,
        }
    }

    fn bss(name: &str, capabilities: u16, ies: Vec<u8>) -> WlanBss {
        WlanBss {
            ssid: ssid(name),
            bssid: Bssid([2, 0, 0, 0, 0, 1]),
            phy_type: 8,
            rssi_dbm: -61,
            link_quality: 78,
            frequency_khz: 5_745_000,
            capabilities,
            beacon_period: 102,
            ies,
        }
    }

    fn enterprise_rsn() -> RsnElement {
        RsnElement {
            version: 1,
            group_cipher: CipherSuite::Ccmp,
            pairwise_ciphers: vec![CipherSuite::Ccmp],
            akm_suites: vec![AkmSuite::Ieee8021x],
            capabilities: 0x000c,
        }
    }

    #[test]
    fn supported_pairs() {
        use Dot11AuthAlgorithm as A;
        use Dot11CipherAlgorithm as C;
        assert!(is_supported(A::Open, C::None));
        assert!(is_supported(A::RsnaPsk, C::Ccmp));
        assert!(is_supported(A::RsnaPsk, C::Gcmp));
        for (auth, cipher) in [
            (A::Open, C::Wep),
            (A::SharedKey, C::Wep40),
            (A::WpaPsk, C::Tkip),
            (A::RsnaPsk, C::Tkip),
            (A::Rsna, C::Ccmp),
            (A::Wpa3Sae, C::Ccmp),
            (A::Owe, C::Ccmp),
            (A::Other(0x8000_0001u32 as i32), C::Ccmp),
        ] {
            assert!(!is_supported(auth, cipher), "{auth} {cipher}");
            assert_eq!(guest_auth(auth, cipher), AuthAlgorithm::Wpa2Psk);
        }
        assert_eq!(guest_auth(A::Open, C::None), AuthAlgorithm::Open);
    }

    #[test]
    fn supported_bss_is_reported_as_it_is() {
        let mut ies = vec![0, 4, b'h', b'o', b'm', b'e', 1, 2, 0x82, 0x84];
        push_rsn_element(&mut ies, &RsnElement::wpa2_psk());
        let entry = convert_bss(
            &bss("home", 0x0411, ies.clone()),
            &[network("home", Dot11AuthAlgorithm::RsnaPsk, Dot11CipherAlgorithm::Ccmp)],
        );
        assert_eq!(entry.bssid, Bssid([2, 0, 0, 0, 0, 1]));
        assert_eq!(entry.capabilities, Capabilities(0x0411));
        assert_eq!(entry.rssi_dbm, -61);
        assert_eq!(entry.beacon_interval, 102);
        assert_eq!(entry.frequency_khz, 5_745_000);
        assert_eq!(entry.ies, ies);
    }

    #[test]
    fn enterprise_bss_gets_a_wpa2_psk_rsn_element_and_keeps_its_other_elements() {
        let mut ies = vec![0, 4, b'c', b'o', b'r', b'p'];
        push_rsn_element(&mut ies, &enterprise_rsn());
        ies.extend_from_slice(&[45, 2, 0xef, 0x01]); // HT capabilities (shortened)
        let entry = convert_bss(
            &bss("corp", 0x0011, ies),
            &[network("corp", Dot11AuthAlgorithm::Rsna, Dot11CipherAlgorithm::Ccmp)],
        );
        let security = Security::from_bss(entry.capabilities, &entry.ies);
        assert_eq!(security.kind, SecurityKind::Wpa2Psk);
        assert_eq!(security.rsn, Some(RsnElement::wpa2_psk()));
        assert_eq!(entry.ssid(), Some(ssid("corp")));
        let ids: Vec<u8> = InformationElements::new(&entry.ies).map(|(id, _)| id.0).collect();
        assert_eq!(ids, vec![0, 48, 45], "one RSN element, right after the SSID; others kept");
    }

    #[test]
    fn wep_and_wpa1_bss_are_masked_with_privacy() {
        // WEP: no RSN, privacy bit only.
        let wep = convert_bss(
            &bss("old", 0x0001, vec![0, 3, b'o', b'l', b'd']),
            &[network("old", Dot11AuthAlgorithm::SharedKey, Dot11CipherAlgorithm::Wep)],
        );
        assert!(wep.capabilities.contains(Capabilities::PRIVACY));
        assert_eq!(Security::from_bss(wep.capabilities, &wep.ies).kind, SecurityKind::Wpa2Psk);
        // WPA1: its vendor element goes away.
        let ies = vec![0, 3, b'w', b'p', b'a', 221, 6, 0x00, 0x50, 0xf2, 0x01, 1, 0];
        let wpa = convert_bss(
            &bss("wpa", 0x0011, ies),
            &[network("wpa", Dot11AuthAlgorithm::WpaPsk, Dot11CipherAlgorithm::Tkip)],
        );
        assert!(!InformationElements::new(&wpa.ies).any(|(id, _)| id == ElementId::VENDOR_SPECIFIC));
        assert_eq!(Security::from_bss(wpa.capabilities, &wpa.ies).kind, SecurityKind::Wpa2Psk);
    }

    #[test]
    fn bss_without_a_listed_network_is_reported_as_it_is() {
        let ies = vec![0, 4, b'l', b'o', b'n', b'e'];
        let entry = convert_bss(&bss("lone", 0x0001, ies.clone()), &[]);
        assert_eq!(entry.ies, ies);
        assert_eq!(entry.capabilities, Capabilities::ESS);
    }

    #[test]
    fn unmasked_bss_without_ssid_element_gets_one() {
        let entry = convert_bss(&bss("open", 0x0001, vec![1, 1, 0x82]), &[]);
        assert_eq!(entry.ies, vec![0, 4, b'o', b'p', b'e', b'n', 1, 1, 0x82]);
    }
}
