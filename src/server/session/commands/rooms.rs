//! `/rooms`: every room of the cluster, asked of each reachable node.

use super::super::state::{SessionState, internal};
use crate::protocol::{Event, Refusal, RoomInfo};
use crate::server::cluster::directory;
use crate::server::timeouts::SESSION_CALL_MS;

/// Sorts rooms by name, then by hosting node.
pub fn sort(rooms: &mut [RoomInfo]) {
    rooms.sort_unstable_by(|a, b| a.name.cmp(&b.name).then_with(|| a.node.cmp(&b.node)));
}

/// Lists every room: this node's must answer, other nodes' are left out when they do not.
pub async fn run(state: &mut SessionState) -> Result<(), Refusal> {
    let local = &state.ctx.local;
    let mut rooms = match local.route(&local.node) {
        Some(route) => route
            .rooms(SESSION_CALL_MS)
            .await
            .map_err(|e| internal("the registry", e))?,
        None => Vec::new(),
    };
    for node in directory::reachable_nodes() {
        if node == local.node {
            continue;
        }
        if let Some(route) = local.route(&node)
            && let Ok(remote) = route.rooms(SESSION_CALL_MS).await
        {
            rooms.extend(remote);
        }
    }
    sort(&mut rooms);
    state.send(Event::RoomList { rooms });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_sort_by_name_then_node() {
        let room = |name: &str, node: &str| RoomInfo {
            name: name.into(),
            members: 0,
            node: node.into(),
        };
        let mut rooms = vec![room("b", "x"), room("a", "z"), room("a", "y")];
        sort(&mut rooms);
        let order: Vec<(&str, &str)> = rooms
            .iter()
            .map(|r| (r.name.as_str(), r.node.as_str()))
            .collect();
        assert_eq!(order, [("a", "y"), ("a", "z"), ("b", "x")]);
    }
}
