//! What the room supervisor is asked: to start a room (from its [`RoomArgs`]) under its watch.

use ractor::{ActorRef, RpcReplyPort};
use ractor_cluster::RactorMessage;

use super::registry::RegistryMsg;
use super::relay::RelayMsg;
use super::room::RoomMsg;
use crate::server::store::Store;

/// How to start a room.
#[derive(Debug, Clone)]
pub struct RoomArgs {
    /// Canonical name.
    pub name: String,
    /// The node hosting the room.
    pub node: String,
    /// Never removed when empty (`server.default_rooms`).
    pub persistent: bool,
    /// How long the room stays loaded once empty (`server.empty_room_linger_ms`).
    pub linger: std::time::Duration,
    /// Left out of room lists (a room by code).
    pub unlisted: bool,
    /// `history.replay`
    pub history: usize,
    /// `limits.presence_max_members`
    pub presence_max: usize,
    /// This node's relay.
    pub relay: ActorRef<RelayMsg>,
    /// This node's registry, told about member counts.
    pub registry: ActorRef<RegistryMsg>,
    /// Where messages are stored (`None`: memory only).
    pub store: Option<Store>,
    /// Distinguishes this room from an earlier one of the same name on this node that may still
    /// be stopping (actor names are unique per process).
    pub incarnation: u64,
    /// Set when restarting after a failure: members are recovered from the relay.
    pub restore: bool,
}

/// What the room supervisor does.
#[derive(RactorMessage)]
pub enum RoomSupervisorMsg {
    /// Start a room linked to the supervisor.
    Spawn(RoomArgs, RpcReplyPort<Result<ActorRef<RoomMsg>, String>>),
}
