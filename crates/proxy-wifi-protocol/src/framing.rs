//! Sans-I/O framing: turns the bytes read so far from a stream into a message.

use crate::abi::GuestAbi;
use crate::error::DecodeError;
use crate::header::{HEADER_LEN, Header};
use crate::message::Frame;

/// What the bytes read so far hold; `M` is [`HostBound`](crate::HostBound) or
/// [`GuestBound`](crate::GuestBound).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<M> {
    /// Not a whole message yet: read at least `needed` more bytes. The header (once
    /// complete) was already checked, so `needed` is bounded by the size cap.
    Incomplete {
        /// Bytes still missing.
        needed: usize,
    },
    /// A whole message, taken from the first `consumed` bytes.
    Complete {
        /// The decoded message.
        message: M,
        /// How many bytes of the buffer it used.
        consumed: usize,
    },
}

/// Decodes the first message of `buf` in the layout `abi`.
///
/// Returns an error ("this stream is bad") as soon as the header is complete and
/// invalid, before its body is awaited; the caller answers INVALID and closes.
pub(crate) fn decode_frame<M: Frame>(buf: &[u8], abi: GuestAbi) -> Result<Decoded<M>, DecodeError> {
    let Some(header_bytes) = buf.first_chunk::<HEADER_LEN>() else {
        return Ok(Decoded::Incomplete { needed: HEADER_LEN - buf.len() });
    };
    let header = Header::decode_for::<M>(header_bytes, abi)?;
    let total = HEADER_LEN + header.body_len();
    if buf.len() < total {
        return Ok(Decoded::Incomplete { needed: total - buf.len() });
    }
    let message = M::decode_checked_body(header, &buf[HEADER_LEN..total], abi)?;
    Ok(Decoded::Complete { message, consumed: total })
}
