//! A bounds-checked cursor over a message body.

use crate::error::DecodeError;
use crate::header::Operation;

/// Reads little-endian fields from a body; every read checks the remaining length.
pub(crate) struct Reader<'a> {
    operation: Operation,
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(operation: Operation, bytes: &'a [u8]) -> Self {
        Self { operation, bytes, offset: 0 }
    }

    pub(crate) fn take(&mut self, len: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let remaining = self.bytes.len() - self.offset;
        if len > remaining {
            return Err(DecodeError::Truncated {
                operation: self.operation,
                field,
                offset: self.offset,
                needed: len - remaining,
            });
        }
        let slice = &self.bytes[self.offset..self.offset + len];
        self.offset += len;
        Ok(slice)
    }

    pub(crate) fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let slice = self.take(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    pub(crate) fn i32(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        Ok(i32::from_le_bytes(self.array(field)?))
    }

    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    /// Fails with [`DecodeError::TrailingBytes`] unless the whole body was read.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        let extra = self.bytes.len() - self.offset;
        if extra == 0 { Ok(()) } else { Err(DecodeError::TrailingBytes { operation: self.operation, extra }) }
    }

    pub(crate) fn too_large(&self, field: &'static str, value: u64, max: u64) -> DecodeError {
        DecodeError::FieldTooLarge { operation: self.operation, field, value, max }
    }
}
