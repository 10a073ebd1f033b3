//! What the relay — this node's delivery point to its sessions' queues — is told and asked.

use ractor::{ActorRef, RpcReplyPort};
use ractor_cluster::RactorMessage;

use super::admin::UserRow;
use super::gateway::{Presence, PrivateReceipt};
use super::member::Member;
use super::room::RoomMsg;
use super::session::SessionMsg;
use crate::protocol::Event;
use crate::server::outbound::Outbound;

/// What a restarted room learns from the relay.
#[derive(Debug, Clone)]
pub struct RoomRecovery {
    /// The local members still subscribed.
    pub members: Vec<Member>,
    /// The last message number the members received.
    pub last_seq: u64,
}

/// How much this node's sessions hold, for the metrics endpoint.
#[derive(Debug, Clone, Default)]
pub struct Load {
    /// Sessions by front, indexed as [`crate::server::front::Format::ALL`].
    pub sessions: [u64; 4],
    /// Bytes waiting in all send queues.
    pub queued_bytes: u64,
}

/// What the relay does.
#[derive(RactorMessage)]
pub enum RelayMsg {
    /// A new session (sent by the session as it starts).
    Register {
        /// The session actor.
        session: ActorRef<SessionMsg>,
        /// Its outgoing queue.
        outbound: Outbound,
        /// The client's address.
        peer: String,
    },
    /// A session's nick changed (kept so a restarted room can recover its members).
    SetNick {
        /// Session number.
        session: u64,
        /// New nick.
        nick: String,
    },
    /// A session's away message changed (`None`: back).
    SetAway {
        /// Session number.
        session: u64,
        /// The message.
        away: Option<String>,
    },
    /// A private message for one local session: delivered unless the session is gone, and
    /// answered with the recipient's away message.
    Private(u64, Event, RpcReplyPort<PrivateReceipt>),
    /// A local session as `/whois` shows it.
    Presence(u64, RpcReplyPort<Option<Presence>>),
    /// A session ended: forget it, and tell its rooms it left.
    SessionGone {
        /// Session number.
        session: u64,
        /// Shown to the rooms.
        reason: Option<String>,
    },
    /// A room accepted a member: queue `preamble` (history, `Joined`) for it, then subscribe it.
    Subscribe {
        /// Canonical room name.
        room: String,
        /// The room, for telling it when the session goes away.
        room_ref: ActorRef<RoomMsg>,
        /// The room is unlisted (a room by code): a failover re-creates it unlisted.
        unlisted: bool,
        /// Session number.
        session: u64,
        /// Events sent to the member before any live event.
        preamble: Vec<Event>,
    },
    /// A session left a room (sent by the room): unsubscribe it and send it `farewell`.
    Unsubscribe {
        /// Canonical room name.
        room: String,
        /// Session number.
        session: u64,
        /// Sent after the last live event of the room.
        farewell: Event,
    },
    /// An event for every local member of a room.
    Deliver {
        /// Canonical room name.
        room: String,
        /// The event.
        event: Event,
    },
    /// An event for one local session.
    Unicast {
        /// Session number.
        session: u64,
        /// The event.
        event: Event,
    },
    /// A room restarted: it takes over the subscription and learns who its local members are.
    RoomMembers(String, ActorRef<RoomMsg>, RpcReplyPort<RoomRecovery>),
    /// A room was closed for good: unsubscribe its local members and tell them.
    DropRoom {
        /// Canonical room name.
        room: String,
        /// Sent to each member after `Left`.
        notice: Event,
    },
    /// An event for every local session (node joined or left, announcements).
    Broadcast(Event),
    /// Every local session, for `chatctl users`.
    Sessions(RpcReplyPort<Vec<UserRow>>),
    /// Sessions by front and queued bytes, for the metrics endpoint.
    Load(RpcReplyPort<Load>),
    /// Send every local session `Shutdown` and close its connection after what is queued.
    Shutdown(String, RpcReplyPort<usize>),
}
