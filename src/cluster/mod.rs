//! Clustering: linking chatd nodes with ractor_cluster.
//!
//! - [`cookie`]: the shared secret nodes authenticate with.
//! - [`membership`]: which nodes exist and which are connected; dials seeds and every node it
//!   learns of, re-dials lost ones with capped exponential backoff, and tells users when nodes
//!   join or leave.
//! - [`gateway`]: this node's one remotable actor for cluster housekeeping (peers exchange).
//!
//! Nodes form a full mesh: a node that connects to one member asks it for the nodes it knows
//! and dials them. Session actors are never remotable, so a peer never mirrors per-connection
//! actors (ractor_cluster mirrors every remotable actor on every peer, ~11 KB each).

pub mod cookie;
pub mod gateway;
pub mod membership;

use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef};
use ractor_cluster::{NodeServer, NodeServerMessage};

use crate::config::ClusterConfig;
use crate::relay::RelayMsg;
use gateway::Gateway;
use membership::{Membership, MembershipArgs, MembershipMsg};

/// The process group every node's gateway joins.
pub const GATEWAYS: &str = "chatd.gateways";

/// The actor name of `node`'s gateway (names travel with remote references).
pub fn gateway_name(node: &str) -> String {
    format!("gateway@{node}")
}

/// Starts the node server, membership and gateway, linked to `parent`. Returns membership.
pub async fn start(
    config: &ClusterConfig,
    node: &str,
    cookie: String,
    relay: ActorRef<RelayMsg>,
    parent: ActorCell,
) -> Result<ActorRef<MembershipMsg>, ActorProcessingErr> {
    let host = config
        .advertise
        .rsplit_once(':')
        .map(|(host, _)| host.to_string())
        .unwrap_or_else(|| config.listen.ip().to_string());
    let server = NodeServer::new(
        config.listen.port(),
        cookie,
        node.to_string(),
        host,
        None,
        Some(ractor_cluster::node::NodeConnectionMode::Isolated),
    )
    .with_listen_addr(config.listen.ip());
    let (server, _) = Actor::spawn_linked(None, server, (), parent.clone()).await?;
    let args = MembershipArgs {
        node: node.to_string(),
        address: config.advertise.clone(),
        seeds: config.seeds.clone(),
        server: server.clone(),
        relay,
    };
    let (membership, _) = Actor::spawn_linked(None, Membership, args, parent.clone()).await?;
    server.cast(NodeServerMessage::SubscribeToEvents {
        id: "chatd.membership".into(),
        subscription: Box::new(membership::Events(membership.clone())),
    })?;
    Actor::spawn_linked(
        Some(gateway_name(node)),
        Gateway,
        membership.clone(),
        parent,
    )
    .await?;
    tracing::info!(listen = %config.listen, advertise = %config.advertise, "cluster port open");
    Ok(membership)
}
