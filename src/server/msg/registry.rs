//! What the registry — this node's directory of rooms and nicks — is told and asked.

use ractor::{ActorId, ActorRef, RpcReplyPort};
use ractor_cluster::RactorMessage;

use super::member::{Member, MemberAddr};
use super::room::RoomMsg;
use super::session::SessionMsg;
use crate::protocol::{ErrorCode, RoomInfo};

/// The answer to a nick claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NickClaim {
    /// The nick is the claimant's (any nick it held before is released).
    Granted,
    /// The nick is held for the claimant, but other nodes are reachable: after a short settle
    /// time, [`RegistryMsg::ConfirmNick`] decides a simultaneous claim on another node.
    Tentative,
    /// Someone else holds it.
    Taken,
}

/// Who holds a nick.
#[derive(Debug, Clone)]
pub enum NickHolder {
    /// A session of this node.
    Local(Member),
    /// A session of this other node.
    Remote(String),
    /// No one.
    Missing,
}

/// Where a room is, as far as this node can tell.
#[derive(Debug)]
pub enum RoomLookup {
    /// The instance every node agrees on (here or on another node).
    Found(ActorRef<RoomMsg>),
    /// It does not exist, and placement puts it on this other node: ask that node's gateway.
    CreateOn(String),
    /// It does not exist (and creating it was not asked for, or failed).
    Missing,
    /// It does not exist, and it may not be created (`limits.max_rooms`).
    Refused {
        /// Why, as a stable code.
        code: ErrorCode,
        /// Why, for people.
        message: String,
    },
}

/// What the registry does.
#[derive(RactorMessage)]
pub enum RegistryMsg {
    /// Take a nick for a session.
    ClaimNick(
        String,
        MemberAddr,
        ActorRef<SessionMsg>,
        RpcReplyPort<NickClaim>,
    ),
    /// Settle a tentative claim: `true` if the session keeps the nick; `false` if a node with a
    /// lower name claimed it too (the claim is dropped and the session keeps its old nick).
    ConfirmNick(String, MemberAddr, RpcReplyPort<bool>),
    /// Who has this nick?
    LookupNick(String, RpcReplyPort<NickHolder>),
    /// How many nicks this node's sessions hold.
    NickCount(RpcReplyPort<usize>),
    /// Disconnect the local holder of a nick, with a reason; `false` if there is none.
    Kick(String, Option<String>, RpcReplyPort<bool>),
    /// Find a room anywhere in the cluster; with `create`, create it here if placement says so
    /// (and count a join on its way to a room hosted here).
    GetRoom {
        /// Canonical room name.
        name: String,
        /// Create the room if it does not exist.
        create: bool,
        /// Where the room is.
        reply: RpcReplyPort<RoomLookup>,
    },
    /// Create a room here (a peer's placement chose this node) unless one exists, unlisted if
    /// asked; `true` when the room exists afterwards.
    CreateLocal(String, bool, RpcReplyPort<bool>),
    /// Every room, sorted by name.
    ListRooms(RpcReplyPort<Vec<RoomInfo>>),
    /// A room's member count changed.
    RoomCount {
        /// Canonical room name.
        name: String,
        /// Members now.
        members: u32,
    },
    /// The configuration was reloaded (the new bounds are in force already): create the default
    /// rooms that are new.
    Reconfigure,
    /// A room became empty after handling `joins` joins; it is closed unless a join is pending.
    RoomEmpty {
        /// Canonical room name.
        name: String,
        /// Joins the room has handled.
        joins: u64,
    },
    /// A room was restarted after a failure.
    RoomRestarted {
        /// Canonical room name.
        name: String,
        /// The new room actor.
        room: ActorRef<RoomMsg>,
    },
    /// A room stopped (empty, or failed for good).
    RoomClosed {
        /// Canonical room name.
        name: String,
        /// The actor that stopped.
        id: ActorId,
    },
}
