//! Host-to-guest notifications: disconnected and signal quality.

use crate::error::DecodeError;
use crate::header::Operation;
use crate::reader::Reader;
use crate::types::SessionId;

/// The host lost the connection backing the guest's session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisconnectedNotification {
    /// The guest's current session id.
    pub session_id: SessionId,
}

impl DisconnectedNotification {
    /// Body length of the notification: the session id.
    pub const ENCODED_LEN: usize = size_of::<u64>();

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.session_id.0.to_le_bytes());
    }

    pub(crate) fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(Operation::NotifDisconnected, body);
        let session_id = SessionId(r.u64("session_id")?);
        r.finish()?;
        Ok(Self { session_id })
    }
}

/// The signal strength of the guest's connection changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalQualityNotification {
    /// Signal strength in dBm.
    pub signal_dbm: i8,
}

impl SignalQualityNotification {
    /// Body length of the notification: the signal byte.
    pub const ENCODED_LEN: usize = size_of::<i8>();

    /// The notification for a link quality in percent: `q/2 - 100` dBm, q clamped to 0–100.
    pub fn from_link_quality(percent: u32) -> Self {
        Self { signal_dbm: link_quality_to_dbm(percent) as i8 }
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.signal_dbm as u8);
    }

    pub(crate) fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(Operation::NotifSignalQuality, body);
        let signal_dbm = r.u8("signal")? as i8;
        r.finish()?;
        Ok(Self { signal_dbm })
    }
}

/// The guest's signal scale: a link quality of `percent` (clamped to 0–100) is
/// `percent/2 - 100` dBm.
pub fn link_quality_to_dbm(percent: u32) -> i32 {
    percent.min(100) as i32 / 2 - 100
}

/// The inverse of [`link_quality_to_dbm`]: `clamp(2 * (dBm + 100), 0, 100)` percent.
pub fn dbm_to_link_quality(dbm: i32) -> u32 {
    (2 * dbm.saturating_add(100)).clamp(0, 100) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_quality_maps_to_dbm() {
        assert_eq!(SignalQualityNotification::from_link_quality(40).signal_dbm, -80);
        assert_eq!(SignalQualityNotification::from_link_quality(0).signal_dbm, -100);
        assert_eq!(SignalQualityNotification::from_link_quality(100).signal_dbm, -50);
        assert_eq!(SignalQualityNotification::from_link_quality(250).signal_dbm, -50);
        assert_eq!(SignalQualityNotification::from_link_quality(61).signal_dbm, -70);
    }
}
