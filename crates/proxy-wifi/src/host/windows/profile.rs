//! The temporary WLAN profile a guest's connect request is turned into.
//!
//! The SSID goes in its `<hex>` form, so that any byte is allowed; an escaped `<name>`
//! (the SSID as text, lossily) is added for readability and as the profile's name. Key
//! material: the 32-byte PMK as 64 hex digits (`networkKey`) for WPA2-PSK; the password
//! (`passPhrase`) for WPA3-SAE. The XML text holding the key is zeroized on drop.

use proxy_wifi_protocol::Ssid;
use zeroize::Zeroizing;

use crate::interface::{ConnectParams, GuestSecurity, InterfaceError};

/// The namespace of WLAN profiles.
pub const PROFILE_NAMESPACE: &str = "http://www.microsoft.com/networking/WLAN/profile/v1";

/// The guest's security, decided by [`GuestSecurity`], if a profile can carry it: an SAE
/// password must also be representable in the profile's XML.
pub fn profile_security(params: &ConnectParams) -> Result<&GuestSecurity, InterfaceError> {
    let security = params.security()?;
    if let GuestSecurity::Wpa3Sae(password) = security {
        if !xml_text_is_representable(password.expose_secret()) {
            return Err(InterfaceError::UnsupportedSecurity {
                ssid: params.ssid,
                reason: "the SAE password holds characters a profile cannot carry".into(),
            });
        }
    }
    Ok(security)
}

/// The profile's `<authentication>` and `<encryption>` values.
fn auth_encryption(security: &GuestSecurity) -> (&'static str, &'static str) {
    match security {
        GuestSecurity::Open => ("open", "none"),
        GuestSecurity::Wpa2Psk(_) => ("WPA2PSK", "AES"),
        GuestSecurity::Wpa3Sae(_) => ("WPA3SAE", "AES"),
    }
}

/// Whether a character may appear in XML 1.0 text (escaped or not).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Whether `text` can be carried by an XML 1.0 document.
pub fn xml_text_is_representable(text: &str) -> bool {
    text.chars().all(is_xml_char)
}

/// Appends `text` to `out` escaped for XML element content and attribute values
/// (`&`, `<`, `>`, `"`, `'`); characters XML 1.0 cannot carry at all become U+FFFD.
pub fn escape_xml(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

/// The SSID as readable text for `<name>`: its UTF-8 text, lossily; `proxy-wifi` when empty.
pub fn profile_name(ssid: &Ssid) -> String {
    if ssid.is_empty() {
        return "proxy-wifi".to_owned();
    }
    String::from_utf8_lossy(ssid.as_bytes()).into_owned()
}

/// The SSID in the `<hex>` form: two uppercase hex digits per byte.
pub fn ssid_hex(ssid: &Ssid) -> String {
    hex::encode_upper(ssid.as_bytes())
}

/// Builds the temporary profile XML for joining `ssid` with `security`.
pub fn build_profile(ssid: &Ssid, security: &GuestSecurity) -> Zeroizing<String> {
    let mut name = String::new();
    escape_xml(&profile_name(ssid), &mut name);
    let (authentication, encryption) = auth_encryption(security);
    let mut xml = Zeroizing::new(String::with_capacity(1024));
    let x = &mut *xml;
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n");
    x.push_str("<WLANProfile xmlns=\"");
    x.push_str(PROFILE_NAMESPACE);
    x.push_str("\">\r\n");
    x.push_str("  <name>");
    x.push_str(&name);
    x.push_str("</name>\r\n");
    x.push_str("  <SSIDConfig>\r\n    <SSID>\r\n      <hex>");
    x.push_str(&ssid_hex(ssid));
    x.push_str("</hex>\r\n      <name>");
    x.push_str(&name);
    x.push_str("</name>\r\n    </SSID>\r\n  </SSIDConfig>\r\n");
    x.push_str("  <connectionType>ESS</connectionType>\r\n");
    x.push_str("  <connectionMode>manual</connectionMode>\r\n");
    x.push_str("  <MSM>\r\n    <security>\r\n      <authEncryption>\r\n");
    x.push_str("        <authentication>");
    x.push_str(authentication);
    x.push_str("</authentication>\r\n        <encryption>");
    x.push_str(encryption);
    x.push_str("</encryption>\r\n        <useOneX>false</useOneX>\r\n      </authEncryption>\r\n");
    // The PMK as 64 lowercase hex digits.
    let pmk_hex;
    let key = match security {
        GuestSecurity::Open => None,
        GuestSecurity::Wpa2Psk(pmk) => {
            pmk_hex = pmk.to_hex();
            Some(("networkKey", pmk_hex.as_str()))
        }
        GuestSecurity::Wpa3Sae(password) => Some(("passPhrase", password.expose_secret())),
    };
    if let Some((key_type, material)) = key {
        x.push_str("      <sharedKey>\r\n        <keyType>");
        x.push_str(key_type);
        x.push_str("</keyType>\r\n        <protected>false</protected>\r\n        <keyMaterial>");
        escape_xml(material, x);
        x.push_str("</keyMaterial>\r\n      </sharedKey>\r\n");
    }
    x.push_str("    </security>\r\n  </MSM>\r\n</WLANProfile>\r\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interface::AuthAlgorithm;
    use proxy_wifi_protocol::{AkmSuite, AuthType, CipherSuite, ConnectRequest, Key, Pmk, WpaVersions};

    fn params(ssid: &[u8]) -> ConnectRequest {
        ConnectRequest::open(Ssid::new(ssid).unwrap())
    }

    fn psk(ssid: &[u8], pmk: [u8; 32]) -> ConnectRequest {
        ConnectRequest::wpa2_psk(Ssid::new(ssid).unwrap(), Pmk::from_bytes(pmk))
    }

    fn sae(ssid: &[u8], password: &[u8]) -> ConnectRequest {
        ConnectRequest::wpa3_sae(Ssid::new(ssid).unwrap(), password).unwrap()
    }

    /// Parses the profile with a real XML parser and returns `(tag path, text)` pairs.
    fn profile_of(request: &ConnectRequest) -> Result<GuestSecurity, InterfaceError> {
        profile_security(&ConnectParams::new(request.clone())).cloned()
    }

    fn parsed(xml: &str) -> Vec<(String, String)> {
        let doc = roxmltree::Document::parse(xml).expect("well-formed profile");
        assert_eq!(doc.root_element().tag_name().namespace(), Some(PROFILE_NAMESPACE));
        doc.descendants()
            .filter(|n| n.is_element() && n.children().all(|c| c.is_text()))
            .map(|n| {
                let path: Vec<&str> =
                    n.ancestors().filter(|a| a.is_element()).map(|a| a.tag_name().name()).collect::<Vec<_>>();
                let path: Vec<&str> = path.into_iter().rev().collect();
                (path.join("/"), n.text().unwrap_or_default().to_owned())
            })
            .collect()
    }

    fn field(fields: &[(String, String)], path: &str) -> Option<String> {
        fields.iter().find(|(p, _)| p == path).map(|(_, t)| t.clone())
    }

    #[test]
    fn open_profile() {
        let security = profile_of(&params(b"cafe")).unwrap();
        assert_eq!(security, GuestSecurity::Open);
        let xml = build_profile(&Ssid::new(b"cafe").unwrap(), &security);
        let f = parsed(&xml);
        assert_eq!(field(&f, "WLANProfile/name").as_deref(), Some("cafe"));
        assert_eq!(field(&f, "WLANProfile/SSIDConfig/SSID/hex").as_deref(), Some("63616665"));
        assert_eq!(field(&f, "WLANProfile/SSIDConfig/SSID/name").as_deref(), Some("cafe"));
        assert_eq!(field(&f, "WLANProfile/connectionType").as_deref(), Some("ESS"));
        assert_eq!(field(&f, "WLANProfile/connectionMode").as_deref(), Some("manual"));
        let auth = "WLANProfile/MSM/security/authEncryption";
        assert_eq!(field(&f, &format!("{auth}/authentication")).as_deref(), Some("open"));
        assert_eq!(field(&f, &format!("{auth}/encryption")).as_deref(), Some("none"));
        assert_eq!(field(&f, &format!("{auth}/useOneX")).as_deref(), Some("false"));
        assert!(field(&f, "WLANProfile/MSM/security/sharedKey/keyMaterial").is_none());
        // `iw connect` sends auth type 8 (automatic) for open networks.
        let mut automatic = params(b"cafe");
        automatic.auth_type = AuthType::Automatic;
        assert_eq!(profile_of(&automatic).unwrap(), GuestSecurity::Open);
    }

    #[test]
    fn wpa2_psk_profile_carries_the_pmk_as_64_hex_digits() {
        let pmk: [u8; 32] = std::array::from_fn(|i| (i * 7 + 1) as u8);
        let security = profile_of(&psk(b"home", pmk)).unwrap();
        assert_eq!(security.auth(), AuthAlgorithm::Wpa2Psk);
        let xml = build_profile(&Ssid::new(b"home").unwrap(), &security);
        let f = parsed(&xml);
        let key = "WLANProfile/MSM/security/sharedKey";
        assert_eq!(field(&f, &format!("{key}/keyType")).as_deref(), Some("networkKey"));
        assert_eq!(field(&f, &format!("{key}/protected")).as_deref(), Some("false"));
        let material = field(&f, &format!("{key}/keyMaterial")).unwrap();
        assert_eq!(material.len(), 64);
        assert_eq!(Pmk::from_hex(&material).unwrap(), Pmk::from_bytes(pmk));
        let auth = "WLANProfile/MSM/security/authEncryption";
        assert_eq!(field(&f, &format!("{auth}/authentication")).as_deref(), Some("WPA2PSK"));
        assert_eq!(field(&f, &format!("{auth}/encryption")).as_deref(), Some("AES"));
        assert!(xml.contains("<keyType>networkKey</keyType>"));
        assert!(xml.contains("<protected>false</protected>"));
        assert!(!format!("{security:?}").contains(&material), "Debug never shows the key");
    }

    #[test]
    fn gcmp_is_aes_too_but_tkip_wpa1_and_short_keys_are_refused() {
        let mut gcmp = psk(b"home", [1; 32]);
        gcmp.pairwise_cipher_suites = vec![CipherSuite::Tkip, CipherSuite::Gcmp];
        assert!(matches!(profile_of(&gcmp), Ok(GuestSecurity::Wpa2Psk(_))));

        let mut tkip = psk(b"home", [1; 32]);
        tkip.pairwise_cipher_suites = vec![CipherSuite::Tkip];
        assert!(matches!(profile_of(&tkip), Err(InterfaceError::UnsupportedSecurity { .. })));

        let mut wpa1 = psk(b"home", [1; 32]);
        wpa1.wpa_versions = WpaVersions::WPA;
        assert!(matches!(profile_of(&wpa1), Err(InterfaceError::UnsupportedSecurity { .. })));

        let mut passphrase = psk(b"home", [1; 32]);
        passphrase.key = Key::new(b"not a pmk").unwrap();
        let error = profile_of(&passphrase).unwrap_err().to_string();
        assert!(error.contains("32-byte PMK"), "{error}");

        let mut enterprise = psk(b"home", [1; 32]);
        enterprise.akm_suites = vec![AkmSuite::Ieee8021x];
        assert!(profile_of(&enterprise).unwrap_err().to_string().contains("802.1X"));

        let mut wep = params(b"old");
        wep.key = Key::new(b"12345").unwrap();
        assert!(profile_of(&wep).unwrap_err().to_string().contains("WEP"));
    }

    #[test]
    fn sae_profile_carries_the_escaped_password() {
        let password = "p<a>s&s\"w'o rd";
        let security = profile_of(&sae(b"home", password.as_bytes())).unwrap();
        assert_eq!(security.auth(), AuthAlgorithm::Wpa3Sae);
        let xml = build_profile(&Ssid::new(b"home").unwrap(), &security);
        let f = parsed(&xml);
        let key = "WLANProfile/MSM/security/sharedKey";
        assert_eq!(field(&f, &format!("{key}/keyType")).as_deref(), Some("passPhrase"));
        assert_eq!(field(&f, &format!("{key}/keyMaterial")).as_deref(), Some(password));
        let auth = "WLANProfile/MSM/security/authEncryption";
        assert_eq!(field(&f, &format!("{auth}/authentication")).as_deref(), Some("WPA3SAE"));

        assert!(profile_of(&sae(b"home", b"")).is_err());
        assert!(profile_of(&sae(b"home", &[0xff, 0xfe])).is_err(), "not UTF-8");
        assert!(profile_of(&sae(b"home", b"bell\x07")).is_err(), "not representable in XML 1.0");
    }

    #[test]
    fn any_ssid_byte_survives_as_hex_and_the_name_stays_well_formed() {
        let nasty: Vec<&[u8]> = vec![
            b"<script>&amp;\"'",
            b"\x00\x01\x02\x1f",
            &[0xff, 0xfe, b'a', 0xc3],
            "café ☕".as_bytes(),
            b"]]>",
            b"",
            &[b'x'; 32],
        ];
        for bytes in nasty {
            let ssid = Ssid::new(bytes).unwrap();
            let xml = build_profile(&ssid, &GuestSecurity::Open);
            let f = parsed(&xml);
            let hex = field(&f, "WLANProfile/SSIDConfig/SSID/hex").unwrap_or_default();
            let decoded = hex::decode(&hex).unwrap();
            assert_eq!(decoded, bytes, "hex of {ssid}");
            let name = field(&f, "WLANProfile/name").unwrap();
            if let Ok(text) = std::str::from_utf8(bytes) {
                if xml_text_is_representable(text) && !text.is_empty() {
                    assert_eq!(name, text);
                }
            }
            assert!(!name.is_empty());
        }
    }

    #[test]
    fn escaper() {
        let mut out = String::new();
        escape_xml("a&b<c>d\"e'f\u{1}g\u{FFFF}h\tend", &mut out);
        assert_eq!(out, "a&amp;b&lt;c&gt;d&quot;e&apos;f\u{FFFD}g\u{FFFD}h\tend");
        assert!(xml_text_is_representable("ok\r\n\t☕"));
        assert!(!xml_text_is_representable("\u{0}"));
        assert_eq!(ssid_hex(&Ssid::new(&[0x00, 0xab, 0x7f]).unwrap()), "00AB7F");
    }
}
