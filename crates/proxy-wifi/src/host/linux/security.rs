//! What the guest is shown of a host BSS: its real IEs when it could join the network
//! itself, a made-up WPA2-PSK RSN element otherwise (so it can still mirror a host
//! connection), as the Windows backend does.

use proxy_wifi_protocol::{
    AkmSuite, BssEntry, Bssid, Capabilities, CipherSuite, ElementId, InformationElements, RsnElement, Security,
    SecurityKind, Ssid, push_rsn_element, push_ssid_element,
};

use crate::interface::AuthAlgorithm;

/// Whether an RSN element describes a network the guest can join itself: a PSK or SAE
/// AKM with a CCMP or GCMP pairwise cipher.
pub fn rsn_is_supported(rsn: &RsnElement) -> bool {
    let akm = rsn.akm_suites.iter().any(|a| matches!(a, AkmSuite::Psk | AkmSuite::Sae));
    let cipher = rsn.pairwise_ciphers.iter().any(|c| matches!(c, CipherSuite::Ccmp | CipherSuite::Gcmp));
    akm && cipher
}

/// How the guest sees a BSS with these capabilities and IEs: open, WPA2-PSK or WPA3-SAE,
/// and `None` when it must be masked (WEP, WPA1, enterprise, OWE, TKIP-only, ...).
pub fn guest_auth(capabilities: Capabilities, ies: &[u8]) -> Option<AuthAlgorithm> {
    let security = Security::from_bss(capabilities, ies);
    match (security.kind, &security.rsn) {
        (SecurityKind::Open, _) => Some(AuthAlgorithm::Open),
        (SecurityKind::Wpa2Psk | SecurityKind::Wpa2Wpa3, Some(rsn)) if rsn_is_supported(rsn) => {
            Some(AuthAlgorithm::Wpa2Psk)
        }
        (SecurityKind::Wpa3Sae, Some(rsn)) if rsn_is_supported(rsn) => Some(AuthAlgorithm::Wpa3Sae),
        _ => None,
    }
}

/// The IEs and capabilities the guest gets for a BSS: unchanged when the guest can join
/// the network, otherwise without its RSN and WPA1 elements and with a made-up WPA2-PSK
/// RSN element (and the privacy bit). Returns the auth the guest will see.
pub fn guest_view(capabilities: Capabilities, ies: &[u8]) -> (Capabilities, Vec<u8>, AuthAlgorithm) {
    if let Some(auth) = guest_auth(capabilities, ies) {
        return (capabilities, ies.to_vec(), auth);
    }
    let mut out = Vec::with_capacity(ies.len() + 22);
    for (id, data) in InformationElements::new(ies) {
        let wpa1 = id == ElementId::VENDOR_SPECIFIC && data.starts_with(&[0x00, 0x50, 0xf2, 0x01]);
        if id == ElementId::RSN || wpa1 {
            continue;
        }
        out.push(id.0);
        out.push(data.len() as u8);
        out.extend_from_slice(data);
    }
    push_rsn_element(&mut out, &RsnElement::wpa2_psk());
    (capabilities | Capabilities::PRIVACY, out, AuthAlgorithm::Wpa2Psk)
}

/// The security of an access point as NetworkManager describes it, summarised for
/// synthesizing its IEs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynthesizedSecurity {
    /// No privacy.
    Open,
    /// WPA2-PSK with CCMP.
    Wpa2Psk,
    /// WPA3-SAE with CCMP.
    Wpa3Sae,
    /// WPA2-PSK and SAE (transition mode).
    Wpa2Wpa3,
    /// Anything the guest cannot join (shown to it as WPA2-PSK).
    Masked,
}

impl SynthesizedSecurity {
    /// How the guest sees it.
    pub fn guest_auth(self) -> AuthAlgorithm {
        match self {
            SynthesizedSecurity::Open => AuthAlgorithm::Open,
            SynthesizedSecurity::Wpa3Sae => AuthAlgorithm::Wpa3Sae,
            _ => AuthAlgorithm::Wpa2Psk,
        }
    }
}

/// A scan entry built from properties only (no IE dump available): an SSID element and,
/// unless open, an RSN element (CCMP; PSK, SAE or both; masked networks get PSK).
pub fn synthesize_bss_entry(
    ssid: &Ssid,
    bssid: Bssid,
    security: SynthesizedSecurity,
    frequency_mhz: u32,
    rssi_dbm: i32,
) -> BssEntry {
    let mut ies = Vec::with_capacity(2 + ssid.len() + 26);
    push_ssid_element(&mut ies, ssid);
    let akms = match security {
        SynthesizedSecurity::Open => vec![],
        SynthesizedSecurity::Wpa2Psk | SynthesizedSecurity::Masked => vec![AkmSuite::Psk],
        SynthesizedSecurity::Wpa3Sae => vec![AkmSuite::Sae],
        SynthesizedSecurity::Wpa2Wpa3 => vec![AkmSuite::Psk, AkmSuite::Sae],
    };
    let mut capabilities = Capabilities::ESS;
    if !akms.is_empty() {
        let mut rsn = RsnElement::wpa2_psk();
        rsn.akm_suites = akms;
        push_rsn_element(&mut ies, &rsn);
        capabilities = capabilities | Capabilities::PRIVACY;
    }
    BssEntry {
        bssid,
        capabilities,
        rssi_dbm,
        beacon_interval: crate::interface::bss::BEACON_INTERVAL,
        frequency_khz: frequency_mhz * 1000,
        ies,
    }
}

/// Link quality in percent for a signal in dBm, the inverse of the guest's `q/2 - 100`:
/// `clamp(2 * (dBm + 100), 0, 100)`.
pub fn dbm_to_percent(dbm: i32) -> u32 {
    (2 * (dbm.saturating_add(100))).clamp(0, 100) as u32
}

/// A signal in dBm for a link quality in percent (`q/2 - 100`, q clamped to 0–100).
pub fn percent_to_dbm(percent: u32) -> i32 {
    percent.min(100) as i32 / 2 - 100
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
    }

    /// The `ie=` of lab-wpa2 as wpa_supplicant 2.10 reported it in the lab VM.
    const LAB_WPA2_IES: &str = "00086c61622d77706132010882848b960c1218240301062a010432043048606c30140100000fac040100000fac040100000fac020c003b0251002d1a0c001bffff0000000000000000000001000000000000000000003d16060000000000000000000000000000000000000000007f080400400200000040dd180050f2020101010003a4000027a4000042435e0062322f00";

    #[test]
    fn supported_networks_keep_their_real_ies() {
        let ies = hex(LAB_WPA2_IES);
        let (caps, out, auth) = guest_view(Capabilities(0x0411), &ies);
        assert_eq!((caps, auth), (Capabilities(0x0411), AuthAlgorithm::Wpa2Psk));
        assert_eq!(out, ies);
        let open = [0u8, 3, b'a', b'b', b'c'];
        assert_eq!(guest_view(Capabilities::ESS, &open).2, AuthAlgorithm::Open);
    }

    #[test]
    fn enterprise_wep_and_wpa1_are_masked_as_wpa2_psk() {
        let mut enterprise = vec![0u8, 4, b'c', b'o', b'r', b'p'];
        let mut rsn = RsnElement::wpa2_psk();
        rsn.akm_suites = vec![AkmSuite::Ieee8021x];
        push_rsn_element(&mut enterprise, &rsn);
        let (caps, out, auth) = guest_view(Capabilities(0x0411), &enterprise);
        assert_eq!(auth, AuthAlgorithm::Wpa2Psk);
        assert!(caps.contains(Capabilities::PRIVACY));
        let security = Security::from_bss(caps, &out);
        assert_eq!(security.kind, SecurityKind::Wpa2Psk);
        assert_eq!(security.rsn.unwrap(), RsnElement::wpa2_psk());
        assert_eq!(&out[..6], &enterprise[..6], "the SSID element is kept");

        let wep = [0u8, 1, b'w'];
        let (caps, out, _) = guest_view(Capabilities(0x0011), &wep);
        assert_eq!(Security::from_bss(caps, &out).kind, SecurityKind::Wpa2Psk);

        let wpa1 = [0u8, 1, b'x', 221, 6, 0x00, 0x50, 0xf2, 0x01, 1, 0];
        let (_, out, _) = guest_view(Capabilities(0x0011), &wpa1);
        assert!(!out.windows(4).any(|w| w == [0x00, 0x50, 0xf2, 0x01]), "WPA1 element dropped");

        let mut tkip = Vec::new();
        let mut rsn = RsnElement::wpa2_psk();
        rsn.pairwise_ciphers = vec![CipherSuite::Tkip];
        push_rsn_element(&mut tkip, &rsn);
        assert_eq!(guest_auth(Capabilities(0x0011), &tkip), None);
    }

    #[test]
    fn sae_and_transition_are_joinable() {
        let mut sae = Vec::new();
        push_rsn_element(&mut sae, &RsnElement::wpa3_sae());
        assert_eq!(guest_auth(Capabilities(0x0011), &sae), Some(AuthAlgorithm::Wpa3Sae));
        let entry = synthesize_bss_entry(
            &Ssid::new(b"t").unwrap(),
            Bssid([2, 0, 0, 0, 0, 1]),
            SynthesizedSecurity::Wpa2Wpa3,
            5180,
            -40,
        );
        assert_eq!(guest_auth(entry.capabilities, &entry.ies), Some(AuthAlgorithm::Wpa2Psk));
        assert_eq!(entry.frequency_khz, 5_180_000);
        assert_eq!(entry.ssid().unwrap().as_bytes(), b"t");
    }

    #[test]
    fn signal_mapping_is_consistent_with_the_guest() {
        assert_eq!(dbm_to_percent(-30), 100);
        assert_eq!(dbm_to_percent(-50), 100);
        assert_eq!(dbm_to_percent(-70), 60);
        assert_eq!(dbm_to_percent(-100), 0);
        assert_eq!(dbm_to_percent(-120), 0);
        for dbm in -100..=-50 {
            assert_eq!(percent_to_dbm(dbm_to_percent(dbm)), dbm);
        }
    }
}
