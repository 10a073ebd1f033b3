//! A lean async client for the load generator, speaking either protocol.
//!
//! It understands just enough of the server's output to drive a benchmark: acknowledgements
//! (nick set, room joined), room messages (sender and text), and errors (by code).

use std::io;
use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpSocket;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::protocol::{Command, Event, Protocol, frame};

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

/// The reading half of a [`BenchClient`].
pub struct BenchReader {
    inner: BufReader<OwnedReadHalf>,
    protocol: Protocol,
    buf: Vec<u8>,
}

/// The writing half of a [`BenchClient`].
pub struct BenchWriter {
    inner: OwnedWriteHalf,
    protocol: Protocol,
    out: Vec<u8>,
}

impl BenchClient {
    /// Connects from `source` (any port) to `addr`, sends `nick` as the first command (which
    /// also picks the protocol), and skips the server's banner line.
    pub async fn connect(
        addr: SocketAddr,
        source: Option<IpAddr>,
        protocol: Protocol,
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
        let (read, write) = stream.into_split();
        let mut client = BenchClient {
            reader: BenchReader {
                inner: BufReader::with_capacity(16 * 1024, read),
                protocol,
                buf: Vec::new(),
            },
            writer: BenchWriter {
                inner: write,
                protocol,
                out: Vec::new(),
            },
        };
        client.send(&Command::Nick(nick.to_string())).await?;
        let banner = &mut client.reader.buf;
        banner.clear();
        client.reader.inner.read_until(b'\n', banner).await?;
        if banner.starts_with(b"! ") {
            let refusal = String::from_utf8_lossy(banner).trim().to_string();
            return Err(io::Error::other(refusal));
        }
        Ok(client)
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
    /// Sends one command in one write.
    pub async fn send(&mut self, command: &Command) -> io::Result<()> {
        self.out.clear();
        match self.protocol {
            Protocol::Line => {
                let line = command_line(command).ok_or_else(|| {
                    io::Error::other(format!("cannot send {command:?} as a line"))
                })?;
                self.out.extend_from_slice(line.as_bytes());
                self.out.push(b'\n');
            }
            Protocol::Frame => {
                let bytes = frame::encode_command(command).map_err(io::Error::other)?;
                self.out.extend_from_slice(&bytes);
            }
        }
        self.inner.write_all(&self.out).await
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
        match self.protocol {
            Protocol::Line => {
                self.buf.clear();
                if self.inner.read_until(b'\n', &mut self.buf).await? == 0 {
                    return Ok(None);
                }
                Ok(Some(parse_line(&self.buf)))
            }
            Protocol::Frame => {
                let mut header = [0u8; 4];
                match self.inner.read_exact(&mut header).await {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                    Err(e) => return Err(e),
                }
                self.buf.resize(u32::from_be_bytes(header) as usize, 0);
                self.inner.read_exact(&mut self.buf).await?;
                let event = frame::decode_event(&self.buf).map_err(io::Error::other)?;
                Ok(Some(classify(event)))
            }
        }
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
