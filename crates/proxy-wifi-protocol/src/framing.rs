//! Sans-I/O framing: turns the bytes read so far from a stream into a message.

use crate::abi::GuestAbi;
use crate::error::DecodeError;
use crate::header::{Direction, HEADER_LEN, Header};
use crate::message::Message;

/// What the bytes read so far hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// Not a whole message yet: read at least `needed` more bytes. The header (once
    /// complete) was already checked, so `needed` is bounded by the size cap.
    Incomplete {
        /// Bytes still missing.
        needed: usize,
    },
    /// A whole message, taken from the first `consumed` bytes.
    Complete {
        /// The decoded message.
        message: Message,
        /// How many bytes of the buffer it used.
        consumed: usize,
    },
}

/// Decodes the first message of `buf`, read in `direction`.
///
/// Returns an error ("this stream is bad") as soon as the header is complete and
/// invalid, before its body is awaited; the caller answers INVALID and closes.
pub fn decode_frame(buf: &[u8], direction: Direction) -> Result<Decoded, DecodeError> {
    decode_frame_as(buf, direction, GuestAbi::Current)
}

/// Decodes the first message of `buf`, read in `direction`, in the layout `abi` (a guest
/// driver of the legacy generation reads scan responses without `scan_complete`).
pub fn decode_frame_as(buf: &[u8], direction: Direction, abi: GuestAbi) -> Result<Decoded, DecodeError> {
    let Some(header_bytes) = buf.first_chunk::<HEADER_LEN>() else {
        return Ok(Decoded::Incomplete { needed: HEADER_LEN - buf.len() });
    };
    let header = Header::decode_as(header_bytes, direction, abi)?;
    let total = HEADER_LEN + header.body_len();
    if buf.len() < total {
        return Ok(Decoded::Incomplete { needed: total - buf.len() });
    }
    let message = Message::decode_body_as(header, &buf[HEADER_LEN..total], abi)?;
    Ok(Decoded::Complete { message, consumed: total })
}
