//! Scan request and scan response (also the scan-results notification).

use crate::abi::GuestAbi;
use crate::error::DecodeError;
use crate::header::{MAX_SCAN_RESPONSE_BODY_LEN, Operation};
use crate::reader::Reader;
use crate::types::{Bssid, MAX_SSID_LEN, Ssid};

/// Body length of a scan request.
pub const SCAN_REQUEST_LEN: usize = 1 + MAX_SSID_LEN;
/// Length of the fixed part of a scan response (scan_complete, num_bss, total_size).
pub const SCAN_RESPONSE_FIXED_LEN: usize = 9;
/// Length of the fixed part of a legacy scan response (num_bss, total_size): no `scan_complete`.
pub const LEGACY_SCAN_RESPONSE_FIXED_LEN: usize = 8;
/// Length of one BSS entry in a scan response.
pub const BSS_ENTRY_LEN: usize = 26;

/// A guest's scan request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScanRequest {
    /// The SSID of a targeted scan (needed for hidden networks); `None` scans everything.
    pub ssid: Option<Ssid>,
}

impl ScanRequest {
    /// Body length of a scan request.
    pub const ENCODED_LEN: usize = SCAN_REQUEST_LEN;

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
    /// The 26 wire bytes of the entry, with its `ie_offset`.
    fn fixed_part(&self, ie_offset: u32) -> [u8; BSS_ENTRY_LEN] {
        let mut fixed = [0u8; BSS_ENTRY_LEN];
        fixed[0..6].copy_from_slice(&self.bssid.0);
        fixed[6..8].copy_from_slice(&self.capabilities.0.to_le_bytes());
        fixed[8..12].copy_from_slice(&self.rssi_dbm.to_le_bytes());
        fixed[12..14].copy_from_slice(&self.beacon_interval.to_le_bytes());
        fixed[14..18].copy_from_slice(&self.frequency_khz.to_le_bytes());
        fixed[18..22].copy_from_slice(&(self.ies.len() as u32).to_le_bytes());
        fixed[22..26].copy_from_slice(&ie_offset.to_le_bytes());
        fixed
    }

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
        self.encoded_len_as(GuestAbi::Current)
    }

    /// The body length this response encodes to in the layout `abi`.
    pub fn encoded_len_as(&self, abi: GuestAbi) -> usize {
        abi.scan_response_fixed_len() + self.bss.iter().map(|b| BSS_ENTRY_LEN + b.ies.len()).sum::<usize>()
    }

    /// Writes the body in the layout `abi`: the fixed part, all entries, then every
    /// entry's IEs in order, each `ie_offset` measured from the start of its own entry.
    /// The legacy layout has no `scan_complete` byte, so that field is not written.
    ///
    /// The body is sized once and filled in place (no per-field growth checks).
    ///
    /// # Panics
    /// If the body would exceed [`MAX_SCAN_RESPONSE_BODY_LEN`] (a host bug: a guest could
    /// not read it).
    pub(crate) fn encode_as(&self, abi: GuestAbi, out: &mut Vec<u8>) {
        let total = self.encoded_len_as(abi);
        assert!(total <= MAX_SCAN_RESPONSE_BODY_LEN as usize, "scan response of {total} bytes exceeds the 16 MiB cap");
        let start = out.len();
        out.resize(start + total, 0);
        let body = &mut out[start..];
        let counts = write_fixed_part(body, abi, self.scan_complete, self.bss.len(), total);
        let (entries, mut ies_area) = body[counts..].split_at_mut(BSS_ENTRY_LEN * self.bss.len());
        // Distance from an entry to its IEs: the entries after it, then the IEs before its own.
        let mut ie_offset = BSS_ENTRY_LEN * self.bss.len();
        for (entry, slot) in self.bss.iter().zip(entries.chunks_exact_mut(BSS_ENTRY_LEN)) {
            let ie_len = entry.ies.len();
            slot.copy_from_slice(&entry.fixed_part(ie_offset as u32));
            let (dst, rest) = ies_area.split_at_mut(ie_len);
            dst.copy_from_slice(&entry.ies);
            ies_area = rest;
            ie_offset = ie_offset + ie_len - BSS_ENTRY_LEN;
        }
    }

    /// Decodes a body in the layout `abi`. A legacy response has no `scan_complete`
    /// byte: it is always complete (its guest takes no later results).
    pub(crate) fn decode_as(body: &[u8], abi: GuestAbi) -> Result<ScanResponse, DecodeError> {
        let operation = Operation::ScanResponse;
        let mut r = Reader::new(operation, body);
        let scan_complete = match abi {
            GuestAbi::Legacy => true,
            GuestAbi::Current => match r.u8("scan_complete")? {
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
            },
        };
        let fixed_len = abi.scan_response_fixed_len();
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
        let max_entries = (body.len() - fixed_len) / BSS_ENTRY_LEN;
        if num_bss as usize > max_entries {
            return Err(r.too_large("num_bss", num_bss.into(), max_entries as u64));
        }
        let mut bss = Vec::with_capacity(num_bss as usize);
        // Entries' IE ranges may overlap; all of them together may not be longer than
        // the body, so a decoded response never holds more IE bytes than were sent.
        let mut ie_total = 0u64;
        for index in 0..num_bss {
            let entry_start = fixed_len + BSS_ENTRY_LEN * index as usize;
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
            ie_total += u64::from(ie_size);
            if ie_total > body.len() as u64 {
                return Err(r.too_large("ie_size (all entries together)", ie_total, body.len() as u64));
            }
            let ies = body[start as usize..end as usize].to_vec();
            bss.push(BssEntry { bssid, capabilities, rssi_dbm, beacon_interval, frequency_khz, ies });
        }
        Ok(ScanResponse { scan_complete, bss })
    }
}

/// Lays a scan response out as it is built: entry records in one buffer, every IE in
/// another, so encoding is two block copies and one offset per entry.
///
/// ```
/// use proxy_wifi_protocol::{Bssid, Capabilities, GuestBound, RsnElement, ScanResponseBuilder, Ssid,
///     push_rsn_element, push_ssid_element};
///
/// let mut builder = ScanResponseBuilder::new();
/// let ssid = Ssid::new(b"Home").unwrap();
/// builder.push_with(Bssid([2, 0, 0, 0, 0, 1]), Capabilities::ESS | Capabilities::PRIVACY, -40, 100, 2_437_000, |ies| {
///     push_ssid_element(ies, &ssid);
///     push_rsn_element(ies, &RsnElement::wpa2_psk());
/// });
/// let mut bytes = Vec::new();
/// builder.encode(true, &mut bytes);
/// assert!(GuestBound::decode_frame(&bytes).is_ok());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanResponseBuilder {
    /// Entry records; bytes 22..26 hold the IE start within `ies` until encoding.
    entries: Vec<[u8; BSS_ENTRY_LEN]>,
    ies: Vec<u8>,
}

impl ScanResponseBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty builder with room for `entries` entries and `ie_bytes` bytes of IEs.
    pub fn with_capacity(entries: usize, ie_bytes: usize) -> Self {
        Self { entries: Vec::with_capacity(entries), ies: Vec::with_capacity(ie_bytes) }
    }

    /// Adds an entry whose IEs `write_ies` appends to the buffer it is given.
    pub fn push_with(
        &mut self,
        bssid: Bssid,
        capabilities: Capabilities,
        rssi_dbm: i32,
        beacon_interval: u16,
        frequency_khz: u32,
        write_ies: impl FnOnce(&mut Vec<u8>),
    ) {
        let ie_start = self.ies.len();
        write_ies(&mut self.ies);
        let entry = BssEntry { bssid, capabilities, rssi_dbm, beacon_interval, frequency_khz, ies: Vec::new() };
        let mut record = entry.fixed_part(ie_start as u32);
        record[18..22].copy_from_slice(&((self.ies.len() - ie_start) as u32).to_le_bytes());
        self.entries.push(record);
    }

    /// Adds a copy of `entry`.
    pub fn push(&mut self, entry: &BssEntry) {
        let mut record = entry.fixed_part(self.ies.len() as u32);
        record[18..22].copy_from_slice(&(entry.ies.len() as u32).to_le_bytes());
        self.entries.push(record);
        self.ies.extend_from_slice(&entry.ies);
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry was added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The body length of the response.
    pub fn body_len(&self) -> usize {
        self.body_len_as(GuestAbi::Current)
    }

    /// The body length of the response in the layout `abi`.
    pub fn body_len_as(&self, abi: GuestAbi) -> usize {
        abi.scan_response_fixed_len() + BSS_ENTRY_LEN * self.entries.len() + self.ies.len()
    }

    /// Appends the whole message (header and body) to `out`.
    ///
    /// # Panics
    /// If the body would exceed [`MAX_SCAN_RESPONSE_BODY_LEN`].
    pub fn encode(&self, scan_complete: bool, out: &mut Vec<u8>) {
        self.encode_as(GuestAbi::Current, scan_complete, out);
    }

    /// Appends the whole message in the layout `abi` to `out` (`scan_complete` is not
    /// written in the legacy layout).
    ///
    /// # Panics
    /// If the body would exceed [`MAX_SCAN_RESPONSE_BODY_LEN`].
    pub fn encode_as(&self, abi: GuestAbi, scan_complete: bool, out: &mut Vec<u8>) {
        let total = self.body_len_as(abi);
        assert!(total <= MAX_SCAN_RESPONSE_BODY_LEN as usize, "scan response of {total} bytes exceeds the 16 MiB cap");
        let header = crate::header::Header { operation: Operation::ScanResponse, size: total as u32 }.encode();
        let start = out.len();
        out.resize(start + header.len() + total, 0);
        let (head, body) = out[start..].split_at_mut(header.len());
        head.copy_from_slice(&header);
        let count = self.entries.len();
        let fixed_len = write_fixed_part(body, abi, scan_complete, count, total);
        let (entries, ies) = body[fixed_len..].split_at_mut(BSS_ENTRY_LEN * count);
        for (index, (record, slot)) in self.entries.iter().zip(entries.chunks_exact_mut(BSS_ENTRY_LEN)).enumerate() {
            let ie_start = u32::from_le_bytes([record[22], record[23], record[24], record[25]]);
            let ie_offset = (BSS_ENTRY_LEN * (count - index)) as u32 + ie_start;
            slot[..22].copy_from_slice(&record[..22]);
            slot[22..].copy_from_slice(&ie_offset.to_le_bytes());
        }
        ies.copy_from_slice(&self.ies);
    }
}

/// Writes the fixed part of a scan-response body in the layout `abi` and returns its length.
fn write_fixed_part(body: &mut [u8], abi: GuestAbi, scan_complete: bool, num_bss: usize, total: usize) -> usize {
    let counts = match abi {
        GuestAbi::Current => {
            body[0] = u8::from(scan_complete);
            1
        }
        GuestAbi::Legacy => 0,
    };
    body[counts..counts + 4].copy_from_slice(&(num_bss as u32).to_le_bytes());
    body[counts + 4..counts + 8].copy_from_slice(&(total as u32).to_le_bytes());
    counts + 8
}
