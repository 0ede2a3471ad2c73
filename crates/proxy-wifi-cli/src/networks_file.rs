//! `--networks FILE`: simulated networks from TOML, and `--fake-network SSID[=BSSID]`.
//!
//! ```toml
//! [[network]]
//! ssid = "HomeWpa2"
//! bssid = "02:00:00:00:10:01"   # optional
//! security = "wpa2-psk"         # open | wpa2-psk | wpa3-sae (default open)
//! passphrase = "correct horse"  # wpa2-psk: 8 to 63 characters; wpa3-sae: the password
//! frequency = 2437              # MHz (default 2437)
//! rssi = -45                    # dBm, -100 to 0 (default -50)
//! ```
//!
//! Every error names the file, the line, the field and the value, and says what is valid.

use std::collections::HashSet;
use std::path::Path;

use proxy_wifi::protocol::{Bssid, Ssid, channel_from_frequency_mhz, is_frequency_supported_by_guest};
use proxy_wifi::{FakeNetwork, SimulatedNetwork, SimulatedSecurity};
use serde::Deserialize;
use toml::Spanned;

use crate::toml_file::{FileError, TomlFile};

/// Why a networks file was rejected.
pub type NetworksFileError = FileError;

/// How the networks file is named in messages.
const KIND: &str = "networks file";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    network: Vec<RawNetwork>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    ssid: Spanned<String>,
    bssid: Option<Spanned<String>>,
    security: Option<Spanned<String>>,
    passphrase: Option<Spanned<String>>,
    frequency: Option<Spanned<i64>>,
    rssi: Option<Spanned<i64>>,
}

/// Reads and validates a networks file.
pub fn load(path: &Path) -> Result<Vec<SimulatedNetwork>, NetworksFileError> {
    parse(path, &TomlFile::read(KIND, path)?)
}

/// Validates the text of a networks file (`path` is for messages).
pub fn parse(path: &Path, text: &str) -> Result<Vec<SimulatedNetwork>, NetworksFileError> {
    let file = TomlFile::new(KIND, path, text);
    let raw: RawFile = file.parse()?;
    if raw.network.is_empty() {
        return Err(file.incomplete("it has no [[network]] entry; add at least one (see contrib/networks.toml)"));
    }
    let mut bssids = HashSet::new();
    let mut networks = Vec::new();
    for (i, n) in raw.network.into_iter().enumerate() {
        let index = i + 1;
        let entry = format!("network {index}");
        let invalid = |field: &'static str, span: std::ops::Range<usize>, value: String, expected: &str| {
            file.invalid(&entry, field, span, value, expected)
        };
        let ssid_text = n.ssid.get_ref();
        let ssid = match Ssid::new(ssid_text.as_bytes()) {
            Ok(ssid) if !ssid.is_empty() => ssid,
            _ => {
                return Err(invalid(
                    "ssid",
                    n.ssid.span(),
                    format!("{ssid_text:?}"),
                    &format!("1 to 32 bytes, this one has {}", ssid_text.len()),
                ));
            }
        };
        let bssid = match &n.bssid {
            Some(b) => b.get_ref().parse::<Bssid>().map_err(|_| {
                invalid("bssid", b.span(), format!("{:?}", b.get_ref()), "six hex bytes like \"02:00:00:00:10:01\"")
            })?,
            None => Bssid([0x02, 0, 0, 0, 0x10, index as u8]),
        };
        if !bssids.insert(bssid) {
            let span = n.bssid.as_ref().map_or(n.ssid.span(), |b| b.span());
            return Err(invalid("bssid", span, bssid.to_string(), "a BSSID not used by another network of the file"));
        }
        let security_name = n.security.as_ref().map_or("open", |s| s.get_ref().as_str());
        let secret = n.passphrase.as_ref().map(|p| p.get_ref().clone());
        let security = match security_name {
            "open" => SimulatedSecurity::Open,
            "wpa2-psk" => {
                let Some(passphrase) = secret else {
                    return Err(invalid(
                        "passphrase",
                        n.ssid.span(),
                        "(missing)".into(),
                        "a wpa2-psk network needs passphrase = \"8 to 63 characters\"",
                    ));
                };
                if !(8..=63).contains(&passphrase.len()) || !passphrase.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
                    let span = n.passphrase.as_ref().map(|p| p.span()).unwrap_or(0..0);
                    return Err(invalid(
                        "passphrase",
                        span,
                        format!("({} characters)", passphrase.len()),
                        "8 to 63 printable ASCII characters",
                    ));
                }
                SimulatedSecurity::Wpa2Psk { passphrase }
            }
            "wpa3-sae" => match secret {
                Some(password) if !password.is_empty() && password.len() <= 255 => {
                    SimulatedSecurity::Wpa3Sae { password }
                }
                _ => {
                    let span = n.passphrase.as_ref().map_or(n.ssid.span(), |p| p.span());
                    return Err(invalid(
                        "passphrase",
                        span,
                        "(missing or empty)".into(),
                        "a wpa3-sae network needs passphrase = \"its SAE password\" (1 to 255 bytes)",
                    ));
                }
            },
            other => {
                let span = n.security.as_ref().map(|s| s.span()).unwrap_or(0..0);
                return Err(invalid(
                    "security",
                    span,
                    format!("{other:?}"),
                    "one of \"open\", \"wpa2-psk\", \"wpa3-sae\"",
                ));
            }
        };
        let frequency = n.frequency.as_ref().map_or(2437, |f| *f.get_ref());
        let frequency_mhz = u32::try_from(frequency)
            .ok()
            .filter(|&mhz| is_frequency_supported_by_guest(mhz) && channel_from_frequency_mhz(mhz).is_some());
        let Some(frequency_mhz) = frequency_mhz else {
            let span = n.frequency.as_ref().map(|f| f.span()).unwrap_or(0..0);
            return Err(invalid(
                "frequency",
                span,
                frequency.to_string(),
                "a channel centre frequency in MHz the guest knows: 2412-2484, 5160-5885 or 5955-7115 (e.g. 2437, 5240, 6115)",
            ));
        };
        let rssi = n.rssi.as_ref().map_or(-50, |r| *r.get_ref());
        if !(-100..=0).contains(&rssi) {
            let span = n.rssi.as_ref().map(|r| r.span()).unwrap_or(0..0);
            return Err(invalid("rssi", span, rssi.to_string(), "a signal in dBm from -100 to 0"));
        }
        networks.push(SimulatedNetwork { ssid, bssid, security, frequency_mhz, rssi_dbm: rssi as i32 });
    }
    Ok(networks)
}

/// Parses `--fake-network SSID[=BSSID]`; `index` picks a default BSSID. The error says
/// what is wrong, for the caller to prefix with where the text came from.
pub fn parse_fake_network(text: &str, index: usize) -> Result<FakeNetwork, String> {
    let (ssid, bssid) = match text.rsplit_once('=') {
        Some((ssid, bssid)) => match bssid.parse::<Bssid>() {
            Ok(bssid) => (ssid, bssid),
            Err(_) => {
                return Err(format!("{bssid:?} is not a BSSID; expected SSID or SSID=aa:bb:cc:dd:ee:ff"));
            }
        },
        None => (text, Bssid([0x02, 0, 0, 0, 0x0f, index as u8])),
    };
    if ssid.is_empty() || ssid.len() > 32 {
        return Err(format!("the SSID is {} bytes long; it must be 1 to 32 bytes", ssid.len()));
    }
    Ok(FakeNetwork::new(ssid, bssid))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(Path::new("nets.toml"), text).unwrap_err().to_string()
    }

    #[test]
    fn example_file_loads() {
        let text = include_str!("../../../contrib/networks.toml");
        let networks = parse(Path::new("contrib/networks.toml"), text).unwrap();
        assert!(networks.len() >= 3);
    }

    #[test]
    fn errors_name_file_line_field_value_and_what_is_valid() {
        let e = err("[[network]]\nssid = \"A\"\n\n[[network]]\nssid = \"B\"\nfrequency = 2500\n");
        assert_eq!(
            e,
            "networks file nets.toml, line 6: network 2: frequency = 2500 is not valid: a channel centre frequency \
             in MHz the guest knows: 2412-2484, 5160-5885 or 5955-7115 (e.g. 2437, 5240, 6115)"
        );
        let e = err("[[network]]\nssid = \"A\"\nsecurity = \"wep\"\n");
        assert!(e.contains("line 3: network 1: security = \"wep\""), "{e}");
        assert!(e.contains("\"open\", \"wpa2-psk\", \"wpa3-sae\""), "{e}");
        let e = err("[[network]]\nssid = \"A\"\nsecurity = \"wpa2-psk\"\npassphrase = \"short\"\n");
        assert!(e.contains("line 4: network 1: passphrase"), "{e}");
        assert!(e.contains("8 to 63"), "{e}");
        let e = err("[[network]]\nssid = \"A\"\nrssi = 12\n");
        assert!(e.contains("rssi = 12") && e.contains("-100 to 0"), "{e}");
        let e = err("[[network]]\nssid = \"A\"\nbssid = \"zz\"\n");
        assert!(e.contains("bssid = \"zz\""), "{e}");
        let e = err("[[network]]\nssid = \"0123456789012345678901234567890123\"\n");
        assert!(e.contains("1 to 32 bytes, this one has 34"), "{e}");
        let e = err("[[network]]\nssid = \"A\"\nchannel = 6\n");
        assert!(e.contains("unknown field `channel`") && e.contains("line 3"), "{e}");
        let e = err(
            "[[network]]\nssid = \"A\"\nbssid = \"02:00:00:00:00:01\"\n[[network]]\nssid = \"B\"\nbssid = \"02:00:00:00:00:01\"\n",
        );
        assert!(e.contains("line 6: network 2: bssid = 02:00:00:00:00:01"), "{e}");
        assert_eq!(
            err(""),
            "networks file nets.toml: it has no [[network]] entry; add at least one (see contrib/networks.toml)"
        );
    }

    #[test]
    fn fake_network_flag() {
        let n = parse_fake_network("Corp=02:11:22:33:44:55", 0).unwrap();
        assert_eq!((n.ssid.as_slice(), n.bssid.to_string().as_str()), (&b"Corp"[..], "02:11:22:33:44:55"));
        assert_eq!(parse_fake_network("Plain", 3).unwrap().bssid, Bssid([2, 0, 0, 0, 0x0f, 3]));
        assert!(parse_fake_network("A=notabssid", 0).unwrap_err().contains("is not a BSSID"));
        assert!(parse_fake_network(&"x".repeat(33), 0).unwrap_err().contains("1 to 32 bytes"));
    }
}
