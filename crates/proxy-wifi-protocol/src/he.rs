//! HE (802.11ax) elements a 6 GHz BSS carries: HE Capabilities and HE Operation with
//! its 6 GHz Operation Information (IEEE 802.11ax-2021, 9.4.2.248 and 9.4.2.249).
//!
//! A station learns a 6 GHz BSS's channel width and the AP's regulatory power type from
//! the 6 GHz Operation Information; Linux (6.7 and newer) drops a 6 GHz BSS without it.

use crate::ie::ElementId;

/// Element ID Extension values (the first data byte of an element with id 255).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ElementIdExtension(pub u8);

impl ElementIdExtension {
    /// HE Capabilities element.
    pub const HE_CAPABILITIES: ElementIdExtension = ElementIdExtension(35);
    /// HE Operation element.
    pub const HE_OPERATION: ElementIdExtension = ElementIdExtension(36);
}

/// The 20 MHz channel number of a 6 GHz centre frequency (5955 + 20·k MHz, channels
/// 1, 5, …, 233); `None` for other frequencies.
pub fn six_ghz_primary_channel(mhz: u32) -> Option<u8> {
    match mhz {
        5955..=7115 if (mhz - 5955) % 20 == 0 => u8::try_from((mhz - 5950) / 5).ok(),
        _ => None,
    }
}

/// Appends an element with id 255 and this extension id.
fn push_extension_element(out: &mut Vec<u8>, extension: ElementIdExtension, data: &[u8]) {
    out.push(ElementId::EXTENSION.0);
    out.push((1 + data.len()) as u8);
    out.push(extension.0);
    out.extend_from_slice(data);
}

/// A Supported HE-MCS And NSS Set map (2 bits per spatial stream, 3 = not supported):
/// one spatial stream with the given code (0: MCS 0-7, 1: 0-9, 2: 0-11).
const fn mcs_map_one_stream(code: u16) -> [u8; 2] {
    (0xfffc | code).to_le_bytes()
}

/// Appends an HE Capabilities element for a 20 MHz, one-stream BSS: no optional MAC or
/// PHY capability (Channel Width Set 0: 20 MHz only), HE-MCS 0-11 received and sent on
/// one spatial stream, no PPE thresholds.
pub fn push_he_capabilities_element(out: &mut Vec<u8>) {
    let mut data = [0u8; 6 + 11 + 4];
    // HE MAC Capabilities Information (6 octets) and HE PHY Capabilities Information
    // (11 octets) stay zero; then Rx and Tx HE-MCS Map <= 80 MHz.
    let mcs = mcs_map_one_stream(2);
    data[17..19].copy_from_slice(&mcs);
    data[19..21].copy_from_slice(&mcs);
    push_extension_element(out, ElementIdExtension::HE_CAPABILITIES, &data);
}

/// Channel Width subfield of the 6 GHz Operation Information's Control field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SixGhzChannelWidth {
    /// 20 MHz.
    Mhz20 = 0,
    /// 40 MHz.
    Mhz40 = 1,
    /// 80 MHz.
    Mhz80 = 2,
    /// 160 or 80+80 MHz.
    Mhz160 = 3,
}

/// Regulatory Info subfield: an AP for indoor use only (low-power indoor).
pub const REGULATORY_INFO_INDOOR_AP: u8 = 0;
/// Regulatory Info subfield: a standard power AP.
pub const REGULATORY_INFO_STANDARD_POWER_AP: u8 = 1;

/// The 6 GHz Operation Information of an HE Operation element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SixGhzOperation {
    /// Primary 20 MHz channel number.
    pub primary_channel: u8,
    /// Operating channel width.
    pub channel_width: SixGhzChannelWidth,
    /// Whether the AP sends duplicate beacons in the non-primary 20 MHz channels.
    pub duplicate_beacon: bool,
    /// Regulatory Info (3 bits): the AP's power type, e.g. [`REGULATORY_INFO_INDOOR_AP`].
    pub regulatory_info: u8,
    /// Channel Center Frequency Segment 0 (the 20/40/80 MHz channel's centre index).
    pub center_segment0: u8,
    /// Channel Center Frequency Segment 1 (the 160 MHz channel's centre index, else 0).
    pub center_segment1: u8,
    /// Minimum rate in units of 1 Mb/s.
    pub minimum_rate_mbps: u8,
}

impl SixGhzOperation {
    /// A 20 MHz BSS on this primary channel, indoor AP, 6 Mb/s minimum rate.
    pub fn twenty_mhz(primary_channel: u8) -> Self {
        SixGhzOperation {
            primary_channel,
            channel_width: SixGhzChannelWidth::Mhz20,
            duplicate_beacon: false,
            regulatory_info: REGULATORY_INFO_INDOOR_AP,
            center_segment0: primary_channel,
            center_segment1: 0,
            minimum_rate_mbps: 6,
        }
    }

    fn to_bytes(self) -> [u8; 5] {
        let control =
            self.channel_width as u8 | u8::from(self.duplicate_beacon) << 2 | (self.regulatory_info & 0b111) << 3;
        [self.primary_channel, control, self.center_segment0, self.center_segment1, self.minimum_rate_mbps]
    }
}

/// HE Operation Parameters: TXOP Duration RTS Threshold (B4-B13), 1023 = not used.
const TXOP_RTS_THRESHOLD_DISABLED: u32 = 1023 << 4;
/// HE Operation Parameters: 6 GHz Operation Information Present (B17).
const SIX_GHZ_OPERATION_INFO_PRESENT: u32 = 1 << 17;

/// Appends an HE Operation element with 6 GHz Operation Information: default PE
/// duration 0, no TWT, TXOP duration RTS threshold unused, no VHT Operation
/// Information, not co-hosted; BSS colour `bss_color` (1-63, enabled); basic HE-MCS
/// set MCS 0-7 on one spatial stream.
pub fn push_he_operation_element(out: &mut Vec<u8>, bss_color: u8, six_ghz: &SixGhzOperation) {
    let mut data = Vec::with_capacity(3 + 1 + 2 + 5);
    let parameters = TXOP_RTS_THRESHOLD_DISABLED | SIX_GHZ_OPERATION_INFO_PRESENT;
    data.extend_from_slice(&parameters.to_le_bytes()[..3]);
    data.push(bss_color & 0x3f);
    data.extend_from_slice(&mcs_map_one_stream(0));
    data.extend_from_slice(&six_ghz.to_bytes());
    push_extension_element(out, ElementIdExtension::HE_OPERATION, &data);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ie::InformationElements;

    #[test]
    fn six_ghz_primary_channels() {
        assert_eq!(six_ghz_primary_channel(5955), Some(1));
        assert_eq!(six_ghz_primary_channel(6115), Some(33));
        assert_eq!(six_ghz_primary_channel(7115), Some(233));
        assert_eq!(six_ghz_primary_channel(6120), None, "not a 20 MHz channel centre");
        assert_eq!(six_ghz_primary_channel(5240), None);
        assert_eq!(six_ghz_primary_channel(7135), None);
    }

    /// 9.4.2.248: Element ID 255, Length 22, Element ID Extension 35, HE MAC
    /// Capabilities Information (6), HE PHY Capabilities Information (11), Supported
    /// HE-MCS And NSS Set with the <= 80 MHz maps only (Rx 2, Tx 2): 0xfffe = spatial
    /// stream 1 MCS 0-11 (code 2), streams 2-8 not supported (code 3).
    #[test]
    fn he_capabilities_golden_bytes() {
        let mut out = Vec::new();
        push_he_capabilities_element(&mut out);
        let expected = [
            255, 22, 35, // id, length, extension id
            0, 0, 0, 0, 0, 0, // MAC capabilities
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // PHY capabilities: Channel Width Set 0 (20 MHz)
            0xfe, 0xff, 0xfe, 0xff, // Rx / Tx HE-MCS Map <= 80 MHz
        ];
        assert_eq!(out, expected);
    }

    /// 9.4.2.249: Element ID 255, Length 12, Element ID Extension 36; HE Operation
    /// Parameters (3 octets, little-endian): B4-B13 TXOP Duration RTS Threshold 1023,
    /// B17 6 GHz Operation Information Present; BSS Color Information (1): colour 5;
    /// Basic HE-MCS And NSS Set (2): 0xfffc; 6 GHz Operation Information (5): Primary
    /// Channel 33, Control (B0-B1 width 20 MHz, B2 duplicate beacon, B3-B5 Regulatory
    /// Info indoor AP), Segment 0 33, Segment 1 0, Minimum Rate 6 Mb/s.
    #[test]
    fn he_operation_golden_bytes() {
        let mut out = Vec::new();
        push_he_operation_element(&mut out, 5, &SixGhzOperation::twenty_mhz(33));
        assert_eq!(out, [255, 12, 36, 0xf0, 0x3f, 0x02, 5, 0xfc, 0xff, 33, 0x00, 33, 0, 6]);
    }

    #[test]
    fn he_operation_control_field_and_160_mhz() {
        let wide = SixGhzOperation {
            primary_channel: 37,
            channel_width: SixGhzChannelWidth::Mhz160,
            duplicate_beacon: true,
            regulatory_info: REGULATORY_INFO_STANDARD_POWER_AP,
            center_segment0: 39,
            center_segment1: 47,
            minimum_rate_mbps: 12,
        };
        let mut out = Vec::new();
        push_he_operation_element(&mut out, 0x7f, &wide);
        // Control: width 3 | duplicate beacon 0b100 | regulatory info 1 << 3.
        assert_eq!(&out[9..], [37, 0b0000_1111, 39, 47, 12]);
        assert_eq!(out[6], 0x3f, "the colour is 6 bits, partial/disabled bits stay clear");
        let elements: Vec<_> = InformationElements::new(&out).collect();
        assert_eq!(elements.len(), 1);
        assert_eq!((elements[0].0, elements[0].1[0]), (ElementId::EXTENSION, 36));
    }
}
