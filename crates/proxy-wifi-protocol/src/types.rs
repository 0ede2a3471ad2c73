//! Typed values of the protocol: SSID, BSSID, session id, auth type, WPA versions.

use std::fmt;
use std::str::FromStr;

/// Largest SSID length allowed by 802.11.
pub const MAX_SSID_LEN: usize = 32;

/// An SSID: 0 to 32 arbitrary bytes.
///
/// `Display` gives a printable, escaped form for logs: printable ASCII as is, other bytes
/// as `\xNN`, and `\` as `\\`.
/// The default is the empty SSID (a hidden network's).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Ssid {
    len: u8,
    bytes: [u8; MAX_SSID_LEN],
}

/// Error of [`Ssid::new`]: more than 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("SSID is {0} bytes long, at most 32")]
pub struct SsidTooLong(pub usize);

impl Ssid {
    /// An SSID from raw bytes; fails above 32 bytes.
    pub fn new(bytes: &[u8]) -> Result<Ssid, SsidTooLong> {
        if bytes.len() > MAX_SSID_LEN {
            return Err(SsidTooLong(bytes.len()));
        }
        let mut out = [0u8; MAX_SSID_LEN];
        out[..bytes.len()].copy_from_slice(bytes);
        Ok(Ssid { len: bytes.len() as u8, bytes: out })
    }

    /// The SSID's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether the SSID is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The SSID as UTF-8 text if it is valid UTF-8.
    pub fn to_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()).ok()
    }

    /// The 32-byte zero-padded field used on the wire.
    pub(crate) fn padded(&self) -> &[u8; MAX_SSID_LEN] {
        &self.bytes
    }
}

impl fmt::Display for Ssid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in self.as_bytes() {
            match b {
                b'\\' => f.write_str("\\\\")?,
                0x20..=0x7e => write!(f, "{}", b as char)?,
                _ => write!(f, "\\x{b:02x}")?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Ssid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ssid(\"{self}\")")
    }
}

impl TryFrom<&str> for Ssid {
    type Error = SsidTooLong;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Ssid::new(value.as_bytes())
    }
}

/// A BSSID (the MAC address of an access point); `Display` gives `aa:bb:cc:dd:ee:ff`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Bssid(pub [u8; 6]);

impl Bssid {
    /// The all-zero BSSID: "any BSS" in a connect request.
    pub const ZERO: Bssid = Bssid([0; 6]);

    /// Whether this is the all-zero BSSID.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 6]
    }
}

impl fmt::Display for Bssid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4], b[5])
    }
}

impl fmt::Debug for Bssid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bssid({self})")
    }
}

/// Error of parsing a [`Bssid`] from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a BSSID: expected six hex bytes separated by ':' like 02:00:00:00:01:00")]
pub struct InvalidBssid(pub String);

impl FromStr for Bssid {
    type Err = InvalidBssid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidBssid(s.to_owned());
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for byte in &mut out {
            let part = parts.next().ok_or_else(invalid)?;
            if part.len() != 2 {
                return Err(invalid());
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| invalid())?;
        }
        if parts.next().is_some() {
            return Err(invalid());
        }
        Ok(Bssid(out))
    }
}

/// Identifies one guest connection; every connect response carries a new, larger one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SessionId(pub u64);

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The nl80211 authentication type of a connect request; unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthType {
    /// 0: open system.
    OpenSystem,
    /// 1: shared key (WEP).
    SharedKey,
    /// 2: fast BSS transition (802.11r).
    FastBssTransition,
    /// 3: network EAP.
    NetworkEap,
    /// 4: simultaneous authentication of equals (WPA3).
    Sae,
    /// 5: FILS shared key.
    FilsSk,
    /// 6: FILS shared key with PFS.
    FilsSkPfs,
    /// 7: FILS public key.
    FilsPk,
    /// 8: let the driver choose (sent by `iw connect` for open networks).
    Automatic,
    /// Any other value.
    Unknown(u8),
}

impl AuthType {
    /// The type for this wire value.
    pub fn from_u8(value: u8) -> AuthType {
        match value {
            0 => AuthType::OpenSystem,
            1 => AuthType::SharedKey,
            2 => AuthType::FastBssTransition,
            3 => AuthType::NetworkEap,
            4 => AuthType::Sae,
            5 => AuthType::FilsSk,
            6 => AuthType::FilsSkPfs,
            7 => AuthType::FilsPk,
            8 => AuthType::Automatic,
            other => AuthType::Unknown(other),
        }
    }

    /// The wire value.
    pub fn to_u8(self) -> u8 {
        match self {
            AuthType::OpenSystem => 0,
            AuthType::SharedKey => 1,
            AuthType::FastBssTransition => 2,
            AuthType::NetworkEap => 3,
            AuthType::Sae => 4,
            AuthType::FilsSk => 5,
            AuthType::FilsSkPfs => 6,
            AuthType::FilsPk => 7,
            AuthType::Automatic => 8,
            AuthType::Unknown(other) => other,
        }
    }
}

bitflags::bitflags! {
    /// The WPA versions bit mask of a connect request; unknown bits are kept.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct WpaVersions: u8 {
        /// WPA (version 1).
        const WPA = 1;
        /// WPA2 (RSN).
        const WPA2 = 2;
        /// WPA3.
        const WPA3 = 4;
        const _ = !0;
    }
}
