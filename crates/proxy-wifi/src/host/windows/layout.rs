//! Decoding of the memory the WLAN functions return, from bytes.
//!
//! The Windows client hands each returned block to these functions as a byte slice (of
//! the size the API reports or the item count implies) and turns nothing else into
//! values itself. Every offset below is that of the `x86_64`/`aarch64` Windows layout of
//! the structure named; `ffi.rs` checks them against `windows-sys` at compile time. Every
//! read is bounds-checked: a short or inconsistent block yields `None` or skips the entry,
//! never a panic.

use proxy_wifi_protocol::{Bssid, MAX_SSID_LEN, Ssid};
use uuid::Uuid;

use super::api::{
    Dot11AuthAlgorithm, Dot11CipherAlgorithm, InterfaceState, WlanBss, WlanConnection, WlanInterfaceInfo, WlanNetwork,
    WlanNotification,
};

/// `WLAN_NOTIFICATION_SOURCE_ACM`.
pub const SOURCE_ACM: u32 = 0x08;
/// `WLAN_NOTIFICATION_SOURCE_MSM`.
pub const SOURCE_MSM: u32 = 0x10;

/// `wlan_notification_acm_scan_complete`.
pub const ACM_SCAN_COMPLETE: u32 = 7;
/// `wlan_notification_acm_scan_fail`.
pub const ACM_SCAN_FAIL: u32 = 8;
/// `wlan_notification_acm_connection_complete`.
pub const ACM_CONNECTION_COMPLETE: u32 = 10;
/// `wlan_notification_acm_interface_arrival`.
pub const ACM_INTERFACE_ARRIVAL: u32 = 13;
/// `wlan_notification_acm_interface_removal`.
pub const ACM_INTERFACE_REMOVAL: u32 = 14;
/// `wlan_notification_acm_disconnected`.
pub const ACM_DISCONNECTED: u32 = 21;
/// `wlan_notification_msm_signal_quality_change`.
pub const MSM_SIGNAL_QUALITY_CHANGE: u32 = 8;

/// `dot11_BSS_type_infrastructure`.
pub const BSS_TYPE_INFRASTRUCTURE: i32 = 1;

/// Size of `DOT11_SSID` (u32 length + 32 bytes).
pub const DOT11_SSID_SIZE: usize = 36;
/// Size of a `WCHAR[WLAN_MAX_NAME_LENGTH]` field.
const NAME_FIELD_SIZE: usize = 512;

/// Offsets in `WLAN_BSS_LIST` / `WLAN_BSS_ENTRY`.
pub mod bss_entry {
    /// Offset of the first entry in the list (after `dwTotalSize`, `dwNumberOfItems`).
    pub const LIST_HEADER: usize = 8;
    /// `sizeof(WLAN_BSS_ENTRY)`.
    pub const SIZE: usize = 360;
    /// `dot11Ssid`.
    pub const SSID: usize = 0;
    /// `dot11Bssid`.
    pub const BSSID: usize = 40;
    /// `dot11BssType`.
    pub const BSS_TYPE: usize = 48;
    /// `dot11BssPhyType`.
    pub const PHY_TYPE: usize = 52;
    /// `lRssi`.
    pub const RSSI: usize = 56;
    /// `uLinkQuality`.
    pub const LINK_QUALITY: usize = 60;
    /// `usBeaconPeriod`.
    pub const BEACON_PERIOD: usize = 66;
    /// `usCapabilityInformation`.
    pub const CAPABILITY: usize = 88;
    /// `ulChCenterFrequency` (kHz).
    pub const CENTER_FREQUENCY: usize = 92;
    /// `ulIeOffset` (from the start of the entry).
    pub const IE_OFFSET: usize = 352;
    /// `ulIeSize`.
    pub const IE_SIZE: usize = 356;
}

/// Offsets in `WLAN_AVAILABLE_NETWORK_LIST` / `WLAN_AVAILABLE_NETWORK`.
pub mod available_network {
    /// Offset of the first entry (after `dwNumberOfItems`, `dwIndex`).
    pub const LIST_HEADER: usize = 8;
    /// `sizeof(WLAN_AVAILABLE_NETWORK)`.
    pub const SIZE: usize = 628;
    /// `dot11Ssid`.
    pub const SSID: usize = 512;
    /// `dot11BssType`.
    pub const BSS_TYPE: usize = 548;
    /// `bNetworkConnectable`.
    pub const CONNECTABLE: usize = 556;
    /// `wlanSignalQuality`.
    pub const SIGNAL_QUALITY: usize = 604;
    /// `bSecurityEnabled`.
    pub const SECURITY_ENABLED: usize = 608;
    /// `dot11DefaultAuthAlgorithm`.
    pub const AUTH: usize = 612;
    /// `dot11DefaultCipherAlgorithm`.
    pub const CIPHER: usize = 616;
}

/// Offsets in `WLAN_INTERFACE_INFO_LIST` / `WLAN_INTERFACE_INFO`.
pub mod interface_info {
    /// Offset of the first entry.
    pub const LIST_HEADER: usize = 8;
    /// `sizeof(WLAN_INTERFACE_INFO)`.
    pub const SIZE: usize = 532;
    /// `InterfaceGuid`.
    pub const GUID: usize = 0;
    /// `strInterfaceDescription`.
    pub const DESCRIPTION: usize = 16;
    /// `isState`.
    pub const STATE: usize = 528;
}

/// Offsets in `WLAN_CONNECTION_ATTRIBUTES`.
pub mod connection_attributes {
    /// `sizeof(WLAN_CONNECTION_ATTRIBUTES)`.
    pub const SIZE: usize = 604;
    /// `isState`.
    pub const STATE: usize = 0;
    /// `strProfileName`.
    pub const PROFILE_NAME: usize = 8;
    /// `wlanAssociationAttributes.dot11Ssid`.
    pub const SSID: usize = 520;
    /// `wlanAssociationAttributes.dot11Bssid`.
    pub const BSSID: usize = 560;
    /// `wlanAssociationAttributes.wlanSignalQuality`.
    pub const SIGNAL_QUALITY: usize = 576;
    /// `wlanSecurityAttributes.dot11AuthAlgorithm`.
    pub const AUTH: usize = 596;
    /// `wlanSecurityAttributes.dot11CipherAlgorithm`.
    pub const CIPHER: usize = 600;
}

/// Offsets in `WLAN_CONNECTION_NOTIFICATION_DATA`.
pub mod connection_notification {
    /// Bytes needed up to and including `wlanReasonCode`.
    pub const MIN_SIZE: usize = 564;
    /// `dot11Ssid`.
    pub const SSID: usize = 516;
    /// `wlanReasonCode`.
    pub const REASON: usize = 560;
}

fn read<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    read::<2>(bytes, at).map(u16::from_le_bytes)
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    read::<4>(bytes, at).map(u32::from_le_bytes)
}

fn i32_at(bytes: &[u8], at: usize) -> Option<i32> {
    read::<4>(bytes, at).map(i32::from_le_bytes)
}

/// A GUID as stored in memory (`Data1`–`Data3` little-endian).
pub fn guid_at(bytes: &[u8], at: usize) -> Option<Uuid> {
    read::<16>(bytes, at).map(Uuid::from_bytes_le)
}

/// A `DOT11_SSID`; a length above 32 is clamped to 32.
pub fn ssid_at(bytes: &[u8], at: usize) -> Option<Ssid> {
    let len = (u32_at(bytes, at)? as usize).min(MAX_SSID_LEN);
    let data = bytes.get(at + 4..at + 4 + MAX_SSID_LEN)?;
    Ssid::new(&data[..len]).ok()
}

/// A NUL-terminated `WCHAR` array of `size` bytes, lossily decoded.
fn wide_string_at(bytes: &[u8], at: usize, size: usize) -> Option<String> {
    let field = bytes.get(at..at.checked_add(size)?)?;
    let units: Vec<u16> =
        field.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).take_while(|&u| u != 0).collect();
    Some(String::from_utf16_lossy(&units))
}

fn bssid_at(bytes: &[u8], at: usize) -> Option<Bssid> {
    read::<6>(bytes, at).map(Bssid)
}

/// Entry `index` of a list whose entries start at `header` and are `size` bytes each.
fn entry(bytes: &[u8], header: usize, size: usize, index: usize) -> Option<&[u8]> {
    let start = header.checked_add(index.checked_mul(size)?)?;
    bytes.get(start..start.checked_add(size)?)
}

/// The byte length of a list of `count` entries, for slicing the returned block.
pub fn list_len(header: usize, entry_size: usize, count: u32) -> Option<usize> {
    header.checked_add((count as usize).checked_mul(entry_size)?)
}

/// Decodes a `WLAN_BSS_LIST` of `dwTotalSize` bytes. Entries that are not infrastructure
/// BSSs, or whose IEs lie outside the block, are skipped.
pub fn decode_bss_list(block: &[u8]) -> Vec<WlanBss> {
    let Some(count) = u32_at(block, 4) else { return Vec::new() };
    let mut out = Vec::new();
    for index in 0..count as usize {
        let Some(e) = entry(block, bss_entry::LIST_HEADER, bss_entry::SIZE, index) else {
            tracing::warn!(index, count, "WLAN BSS list shorter than its item count");
            break;
        };
        // Cannot overflow: the entry lies within the block.
        let start = bss_entry::LIST_HEADER + index * bss_entry::SIZE;
        match decode_bss_entry(block, start, e) {
            Some(bss) => out.push(bss),
            None => tracing::debug!(index, "WLAN BSS entry skipped (not infrastructure, or IEs out of bounds)"),
        }
    }
    out
}

fn decode_bss_entry(block: &[u8], start: usize, e: &[u8]) -> Option<WlanBss> {
    use bss_entry as o;
    if i32_at(e, o::BSS_TYPE)? != BSS_TYPE_INFRASTRUCTURE {
        return None;
    }
    let ie_offset = u32_at(e, o::IE_OFFSET)? as usize;
    let ie_size = u32_at(e, o::IE_SIZE)? as usize;
    let ie_start = start.checked_add(ie_offset)?;
    let ies = block.get(ie_start..ie_start.checked_add(ie_size)?)?.to_vec();
    Some(WlanBss {
        ssid: ssid_at(e, o::SSID)?,
        bssid: bssid_at(e, o::BSSID)?,
        phy_type: u32_at(e, o::PHY_TYPE)?,
        rssi_dbm: i32_at(e, o::RSSI)?,
        link_quality: u32_at(e, o::LINK_QUALITY)?,
        frequency_khz: u32_at(e, o::CENTER_FREQUENCY)?,
        capabilities: u16_at(e, o::CAPABILITY)?,
        beacon_period: u16_at(e, o::BEACON_PERIOD)?,
        ies,
    })
}

/// Decodes a `WLAN_AVAILABLE_NETWORK_LIST` (block of [`list_len`] bytes); only
/// infrastructure networks are kept.
pub fn decode_available_networks(block: &[u8]) -> Vec<WlanNetwork> {
    use available_network as o;
    let Some(count) = u32_at(block, 0) else { return Vec::new() };
    (0..count as usize)
        .map_while(|index| entry(block, o::LIST_HEADER, o::SIZE, index))
        .filter_map(|e| {
            if i32_at(e, o::BSS_TYPE)? != BSS_TYPE_INFRASTRUCTURE {
                return None;
            }
            Some(WlanNetwork {
                ssid: ssid_at(e, o::SSID)?,
                auth: Dot11AuthAlgorithm::from_raw(i32_at(e, o::AUTH)?),
                cipher: Dot11CipherAlgorithm::from_raw(i32_at(e, o::CIPHER)?),
                security_enabled: u32_at(e, o::SECURITY_ENABLED)? != 0,
                signal_quality: u32_at(e, o::SIGNAL_QUALITY)?,
                connectable: u32_at(e, o::CONNECTABLE)? != 0,
            })
        })
        .collect()
}

/// Decodes a `WLAN_INTERFACE_INFO_LIST` (block of [`list_len`] bytes).
pub fn decode_interface_list(block: &[u8]) -> Vec<WlanInterfaceInfo> {
    use interface_info as o;
    let Some(count) = u32_at(block, 0) else { return Vec::new() };
    (0..count as usize)
        .map_while(|index| entry(block, o::LIST_HEADER, o::SIZE, index))
        .filter_map(|e| {
            Some(WlanInterfaceInfo {
                guid: guid_at(e, o::GUID)?,
                description: wide_string_at(e, o::DESCRIPTION, NAME_FIELD_SIZE)?,
                state: InterfaceState::from_raw(i32_at(e, o::STATE)?),
            })
        })
        .collect()
}

/// Decodes `WLAN_CONNECTION_ATTRIBUTES` (the block `WlanQueryInterface` returned).
pub fn decode_connection_attributes(block: &[u8]) -> Option<WlanConnection> {
    use connection_attributes as o;
    Some(WlanConnection {
        state: InterfaceState::from_raw(i32_at(block, o::STATE)?),
        profile_name: wide_string_at(block, o::PROFILE_NAME, NAME_FIELD_SIZE)?,
        ssid: ssid_at(block, o::SSID)?,
        bssid: bssid_at(block, o::BSSID)?,
        signal_quality: u32_at(block, o::SIGNAL_QUALITY)?,
        auth: Dot11AuthAlgorithm::from_raw(i32_at(block, o::AUTH)?),
        cipher: Dot11CipherAlgorithm::from_raw(i32_at(block, o::CIPHER)?),
    })
}

/// Decodes a notification from its source, code and `pData` bytes (`dwDataSize` long).
/// Notifications the backend does not use, or with a payload too short for their code,
/// give `None`.
pub fn decode_notification(source: u32, code: u32, data: &[u8]) -> Option<WlanNotification> {
    match (source, code) {
        (SOURCE_ACM, ACM_SCAN_COMPLETE) => Some(WlanNotification::ScanComplete),
        // The reason code is optional for a failure: an absent one is "unknown".
        (SOURCE_ACM, ACM_SCAN_FAIL) => {
            Some(WlanNotification::ScanFailed { reason: u32_at(data, 0).unwrap_or(super::api::reason::UNKNOWN) })
        }
        (SOURCE_ACM, ACM_CONNECTION_COMPLETE) | (SOURCE_ACM, ACM_DISCONNECTED) => {
            if data.len() < connection_notification::MIN_SIZE {
                tracing::warn!(code, size = data.len(), "WLAN connection notification too short; ignored");
                return None;
            }
            let ssid = ssid_at(data, connection_notification::SSID)?;
            let reason = u32_at(data, connection_notification::REASON)?;
            Some(if code == ACM_CONNECTION_COMPLETE {
                WlanNotification::ConnectionComplete { ssid, reason }
            } else {
                WlanNotification::Disconnected { ssid, reason }
            })
        }
        (SOURCE_ACM, ACM_INTERFACE_ARRIVAL) => Some(WlanNotification::InterfaceArrival),
        (SOURCE_ACM, ACM_INTERFACE_REMOVAL) => Some(WlanNotification::InterfaceRemoval),
        (SOURCE_MSM, MSM_SIGNAL_QUALITY_CHANGE) => {
            u32_at(data, 0).map(|percent| WlanNotification::SignalQuality { percent })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::windows::api::reason;

    fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
        buf[at..at + bytes.len()].copy_from_slice(bytes);
    }

    fn put_ssid(buf: &mut [u8], at: usize, ssid: &[u8]) {
        put(buf, at, &(ssid.len() as u32).to_le_bytes());
        put(buf, at + 4, ssid);
    }

    fn put_wide(buf: &mut [u8], at: usize, text: &str) {
        for (i, unit) in text.encode_utf16().enumerate() {
            put(buf, at + 2 * i, &unit.to_le_bytes());
        }
    }

    /// SSID, BSSID, BSS type, RSSI, frequency (kHz), IEs.
    type TestEntry<'a> = (&'a [u8], [u8; 6], i32, i32, u32, &'a [u8]);

    /// A `WLAN_BSS_LIST` block as the WLAN service lays it out: entries, then all IEs.
    fn bss_list_block(entries: &[TestEntry<'_>]) -> Vec<u8> {
        let entries_end = bss_entry::LIST_HEADER + entries.len() * bss_entry::SIZE;
        let mut block = vec![0u8; entries_end];
        for (i, (ssid, bssid, bss_type, rssi, freq, ies)) in entries.iter().enumerate() {
            let start = bss_entry::LIST_HEADER + i * bss_entry::SIZE;
            let ie_at = block.len();
            block.extend_from_slice(ies);
            let e = &mut block[start..start + bss_entry::SIZE];
            put_ssid(e, bss_entry::SSID, ssid);
            put(e, bss_entry::BSSID, bssid);
            put(e, bss_entry::BSS_TYPE, &bss_type.to_le_bytes());
            put(e, bss_entry::PHY_TYPE, &8u32.to_le_bytes());
            put(e, bss_entry::RSSI, &rssi.to_le_bytes());
            put(e, bss_entry::LINK_QUALITY, &77u32.to_le_bytes());
            put(e, bss_entry::BEACON_PERIOD, &100u16.to_le_bytes());
            put(e, bss_entry::CAPABILITY, &0x0411u16.to_le_bytes());
            put(e, bss_entry::CENTER_FREQUENCY, &freq.to_le_bytes());
            put(e, bss_entry::IE_OFFSET, &((ie_at - start) as u32).to_le_bytes());
            put(e, bss_entry::IE_SIZE, &(ies.len() as u32).to_le_bytes());
        }
        let total = block.len() as u32;
        put(&mut block, 0, &total.to_le_bytes());
        put(&mut block, 4, &(entries.len() as u32).to_le_bytes());
        block
    }

    #[test]
    fn bss_list_entries_with_their_ies() {
        let ies_a: &[u8] = &[0, 4, b'h', b'o', b'm', b'e', 48, 2, 1, 0];
        let ies_b: &[u8] = &[0, 3, b'a', b'b', b'c'];
        let block = bss_list_block(&[
            (b"home", [2, 0, 0, 0, 0, 1], BSS_TYPE_INFRASTRUCTURE, -48, 5_180_000, ies_a),
            (b"adhoc", [2, 0, 0, 0, 0, 2], 2, -60, 2_412_000, &[]),
            (b"abc", [2, 0, 0, 0, 0, 3], BSS_TYPE_INFRASTRUCTURE, -70, 2_437_000, ies_b),
        ]);
        let list = decode_bss_list(&block);
        assert_eq!(list.len(), 2, "the ad hoc BSS is skipped");
        let home = &list[0];
        assert_eq!(home.ssid.as_bytes(), b"home");
        assert_eq!(home.bssid, Bssid([2, 0, 0, 0, 0, 1]));
        assert_eq!(home.rssi_dbm, -48);
        assert_eq!(home.link_quality, 77);
        assert_eq!(home.phy_type, 8);
        assert_eq!(home.frequency_khz, 5_180_000);
        assert_eq!(home.capabilities, 0x0411);
        assert_eq!(home.beacon_period, 100);
        assert_eq!(home.ies, ies_a);
        assert_eq!(list[1].ies, ies_b);
    }

    #[test]
    fn bss_list_bounds_are_checked() {
        let ies: &[u8] = &[0, 3, b'a', b'b', b'c'];
        let mut block = bss_list_block(&[(b"abc", [2, 0, 0, 0, 0, 3], BSS_TYPE_INFRASTRUCTURE, -70, 2_437_000, ies)]);
        // IE size past the end of the block: the entry is skipped.
        let at = bss_entry::LIST_HEADER + bss_entry::IE_SIZE;
        block[at..at + 4].copy_from_slice(&1000u32.to_le_bytes());
        assert!(decode_bss_list(&block).is_empty());
        // An item count larger than the block: what fits is read, nothing panics.
        let mut block = bss_list_block(&[(b"abc", [2, 0, 0, 0, 0, 3], BSS_TYPE_INFRASTRUCTURE, -70, 2_437_000, ies)]);
        block[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode_bss_list(&block).len(), 1);
        assert!(decode_bss_list(&[1, 2, 3]).is_empty());
        // An SSID length above 32 is clamped rather than read past its field.
        let mut block = bss_list_block(&[(b"abc", [2, 0, 0, 0, 0, 3], BSS_TYPE_INFRASTRUCTURE, -70, 2_437_000, ies)]);
        block[8..12].copy_from_slice(&200u32.to_le_bytes());
        assert_eq!(decode_bss_list(&block)[0].ssid.len(), 32);
    }

    #[test]
    fn available_networks_and_interfaces() {
        use available_network as o;
        let mut block = vec![0u8; list_len(o::LIST_HEADER, o::SIZE, 2).unwrap()];
        put(&mut block, 0, &2u32.to_le_bytes());
        for (i, (ssid, auth, cipher)) in [(&b"corp"[..], 6i32, 4i32), (&b"cafe"[..], 1, 0)].iter().enumerate() {
            let e = &mut block[o::LIST_HEADER + i * o::SIZE..][..o::SIZE];
            put_ssid(e, o::SSID, ssid);
            put(e, o::BSS_TYPE, &1i32.to_le_bytes());
            put(e, o::CONNECTABLE, &1u32.to_le_bytes());
            put(e, o::SIGNAL_QUALITY, &90u32.to_le_bytes());
            put(e, o::SECURITY_ENABLED, &u32::from(*auth != 1).to_le_bytes());
            put(e, o::AUTH, &auth.to_le_bytes());
            put(e, o::CIPHER, &cipher.to_le_bytes());
        }
        let networks = decode_available_networks(&block);
        assert_eq!(networks.len(), 2);
        assert_eq!(networks[0].ssid.as_bytes(), b"corp");
        assert_eq!(networks[0].auth, Dot11AuthAlgorithm::Rsna);
        assert_eq!(networks[0].cipher, Dot11CipherAlgorithm::Ccmp);
        assert!(networks[0].security_enabled && networks[0].connectable);
        assert_eq!(networks[1].auth, Dot11AuthAlgorithm::Open);
        assert_eq!(networks[1].cipher, Dot11CipherAlgorithm::None);
        assert!(decode_available_networks(&block[..100]).is_empty());

        use interface_info as i;
        let guid = Uuid::parse_str("cfd367f6-870b-49d7-bb75-67d410eeb98b").unwrap();
        let mut block = vec![0u8; list_len(i::LIST_HEADER, i::SIZE, 1).unwrap()];
        put(&mut block, 0, &1u32.to_le_bytes());
        put(&mut block, i::LIST_HEADER + i::GUID, &guid.to_bytes_le());
        put_wide(&mut block, i::LIST_HEADER + i::DESCRIPTION, "Intel(R) Wi-Fi 6 AX201");
        put(&mut block, i::LIST_HEADER + i::STATE, &1i32.to_le_bytes());
        let interfaces = decode_interface_list(&block);
        assert_eq!(interfaces.len(), 1);
        assert_eq!(interfaces[0].guid, guid);
        assert_eq!(interfaces[0].description, "Intel(R) Wi-Fi 6 AX201");
        assert_eq!(interfaces[0].state, InterfaceState::Connected);
    }

    #[test]
    fn guid_fields_are_little_endian_in_memory() {
        let bytes = [0xf6, 0x67, 0xd3, 0xcf, 0x0b, 0x87, 0xd7, 0x49, 0xbb, 0x75, 0x67, 0xd4, 0x10, 0xee, 0xb9, 0x8b];
        assert_eq!(guid_at(&bytes, 0).unwrap().to_string(), "cfd367f6-870b-49d7-bb75-67d410eeb98b");
    }

    #[test]
    fn connection_attributes() {
        use connection_attributes as o;
        let mut block = vec![0u8; o::SIZE];
        put(&mut block, o::STATE, &1i32.to_le_bytes());
        put_wide(&mut block, o::PROFILE_NAME, "home");
        put_ssid(&mut block, o::SSID, b"home");
        put(&mut block, o::BSSID, &[2, 0, 0, 0, 0, 9]);
        put(&mut block, o::SIGNAL_QUALITY, &66u32.to_le_bytes());
        put(&mut block, o::AUTH, &7i32.to_le_bytes());
        put(&mut block, o::CIPHER, &4i32.to_le_bytes());
        let c = decode_connection_attributes(&block).unwrap();
        assert_eq!(c.state, InterfaceState::Connected);
        assert_eq!(c.profile_name, "home");
        assert_eq!(c.ssid.as_bytes(), b"home");
        assert_eq!(c.bssid, Bssid([2, 0, 0, 0, 0, 9]));
        assert_eq!(c.signal_quality, 66);
        assert_eq!((c.auth, c.cipher), (Dot11AuthAlgorithm::RsnaPsk, Dot11CipherAlgorithm::Ccmp));
        assert_eq!(decode_connection_attributes(&block[..300]), None);
    }

    #[test]
    fn notifications() {
        let mut data = vec![0u8; connection_notification::MIN_SIZE + 8];
        put_ssid(&mut data, connection_notification::SSID, b"home");
        put(&mut data, connection_notification::REASON, &reason::PSK_MISMATCH_SUSPECTED.to_le_bytes());
        let ssid = Ssid::new(b"home").unwrap();
        assert_eq!(
            decode_notification(SOURCE_ACM, ACM_CONNECTION_COMPLETE, &data),
            Some(WlanNotification::ConnectionComplete { ssid, reason: reason::PSK_MISMATCH_SUSPECTED })
        );
        assert_eq!(
            decode_notification(SOURCE_ACM, ACM_DISCONNECTED, &data),
            Some(WlanNotification::Disconnected { ssid, reason: reason::PSK_MISMATCH_SUSPECTED })
        );
        assert_eq!(decode_notification(SOURCE_ACM, ACM_CONNECTION_COMPLETE, &data[..100]), None);
        assert_eq!(decode_notification(SOURCE_ACM, ACM_SCAN_COMPLETE, &[]), Some(WlanNotification::ScanComplete));
        assert_eq!(
            decode_notification(SOURCE_ACM, ACM_SCAN_FAIL, &reason::DRIVER_OPERATION_FAILURE.to_le_bytes()),
            Some(WlanNotification::ScanFailed { reason: reason::DRIVER_OPERATION_FAILURE })
        );
        assert_eq!(
            decode_notification(SOURCE_ACM, ACM_SCAN_FAIL, &[]),
            Some(WlanNotification::ScanFailed { reason: reason::UNKNOWN })
        );
        assert_eq!(
            decode_notification(SOURCE_MSM, MSM_SIGNAL_QUALITY_CHANGE, &57u32.to_le_bytes()),
            Some(WlanNotification::SignalQuality { percent: 57 })
        );
        assert_eq!(decode_notification(SOURCE_MSM, MSM_SIGNAL_QUALITY_CHANGE, &[1]), None);
        assert_eq!(
            decode_notification(SOURCE_ACM, ACM_INTERFACE_ARRIVAL, &[]),
            Some(WlanNotification::InterfaceArrival)
        );
        assert_eq!(
            decode_notification(SOURCE_ACM, ACM_INTERFACE_REMOVAL, &[]),
            Some(WlanNotification::InterfaceRemoval)
        );
        // MSM code 7 is not the ACM scan-complete; unknown sources are ignored.
        assert_eq!(decode_notification(SOURCE_MSM, ACM_SCAN_COMPLETE, &[]), None);
        assert_eq!(decode_notification(0x04, ACM_SCAN_COMPLETE, &[]), None);
    }
}
