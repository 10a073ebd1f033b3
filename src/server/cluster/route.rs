//! The one way to reach a node: its own actors when it is this node, its gateway when it is a
//! peer. Rooms deliver and subscribe through it; sessions send private messages and list rooms
//! through it; the control socket kicks and lists users through it. The local/remote fork is
//! written here and nowhere else.

use std::collections::HashMap;

use ractor::{ActorRef, ActorStatus};

use super::{directory, presence};
use crate::protocol::{Event, RoomInfo};
use crate::server::msg::admin::UserRow;
use crate::server::msg::gateway::{
    Delivery, GatewayMsg, KickRequest, NickQuery, Presence, PrivateDelivery, PrivateReceipt,
    Subscription, Unicast, Unsubscription,
};
use crate::server::msg::registry::RegistryMsg;
use crate::server::msg::relay::RelayMsg;
use crate::server::msg::room::RoomMsg;

/// A node did not answer (it left, or is too slow).
#[derive(Debug, Clone, thiserror::Error)]
#[error("node {node} did not answer: {reason}")]
pub struct Unreachable {
    /// The node.
    pub node: String,
    /// What went wrong.
    pub reason: String,
}

/// This node's actors that peers reach through its gateway.
#[derive(Debug, Clone)]
pub struct LocalNode {
    /// This node's name.
    pub node: String,
    /// This node's relay.
    pub relay: ActorRef<RelayMsg>,
    /// This node's registry.
    pub registry: ActorRef<RegistryMsg>,
}

impl LocalNode {
    /// The way to `node`, looked up now; `None` when that node is not connected.
    pub fn route(&self, node: &str) -> Option<Route<'_>> {
        if node == self.node {
            return Some(Route::Local(self));
        }
        directory::gateway_of(node).map(|gateway| Route::Remote {
            node: node.to_string(),
            gateway,
        })
    }
}

/// What [`LocalNode::route`] decides, for a node name.
#[derive(Debug)]
pub enum Route<'a> {
    /// This node: its actors are called directly.
    Local(&'a LocalNode),
    /// A peer: through its gateway.
    Remote {
        /// The peer's name.
        node: String,
        /// Its gateway.
        gateway: ActorRef<GatewayMsg>,
    },
}

/// Routes for a sender that talks to the same nodes again and again (a room): peers' gateways
/// are looked up once and kept while they live.
#[derive(Debug)]
pub struct Router {
    local: LocalNode,
    gateways: HashMap<String, ActorRef<GatewayMsg>>,
}

impl Router {
    /// A router starting from this node.
    pub fn new(local: LocalNode) -> Router {
        Router {
            local,
            gateways: HashMap::new(),
        }
    }

    /// This node.
    pub fn local(&self) -> &LocalNode {
        &self.local
    }

    /// The way to `node`; `None` when that node is not connected.
    pub fn route(&mut self, node: &str) -> Option<Route<'_>> {
        if node == self.local.node {
            return Some(Route::Local(&self.local));
        }
        let cached = self.gateways.get(node).is_some_and(|gateway| {
            !matches!(
                gateway.get_status(),
                ActorStatus::Stopping | ActorStatus::Stopped
            )
        });
        if !cached {
            let gateway = directory::gateway_of(node)?;
            self.gateways.insert(node.to_string(), gateway);
        }
        let gateway = self.gateways.get(node)?.clone();
        Some(Route::Remote {
            node: node.to_string(),
            gateway,
        })
    }

    /// Forgets a node that left.
    pub fn forget(&mut self, node: &str) {
        self.gateways.remove(node);
    }
}

impl Route<'_> {
    fn unreachable(&self, e: impl std::fmt::Display) -> Unreachable {
        let node = match self {
            Route::Local(local) => local.node.clone(),
            Route::Remote { node, .. } => node.clone(),
        };
        Unreachable {
            node,
            reason: e.to_string(),
        }
    }

    /// A room event for the node's members of `room`.
    pub fn deliver(&self, room: String, event: Event) {
        // A cast fails only when the receiver is gone, and then there is no one to deliver to.
        let _ = match self {
            Route::Local(local) => local.relay.cast(RelayMsg::Deliver { room, event }).is_ok(),
            Route::Remote { gateway, .. } => gateway
                .cast(GatewayMsg::Deliver(Delivery { room, event }))
                .is_ok(),
        };
    }

    /// Subscribes a session of the node to `room` (the instance `instance`, whose actor name is
    /// `actor_name`), after sending it `preamble`.
    pub fn subscribe(
        &self,
        room: String,
        instance: &ActorRef<RoomMsg>,
        actor_name: &str,
        unlisted: bool,
        session: u64,
        preamble: Vec<Event>,
    ) {
        let _ = match self {
            Route::Local(local) => local
                .relay
                .cast(RelayMsg::Subscribe {
                    room,
                    room_ref: instance.clone(),
                    unlisted,
                    session,
                    preamble,
                })
                .is_ok(),
            Route::Remote { gateway, .. } => gateway
                .cast(GatewayMsg::Subscribe(Subscription {
                    room,
                    room_actor: actor_name.to_string(),
                    unlisted,
                    session,
                    preamble,
                }))
                .is_ok(),
        };
    }

    /// Unsubscribes a session of the node from `room`, then sends it `farewell`.
    pub fn unsubscribe(&self, room: String, session: u64, farewell: Event) {
        let _ = match self {
            Route::Local(local) => local
                .relay
                .cast(RelayMsg::Unsubscribe {
                    room,
                    session,
                    farewell,
                })
                .is_ok(),
            Route::Remote { gateway, .. } => gateway
                .cast(GatewayMsg::Unsubscribe(Unsubscription {
                    room,
                    session,
                    farewell,
                }))
                .is_ok(),
        };
    }

    /// An event for one session of the node.
    pub fn unicast(&self, session: u64, event: Event) {
        let _ = match self {
            Route::Local(local) => local
                .relay
                .cast(RelayMsg::Unicast { session, event })
                .is_ok(),
            Route::Remote { gateway, .. } => gateway
                .cast(GatewayMsg::Unicast(Unicast { session, event }))
                .is_ok(),
        };
    }

    /// Delivers a private message to the holder of a nick on the node.
    pub async fn private(
        &self,
        delivery: PrivateDelivery,
        timeout_ms: u64,
    ) -> Result<PrivateReceipt, Unreachable> {
        match self {
            Route::Local(local) => Ok(presence::deliver(
                &local.registry,
                &local.relay,
                &delivery.nick,
                delivery.event,
                timeout_ms,
            )
            .await),
            Route::Remote { gateway, .. } => {
                ractor::call_t!(gateway, GatewayMsg::Private, timeout_ms, delivery)
                    .map_err(|e| self.unreachable(e))
            }
        }
    }

    /// The holder of a nick on the node, as `/whois` shows it.
    pub async fn whois(
        &self,
        nick: &str,
        timeout_ms: u64,
    ) -> Result<Option<Presence>, Unreachable> {
        match self {
            Route::Local(local) => {
                Ok(presence::whois(&local.registry, &local.relay, nick, timeout_ms).await)
            }
            Route::Remote { gateway, .. } => {
                let query = NickQuery(nick.to_string());
                ractor::call_t!(gateway, GatewayMsg::Whois, timeout_ms, query)
                    .map(|reply| reply.0)
                    .map_err(|e| self.unreachable(e))
            }
        }
    }

    /// Disconnects the holder of a nick if it is connected to the node; `true` if it was.
    pub async fn kick(&self, request: KickRequest, timeout_ms: u64) -> Result<bool, Unreachable> {
        match self {
            Route::Local(local) => ractor::call_t!(
                local.registry,
                RegistryMsg::Kick,
                timeout_ms,
                request.nick,
                request.reason
            )
            .map_err(|e| self.unreachable(e)),
            Route::Remote { gateway, .. } => {
                ractor::call_t!(gateway, GatewayMsg::Kick, timeout_ms, request)
                    .map_err(|e| self.unreachable(e))
            }
        }
    }

    /// The rooms the node hosts.
    pub async fn rooms(&self, timeout_ms: u64) -> Result<Vec<RoomInfo>, Unreachable> {
        match self {
            Route::Local(local) => {
                ractor::call_t!(local.registry, RegistryMsg::ListRooms, timeout_ms)
                    .map_err(|e| self.unreachable(e))
            }
            Route::Remote { gateway, .. } => {
                ractor::call_t!(gateway, GatewayMsg::Rooms, timeout_ms)
                    .map(|rooms| rooms.0)
                    .map_err(|e| self.unreachable(e))
            }
        }
    }

    /// The users connected to the node.
    pub async fn users(&self, timeout_ms: u64) -> Result<Vec<UserRow>, Unreachable> {
        match self {
            Route::Local(local) => ractor::call_t!(local.relay, RelayMsg::Sessions, timeout_ms)
                .map_err(|e| self.unreachable(e)),
            Route::Remote { gateway, .. } => {
                ractor::call_t!(gateway, GatewayMsg::Users, timeout_ms)
                    .map(|users| users.0)
                    .map_err(|e| self.unreachable(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use ractor::{Actor, ActorProcessingErr, ActorRef};
    use ractor_cluster::RactorMessage;

    use super::*;

    /// An actor that does nothing: its reference stands for a relay, a registry or a gateway
    /// that these tests never message.
    struct Idle;

    #[derive(RactorMessage)]
    enum Nothing {}

    impl Actor for Idle {
        type Msg = Nothing;
        type State = ();
        type Arguments = ();

        async fn pre_start(
            &self,
            _myself: ActorRef<Nothing>,
            _args: (),
        ) -> Result<(), ActorProcessingErr> {
            Ok(())
        }
    }

    async fn idle(name: Option<String>) -> ractor::ActorCell {
        let (actor, _) = Actor::spawn(name, Idle, ()).await.unwrap();
        actor.get_cell()
    }

    async fn here() -> LocalNode {
        LocalNode {
            node: "route-test-here".into(),
            relay: idle(None).await.into(),
            registry: idle(None).await.into(),
        }
    }

    #[tokio::test]
    async fn this_node_is_local_and_a_stranger_unreachable() {
        let local = here().await;
        assert!(
            matches!(local.route("route-test-here"), Some(Route::Local(l)) if l.node == local.node)
        );
        assert!(local.route("route-test-nowhere").is_none());
        let mut router = Router::new(local.clone());
        assert!(matches!(
            router.route("route-test-here"),
            Some(Route::Local(_))
        ));
        assert!(router.route("route-test-nowhere").is_none());
    }

    #[tokio::test]
    async fn a_peer_is_reached_through_its_gateway_while_it_lives() {
        let peer = "route-test-peer";
        let gateway = idle(Some(directory::gateway_name(peer))).await;
        ractor::pg::join(directory::gateways_group(), vec![gateway.clone()]);
        let mut router = Router::new(here().await);
        match router.route(peer) {
            Some(Route::Remote {
                node,
                gateway: found,
            }) => {
                assert_eq!(node, peer);
                assert_eq!(found.get_id(), gateway.get_id());
            }
            other => panic!("expected the peer's gateway, got {other:?}"),
        }
        gateway.stop(None);
        for _ in 0..100 {
            if router.route(peer).is_none() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("a stopped gateway is still routed to");
    }
}
