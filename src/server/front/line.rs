//! The line front, for netcat users: input is split at `\n` (bounded by
//! `limits.max_line_bytes`, so a huge line is refused without being buffered), must be UTF-8,
//! and is parsed by [`crate::protocol::line::parse`]; events are rendered as text lines.

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::ReadHalf;
use tokio::net::TcpStream;
use tokio_util::codec::{AnyDelimiterCodec, AnyDelimiterCodecError, FramedRead};

use super::input::Input;
use crate::protocol::{ErrorCode, Event, Refusal, line};

/// Initial read buffer per connection; it grows for longer input.
const READ_BUFFER: usize = 128;

/// Reads one connection's lines.
#[derive(Debug)]
pub struct Reader {
    lines: FramedRead<ReadHalf<TcpStream>, AnyDelimiterCodec>,
    max: usize,
}

impl Reader {
    /// Reads lines of at most `max` bytes (a `\r` before the `\n` not counted) from `read`.
    pub fn new(read: ReadHalf<TcpStream>, max: usize) -> Reader {
        let codec = AnyDelimiterCodec::new_with_max_length(b"\n".to_vec(), Vec::new(), max + 1);
        Reader {
            lines: FramedRead::with_capacity(read, codec, READ_BUFFER),
            max,
        }
    }

    /// The next input; cancel-safe.
    pub async fn next(&mut self) -> Input {
        match self.lines.next().await {
            None => Input::Closed("connection closed".into()),
            Some(Ok(raw)) => decode(raw, self.max),
            Some(Err(AnyDelimiterCodecError::MaxChunkLengthExceeded)) => {
                Input::Fatal(too_long(self.max))
            }
            Some(Err(AnyDelimiterCodecError::Io(e))) => Input::Closed(format!("read error: {e}")),
        }
    }
}

fn too_long(max: usize) -> Refusal {
    Refusal::new(
        ErrorCode::LineTooLong,
        format!("line longer than {max} bytes; closing the connection"),
    )
}

/// Decodes one line (without its `\n`).
pub fn decode(raw: Bytes, max: usize) -> Input {
    let raw = raw.strip_suffix(b"\r").unwrap_or(&raw);
    if raw.len() > max {
        return Input::Fatal(too_long(max));
    }
    let Ok(text) = std::str::from_utf8(raw) else {
        return Input::Refused(Refusal::new(
            ErrorCode::InvalidUtf8,
            "the line is not valid UTF-8 and was ignored",
        ));
    };
    match line::parse(text) {
        Ok(Some(command)) => Input::Command(command),
        Ok(None) => Input::Nothing,
        Err(refusal) => Input::Refused(refusal),
    }
}

/// Renders an event as a text line.
pub fn encode(event: &Event) -> Bytes {
    line::render(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Command;

    #[test]
    fn line_decoding() {
        assert!(matches!(
            decode(Bytes::from_static(b"/ping\r"), 10),
            Input::Command(Command::Ping(_))
        ));
        assert!(
            matches!(decode(Bytes::from_static(b"\xff\xfe"), 10), Input::Refused(r) if r.code == ErrorCode::InvalidUtf8)
        );
        assert!(matches!(
            decode(Bytes::from_static(b"12345678901"), 10),
            Input::Fatal(_)
        ));
        assert!(matches!(
            decode(Bytes::from_static(b""), 10),
            Input::Nothing
        ));
        assert!(matches!(
            decode(Bytes::from_static(b"/frobnicate"), 20),
            Input::Refused(r) if r.code == ErrorCode::UnknownCommand
        ));
    }
}
