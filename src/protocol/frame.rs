//! The framed protocol for programs and the terminal client: each frame is a 4-byte big-endian
//! payload length followed by the payload, a [`Command`] (client to server) or an [`Event`]
//! (server to client) encoded by [`crate::wire`].
//!
//! A connection opens with the server's one-line text banner (ending in `\n`), which framed
//! clients skip; the client's first frame (whose first byte is `0x00`, the high byte of the
//! length) tells the server to speak frames from then on.

use bytes::{BufMut, Bytes, BytesMut};
use tokio_util::codec::LengthDelimitedCodec;

use super::{Command, Event};
use crate::wire::{self, WireError};

/// Size of the length prefix.
pub const HEADER_LEN: usize = 4;

/// A codec that splits a byte stream into frame payloads no larger than `max_frame_bytes`.
/// A larger length prefix is an error as soon as the 4 header bytes arrive: nothing is buffered.
pub fn codec(max_frame_bytes: usize) -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_length(HEADER_LEN)
        .big_endian()
        .max_frame_length(max_frame_bytes)
        .new_codec()
}

fn encode_frame<T: serde::Serialize>(value: &T) -> Result<Bytes, WireError> {
    let mut buf = Vec::with_capacity(64);
    buf.put_u32(0);
    wire::encode_into(value, &mut buf)?;
    let len = (buf.len() - HEADER_LEN) as u32;
    buf[..HEADER_LEN].copy_from_slice(&len.to_be_bytes());
    Ok(Bytes::from(buf))
}

/// Encodes an event as a complete frame (header included).
pub fn encode_event(event: &Event) -> Result<Bytes, WireError> {
    encode_frame(event)
}

/// Encodes a command as a complete frame (header included); used by clients.
pub fn encode_command(command: &Command) -> Result<Bytes, WireError> {
    encode_frame(command)
}

/// Decodes a command from a frame payload (header already removed by [`codec`]).
pub fn decode_command(payload: &BytesMut) -> Result<Command, WireError> {
    wire::decode(payload)
}

/// Decodes an event from a frame payload (header already removed); used by clients.
pub fn decode_event(payload: &[u8]) -> Result<Event, WireError> {
    wire::decode(payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ChatMessage, ErrorCode, RoomInfo};
    use proptest::prelude::*;
    use tokio_util::codec::Decoder;

    fn arb_text() -> impl Strategy<Value = String> + Clone {
        ".{0,40}"
    }

    fn arb_message() -> impl Strategy<Value = ChatMessage> {
        (
            arb_text(),
            any::<u64>(),
            arb_text(),
            arb_text(),
            any::<bool>(),
            any::<u64>(),
        )
            .prop_map(|(room, seq, from, text, action, ts)| ChatMessage {
                room,
                seq,
                from,
                text,
                action,
                ts,
            })
    }

    fn arb_command() -> impl Strategy<Value = Command> {
        prop_oneof![
            arb_text().prop_map(Command::Nick),
            arb_text().prop_map(Command::Join),
            proptest::option::of(arb_text()).prop_map(Command::Leave),
            (proptest::option::of(arb_text()), arb_text())
                .prop_map(|(room, text)| Command::Msg { room, text }),
            (arb_text(), arb_text()).prop_map(|(to, text)| Command::PrivateMsg { to, text }),
            Just(Command::ListRooms),
            (
                proptest::option::of(arb_text()),
                proptest::option::of(any::<u32>())
            )
                .prop_map(|(room, limit)| Command::History { room, limit }),
            arb_text().prop_map(Command::Ping),
            proptest::option::of(arb_text()).prop_map(Command::Quit),
        ]
    }

    fn arb_event() -> impl Strategy<Value = Event> {
        prop_oneof![
            arb_message().prop_map(Event::Message),
            proptest::collection::vec(arb_message(), 0..5).prop_map(|messages| Event::History {
                room: "r".into(),
                messages
            }),
            (arb_text(), any::<u32>(), arb_text()).prop_map(|(name, members, node)| {
                Event::RoomList {
                    rooms: vec![RoomInfo {
                        name,
                        members,
                        node,
                    }],
                }
            }),
            arb_text().prop_map(|m| Event::error(ErrorCode::RateLimited, m)),
            (arb_text(), proptest::option::of(arb_text()), any::<u64>()).prop_map(
                |(nick, reason, ts)| Event::UserLeft {
                    room: "r".into(),
                    nick,
                    reason,
                    ts
                }
            ),
        ]
    }

    fn split(bytes: &Bytes) -> BytesMut {
        let mut buf = BytesMut::from(&bytes[..]);
        codec(1 << 20).decode(&mut buf).unwrap().unwrap()
    }

    proptest! {
        #[test]
        fn commands_round_trip(command in arb_command()) {
            let frame = encode_command(&command).unwrap();
            prop_assert_eq!(decode_command(&split(&frame)).unwrap(), command);
        }

        #[test]
        fn events_round_trip(event in arb_event()) {
            let frame = encode_event(&event).unwrap();
            prop_assert_eq!(decode_event(&split(&frame)).unwrap(), event);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
            let _ = decode_command(&BytesMut::from(&bytes[..]));
        }

        #[test]
        fn mutated_frames_never_panic(
            command in arb_command(),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        ) {
            let frame = encode_command(&command).unwrap();
            let mut payload = BytesMut::from(&frame[HEADER_LEN..]);
            for (at, bits) in flips {
                let len = payload.len();
                if len > 0 {
                    payload[at % len] ^= bits;
                }
            }
            let _ = decode_command(&payload);
            payload.truncate(payload.len() / 2);
            let _ = decode_command(&payload);
        }
    }

    #[test]
    fn oversized_length_is_refused_before_buffering() {
        let mut buf = BytesMut::from(&[0x00, 0x10, 0x00, 0x00][..]);
        assert!(codec(1024).decode(&mut buf).is_err());
    }
}
