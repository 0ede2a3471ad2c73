//! The message enum: one variant per operation.

use crate::abi::GuestAbi;
use crate::connect::{ConnectRequest, ConnectResponse};
use crate::disconnect::DisconnectRequest;
use crate::error::DecodeError;
use crate::header::{HEADER_LEN, Header, Operation};
use crate::notification::{DisconnectedNotification, SignalQualityNotification};
use crate::scan::{ScanRequest, ScanResponse};

/// A whole protocol message (header + body), typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// The host could not process a request.
    Invalid,
    /// Guest → host: scan.
    ScanRequest(ScanRequest),
    /// Host → guest: scan answer or scan-results notification.
    ScanResponse(ScanResponse),
    /// Guest → host: connect.
    ConnectRequest(ConnectRequest),
    /// Host → guest: connect answer.
    ConnectResponse(ConnectResponse),
    /// Guest → host: disconnect.
    DisconnectRequest(DisconnectRequest),
    /// Host → guest: disconnect answer.
    DisconnectResponse,
    /// Host → guest: the connection was lost.
    NotifDisconnected(DisconnectedNotification),
    /// Host → guest: new signal strength.
    NotifSignalQuality(SignalQualityNotification),
}

impl Message {
    /// The operation code of this message.
    pub fn operation(&self) -> Operation {
        match self {
            Message::Invalid => Operation::Invalid,
            Message::ScanRequest(_) => Operation::ScanRequest,
            Message::ScanResponse(_) => Operation::ScanResponse,
            Message::ConnectRequest(_) => Operation::ConnectRequest,
            Message::ConnectResponse(_) => Operation::ConnectResponse,
            Message::DisconnectRequest(_) => Operation::DisconnectRequest,
            Message::DisconnectResponse => Operation::DisconnectResponse,
            Message::NotifDisconnected(_) => Operation::NotifDisconnected,
            Message::NotifSignalQuality(_) => Operation::NotifSignalQuality,
        }
    }

    /// The length of the body this message encodes to.
    pub fn body_len(&self) -> usize {
        self.body_len_as(GuestAbi::Current)
    }

    /// The length of the body this message encodes to in the layout `abi`.
    pub fn body_len_as(&self, abi: GuestAbi) -> usize {
        match self {
            Message::Invalid | Message::DisconnectResponse => 0,
            Message::ScanRequest(m) => m.encoded_len(),
            Message::ScanResponse(m) => m.encoded_len_as(abi),
            Message::ConnectRequest(m) => m.encoded_len(),
            Message::ConnectResponse(_) => crate::connect::CONNECT_RESPONSE_LEN,
            Message::DisconnectRequest(_) | Message::NotifDisconnected(_) => 8,
            Message::NotifSignalQuality(_) => 1,
        }
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
        match self {
            Message::Invalid | Message::DisconnectResponse => {}
            Message::ScanRequest(m) => m.encode(out),
            Message::ScanResponse(m) => m.encode_as(abi, out),
            Message::ConnectRequest(m) => m.encode(out),
            Message::ConnectResponse(m) => m.encode(out),
            Message::DisconnectRequest(m) => m.encode(out),
            Message::NotifDisconnected(m) => m.encode(out),
            Message::NotifSignalQuality(m) => m.encode(out),
        }
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

    /// Decodes the body of a message whose header was validated by [`Header::decode`].
    ///
    /// `body` must be exactly `header.size` bytes long.
    pub fn decode_body(header: Header, body: &[u8]) -> Result<Message, DecodeError> {
        Self::decode_body_as(header, body, GuestAbi::Current)
    }

    /// Decodes the body of a message in the layout `abi`, whose header was validated by
    /// [`Header::decode_as`] with the same `abi`.
    ///
    /// `body` must be exactly `header.size` bytes long.
    pub fn decode_body_as(header: Header, body: &[u8], abi: GuestAbi) -> Result<Message, DecodeError> {
        if body.len() != header.body_len() {
            return Err(DecodeError::FieldMismatch {
                operation: header.operation,
                field: "body length",
                value: body.len() as u64,
                expected: header.size.into(),
            });
        }
        Ok(match header.operation {
            Operation::Invalid => Message::Invalid,
            Operation::ScanRequest => Message::ScanRequest(ScanRequest::decode(body)?),
            Operation::ScanResponse => Message::ScanResponse(ScanResponse::decode_as(body, abi)?),
            Operation::ConnectRequest => Message::ConnectRequest(ConnectRequest::decode(body)?),
            Operation::ConnectResponse => Message::ConnectResponse(ConnectResponse::decode(body)?),
            Operation::DisconnectRequest => Message::DisconnectRequest(DisconnectRequest::decode(body)?),
            Operation::DisconnectResponse => Message::DisconnectResponse,
            Operation::NotifDisconnected => Message::NotifDisconnected(DisconnectedNotification::decode(body)?),
            Operation::NotifSignalQuality => Message::NotifSignalQuality(SignalQualityNotification::decode(body)?),
        })
    }
}
