//! Information elements: builders for the SSID and RSN elements a host needs, a safe
//! iterator over an IE blob, and a security summary for display.

use std::fmt;

use crate::scan::Capabilities;
use crate::suites::{AkmSuite, CipherSuite};
use crate::types::Ssid;

/// Element identifiers used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ElementId(pub u8);

impl ElementId {
    /// SSID element.
    pub const SSID: ElementId = ElementId(0);
    /// RSN element.
    pub const RSN: ElementId = ElementId(48);
    /// Vendor-specific element (WPA1 lives here).
    pub const VENDOR_SPECIFIC: ElementId = ElementId(221);
    /// Element ID Extension: the first data byte is the extension id (see [`ElementIdExtension`](crate::ElementIdExtension)).
    pub const EXTENSION: ElementId = ElementId(255);
}

/// Iterates over the `(id, data)` pairs of an IE blob; stops at a truncated element.
#[derive(Debug, Clone)]
pub struct InformationElements<'a> {
    rest: &'a [u8],
}

impl<'a> InformationElements<'a> {
    /// Walks `ies`.
    pub fn new(ies: &'a [u8]) -> Self {
        Self { rest: ies }
    }
}

impl<'a> Iterator for InformationElements<'a> {
    type Item = (ElementId, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let (&id, rest) = self.rest.split_first()?;
        let (&len, rest) = rest.split_first()?;
        if rest.len() < usize::from(len) {
            self.rest = &[];
            return None;
        }
        let (data, rest) = rest.split_at(usize::from(len));
        self.rest = rest;
        Some((ElementId(id), data))
    }
}

/// Appends an SSID element (id 0).
pub fn push_ssid_element(out: &mut Vec<u8>, ssid: &Ssid) {
    out.push(ElementId::SSID.0);
    out.push(ssid.len() as u8);
    out.extend_from_slice(ssid.as_bytes());
}

/// An RSN element's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsnElement {
    /// RSN version (1).
    pub version: u16,
    /// Group data cipher.
    pub group_cipher: CipherSuite,
    /// Pairwise ciphers.
    pub pairwise_ciphers: Vec<CipherSuite>,
    /// AKM suites.
    pub akm_suites: Vec<AkmSuite>,
    /// RSN capabilities.
    pub capabilities: u16,
}

impl RsnElement {
    /// RSN Capabilities bit 6: management frame protection required (MFPR).
    pub const MFPR: u16 = 1 << 6;
    /// RSN Capabilities bit 7: management frame protection capable (MFPC).
    pub const MFPC: u16 = 1 << 7;

    /// WPA2-Personal: CCMP group and pairwise, PSK.
    pub fn wpa2_psk() -> Self {
        Self::with_akms(vec![AkmSuite::Psk], 0)
    }

    /// WPA3-Personal (SAE only): CCMP group and pairwise, SAE, management frame
    /// protection required (MFPC and MFPR), as WPA3 requires.
    pub fn wpa3_sae() -> Self {
        Self::with_akms(vec![AkmSuite::Sae], Self::MFPC | Self::MFPR)
    }

    /// WPA2/WPA3-Personal transition: CCMP group and pairwise, PSK and SAE, management
    /// frame protection capable (MFPC) but not required, so WPA2 stations can join.
    pub fn wpa2_wpa3_transition() -> Self {
        Self::with_akms(vec![AkmSuite::Psk, AkmSuite::Sae], Self::MFPC)
    }

    fn with_akms(akm_suites: Vec<AkmSuite>, capabilities: u16) -> Self {
        RsnElement {
            version: 1,
            group_cipher: CipherSuite::Ccmp,
            pairwise_ciphers: vec![CipherSuite::Ccmp],
            akm_suites,
            capabilities,
        }
    }

    /// Parses an RSN element's data (after id and length). Optional trailing fields
    /// (PMKIDs, group management cipher) are ignored; missing suite lists are empty.
    pub fn parse(data: &[u8]) -> Option<RsnElement> {
        let mut rest = data;
        let mut take = |n: usize| -> Option<&[u8]> {
            if rest.len() < n {
                return None;
            }
            let (head, tail) = rest.split_at(n);
            rest = tail;
            Some(head)
        };
        let version = u16::from_le_bytes(take(2)?.try_into().ok()?);
        let suite = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let group_cipher = match take(4) {
            Some(b) => CipherSuite::from_u32(suite(b)),
            None => CipherSuite::Ccmp,
        };
        let mut pairwise_ciphers = Vec::new();
        if let Some(count) = take(2) {
            for _ in 0..u16::from_le_bytes([count[0], count[1]]) {
                pairwise_ciphers.push(CipherSuite::from_u32(suite(take(4)?)));
            }
        }
        let mut akm_suites = Vec::new();
        if let Some(count) = take(2) {
            for _ in 0..u16::from_le_bytes([count[0], count[1]]) {
                akm_suites.push(AkmSuite::from_u32(suite(take(4)?)));
            }
        }
        let capabilities = take(2).map_or(0, |b| u16::from_le_bytes([b[0], b[1]]));
        Some(RsnElement { version, group_cipher, pairwise_ciphers, akm_suites, capabilities })
    }

    /// Length of the element's data (without id and length bytes).
    pub fn data_len(&self) -> usize {
        2 + 4 + 2 + 4 * self.pairwise_ciphers.len() + 2 + 4 * self.akm_suites.len() + 2
    }
}

/// Appends an RSN element (id 48). Suites are written OUI first.
///
/// # Panics
/// If the element would be longer than 255 bytes (more than 60 suites in all).
pub fn push_rsn_element(out: &mut Vec<u8>, rsn: &RsnElement) {
    let len = rsn.data_len();
    assert!(len <= 255, "RSN element of {len} bytes does not fit in one element");
    out.push(ElementId::RSN.0);
    out.push(len as u8);
    out.extend_from_slice(&rsn.version.to_le_bytes());
    out.extend_from_slice(&rsn.group_cipher.to_u32().to_be_bytes());
    out.extend_from_slice(&(rsn.pairwise_ciphers.len() as u16).to_le_bytes());
    for c in &rsn.pairwise_ciphers {
        out.extend_from_slice(&c.to_u32().to_be_bytes());
    }
    out.extend_from_slice(&(rsn.akm_suites.len() as u16).to_le_bytes());
    for a in &rsn.akm_suites {
        out.extend_from_slice(&a.to_u32().to_be_bytes());
    }
    out.extend_from_slice(&rsn.capabilities.to_le_bytes());
}

/// The broad security family of a BSS, for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityKind {
    /// No privacy.
    Open,
    /// Privacy bit without WPA/RSN: WEP.
    Wep,
    /// WPA (version 1) only.
    Wpa,
    /// WPA2-Personal (PSK).
    Wpa2Psk,
    /// WPA3-Personal (SAE).
    Wpa3Sae,
    /// WPA2/WPA3 transition (PSK and SAE).
    Wpa2Wpa3,
    /// 802.1X (Enterprise).
    Enterprise,
    /// Opportunistic wireless encryption.
    Owe,
    /// An RSN element with AKMs not listed above.
    OtherRsn,
}

impl fmt::Display for SecurityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SecurityKind::Open => "Open",
            SecurityKind::Wep => "WEP",
            SecurityKind::Wpa => "WPA",
            SecurityKind::Wpa2Psk => "WPA2-PSK",
            SecurityKind::Wpa3Sae => "WPA3-SAE",
            SecurityKind::Wpa2Wpa3 => "WPA2/WPA3",
            SecurityKind::Enterprise => "WPA2-Enterprise",
            SecurityKind::Owe => "OWE",
            SecurityKind::OtherRsn => "RSN",
        })
    }
}

/// The security a BSS advertises, decoded from its capabilities and IEs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Security {
    /// The broad family.
    pub kind: SecurityKind,
    /// The RSN element, when there is one.
    pub rsn: Option<RsnElement>,
}

impl Security {
    /// Decodes the security of a BSS.
    pub fn from_bss(capabilities: Capabilities, ies: &[u8]) -> Security {
        let mut rsn = None;
        let mut wpa1 = false;
        for (id, data) in InformationElements::new(ies) {
            if id == ElementId::RSN && rsn.is_none() {
                rsn = RsnElement::parse(data);
            } else if id == ElementId::VENDOR_SPECIFIC && data.starts_with(&[0x00, 0x50, 0xf2, 0x01]) {
                wpa1 = true;
            }
        }
        let kind = match &rsn {
            Some(element) => {
                let has = |akm: AkmSuite| element.akm_suites.contains(&akm);
                let psk = has(AkmSuite::Psk) || has(AkmSuite::PskSha256) || has(AkmSuite::FtPsk);
                let sae = has(AkmSuite::Sae) || has(AkmSuite::FtSae);
                match (psk, sae) {
                    (true, true) => SecurityKind::Wpa2Wpa3,
                    (true, false) => SecurityKind::Wpa2Psk,
                    (false, true) => SecurityKind::Wpa3Sae,
                    _ if has(AkmSuite::Ieee8021x) || has(AkmSuite::Ieee8021xSha256) || has(AkmSuite::SuiteB192) => {
                        SecurityKind::Enterprise
                    }
                    _ if has(AkmSuite::Owe) => SecurityKind::Owe,
                    _ => SecurityKind::OtherRsn,
                }
            }
            None if wpa1 => SecurityKind::Wpa,
            None if capabilities.contains(Capabilities::PRIVACY) => SecurityKind::Wep,
            None => SecurityKind::Open,
        };
        Security { kind, rsn }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wpa2_psk_rsn_element_bytes() {
        let mut out = Vec::new();
        push_rsn_element(&mut out, &RsnElement::wpa2_psk());
        assert_eq!(
            out,
            [0x30, 0x14, 1, 0, 0x00, 0x0f, 0xac, 4, 1, 0, 0x00, 0x0f, 0xac, 4, 1, 0, 0x00, 0x0f, 0xac, 2, 0, 0]
        );
        assert_eq!(RsnElement::parse(&out[2..]).unwrap(), RsnElement::wpa2_psk());
    }

    /// RSN Capabilities (little-endian, last field here): bit 7 MFPC, bit 6 MFPR.
    #[test]
    fn wpa3_rsn_elements_carry_management_frame_protection() {
        let mut sae = Vec::new();
        push_rsn_element(&mut sae, &RsnElement::wpa3_sae());
        assert_eq!(
            sae,
            [0x30, 0x14, 1, 0, 0x00, 0x0f, 0xac, 4, 1, 0, 0x00, 0x0f, 0xac, 4, 1, 0, 0x00, 0x0f, 0xac, 8, 0xc0, 0]
        );
        let mut transition = Vec::new();
        push_rsn_element(&mut transition, &RsnElement::wpa2_wpa3_transition());
        assert_eq!(
            transition,
            [
                0x30, 0x18, 1, 0, 0x00, 0x0f, 0xac, 4, 1, 0, 0x00, 0x0f, 0xac, 4, 2, 0, 0x00, 0x0f, 0xac, 2, 0x00,
                0x0f, 0xac, 8, 0x80, 0
            ]
        );
        assert_eq!(RsnElement::parse(&sae[2..]).unwrap(), RsnElement::wpa3_sae());
        assert_eq!(RsnElement::parse(&transition[2..]).unwrap().capabilities, RsnElement::MFPC);
    }

    #[test]
    fn iterator_stops_at_truncated_element() {
        let ies = [0u8, 3, b'a', b'b', b'c', 48, 10, 1];
        let all: Vec<_> = InformationElements::new(&ies).collect();
        assert_eq!(all, vec![(ElementId::SSID, &b"abc"[..])]);
    }

    #[test]
    fn security_summary() {
        let mut ies = Vec::new();
        push_rsn_element(&mut ies, &RsnElement::wpa3_sae());
        assert_eq!(Security::from_bss(Capabilities::ESS | Capabilities::PRIVACY, &ies).kind, SecurityKind::Wpa3Sae);
        assert_eq!(Security::from_bss(Capabilities::ESS, &[]).kind, SecurityKind::Open);
        assert_eq!(Security::from_bss(Capabilities::ESS | Capabilities::PRIVACY, &[]).kind, SecurityKind::Wep);
        let wpa1 = [221u8, 4, 0x00, 0x50, 0xf2, 0x01];
        assert_eq!(Security::from_bss(Capabilities::PRIVACY, &wpa1).kind, SecurityKind::Wpa);
    }

    #[test]
    fn rsn_parse_rejects_truncated_suite_lists() {
        // Claims 3 pairwise suites but holds one.
        let data = [1u8, 0, 0x00, 0x0f, 0xac, 4, 3, 0, 0x00, 0x0f, 0xac, 4];
        assert_eq!(RsnElement::parse(&data), None);
    }
}
