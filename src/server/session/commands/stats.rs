//! `/stats`: how many users, rooms and nodes the cluster has, as this node sees it.

use super::super::state::SessionState;
use crate::protocol::Event;
use crate::server::cluster::directory;

/// Counts them.
pub fn run(state: &SessionState) {
    state.send(Event::Stats {
        users: directory::nick_count() as u64,
        rooms: directory::rooms().len() as u64,
        nodes: directory::reachable_nodes().len().max(1) as u64,
    });
}
