//! The task that owns one client socket once its protocol is known.
//!
//! It runs two loops side by side: the reader splits input into lines or frames (bounded by
//! `limits.max_line_bytes` / `limits.max_frame_bytes`, so a huge line is refused without being
//! buffered), decodes commands, applies the per-session rate limit, and forwards them to the
//! session actor; the writer drains the session's [`Outbound`] queue into one vectored write per
//! wakeup. When either side ends, the session is told why.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use futures_util::StreamExt;
use ractor::ActorRef;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;
use tokio::time::{Instant, timeout};
use tokio_util::codec::{AnyDelimiterCodec, AnyDelimiterCodecError, Decoder, FramedRead};

use crate::protocol::{Command, ErrorCode, Protocol, Refusal, frame, line};
use crate::server::outbound::{Close, Outbound, OutboundRx};
use crate::server::session::SessionMsg;

/// Most messages written by one vectored write.
const WRITE_BATCH: usize = 64;
/// Initial read buffer per connection; it grows for longer input.
const READ_BUFFER: usize = 128;
/// How long the last error line may take to reach a client that is being cut off.
const ABORT_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// The per-connection bounds, taken from `[limits]`.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// `limits.max_line_bytes`
    pub max_line_bytes: usize,
    /// `limits.max_frame_bytes`
    pub max_frame_bytes: usize,
    /// `limits.rate`
    pub rate: f64,
    /// `limits.burst`
    pub burst: u32,
    /// `limits.idle_timeout_secs`, `None` when off.
    pub idle_timeout: Option<Duration>,
    /// `server.shutdown_grace_secs`: how long a draining close may take.
    pub grace: Duration,
}

/// Serves one connection until it closes, then tells the session why.
pub async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    protocol: Protocol,
    outbound: Outbound,
    rx: OutboundRx,
    session: ActorRef<SessionMsg>,
    limits: ConnectionLimits,
) {
    let (read, write) = stream.into_split();
    let reader = read_loop(read, protocol, &outbound, &session, &limits);
    let writer = write_loop(write, rx, limits.grace);
    tokio::pin!(reader, writer);
    tokio::select! {
        reason = &mut reader => {
            // The session stops on this, and closing its queue ends the writer after a drain.
            if session.cast(SessionMsg::Closed(reason)).is_err() {
                outbound.close();
            }
            writer.await;
        }
        (reason, aborted) = &mut writer => {
            if aborted {
                tracing::info!(%peer, session = %session.get_id(), %reason, "cut a client off");
            }
            let _ = session.cast(SessionMsg::Closed(reason));
        }
    }
}

/// A token bucket: `burst` commands at once, `rate` per second sustained.
struct RateLimit {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl RateLimit {
    fn new(rate: f64, burst: u32) -> Self {
        RateLimit {
            tokens: f64::from(burst),
            rate,
            burst: f64::from(burst),
            last: Instant::now(),
        }
    }

    fn allow(&mut self) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// One unit of input after splitting: a command, nothing (blank line), a refusal the client is
/// told about, or a fatal error that closes the connection.
enum Input {
    Command(Command),
    Nothing,
    Refused(Refusal),
    Fatal(Refusal),
}

fn decode_line(raw: Bytes, max: usize) -> Input {
    let raw = raw.strip_suffix(b"\r").unwrap_or(&raw);
    if raw.len() > max {
        return Input::Fatal(line_too_long(max));
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

fn line_too_long(max: usize) -> Refusal {
    Refusal::new(
        ErrorCode::LineTooLong,
        format!("line longer than {max} bytes; closing the connection"),
    )
}

fn decode_frame(payload: BytesMut) -> Input {
    match frame::decode_command(&payload) {
        Ok(command) => Input::Command(command),
        Err(e) => Input::Refused(Refusal::new(
            ErrorCode::BadFrame,
            format!("the frame does not decode to a command ({e}) and was ignored"),
        )),
    }
}

async fn read_loop(
    read: OwnedReadHalf,
    protocol: Protocol,
    outbound: &Outbound,
    session: &ActorRef<SessionMsg>,
    limits: &ConnectionLimits,
) -> String {
    match protocol {
        Protocol::Line => {
            let max = limits.max_line_bytes;
            // One extra byte for a `\r` before the `\n`.
            let codec = AnyDelimiterCodec::new_with_max_length(b"\n".to_vec(), Vec::new(), max + 1);
            let input = FramedRead::with_capacity(read, codec, READ_BUFFER);
            read_inputs(
                input,
                outbound,
                session,
                limits,
                |item| decode_line(item, max),
                |e| match e {
                    AnyDelimiterCodecError::MaxChunkLengthExceeded => Some(line_too_long(max)),
                    AnyDelimiterCodecError::Io(_) => None,
                },
            )
            .await
        }
        Protocol::Frame => {
            let max = limits.max_frame_bytes;
            let input = FramedRead::with_capacity(read, frame::codec(max), READ_BUFFER);
            read_inputs(
                input,
                outbound,
                session,
                limits,
                decode_frame,
                |e: std::io::Error| {
                    (e.kind() == std::io::ErrorKind::InvalidData).then(|| {
                        Refusal::new(
                            ErrorCode::FrameTooLarge,
                            format!("frame larger than {max} bytes; closing the connection"),
                        )
                    })
                },
            )
            .await
        }
    }
}

/// The read loop proper, shared by both protocols: `decode` turns a split item into [`Input`],
/// `fatal` turns a splitting error into the refusal sent before closing (or `None` for an I/O
/// error, after which nothing can be sent).
async fn read_inputs<D, F, E>(
    mut input: FramedRead<OwnedReadHalf, D>,
    outbound: &Outbound,
    session: &ActorRef<SessionMsg>,
    limits: &ConnectionLimits,
    decode: F,
    fatal: E,
) -> String
where
    D: Decoder,
    D::Error: std::fmt::Display,
    F: Fn(D::Item) -> Input,
    E: Fn(D::Error) -> Option<Refusal>,
{
    let mut rate = RateLimit::new(limits.rate, limits.burst);
    // On the heap and only when configured: most sessions never need a timer.
    let mut idle = limits
        .idle_timeout
        .map(|d| (d, Box::pin(tokio::time::sleep(d))));
    loop {
        let next = match idle.as_mut() {
            Some((period, timer)) => {
                timer.as_mut().reset(Instant::now() + *period);
                tokio::select! {
                    next = input.next() => next,
                    _ = timer.as_mut() => {
                        outbound.abort(ErrorCode::IdleTimeout, "idle timeout: nothing received");
                        return "idle timeout".into();
                    }
                }
            }
            None => input.next().await,
        };
        let item = match next {
            None => return "connection closed".into(),
            Some(Ok(item)) => item,
            Some(Err(e)) => {
                let reason = e.to_string();
                return match fatal(e) {
                    Some(refusal) => {
                        let reason = refusal.message.clone();
                        outbound.abort(refusal.code, &refusal.message);
                        reason
                    }
                    None => format!("read error: {reason}"),
                };
            }
        };
        match decode(item) {
            Input::Nothing => {}
            Input::Refused(refusal) => {
                // Through the session, so that replies keep the order of the commands.
                if session.cast(SessionMsg::Refused(refusal)).is_err() {
                    return "session ended".into();
                }
            }
            Input::Fatal(refusal) => {
                let reason = refusal.message.clone();
                outbound.abort(refusal.code, &refusal.message);
                return reason;
            }
            Input::Command(command) => {
                let is_quit = matches!(command, Command::Quit(_));
                let message = if is_quit || rate.allow() {
                    SessionMsg::Command(command)
                } else {
                    SessionMsg::Refused(Refusal::new(
                        ErrorCode::RateLimited,
                        format!(
                            "too many commands: at most {} at once and {}/s; this one was refused",
                            limits.burst, limits.rate
                        ),
                    ))
                };
                if session.cast(message).is_err() {
                    return "session ended".into();
                }
            }
        }
    }
}

/// Writes `batch` fully with vectored writes, removing what was written. The slice array lives on
/// the heap only while writing, so an idle connection does not carry it.
async fn write_batch<W: AsyncWrite + Unpin>(
    w: &mut W,
    batch: &mut VecDeque<Bytes>,
) -> std::io::Result<()> {
    while !batch.is_empty() {
        let mut written = {
            let slices: Vec<IoSlice<'_>> = batch
                .iter()
                .take(WRITE_BATCH)
                .map(|b| IoSlice::new(b))
                .collect();
            w.write_vectored(&slices).await?
        };
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while written > 0 {
            let Some(front) = batch.front_mut() else {
                break;
            };
            if written >= front.len() {
                written -= front.len();
                batch.pop_front();
            } else {
                front.advance(written);
                written = 0;
            }
        }
    }
    Ok(())
}

/// Writes until the queue is closed; returns why, and whether the client was cut off.
async fn write_loop<W: AsyncWrite + Unpin>(
    mut w: W,
    mut rx: OutboundRx,
    grace: Duration,
) -> (String, bool) {
    let mut batch = VecDeque::new();
    loop {
        if rx.recv_all(&mut batch).await == 0 {
            break;
        }
        tokio::select! {
            result = Box::pin(write_batch(&mut w, &mut batch)) => {
                if let Err(e) = result {
                    return (format!("write error: {e}"), false);
                }
            }
            _ = rx.closing() => break,
        }
        // Give the memory back: an idle connection holds no buffer.
        batch = VecDeque::new();
    }
    let outcome = match rx.close_mode() {
        Close::Drain => {
            rx.drain_into(&mut batch);
            let _ = Box::pin(timeout(grace, write_batch(&mut w, &mut batch))).await;
            ("connection closed".to_string(), false)
        }
        Close::Abort { last_words, reason } => {
            batch.clear();
            batch.push_back(last_words);
            let _ = Box::pin(timeout(
                ABORT_WRITE_TIMEOUT,
                write_batch(&mut w, &mut batch),
            ))
            .await;
            (reason, true)
        }
    };
    let _ = Box::pin(timeout(ABORT_WRITE_TIMEOUT, w.shutdown())).await;
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_allows_a_burst_then_refuses() {
        let mut rate = RateLimit::new(0.001, 3);
        assert!(rate.allow() && rate.allow() && rate.allow());
        assert!(!rate.allow());
    }

    #[tokio::test]
    async fn vectored_writes_keep_order_and_bytes() {
        let mut out = Vec::new();
        let mut batch: VecDeque<Bytes> = (0..200).map(|i| Bytes::from(format!("{i}\n"))).collect();
        write_batch(&mut out, &mut batch).await.unwrap();
        let expected: String = (0..200).map(|i| format!("{i}\n")).collect();
        assert_eq!(String::from_utf8(out).unwrap(), expected);
        assert!(batch.is_empty());
    }

    #[test]
    fn line_decoding() {
        assert!(matches!(
            decode_line(Bytes::from_static(b"/ping\r"), 10),
            Input::Command(Command::Ping(_))
        ));
        assert!(
            matches!(decode_line(Bytes::from_static(b"\xff\xfe"), 10), Input::Refused(r) if r.code == ErrorCode::InvalidUtf8)
        );
        assert!(matches!(
            decode_line(Bytes::from_static(b"12345678901"), 10),
            Input::Fatal(_)
        ));
        assert!(matches!(
            decode_line(Bytes::from_static(b""), 10),
            Input::Nothing
        ));
    }
}
