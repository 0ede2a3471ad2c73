//! Disconnect request (the response has an empty body).

use crate::error::DecodeError;
use crate::header::Operation;
use crate::reader::Reader;
use crate::types::SessionId;

/// A guest's request to end a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisconnectRequest {
    /// The session to end.
    pub session_id: SessionId,
}

impl DisconnectRequest {
    /// Body length of a disconnect request: the session id.
    pub const ENCODED_LEN: usize = size_of::<u64>();

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.session_id.0.to_le_bytes());
    }

    pub(crate) fn decode(body: &[u8]) -> Result<DisconnectRequest, DecodeError> {
        let mut r = Reader::new(Operation::DisconnectRequest, body);
        let session_id = SessionId(r.u64("session_id")?);
        r.finish()?;
        Ok(DisconnectRequest { session_id })
    }
}
