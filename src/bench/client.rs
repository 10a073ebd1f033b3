//! A lean async client for the load generator, speaking any of chatd's wire formats: lines or
//! frames on the client port, JSON over a WebSocket on the web port, IRC on an IRC port (chatd's
//! or another IRC server's: the same workload measures both).
//!
//! It understands just enough of the server's output to drive a benchmark: acknowledgements
//! (nick set, room joined), room messages (sender and text), and errors (by code).
//!
//! The WebSocket is opened with hyper's HTTP/1 client and then read and written as two halves
//! of the TCP socket, frames parsed and built by tungstenite: as lean as the line reader, so
//! that the load generator measures the server rather than its own WebSocket stack.

use std::io::{self, Cursor};
use std::net::{IpAddr, SocketAddr};

use bytes::{Buf, Bytes, BytesMut};
use hyper::StatusCode;
use hyper::header::{
    CONNECTION, HOST, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE,
};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpSocket, TcpStream};
use tungstenite::handshake::client::generate_key;
use tungstenite::handshake::derive_accept_key;
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use tungstenite::protocol::frame::{Frame, FrameHeader};

use super::Wire;
use crate::protocol::{Command, Event, frame, json};

/// What the load generator cares about in the server's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// The nick was accepted.
    NickOk,
    /// A room was joined.
    Joined,
    /// A live room message.
    Message {
        /// Sender's nick.
        from: String,
        /// The text.
        text: String,
    },
    /// An error, by its code (`rate_limited`, `send_queue_exceeded`, ...; an IRC numeric).
    Error(String),
    /// The answer to a ping.
    Pong,
    /// Anything else (history, presence, notices).
    Other,
}

/// One item of output as [`BenchReader::recv_many`] hands it over: a room message borrowed from
/// the read buffer (no allocation per delivery), anything else classified.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery<'a> {
    /// A live room message.
    Message {
        /// Sender's nick.
        from: &'a str,
        /// The text.
        text: &'a str,
    },
    /// Anything else.
    Other(Incoming),
}

impl Delivery<'_> {
    fn into_incoming(self) -> Incoming {
        match self {
            Delivery::Message { from, text } => Incoming::Message {
                from: from.to_string(),
                text: text.to_string(),
            },
            Delivery::Other(incoming) => incoming,
        }
    }
}

/// One connection to chatd.
pub struct BenchClient {
    /// The reading half.
    pub reader: BenchReader,
    /// The writing half.
    pub writer: BenchWriter,
}

/// Bytes read from the server at a time, whatever the protocol.
const READ_BUFFER: usize = 16 * 1024;

/// The reading half of a [`BenchClient`].
pub enum BenchReader {
    /// Lines or frames on the client port.
    Tcp {
        /// The socket.
        inner: BufReader<OwnedReadHalf>,
        /// Frames rather than lines.
        framed: bool,
        /// A reusable buffer.
        buf: Vec<u8>,
    },
    /// JSON over a WebSocket.
    Ws {
        /// The socket.
        inner: OwnedReadHalf,
        /// What was read and not yet parsed.
        buf: BytesMut,
    },
    /// IRC.
    Irc {
        /// The socket.
        inner: BufReader<OwnedReadHalf>,
        /// A reusable buffer.
        buf: Vec<u8>,
    },
}

/// The writing half of a [`BenchClient`].
pub enum BenchWriter {
    /// Lines or frames on the client port.
    Tcp {
        /// The socket.
        inner: OwnedWriteHalf,
        /// Frames rather than lines.
        framed: bool,
        /// A reusable buffer.
        out: Vec<u8>,
    },
    /// JSON over a WebSocket.
    Ws {
        /// The socket.
        inner: OwnedWriteHalf,
        /// A reusable buffer.
        out: Vec<u8>,
    },
    /// IRC.
    Irc {
        /// The socket.
        inner: OwnedWriteHalf,
        /// The channel joined last: where [`BenchWriter::say`] sends.
        channel: String,
        /// A reusable buffer.
        out: Vec<u8>,
    },
}

impl BenchClient {
    /// Connects from `source` (any port) to `addr` (the client port, or the web port for
    /// [`Wire::Ws`]), sends `nick` as the first command (which also picks the protocol on the
    /// client port), and skips the server's greeting.
    pub async fn connect(
        addr: SocketAddr,
        source: Option<IpAddr>,
        wire: Wire,
        nick: &str,
    ) -> io::Result<BenchClient> {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        if let Some(ip) = source {
            // Lets bind() reuse ports still in TIME_WAIT from an earlier run.
            socket.set_reuseaddr(true)?;
            socket.bind(SocketAddr::new(ip, 0))?;
        }
        let stream = socket.connect(addr).await?;
        stream.set_nodelay(true)?;
        if wire == Wire::Ws {
            let (read, write, early) = open_websocket(stream, addr).await?;
            let mut buf = BytesMut::with_capacity(READ_BUFFER);
            buf.extend_from_slice(&early);
            let mut client = BenchClient {
                reader: BenchReader::Ws { inner: read, buf },
                writer: BenchWriter::Ws {
                    inner: write,
                    out: Vec::new(),
                },
            };
            client.send(&Command::Nick(nick.to_string())).await?;
            return Ok(client);
        }
        let (read, write) = stream.into_split();
        let mut inner = BufReader::with_capacity(READ_BUFFER, read);
        if wire == Wire::Irc {
            let mut client = BenchClient {
                reader: BenchReader::Irc {
                    inner,
                    buf: Vec::new(),
                },
                writer: BenchWriter::Irc {
                    inner: write,
                    channel: String::new(),
                    out: Vec::new(),
                },
            };
            client.send(&Command::Nick(nick.to_string())).await?;
            return Ok(client);
        }
        let framed = wire == Wire::Frame;
        let mut client_writer = BenchWriter::Tcp {
            inner: write,
            framed,
            out: Vec::new(),
        };
        client_writer.send(&Command::Nick(nick.to_string())).await?;
        let mut banner = Vec::new();
        inner.read_until(b'\n', &mut banner).await?;
        if banner.starts_with(b"! ") {
            let refusal = String::from_utf8_lossy(&banner).trim().to_string();
            return Err(io::Error::other(refusal));
        }
        Ok(BenchClient {
            reader: BenchReader::Tcp {
                inner,
                framed,
                buf: banner,
            },
            writer: client_writer,
        })
    }

    /// Sends one command.
    pub async fn send(&mut self, command: &Command) -> io::Result<()> {
        self.writer.send(command).await
    }

    /// The next item of output; `None` when the server closed the connection.
    pub async fn recv(&mut self) -> io::Result<Option<Incoming>> {
        self.reader.recv().await
    }

    /// Reads until `want` matches, failing on an error or a closed connection.
    pub async fn wait_for(&mut self, want: fn(&Incoming) -> bool) -> io::Result<()> {
        loop {
            match self.recv().await? {
                Some(incoming) if want(&incoming) => return Ok(()),
                Some(Incoming::Error(code)) => return Err(io::Error::other(code)),
                Some(_) => {}
                None => return Err(io::ErrorKind::UnexpectedEof.into()),
            }
        }
    }
}

impl BenchWriter {
    /// Sends one command in one write (one message on a WebSocket).
    pub async fn send(&mut self, command: &Command) -> io::Result<()> {
        let cannot = |what: &str| io::Error::other(format!("cannot send {command:?} as {what}"));
        match self {
            BenchWriter::Tcp { inner, framed, out } => {
                out.clear();
                if *framed {
                    let bytes = frame::encode_command(command).map_err(io::Error::other)?;
                    out.extend_from_slice(&bytes);
                } else {
                    let line = command_line(command).ok_or_else(|| cannot("a line"))?;
                    out.extend_from_slice(line.as_bytes());
                    out.push(b'\n');
                }
                inner.write_all(out).await
            }
            BenchWriter::Irc {
                inner,
                channel,
                out,
            } => {
                out.clear();
                let line = match command {
                    // Registration: the welcome ends with the MOTD.
                    Command::Nick(nick) => format!("NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\n"),
                    Command::Join(room) => {
                        *channel = format!("#{}", room.trim_start_matches('#'));
                        format!("JOIN {channel}\r\n")
                    }
                    Command::Msg { text, .. } => format!("PRIVMSG {channel} :{text}\r\n"),
                    Command::Ping(token) => format!("PING :{token}\r\n"),
                    Command::Quit(_) => "QUIT\r\n".to_string(),
                    _ => return Err(cannot("IRC")),
                };
                out.extend_from_slice(line.as_bytes());
                inner.write_all(out).await
            }
            BenchWriter::Ws { inner, out } => {
                let text = json::encode_command(command).ok_or_else(|| cannot("JSON"))?;
                // A client masks what it sends.
                let mut frame = Frame::message(text, OpCode::Data(Data::Text), true);
                frame.header_mut().mask = Some(rand::random());
                out.clear();
                frame.format(out).map_err(io::Error::other)?;
                inner.write_all(out).await
            }
        }
    }

    /// Sends a message to the current room.
    pub async fn say(&mut self, text: &str) -> io::Result<()> {
        self.send(&Command::Msg {
            room: None,
            text: text.to_string(),
        })
        .await
    }
}

impl BenchReader {
    /// The next item of output; `None` when the server closed the connection.
    pub async fn recv(&mut self) -> io::Result<Option<Incoming>> {
        match self {
            BenchReader::Tcp {
                inner,
                framed: false,
                buf,
            } => {
                buf.clear();
                if inner.read_until(b'\n', buf).await? == 0 {
                    return Ok(None);
                }
                Ok(Some(parse_line(buf).into_incoming()))
            }
            BenchReader::Irc { inner, buf } => {
                buf.clear();
                if inner.read_until(b'\n', buf).await? == 0 {
                    return Ok(None);
                }
                Ok(Some(parse_irc(buf).into_incoming()))
            }
            BenchReader::Tcp { inner, buf, .. } => {
                let mut header = [0u8; 4];
                match inner.read_exact(&mut header).await {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                    Err(e) => return Err(e),
                }
                buf.resize(u32::from_be_bytes(header) as usize, 0);
                inner.read_exact(buf).await?;
                let event = frame::decode_event(buf).map_err(io::Error::other)?;
                Ok(Some(classify(event)))
            }
            BenchReader::Ws { inner, buf } => loop {
                let mut cursor = Cursor::new(&buf[..]);
                if let Some((header, len)) =
                    FrameHeader::parse(&mut cursor).map_err(io::Error::other)?
                {
                    let start = cursor.position() as usize;
                    let end = start + len as usize;
                    if buf.len() >= end {
                        let item = match header.opcode {
                            OpCode::Data(Data::Text) => {
                                let text = std::str::from_utf8(&buf[start..end])
                                    .map_err(io::Error::other)?;
                                Some(parse_json(text))
                            }
                            OpCode::Control(Control::Close) => return Ok(None),
                            _ => None,
                        };
                        buf.advance(end);
                        match item {
                            Some(item) => return Ok(Some(item)),
                            None => continue,
                        }
                    }
                }
                if buf.capacity() - buf.len() < READ_BUFFER / 4 {
                    buf.reserve(READ_BUFFER);
                }
                if inner.read_buf(buf).await? == 0 {
                    return Ok(None);
                }
            },
        }
    }
}

impl BenchReader {
    /// Waits for output and hands every whole item already read to `each`, in order: a batch per
    /// read from the socket, so that a receiver pays its per-wake-up costs (clock, counters,
    /// cancellation) once per read rather than once per delivery. Returns `false` when the
    /// server closed the connection.
    pub async fn recv_many(&mut self, mut each: impl FnMut(Delivery<'_>)) -> io::Result<bool> {
        let (inner, buf, parse): (_, _, fn(&[u8]) -> Delivery<'_>) = match self {
            BenchReader::Tcp {
                inner,
                framed: false,
                buf,
            } => (inner, buf, parse_line),
            BenchReader::Irc { inner, buf } => (inner, buf, parse_irc),
            _ => {
                return Ok(match self.recv().await? {
                    Some(Incoming::Message { from, text }) => {
                        each(Delivery::Message {
                            from: &from,
                            text: &text,
                        });
                        true
                    }
                    Some(other) => {
                        each(Delivery::Other(other));
                        true
                    }
                    None => false,
                });
            }
        };
        let available = inner.fill_buf().await?;
        if available.is_empty() {
            return Ok(false);
        }
        let mut used = 0;
        while let Some(end) = available[used..].iter().position(|b| *b == b'\n') {
            each(parse(&available[used..=used + end]));
            used += end + 1;
        }
        if used > 0 {
            inner.consume(used);
            return Ok(true);
        }
        // A line cut by the end of the buffer: read the rest of it.
        buf.clear();
        if inner.read_until(b'\n', buf).await? == 0 {
            return Ok(false);
        }
        each(parse(buf));
        Ok(true)
    }
}

/// Opens a WebSocket to chatd's `/ws` over `stream` (hyper's HTTP/1 client does the upgrade)
/// and returns the socket's halves with any bytes the server sent after its answer.
async fn open_websocket(
    stream: TcpStream,
    addr: SocketAddr,
) -> io::Result<(OwnedReadHalf, OwnedWriteHalf, Bytes)> {
    let key = generate_key();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, String>(TokioIo::new(stream))
            .await
            .map_err(io::Error::other)?;
    let connection = tokio::spawn(connection.with_upgrades());
    let request = hyper::Request::get("/ws")
        .header(HOST, addr.to_string())
        .header(CONNECTION, "upgrade")
        .header(UPGRADE, "websocket")
        .header(SEC_WEBSOCKET_VERSION, "13")
        .header(SEC_WEBSOCKET_KEY, &key)
        .body(String::new())
        .map_err(io::Error::other)?;
    let response = sender
        .send_request(request)
        .await
        .map_err(io::Error::other)?;
    let accepted = response
        .headers()
        .get(SEC_WEBSOCKET_ACCEPT)
        .is_some_and(|v| v.as_bytes() == derive_accept_key(key.as_bytes()).as_bytes());
    if response.status() != StatusCode::SWITCHING_PROTOCOLS || !accepted {
        return Err(io::Error::other(format!(
            "no WebSocket: the server answered {}",
            response.status()
        )));
    }
    let upgraded = hyper::upgrade::on(response)
        .await
        .map_err(io::Error::other)?;
    let _ = connection.await;
    let parts = upgraded
        .downcast::<TokioIo<TcpStream>>()
        .map_err(|_| io::Error::other("the upgraded connection is not the TCP socket"))?;
    let (read, write) = parts.io.into_inner().into_split();
    Ok((read, write, parts.read_buf))
}

/// The fields of a JSON event the load generator looks at (the rest is skipped unparsed),
/// borrowed from the message unless they hold escapes.
#[derive(serde::Deserialize)]
struct JsonEvent<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    code: Option<&'a str>,
}

/// A room message's sender and text, read straight from chatd's encoding of a `message` event
/// (`{"type":"message","room":..,"seq":..,"from":"F","text":"T","action":..}`: serde writes the
/// fields in declaration order); `None` for anything else, or text with escapes. Parsing every
/// delivery with serde cost the load generator a third of its time, twice what the server
/// spends on it.
fn message_fields(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix(r#"{"type":"message","#)?;
    let (_, rest) = rest.split_once(r#","from":""#)?;
    let (from, rest) = rest.split_once(r#"","text":""#)?;
    let (body, _) = rest.split_once(r#"","action":"#)?;
    (!from.contains('\\') && !body.contains('\\')).then_some((from, body))
}

/// Classifies one JSON event.
fn parse_json(text: &str) -> Incoming {
    if let Some((from, text)) = message_fields(text) {
        return Incoming::Message {
            from: from.to_string(),
            text: text.to_string(),
        };
    }
    let Ok(event) = serde_json::from_str::<JsonEvent<'_>>(text) else {
        return Incoming::Other;
    };
    match event.kind {
        "nick_ok" => Incoming::NickOk,
        "joined" => Incoming::Joined,
        "message" => Incoming::Message {
            from: event.from.unwrap_or_default(),
            text: event.text.unwrap_or_default(),
        },
        "error" | "nick_error" | "join_error" => {
            Incoming::Error(event.code.unwrap_or_default().to_string())
        }
        _ => Incoming::Other,
    }
}

/// A command as the line protocol spells it; only what the load generator sends.
fn command_line(command: &Command) -> Option<String> {
    Some(match command {
        Command::Nick(nick) => format!("/nick {nick}"),
        Command::Join(room) => format!("/join {room}"),
        Command::Quit(_) => "/quit".to_string(),
        Command::Msg { text, .. } if text.starts_with('/') => format!("/{text}"),
        Command::Msg { text, .. } => text.clone(),
        Command::Ping(token) => format!("/ping {token}"),
        _ => return None,
    })
}

fn classify(event: Event) -> Incoming {
    match event {
        Event::NickOk { .. } => Incoming::NickOk,
        Event::Joined { .. } => Incoming::Joined,
        Event::Message(m) => Incoming::Message {
            from: m.from,
            text: m.text,
        },
        Event::Error { code, .. }
        | Event::NickError { code, .. }
        | Event::JoinError { code, .. } => Incoming::Error(code.as_str().to_string()),
        Event::Pong { .. } => Incoming::Pong,
        _ => Incoming::Other,
    }
}

/// Classifies one IRC line: the end of the welcome (376, or 422 without a MOTD) says the nick
/// is set, 366 (end of NAMES) that the channel is joined; error numerics and `ERROR` are errors.
/// A line that is not UTF-8 is none of these.
fn parse_irc(raw: &[u8]) -> Delivery<'_> {
    let Ok(line) = std::str::from_utf8(raw) else {
        return Delivery::Other(Incoming::Other);
    };
    let mut rest = line.trim_end();
    if rest.starts_with('@') {
        rest = rest.split_once(' ').map_or("", |(_, r)| r);
    }
    let mut prefix = "";
    if let Some(prefixed) = rest.strip_prefix(':') {
        (prefix, rest) = prefixed.split_once(' ').unwrap_or((prefixed, ""));
    }
    let (command, params) = rest.split_once(' ').unwrap_or((rest, ""));
    Delivery::Other(match command {
        "PRIVMSG" => match params.split_once(" :") {
            Some((_, text)) => {
                return Delivery::Message {
                    from: prefix.split('!').next().unwrap_or(prefix),
                    text,
                };
            }
            None => Incoming::Other,
        },
        "376" | "422" => Incoming::NickOk,
        "366" => Incoming::Joined,
        "PONG" => Incoming::Pong,
        "ERROR" if params.contains("SendQ") => Incoming::Error("send_queue_exceeded".into()),
        "ERROR" => Incoming::Error("closed".into()),
        numeric if numeric.len() == 3 && numeric.starts_with(['4', '5']) => {
            Incoming::Error(numeric.to_string())
        }
        _ => Incoming::Other,
    })
}

/// Classifies one line of the line protocol; a line that is not UTF-8 is none of the things
/// the load generator looks for.
fn parse_line(raw: &[u8]) -> Delivery<'_> {
    let Ok(line) = std::str::from_utf8(raw) else {
        return Delivery::Other(Incoming::Other);
    };
    let line = line.trim_end();
    if let Some(rest) = line.strip_prefix("! ") {
        return Delivery::Other(Incoming::Error(
            rest.split(':').next().unwrap_or(rest).to_string(),
        ));
    }
    // HH:MM:SS #room <nick> text
    let mut parts = line.splitn(3, ' ');
    let (_, second, rest) = (parts.next(), parts.next(), parts.next().unwrap_or(""));
    Delivery::Other(match second {
        Some(room) if room.starts_with('#') => {
            if let Some(body) = rest.strip_prefix('<')
                && let Some((from, text)) = body.split_once("> ")
            {
                return Delivery::Message { from, text };
            } else if rest.starts_with("-- you joined") {
                Incoming::Joined
            } else {
                Incoming::Other
            }
        }
        Some("--") if rest.starts_with("you are now known as") => Incoming::NickOk,
        _ => Incoming::Other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_classified() {
        assert_eq!(
            parse_json(
                r#"{"type":"message","room":"r","seq":1,"from":"bob","text":"hi","action":false,"ts":0}"#
            ),
            Incoming::Message {
                from: "bob".into(),
                text: "hi".into()
            }
        );
        assert_eq!(
            parse_json(r#"{"type":"nick_ok","nick":"a"}"#),
            Incoming::NickOk
        );
        assert_eq!(
            parse_json(r#"{"type":"error","code":"send_queue_exceeded","message":"x"}"#),
            Incoming::Error("send_queue_exceeded".into())
        );
        assert_eq!(parse_json("not json"), Incoming::Other);
    }

    #[test]
    fn the_fast_path_reads_what_the_server_encodes() {
        for text in [
            "0 17 123456 padding",
            "with \"quotes\"",
            "back\\slash",
            "ünïcode ✓",
            r#"a","action":true,"text":"b"#,
        ] {
            let event = Event::Message(crate::protocol::ChatMessage {
                room: "room0".into(),
                seq: 9,
                from: "s0".into(),
                text: text.into(),
                action: false,
                ts: 1,
            });
            let encoded = json::encode_event(&event).unwrap();
            assert_eq!(
                parse_json(&encoded),
                Incoming::Message {
                    from: "s0".into(),
                    text: text.into()
                },
                "{encoded}"
            );
        }
    }

    #[test]
    fn irc_is_classified() {
        assert_eq!(
            parse_irc(b"@time=x :bob!bob@h PRIVMSG #r :1 2 3\r\n").into_incoming(),
            Incoming::Message {
                from: "bob".into(),
                text: "1 2 3".into()
            }
        );
        assert_eq!(
            parse_irc(b":s 422 a :MOTD File is missing\r\n").into_incoming(),
            Incoming::NickOk
        );
        assert_eq!(
            parse_irc(b":s 366 a #r :End of NAMES\r\n").into_incoming(),
            Incoming::Joined
        );
        assert_eq!(
            parse_irc(b":s PONG s :t\r\n").into_incoming(),
            Incoming::Pong
        );
        assert_eq!(
            parse_irc(b"ERROR :Closing Link: SendQ exceeded\r\n").into_incoming(),
            Incoming::Error("send_queue_exceeded".into())
        );
        assert_eq!(
            parse_irc(b":s 433 * a :Nickname is already in use\r\n").into_incoming(),
            Incoming::Error("433".into())
        );
        assert_eq!(
            parse_irc(b":s 001 a :Welcome\r\n").into_incoming(),
            Incoming::Other
        );
    }

    #[test]
    fn lines_are_classified() {
        assert_eq!(
            parse_line(b"01:02:03 #r <bob> 1 2 3\n").into_incoming(),
            Incoming::Message {
                from: "bob".into(),
                text: "1 2 3".into()
            }
        );
        assert_eq!(
            parse_line(b"01:02:03 #r -- you joined #r; users (1): a\n").into_incoming(),
            Incoming::Joined
        );
        assert_eq!(
            parse_line(b"01:02:03 -- you are now known as a\n").into_incoming(),
            Incoming::NickOk
        );
        assert_eq!(
            parse_line(b"! send_queue_exceeded: too slow\n").into_incoming(),
            Incoming::Error("send_queue_exceeded".into())
        );
        assert_eq!(
            parse_line(b"01:02:03 #r [history] <bob> old\n").into_incoming(),
            Incoming::Other
        );
    }

    #[tokio::test]
    async fn a_batch_holds_every_whole_line_and_lines_cut_between_reads_come_whole() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let (read, _write) = client.into_split();
        let mut reader = BenchReader::Irc {
            inner: BufReader::with_capacity(READ_BUFFER, read),
            buf: Vec::new(),
        };
        let mut seen = Vec::new();
        server
            .write_all(b":a!a@h PRIVMSG #r :one\r\n:a!a@h PRIVMSG #r :two\r\n:a!a@h PRIV")
            .await
            .unwrap();
        assert!(
            reader
                .recv_many(|d| seen.push(d.into_incoming()))
                .await
                .unwrap()
        );
        server.write_all(b"MSG #r :three\r\n").await.unwrap();
        while seen.len() < 3 {
            assert!(
                reader
                    .recv_many(|d| seen.push(d.into_incoming()))
                    .await
                    .unwrap()
            );
        }
        drop(server);
        assert!(
            !reader
                .recv_many(|d| seen.push(d.into_incoming()))
                .await
                .unwrap()
        );
        let texts: Vec<_> = seen
            .iter()
            .map(|m| match m {
                Incoming::Message { text, .. } => text.as_str(),
                _ => "?",
            })
            .collect();
        assert_eq!(texts, ["one", "two", "three"]);
    }
}
