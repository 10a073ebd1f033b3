//! What a room is told and asked: joins, leaves, posts, renames, lists, and the hand-overs that
//! keep a room whole when two copies meet or its host dies. Room messages are remotable
//! (`RactorClusterMessage`): a session on any node reaches a room through a remote reference.

use ractor::RpcReplyPort;
use ractor_cluster::RactorClusterMessage;
use serde::{Deserialize, Serialize};

use super::admin::RoomRow;
use super::member::{Member, MemberAddr};
use crate::protocol::{ChatMessage, ErrorCode, Topic};
use crate::server::store::Range;

/// A member leaving, with the reason shown to the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Departure {
    /// Who.
    pub addr: MemberAddr,
    /// Quit message or disconnect reason.
    pub reason: Option<String>,
    /// `true` for `/leave`: the member is still connected and gets `Left` from the room, after
    /// the room's last event for it and after the registry has the new member count.
    pub voluntary: bool,
}

/// Something a member says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    /// Who says it.
    pub from: MemberAddr,
    /// What.
    pub text: String,
    /// `true` for `/me`.
    pub action: bool,
}

/// A member started or stopped typing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypingPost {
    /// Who.
    pub from: MemberAddr,
    /// `true` while typing.
    pub active: bool,
}

/// The answer to a join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum JoinReply {
    /// Joined (or already a member). History and the `Joined` event are on their way to the
    /// member's connection, ahead of any live message.
    Joined,
    /// Refused.
    Refused {
        /// Why, as a stable code.
        code: ErrorCode,
        /// Why, for people.
        message: String,
    },
}

/// A member handed to this room by another copy or by a node's relay, with the notice it gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adoption {
    /// The member.
    pub member: Member,
    /// Why it moved, shown to it.
    pub notice: String,
}

/// Which messages a purge deletes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purge {
    /// Only those numbered below this; all for `None`.
    pub before: Option<u64>,
}

/// How many messages a purge deleted (from the store, or from memory without one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purged(pub u64);

/// What an operator asks of a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModAction {
    /// Set the topic (empty: clear it).
    Topic(String),
    /// Make a member an operator, or not.
    Op {
        /// Whom.
        nick: String,
        /// Operator or not.
        on: bool,
    },
    /// Remove a member.
    Kick {
        /// Whom.
        nick: String,
        /// Why.
        reason: Option<String>,
    },
}

/// A moderation request from a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModRequest {
    /// Who asks.
    pub from: MemberAddr,
    /// What.
    pub action: ModAction,
}

/// The answer to a moderation request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModReply {
    /// Done; the room told its members.
    Done,
    /// Refused.
    Refused {
        /// Why, as a stable code.
        code: ErrorCode,
        /// Why, for people.
        message: String,
    },
}

/// A room's topic and operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomStateReply {
    /// The topic, if set.
    pub topic: Option<Topic>,
    /// The operators' nicks.
    pub operators: Vec<String>,
}

/// A member went away (with a message) or came back (`None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwayPost {
    /// Who.
    pub from: MemberAddr,
    /// The away message.
    pub message: Option<String>,
}

/// The nicks of a room's members, sorted, and those of them who are away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserList {
    /// Every member's nick, sorted.
    pub users: Vec<String>,
    /// The nicks of the members who are away, sorted.
    pub away: Vec<String>,
}

/// The answer to a history request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryReply(pub Vec<ChatMessage>);

crate::remote_payload!(
    AwayPost,
    ModRequest,
    ModReply,
    RoomStateReply,
    Range,
    Purge,
    Purged,
    Departure,
    TypingPost,
    Post,
    JoinReply,
    Adoption,
    UserList,
    HistoryReply
);

/// What a room does.
#[derive(RactorClusterMessage)]
pub enum RoomMsg {
    /// Add a member; replies once its history and `Joined` event are queued for delivery.
    #[rpc]
    Join(Member, RpcReplyPort<JoinReply>),
    /// Remove a member (left, quit, or disconnected).
    Leave(Departure),
    /// Close now if still empty: the node needs its place for a new room (`limits.max_rooms`).
    Evict,
    /// The room has lingered empty since it emptied for the `n`th time: it closes if it still
    /// is empty (the room sends itself this).
    Linger(u64),
    /// A member says something.
    Post(Post),
    /// A member changed nick.
    Rename(Member),
    /// The members' nicks, sorted.
    #[rpc]
    Users(RpcReplyPort<UserList>),
    /// The messages in a range, from the store (and the messages not yet written to it).
    #[rpc]
    History(Range, RpcReplyPort<HistoryReply>),
    /// Debug builds panic on this (to test supervision); release builds ignore it.
    DebugPanic,
    /// A member handed over by a losing copy of this room, or by its node's relay after the
    /// room's previous host died.
    Adopt(Adoption),
    /// History handed over by a losing copy, or recovered by a relay: merged by sequence number.
    MergeHistory(HistoryReply),
    /// The room's summary, for `chatctl rooms`.
    #[rpc]
    Info(RpcReplyPort<RoomRow>),
    /// A member started or stopped typing (passed on to the others, throttled).
    Typing(TypingPost),
    /// Ends the typing states that were not refreshed in time (the room sends itself this
    /// while anyone is typing).
    TypingSweep,
    /// An operator's request: topic, operator status, removal.
    #[rpc]
    Moderate(ModRequest, RpcReplyPort<ModReply>),
    /// The topic and the operators.
    #[rpc]
    State(RpcReplyPort<RoomStateReply>),
    /// A member went away or came back (passed on to the members who want to know).
    Away(AwayPost),
    /// Delete the messages numbered below a number (all without one), from the store and from
    /// memory (moderation, `chatctl purge`); answers how many.
    #[rpc]
    Purge(Purge, RpcReplyPort<Purged>),
}
