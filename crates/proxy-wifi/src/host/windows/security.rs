//! What the guest is shown of the host's networks: BSS conversion and masking.
//!
//! The guest can join by itself only Open networks without a cipher and WPA2-PSK networks
//! with CCMP or GCMP. Every other network (enterprise, WPA1, WEP, WPA3, OWE, ...) is
//! *masked*: its BSSs are reported with a made-up WPA2-PSK RSN element (and the Privacy
//! bit), so that the guest lists them and can mirror a host connection to them.

use proxy_wifi_protocol::{
    BssEntry, Capabilities, ElementId, InformationElements, RsnElement, Ssid, push_rsn_element, push_ssid_element,
};

use super::api::{Dot11AuthAlgorithm, Dot11CipherAlgorithm, WlanBss, WlanNetwork};
use crate::interface::AuthAlgorithm;

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

/// Whether an element is a WPA (version 1) vendor element.
fn is_wpa1_element(id: ElementId, data: &[u8]) -> bool {
    id == ElementId::VENDOR_SPECIFIC && data.starts_with(&[0x00, 0x50, 0xf2, 0x01])
}

/// The IEs of a masked BSS: its own elements without RSN and WPA1 elements, with a
/// WPA2-PSK RSN element right after the SSID element (which is added if missing).
pub fn masked_ies(ies: &[u8], ssid: &Ssid) -> Vec<u8> {
    let mut out = Vec::with_capacity(ies.len() + 24);
    let mut rsn_written = false;
    let has_ssid = InformationElements::new(ies).any(|(id, _)| id == ElementId::SSID);
    if !has_ssid {
        push_ssid_element(&mut out, ssid);
        push_rsn_element(&mut out, &RsnElement::wpa2_psk());
        rsn_written = true;
    }
    for (id, data) in InformationElements::new(ies) {
        if id == ElementId::RSN || is_wpa1_element(id, data) {
            continue;
        }
        out.push(id.0);
        out.push(data.len() as u8);
        out.extend_from_slice(data);
        if id == ElementId::SSID && !rsn_written {
            push_rsn_element(&mut out, &RsnElement::wpa2_psk());
            rsn_written = true;
        }
    }
    out
}

/// The IEs of a BSS reported as it is: unchanged, with an SSID element put first if the
/// WLAN service gave none (the guest reads the SSID from the IEs only).
fn unmasked_ies(ies: &[u8], ssid: &Ssid) -> Vec<u8> {
    if InformationElements::new(ies).any(|(id, _)| id == ElementId::SSID) {
        return ies.to_vec();
    }
    let mut out = Vec::with_capacity(ies.len() + 2 + ssid.len());
    push_ssid_element(&mut out, ssid);
    out.extend_from_slice(ies);
    out
}

/// Converts one BSS of the WLAN cache into a scan entry for the guest, masked when the
/// network (found by SSID in `networks`) is not supported. A BSS whose network is not
/// listed is reported as it is.
pub fn convert_bss(bss: &WlanBss, networks: &[WlanNetwork]) -> BssEntry {
    let network = networks.iter().find(|n| n.ssid == bss.ssid);
    let masked = network.is_some_and(|n| !is_supported(n.auth, n.cipher));
    let mut capabilities = Capabilities(bss.capabilities);
    let ies = if masked {
        if let Some(n) = network {
            tracing::debug!(ssid = %bss.ssid, bssid = %bss.bssid, auth = %n.auth, cipher = %n.cipher,
                "network the guest cannot join itself: shown as WPA2-PSK (mirroring only)");
        }
        capabilities = capabilities | Capabilities::PRIVACY;
        masked_ies(&bss.ies, &bss.ssid)
    } else {
        unmasked_ies(&bss.ies, &bss.ssid)
    };
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
    use proxy_wifi_protocol::{AkmSuite, Bssid, CipherSuite, Security, SecurityKind};

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
    fn masked_bss_without_ssid_element_gets_one() {
        let out = masked_ies(&[], &ssid("x"));
        assert_eq!(&out[..3], &[0, 1, b'x']);
        assert_eq!(RsnElement::parse(&out[5..]), Some(RsnElement::wpa2_psk()));
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
