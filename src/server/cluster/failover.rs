//! Room failover: when the node hosting a room dies, a node with members in it asks the node
//! that placement now picks (the dead host excluded) to re-create the room. The members and the
//! recent history follow from the relays that kept them (see [`crate::server::relay`]).

use std::time::Duration;

use super::directory;
use crate::server::msg::gateway::{GatewayMsg, RoomCreation};
use crate::server::timeouts::FAILOVER_CREATE_MS;

/// How many times a room is asked to be re-created before giving up.
const ATTEMPTS: usize = 20;
/// The pause between those tries.
const RETRY: Duration = Duration::from_millis(100);

/// The node that should host `room` now, among `reachable` without `dead_host`.
pub fn new_host(room: &str, reachable: Vec<String>, dead_host: Option<&str>) -> Option<String> {
    let nodes: Vec<String> = reachable
        .into_iter()
        .filter(|n| Some(n.as_str()) != dead_host)
        .collect();
    directory::placement(room, &nodes)
}

/// Has `room`, whose host `dead_host` is gone, re-created (unlisted again if it was) where
/// placement now puts it; runs in the background and stops as soon as an instance of the room
/// is visible.
pub fn recreate(room: String, dead_host: Option<String>, unlisted: bool) {
    tokio::spawn(async move {
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(RETRY).await;
            }
            if directory::room_winner(&room).is_some() {
                return;
            }
            // The dead host may still look reachable for a moment (its gateway's departure can
            // arrive after its room's), and placement favours it for this room.
            let owner = new_host(&room, directory::reachable_nodes(), dead_host.as_deref());
            let Some(gateway) = owner.as_deref().and_then(directory::gateway_of) else {
                continue;
            };
            tracing::warn!(%room, owner = ?owner, "room host is gone; re-creating the room");
            if let Ok(true) = ractor::call_t!(
                gateway,
                GatewayMsg::CreateRoom,
                FAILOVER_CREATE_MS,
                RoomCreation {
                    name: room.clone(),
                    unlisted,
                    replacing: dead_host.clone(),
                }
            ) {
                return;
            }
        }
        tracing::error!(%room, "could not re-create the room after its host left");
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dead_host_is_never_chosen() {
        let nodes: Vec<String> = ["alpha", "bravo", "charlie"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for i in 0..200 {
            let room = format!("r{i}");
            let first = directory::placement(&room, &nodes).unwrap();
            let next = new_host(&room, nodes.clone(), Some(&first)).unwrap();
            assert_ne!(next, first);
            // Without a dead host, placement is unchanged.
            assert_eq!(new_host(&room, nodes.clone(), None).unwrap(), first);
        }
        assert_eq!(new_host("r", vec!["alpha".into()], Some("alpha")), None);
    }
}
