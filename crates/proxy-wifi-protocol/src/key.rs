//! Secret key material: zeroized on drop, never printed.

use std::fmt;

use pbkdf2::pbkdf2_hmac;
use sha1::Sha1;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::types::Ssid;

/// Largest key a connect request can carry (`key_len` is one byte).
pub const MAX_KEY_LEN: usize = 255;

/// The key of a connect request: a PMK for WPA2-PSK, a password for SAE, a WEP key.
///
/// Zeroized on drop; `Debug` prints only the length; comparison is constant-time.
#[derive(Clone, Default, Zeroize, ZeroizeOnDrop)]
pub struct Key(Vec<u8>);

/// Error of [`Key::new`]: more than 255 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("key is {0} bytes long, at most 255")]
pub struct KeyTooLong(pub usize);

impl Key {
    /// A key from bytes; fails above 255 bytes.
    pub fn new(bytes: &[u8]) -> Result<Key, KeyTooLong> {
        if bytes.len() > MAX_KEY_LEN {
            return Err(KeyTooLong(bytes.len()));
        }
        Ok(Key(bytes.to_vec()))
    }

    /// The empty key (open networks).
    pub fn empty() -> Key {
        Key(Vec::new())
    }

    /// The secret bytes. Do not log them.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no key.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The key as a PMK, if it is 32 bytes long.
    pub fn to_pmk(&self) -> Option<Pmk> {
        let bytes: [u8; 32] = self.0.as_slice().try_into().ok()?;
        Some(Pmk(bytes))
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Key {}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key(<{} bytes redacted>)", self.0.len())
    }
}

impl From<Pmk> for Key {
    fn from(pmk: Pmk) -> Key {
        Key(pmk.0.to_vec())
    }
}

/// A WPA2 pairwise master key: 32 bytes, zeroized on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Pmk([u8; 32]);

/// Error of [`Pmk::from_hex`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a PSK must be 64 hex digits, got {len} characters{detail}")]
pub struct InvalidPmkHex {
    len: usize,
    detail: &'static str,
}

impl Pmk {
    /// Derives the PMK a supplicant computes for WPA2-PSK:
    /// PBKDF2-HMAC-SHA1(passphrase, SSID, 4096 iterations, 32 bytes).
    pub fn derive(passphrase: &[u8], ssid: &Ssid) -> Pmk {
        let mut out = [0u8; 32];
        pbkdf2_hmac::<Sha1>(passphrase, ssid.as_bytes(), 4096, &mut out);
        Pmk(out)
    }

    /// A PMK from raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Pmk {
        Pmk(bytes)
    }

    /// A PMK from 64 hex digits (the `psk=` form of wpa_supplicant).
    pub fn from_hex(text: &str) -> Result<Pmk, InvalidPmkHex> {
        if text.len() != 64 {
            return Err(InvalidPmkHex { len: text.len(), detail: "" });
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out)
            .map_err(|_| InvalidPmkHex { len: text.len(), detail: " (not all hex digits)" })?;
        Ok(Pmk(out))
    }

    /// The secret bytes. Do not log them.
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }

    /// The PMK as 64 lowercase hex digits (for profiles and supplicant commands).
    pub fn to_hex(&self) -> zeroize::Zeroizing<String> {
        let mut digits = zeroize::Zeroizing::new([0u8; 64]);
        hex::encode_to_slice(self.0, &mut digits[..]).expect("64 digits for 32 bytes");
        zeroize::Zeroizing::new(std::str::from_utf8(&digits[..]).expect("hex digits are ASCII").to_owned())
    }
}

impl PartialEq for Pmk {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Pmk {}

impl fmt::Debug for Pmk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pmk(<32 bytes redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_key_bytes() {
        let key = Key::new(b"correct horse").unwrap();
        let text = format!("{key:?}");
        assert_eq!(text, "Key(<13 bytes redacted>)");
        let pmk = Pmk::from_bytes([0xab; 32]);
        assert!(!format!("{pmk:?}").contains("ab"));
    }

    #[test]
    fn pmk_derivation_matches_wpa_passphrase() {
        // wpa_passphrase lab-wpa2 labpassword
        let ssid = Ssid::new(b"lab-wpa2").unwrap();
        let pmk = Pmk::derive(b"labpassword", &ssid);
        assert_eq!(pmk.to_hex().as_str(), "51ce1e2ee1508a129f42d337038ecd33d5bfdb7265cc93e4c7252e1696c24144");
        assert_eq!(Pmk::from_hex(&pmk.to_hex()).unwrap(), pmk);
    }

    #[test]
    fn bad_hex_is_rejected_with_reason() {
        assert!(Pmk::from_hex("abc").unwrap_err().to_string().contains("got 3 characters"));
        let bad = "zz".repeat(32);
        assert!(Pmk::from_hex(&bad).unwrap_err().to_string().contains("not all hex"));
    }

    #[test]
    fn key_longer_than_255_is_refused() {
        assert_eq!(Key::new(&[0; 256]).unwrap_err(), KeyTooLong(256));
        assert_eq!(Key::new(&[0; 255]).unwrap().len(), 255);
    }
}
