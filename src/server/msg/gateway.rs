//! What a node's gateway is told and asked by its peers: room events for this node's members,
//! subscriptions, private messages, kicks, announcements, and questions about this node. Gateway
//! messages are remotable; their payloads are serialized by [`crate::wire`].

use ractor::RpcReplyPort;
use ractor_cluster::RactorClusterMessage;
use serde::{Deserialize, Serialize};

use super::admin::UserRow;
use crate::protocol::{Event, RoomInfo};

/// Node-to-node addresses (`HOST:PORT`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerList(pub Vec<String>);

/// Rooms hosted on one node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomList(pub Vec<RoomInfo>);

/// A room to create on this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomCreation {
    /// Canonical room name.
    pub name: String,
    /// Left out of room lists (a room by code).
    pub unlisted: bool,
    /// The node whose instance of the room is gone (a failover): an instance there no longer
    /// counts as the room existing, even before this node has heard that the node is down.
    pub replacing: Option<String>,
}

/// A room event for this node's members of `room`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Canonical room name.
    pub room: String,
    /// The event.
    pub event: Event,
}

/// A room accepted a member of this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// Canonical room name.
    pub room: String,
    /// The room instance's actor name (to find its reference here).
    pub room_actor: String,
    /// The room is unlisted (a room by code): so is any copy re-created after a failover.
    #[serde(default)]
    pub unlisted: bool,
    /// The member's session number on this node.
    pub session: u64,
    /// Events before any live one (history, `Joined`).
    pub preamble: Vec<Event>,
}

/// A member of this node left a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsubscription {
    /// Canonical room name.
    pub room: String,
    /// The member's session number on this node.
    pub session: u64,
    /// Sent to the member after the room's last event.
    pub farewell: Event,
}

/// An event for one session of this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unicast {
    /// Session number on this node.
    pub session: u64,
    /// The event.
    pub event: Event,
}

/// A private message for the holder of a nick on this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivateDelivery {
    /// The recipient's nick.
    pub nick: String,
    /// The `Private` event.
    pub event: Event,
}

/// What became of a private message: delivered or not, and the recipient's away message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivateReceipt {
    /// Whether someone here holds the nick (and was sent the message).
    pub delivered: bool,
    /// The recipient's away message, when away.
    pub away: Option<String>,
}

/// A user as `/whois` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    /// The nick as its holder spells it.
    pub nick: String,
    /// The node it is connected to.
    pub node: String,
    /// The rooms it is in.
    pub rooms: Vec<String>,
    /// Its away message, when away.
    pub away: Option<String>,
    /// When it connected (milliseconds since the Unix epoch).
    pub since: u64,
}

/// A nick to look up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NickQuery(pub String);

/// The node a nick was granted to by its home, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantedTo(pub Option<String>);

/// The answer to a [`NickQuery`]: the user, if someone here holds the nick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhoisReply(pub Option<Presence>);

/// The users connected to one node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRows(pub Vec<UserRow>);

/// A nick claim put to the nick's home node, or the end of one (see
/// [`crate::server::registry::leases`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NickLease {
    /// The nick's folded key.
    pub key: String,
    /// The claimant's node.
    pub node: String,
    /// The claimant's session on that node.
    pub session: u64,
}

/// Disconnect the holder of a nick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KickRequest {
    /// Whom.
    pub nick: String,
    /// Why.
    pub reason: Option<String>,
}

crate::remote_payload!(
    GrantedTo,
    NickLease,
    PrivateReceipt,
    NickQuery,
    WhoisReply,
    RoomCreation,
    UserRows,
    KickRequest,
    PrivateDelivery,
    PeerList,
    RoomList,
    Delivery,
    Subscription,
    Unsubscription,
    Unicast
);

/// What a gateway does.
#[derive(RactorClusterMessage)]
pub enum GatewayMsg {
    /// The addresses of this node and of the nodes it is connected to.
    #[rpc]
    Peers(RpcReplyPort<PeerList>),
    /// A heartbeat: answered at once.
    #[rpc]
    Ping(RpcReplyPort<u64>),
    /// Create a room here unless an instance exists somewhere; `true` on success.
    #[rpc]
    CreateRoom(RoomCreation, RpcReplyPort<bool>),
    /// The rooms hosted here.
    #[rpc]
    Rooms(RpcReplyPort<RoomList>),
    /// Deliver a private message to a nick held here.
    #[rpc]
    Private(PrivateDelivery, RpcReplyPort<PrivateReceipt>),
    /// Who holds a nick here.
    #[rpc]
    Whois(NickQuery, RpcReplyPort<WhoisReply>),
    /// The users connected to this node.
    #[rpc]
    Users(RpcReplyPort<UserRows>),
    /// Disconnect the holder of a nick if it is connected here; `true` if it was.
    #[rpc]
    Kick(KickRequest, RpcReplyPort<bool>),
    /// Decide a claim of a nick whose home is this node; `true` if granted.
    #[rpc]
    ClaimNick(NickLease, RpcReplyPort<bool>),
    /// A lease this node granted ends.
    ReleaseNick(NickLease),
    /// As the home of a nick: the node it was granted to (a claim this node decided).
    #[rpc]
    NickHome(NickQuery, RpcReplyPort<GrantedTo>),
    /// A system message for every user connected here.
    Announce(String),
    /// A room event for this node's members.
    Deliver(Delivery),
    /// Subscribe a session of this node to a room.
    Subscribe(Subscription),
    /// Unsubscribe a session of this node from a room.
    Unsubscribe(Unsubscription),
    /// An event for one session of this node.
    Unicast(Unicast),
}
