//! A session's bounded outgoing queue.
//!
//! Rooms, the relay and the session push pre-encoded, shared [`Bytes`] into it without ever
//! waiting: a full queue — `limits.send_queue` messages or `limits.send_queue_bytes` bytes,
//! whichever fills first — means the client does not read fast enough, and the session is cut
//! off with `send_queue_exceeded` instead of letting server memory grow. Replies to the client's
//! own commands count like everything else; there is no back-pressure on its input (as on IRC
//! servers, a full sendq disconnects): its own echoes cannot fill the queue, because the rate
//! limit bounds its commands far below what the queue holds. The connection task on the
//! other end takes everything queued at once and writes it with one vectored write.
//!
//! The queue is a `VecDeque` behind a mutex (held for a push or a swap, never across an await)
//! rather than a channel: an idle session then costs a few dozen bytes instead of a
//! pre-allocated channel block, which matters at tens of thousands of sessions.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use tokio::sync::Notify;

use crate::protocol::{ErrorCode, Event};
use crate::server::front::irc::{self, IrcConn};
use crate::server::front::{self, Encoded, Format, Label};

/// How a connection is to be closed.
#[derive(Debug, Clone)]
pub enum Close {
    /// Write what is already queued, then close.
    Drain,
    /// Drop what is queued, try to write these last bytes (an error line or frame), then close.
    Abort {
        /// Why, as the error code the client was sent.
        code: ErrorCode,
        /// The final bytes, already encoded.
        last_words: Bytes,
        /// Why, for logs and for the session's rooms.
        reason: String,
    },
}

/// How much one client's queue may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// `limits.send_queue`: messages.
    pub messages: usize,
    /// `limits.send_queue_bytes`: bytes.
    pub bytes: usize,
}

#[derive(Debug, Default)]
struct Queue {
    items: VecDeque<Bytes>,
    /// The bytes in `items`.
    bytes: usize,
}

#[derive(Debug)]
struct Shared {
    queue: Mutex<Queue>,
    bound: Bound,
    /// Woken when something is queued or a close is requested.
    ready: Notify,
    /// Set once a close is requested; read on every push, so a plain atomic.
    closing: AtomicBool,
    /// Set once the client has a nick (its registration is complete).
    registered: AtomicBool,
    /// Whether the client wants typing indicators.
    typing: AtomicBool,
    /// Woken (all waiters) when a close is requested, to interrupt a blocked write.
    closed: Notify,
    how: OnceLock<Close>,
    /// An IRC client's connection state, which its encoding depends on.
    irc: Option<Arc<IrcConn>>,
}

impl Shared {
    fn close(&self, how: Close) {
        let _ = self.how.set(how);
        self.closing.store(true, Ordering::Release);
        self.ready.notify_one();
        self.closed.notify_waiters();
    }
}

/// The sending side: cheap to clone, never blocks.
#[derive(Debug, Clone)]
pub struct Outbound {
    shared: Arc<Shared>,
    format: Format,
}

/// The receiving side, owned by the connection task.
#[derive(Debug)]
pub struct OutboundRx {
    shared: Arc<Shared>,
}

/// A queue holding at most `bound` for a client whose front encodes in `format`.
pub fn channel(bound: Bound, format: Format) -> (Outbound, OutboundRx) {
    with(bound, format, None)
}

/// A queue holding at most `bound` for the IRC client of `conn`.
pub fn irc_channel(bound: Bound, conn: Arc<IrcConn>) -> (Outbound, OutboundRx) {
    with(bound, Format::Irc, Some(conn))
}

fn with(bound: Bound, format: Format, irc: Option<Arc<IrcConn>>) -> (Outbound, OutboundRx) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue::default()),
        bound,
        ready: Notify::new(),
        closing: AtomicBool::new(false),
        registered: AtomicBool::new(false),
        typing: AtomicBool::new(matches!(format, Format::Frame | Format::Json)),
        closed: Notify::new(),
        how: OnceLock::new(),
        irc,
    });
    (
        Outbound {
            shared: shared.clone(),
            format,
        },
        OutboundRx { shared },
    )
}

impl Outbound {
    /// The format this client's front encodes in.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Queues bytes. Returns `false` if the connection is closing or the queue was full; a full
    /// queue aborts the connection with `send_queue_exceeded`.
    pub fn send(&self, bytes: Bytes) -> bool {
        if self.is_closing() {
            return false;
        }
        let bound = self.shared.bound;
        let full = match self.shared.queue.lock() {
            Ok(mut queue)
                if queue.items.len() < bound.messages
                    && queue.bytes + bytes.len() <= bound.bytes =>
            {
                queue.bytes += bytes.len();
                queue.items.push_back(bytes);
                false
            }
            _ => true,
        };
        if full {
            self.abort(
                ErrorCode::SendQueueExceeded,
                "send queue exceeded: the client does not read fast enough",
            );
            return false;
        }
        self.shared.ready.notify_one();
        true
    }

    /// Encodes and queues one event (for events meant for this client only).
    pub fn send_event(&self, event: &Event) -> bool {
        let bytes = match &self.shared.irc {
            Some(conn) => irc::encode(conn, event),
            None => front::encode(self.format, event),
        };
        // IRC says some events in no words (an echo the client did not ask for).
        bytes.is_empty() || self.send(bytes)
    }

    /// Queues an event shared by many clients, in this client's encoding.
    pub fn send_encoded(&self, encoded: &Encoded<'_>) -> bool {
        let bytes = match &self.shared.irc {
            Some(conn) => encoded.irc(conn),
            None => encoded.bytes(self.format),
        };
        bytes.is_empty() || self.send(bytes)
    }

    /// Whether this client is to get a room's `event` at all: typing indicators only when it
    /// wants them and never the typist's own; IRC filters its own echoes. `own` gives the
    /// client's nick, asked only when needed.
    pub fn wants<'a>(&self, event: &Event, own: impl FnOnce() -> Option<&'a str>) -> bool {
        match (event, &self.shared.irc) {
            (Event::Typing { nick, .. }, None) => self.wants_typing() && own() != Some(nick),
            (Event::AwayChanged { .. }, None) => false,
            (_, Some(conn)) => irc::wants(conn, event, own()),
            (_, None) => true,
        }
    }

    /// The command the session is answering now, for fronts whose replies name it (IRC).
    pub fn answering(&self, label: Option<Label>) {
        if let Some(conn) = &self.shared.irc {
            conn.set_label(label);
        }
    }

    /// Closes after writing what is queued (and the front's goodbye, a WebSocket's close frame).
    /// The first close wins.
    pub fn close(&self) {
        if !self.is_closing()
            && let Some(goodbye) = front::goodbye(self.format)
            && let Ok(mut queue) = self.shared.queue.lock()
        {
            queue.bytes += goodbye.len();
            queue.items.push_back(goodbye);
        }
        self.shared.close(Close::Drain);
    }

    /// Closes at once, dropping what is queued, after trying to send an error event (and, on
    /// a WebSocket, the close frame with its code).
    pub fn abort(&self, code: ErrorCode, message: &str) {
        let last_words = match &self.shared.irc {
            Some(conn) => irc::last_words(Some(conn), code, message),
            None => front::last_words(self.format, code, message),
        };
        self.shared.close(Close::Abort {
            code,
            last_words,
            reason: message.to_string(),
        });
    }

    /// Why the server cut this client off, if it did (a close that dropped what was queued).
    pub fn cut_off(&self) -> Option<ErrorCode> {
        match self.shared.how.get() {
            Some(Close::Abort { code, .. }) => Some(*code),
            _ => None,
        }
    }

    /// The bytes queued and not yet taken by the connection's writer.
    pub fn queued_bytes(&self) -> usize {
        self.shared.queue.lock().map_or(0, |queue| queue.bytes)
    }

    /// Whether a close was requested.
    pub fn is_closing(&self) -> bool {
        self.shared.closing.load(Ordering::Acquire)
    }

    /// Marks the client registered (it set a nick): `limits.registration_timeout_secs` no
    /// longer applies to it.
    pub fn set_registered(&self) {
        self.shared.registered.store(true, Ordering::Release);
    }

    /// Whether the client wants [`Event::Typing`]: on by default except for netcat users, who
    /// ask with `/typing on`.
    pub fn wants_typing(&self) -> bool {
        self.shared.typing.load(Ordering::Relaxed)
    }

    /// Turns typing indicators on or off for this client.
    pub fn set_typing(&self, on: bool) {
        self.shared.typing.store(on, Ordering::Relaxed);
    }

    /// Whether the client is registered.
    pub fn is_registered(&self) -> bool {
        self.shared.registered.load(Ordering::Acquire)
    }
}

impl OutboundRx {
    /// Waits until something is queued and moves all of it into `batch` (which should be
    /// empty); returns how many messages that was, or 0 once a close was requested.
    pub async fn recv_all(&mut self, batch: &mut VecDeque<Bytes>) -> usize {
        loop {
            if self.shared.closing.load(Ordering::Acquire) {
                return 0;
            }
            if self.take(batch) > 0 {
                return batch.len();
            }
            // A push or a close after `take` stores a permit, so this cannot miss a wake-up.
            self.shared.ready.notified().await;
        }
    }

    /// Resolves when a close was requested.
    pub async fn closing(&self) {
        let closed = self.shared.closed.notified();
        tokio::pin!(closed);
        closed.as_mut().enable();
        if !self.shared.closing.load(Ordering::Acquire) {
            closed.await;
        }
    }

    /// How the connection is to be closed.
    pub fn close_mode(&self) -> Close {
        self.shared.how.get().cloned().unwrap_or(Close::Drain)
    }

    /// Appends what is still queued to `batch`, for a draining close.
    pub fn drain_into(&mut self, batch: &mut VecDeque<Bytes>) {
        if let Ok(mut queue) = self.shared.queue.lock() {
            queue.bytes = 0;
            batch.extend(queue.items.drain(..));
        }
    }

    /// Swaps the queue's contents into an empty `batch`: the queue keeps no capacity while the
    /// session is idle.
    fn take(&self, batch: &mut VecDeque<Bytes>) -> usize {
        match self.shared.queue.lock() {
            Ok(mut queue) => {
                queue.bytes = 0;
                std::mem::swap(&mut queue.items, batch);
                batch.len()
            }
            Err(_) => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(messages: usize) -> Bound {
        Bound {
            messages,
            bytes: usize::MAX,
        }
    }

    #[tokio::test]
    async fn the_byte_bound_cuts_off_too_and_a_drain_frees_it() {
        let (tx, mut rx) = channel(
            Bound {
                messages: 100,
                bytes: 10,
            },
            Format::Line,
        );
        assert!(tx.send(Bytes::from_static(b"1234\n")));
        assert!(tx.send(Bytes::from_static(b"1234\n")));
        let mut batch = VecDeque::new();
        // Taken by the writer: the queue's bytes are free again.
        assert_eq!(rx.recv_all(&mut batch).await, 2);
        assert!(tx.send(Bytes::from_static(b"123456789\n")));
        assert!(!tx.send(Bytes::from_static(b"x")));
        assert!(tx.is_closing());
        match rx.close_mode() {
            Close::Abort { last_words, .. } => {
                assert!(last_words.starts_with(b"! send_queue_exceeded"))
            }
            Close::Drain => panic!("expected an abort"),
        }
    }

    #[tokio::test]
    async fn full_queue_aborts_with_send_queue_exceeded() {
        let (tx, mut rx) = channel(messages(2), Format::Line);
        assert!(tx.send(Bytes::from_static(b"1\n")));
        assert!(tx.send(Bytes::from_static(b"2\n")));
        assert!(!tx.send(Bytes::from_static(b"3\n")));
        assert!(tx.is_closing());
        let mut batch = VecDeque::new();
        assert_eq!(rx.recv_all(&mut batch).await, 0);
        match rx.close_mode() {
            Close::Abort { last_words, .. } => {
                assert!(last_words.starts_with(b"! send_queue_exceeded"))
            }
            Close::Drain => panic!("expected an abort"),
        }
    }

    #[tokio::test]
    async fn receives_in_order_and_drain_keeps_what_was_queued() {
        let (tx, mut rx) = channel(messages(4), Format::Line);
        tx.send(Bytes::from_static(b"a\n"));
        tx.send(Bytes::from_static(b"b\n"));
        let mut batch = VecDeque::new();
        assert_eq!(rx.recv_all(&mut batch).await, 2);
        assert_eq!(
            batch,
            [Bytes::from_static(b"a\n"), Bytes::from_static(b"b\n")]
        );
        batch.clear();
        tx.send(Bytes::from_static(b"c\n"));
        tx.close();
        assert!(!tx.send(Bytes::from_static(b"d\n")));
        assert_eq!(rx.recv_all(&mut batch).await, 0);
        assert!(matches!(rx.close_mode(), Close::Drain));
        rx.drain_into(&mut batch);
        assert_eq!(batch, [Bytes::from_static(b"c\n")]);
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_on_send() {
        let (tx, mut rx) = channel(messages(4), Format::Line);
        let waiter = tokio::spawn(async move {
            let mut batch = VecDeque::new();
            rx.recv_all(&mut batch).await;
            batch
        });
        tokio::task::yield_now().await;
        tx.send(Bytes::from_static(b"x\n"));
        assert_eq!(waiter.await.unwrap(), [Bytes::from_static(b"x\n")]);
    }
}
