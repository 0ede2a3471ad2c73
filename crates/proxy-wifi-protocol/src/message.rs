//! The two message enums, one per direction: [`HostBound`] (what a guest sends on the
//! request channel) and [`GuestBound`] (what the host answers or notifies).
//!
//! The direction is in the type: a host decodes [`HostBound`] and can only get a request
//! out, a guest decodes [`GuestBound`] and can only get an answer or a notification.

use crate::abi::GuestAbi;
use crate::connect::{ConnectRequest, ConnectResponse};
use crate::disconnect::DisconnectRequest;
use crate::error::DecodeError;
use crate::framing::Decoded;
use crate::header::{HEADER_LEN, Header, Operation};
use crate::notification::{DisconnectedNotification, SignalQualityNotification};
use crate::scan::{ScanRequest, ScanResponse};

/// A message the guest sends to the host: a request on the request channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostBound {
    /// Scan.
    Scan(ScanRequest),
    /// Connect.
    Connect(ConnectRequest),
    /// Disconnect.
    Disconnect(DisconnectRequest),
}

/// A message the host sends to the guest: the answer to a request, or a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestBound {
    /// The host could not process a request.
    Invalid,
    /// Scan answer, or scan-results notification.
    ScanResponse(ScanResponse),
    /// Connect answer.
    ConnectResponse(ConnectResponse),
    /// Disconnect answer.
    DisconnectResponse,
    /// The connection was lost.
    NotifDisconnected(DisconnectedNotification),
    /// New signal strength.
    NotifSignalQuality(SignalQualityNotification),
}

/// One direction's messages: what the codec needs to frame them. Implemented by
/// [`HostBound`] and [`GuestBound`] only.
pub trait Frame: Sized + sealed::Sealed {
    /// How the direction is named in errors, e.g. `from guest to host`.
    const DIRECTION: &'static str;
    /// Whether `operation` travels in this direction.
    fn carries(operation: Operation) -> bool;
    /// The operation code of this message.
    fn operation(&self) -> Operation;
    /// The length of the body this message encodes to in the layout `abi`.
    fn body_len_as(&self, abi: GuestAbi) -> usize;
    /// Appends the body (no header) in the layout `abi` to `out`.
    fn encode_body_as(&self, abi: GuestAbi, out: &mut Vec<u8>);
    /// Decodes a body whose header was checked for this direction; `body.len()` is
    /// `header.size`.
    fn decode_checked_body(header: Header, body: &[u8], abi: GuestAbi) -> Result<Self, DecodeError>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::HostBound {}
    impl Sealed for super::GuestBound {}
}

impl Frame for HostBound {
    const DIRECTION: &'static str = "from guest to host";

    fn carries(operation: Operation) -> bool {
        matches!(operation, Operation::ScanRequest | Operation::ConnectRequest | Operation::DisconnectRequest)
    }

    fn operation(&self) -> Operation {
        match self {
            HostBound::Scan(_) => Operation::ScanRequest,
            HostBound::Connect(_) => Operation::ConnectRequest,
            HostBound::Disconnect(_) => Operation::DisconnectRequest,
        }
    }

    fn body_len_as(&self, _abi: GuestAbi) -> usize {
        match self {
            HostBound::Scan(_) => ScanRequest::ENCODED_LEN,
            HostBound::Connect(m) => m.encoded_len(),
            HostBound::Disconnect(_) => DisconnectRequest::ENCODED_LEN,
        }
    }

    fn encode_body_as(&self, _abi: GuestAbi, out: &mut Vec<u8>) {
        match self {
            HostBound::Scan(m) => m.encode(out),
            HostBound::Connect(m) => m.encode(out),
            HostBound::Disconnect(m) => m.encode(out),
        }
    }

    fn decode_checked_body(header: Header, body: &[u8], _abi: GuestAbi) -> Result<Self, DecodeError> {
        Ok(match header.operation {
            Operation::ScanRequest => HostBound::Scan(ScanRequest::decode(body)?),
            Operation::ConnectRequest => HostBound::Connect(ConnectRequest::decode(body)?),
            Operation::DisconnectRequest => HostBound::Disconnect(DisconnectRequest::decode(body)?),
            operation => return Err(DecodeError::WrongDirection { operation, direction: Self::DIRECTION }),
        })
    }
}

impl Frame for GuestBound {
    const DIRECTION: &'static str = "from host to guest";

    fn carries(operation: Operation) -> bool {
        !HostBound::carries(operation)
    }

    fn operation(&self) -> Operation {
        match self {
            GuestBound::Invalid => Operation::Invalid,
            GuestBound::ScanResponse(_) => Operation::ScanResponse,
            GuestBound::ConnectResponse(_) => Operation::ConnectResponse,
            GuestBound::DisconnectResponse => Operation::DisconnectResponse,
            GuestBound::NotifDisconnected(_) => Operation::NotifDisconnected,
            GuestBound::NotifSignalQuality(_) => Operation::NotifSignalQuality,
        }
    }

    fn body_len_as(&self, abi: GuestAbi) -> usize {
        match self {
            GuestBound::Invalid | GuestBound::DisconnectResponse => 0,
            GuestBound::ScanResponse(m) => m.encoded_len_as(abi),
            GuestBound::ConnectResponse(_) => ConnectResponse::ENCODED_LEN,
            GuestBound::NotifDisconnected(_) => DisconnectedNotification::ENCODED_LEN,
            GuestBound::NotifSignalQuality(_) => SignalQualityNotification::ENCODED_LEN,
        }
    }

    fn encode_body_as(&self, abi: GuestAbi, out: &mut Vec<u8>) {
        match self {
            GuestBound::Invalid | GuestBound::DisconnectResponse => {}
            GuestBound::ScanResponse(m) => m.encode_as(abi, out),
            GuestBound::ConnectResponse(m) => m.encode(out),
            GuestBound::NotifDisconnected(m) => m.encode(out),
            GuestBound::NotifSignalQuality(m) => m.encode(out),
        }
    }

    fn decode_checked_body(header: Header, body: &[u8], abi: GuestAbi) -> Result<Self, DecodeError> {
        Ok(match header.operation {
            Operation::Invalid => GuestBound::Invalid,
            Operation::ScanResponse => GuestBound::ScanResponse(ScanResponse::decode_as(body, abi)?),
            Operation::ConnectResponse => GuestBound::ConnectResponse(ConnectResponse::decode(body)?),
            Operation::DisconnectResponse => GuestBound::DisconnectResponse,
            Operation::NotifDisconnected => GuestBound::NotifDisconnected(DisconnectedNotification::decode(body)?),
            Operation::NotifSignalQuality => GuestBound::NotifSignalQuality(SignalQualityNotification::decode(body)?),
            operation => return Err(DecodeError::WrongDirection { operation, direction: Self::DIRECTION }),
        })
    }
}

/// The same encoding and decoding methods on both message enums.
macro_rules! frame_methods {
    ($message:ty) => {
        impl $message {
            /// The operation code of this message.
            pub fn operation(&self) -> Operation {
                Frame::operation(self)
            }

            /// The length of the body this message encodes to.
            pub fn body_len(&self) -> usize {
                self.body_len_as(GuestAbi::Current)
            }

            /// The length of the body this message encodes to in the layout `abi`.
            pub fn body_len_as(&self, abi: GuestAbi) -> usize {
                Frame::body_len_as(self, abi)
            }

            /// The header of this message.
            pub fn header(&self) -> Header {
                self.header_as(GuestAbi::Current)
            }

            /// The header of this message in the layout `abi`.
            pub fn header_as(&self, abi: GuestAbi) -> Header {
                Header { operation: self.operation(), size: self.body_len_as(abi) as u32 }
            }

            /// Appends header and body to `out`.
            pub fn encode(&self, out: &mut Vec<u8>) {
                self.encode_as(GuestAbi::Current, out);
            }

            /// Appends header and body in the layout `abi` to `out` (only scan responses differ).
            pub fn encode_as(&self, abi: GuestAbi, out: &mut Vec<u8>) {
                out.reserve(HEADER_LEN + self.body_len_as(abi));
                out.extend_from_slice(&self.header_as(abi).encode());
                self.encode_body_as(abi, out);
            }

            /// Header and body as a new buffer.
            pub fn to_bytes(&self) -> Vec<u8> {
                self.to_bytes_as(GuestAbi::Current)
            }

            /// Header and body in the layout `abi` as a new buffer.
            pub fn to_bytes_as(&self, abi: GuestAbi) -> Vec<u8> {
                let mut out = Vec::with_capacity(HEADER_LEN + self.body_len_as(abi));
                self.encode_as(abi, &mut out);
                out
            }

            /// Checks the 7 header bytes of a message of this direction.
            pub fn decode_header(bytes: &[u8; HEADER_LEN]) -> Result<Header, DecodeError> {
                Self::decode_header_as(bytes, GuestAbi::Current)
            }

            /// Checks the 7 header bytes of a message of this direction, with the size
            /// rules of the layout `abi`.
            pub fn decode_header_as(bytes: &[u8; HEADER_LEN], abi: GuestAbi) -> Result<Header, DecodeError> {
                Header::decode_for::<Self>(bytes, abi)
            }

            /// Decodes the body of a message whose header was checked by
            /// [`Self::decode_header`]. `body` must be exactly `header.size` bytes long.
            pub fn decode_body(header: Header, body: &[u8]) -> Result<Self, DecodeError> {
                Self::decode_body_as(header, body, GuestAbi::Current)
            }

            /// Decodes the body of a message in the layout `abi`, whose header was checked
            /// by [`Self::decode_header_as`] with the same `abi`.
            pub fn decode_body_as(header: Header, body: &[u8], abi: GuestAbi) -> Result<Self, DecodeError> {
                decode_body::<Self>(header, body, abi)
            }

            /// Decodes the first message of `buf` (see [`Decoded`]).
            pub fn decode_frame(buf: &[u8]) -> Result<Decoded<Self>, DecodeError> {
                Self::decode_frame_as(buf, GuestAbi::Current)
            }

            /// Decodes the first message of `buf` in the layout `abi` (a guest driver of
            /// the legacy generation reads scan responses without `scan_complete`).
            pub fn decode_frame_as(buf: &[u8], abi: GuestAbi) -> Result<Decoded<Self>, DecodeError> {
                crate::framing::decode_frame::<Self>(buf, abi)
            }
        }
    };
}

frame_methods!(HostBound);
frame_methods!(GuestBound);

fn decode_body<M: Frame>(header: Header, body: &[u8], abi: GuestAbi) -> Result<M, DecodeError> {
    if body.len() != header.body_len() {
        return Err(DecodeError::FieldMismatch {
            operation: header.operation,
            field: "body length",
            value: body.len() as u64,
            expected: header.size.into(),
        });
    }
    M::decode_checked_body(header, body, abi)
}
