//! A lean async client for the load generator, speaking any of chatd's wire formats: lines or
//! frames on the client port, JSON over a WebSocket on the web port.
//!
//! It understands just enough of the server's output to drive a benchmark: acknowledgements
//! (nick set, room joined), room messages (sender and text), and errors (by code).

use std::io;
use std::net::{IpAddr, SocketAddr};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

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
    /// An error, by its code (`rate_limited`, `send_queue_exceeded`, ...).
    Error(String),
    /// Anything else (history, presence, notices).
    Other,
}

/// One connection to chatd.
pub struct BenchClient {
    /// The reading half.
    pub reader: BenchReader,
    /// The writing half.
    pub writer: BenchWriter,
}

type Ws = WebSocketStream<TcpStream>;

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
    Ws(SplitStream<Ws>),
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
    Ws(SplitSink<Ws, Message>),
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
            let (ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/ws"), stream)
                .await
                .map_err(io::Error::other)?;
            let (sink, stream) = ws.split();
            let mut client = BenchClient {
                reader: BenchReader::Ws(stream),
                writer: BenchWriter::Ws(sink),
            };
            client.send(&Command::Nick(nick.to_string())).await?;
            return Ok(client);
        }
        let (read, write) = stream.into_split();
        let mut inner = BufReader::with_capacity(16 * 1024, read);
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
            BenchWriter::Ws(sink) => {
                let text = json::encode_command(command).ok_or_else(|| cannot("JSON"))?;
                sink.send(Message::text(text))
                    .await
                    .map_err(io::Error::other)
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
                Ok(Some(parse_line(buf)))
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
            BenchReader::Ws(stream) => loop {
                return match stream.next().await {
                    None | Some(Ok(Message::Close(_))) => Ok(None),
                    Some(Ok(Message::Text(text))) => Ok(Some(parse_json(&text))),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => Err(io::Error::other(e)),
                };
            },
        }
    }
}

/// The fields of a JSON event the load generator looks at (the rest is skipped unparsed).
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

/// Classifies one JSON event.
fn parse_json(text: &str) -> Incoming {
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
        _ => Incoming::Other,
    }
}

fn parse_line(raw: &[u8]) -> Incoming {
    let line = String::from_utf8_lossy(raw);
    let line = line.trim_end();
    if let Some(rest) = line.strip_prefix("! ") {
        return Incoming::Error(rest.split(':').next().unwrap_or(rest).to_string());
    }
    // HH:MM:SS #room <nick> text
    let mut parts = line.splitn(3, ' ');
    let (_, second, rest) = (parts.next(), parts.next(), parts.next().unwrap_or(""));
    match second {
        Some(room) if room.starts_with('#') => {
            if let Some(body) = rest.strip_prefix('<')
                && let Some((from, text)) = body.split_once("> ")
            {
                Incoming::Message {
                    from: from.to_string(),
                    text: text.to_string(),
                }
            } else if rest.starts_with("-- you joined") {
                Incoming::Joined
            } else {
                Incoming::Other
            }
        }
        Some("--") if rest.starts_with("you are now known as") => Incoming::NickOk,
        _ => Incoming::Other,
    }
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
    fn lines_are_classified() {
        assert_eq!(
            parse_line(b"01:02:03 #r <bob> 1 2 3\n"),
            Incoming::Message {
                from: "bob".into(),
                text: "1 2 3".into()
            }
        );
        assert_eq!(
            parse_line(b"01:02:03 #r -- you joined #r; users (1): a\n"),
            Incoming::Joined
        );
        assert_eq!(
            parse_line(b"01:02:03 -- you are now known as a\n"),
            Incoming::NickOk
        );
        assert_eq!(
            parse_line(b"! send_queue_exceeded: too slow\n"),
            Incoming::Error("send_queue_exceeded".into())
        );
        assert_eq!(
            parse_line(b"01:02:03 #r [history] <bob> old\n"),
            Incoming::Other
        );
    }
}
