//! What a session actor is told: commands from its connection, and what happened to it.

use bytes::Bytes;
use ractor_cluster::RactorMessage;

use crate::protocol::{Command, Refusal};
use crate::server::front::Label;

/// What a session is told.
#[derive(RactorMessage)]
pub enum SessionMsg {
    /// A command from the client, with what its front needs to phrase the replies.
    Command(Command, Option<Label>),
    /// Bytes the client's front answered with itself, queued in order with the replies.
    Reply(Bytes),
    /// A command was refused before it was parsed (bad syntax, rate limit); tell the client.
    Refused(Refusal),
    /// The connection ended, for this reason.
    Closed(String),
    /// A room this session was in was closed for good.
    RoomGone(String),
    /// An administrator disconnects this client, with an optional reason.
    Kick(Option<String>),
    /// The nick was found held on a node with a lower name too (after a partition healed):
    /// that node keeps it and this session is disconnected, as IRC's nick collision does.
    NickLost(String),
}
