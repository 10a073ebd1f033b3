//! Clustering: linking chatd nodes with ractor_cluster.
//!
//! - [`cookie`]: the shared secret nodes authenticate with.
//! - [`membership`]: which nodes exist and which are connected; dials seeds and every node it
//!   learns of, re-dials lost ones with capped exponential backoff, and tells users when nodes
//!   join or leave.
//! - [`gateway`]: this node's one remotable actor besides its rooms: it takes room events for
//!   this node's members (once per node, not per member) and answers peers' questions.
//!
//! Nodes form a full mesh: a node that connects to one member asks it for the nodes it knows
//! and dials them. Session actors are never remotable, so a peer never mirrors per-connection
//! actors (ractor_cluster mirrors every remotable actor on every peer, ~11 KB each).

pub mod cookie;
pub mod gateway;
pub mod membership;
pub mod tls;

use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef};
use ractor_cluster::{NodeServer, NodeServerMessage};

use crate::server::config::ClusterConfig;
use crate::server::registry::RegistryMsg;
use crate::server::relay::RelayMsg;
use crate::server::room::RoomMsg;
use gateway::{Gateway, GatewayArgs, GatewayMsg};
use membership::{Membership, MembershipArgs, MembershipMsg};

/// The process group every node's gateway joins.
pub const GATEWAYS: &str = "chatd.gateways";

/// The actor name of `node`'s gateway (names travel with remote references).
pub fn gateway_name(node: &str) -> String {
    format!("gateway@{node}")
}

/// The pg scope of nicks: one group per claimed nick (its folded key), joined by the gateway of
/// each node where a session holds it (normally one node).
pub const NICKS: &str = "chatd.nicks";

/// The nodes where nick `key` is held, as far as this node can see.
pub fn nick_holders(key: &str) -> Vec<String> {
    ractor::pg::get_scoped_members(&NICKS.to_string(), &key.to_string())
        .into_iter()
        .filter_map(|cell| cell.get_name())
        .filter_map(|name| name.strip_prefix("gateway@").map(str::to_string))
        .collect()
}

/// The process group of every instance of room `name` (normally one).
pub fn room_group(name: &str) -> String {
    format!("room:{name}")
}

/// The actor name of incarnation `incarnation` of room `name` hosted on `node`: unique in the
/// cluster, and what decides which instance wins when two exist (node names compare first).
pub fn room_actor_name(name: &str, node: &str, incarnation: u64) -> String {
    format!("room:{name}@{node}/{incarnation:010}")
}

/// The instance of room `name` every node agrees on: the one with the lowest actor name among
/// the group's members this node can see.
pub fn room_winner(name: &str) -> Option<ActorRef<RoomMsg>> {
    ractor::pg::get_members(&room_group(name))
        .into_iter()
        .filter_map(|cell| cell.get_name().map(|n| (n, cell)))
        .min_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, cell)| cell.into())
}

/// `node`'s gateway, if that node is connected (or is this one).
pub fn gateway_of(node: &str) -> Option<ActorRef<GatewayMsg>> {
    let name = gateway_name(node);
    ractor::pg::get_members(&GATEWAYS.to_string())
        .into_iter()
        .find(|cell| cell.get_name().as_deref() == Some(name.as_str()))
        .map(Into::into)
}

/// The nodes whose gateways this node can see (itself included), by name.
pub fn reachable_nodes() -> Vec<String> {
    ractor::pg::get_members(&GATEWAYS.to_string())
        .into_iter()
        .filter_map(|cell| cell.get_name())
        .filter_map(|name| name.strip_prefix("gateway@").map(str::to_string))
        .collect()
}

/// Where a new room `name` should live: rendezvous hashing over `nodes` (the highest
/// hash of room and node wins), so that every node picks the same host and a node joining or
/// leaving moves only its own share of rooms. `None` for an empty list.
pub fn placement(name: &str, nodes: &[String]) -> Option<String> {
    // FNV-1a, stable across builds and platforms (unlike std's hasher), then the MurmurHash3
    // finalizer: FNV alone mixes short, similar names poorly and would skew placement.
    fn fnv(parts: &[&str]) -> u64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for part in parts {
            for byte in part.bytes().chain(std::iter::once(0xff)) {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        hash ^ (hash >> 33)
    }
    nodes
        .iter()
        .max_by_key(|node| (fnv(&[name, node]), node.as_str()))
        .cloned()
}

/// Starts ractor_cluster's node server and membership, linked to `parent`.
pub async fn start(
    config: &ClusterConfig,
    node: &str,
    cookie: String,
    tls: Option<tls::Tls>,
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
        tls.as_ref()
            .map(|t| ractor_cluster::IncomingEncryptionMode::Tls(t.acceptor.clone())),
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
        heartbeat: config.heartbeat,
        failure_timeout: config.failure_timeout,
        tls: tls.map(|t| t.connector),
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
    let (gateway, _) = Actor::spawn_linked(Some(gateway_name(node)), Gateway, args, parent).await?;
    Ok(gateway)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_is_deterministic_and_spreads() {
        let nodes: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let mut reversed = nodes.clone();
        reversed.reverse();
        let mut hosts: std::collections::HashMap<String, usize> = Default::default();
        for i in 0..3000 {
            let room = format!("c{i}");
            let host = placement(&room, &nodes).unwrap();
            assert_eq!(placement(&room, &reversed).unwrap(), host);
            *hosts.entry(host).or_default() += 1;
        }
        // An even share is 1,000 each.
        assert!(hosts.values().all(|n| (850..1150).contains(n)), "{hosts:?}");
        assert_eq!(placement("x", &[]), None);
    }
}
