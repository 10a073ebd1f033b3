//! The task that owns one client socket once its protocol is known.
//!
//! It runs two loops side by side: the reader splits input into lines or frames (bounded by
//! `limits.max_line_bytes` / `limits.max_frame_bytes`, so a huge line is refused without being
//! buffered), decodes commands, applies the per-session rate limit, and forwards them to the
//! session actor; the writer drains the session's [`Outbound`] queue into one vectored write per
//! wakeup. When either side ends, the session is told why.

use std::collections::VecDeque;
use std::future::Future;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use bytes::{Buf, Bytes};
use ractor::ActorRef;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep, timeout};

use crate::protocol::{Command, ErrorCode, Protocol, Refusal};
use crate::server::context::ConnectionLimits;
use crate::server::front::{Input, Reader, Source};
use crate::server::msg::session::SessionMsg;
use crate::server::outbound::{Close, Outbound, OutboundRx};
use crate::server::session::Opened;

/// Most messages written by one vectored write.
const WRITE_BATCH: usize = 64;
/// How long the last error line may take to reach a client that is being cut off.
const ABORT_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// How a connection's writing side ends once its last bytes are out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// Closing the socket is enough: on plain TCP the close sends the FIN, and a shutdown first
    /// would be one more system call per connection. A client that is cut off still gets the
    /// shutdown, so that its last words leave before anything it sent and no one read could
    /// make the close a reset.
    Close,
    /// The stream ends with a message of its own (TLS's close_notify): always shut it down.
    Shutdown,
}

/// A connection as the listener hands it over.
#[derive(Debug)]
pub struct Accepted {
    /// The socket.
    pub stream: TcpStream,
    /// The client's address.
    pub peer: SocketAddr,
    /// Its front, from its first byte.
    pub protocol: Protocol,
    /// When it must have a nick (`limits.registration_timeout_secs` after it was accepted).
    pub registered_by: Instant,
}

/// Serves one connection until it closes, then tells the session why. A client that has no nick
/// by its `registered_by` is closed with `registration_timeout`.
pub async fn serve(accepted: Accepted, opened: Opened, limits: ConnectionLimits) {
    let Accepted {
        stream,
        peer,
        protocol,
        registered_by,
    } = accepted;
    // Halves that do not shut the socket down when dropped (see [`Finish::Close`]).
    let (read, write) = tokio::io::split(stream);
    let input = Reader::new(
        protocol,
        read,
        limits.max_line_bytes,
        limits.max_frame_bytes,
    );
    let ends = Ends {
        registered_by,
        peer,
        finish: Finish::Close,
    };
    run(input, write, opened, &limits, ends).await;
}

/// What a front tells [`run`] about its connection besides its two halves.
#[derive(Debug, Clone, Copy)]
pub struct Ends {
    /// When the client must have a nick.
    pub registered_by: Instant,
    /// The client's address.
    pub peer: SocketAddr,
    /// How the writing side ends.
    pub finish: Finish,
}

/// Serves a connection of any front until it ends: its `input` read with the rules every front
/// shares ([`read_commands`]), its session's queue written to `write` ([`write_loop`]), and the
/// session told why it ended.
pub async fn run<S: Source, W: AsyncWrite + Unpin>(
    input: S,
    write: W,
    opened: Opened,
    limits: &ConnectionLimits,
    ends: Ends,
) {
    let Ends {
        registered_by,
        peer,
        finish,
    } = ends;
    let Opened {
        outbound,
        rx,
        session,
    } = opened;
    let reader = read_commands(input, &outbound, &session, limits, registered_by);
    let writer = write_loop(write, rx, limits.grace, finish);
    drive(reader, writer, &outbound, &session, peer).await;
}

/// Runs a connection's `reader` and `writer` until the connection ends, then tells the session
/// why. The writer says whether the client was cut off.
async fn drive(
    reader: impl Future<Output = String>,
    writer: impl Future<Output = (String, bool)>,
    outbound: &Outbound,
    session: &ActorRef<SessionMsg>,
    peer: SocketAddr,
) {
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

/// Resolves when `timer` fires; never without one.
async fn fire(timer: Option<&mut Pin<Box<Sleep>>>) {
    match timer {
        Some(timer) => timer.as_mut().await,
        None => std::future::pending().await,
    }
}

/// Reads commands from a front's `input` until it ends or the connection must close: applies the
/// rate limit, the idle timeout and the registration deadline, and hands everything to the
/// session in order. Returns why reading stopped.
pub async fn read_commands<S: Source>(
    mut input: S,
    outbound: &Outbound,
    session: &ActorRef<SessionMsg>,
    limits: &ConnectionLimits,
    registered_by: Instant,
) -> String {
    let mut rate = RateLimit::new(limits.rate, limits.burst);
    let paced = input.paces_itself();
    // On the heap and only when configured: most sessions never need a timer.
    let mut idle = limits
        .idle_timeout
        .map(|d| (d, Box::pin(tokio::time::sleep(d))));
    // Until the client has a nick; on the heap, and gone once it has.
    let mut registration = Some(Box::pin(tokio::time::sleep_until(registered_by)));
    loop {
        if registration.is_some() && outbound.is_registered() {
            registration = None;
        }
        let next = if idle.is_none() && registration.is_none() {
            input.next().await
        } else {
            if let Some((period, timer)) = idle.as_mut() {
                timer.as_mut().reset(Instant::now() + *period);
            }
            tokio::select! {
                next = input.next() => next,
                _ = fire(idle.as_mut().map(|(_, timer)| timer)) => {
                    outbound.abort(ErrorCode::IdleTimeout, "idle timeout: nothing received");
                    return "idle timeout".into();
                }
                _ = fire(registration.as_mut()) => {
                    if !outbound.is_registered() {
                        let message = format!(
                            "no nick set within {} s (limits.registration_timeout_secs); closing",
                            limits.registration_timeout.as_secs()
                        );
                        outbound.abort(ErrorCode::RegistrationTimeout, &message);
                        return "registration timeout".into();
                    }
                    registration = None;
                    continue;
                }
            }
        };
        match next {
            Input::Closed(reason) => return reason,
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
            Input::Reply(bytes) => {
                if session.cast(SessionMsg::Reply(bytes)).is_err() {
                    return "session ended".into();
                }
            }
            Input::Command(_) | Input::Labeled(..) => {
                let (command, label) = match next {
                    Input::Labeled(command, label) => (command, Some(label)),
                    Input::Command(command) => (command, None),
                    _ => continue,
                };
                let is_quit = matches!(command, Command::Quit(_));
                let message = if is_quit || paced || rate.allow() {
                    SessionMsg::Command(command, label)
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

/// Writes until the queue is closed, then ends the writing side as `finish` says; returns why,
/// and whether the client was cut off.
pub async fn write_loop<W: AsyncWrite + Unpin>(
    mut w: W,
    mut rx: OutboundRx,
    grace: Duration,
    finish: Finish,
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
        Close::Abort {
            last_words, reason, ..
        } => {
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
    if outcome.1 || finish == Finish::Shutdown {
        let _ = Box::pin(timeout(ABORT_WRITE_TIMEOUT, w.shutdown())).await;
    }
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
}
