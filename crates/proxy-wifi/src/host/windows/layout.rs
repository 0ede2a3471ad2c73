//! Decoding of the memory the WLAN functions return, from bytes.
//!
//! The Windows client hands each returned block to these functions as a byte slice (of
//! the size the API reports or the item count implies) and turns nothing else into
//! values itself. Every offset and size below is taken from the structure `windows-sys`
//! declares (`offset_of!`, `size_of`), which on 64-bit systems is the `x86_64`/`aarch64`
//! Windows layout, so the decoding is tested on every system with the real layout. Every
//! read is bounds-checked: a short or inconsistent block yields `None` or skips the entry,
//! never a panic.

use std::mem::{offset_of, size_of};

use proxy_wifi_protocol::{Bssid, MAX_SSID_LEN, Ssid};
use uuid::Uuid;
use windows_sys::Win32::NetworkManagement::WiFi::{
    WLAN_AVAILABLE_NETWORK, WLAN_AVAILABLE_NETWORK_LIST, WLAN_BSS_ENTRY, WLAN_BSS_LIST, WLAN_CONNECTION_ATTRIBUTES,
    WLAN_CONNECTION_NOTIFICATION_DATA, WLAN_INTERFACE_INFO, WLAN_INTERFACE_INFO_LIST, WLAN_MAX_NAME_LENGTH,
    WLAN_NOTIFICATION_SOURCE_ACM as SOURCE_ACM, WLAN_NOTIFICATION_SOURCE_MSM as SOURCE_MSM,
    dot11_BSS_type_infrastructure, wlan_notification_acm_connection_complete, wlan_notification_acm_disconnected,
    wlan_notification_acm_interface_arrival, wlan_notification_acm_interface_removal,
    wlan_notification_acm_scan_complete, wlan_notification_acm_scan_fail, wlan_notification_msm_signal_quality_change,
};

use super::api::{
    Dot11AuthAlgorithm, Dot11CipherAlgorithm, InterfaceState, WlanBss, WlanConnection, WlanInterfaceInfo, WlanNetwork,
    WlanNotification,
};

// The notification codes, typed as `L2_NOTIFICATION_DATA::NotificationCode` (`u32`).
const ACM_SCAN_COMPLETE: u32 = wlan_notification_acm_scan_complete as u32;
const ACM_SCAN_FAIL: u32 = wlan_notification_acm_scan_fail as u32;
const ACM_CONNECTION_COMPLETE: u32 = wlan_notification_acm_connection_complete as u32;
const ACM_INTERFACE_ARRIVAL: u32 = wlan_notification_acm_interface_arrival as u32;
const ACM_INTERFACE_REMOVAL: u32 = wlan_notification_acm_interface_removal as u32;
const ACM_DISCONNECTED: u32 = wlan_notification_acm_disconnected as u32;
const MSM_SIGNAL_QUALITY_CHANGE: u32 = wlan_notification_msm_signal_quality_change as u32;

/// Size of a `WCHAR[WLAN_MAX_NAME_LENGTH]` field.
const NAME_FIELD_SIZE: usize = WLAN_MAX_NAME_LENGTH as usize * size_of::<u16>();

/// Bytes of a `WLAN_CONNECTION_NOTIFICATION_DATA` needed up to and including
/// `wlanReasonCode`.
const CONNECTION_NOTIFICATION_MIN_SIZE: usize =
    offset_of!(WLAN_CONNECTION_NOTIFICATION_DATA, wlanReasonCode) + size_of::<u32>();

/// Where a list a WLAN function returns keeps its item count and its entries.
#[derive(Debug, Clone, Copy)]
pub struct ListLayout {
    /// Offset of the `u32` item count (`dwNumberOfItems`).
    pub count_at: usize,
    /// Offset of the first entry.
    pub header: usize,
    /// Size of an entry.
    pub entry_size: usize,
}

/// `WLAN_INTERFACE_INFO_LIST`.
pub const INTERFACE_LIST: ListLayout = ListLayout {
    count_at: offset_of!(WLAN_INTERFACE_INFO_LIST, dwNumberOfItems),
    header: offset_of!(WLAN_INTERFACE_INFO_LIST, InterfaceInfo),
    entry_size: size_of::<WLAN_INTERFACE_INFO>(),
};

/// `WLAN_AVAILABLE_NETWORK_LIST`.
pub const NETWORK_LIST: ListLayout = ListLayout {
    count_at: offset_of!(WLAN_AVAILABLE_NETWORK_LIST, dwNumberOfItems),
    header: offset_of!(WLAN_AVAILABLE_NETWORK_LIST, Network),
    entry_size: size_of::<WLAN_AVAILABLE_NETWORK>(),
};

/// `WLAN_BSS_LIST` (the entries' IEs follow them, within `dwTotalSize`).
const BSS_LIST: ListLayout = ListLayout {
    count_at: offset_of!(WLAN_BSS_LIST, dwNumberOfItems),
    header: offset_of!(WLAN_BSS_LIST, wlanBssEntries),
    entry_size: size_of::<WLAN_BSS_ENTRY>(),
};

impl ListLayout {
    /// The byte length of a list of `count` entries, for slicing the returned block.
    pub fn byte_len(self, count: u32) -> Option<usize> {
        self.header.checked_add((count as usize).checked_mul(self.entry_size)?)
    }

    /// The item count of the list in `block`.
    fn count(self, block: &[u8]) -> Option<u32> {
        u32_at(block, self.count_at)
    }

    /// Entry `index` of the list in `block`: its offset in the block and its bytes.
    fn entry(self, block: &[u8], index: usize) -> Option<(usize, &[u8])> {
        let start = self.header.checked_add(index.checked_mul(self.entry_size)?)?;
        Some((start, block.get(start..start.checked_add(self.entry_size)?)?))
    }

    /// The entries of the list in `block`, as many as its item count says and it holds.
    fn entries(self, block: &[u8]) -> impl Iterator<Item = &[u8]> {
        let count = self.count(block).unwrap_or(0) as usize;
        (0..count).map_while(move |index| self.entry(block, index).map(|(_, bytes)| bytes))
    }
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

/// Decodes a `WLAN_BSS_LIST` of `dwTotalSize` bytes. Entries that are not infrastructure
/// BSSs, or whose IEs lie outside the block, are skipped.
pub fn decode_bss_list(block: &[u8]) -> Vec<WlanBss> {
    let Some(count) = BSS_LIST.count(block) else { return Vec::new() };
    let mut out = Vec::new();
    for index in 0..count as usize {
        let Some((start, e)) = BSS_LIST.entry(block, index) else {
            tracing::warn!(index, count, "WLAN BSS list shorter than its item count");
            break;
        };
        match decode_bss_entry(block, start, e) {
            Some(bss) => out.push(bss),
            None => tracing::debug!(index, "WLAN BSS entry skipped (not infrastructure, or IEs out of bounds)"),
        }
    }
    out
}

fn decode_bss_entry(block: &[u8], start: usize, e: &[u8]) -> Option<WlanBss> {
    type E = WLAN_BSS_ENTRY;
    if i32_at(e, offset_of!(E, dot11BssType))? != dot11_BSS_type_infrastructure {
        return None;
    }
    let ie_offset = u32_at(e, offset_of!(E, ulIeOffset))? as usize;
    let ie_size = u32_at(e, offset_of!(E, ulIeSize))? as usize;
    let ie_start = start.checked_add(ie_offset)?;
    let ies = block.get(ie_start..ie_start.checked_add(ie_size)?)?.to_vec();
    Some(WlanBss {
        ssid: ssid_at(e, offset_of!(E, dot11Ssid))?,
        bssid: bssid_at(e, offset_of!(E, dot11Bssid))?,
        phy_type: u32_at(e, offset_of!(E, dot11BssPhyType))?,
        rssi_dbm: i32_at(e, offset_of!(E, lRssi))?,
        link_quality: u32_at(e, offset_of!(E, uLinkQuality))?,
        frequency_khz: u32_at(e, offset_of!(E, ulChCenterFrequency))?,
        capabilities: u16_at(e, offset_of!(E, usCapabilityInformation))?,
        beacon_period: u16_at(e, offset_of!(E, usBeaconPeriod))?,
        ies,
    })
}

/// Decodes a `WLAN_AVAILABLE_NETWORK_LIST` (block of [`ListLayout::byte_len`] bytes); only
/// infrastructure networks are kept.
pub fn decode_available_networks(block: &[u8]) -> Vec<WlanNetwork> {
    type E = WLAN_AVAILABLE_NETWORK;
    NETWORK_LIST
        .entries(block)
        .filter_map(|e| {
            if i32_at(e, offset_of!(E, dot11BssType))? != dot11_BSS_type_infrastructure {
                return None;
            }
            Some(WlanNetwork {
                ssid: ssid_at(e, offset_of!(E, dot11Ssid))?,
                auth: Dot11AuthAlgorithm::from_raw(i32_at(e, offset_of!(E, dot11DefaultAuthAlgorithm))?),
                cipher: Dot11CipherAlgorithm::from_raw(i32_at(e, offset_of!(E, dot11DefaultCipherAlgorithm))?),
                security_enabled: u32_at(e, offset_of!(E, bSecurityEnabled))? != 0,
                signal_quality: u32_at(e, offset_of!(E, wlanSignalQuality))?,
                connectable: u32_at(e, offset_of!(E, bNetworkConnectable))? != 0,
            })
        })
        .collect()
}

/// Decodes a `WLAN_INTERFACE_INFO_LIST` (block of [`ListLayout::byte_len`] bytes).
pub fn decode_interface_list(block: &[u8]) -> Vec<WlanInterfaceInfo> {
    type E = WLAN_INTERFACE_INFO;
    INTERFACE_LIST
        .entries(block)
        .filter_map(|e| {
            Some(WlanInterfaceInfo {
                guid: guid_at(e, offset_of!(E, InterfaceGuid))?,
                description: wide_string_at(e, offset_of!(E, strInterfaceDescription), NAME_FIELD_SIZE)?,
                state: InterfaceState::from_raw(i32_at(e, offset_of!(E, isState))?),
            })
        })
        .collect()
}

/// Decodes `WLAN_CONNECTION_ATTRIBUTES` (the block `WlanQueryInterface` returned).
pub fn decode_connection_attributes(block: &[u8]) -> Option<WlanConnection> {
    type C = WLAN_CONNECTION_ATTRIBUTES;
    Some(WlanConnection {
        state: InterfaceState::from_raw(i32_at(block, offset_of!(C, isState))?),
        profile_name: wide_string_at(block, offset_of!(C, strProfileName), NAME_FIELD_SIZE)?,
        ssid: ssid_at(block, offset_of!(C, wlanAssociationAttributes.dot11Ssid))?,
        bssid: bssid_at(block, offset_of!(C, wlanAssociationAttributes.dot11Bssid))?,
        signal_quality: u32_at(block, offset_of!(C, wlanAssociationAttributes.wlanSignalQuality))?,
        auth: Dot11AuthAlgorithm::from_raw(i32_at(block, offset_of!(C, wlanSecurityAttributes.dot11AuthAlgorithm))?),
        cipher: Dot11CipherAlgorithm::from_raw(i32_at(
            block,
            offset_of!(C, wlanSecurityAttributes.dot11CipherAlgorithm),
        )?),
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
            if data.len() < CONNECTION_NOTIFICATION_MIN_SIZE {
                tracing::warn!(code, size = data.len(), "WLAN connection notification too short; ignored");
                return None;
            }
            let ssid = ssid_at(data, offset_of!(WLAN_CONNECTION_NOTIFICATION_DATA, dot11Ssid))?;
            let reason = u32_at(data, offset_of!(WLAN_CONNECTION_NOTIFICATION_DATA, wlanReasonCode))?;
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
        type E = WLAN_BSS_ENTRY;
        let mut block = vec![0u8; BSS_LIST.byte_len(entries.len() as u32).unwrap()];
        for (i, (ssid, bssid, bss_type, rssi, freq, ies)) in entries.iter().enumerate() {
            let start = BSS_LIST.header + i * BSS_LIST.entry_size;
            let ie_at = block.len();
            block.extend_from_slice(ies);
            let e = &mut block[start..start + BSS_LIST.entry_size];
            put_ssid(e, offset_of!(E, dot11Ssid), ssid);
            put(e, offset_of!(E, dot11Bssid), bssid);
            put(e, offset_of!(E, dot11BssType), &bss_type.to_le_bytes());
            put(e, offset_of!(E, dot11BssPhyType), &8u32.to_le_bytes());
            put(e, offset_of!(E, lRssi), &rssi.to_le_bytes());
            put(e, offset_of!(E, uLinkQuality), &77u32.to_le_bytes());
            put(e, offset_of!(E, usBeaconPeriod), &100u16.to_le_bytes());
            put(e, offset_of!(E, usCapabilityInformation), &0x0411u16.to_le_bytes());
            put(e, offset_of!(E, ulChCenterFrequency), &freq.to_le_bytes());
            put(e, offset_of!(E, ulIeOffset), &((ie_at - start) as u32).to_le_bytes());
            put(e, offset_of!(E, ulIeSize), &(ies.len() as u32).to_le_bytes());
        }
        let total = block.len() as u32;
        put(&mut block, offset_of!(WLAN_BSS_LIST, dwTotalSize), &total.to_le_bytes());
        put(&mut block, offset_of!(WLAN_BSS_LIST, dwNumberOfItems), &(entries.len() as u32).to_le_bytes());
        block
    }

    #[test]
    fn bss_list_entries_with_their_ies() {
        let ies_a: &[u8] = &[0, 4, b'h', b'o', b'm', b'e', 48, 2, 1, 0];
        let ies_b: &[u8] = &[0, 3, b'a', b'b', b'c'];
        let block = bss_list_block(&[
            (b"home", [2, 0, 0, 0, 0, 1], dot11_BSS_type_infrastructure, -48, 5_180_000, ies_a),
            (b"adhoc", [2, 0, 0, 0, 0, 2], 2, -60, 2_412_000, &[]),
            (b"abc", [2, 0, 0, 0, 0, 3], dot11_BSS_type_infrastructure, -70, 2_437_000, ies_b),
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
        let mut block =
            bss_list_block(&[(b"abc", [2, 0, 0, 0, 0, 3], dot11_BSS_type_infrastructure, -70, 2_437_000, ies)]);
        // IE size past the end of the block: the entry is skipped.
        let at = BSS_LIST.header + offset_of!(WLAN_BSS_ENTRY, ulIeSize);
        block[at..at + 4].copy_from_slice(&1000u32.to_le_bytes());
        assert!(decode_bss_list(&block).is_empty());
        // An item count larger than the block: what fits is read, nothing panics.
        let mut block =
            bss_list_block(&[(b"abc", [2, 0, 0, 0, 0, 3], dot11_BSS_type_infrastructure, -70, 2_437_000, ies)]);
        block[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode_bss_list(&block).len(), 1);
        assert!(decode_bss_list(&[1, 2, 3]).is_empty());
        // An SSID length above 32 is clamped rather than read past its field.
        let mut block =
            bss_list_block(&[(b"abc", [2, 0, 0, 0, 0, 3], dot11_BSS_type_infrastructure, -70, 2_437_000, ies)]);
        block[8..12].copy_from_slice(&200u32.to_le_bytes());
        assert_eq!(decode_bss_list(&block)[0].ssid.len(), 32);
    }

    #[test]
    fn available_networks_and_interfaces() {
        type N = WLAN_AVAILABLE_NETWORK;
        let mut block = vec![0u8; NETWORK_LIST.byte_len(2).unwrap()];
        put(&mut block, NETWORK_LIST.count_at, &2u32.to_le_bytes());
        for (i, (ssid, auth, cipher)) in [(&b"corp"[..], 6i32, 4i32), (&b"cafe"[..], 1, 0)].iter().enumerate() {
            let e = &mut block[NETWORK_LIST.header + i * size_of::<N>()..][..size_of::<N>()];
            put_ssid(e, offset_of!(N, dot11Ssid), ssid);
            put(e, offset_of!(N, dot11BssType), &1i32.to_le_bytes());
            put(e, offset_of!(N, bNetworkConnectable), &1u32.to_le_bytes());
            put(e, offset_of!(N, wlanSignalQuality), &90u32.to_le_bytes());
            put(e, offset_of!(N, bSecurityEnabled), &u32::from(*auth != 1).to_le_bytes());
            put(e, offset_of!(N, dot11DefaultAuthAlgorithm), &auth.to_le_bytes());
            put(e, offset_of!(N, dot11DefaultCipherAlgorithm), &cipher.to_le_bytes());
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

        type I = WLAN_INTERFACE_INFO;
        let guid = Uuid::parse_str("cfd367f6-870b-49d7-bb75-67d410eeb98b").unwrap();
        let mut block = vec![0u8; INTERFACE_LIST.byte_len(1).unwrap()];
        put(&mut block, INTERFACE_LIST.count_at, &1u32.to_le_bytes());
        let e = &mut block[INTERFACE_LIST.header..];
        put(e, offset_of!(I, InterfaceGuid), &guid.to_bytes_le());
        put_wide(e, offset_of!(I, strInterfaceDescription), "Intel(R) Wi-Fi 6 AX201");
        put(e, offset_of!(I, isState), &1i32.to_le_bytes());
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
        type C = WLAN_CONNECTION_ATTRIBUTES;
        let mut block = vec![0u8; size_of::<C>()];
        put(&mut block, offset_of!(C, isState), &1i32.to_le_bytes());
        put_wide(&mut block, offset_of!(C, strProfileName), "home");
        put_ssid(&mut block, offset_of!(C, wlanAssociationAttributes.dot11Ssid), b"home");
        put(&mut block, offset_of!(C, wlanAssociationAttributes.dot11Bssid), &[2, 0, 0, 0, 0, 9]);
        put(&mut block, offset_of!(C, wlanAssociationAttributes.wlanSignalQuality), &66u32.to_le_bytes());
        put(&mut block, offset_of!(C, wlanSecurityAttributes.dot11AuthAlgorithm), &7i32.to_le_bytes());
        put(&mut block, offset_of!(C, wlanSecurityAttributes.dot11CipherAlgorithm), &4i32.to_le_bytes());
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
        type D = WLAN_CONNECTION_NOTIFICATION_DATA;
        let mut data = vec![0u8; size_of::<D>()];
        put_ssid(&mut data, offset_of!(D, dot11Ssid), b"home");
        put(&mut data, offset_of!(D, wlanReasonCode), &reason::PSK_MISMATCH_SUSPECTED.to_le_bytes());
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
