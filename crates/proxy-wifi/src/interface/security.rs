//! The security a guest asks for, decided once for every interface.
//!
//! Rule (behavior.md "Connect": guest-directed connections are supported for Open and
//! WPA2-PSK networks, and WPA3-SAE where the host backend can do it; "Real Windows host
//! interface": Open/none, WPA2-PSK/AES with the 32-byte PMK as key material, WPA3-SAE):
//!
//! * **Open**: no AKM suite, no key, no WPA version, auth type not shared key;
//! * **WPA2-PSK**: a PSK AKM suite (PSK, PSK-SHA256, FT-PSK) and nothing else, WPA2 among
//!   the WPA versions (or none named), CCMP or GCMP among the pairwise ciphers (or none
//!   named: the default), and a 32-byte PMK as key;
//! * **WPA3-SAE**: an SAE AKM suite (or the SAE auth type), CCMP or GCMP, and a non-empty
//!   UTF-8 password;
//! * anything else (WEP, shared key, WPA1, TKIP only, 802.1X, OWE, ...) cannot be joined
//!   for the guest: [`InterfaceError::UnsupportedSecurity`].
//!
//! Host backends render a [`GuestSecurity`]; they do not look at the request's suites.

use std::fmt;

use proxy_wifi_protocol::{AkmSuite, AuthType, CipherSuite, ConnectRequest, Pmk, Ssid, WpaVersions};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{AuthAlgorithm, InterfaceError};

/// An SAE password: UTF-8 text, zeroized on drop, never printed, compared in constant
/// time (for equal lengths).
#[derive(Clone)]
pub struct SaePassword(Zeroizing<String>);

impl PartialEq for SaePassword {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for SaePassword {}

impl SaePassword {
    /// The password. Do not log it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

/// The security of a network the guest asks to join, validated. Equality compares the
/// PMK or password in constant time.
#[derive(Clone, PartialEq, Eq)]
pub enum GuestSecurity {
    /// Open system, no encryption.
    Open,
    /// WPA2-Personal with this PMK.
    Wpa2Psk(Pmk),
    /// WPA3-Personal with this password.
    Wpa3Sae(SaePassword),
}

impl fmt::Debug for GuestSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GuestSecurity::Open => "Open",
            GuestSecurity::Wpa2Psk(_) => "Wpa2Psk(<redacted>)",
            GuestSecurity::Wpa3Sae(_) => "Wpa3Sae(<redacted>)",
        })
    }
}

impl GuestSecurity {
    /// The authentication algorithm.
    pub fn auth(&self) -> AuthAlgorithm {
        match self {
            GuestSecurity::Open => AuthAlgorithm::Open,
            GuestSecurity::Wpa2Psk(_) => AuthAlgorithm::Wpa2Psk,
            GuestSecurity::Wpa3Sae(_) => AuthAlgorithm::Wpa3Sae,
        }
    }

    /// Decides the security of a connect request (the rule of this module).
    pub fn from_request(request: &ConnectRequest) -> Result<GuestSecurity, InterfaceError> {
        let unsupported = |reason: String| InterfaceError::UnsupportedSecurity { ssid: request.ssid, reason };
        let akms = &request.akm_suites;
        let aes = request.pairwise_cipher_suites.is_empty()
            || request.pairwise_cipher_suites.iter().any(|c| matches!(c, CipherSuite::Ccmp | CipherSuite::Gcmp));
        if request.auth_type == AuthType::SharedKey {
            return Err(unsupported("WEP (shared key authentication) is not supported".into()));
        }
        if akms.iter().any(|a| matches!(a, AkmSuite::Sae | AkmSuite::FtSae)) || request.auth_type == AuthType::Sae {
            if !aes {
                return Err(unsupported("WPA3-SAE needs CCMP or GCMP".into()));
            }
            let password = std::str::from_utf8(request.key.expose_secret())
                .map_err(|_| unsupported("the SAE password is not UTF-8 text".into()))?;
            if password.is_empty() {
                return Err(unsupported("WPA3-SAE needs a password".into()));
            }
            return Ok(GuestSecurity::Wpa3Sae(SaePassword(Zeroizing::new(password.to_owned()))));
        }
        if !akms.is_empty() {
            if let Some(other) =
                akms.iter().find(|a| !matches!(a, AkmSuite::Psk | AkmSuite::PskSha256 | AkmSuite::FtPsk))
            {
                return Err(unsupported(format!("AKM {} is not supported", other.label())));
            }
            if !request.wpa_versions.is_empty() && !request.wpa_versions.contains(WpaVersions::WPA2) {
                return Err(unsupported("only WPA2-PSK is supported, not WPA1".into()));
            }
            if !aes {
                return Err(unsupported("WPA2-PSK needs CCMP or GCMP (TKIP is not supported)".into()));
            }
            let pmk = request.key.to_pmk().ok_or_else(|| {
                unsupported(format!("WPA2-PSK needs a 32-byte PMK, the guest sent {} bytes", request.key.len()))
            })?;
            return Ok(GuestSecurity::Wpa2Psk(pmk));
        }
        if !request.key.is_empty() {
            return Err(unsupported("a key without an AKM suite (WEP) is not supported".into()));
        }
        if !request.wpa_versions.is_empty() {
            return Err(unsupported("WPA without an AKM suite".into()));
        }
        Ok(GuestSecurity::Open)
    }
}

/// What a guest asks an interface to join, decided once by the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectParams {
    /// The network.
    pub ssid: Ssid,
    /// A specific BSS, or zero for any BSS of the SSID.
    pub bssid: proxy_wifi_protocol::Bssid,
    /// The request as the guest sent it (security parameters and key), for interfaces of
    /// the application's that decide for themselves.
    pub request: ConnectRequest,
    /// The validated security, or why it cannot be joined for the guest.
    pub security: Result<GuestSecurity, InterfaceError>,
}

impl ConnectParams {
    /// Decides the security of `request` once.
    pub fn new(request: ConnectRequest) -> Self {
        let security = GuestSecurity::from_request(&request);
        Self { ssid: request.ssid, bssid: request.bssid, request, security }
    }

    /// The authentication the guest asks for, as it sees it (for the observer and the
    /// guest's connection): the validated one, else SAE when the request names SAE, PSK
    /// when it names another AKM or carries a key, open otherwise.
    pub fn auth_algorithm(&self) -> AuthAlgorithm {
        if let Ok(security) = &self.security {
            return security.auth();
        }
        let r = &self.request;
        if r.akm_suites.iter().any(|a| matches!(a, AkmSuite::Sae | AkmSuite::FtSae)) || r.auth_type == AuthType::Sae {
            AuthAlgorithm::Wpa3Sae
        } else if !r.akm_suites.is_empty() || !r.key.is_empty() {
            AuthAlgorithm::Wpa2Psk
        } else {
            AuthAlgorithm::Open
        }
    }

    /// The validated security; the error to return when the network cannot be joined.
    pub fn security(&self) -> Result<&GuestSecurity, InterfaceError> {
        self.security.as_ref().map_err(Clone::clone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxy_wifi_protocol::Key;

    fn request(akm: Vec<AkmSuite>, key: &[u8]) -> ConnectRequest {
        let mut request = ConnectRequest::open(Ssid::new(b"net").unwrap());
        request.wpa_versions = if akm.is_empty() { WpaVersions::empty() } else { WpaVersions::WPA2 };
        request.akm_suites = akm;
        request.key = Key::new(key).unwrap();
        request
    }

    fn reason(request: &ConnectRequest) -> String {
        match GuestSecurity::from_request(request) {
            Err(InterfaceError::UnsupportedSecurity { reason, .. }) => reason,
            other => panic!("expected unsupported, got {other:?}"),
        }
    }

    #[test]
    fn open_psk_and_sae_are_decided() {
        assert_eq!(GuestSecurity::from_request(&request(vec![], b"")).unwrap(), GuestSecurity::Open);
        let pmk = [7u8; 32];
        assert_eq!(
            GuestSecurity::from_request(&request(vec![AkmSuite::Psk], &pmk)).unwrap(),
            GuestSecurity::Wpa2Psk(Pmk::from_bytes(pmk))
        );
        let sae = GuestSecurity::from_request(&request(vec![AkmSuite::Sae], b"secret")).unwrap();
        assert!(matches!(&sae, GuestSecurity::Wpa3Sae(p) if p.expose_secret() == "secret"));
        assert_eq!(format!("{sae:?}"), "Wpa3Sae(<redacted>)");
    }

    /// The Linux backends accepted WPA1-only and TKIP-only WPA2-PSK requests (the Windows
    /// backend refused them); behavior.md names WPA2-PSK with CCMP/GCMP only.
    #[test]
    fn wpa1_and_tkip_only_are_refused() {
        let mut wpa1 = request(vec![AkmSuite::Psk], &[1; 32]);
        wpa1.wpa_versions = WpaVersions::WPA;
        assert!(reason(&wpa1).contains("WPA1"));
        let mut tkip = request(vec![AkmSuite::Psk], &[1; 32]);
        tkip.pairwise_cipher_suites = vec![CipherSuite::Tkip];
        assert!(reason(&tkip).contains("TKIP"));
        tkip.pairwise_cipher_suites.push(CipherSuite::Ccmp);
        assert!(GuestSecurity::from_request(&tkip).is_ok(), "TKIP alongside CCMP is fine");
    }

    /// NetworkManager accepted the shared-key auth type (WEP); the others refused it.
    #[test]
    fn shared_key_is_refused() {
        let mut shared = request(vec![], b"");
        shared.auth_type = AuthType::SharedKey;
        assert!(reason(&shared).contains("WEP"));
    }

    /// The Linux backends took a 32-byte key without an AKM suite as WPA2-PSK; Windows
    /// refused it as WEP. A key without an AKM is not one of the supported securities.
    #[test]
    fn key_without_akm_is_refused() {
        assert!(reason(&request(vec![], &[1; 32])).contains("WEP"));
        let mut wpa_only = request(vec![], b"");
        wpa_only.wpa_versions = WpaVersions::WPA2;
        assert!(reason(&wpa_only).contains("without an AKM"));
    }

    /// wpa_supplicant accepted non-UTF-8 SAE passwords (as hex); NetworkManager and
    /// Windows could not carry them. One rule: UTF-8 text.
    #[test]
    fn sae_needs_a_utf8_password_and_aes() {
        assert!(reason(&request(vec![AkmSuite::Sae], &[0xff, 0xfe])).contains("UTF-8"));
        assert!(reason(&request(vec![AkmSuite::Sae], b"")).contains("password"));
        let mut tkip = request(vec![AkmSuite::Sae], b"pw");
        tkip.pairwise_cipher_suites = vec![CipherSuite::Tkip];
        assert!(reason(&tkip).contains("CCMP"));
    }

    #[test]
    fn other_akms_and_short_keys_are_refused() {
        assert!(reason(&request(vec![AkmSuite::Ieee8021x], b"")).contains("AKM"));
        assert!(reason(&request(vec![AkmSuite::Psk, AkmSuite::Ieee8021x], &[1; 32])).contains("AKM"));
        assert!(reason(&request(vec![AkmSuite::Psk], b"short")).contains("32-byte PMK"));
    }

    #[test]
    fn requested_auth_is_known_even_when_refused() {
        let params = ConnectParams::new(request(vec![AkmSuite::Psk], b"short"));
        assert!(params.security().is_err());
        assert_eq!(params.auth_algorithm(), AuthAlgorithm::Wpa2Psk);
        assert_eq!(ConnectParams::new(request(vec![AkmSuite::Sae], b"")).auth_algorithm(), AuthAlgorithm::Wpa3Sae);
    }
}
