//! What the registry — this node's directory of rooms and nicks — is told and asked.

use ractor::{ActorId, ActorRef, RpcReplyPort};
use ractor_cluster::RactorMessage;

use super::gateway::{GatewayMsg, NickLease, RoomCreation};
use super::member::{Member, MemberAddr};
use super::room::RoomMsg;
use super::session::SessionMsg;
use crate::protocol::{ErrorCode, RoomInfo};

/// The answer to a nick claim.
#[derive(Debug, Clone)]
pub enum NickClaim {
    /// The nick is the claimant's (any nick it held before is released).
    Granted,
    /// The nick is held here for the claimant, but its home is another node: the claimant asks
    /// that node's gateway ([`GatewayMsg::ClaimNick`] with `lease`), then tells the registry
    /// the answer ([`RegistryMsg::ConfirmNick`]).
    AskHome {
        /// The home node's gateway.
        home: ActorRef<GatewayMsg>,
        /// The claim to put to it.
        lease: NickLease,
    },
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
    /// Not known here: the nick's home node, which granted it, may know of a claim too recent
    /// to be in the nick's group here yet (see [`crate::server::cluster::presence::resolve`]).
    AskHome(ActorRef<GatewayMsg>),
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
    /// The home's answer to a claim ([`NickClaim::AskHome`]): `true` if it granted the claim
    /// (the session now has the nick); `false` drops the claim and the session keeps its old nick.
    ConfirmNick(String, MemberAddr, bool, RpcReplyPort<bool>),
    /// As the home of a nick, decide a claim of it (see [`crate::server::registry::leases`]).
    Arbitrate(NickLease, RpcReplyPort<bool>),
    /// As the home of a nick, end a lease granted here.
    ReleaseLease(NickLease),
    /// Who has this nick?
    LookupNick(String, RpcReplyPort<NickHolder>),
    /// As the home of a nick: the node this node granted it to, if any.
    LeaseHolder(String, RpcReplyPort<Option<String>>),
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
    CreateLocal(RoomCreation, RpcReplyPort<bool>),
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
