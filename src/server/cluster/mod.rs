//! Clustering: linking chatd nodes with ractor_cluster.
//!
//! - [`cookie`]: the shared secret nodes authenticate with.
//! - [`membership`]: which nodes exist and which are connected; dials seeds and every node it
//!   learns of, re-dials lost ones with capped exponential backoff, and tells users when nodes
//!   join or leave.
//! - [`gateway`]: this node's one remotable actor besides its rooms: it takes room events for
//!   this node's members (once per node, not per member) and answers peers' questions.
//! - [`directory`]: the naming scheme (gateways, room instances, process groups, nicks), who
//!   hosts a room, which nodes are reachable, where a new room goes.
//! - [`route`]: the one way to reach a node — its own actors, or a peer's gateway.
//! - [`failover`]: re-creating a room whose host died, on the node placement now picks.
//! - [`admission`]: the node-to-node port: who may talk to ractor_cluster, and how long they
//!   have to prove it.
//! - [`tls`]: mutual TLS between nodes.
//!
//! Nodes form a full mesh: a node that connects to one member asks it for the nodes it knows
//! and dials them. Session actors are never remotable, so a peer never mirrors per-connection
//! actors (ractor_cluster mirrors every remotable actor on every peer, ~11 KB each).

pub mod admission;
pub mod cookie;
pub mod directory;
pub mod failover;
pub mod gateway;
pub mod membership;
pub mod presence;
pub mod route;
pub mod tls;

use std::sync::Arc;

use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef};
use ractor_cluster::{NodeServer, NodeServerMessage};
use tokio_util::sync::CancellationToken;

use crate::server::config::ClusterConfig;
use crate::server::msg::gateway::GatewayMsg;
use crate::server::msg::membership::MembershipMsg;
use crate::server::msg::registry::RegistryMsg;
use crate::server::msg::relay::RelayMsg;
use gateway::{Gateway, GatewayArgs};
use membership::{Membership, MembershipArgs};

/// Starts ractor_cluster's node server, the node-to-node port (see [`admission`]) and
/// membership, linked to `parent`. The port is bound here, so an unusable address fails the start.
pub async fn start(
    config: &ClusterConfig,
    node: &str,
    cookie: String,
    tls: Option<tls::Tls>,
    relay: ActorRef<RelayMsg>,
    parent: ActorCell,
) -> Result<ActorRef<MembershipMsg>, ActorProcessingErr> {
    let (host, port) = config
        .advertise
        .rsplit_once(':')
        .and_then(|(host, port)| Some((host.to_string(), port.parse::<u16>().ok()?)))
        .unwrap_or_else(|| (config.listen.ip().to_string(), config.listen.port()));
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    // ractor_cluster's own listener is on an ephemeral loopback port that nothing dials: every
    // peer comes through `admission`.
    let server = NodeServer::new(
        0,
        cookie.clone(),
        node.to_string(),
        host,
        None,
        Some(ractor_cluster::node::NodeConnectionMode::Isolated),
    )
    .with_listen_addr(std::net::Ipv4Addr::LOCALHOST.into());
    let (server, _) = Actor::spawn_linked(None, server, (), parent.clone()).await?;
    // Peers learn this node's address from ractor_cluster's handshake: the advertised one, not
    // the ephemeral port (whose own notice the node server has already processed).
    server.cast(NodeServerMessage::PortChanged { port })?;
    let gate = Arc::new(admission::Gate {
        cookie,
        tls,
        timeout: config.handshake_timeout,
        max_pending: config.max_pending,
    });
    let stop = CancellationToken::new();
    tokio::spawn(admission::serve(
        listener,
        gate.clone(),
        server.clone(),
        stop.clone(),
    ));
    let args = MembershipArgs {
        node: node.to_string(),
        address: config.advertise.clone(),
        seeds: config.seeds.clone(),
        server: server.clone(),
        relay,
        heartbeat: config.heartbeat,
        failure_timeout: config.failure_timeout,
        gate,
        port: stop.drop_guard(),
    };
    let (membership, _) = Actor::spawn_linked(None, Membership, args, parent.clone()).await?;
    server.cast(NodeServerMessage::SubscribeToEvents {
        id: "chatd.membership".into(),
        subscription: Box::new(membership::Events(membership.clone())),
    })?;
    tracing::info!(listen = %config.listen, advertise = %config.advertise, "cluster port open");
    Ok(membership)
}

/// Starts this node's gateway, linked to `parent`. It exists on a single node too, so that rooms
/// and sessions find the local node the same way as remote ones.
pub async fn start_gateway(
    node: &str,
    membership: Option<ActorRef<MembershipMsg>>,
    relay: ActorRef<RelayMsg>,
    registry: ActorRef<RegistryMsg>,
    parent: ActorCell,
) -> Result<ActorRef<GatewayMsg>, ActorProcessingErr> {
    let args = GatewayArgs {
        membership,
        relay,
        registry,
    };
    let (gateway, _) =
        Actor::spawn_linked(Some(directory::gateway_name(node)), Gateway, args, parent).await?;
    Ok(gateway)
}
