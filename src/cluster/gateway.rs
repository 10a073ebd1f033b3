//! The gateway: this node's remotable actor, named `gateway@NODE` and in the process group
//! [`super::GATEWAYS`]. Other nodes ask it which nodes it is connected to (to complete the full
//! mesh). It is one actor per node, so the cost of remote references grows with nodes, never
//! with sessions.

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use ractor_cluster::RactorClusterMessage;
use serde::{Deserialize, Serialize};

use super::membership::MembershipMsg;

/// Node-to-node addresses (`HOST:PORT`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerList(pub Vec<String>);

crate::remote_payload!(PeerList);

/// What a gateway answers.
#[derive(RactorClusterMessage)]
pub enum GatewayMsg {
    /// The addresses of this node and of the nodes it is connected to.
    #[rpc]
    Peers(RpcReplyPort<PeerList>),
}

/// The gateway actor.
pub struct Gateway;

impl Actor for Gateway {
    type Msg = GatewayMsg;
    type State = ActorRef<MembershipMsg>;
    type Arguments = ActorRef<MembershipMsg>;

    async fn pre_start(
        &self,
        myself: ActorRef<GatewayMsg>,
        membership: ActorRef<MembershipMsg>,
    ) -> Result<Self::State, ActorProcessingErr> {
        ractor::pg::join(super::GATEWAYS.to_string(), vec![myself.get_cell()]);
        Ok(membership)
    }

    async fn handle(
        &self,
        _myself: ActorRef<GatewayMsg>,
        message: GatewayMsg,
        membership: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            GatewayMsg::Peers(reply) => {
                let peers =
                    ractor::call_t!(membership, MembershipMsg::Peers, 2000).unwrap_or_default();
                let _ = reply.send(PeerList(peers));
            }
        }
        Ok(())
    }
}
