//! The IRC front, for irssi, WeeChat, HexChat and every other IRC client: RFC 1459/2812
//! registration and commands with the IRCv3 basics, over the same session core as every other
//! front. An IRC channel `#general` is chatd room `general`; nicks follow chatd's rules, which
//! IRC can show as they are.
//!
//! - [`conn`]: what one connection's reader and encoder share (its nick, its capabilities).
//! - [`decode`]: IRC messages into session commands, and the replies the front gives itself.
//! - [`mod@encode`]: events into IRC lines.
//!
//! Input is read as lines of at most 512 bytes plus 8191 bytes of tags; a longer line is
//! answered with `417` and skipped. A flood is delayed first (fakelag: commands beyond
//! `limits.burst` wait their turn at `limits.rate`) and cut off (`Excess Flood`) only when it
//! would have to wait more than `irc.max_fakelag_secs`. After `irc.ping_interval_secs` of
//! silence the server sends `PING`; no answer within `irc.ping_timeout_secs` closes the
//! connection.

pub mod conn;
pub mod decode;
pub mod encode;

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use tokio::io::AsyncRead;
use tokio::time::{Instant, Sleep};
use tokio_util::codec::{AnyDelimiterCodec, AnyDelimiterCodecError, FramedRead};

pub use conn::{IrcConn, IrcServer};
use decode::Decoder;
pub use encode::{Tags, encode, encode_shared, is_shared, last_words, observe, wants};

use super::input::{Input, Source};
use crate::protocol::irc::{self, MAX_BODY, MAX_TAGS, Message, ParseError};
use crate::protocol::{ErrorCode, Refusal};

/// Initial read buffer per connection; it grows for longer input.
const READ_BUFFER: usize = 256;
/// Most inputs decoded and waiting their turn (fakelag); beyond that the connection is not read
/// until some are taken, so a flood waits in the kernel's socket buffer, not in server memory,
/// however high `limits.rate` and `irc.max_fakelag_secs` are set.
const MAX_PENDING: usize = 256;

/// Something an IRC connection reads from (a TCP socket's reading half, or a TLS stream's).
pub type ReadHalf = Box<dyn AsyncRead + Send + Unpin>;

/// One line of input.
enum Line {
    /// A line, without its `\n`.
    Text(Bytes),
    /// A line over the limit (the rest of it is skipped).
    TooLong,
}

/// Splits input at `\n`; a line over the limit is reported and skipped, and reading goes on
/// (a codec error would end the stream).
struct Lines(AnyDelimiterCodec);

impl Lines {
    fn line(
        result: Result<Option<Bytes>, AnyDelimiterCodecError>,
    ) -> Result<Option<Line>, AnyDelimiterCodecError> {
        match result {
            Ok(line) => Ok(line.map(Line::Text)),
            Err(AnyDelimiterCodecError::MaxChunkLengthExceeded) => Ok(Some(Line::TooLong)),
            Err(e) => Err(e),
        }
    }
}

impl tokio_util::codec::Decoder for Lines {
    type Item = Line;
    type Error = AnyDelimiterCodecError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Line>, Self::Error> {
        Self::line(self.0.decode(buf))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Line>, Self::Error> {
        Self::line(self.0.decode_eof(buf))
    }
}

/// The pace a connection's commands are taken at.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// `limits.rate`: commands per second.
    pub rate: f64,
    /// `limits.burst`: commands at once.
    pub burst: u32,
}

/// Reads one IRC connection: splits lines, parses and decodes them, paces them, and pings a
/// silent client.
pub struct Reader {
    lines: FramedRead<ReadHalf, Lines>,
    decoder: Decoder,
    conn: Arc<IrcConn>,
    /// Decoded inputs, each with the time it may be handed on.
    pending: VecDeque<(Instant, Input)>,
    /// When the commands taken so far have been paid for at `pace.rate`.
    penalty: Instant,
    pace: Pace,
    /// Fires after silence: a `PING` first, the timeout after.
    ping: Pin<Box<Sleep>>,
    pinged: bool,
    /// Why the input ended, once it has (what is pending is handed on first).
    ended: Option<String>,
}

impl Reader {
    /// Reads `read` for the connection `conn`.
    pub fn new(read: ReadHalf, conn: Arc<IrcConn>, pace: Pace) -> Reader {
        let codec = Lines(AnyDelimiterCodec::new_with_max_length(
            b"\n".to_vec(),
            Vec::new(),
            MAX_BODY + MAX_TAGS,
        ));
        let interval = conn.server.ping_interval;
        Reader {
            lines: FramedRead::with_capacity(read, codec, READ_BUFFER),
            decoder: Decoder::new(conn.clone()),
            conn,
            pending: VecDeque::new(),
            penalty: Instant::now(),
            pace,
            ping: Box::pin(tokio::time::sleep(interval)),
            pinged: false,
            ended: None,
        }
    }

    /// When a command arriving now may be taken, or `Err` when the client is so far ahead of
    /// the rate that it is flooding.
    fn pay(&mut self, now: Instant) -> Result<Instant, Duration> {
        let cost = Duration::from_secs_f64(1.0 / self.pace.rate);
        self.penalty = self.penalty.max(now) + cost;
        let allowed = cost * self.pace.burst;
        let lag = (self.penalty - now).saturating_sub(allowed);
        if lag > self.conn.server.max_fakelag {
            return Err(lag);
        }
        Ok(now + lag)
    }

    /// A line read: parsed, decoded, and queued behind what is pending.
    fn take(&mut self, raw: &[u8], now: Instant) {
        let mut inputs = VecDeque::new();
        match irc::parse(raw) {
            Ok(message) => self.decoder.decode(message, &mut inputs),
            Err(ParseError::Empty) => return,
            Err(error) => self.refuse(error, &mut inputs),
        }
        self.queue(inputs, now);
    }

    /// Queues the inputs of one line behind what is pending, at the pace.
    fn queue(&mut self, inputs: VecDeque<Input>, now: Instant) {
        if inputs.is_empty() {
            return;
        }
        let due = match self.pay(now) {
            Ok(due) => due,
            Err(lag) => {
                let message = format!("Excess Flood ({} s behind)", lag.as_secs());
                let refusal = Refusal::new(ErrorCode::ExcessFlood, message);
                self.pending.push_back((now, Input::Fatal(refusal)));
                return;
            }
        };
        self.pending
            .extend(inputs.into_iter().map(|input| (due, input)));
    }

    /// The answer to a line that is not an IRC message.
    fn refuse(&self, error: ParseError, out: &mut VecDeque<Input>) {
        let mut r = encode::Replies::new(&self.conn);
        match error {
            ParseError::BodyTooLong | ParseError::TagsTooLong => {
                r.numeric("417", &["Input line was too long"]);
            }
            ParseError::BadCommand(command) => r.numeric("421", &[&command, "Unknown command"]),
            ParseError::TooManyParams => r.numeric("461", &["*", "Too many parameters"]),
            other => r.notice(&format!("line ignored: {other}")),
        }
        out.push_back(Input::Reply(r.bytes()));
    }

    fn ping_timeout(&self) -> Input {
        let secs = (self.conn.server.ping_interval + self.conn.server.ping_timeout).as_secs();
        Input::Fatal(Refusal::new(
            ErrorCode::IdleTimeout,
            format!("Ping timeout: {secs} seconds"),
        ))
    }

    /// The next input; cancel-safe.
    pub async fn next(&mut self) -> Input {
        loop {
            let now = Instant::now();
            if let Some((due, _)) = self.pending.front()
                && (*due <= now || self.ended.is_some())
                && let Some((_, input)) = self.pending.pop_front()
            {
                if self.pending.is_empty() {
                    // Give the memory back: an idle connection holds no queue.
                    self.pending = VecDeque::new();
                }
                return input;
            }
            if let Some(reason) = &self.ended {
                return Input::Closed(reason.clone());
            }
            let due = self.pending.front().map(|(due, _)| *due);
            let room = self.pending.len() < MAX_PENDING;
            tokio::select! {
                line = self.lines.next(), if room => {
                    let now = Instant::now();
                    let interval = self.conn.server.ping_interval;
                    self.ping.as_mut().reset(now + interval);
                    self.pinged = false;
                    match line {
                        None => self.ended = Some("connection closed".into()),
                        Some(Ok(Line::Text(raw))) => self.take(&raw, now),
                        Some(Ok(Line::TooLong)) => {
                            let mut inputs = VecDeque::new();
                            self.refuse(ParseError::BodyTooLong, &mut inputs);
                            self.queue(inputs, now);
                        }
                        Some(Err(e)) => self.ended = Some(format!("read error: {e}")),
                    }
                }
                _ = tokio::time::sleep_until(due.unwrap_or(now)), if due.is_some() => {}
                _ = self.ping.as_mut() => {
                    if self.pinged {
                        return self.ping_timeout();
                    }
                    self.pinged = true;
                    let timeout = self.conn.server.ping_timeout;
                    self.ping.as_mut().reset(Instant::now() + timeout);
                    let ping = Message::new("PING", &[&self.conn.server.name]);
                    return Input::Reply(Bytes::from(ping.to_line()));
                }
            }
        }
    }
}

impl Source for Reader {
    async fn next(&mut self) -> Input {
        Reader::next(self).await
    }

    fn paces_itself(&self) -> bool {
        true
    }
}
