//! What the guest is shown of a host BSS (behavior.md "Unsupported networks").
//!
//! The guest can join by itself only the networks of [`GuestSecurity`](super::GuestSecurity):
//! Open without a cipher, WPA2-PSK with CCMP or GCMP, and WPA3-SAE where the backend can
//! connect with it. Every other network (enterprise, WPA1, WEP, OWE, TKIP only, ...) is
//! *masked*: its BSSs are reported with a made-up WPA2-PSK RSN element and the Privacy
//! bit, so that the guest lists them and can mirror a host connection to them.
//!
//! The rendering is the same for every backend: a masked BSS keeps its other elements,
//! loses its RSN and WPA1 elements, and gets the WPA2-PSK RSN element right after its SSID
//! element. Every BSS shown to the guest has an SSID element (put first if the host gave
//! none), since the guest reads the SSID from the IEs only.

use proxy_wifi_protocol::{
    AkmSuite, Capabilities, CipherSuite, ElementId, InformationElements, RsnElement, Security, SecurityKind, Ssid,
    push_rsn_element, push_ssid_element,
};

use super::AuthAlgorithm;

/// Whether an RSN element describes a network the guest can join itself: a PSK (or, with
/// `sae`, an SAE) AKM with a CCMP or GCMP pairwise cipher.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))] // used by the Linux backends
pub fn rsn_is_joinable(rsn: &RsnElement, sae: bool) -> bool {
    let akm = rsn.akm_suites.iter().any(|a| *a == AkmSuite::Psk || (sae && *a == AkmSuite::Sae));
    let cipher = rsn.pairwise_ciphers.iter().any(|c| matches!(c, CipherSuite::Ccmp | CipherSuite::Gcmp));
    akm && cipher
}

/// How the guest sees a BSS with these capabilities and IEs: open, WPA2-PSK or WPA3-SAE,
/// and `None` when it must be masked.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))] // used by the Linux backends
pub fn guest_auth(capabilities: Capabilities, ies: &[u8]) -> Option<AuthAlgorithm> {
    let security = Security::from_bss(capabilities, ies);
    match (security.kind, &security.rsn) {
        (SecurityKind::Open, _) => Some(AuthAlgorithm::Open),
        (SecurityKind::Wpa2Psk | SecurityKind::Wpa2Wpa3, Some(rsn)) if rsn_is_joinable(rsn, true) => {
            Some(AuthAlgorithm::Wpa2Psk)
        }
        (SecurityKind::Wpa3Sae, Some(rsn)) if rsn_is_joinable(rsn, true) => Some(AuthAlgorithm::Wpa3Sae),
        _ => None,
    }
}

/// Whether an element is a WPA (version 1) vendor element.
fn is_wpa1_element(id: ElementId, data: &[u8]) -> bool {
    id == ElementId::VENDOR_SPECIFIC && data.starts_with(&[0x00, 0x50, 0xf2, 0x01])
}

/// The IEs of a masked BSS: its own elements without RSN and WPA1 elements, with a
/// WPA2-PSK RSN element right after the SSID element (which is added if missing).
pub fn masked_ies(ies: &[u8], ssid: &Ssid) -> Vec<u8> {
    let mut out = Vec::with_capacity(ies.len() + 2 + ssid.len() + 22);
    let mut rsn_written = false;
    if !has_ssid_element(ies) {
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

fn has_ssid_element(ies: &[u8]) -> bool {
    InformationElements::new(ies).any(|(id, _)| id == ElementId::SSID)
}

/// The IEs of a BSS shown as it is: unchanged, with an SSID element put first if the host
/// gave none.
pub fn unmasked_ies(ies: &[u8], ssid: &Ssid) -> Vec<u8> {
    if has_ssid_element(ies) {
        return ies.to_vec();
    }
    let mut out = Vec::with_capacity(ies.len() + 2 + ssid.len());
    push_ssid_element(&mut out, ssid);
    out.extend_from_slice(ies);
    out
}

/// The capabilities and IEs the guest gets for a BSS, masked or not.
pub fn shown_to_guest(capabilities: Capabilities, ies: &[u8], ssid: &Ssid, masked: bool) -> (Capabilities, Vec<u8>) {
    if masked {
        (capabilities | Capabilities::PRIVACY, masked_ies(ies, ssid))
    } else {
        (capabilities, unmasked_ies(ies, ssid))
    }
}

/// The view of a BSS judged from its own IEs (backends with an IE dump): the capabilities
/// and IEs the guest gets, and the authentication it will see.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))] // used by the Linux backends
pub fn guest_view(capabilities: Capabilities, ies: &[u8], ssid: &Ssid) -> (Capabilities, Vec<u8>, AuthAlgorithm) {
    match guest_auth(capabilities, ies) {
        Some(auth) => (capabilities, unmasked_ies(ies, ssid), auth),
        None => {
            let (capabilities, ies) = shown_to_guest(capabilities, ies, ssid, true);
            (capabilities, ies, AuthAlgorithm::Wpa2Psk)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        hex::decode(text).unwrap()
    }

    fn ssid(s: &str) -> Ssid {
        Ssid::new(s.as_bytes()).unwrap()
    }

    /// The `ie=` of lab-wpa2 as wpa_supplicant 2.10 reported it in the lab VM.
    const LAB_WPA2_IES: &str = "00086c61622d77706132010882848b960c1218240301062a010432043048606c30140100000fac040100000fac040100000fac020c003b0251002d1a0c001bffff0000000000000000000001000000000000000000003d16060000000000000000000000000000000000000000007f080400400200000040dd180050f2020101010003a4000027a4000042435e0062322f00";

    #[test]
    fn supported_networks_keep_their_real_ies() {
        let ies = hex(LAB_WPA2_IES);
        let (caps, out, auth) = guest_view(Capabilities(0x0411), &ies, &ssid("lab-wpa2"));
        assert_eq!((caps, auth), (Capabilities(0x0411), AuthAlgorithm::Wpa2Psk));
        assert_eq!(out, ies);
        let open = [0u8, 3, b'a', b'b', b'c'];
        assert_eq!(guest_view(Capabilities::ESS, &open, &ssid("abc")).2, AuthAlgorithm::Open);
    }

    #[test]
    fn enterprise_wep_and_wpa1_are_masked_as_wpa2_psk() {
        let mut enterprise = vec![0u8, 4, b'c', b'o', b'r', b'p'];
        let mut rsn = RsnElement::wpa2_psk();
        rsn.akm_suites = vec![AkmSuite::Ieee8021x];
        push_rsn_element(&mut enterprise, &rsn);
        enterprise.extend_from_slice(&[45, 2, 0xef, 0x01]); // HT capabilities (shortened)
        let (caps, out, auth) = guest_view(Capabilities(0x0411), &enterprise, &ssid("corp"));
        assert_eq!(auth, AuthAlgorithm::Wpa2Psk);
        assert!(caps.contains(Capabilities::PRIVACY));
        let security = Security::from_bss(caps, &out);
        assert_eq!(security.kind, SecurityKind::Wpa2Psk);
        assert_eq!(security.rsn.unwrap(), RsnElement::wpa2_psk());
        let ids: Vec<u8> = InformationElements::new(&out).map(|(id, _)| id.0).collect();
        assert_eq!(ids, vec![0, 48, 45], "one RSN element, right after the SSID; others kept");

        let wep = [0u8, 1, b'w'];
        let (caps, out, _) = guest_view(Capabilities(0x0011), &wep, &ssid("w"));
        assert_eq!(Security::from_bss(caps, &out).kind, SecurityKind::Wpa2Psk);

        let wpa1 = [0u8, 1, b'x', 221, 6, 0x00, 0x50, 0xf2, 0x01, 1, 0];
        let (_, out, _) = guest_view(Capabilities(0x0011), &wpa1, &ssid("x"));
        assert!(!out.windows(4).any(|w| w == [0x00, 0x50, 0xf2, 0x01]), "WPA1 element dropped");

        let mut tkip = Vec::new();
        let mut rsn = RsnElement::wpa2_psk();
        rsn.pairwise_ciphers = vec![CipherSuite::Tkip];
        push_rsn_element(&mut tkip, &rsn);
        assert_eq!(guest_auth(Capabilities(0x0011), &tkip), None);
    }

    /// The Linux backends appended the made-up RSN element at the end and never added a
    /// missing SSID element; Windows put it right after the SSID element and added the
    /// SSID element. One rendering now: Windows' (the reference backend's), which also
    /// keeps the guest's only source of the SSID.
    #[test]
    fn masked_and_unmasked_bss_without_ssid_element_get_one() {
        let out = masked_ies(&[], &ssid("x"));
        assert_eq!(&out[..3], &[0, 1, b'x']);
        assert_eq!(RsnElement::parse(&out[5..]), Some(RsnElement::wpa2_psk()));
        let (_, out, auth) = guest_view(Capabilities::ESS, &[1, 1, 0x82], &ssid("open"));
        assert_eq!(auth, AuthAlgorithm::Open);
        assert_eq!(out, vec![0, 4, b'o', b'p', b'e', b'n', 1, 1, 0x82]);
    }

    #[test]
    fn sae_and_transition_are_joinable() {
        let mut sae = Vec::new();
        push_rsn_element(&mut sae, &RsnElement::wpa3_sae());
        assert_eq!(guest_auth(Capabilities(0x0011), &sae), Some(AuthAlgorithm::Wpa3Sae));
        assert!(!rsn_is_joinable(&RsnElement::wpa3_sae(), false));
        let entry = super::super::bss::build_bss_entry(
            &ssid("t"),
            proxy_wifi_protocol::Bssid([2, 0, 0, 0, 0, 1]),
            super::super::bss::BssSecurity::Wpa2Wpa3,
            5180,
            -40,
        );
        assert_eq!(guest_auth(entry.capabilities, &entry.ies), Some(AuthAlgorithm::Wpa2Psk));
        assert_eq!(entry.frequency_khz, 5_180_000);
        assert_eq!(entry.ssid().unwrap().as_bytes(), b"t");
    }
}
