//! The fake's radio environment: BSSs with their security, built like real networks
//! (SSID, rates and RSN elements), and the check of a connection's profile against them.

use proxy_wifi_protocol::{
    AkmSuite, Bssid, Capabilities, CipherSuite, Pmk, RsnElement, Ssid, push_rsn_element, push_ssid_element,
};

use super::profile::FakeConnectCall;
use crate::host::windows::api::{Dot11AuthAlgorithm, Dot11CipherAlgorithm, WlanBss, WlanNetwork, reason};

/// The secret a fake network checks a connection's key against.
#[derive(Clone, PartialEq, Eq)]
pub enum FakeSecret {
    /// No key (open, or a network the fake never lets anyone join: enterprise).
    None,
    /// WPA2-PSK: the PMK of the passphrase.
    Pmk(Pmk),
    /// WPA3-SAE: the password.
    Password(String),
}

impl std::fmt::Debug for FakeSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FakeSecret::None => "None",
            FakeSecret::Pmk(_) => "Pmk(<redacted>)",
            FakeSecret::Password(_) => "Password(<redacted>)",
        })
    }
}

/// A BSS in range of the fake, with the network's security.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeBss {
    /// SSID.
    pub ssid: Ssid,
    /// BSSID.
    pub bssid: Bssid,
    /// The network's authentication, as `WlanGetAvailableNetworkList` reports it.
    pub auth: Dot11AuthAlgorithm,
    /// The network's cipher.
    pub cipher: Dot11CipherAlgorithm,
    /// What a connection must present.
    pub secret: FakeSecret,
    /// Signal, dBm.
    pub rssi_dbm: i32,
    /// Link quality, 0–100.
    pub link_quality: u32,
    /// Centre frequency, kHz.
    pub frequency_khz: u32,
    /// 802.11 capabilities.
    pub capabilities: u16,
    /// Information elements.
    pub ies: Vec<u8>,
    /// Found only by a scan targeted at its SSID.
    pub hidden: bool,
}

pub(super) fn ssid_of(ssid: impl AsRef<[u8]>) -> Ssid {
    Ssid::new(ssid.as_ref()).expect("a fake network's SSID is at most 32 bytes")
}

impl FakeBss {
    fn build(
        ssid: Ssid,
        bssid: Bssid,
        auth: Dot11AuthAlgorithm,
        cipher: Dot11CipherAlgorithm,
        secret: FakeSecret,
        rsn: Option<RsnElement>,
    ) -> Self {
        let mut ies = Vec::new();
        push_ssid_element(&mut ies, &ssid);
        ies.extend_from_slice(&[1, 4, 0x82, 0x84, 0x8b, 0x96]); // supported rates
        let mut capabilities = Capabilities::ESS;
        if let Some(rsn) = &rsn {
            push_rsn_element(&mut ies, rsn);
        }
        if cipher != Dot11CipherAlgorithm::None {
            capabilities = capabilities | Capabilities::PRIVACY;
        }
        Self {
            ssid,
            bssid,
            auth,
            cipher,
            secret,
            rssi_dbm: -55,
            link_quality: 90,
            frequency_khz: 5_180_000,
            capabilities: capabilities.0,
            ies,
            hidden: false,
        }
    }

    /// An open network (no cipher). Panics on an SSID over 32 bytes.
    pub fn open(ssid: impl AsRef<[u8]>, bssid: Bssid) -> Self {
        Self::build(ssid_of(ssid), bssid, Dot11AuthAlgorithm::Open, Dot11CipherAlgorithm::None, FakeSecret::None, None)
    }

    /// A WPA2-PSK/CCMP network with this passphrase.
    pub fn wpa2_psk(ssid: impl AsRef<[u8]>, bssid: Bssid, passphrase: &str) -> Self {
        let ssid = ssid_of(ssid);
        let pmk = Pmk::derive(passphrase.as_bytes(), &ssid);
        Self::build(
            ssid,
            bssid,
            Dot11AuthAlgorithm::RsnaPsk,
            Dot11CipherAlgorithm::Ccmp,
            FakeSecret::Pmk(pmk),
            Some(RsnElement::wpa2_psk()),
        )
    }

    /// A WPA3-SAE/CCMP network with this password.
    pub fn wpa3_sae(ssid: impl AsRef<[u8]>, bssid: Bssid, password: &str) -> Self {
        Self::build(
            ssid_of(ssid),
            bssid,
            Dot11AuthAlgorithm::Wpa3Sae,
            Dot11CipherAlgorithm::Ccmp,
            FakeSecret::Password(password.to_owned()),
            Some(RsnElement::wpa3_sae()),
        )
    }

    /// A WPA2-Enterprise (802.1X/CCMP) network: nobody joins it through a profile.
    pub fn enterprise(ssid: impl AsRef<[u8]>, bssid: Bssid) -> Self {
        let rsn = RsnElement {
            version: 1,
            group_cipher: CipherSuite::Ccmp,
            pairwise_ciphers: vec![CipherSuite::Ccmp],
            akm_suites: vec![AkmSuite::Ieee8021x],
            capabilities: 0,
        };
        Self::build(
            ssid_of(ssid),
            bssid,
            Dot11AuthAlgorithm::Rsna,
            Dot11CipherAlgorithm::Ccmp,
            FakeSecret::None,
            Some(rsn),
        )
    }

    /// The same BSS, hidden: only a targeted scan finds it.
    pub fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }

    /// The same BSS on another channel and signal.
    pub fn at(mut self, frequency_mhz: u32, rssi_dbm: i32) -> Self {
        self.frequency_khz = frequency_mhz * 1000;
        self.rssi_dbm = rssi_dbm;
        self
    }

    pub(super) fn as_wlan_bss(&self) -> WlanBss {
        WlanBss {
            ssid: self.ssid,
            bssid: self.bssid,
            phy_type: 8,
            rssi_dbm: self.rssi_dbm,
            link_quality: self.link_quality,
            frequency_khz: self.frequency_khz,
            capabilities: self.capabilities,
            beacon_period: 100,
            ies: self.ies.clone(),
        }
    }

    pub(super) fn as_network(&self) -> WlanNetwork {
        WlanNetwork {
            ssid: self.ssid,
            auth: self.auth,
            cipher: self.cipher,
            security_enabled: self.cipher != Dot11CipherAlgorithm::None,
            signal_quality: self.link_quality,
            connectable: true,
        }
    }
}

/// The reason code a connection with `call`'s profile to `bss` ends with.
pub(super) fn check_security(bss: &FakeBss, call: &FakeConnectCall) -> u32 {
    let key = call.security.key_material.as_deref().unwrap_or_default();
    match (call.security.authentication.as_str(), call.security.encryption.as_str()) {
        ("open", "none") if bss.auth == Dot11AuthAlgorithm::Open && bss.cipher == Dot11CipherAlgorithm::None => {
            reason::SUCCESS
        }
        ("WPA2PSK", "AES")
            if bss.auth == Dot11AuthAlgorithm::RsnaPsk
                && matches!(bss.cipher, Dot11CipherAlgorithm::Ccmp | Dot11CipherAlgorithm::Gcmp) =>
        {
            let FakeSecret::Pmk(pmk) = &bss.secret else { return reason::ASSOCIATION_FAILURE };
            let given = match call.security.key_type.as_deref() {
                Some("networkKey") => Pmk::from_hex(key).ok(),
                Some("passPhrase") => Some(Pmk::derive(key.as_bytes(), &bss.ssid)),
                _ => None,
            };
            if given.as_ref() == Some(pmk) { reason::SUCCESS } else { reason::PSK_MISMATCH_SUSPECTED }
        }
        ("WPA3SAE", "AES") if bss.auth == Dot11AuthAlgorithm::Wpa3Sae => match &bss.secret {
            FakeSecret::Password(password)
                if call.security.key_type.as_deref() == Some("passPhrase") && key == password =>
            {
                reason::SUCCESS
            }
            _ => reason::KEY_MISMATCH,
        },
        _ => reason::ASSOCIATION_FAILURE,
    }
}
