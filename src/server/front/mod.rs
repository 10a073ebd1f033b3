//! Fronts: the adapters between a wire format and the protocol-neutral session core. A front
//! splits and decodes a client's bytes into [`Input`]s (commands, refusals), encodes
//! [`Event`]s into bytes, and says what a client hears first. The session, rooms and relay never
//! look at the wire format; they hand events here.
//!
//! - [`mod@line`]: text lines, for netcat users.
//! - [`frame`]: length-prefixed binary frames, for programs and the terminal client.
//! - [`json`]: JSON text messages over WebSocket, for browsers (served by [`crate::server::web`]).
//! - [`mod@irc`]: IRC, for irssi, WeeChat and HexChat (served by [`crate::server::irc`]); its
//!   encoding depends on the connection (its nick, its capabilities), which the client's queue
//!   carries ([`irc::IrcConn`]).
//!
//! Lines and frames share the client port: [`crate::server::listener`] tells them apart by the
//! client's first byte. A new front is a file here, a [`Format`] variant, and an arm in each
//! `match` below.

pub mod frame;
pub mod input;
pub mod irc;
pub mod json;
pub mod line;

use std::cell::OnceCell;

use bytes::Bytes;
use tokio::io::ReadHalf;
use tokio::net::TcpStream;

use crate::protocol::{ErrorCode, Event, Protocol};
pub use input::{Input, Label, Source};

/// Reads a connection's input in the format of its front.
#[derive(Debug)]
pub enum Reader {
    /// Text lines.
    Line(line::Reader),
    /// Binary frames.
    Frame(frame::Reader),
}

impl Reader {
    /// A reader for `protocol`, bounded by `max_line_bytes` or `max_frame_bytes`.
    pub fn new(
        protocol: Protocol,
        read: ReadHalf<TcpStream>,
        max_line_bytes: usize,
        max_frame_bytes: usize,
    ) -> Reader {
        match protocol {
            Protocol::Line => Reader::Line(line::Reader::new(read, max_line_bytes)),
            Protocol::Frame => Reader::Frame(frame::Reader::new(read, max_frame_bytes)),
        }
    }
}

impl Source for Reader {
    async fn next(&mut self) -> Input {
        match self {
            Reader::Line(reader) => reader.next().await,
            Reader::Frame(reader) => reader.next().await,
        }
    }
}

/// The format a session's output is encoded in: one per front.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Text lines.
    Line,
    /// Binary frames.
    Frame,
    /// JSON text messages (WebSocket).
    Json,
    /// IRC lines.
    Irc,
}

impl Format {
    /// Every format, in the order [`Format::index`] numbers them.
    pub const ALL: [Format; 4] = [Format::Line, Format::Frame, Format::Json, Format::Irc];

    /// The front's name as administrators see it: `line`, `frame`, `web`, `irc`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Line => "line",
            Format::Frame => "frame",
            Format::Json => "web",
            Format::Irc => "irc",
        }
    }

    /// This format's place in [`Format::ALL`].
    pub fn index(self) -> usize {
        match self {
            Format::Line => 0,
            Format::Frame => 1,
            Format::Json => 2,
            Format::Irc => 3,
        }
    }
}

impl From<Protocol> for Format {
    fn from(protocol: Protocol) -> Format {
        match protocol {
            Protocol::Line => Format::Line,
            Protocol::Frame => Format::Frame,
        }
    }
}

/// Encodes an event for one front. An IRC connection's events depend on the connection
/// ([`irc::encode()`]); without one, IRC gets the events every member sees alike, untagged.
pub fn encode(format: Format, event: &Event) -> Bytes {
    match format {
        Format::Line => line::encode(event),
        Format::Frame => frame::encode(event),
        Format::Json => json::encode(event),
        Format::Irc => irc::encode_shared(event, irc::Tags::None),
    }
}

/// The last bytes of a client being cut off with `code`: the error event (and, on a WebSocket,
/// the close frame that carries the code; on IRC, the `ERROR` line).
pub fn last_words(format: Format, code: ErrorCode, message: &str) -> Bytes {
    match format {
        Format::Json => json::last_words(code, message),
        Format::Irc => irc::last_words(None, code, message),
        Format::Line | Format::Frame => encode(format, &Event::error(code, message)),
    }
}

/// What ends a connection that closes normally, after everything queued (a WebSocket's close
/// frame); `None` where closing the socket says it.
pub fn goodbye(format: Format) -> Option<Bytes> {
    match format {
        Format::Json => Some(json::goodbye()),
        Format::Line | Format::Frame | Format::Irc => None,
    }
}

/// What a client of `format` is told first, once its front is known (the text banner that
/// every client-port connection gets before that is the listener's; IRC clients speak first).
pub fn greeting(format: Format, node: &str) -> Option<Event> {
    match format {
        Format::Line | Format::Irc => None,
        Format::Frame | Format::Json => Some(frame::welcome(node)),
    }
}

/// An event with its encodings, each made at most once and then shared: fan-out to a thousand
/// members encodes twice at most (once per front), never once per member.
pub struct Encoded<'a> {
    event: &'a Event,
    line: OnceCell<Bytes>,
    frame: OnceCell<Bytes>,
    json: OnceCell<Bytes>,
    /// IRC, once per [`irc::Tags`] level.
    irc: [OnceCell<Bytes>; 3],
}

impl<'a> Encoded<'a> {
    /// Wraps an event; nothing is encoded yet.
    pub fn new(event: &'a Event) -> Self {
        Encoded {
            event,
            line: OnceCell::new(),
            frame: OnceCell::new(),
            json: OnceCell::new(),
            irc: Default::default(),
        }
    }

    /// The event's bytes in `format` (a cheap reference-counted clone).
    pub fn bytes(&self, format: Format) -> Bytes {
        let cell = match format {
            Format::Line => &self.line,
            Format::Frame => &self.frame,
            Format::Json => &self.json,
            Format::Irc => &self.irc[irc::Tags::None as usize],
        };
        cell.get_or_init(|| encode(format, self.event)).clone()
    }

    /// The event's bytes for one IRC connection: shared by every connection with the same tags
    /// when the event reads the same to all of them, else encoded for this one.
    pub fn irc(&self, conn: &irc::IrcConn) -> Bytes {
        irc::observe(conn, self.event);
        if !irc::is_shared(self.event) {
            return irc::encode(conn, self.event);
        }
        let tags = irc::Tags::of(conn);
        self.irc[tags as usize]
            .get_or_init(|| irc::encode_shared(self.event, tags))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_once_per_front_and_shares_the_bytes() {
        let event = Event::notice("hello");
        let encoded = Encoded::new(&event);
        let a = encoded.bytes(Format::Line);
        let b = encoded.bytes(Format::Line);
        assert_eq!(a.as_ptr(), b.as_ptr(), "the line bytes were encoded twice");
        assert!(a.ends_with(b" -- hello\n"));
        assert_eq!(encoded.bytes(Format::Frame), encode(Format::Frame, &event));
        assert!(
            encoded
                .bytes(Format::Json)
                .ends_with(br#"{"type":"notice","room":null,"text":"hello"}"#)
        );
        assert!(greeting(Format::Line, "n").is_none());
        assert!(
            matches!(greeting(Format::Frame, "n"), Some(Event::Welcome { node, .. }) if node == "n")
        );
    }
}
