//! Connect request and connect response.

use std::fmt;

use crate::error::DecodeError;
use crate::header::Operation;
use crate::key::{Key, KeyTooLong, Pmk};
use crate::reader::Reader;
use crate::suites::{AkmSuite, CipherSuite};
use crate::types::{AuthType, Bssid, MAX_SSID_LEN, SessionId, Ssid, WpaVersions};

/// Size of the `akm_suites` array of a connect request.
pub const MAX_AKM_SUITES: usize = 2;
/// Size of the `pairwise_cipher_suites` array of a connect request.
pub const MAX_PAIRWISE_CIPHER_SUITES: usize = 5;
/// Length of the fixed part of a connect request (everything before the key).
pub const CONNECT_REQUEST_FIXED_LEN: usize = 76;

/// A guest's connect request. Unused slots of the suite arrays are not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRequest {
    /// The network to join.
    pub ssid: Ssid,
    /// A specific BSS, or [`Bssid::ZERO`] for any BSS of the SSID.
    pub bssid: Bssid,
    /// nl80211 authentication type.
    pub auth_type: AuthType,
    /// Allowed WPA versions.
    pub wpa_versions: WpaVersions,
    /// AKM suites, at most [`MAX_AKM_SUITES`].
    pub akm_suites: Vec<AkmSuite>,
    /// Pairwise cipher suites, at most [`MAX_PAIRWISE_CIPHER_SUITES`].
    pub pairwise_cipher_suites: Vec<CipherSuite>,
    /// Group cipher suite (0 when none).
    pub group_cipher_suite: CipherSuite,
    /// PMK (WPA2-PSK), password (SAE), WEP key, or empty.
    pub key: Key,
}

impl ConnectRequest {
    /// An open-network request for `ssid` with every other field zero.
    pub fn open(ssid: Ssid) -> ConnectRequest {
        ConnectRequest {
            ssid,
            bssid: Bssid::ZERO,
            auth_type: AuthType::OpenSystem,
            wpa_versions: WpaVersions::empty(),
            akm_suites: Vec::new(),
            pairwise_cipher_suites: Vec::new(),
            group_cipher_suite: CipherSuite::Other(0),
            key: Key::empty(),
        }
    }

    /// A WPA2-PSK request as wpa_supplicant makes the driver send it: auth type open
    /// system, WPA2, AKM PSK, CCMP pairwise and group, the PMK as key, any BSS.
    pub fn wpa2_psk(ssid: Ssid, pmk: Pmk) -> ConnectRequest {
        ConnectRequest {
            auth_type: AuthType::OpenSystem,
            wpa_versions: WpaVersions::WPA2,
            akm_suites: vec![AkmSuite::Psk],
            pairwise_cipher_suites: vec![CipherSuite::Ccmp],
            group_cipher_suite: CipherSuite::Ccmp,
            key: Key::from(pmk),
            ..ConnectRequest::open(ssid)
        }
    }

    /// A WPA3-SAE request: auth type SAE, WPA3, AKM SAE, CCMP pairwise and group, the
    /// password as key, any BSS. Fails if the password is longer than 255 bytes.
    pub fn wpa3_sae(ssid: Ssid, password: &[u8]) -> Result<ConnectRequest, KeyTooLong> {
        Ok(ConnectRequest {
            auth_type: AuthType::Sae,
            wpa_versions: WpaVersions::WPA3,
            akm_suites: vec![AkmSuite::Sae],
            pairwise_cipher_suites: vec![CipherSuite::Ccmp],
            group_cipher_suite: CipherSuite::Ccmp,
            key: Key::new(password)?,
            ..ConnectRequest::open(ssid)
        })
    }

    pub(crate) fn encoded_len(&self) -> usize {
        CONNECT_REQUEST_FIXED_LEN + self.key.len()
    }

    /// # Panics
    /// If a suite list is longer than its array (the fields are public; a caller bug).
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        assert!(self.akm_suites.len() <= MAX_AKM_SUITES, "at most 2 AKM suites");
        assert!(self.pairwise_cipher_suites.len() <= MAX_PAIRWISE_CIPHER_SUITES, "at most 5 pairwise suites");
        out.push(self.ssid.len() as u8);
        out.extend_from_slice(self.ssid.padded());
        out.extend_from_slice(&self.bssid.0);
        out.push(self.auth_type.to_u8());
        out.push(self.wpa_versions.bits());
        out.push(self.akm_suites.len() as u8);
        for slot in 0..MAX_AKM_SUITES {
            let value = self.akm_suites.get(slot).map_or(0, |s| s.to_u32());
            out.extend_from_slice(&value.to_le_bytes());
        }
        out.push(self.pairwise_cipher_suites.len() as u8);
        for slot in 0..MAX_PAIRWISE_CIPHER_SUITES {
            let value = self.pairwise_cipher_suites.get(slot).map_or(0, |s| s.to_u32());
            out.extend_from_slice(&value.to_le_bytes());
        }
        out.extend_from_slice(&self.group_cipher_suite.to_u32().to_le_bytes());
        out.push(self.key.len() as u8);
        out.extend_from_slice(self.key.expose_secret());
    }

    pub(crate) fn decode(body: &[u8]) -> Result<ConnectRequest, DecodeError> {
        let mut r = Reader::new(Operation::ConnectRequest, body);
        let ssid_len = r.u8("ssid_len")?;
        let ssid_field = r.take(MAX_SSID_LEN, "ssid")?;
        if usize::from(ssid_len) > MAX_SSID_LEN {
            return Err(r.too_large("ssid_len", ssid_len.into(), MAX_SSID_LEN as u64));
        }
        let ssid = Ssid::new(&ssid_field[..usize::from(ssid_len)]).expect("checked length");
        let bssid = Bssid(r.array("bssid")?);
        let auth_type = AuthType::from_u8(r.u8("auth_type")?);
        let wpa_versions = WpaVersions::from_bits_retain(r.u8("wpa_versions")?);
        let num_akm = r.u8("num_akm_suites")?;
        if usize::from(num_akm) > MAX_AKM_SUITES {
            return Err(r.too_large("num_akm_suites", num_akm.into(), MAX_AKM_SUITES as u64));
        }
        let mut akm_slots = [0u32; MAX_AKM_SUITES];
        for slot in &mut akm_slots {
            *slot = r.u32("akm_suites")?;
        }
        let num_pairwise = r.u8("num_pairwise_cipher_suites")?;
        if usize::from(num_pairwise) > MAX_PAIRWISE_CIPHER_SUITES {
            return Err(r.too_large(
                "num_pairwise_cipher_suites",
                num_pairwise.into(),
                MAX_PAIRWISE_CIPHER_SUITES as u64,
            ));
        }
        let mut pairwise_slots = [0u32; MAX_PAIRWISE_CIPHER_SUITES];
        for slot in &mut pairwise_slots {
            *slot = r.u32("pairwise_cipher_suites")?;
        }
        let group_cipher_suite = CipherSuite::from_u32(r.u32("group_cipher_suite")?);
        let key_len = r.u8("key_len")?;
        let expected = (CONNECT_REQUEST_FIXED_LEN + usize::from(key_len)) as u64;
        if body.len() as u64 != expected {
            return Err(DecodeError::FieldMismatch {
                operation: Operation::ConnectRequest,
                field: "size (76 + key_len)",
                value: body.len() as u64,
                expected,
            });
        }
        let key = Key::new(r.take(usize::from(key_len), "key")?).expect("key_len is a u8");
        r.finish()?;
        Ok(ConnectRequest {
            ssid,
            bssid,
            auth_type,
            wpa_versions,
            akm_suites: akm_slots[..usize::from(num_akm)].iter().map(|&v| AkmSuite::from_u32(v)).collect(),
            pairwise_cipher_suites: pairwise_slots[..usize::from(num_pairwise)]
                .iter()
                .map(|&v| CipherSuite::from_u32(v))
                .collect(),
            group_cipher_suite,
            key,
        })
    }
}

/// An IEEE 802.11 status code (IEEE 802.11-2020, Table 9-50), passed to the guest's
/// cfg80211 as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusCode(pub u16);

impl StatusCode {
    /// 0: success.
    pub const SUCCESS: StatusCode = StatusCode(0);
    /// 1: unspecified failure.
    pub const UNSPECIFIED_FAILURE: StatusCode = StatusCode(1);
    /// 12: denied for a reason outside the scope of the standard (Linux
    /// `WLAN_STATUS_ASSOC_DENIED_UNSPEC`).
    pub const DENIED_OTHER_REASON: StatusCode = StatusCode(12);
    /// 15: authentication rejected because of challenge failure (Linux
    /// `WLAN_STATUS_CHALLENGE_FAIL`).
    pub const CHALLENGE_FAILURE: StatusCode = StatusCode(15);
    /// 16: authentication rejected: timeout waiting for the next frame (Linux
    /// `WLAN_STATUS_AUTH_TIMEOUT`).
    pub const REJECTED_SEQUENCE_TIMEOUT: StatusCode = StatusCode(16);
    /// 17: denied because the AP cannot handle more stations (Linux
    /// `WLAN_STATUS_AP_UNABLE_TO_HANDLE_NEW_STA`).
    pub const DENIED_NO_MORE_STAS: StatusCode = StatusCode(17);
    /// 43: invalid AKMP, the key management the station asked for is not the network's
    /// (Linux `WLAN_STATUS_INVALID_AKMP`).
    pub const INVALID_AKMP: StatusCode = StatusCode(43);

    /// Whether this is [`StatusCode::SUCCESS`].
    pub fn is_success(self) -> bool {
        self == StatusCode::SUCCESS
    }

    /// The IEEE 802.11-2020 name and meaning of the codes this project gives, if it is one.
    pub fn describe(self) -> Option<(&'static str, &'static str)> {
        Some(match self.0 {
            0 => ("SUCCESS", "success"),
            1 => ("UNSPECIFIED_FAILURE", "unspecified failure"),
            12 => ("DENIED_OTHER_REASON", "denied for a reason outside the standard"),
            15 => ("CHALLENGE_FAILURE", "authentication rejected: challenge failure"),
            16 => ("REJECTED_SEQUENCE_TIMEOUT", "authentication rejected: timeout"),
            17 => ("DENIED_NO_MORE_STAS", "denied: no room for another station"),
            43 => ("INVALID_AKMP", "invalid AKMP: the network's security is not the one asked for"),
            _ => return None,
        })
    }

    /// The IEEE 802.11-2020 name, or `STATUS_<n>` for a code without one here.
    pub fn name(self) -> String {
        self.describe().map_or_else(|| format!("STATUS_{}", self.0), |(name, _)| name.to_string())
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.describe() {
            Some((name, meaning)) => write!(f, "{} {name} ({meaning})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

/// The host's answer to a connect request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectResponse {
    /// 802.11 status code.
    pub result_code: StatusCode,
    /// The BSS joined (zero on failure).
    pub bssid: Bssid,
    /// The session of this connection; larger than every earlier one.
    pub session_id: SessionId,
}

impl ConnectResponse {
    /// Body length of a connect response: result code (2), BSSID (6), session id (8).
    pub const ENCODED_LEN: usize = size_of::<u16>() + 6 + size_of::<u64>();

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.result_code.0.to_le_bytes());
        out.extend_from_slice(&self.bssid.0);
        out.extend_from_slice(&self.session_id.0.to_le_bytes());
    }

    pub(crate) fn decode(body: &[u8]) -> Result<ConnectResponse, DecodeError> {
        let mut r = Reader::new(Operation::ConnectResponse, body);
        let result_code = StatusCode(r.u16("result_code")?);
        let bssid = Bssid(r.array("bssid")?);
        let session_id = SessionId(r.u64("session_id")?);
        r.finish()?;
        Ok(ConnectResponse { result_code, bssid, session_id })
    }
}
