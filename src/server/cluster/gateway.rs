//! The gateway: this node's remotable entry point, named `gateway@NODE` and in the process group
//! `chatd.gateways` (see [`super::directory`]). A room on another node sends each event for this node's members here
//! once, and the gateway hands it to the local relay, which fans it out; so room traffic crosses
//! the network once per node, not once per member. Peers also ask it which nodes this node knows
//! (to complete the full mesh), to create a room placed here, and for this node's rooms.
//!
//! One gateway per node: the cost of remote references grows with nodes, never with sessions.

use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::{directory, presence};
use crate::protocol::Event;
use crate::server::msg::gateway::{
    Delivery, GatewayMsg, GrantedTo, KickRequest, NickQuery, PeerList, PrivateDelivery, RoomList,
    Unicast, Unsubscription, UserRows, WhoisReply,
};
use crate::server::msg::membership::MembershipMsg;
use crate::server::msg::registry::RegistryMsg;
use crate::server::msg::relay::RelayMsg;
use crate::server::timeouts::{GATEWAY_CALL_MS, ROOM_CREATE_MS};

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
        ractor::pg::join(directory::gateways_group(), vec![myself.get_cell()]);
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
                        ractor::call_t!(membership, MembershipMsg::Peers, GATEWAY_CALL_MS)
                            .unwrap_or_default()
                    }
                    None => Vec::new(),
                };
                let _ = reply.send(PeerList(peers));
            }
            GatewayMsg::Ping(reply) => {
                let _ = reply.send(0);
            }
            GatewayMsg::CreateRoom(creation, reply) => {
                let created = ractor::call_t!(
                    state.registry,
                    RegistryMsg::CreateLocal,
                    ROOM_CREATE_MS,
                    creation
                )
                .unwrap_or(false);
                let _ = reply.send(created);
            }
            GatewayMsg::Rooms(reply) => {
                let rooms =
                    ractor::call_t!(state.registry, RegistryMsg::ListRooms, GATEWAY_CALL_MS)
                        .unwrap_or_default();
                let _ = reply.send(RoomList(rooms));
            }
            GatewayMsg::Private(PrivateDelivery { nick, event }, reply) => {
                let receipt =
                    presence::deliver(&state.registry, &state.relay, &nick, event, GATEWAY_CALL_MS)
                        .await;
                let _ = reply.send(receipt);
            }
            GatewayMsg::Whois(NickQuery(nick), reply) => {
                let found =
                    presence::whois(&state.registry, &state.relay, &nick, GATEWAY_CALL_MS).await;
                let _ = reply.send(WhoisReply(found));
            }
            GatewayMsg::Users(reply) => {
                let rows = ractor::call_t!(state.relay, RelayMsg::Sessions, GATEWAY_CALL_MS)
                    .unwrap_or_default();
                let _ = reply.send(UserRows(rows));
            }
            GatewayMsg::Kick(KickRequest { nick, reason }, reply) => {
                let kicked = ractor::call_t!(
                    state.registry,
                    RegistryMsg::Kick,
                    GATEWAY_CALL_MS,
                    nick,
                    reason
                )
                .unwrap_or(false);
                let _ = reply.send(kicked);
            }
            GatewayMsg::ClaimNick(lease, reply) => {
                let granted = ractor::call_t!(
                    state.registry,
                    RegistryMsg::Arbitrate,
                    GATEWAY_CALL_MS,
                    lease
                )
                .unwrap_or(false);
                let _ = reply.send(granted);
            }
            GatewayMsg::NickHome(NickQuery(key), reply) => {
                let granted = ractor::call_t!(
                    state.registry,
                    RegistryMsg::LeaseHolder,
                    GATEWAY_CALL_MS,
                    key
                )
                .unwrap_or(None);
                let _ = reply.send(GrantedTo(granted));
            }
            GatewayMsg::ReleaseNick(lease) => {
                let _ = state.registry.cast(RegistryMsg::ReleaseLease(lease));
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
                match directory::room_instance(&sub.room, &sub.room_actor) {
                    Some(room_ref) => {
                        let _ = state.relay.cast(RelayMsg::Subscribe {
                            room: sub.room,
                            room_ref,
                            unlisted: sub.unlisted,
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
