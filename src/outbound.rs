//! A session's bounded outgoing queue.
//!
//! Rooms, the relay and the session push pre-encoded, shared [`Bytes`] into it without ever
//! waiting: a full queue means the client does not read fast enough, and the session is cut off
//! with `send_queue_exceeded` instead of letting server memory grow. The connection task on the
//! other end drains everything queued into one vectored write per wakeup.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::protocol::{self, ErrorCode, Event, Protocol};

/// How a connection is to be closed.
#[derive(Debug, Clone)]
pub enum Close {
    /// Write what is already queued, then close.
    Drain,
    /// Drop what is queued, try to write these last bytes (an error line or frame), then close.
    Abort {
        /// The final bytes, already encoded.
        last_words: Bytes,
        /// Why, for logs and for the session's rooms.
        reason: String,
    },
}

#[derive(Debug, Default)]
struct Closing {
    token: CancellationToken,
    how: OnceLock<Close>,
}

/// The sending side: cheap to clone, never blocks.
#[derive(Debug, Clone)]
pub struct Outbound {
    tx: mpsc::Sender<Bytes>,
    closing: Arc<Closing>,
    protocol: Protocol,
}

/// The receiving side, owned by the connection task.
#[derive(Debug)]
pub struct OutboundRx {
    rx: mpsc::Receiver<Bytes>,
    closing: Arc<Closing>,
}

/// A queue holding at most `depth` messages for a client speaking `protocol`.
pub fn channel(depth: usize, protocol: Protocol) -> (Outbound, OutboundRx) {
    let (tx, rx) = mpsc::channel(depth);
    let closing = Arc::new(Closing::default());
    (
        Outbound {
            tx,
            closing: closing.clone(),
            protocol,
        },
        OutboundRx { rx, closing },
    )
}

impl Outbound {
    /// The wire format of this client.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Queues bytes. Returns `false` if the connection is closing or the queue was full; a full
    /// queue aborts the connection with `send_queue_exceeded`.
    pub fn send(&self, bytes: Bytes) -> bool {
        if self.is_closing() {
            return false;
        }
        match self.tx.try_send(bytes) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.abort(
                    ErrorCode::SendQueueExceeded,
                    "send queue exceeded: the client does not read fast enough",
                );
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Encodes and queues one event (for events meant for this client only).
    pub fn send_event(&self, event: &Event) -> bool {
        self.send(protocol::encode(self.protocol, event))
    }

    /// Closes after writing what is queued. The first close wins.
    pub fn close(&self) {
        let _ = self.closing.how.set(Close::Drain);
        self.closing.token.cancel();
    }

    /// Closes at once, dropping what is queued, after trying to send an error event.
    pub fn abort(&self, code: ErrorCode, message: &str) {
        let last_words = protocol::encode(self.protocol, &Event::error(code, message));
        let _ = self.closing.how.set(Close::Abort {
            last_words,
            reason: message.to_string(),
        });
        self.closing.token.cancel();
    }

    /// Whether a close was requested.
    pub fn is_closing(&self) -> bool {
        self.closing.token.is_cancelled()
    }
}

impl OutboundRx {
    /// Waits for queued messages and moves up to `max` of them into `batch`; 0 means the queue is
    /// closed or a close was requested.
    pub async fn recv_many(&mut self, batch: &mut Vec<Bytes>, max: usize) -> usize {
        tokio::select! {
            biased;
            _ = self.closing.token.cancelled() => 0,
            n = self.rx.recv_many(batch, max) => n,
        }
    }

    /// Resolves when a close was requested.
    pub async fn closing(&self) {
        self.closing.token.cancelled().await
    }

    /// How the connection is to be closed (`Drain` if every sender is gone without a request).
    pub fn close_mode(&self) -> Close {
        self.closing.how.get().cloned().unwrap_or(Close::Drain)
    }

    /// Takes what is still queued, for a draining close.
    pub fn drain_into(&mut self, batch: &mut Vec<Bytes>) {
        while let Ok(bytes) = self.rx.try_recv() {
            batch.push(bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn full_queue_aborts_with_send_queue_exceeded() {
        let (tx, mut rx) = channel(2, Protocol::Line);
        assert!(tx.send(Bytes::from_static(b"1\n")));
        assert!(tx.send(Bytes::from_static(b"2\n")));
        assert!(!tx.send(Bytes::from_static(b"3\n")));
        assert!(tx.is_closing());
        let mut batch = Vec::new();
        assert_eq!(rx.recv_many(&mut batch, 10).await, 0);
        match rx.close_mode() {
            Close::Abort { last_words, .. } => {
                assert!(last_words.starts_with(b"! send_queue_exceeded"))
            }
            Close::Drain => panic!("expected an abort"),
        }
    }

    #[tokio::test]
    async fn drain_keeps_what_was_queued() {
        let (tx, mut rx) = channel(4, Protocol::Line);
        tx.send(Bytes::from_static(b"a\n"));
        tx.close();
        assert!(!tx.send(Bytes::from_static(b"b\n")));
        let mut batch = Vec::new();
        assert_eq!(rx.recv_many(&mut batch, 10).await, 0);
        assert!(matches!(rx.close_mode(), Close::Drain));
        rx.drain_into(&mut batch);
        assert_eq!(batch, vec![Bytes::from_static(b"a\n")]);
    }
}
