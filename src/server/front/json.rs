//! The JSON front, for browsers: each WebSocket text message is one command object, each event
//! one JSON object (see [`crate::protocol::json`]). The WebSocket itself — upgrade, origin check,
//! message size, close codes — is [`crate::server::web`]'s.

use bytes::Bytes;

use super::input::Input;
use crate::protocol::{ErrorCode, Event, Refusal, json};

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

/// Encodes an event as one JSON object (an empty buffer, logged, if it cannot be encoded).
pub fn encode(event: &Event) -> Bytes {
    match json::encode_event(event) {
        Ok(text) => Bytes::from(text),
        Err(e) => {
            tracing::error!(error = %e, "cannot encode an event as JSON");
            Bytes::new()
        }
    }
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
        assert_eq!(
            &encode(&Event::Left { room: "r".into() })[..],
            br#"{"type":"left","room":"r"}"#
        );
    }
}
