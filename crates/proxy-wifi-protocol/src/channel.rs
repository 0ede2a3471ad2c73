//! 802.11 channel numbers and the guest driver's channel list.

/// The channel number of a centre frequency in MHz (2.4, 5 and 6 GHz bands).
pub fn channel_from_frequency_mhz(mhz: u32) -> Option<u32> {
    match mhz {
        2484 => Some(14),
        2412..=2472 if (mhz - 2407) % 5 == 0 => Some((mhz - 2407) / 5),
        5955..=7115 if (mhz - 5950) % 5 == 0 => Some((mhz - 5950) / 5),
        5160..=5885 if (mhz - 5000) % 5 == 0 => Some((mhz - 5000) / 5),
        _ => None,
    }
}

/// Whether the guest driver knows this frequency (it drops BSSs on other ones):
/// 2412–2484 MHz, 5160–5885 MHz and 5955–7115 MHz.
pub fn is_frequency_supported_by_guest(mhz: u32) -> bool {
    matches!(mhz, 2412..=2484 | 5160..=5885 | 5955..=7115)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels() {
        assert_eq!(channel_from_frequency_mhz(2412), Some(1));
        assert_eq!(channel_from_frequency_mhz(2437), Some(6));
        assert_eq!(channel_from_frequency_mhz(2484), Some(14));
        assert_eq!(channel_from_frequency_mhz(5240), Some(48));
        assert_eq!(channel_from_frequency_mhz(6115), Some(33));
        assert_eq!(channel_from_frequency_mhz(1000), None);
        assert!(is_frequency_supported_by_guest(5240));
        assert!(!is_frequency_supported_by_guest(5900));
    }
}
