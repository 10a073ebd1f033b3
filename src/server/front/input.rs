//! What a front makes of a client's bytes: one [`Input`] at a time, from a [`Source`].

use crate::protocol::{Command, Refusal};

/// One unit of input after splitting and decoding.
#[derive(Debug)]
pub enum Input {
    /// A command for the session.
    Command(Command),
    /// Nothing to do (a blank line).
    Nothing,
    /// Refused; the client is told, the connection stays.
    Refused(Refusal),
    /// Refused, and the connection closes after the client is told (an oversized line or
    /// frame: the rest of the stream cannot be split any more).
    Fatal(Refusal),
    /// The input ended (the client closed, or reading failed), for this reason.
    Closed(String),
}

/// Where a connection's input comes from: a front's reader of a socket or a WebSocket.
pub trait Source {
    /// The next input; must be cancel-safe (it is raced against timers).
    fn next(&mut self) -> impl std::future::Future<Output = Input> + Send;
}
