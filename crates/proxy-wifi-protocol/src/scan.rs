//! Scan request and scan response (also the scan-results notification).

use crate::error::DecodeError;
use crate::header::{MAX_SCAN_RESPONSE_BODY_LEN, Operation};
use crate::reader::Reader;
use crate::types::{Bssid, MAX_SSID_LEN, Ssid};

/// Body length of a scan request.
pub const SCAN_REQUEST_LEN: usize = 1 + MAX_SSID_LEN;
/// Length of the fixed part of a scan response (scan_complete, num_bss, total_size).
pub const SCAN_RESPONSE_FIXED_LEN: usize = 9;
/// Length of one BSS entry in a scan response.
pub const BSS_ENTRY_LEN: usize = 26;

/// A guest's scan request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScanRequest {
    /// The SSID of a targeted scan (needed for hidden networks); `None` scans everything.
    pub ssid: Option<Ssid>,
}

impl ScanRequest {
    pub(crate) fn decode(body: &[u8]) -> Result<ScanRequest, DecodeError> {
        let mut r = Reader::new(Operation::ScanRequest, body);
        let ssid_len = r.u8("ssid_len")?;
        let field = r.take(MAX_SSID_LEN, "ssid")?;
        r.finish()?;
        if usize::from(ssid_len) > MAX_SSID_LEN {
            return Err(r_too_large("ssid_len", ssid_len.into()));
        }
        let ssid = (ssid_len > 0).then(|| Ssid::new(&field[..usize::from(ssid_len)]).expect("checked length"));
        Ok(ScanRequest { ssid })
    }

    pub(crate) fn encoded_len(&self) -> usize {
        SCAN_REQUEST_LEN
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        match &self.ssid {
            Some(ssid) => {
                out.push(ssid.len() as u8);
                out.extend_from_slice(ssid_padded(ssid));
            }
            None => {
                out.push(0);
                out.extend_from_slice(&[0; MAX_SSID_LEN]);
            }
        }
    }
}

fn ssid_padded(ssid: &Ssid) -> &[u8; MAX_SSID_LEN] {
    ssid.padded()
}

fn r_too_large(field: &'static str, value: u64) -> DecodeError {
    DecodeError::FieldTooLarge { operation: Operation::ScanRequest, field, value, max: MAX_SSID_LEN as u64 }
}

/// 802.11 capability information bits of a BSS entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Capabilities(pub u16);

impl Capabilities {
    /// Infrastructure network (access point).
    pub const ESS: Capabilities = Capabilities(0x0001);
    /// Independent (ad hoc) network.
    pub const IBSS: Capabilities = Capabilities(0x0002);
    /// Encryption is required.
    pub const PRIVACY: Capabilities = Capabilities(0x0010);
    /// Short preamble allowed.
    pub const SHORT_PREAMBLE: Capabilities = Capabilities(0x0020);
    /// Short slot time in use.
    pub const SHORT_SLOT_TIME: Capabilities = Capabilities(0x0400);

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: Capabilities) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for Capabilities {
    type Output = Capabilities;
    fn bitor(self, rhs: Capabilities) -> Capabilities {
        Capabilities(self.0 | rhs.0)
    }
}

/// One BSS of a scan response, owning its information elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BssEntry {
    /// The access point's address.
    pub bssid: Bssid,
    /// 802.11 capability information.
    pub capabilities: Capabilities,
    /// Signal strength in dBm.
    pub rssi_dbm: i32,
    /// Beacon interval in time units (1.024 ms).
    pub beacon_interval: u16,
    /// Channel centre frequency in **kHz** (5240 MHz is 5_240_000).
    pub frequency_khz: u32,
    /// The raw information elements (SSID, RSN, ...).
    pub ies: Vec<u8>,
}

impl BssEntry {
    /// The channel centre frequency in MHz.
    pub fn frequency_mhz(&self) -> u32 {
        self.frequency_khz / 1000
    }

    /// The SSID from the entry's SSID element, if it has a valid one.
    pub fn ssid(&self) -> Option<Ssid> {
        crate::ie::InformationElements::new(&self.ies)
            .find(|(id, _)| *id == crate::ie::ElementId::SSID)
            .and_then(|(_, data)| Ssid::new(data).ok())
    }
}

/// A scan response, or a scan-results notification (same layout).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScanResponse {
    /// `true` when no more results will come for this scan.
    pub scan_complete: bool,
    /// The BSSs, each appearing once.
    pub bss: Vec<BssEntry>,
}

impl ScanResponse {
    /// The body length this response encodes to.
    pub fn encoded_len(&self) -> usize {
        SCAN_RESPONSE_FIXED_LEN + self.bss.iter().map(|b| BSS_ENTRY_LEN + b.ies.len()).sum::<usize>()
    }

    /// Writes the body: the fixed part, all entries, then every entry's IEs in order,
    /// each `ie_offset` measured from the start of its own entry.
    ///
    /// # Panics
    /// If the body would exceed [`MAX_SCAN_RESPONSE_BODY_LEN`] (a host bug: a guest could
    /// not read it).
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let total = self.encoded_len();
        assert!(total <= MAX_SCAN_RESPONSE_BODY_LEN as usize, "scan response of {total} bytes exceeds the 16 MiB cap");
        out.reserve(total);
        out.push(u8::from(self.scan_complete));
        out.extend_from_slice(&(self.bss.len() as u32).to_le_bytes());
        out.extend_from_slice(&(total as u32).to_le_bytes());
        let entries_end = SCAN_RESPONSE_FIXED_LEN + BSS_ENTRY_LEN * self.bss.len();
        let mut ie_position = entries_end;
        for (index, entry) in self.bss.iter().enumerate() {
            let entry_start = SCAN_RESPONSE_FIXED_LEN + BSS_ENTRY_LEN * index;
            let mut fixed = [0u8; BSS_ENTRY_LEN];
            fixed[0..6].copy_from_slice(&entry.bssid.0);
            fixed[6..8].copy_from_slice(&entry.capabilities.0.to_le_bytes());
            fixed[8..12].copy_from_slice(&entry.rssi_dbm.to_le_bytes());
            fixed[12..14].copy_from_slice(&entry.beacon_interval.to_le_bytes());
            fixed[14..18].copy_from_slice(&entry.frequency_khz.to_le_bytes());
            fixed[18..22].copy_from_slice(&(entry.ies.len() as u32).to_le_bytes());
            fixed[22..26].copy_from_slice(&((ie_position - entry_start) as u32).to_le_bytes());
            out.extend_from_slice(&fixed);
            ie_position += entry.ies.len();
        }
        for entry in &self.bss {
            out.extend_from_slice(&entry.ies);
        }
    }

    pub(crate) fn decode(body: &[u8]) -> Result<ScanResponse, DecodeError> {
        let operation = Operation::ScanResponse;
        let mut r = Reader::new(operation, body);
        let scan_complete = match r.u8("scan_complete")? {
            0 => false,
            1 => true,
            other => {
                return Err(DecodeError::FieldTooLarge {
                    operation,
                    field: "scan_complete",
                    value: other.into(),
                    max: 1,
                });
            }
        };
        let num_bss = r.u32("num_bss")?;
        let total_size = r.u32("total_size")?;
        if total_size as usize != body.len() {
            return Err(DecodeError::FieldMismatch {
                operation,
                field: "total_size",
                value: total_size.into(),
                expected: body.len() as u64,
            });
        }
        let max_entries = (body.len() - SCAN_RESPONSE_FIXED_LEN) / BSS_ENTRY_LEN;
        if num_bss as usize > max_entries {
            return Err(r.too_large("num_bss", num_bss.into(), max_entries as u64));
        }
        let mut bss = Vec::with_capacity(num_bss as usize);
        for index in 0..num_bss {
            let entry_start = SCAN_RESPONSE_FIXED_LEN + BSS_ENTRY_LEN * index as usize;
            let bssid = Bssid(r.array("bssid")?);
            let capabilities = Capabilities(r.u16("capabilities")?);
            let rssi_dbm = r.i32("rssi")?;
            let beacon_interval = r.u16("beacon_interval")?;
            let frequency_khz = r.u32("channel_center_freq")?;
            let ie_size = r.u32("ie_size")?;
            let ie_offset = r.u32("ie_offset")?;
            let start = entry_start as u64 + u64::from(ie_offset);
            let end = start + u64::from(ie_size);
            if end > body.len() as u64 {
                return Err(DecodeError::IesOutOfBounds { index, ie_offset, ie_size, body_len: body.len() });
            }
            let ies = body[start as usize..end as usize].to_vec();
            bss.push(BssEntry { bssid, capabilities, rssi_dbm, beacon_interval, frequency_khz, ies });
        }
        Ok(ScanResponse { scan_complete, bss })
    }
}
