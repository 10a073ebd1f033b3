//! The cluster directory: every name in the cluster's naming scheme, built and parsed in one
//! place, and the questions answered from it — who hosts a room, which nodes are reachable, where
//! a nick is held, where a new room should live.
//!
//! The scheme (ractor's process groups and actor names are all a node can see of its peers):
//!
//! | what | name | example |
//! |---|---|---|
//! | a node's gateway (actor) | `gateway@NODE` | `gateway@alpha` |
//! | every gateway (process group) | `chatd.gateways` | |
//! | a room instance (actor) | `room:NAME@NODE/INCARNATION` | `room:general@alpha/0000000003` |
//! | every instance of a room (process group) | `room:NAME` | `room:general` |
//! | a held nick (group `KEY` in scope `chatd.nicks`) | the nick's folded key | `alice` |
//! | a peer node as ractor_cluster names it | `NODE@HOST` | `alpha@127.0.0.1` |
//!
//! No other file spells these names.

use ractor::ActorRef;

use crate::server::msg::gateway::GatewayMsg;
use crate::server::msg::room::RoomMsg;

/// The process group every node's gateway joins.
const GATEWAYS: &str = "chatd.gateways";
/// The pg scope of nicks: one group per claimed nick (its folded key), joined by the gateway of
/// each node where a session holds it (normally one node).
pub const NICKS: &str = "chatd.nicks";
const GATEWAY_PREFIX: &str = "gateway@";
const ROOM_PREFIX: &str = "room:";

/// The actor name of `node`'s gateway (names travel with remote references).
pub fn gateway_name(node: &str) -> String {
    format!("{GATEWAY_PREFIX}{node}")
}

/// The node whose gateway has actor name `name`.
pub fn node_of_gateway(name: &str) -> Option<&str> {
    name.strip_prefix(GATEWAY_PREFIX)
}

/// Whether `group` is the process group of every gateway.
pub fn is_gateways(group: &str) -> bool {
    group == GATEWAYS
}

/// The process group of every gateway, for joining and monitoring it.
pub fn gateways_group() -> String {
    GATEWAYS.to_string()
}

/// The process group of every instance of room `name` (normally one).
pub fn room_group(name: &str) -> String {
    format!("{ROOM_PREFIX}{name}")
}

/// The room whose process group is `group`.
pub fn room_of_group(group: &str) -> Option<&str> {
    group.strip_prefix(ROOM_PREFIX)
}

/// The actor name of incarnation `incarnation` of room `name` hosted on `node`: unique in the
/// cluster, and what decides which instance wins when two exist (node names compare first; the
/// incarnation is zero-padded so that names order as numbers do).
pub fn room_actor_name(name: &str, node: &str, incarnation: u64) -> String {
    format!("{ROOM_PREFIX}{name}@{node}/{incarnation:010}")
}

/// The node in a room's actor name, `room:NAME@NODE/N`.
pub fn host_of(actor_name: &str) -> Option<&str> {
    let (_, rest) = actor_name.split_once('@')?;
    Some(rest.split('/').next().unwrap_or(rest))
}

/// The chatd node name in ractor_cluster's name for a peer, `NODE@HOST`.
pub fn node_of_peer(peer_name: &str) -> &str {
    peer_name.split('@').next().unwrap_or_default()
}

/// Of several instances of a room (by actor name), the one every node agrees on: the lowest name.
pub fn winner<T>(instances: impl IntoIterator<Item = (String, T)>) -> Option<T> {
    instances
        .into_iter()
        .min_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, instance)| instance)
}

/// The instance of room `name` every node agrees on, among those this node can see.
pub fn room_winner(name: &str) -> Option<ActorRef<RoomMsg>> {
    room_winner_apart_from(name, None)
}

/// [`room_winner`] among the instances not hosted on node `gone` (a node known to be down
/// that this node may not have heard of yet).
pub fn room_winner_apart_from(name: &str, gone: Option<&str>) -> Option<ActorRef<RoomMsg>> {
    winner(
        ractor::pg::get_members(&room_group(name))
            .into_iter()
            .filter_map(|cell| cell.get_name().map(|n| (n, cell)))
            .filter(|(n, _)| gone.is_none() || host_of(n) != gone),
    )
    .map(Into::into)
}

/// The instance of room `name` with actor name `actor_name`, if this node can see it.
pub fn room_instance(name: &str, actor_name: &str) -> Option<ActorRef<RoomMsg>> {
    ractor::pg::get_members(&room_group(name))
        .into_iter()
        .find(|cell| cell.get_name().as_deref() == Some(actor_name))
        .map(Into::into)
}

/// Every room this node can see an instance of, by name.
pub fn rooms() -> Vec<String> {
    ractor::pg::which_groups()
        .iter()
        .filter_map(|group| room_of_group(group).map(str::to_string))
        .collect()
}

/// `node`'s gateway, if that node is connected (or is this one).
pub fn gateway_of(node: &str) -> Option<ActorRef<GatewayMsg>> {
    let name = gateway_name(node);
    ractor::pg::get_members(&GATEWAYS.to_string())
        .into_iter()
        .find(|cell| cell.get_name().as_deref() == Some(name.as_str()))
        .map(Into::into)
}

/// The gateways this node can see (its own included), with their nodes' names.
pub fn gateways() -> Vec<(String, ActorRef<GatewayMsg>)> {
    ractor::pg::get_members(&GATEWAYS.to_string())
        .into_iter()
        .filter_map(|cell| {
            let node = node_of_gateway(&cell.get_name()?)?.to_string();
            Some((node, cell.into()))
        })
        .collect()
}

/// The nodes whose gateways this node can see (itself included), by name.
pub fn reachable_nodes() -> Vec<String> {
    ractor::pg::get_members(&GATEWAYS.to_string())
        .into_iter()
        .filter_map(|cell| cell.get_name())
        .filter_map(|name| node_of_gateway(&name).map(str::to_string))
        .collect()
}

/// The nodes where nick `key` is held, as far as this node can see.
pub fn nick_holders(key: &str) -> Vec<String> {
    ractor::pg::get_scoped_members(&NICKS.to_string(), &key.to_string())
        .into_iter()
        .filter_map(|cell| cell.get_name())
        .filter_map(|name| node_of_gateway(&name).map(str::to_string))
        .collect()
}

/// How many nicks are held, cluster-wide, as far as this node can see.
pub fn nick_count() -> usize {
    ractor::pg::which_scoped_groups(&NICKS.to_string()).len()
}

/// Where a new room `name` should live, or which node decides claims of nick `name`:
/// rendezvous hashing over `nodes` (the highest hash of name and node wins), so that every node
/// picks the same one and a node joining or leaving moves only its own share. `None` for an
/// empty list.
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

    #[test]
    fn placement_moves_only_the_leaving_nodes_rooms() {
        let three: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let two: Vec<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
        for i in 0..500 {
            let room = format!("r{i}");
            let before = placement(&room, &three).unwrap();
            if before != "c" {
                assert_eq!(placement(&room, &two).unwrap(), before, "{room} moved");
            }
        }
    }

    #[test]
    fn names_round_trip() {
        assert_eq!(node_of_gateway(&gateway_name("alpha")), Some("alpha"));
        assert_eq!(node_of_gateway("room:x"), None);
        assert_eq!(room_of_group(&room_group("general")), Some("general"));
        assert_eq!(room_of_group("chatd.gateways"), None);
        let actor = room_actor_name("general", "bravo", 7);
        assert_eq!(actor, "room:general@bravo/0000000007");
        assert_eq!(host_of(&actor), Some("bravo"));
        assert_eq!(node_of_peer("alpha@127.0.0.1"), "alpha");
        assert!(is_gateways(&gateways_group()));
    }

    #[test]
    fn the_lowest_node_wins_then_the_oldest_incarnation() {
        let copies = |names: &[(&str, u64)]| -> Vec<(String, String)> {
            names
                .iter()
                .map(|(node, n)| {
                    let name = room_actor_name("general", node, *n);
                    (name, node.to_string() + &n.to_string())
                })
                .collect()
        };
        assert_eq!(
            winner(copies(&[("charlie", 1), ("alpha", 9), ("bravo", 2)])),
            Some("alpha9".to_string())
        );
        // Incarnations compare as numbers (2 before 10), not as text.
        assert_eq!(
            winner(copies(&[("alpha", 10), ("alpha", 2)])),
            Some("alpha2".to_string())
        );
        assert_eq!(winner(Vec::<(String, ())>::new()), None);
    }
}
