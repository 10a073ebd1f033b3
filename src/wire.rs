//! The one place that knows the binary encoding (bincode 2 with serde).
//!
//! The framed client protocol ([`crate::protocol::frame`]) and the payloads that cross between
//! cluster nodes both go through here, so swapping the codec is a change to this file only.
//! Every decode is bounded by [`DECODE_LIMIT`]: without a limit, a 9-byte crafted input can make
//! bincode try to allocate an exabyte.

use bincode::config::{Configuration, Limit, standard};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Upper bound on what one decode may allocate. `limits.max_frame_bytes` may not exceed it.
pub const DECODE_LIMIT: usize = 16 * 1024 * 1024;

const CONFIG: Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    Limit<DECODE_LIMIT>,
> = standard().with_limit::<DECODE_LIMIT>();

/// A value could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Encoding failed (a type the codec cannot represent).
    #[error("cannot encode: {0}")]
    Encode(#[from] bincode::error::EncodeError),
    /// The bytes are not a valid value.
    #[error("cannot decode: {0}")]
    Decode(#[from] bincode::error::DecodeError),
    /// The bytes hold a value followed by garbage.
    #[error("{0} unexpected trailing bytes")]
    Trailing(usize),
}

/// Appends the encoding of `value` to `buf`.
pub fn encode_into<T: Serialize>(value: &T, buf: &mut Vec<u8>) -> Result<(), WireError> {
    bincode::serde::encode_into_std_write(value, buf, CONFIG)?;
    Ok(())
}

/// Encodes `value` into a new vector.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, WireError> {
    let mut buf = Vec::new();
    encode_into(value, &mut buf)?;
    Ok(buf)
}

/// Decodes a whole value from `bytes`; trailing bytes are an error.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    let (value, used) = bincode::serde::decode_from_slice(bytes, CONFIG)?;
    if used != bytes.len() {
        return Err(WireError::Trailing(bytes.len() - used));
    }
    Ok(value)
}

/// Makes serde types usable as fields of remotable (`RactorClusterMessage`) actor messages.
///
/// `ractor::BytesConvertable::from_bytes` cannot return an error; a payload that does not decode
/// panics, which the ractor_cluster derive catches (`catch_unwind`) and turns into a dropped
/// message. Only authenticated cluster peers can send these payloads.
#[macro_export]
macro_rules! remote_payload {
    ($($ty:ty),+ $(,)?) => {$(
        impl ::ractor::BytesConvertable for $ty {
            fn into_bytes(self) -> Vec<u8> {
                match $crate::wire::encode(&self) {
                    Ok(bytes) => bytes,
                    Err(e) => panic!("cannot encode {}: {e}", stringify!($ty)),
                }
            }
            fn from_bytes(bytes: Vec<u8>) -> Self {
                match $crate::wire::decode(&bytes) {
                    Ok(value) => value,
                    Err(e) => panic!("cannot decode {}: {e}", stringify!($ty)),
                }
            }
        }
    )+};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_trailing_bytes() {
        let bytes = encode(&("hello".to_string(), 7u64)).unwrap();
        let back: (String, u64) = decode(&bytes).unwrap();
        assert_eq!(back, ("hello".to_string(), 7));
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            decode::<(String, u64)>(&longer),
            Err(WireError::Trailing(1))
        ));
    }

    #[test]
    fn huge_claimed_length_is_refused_without_allocating() {
        // A varint length of u64::MAX for a Vec<u8>: must fail on the limit, not abort.
        let crafted = [0xFFu8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        assert!(decode::<Vec<u8>>(&crafted).is_err());
    }
}
