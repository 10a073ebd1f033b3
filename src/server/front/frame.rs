//! The framed front, for programs and the terminal client: input is split into length-prefixed
//! frames (bounded by `limits.max_frame_bytes`: a larger length is refused as soon as its header
//! arrives) and decoded by [`crate::protocol::frame`]; events are encoded as frames. A framed
//! client is greeted with [`Event::Welcome`].

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use tokio::io::ReadHalf;
use tokio::net::TcpStream;
use tokio_util::codec::{FramedRead, LengthDelimitedCodec};

use super::input::Input;
use crate::protocol::{ErrorCode, Event, PROTOCOL_VERSION, Refusal, frame};

/// Initial read buffer per connection; it grows for larger frames.
const READ_BUFFER: usize = 128;

/// Reads one connection's frames.
#[derive(Debug)]
pub struct Reader {
    frames: FramedRead<ReadHalf<TcpStream>, LengthDelimitedCodec>,
    max: usize,
}

impl Reader {
    /// Reads frames of at most `max` bytes from `read`.
    pub fn new(read: ReadHalf<TcpStream>, max: usize) -> Reader {
        Reader {
            frames: FramedRead::with_capacity(read, frame::codec(max), READ_BUFFER),
            max,
        }
    }

    /// The next input; cancel-safe.
    pub async fn next(&mut self) -> Input {
        match self.frames.next().await {
            None => Input::Closed("connection closed".into()),
            Some(Ok(payload)) => decode(payload),
            Some(Err(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
                Input::Fatal(Refusal::new(
                    ErrorCode::FrameTooLarge,
                    format!(
                        "frame larger than {} bytes; closing the connection",
                        self.max
                    ),
                ))
            }
            Some(Err(e)) => Input::Closed(format!("read error: {e}")),
        }
    }
}

/// Decodes one frame's payload.
pub fn decode(payload: BytesMut) -> Input {
    match frame::decode_command(&payload) {
        Ok(command) => Input::Command(command),
        Err(e) => Input::Refused(Refusal::new(
            ErrorCode::BadFrame,
            format!("the frame does not decode to a command ({e}) and was ignored"),
        )),
    }
}

/// Encodes an event as a frame (an empty buffer, logged, if it cannot be encoded).
pub fn encode(event: &Event) -> Bytes {
    frame::encode_event(event).unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot encode an event as a frame");
        Bytes::new()
    })
}

/// The first event of a framed connection.
pub fn welcome(node: &str) -> Event {
    Event::Welcome {
        server: format!("chatd {}", env!("CARGO_PKG_VERSION")),
        protocol: PROTOCOL_VERSION,
        node: node.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Command;

    #[test]
    fn frames_decode_or_are_refused() {
        let frame = frame::encode_command(&Command::Ping("x".into())).unwrap();
        let payload = BytesMut::from(&frame[frame::HEADER_LEN..]);
        assert!(matches!(decode(payload), Input::Command(Command::Ping(t)) if t == "x"));
        assert!(matches!(
            decode(BytesMut::from(&b"\xff\xff\xff"[..])),
            Input::Refused(r) if r.code == ErrorCode::BadFrame
        ));
    }

    #[test]
    fn events_encode_as_frames() {
        let bytes = encode(&welcome("alpha"));
        let len = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        assert_eq!(len + frame::HEADER_LEN, bytes.len());
        assert_eq!(
            frame::decode_event(&bytes[frame::HEADER_LEN..]).unwrap(),
            welcome("alpha")
        );
    }
}
