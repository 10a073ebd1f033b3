//! What a front makes of a client's bytes: one [`Input`] at a time, from a [`Source`].

use bytes::Bytes;

use crate::protocol::{Command, Refusal};

/// What a front remembers about a command in order to phrase the replies to it: IRC numerics
/// name the command and its target as the client typed them. The session holds it on the
/// client's queue while it executes the command ([`crate::server::outbound::Outbound::answering`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// The command as the front knows it (`PRIVMSG`, `WHO`).
    pub verb: &'static str,
    /// Its target as typed (`#General`, `bob`), or empty.
    pub target: String,
    /// What it acts on within the target, as typed (the nick of a `KICK`), or empty.
    pub object: String,
}

/// One unit of input after splitting and decoding.
#[derive(Debug)]
pub enum Input {
    /// A command for the session.
    Command(Command),
    /// A command for the session, with what its replies need to know of it.
    Labeled(Command, Label),
    /// Bytes the front answers itself, queued in order with the session's replies (an IRC
    /// `PONG`, a capability list).
    Reply(Bytes),
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

    /// Whether the source applies the rate limit itself (IRC delays a flood instead of
    /// refusing its commands); otherwise the connection refuses what exceeds it.
    fn paces_itself(&self) -> bool {
        false
    }
}
