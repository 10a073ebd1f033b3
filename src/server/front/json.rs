//! The JSON front, for browsers: each WebSocket text message is one command object, each event
//! one JSON object (see [`crate::protocol::json`]). Events are encoded as whole WebSocket frames
//! (tungstenite's framing), once per event and shared by every member, so the web front writes
//! them like any other front's bytes; so are the close frames that end a connection. The
//! upgrade and the reading side are [`crate::server::web`]'s.

use bytes::Bytes;
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};

use super::input::Input;
use crate::protocol::{ErrorCode, Event, Refusal, json};

/// The longest reason a close frame may carry (its payload is at most 125 bytes).
const MAX_CLOSE_REASON: usize = 123;

/// Decodes one text message.
pub fn decode(text: &str) -> Input {
    match json::decode_command(text) {
        Ok(command) => Input::Command(command),
        Err(e) => Input::Refused(Refusal::new(
            ErrorCode::BadFrame,
            format!("the message is not a command ({e}) and was ignored"),
        )),
    }
}

/// What a binary message gets: refused, the connection stays.
pub fn binary() -> Input {
    Input::Refused(Refusal::new(
        ErrorCode::BadFrame,
        "binary messages are not accepted: send commands as JSON text",
    ))
}

/// The bytes of one frame.
fn bytes(frame: Frame) -> Bytes {
    let mut out = Vec::with_capacity(frame.len());
    match frame.format(&mut out) {
        Ok(()) => Bytes::from(out),
        Err(e) => {
            tracing::error!(error = %e, "cannot frame a WebSocket message");
            Bytes::new()
        }
    }
}

/// Encodes an event as a WebSocket text frame holding one JSON object (nothing, logged, if it
/// cannot be encoded).
pub fn encode(event: &Event) -> Bytes {
    match json::encode_event(event) {
        Ok(text) => bytes(Frame::message(text, OpCode::Data(Data::Text), true)),
        Err(e) => {
            tracing::error!(error = %e, "cannot encode an event as JSON");
            Bytes::new()
        }
    }
}

/// A close frame: `code`, and `reason` cut to what a close frame can carry.
fn close(code: CloseCode, reason: &str) -> Bytes {
    let mut reason = reason.to_string();
    while reason.len() > MAX_CLOSE_REASON {
        reason.pop();
    }
    bytes(Frame::close(Some(CloseFrame {
        code,
        reason: reason.into(),
    })))
}

/// The last bytes of a client being cut off: the error event, then a close frame with code 1009
/// (message too big) for an oversized message, 1008 (policy) for anything else.
pub fn last_words(code: ErrorCode, message: &str) -> Bytes {
    let close_code = match code {
        ErrorCode::FrameTooLarge => CloseCode::Size,
        _ => CloseCode::Policy,
    };
    let mut out = Vec::from(&encode(&Event::error(code, message))[..]);
    out.extend_from_slice(&close(close_code, &format!("{code}: {message}")));
    Bytes::from(out)
}

/// The close frame of a connection that ends normally (code 1000), after what was queued.
pub fn goodbye() -> Bytes {
    close(CloseCode::Normal, "connection closed")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Command;

    #[test]
    fn messages_decode_or_are_refused() {
        assert!(matches!(
            decode(r#"{"type":"join","room":"general"}"#),
            Input::Command(Command::Join(room)) if room == "general"
        ));
        assert!(matches!(
            decode("{\"type\":"),
            Input::Refused(r) if r.code == ErrorCode::BadFrame
        ));
        assert!(matches!(binary(), Input::Refused(r) if r.code == ErrorCode::BadFrame));
    }

    #[test]
    fn events_are_whole_text_frames_and_closes_carry_codes() {
        let json = br#"{"type":"left","room":"r"}"#;
        let frame = encode(&Event::Left { room: "r".into() });
        // FIN + text opcode, an unmasked 7-bit length, then the JSON.
        assert_eq!(&frame[..2], &[0x81, json.len() as u8]);
        assert_eq!(&frame[2..], json);
        assert_eq!(&goodbye()[..4], &[0x88, 19, 0x03, 0xe8], "close 1000");
        let cut = last_words(ErrorCode::FrameTooLarge, &"x".repeat(300));
        let close = &cut[cut.len() - 127..];
        assert_eq!(
            &close[..4],
            &[0x88, 125, 0x03, 0xf1],
            "close 1009, reason cut"
        );
        assert!(cut.starts_with(&[0x81, 126]), "the error event first");
        let policy = last_words(ErrorCode::SendQueueExceeded, "slow");
        assert!(policy.windows(2).any(|w| w == [0x03, 0xf0]), "close 1008");
    }
}
