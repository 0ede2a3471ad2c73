//! Guest driver generations: which wire layout a guest speaks.
//!
//! Every build of the `proxy_wifi` guest driver announces version 0.1, but older builds
//! differ from today's in two ways (protocol.md, "Older guest drivers"):
//! * their scan response has no `scan_complete` byte: the fixed part is `num_bss u32,
//!   total_size u32` (8 bytes instead of 9), entries and IEs follow as usual, each
//!   `ie_offset` still measured from the start of its own entry;
//! * they accept only NOTIF_DISCONNECTED and NOTIF_SIGNAL_QUALITY on the notification
//!   channel, never a scan-results notification.
//!
//! Nothing in the bytes tells the two apart, so the layout is configured per guest.

use std::fmt;
use std::str::FromStr;

use crate::header::Operation;

/// The layout a guest driver speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum GuestAbi {
    /// Today's driver: scan responses carry `scan_complete`, scan results may arrive as
    /// notifications.
    #[default]
    Current,
    /// Older builds: scan responses without `scan_complete`, no scan-results notifications.
    Legacy,
}

impl GuestAbi {
    /// Both layouts, for help texts and tests.
    pub const ALL: [GuestAbi; 2] = [GuestAbi::Current, GuestAbi::Legacy];

    /// The name used on the command line and in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            GuestAbi::Current => "current",
            GuestAbi::Legacy => "legacy",
        }
    }

    /// Length of the fixed part of a scan response in this layout (9 or 8 bytes).
    pub fn scan_response_fixed_len(self) -> usize {
        match self {
            GuestAbi::Current => crate::scan::SCAN_RESPONSE_FIXED_LEN,
            GuestAbi::Legacy => crate::scan::LEGACY_SCAN_RESPONSE_FIXED_LEN,
        }
    }

    /// Whether a guest of this layout accepts `operation` on its notification channel.
    pub fn accepts_notification(self, operation: Operation) -> bool {
        match operation {
            Operation::NotifDisconnected | Operation::NotifSignalQuality => true,
            Operation::ScanResponse => self == GuestAbi::Current,
            _ => false,
        }
    }
}

impl fmt::Display for GuestAbi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A guest ABI name that is neither `current` nor `legacy`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("guest ABI {0:?} is unknown; valid values are current and legacy")]
pub struct UnknownGuestAbi(pub String);

impl FromStr for GuestAbi {
    type Err = UnknownGuestAbi;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        GuestAbi::ALL.into_iter().find(|abi| abi.name() == text).ok_or_else(|| UnknownGuestAbi(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused_with_the_valid_ones() {
        for abi in GuestAbi::ALL {
            assert_eq!(abi.name().parse::<GuestAbi>(), Ok(abi));
        }
        let error = "old".parse::<GuestAbi>().unwrap_err();
        assert_eq!(error.to_string(), "guest ABI \"old\" is unknown; valid values are current and legacy");
    }

    #[test]
    fn legacy_guests_take_no_scan_results_notification() {
        assert!(GuestAbi::Current.accepts_notification(Operation::ScanResponse));
        assert!(!GuestAbi::Legacy.accepts_notification(Operation::ScanResponse));
        for abi in GuestAbi::ALL {
            assert!(abi.accepts_notification(Operation::NotifDisconnected));
            assert!(abi.accepts_notification(Operation::NotifSignalQuality));
            assert!(!abi.accepts_notification(Operation::ConnectResponse));
        }
    }
}
