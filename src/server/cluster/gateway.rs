//! The gateway: this node's remotable entry point, named `gateway@NODE` and in the process group
//! [`super::GATEWAYS`]. A room on another node sends each event for this node's members here
//! once, and the gateway hands it to the local relay, which fans it out; so room traffic crosses
//! the network once per node, not once per member. Peers also ask it which nodes this node knows
//! (to complete the full mesh), to create a room placed here, and for this node's rooms.
//!
//! One gateway per node: the cost of remote references grows with nodes, never with sessions.

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use ractor_cluster::RactorClusterMessage;
use serde::{Deserialize, Serialize};

use super::membership::MembershipMsg;
use crate::protocol::{Event, RoomInfo};
use crate::server::control::protocol::UserRow;
use crate::server::registry::RegistryMsg;
use crate::server::relay::RelayMsg;

/// Node-to-node addresses (`HOST:PORT`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerList(pub Vec<String>);

/// Rooms hosted on one node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomList(pub Vec<RoomInfo>);

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

/// The users connected to one node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRows(pub Vec<UserRow>);

/// Disconnect the holder of a nick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KickRequest {
    /// Whom.
    pub nick: String,
    /// Why.
    pub reason: Option<String>,
}

crate::remote_payload!(
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
    /// Create room (name) here unless an instance exists somewhere; `true` on success.
    #[rpc]
    CreateRoom(String, RpcReplyPort<bool>),
    /// The rooms hosted here.
    #[rpc]
    Rooms(RpcReplyPort<RoomList>),
    /// Deliver a private message to a nick held here; `false` if no one here holds it.
    #[rpc]
    Private(PrivateDelivery, RpcReplyPort<bool>),
    /// The users connected to this node.
    #[rpc]
    Users(RpcReplyPort<UserRows>),
    /// Disconnect the holder of a nick if it is connected here; `true` if it was.
    #[rpc]
    Kick(KickRequest, RpcReplyPort<bool>),
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

/// What a gateway works with.
pub struct GatewayArgs {
    /// Cluster membership, when clustered.
    pub membership: Option<ActorRef<MembershipMsg>>,
    /// This node's relay.
    pub relay: ActorRef<RelayMsg>,
    /// This node's registry.
    pub registry: ActorRef<RegistryMsg>,
}

/// The gateway actor.
pub struct Gateway;

impl Actor for Gateway {
    type Msg = GatewayMsg;
    type State = GatewayArgs;
    type Arguments = GatewayArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<GatewayMsg>,
        args: GatewayArgs,
    ) -> Result<GatewayArgs, ActorProcessingErr> {
        ractor::pg::join(super::GATEWAYS.to_string(), vec![myself.get_cell()]);
        Ok(args)
    }

    async fn handle(
        &self,
        _myself: ActorRef<GatewayMsg>,
        message: GatewayMsg,
        state: &mut GatewayArgs,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            GatewayMsg::Peers(reply) => {
                let peers = match &state.membership {
                    Some(membership) => {
                        ractor::call_t!(membership, MembershipMsg::Peers, 2000).unwrap_or_default()
                    }
                    None => Vec::new(),
                };
                let _ = reply.send(PeerList(peers));
            }
            GatewayMsg::Ping(reply) => {
                let _ = reply.send(0);
            }
            GatewayMsg::CreateRoom(name, reply) => {
                let created = ractor::call_t!(state.registry, RegistryMsg::CreateLocal, 5000, name)
                    .unwrap_or(false);
                let _ = reply.send(created);
            }
            GatewayMsg::Rooms(reply) => {
                let rooms = ractor::call_t!(state.registry, RegistryMsg::ListRooms, 2000)
                    .unwrap_or_default();
                let _ = reply.send(RoomList(rooms));
            }
            GatewayMsg::Private(PrivateDelivery { nick, event }, reply) => {
                let delivered = ractor::call_t!(
                    state.registry,
                    RegistryMsg::DeliverPrivate,
                    2000,
                    nick,
                    event
                )
                .unwrap_or(false);
                let _ = reply.send(delivered);
            }
            GatewayMsg::Users(reply) => {
                let rows =
                    ractor::call_t!(state.relay, RelayMsg::Sessions, 2000).unwrap_or_default();
                let _ = reply.send(UserRows(rows));
            }
            GatewayMsg::Kick(KickRequest { nick, reason }, reply) => {
                let kicked = ractor::call_t!(state.registry, RegistryMsg::Kick, 2000, nick, reason)
                    .unwrap_or(false);
                let _ = reply.send(kicked);
            }
            GatewayMsg::Announce(text) => {
                let _ = state.relay.cast(RelayMsg::Broadcast(Event::notice(format!(
                    "announcement: {text}"
                ))));
            }
            GatewayMsg::Deliver(Delivery { room, event }) => {
                let _ = state.relay.cast(RelayMsg::Deliver { room, event });
            }
            GatewayMsg::Subscribe(sub) => {
                let room_ref = ractor::pg::get_members(&super::room_group(&sub.room))
                    .into_iter()
                    .find(|cell| cell.get_name().as_deref() == Some(sub.room_actor.as_str()));
                match room_ref {
                    Some(cell) => {
                        let _ = state.relay.cast(RelayMsg::Subscribe {
                            room: sub.room,
                            room_ref: cell.into(),
                            session: sub.session,
                            preamble: sub.preamble,
                        });
                    }
                    None => {
                        tracing::warn!(room = %sub.room_actor, "subscription for an unknown room")
                    }
                }
            }
            GatewayMsg::Unsubscribe(Unsubscription {
                room,
                session,
                farewell,
            }) => {
                let _ = state.relay.cast(RelayMsg::Unsubscribe {
                    room,
                    session,
                    farewell,
                });
            }
            GatewayMsg::Unicast(Unicast { session, event }) => {
                let _ = state.relay.cast(RelayMsg::Unicast { session, event });
            }
        }
        Ok(())
    }
}
