//! The 7-byte message header, the operation codes and the size caps.

use std::fmt;

use crate::abi::GuestAbi;
use crate::connect::{CONNECT_REQUEST_FIXED_LEN, ConnectResponse};
use crate::disconnect::DisconnectRequest;
use crate::error::{DecodeError, SizeRule};
use crate::key::MAX_KEY_LEN;
use crate::message::Frame;
use crate::notification::{DisconnectedNotification, SignalQualityNotification};
use crate::scan::ScanRequest;

/// Length of the header: operation (1), size (4), version (2).
pub const HEADER_LEN: usize = 7;

/// Default port of the request channel: the host listens on it, the guest connects.
pub const DEFAULT_REQUEST_PORT: u16 = 12345;

/// Default port of the notification channel: the guest listens on it, the host connects.
pub const DEFAULT_NOTIFICATION_PORT: u16 = 12346;

/// The only protocol version spoken: 0.1, encoded as `0x0001`.
pub const PROTOCOL_VERSION: u16 = 0x0001;

/// Largest body a guest may send: a connect request with a 255-byte key (76 + 255).
///
/// A host never reads more than this for one request, whatever the header claims.
pub const MAX_REQUEST_BODY_LEN: u32 = (CONNECT_REQUEST_FIXED_LEN + MAX_KEY_LEN) as u32;

/// Largest scan-response body a guest-side reader accepts: 16 MiB.
///
/// A scan response of 1000 networks with generous IEs stays far below this bound.
pub const MAX_SCAN_RESPONSE_BODY_LEN: u32 = 16 * 1024 * 1024;

/// The operation carried by a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Operation {
    /// Host answer to a request it could not process (empty body).
    Invalid = 0,
    /// Guest asks for a scan.
    ScanRequest = 1,
    /// Host answers a scan, or pushes scan results as a notification.
    ScanResponse = 2,
    /// Guest asks for a connection.
    ConnectRequest = 3,
    /// Host answers a connect request.
    ConnectResponse = 4,
    /// Guest asks to end a connection.
    DisconnectRequest = 5,
    /// Host answers a disconnect request (empty body).
    DisconnectResponse = 6,
    /// Host tells the guest its connection was lost.
    NotifDisconnected = 7,
    /// Host tells the guest the signal strength changed.
    NotifSignalQuality = 8,
}

impl Operation {
    /// All operations, in code order.
    pub const ALL: [Operation; 9] = [
        Operation::Invalid,
        Operation::ScanRequest,
        Operation::ScanResponse,
        Operation::ConnectRequest,
        Operation::ConnectResponse,
        Operation::DisconnectRequest,
        Operation::DisconnectResponse,
        Operation::NotifDisconnected,
        Operation::NotifSignalQuality,
    ];

    /// The operation with this code, if any.
    pub fn from_code(code: u8) -> Option<Operation> {
        Self::ALL.get(usize::from(code)).copied()
    }

    /// The body sizes valid for this operation (the upper bound is the allocation cap).
    pub fn body_size_rule(self) -> SizeRule {
        self.body_size_rule_as(GuestAbi::Current)
    }

    /// The body sizes valid for this operation in the layout `abi` (a legacy scan
    /// response may be one byte shorter: it has no `scan_complete`).
    pub fn body_size_rule_as(self, abi: GuestAbi) -> SizeRule {
        match self {
            Operation::ScanResponse => {
                SizeRule::Between { min: abi.scan_response_fixed_len() as u32, max: MAX_SCAN_RESPONSE_BODY_LEN }
            }
            Operation::Invalid | Operation::DisconnectResponse => SizeRule::Exactly(0),
            Operation::ScanRequest => exactly(ScanRequest::ENCODED_LEN),
            Operation::ConnectRequest => {
                SizeRule::Between { min: CONNECT_REQUEST_FIXED_LEN as u32, max: MAX_REQUEST_BODY_LEN }
            }
            Operation::ConnectResponse => exactly(ConnectResponse::ENCODED_LEN),
            Operation::DisconnectRequest => exactly(DisconnectRequest::ENCODED_LEN),
            Operation::NotifDisconnected => exactly(DisconnectedNotification::ENCODED_LEN),
            Operation::NotifSignalQuality => exactly(SignalQualityNotification::ENCODED_LEN),
        }
    }

    /// The name used in error messages and logs, e.g. `connect request`.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Invalid => "invalid",
            Operation::ScanRequest => "scan request",
            Operation::ScanResponse => "scan response",
            Operation::ConnectRequest => "connect request",
            Operation::ConnectResponse => "connect response",
            Operation::DisconnectRequest => "disconnect request",
            Operation::DisconnectResponse => "disconnect response",
            Operation::NotifDisconnected => "disconnected notification",
            Operation::NotifSignalQuality => "signal quality notification",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn exactly(len: usize) -> SizeRule {
    SizeRule::Exactly(len as u32)
}

/// A validated header: the operation is known and allowed in the direction read, the
/// version is 0.1 and the body size is valid for the operation (so it is safe to
/// allocate `size` bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The operation of the message.
    pub operation: Operation,
    /// The body length in bytes.
    pub size: u32,
}

impl Header {
    /// Checks the 7 header bytes of a message of type `M` (the direction read), with the
    /// size rules of the layout `abi`.
    pub(crate) fn decode_for<M: Frame>(bytes: &[u8; HEADER_LEN], abi: GuestAbi) -> Result<Header, DecodeError> {
        let code = bytes[0];
        let size = u32::from_le_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
        let version = u16::from_le_bytes([bytes[5], bytes[6]]);
        if version != PROTOCOL_VERSION {
            return Err(DecodeError::UnsupportedVersion { version });
        }
        let operation = Operation::from_code(code).ok_or(DecodeError::UnknownOperation { code })?;
        if !M::carries(operation) {
            return Err(DecodeError::WrongDirection { operation, direction: M::DIRECTION });
        }
        let rule = operation.body_size_rule_as(abi);
        let valid = match rule {
            SizeRule::Exactly(n) => size == n,
            SizeRule::Between { min, max } => (min..=max).contains(&size),
        };
        if !valid {
            return Err(DecodeError::BodySize { operation, size, expected: rule });
        }
        Ok(Header { operation, size })
    }

    /// The 7 bytes of this header.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0] = self.operation as u8;
        out[1..5].copy_from_slice(&self.size.to_le_bytes());
        out[5..7].copy_from_slice(&PROTOCOL_VERSION.to_le_bytes());
        out
    }

    /// The body length as a `usize`.
    pub fn body_len(&self) -> usize {
        self.size as usize
    }
}
