//! The one error type of the protocol layer.

use std::fmt;

use crate::header::Operation;

/// What a body size must be for an operation, as named in [`DecodeError::BodySize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeRule {
    /// The body must be exactly this many bytes.
    Exactly(u32),
    /// The body must hold between `min` and `max` bytes, both included.
    Between {
        /// Smallest valid size.
        min: u32,
        /// Largest accepted size.
        max: u32,
    },
}

impl fmt::Display for SizeRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SizeRule::Exactly(n) => write!(f, "exactly {n}"),
            SizeRule::Between { min, max } => write!(f, "between {min} and {max}"),
        }
    }
}

/// Why bytes could not be decoded into a message.
///
/// Each message names the offending field and value, e.g.
/// `connect request: num_akm_suites is 7, at most 2`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The header's version field is not 0.1.
    #[error("header: version is {version:#06x}, only 0x0001 (0.1) is supported")]
    UnsupportedVersion {
        /// The version found.
        version: u16,
    },
    /// The header's operation code is not one of the 9 operations.
    #[error("header: operation is {code}, valid operations are 0 to 8")]
    UnknownOperation {
        /// The operation code found.
        code: u8,
    },
    /// The operation exists but never travels in this direction.
    #[error("header: {operation} (operation {code}) is not sent {direction}", code = *operation as u8)]
    WrongDirection {
        /// The operation found.
        operation: Operation,
        /// The direction the bytes were read in, e.g. `from guest to host`.
        direction: &'static str,
    },
    /// The declared body size is invalid (or above the cap) for the operation.
    #[error("{operation}: size is {size}, expected {expected}")]
    BodySize {
        /// The operation of the header.
        operation: Operation,
        /// The declared size.
        size: u32,
        /// What the size must be.
        expected: SizeRule,
    },
    /// A length or count field is above its limit.
    #[error("{operation}: {field} is {value}, at most {max}")]
    FieldTooLarge {
        /// The message being decoded.
        operation: Operation,
        /// The field's name as in the protocol description.
        field: &'static str,
        /// The value found.
        value: u64,
        /// The largest valid value.
        max: u64,
    },
    /// A field must equal a value derived from the rest of the message.
    #[error("{operation}: {field} is {value}, expected {expected}")]
    FieldMismatch {
        /// The message being decoded.
        operation: Operation,
        /// The field's name as in the protocol description.
        field: &'static str,
        /// The value found.
        value: u64,
        /// The only valid value here.
        expected: u64,
    },
    /// The body ends before a field.
    #[error("{operation}: body ends at byte {offset}, {field} needs {needed} more")]
    Truncated {
        /// The message being decoded.
        operation: Operation,
        /// The field that did not fit.
        field: &'static str,
        /// Offset in the body where the field starts.
        offset: usize,
        /// Bytes missing.
        needed: usize,
    },
    /// A scan-response entry's information elements are not inside the body.
    #[error(
        "scan response: entry {index} has ie_offset {ie_offset} and ie_size {ie_size}, which leave the {body_len}-byte body"
    )]
    IesOutOfBounds {
        /// Index of the entry.
        index: u32,
        /// Its `ie_offset` (relative to the entry).
        ie_offset: u32,
        /// Its `ie_size`.
        ie_size: u32,
        /// Size of the whole body.
        body_len: usize,
    },
    /// The body holds bytes after the last field.
    #[error("{operation}: {extra} bytes after the last field")]
    TrailingBytes {
        /// The message being decoded.
        operation: Operation,
        /// How many bytes are left over.
        extra: usize,
    },
}
