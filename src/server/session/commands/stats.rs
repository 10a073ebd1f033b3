//! `/stats`: how many users, rooms and nodes the cluster has, as this node sees it.

use super::super::state::{SessionState, internal};
use crate::protocol::{Event, Refusal};
use crate::server::cluster::directory;
use crate::server::msg::registry::RegistryMsg;
use crate::server::timeouts::SESSION_CALL_MS;

/// Counts them: users from the cluster's nick groups, or from this node's registry when it is
/// on its own (its nicks then have no groups).
pub async fn run(state: &SessionState) -> Result<(), Refusal> {
    let users = if state.ctx.membership.is_some() {
        directory::nick_count()
    } else {
        ractor::call_t!(
            state.ctx.local.registry,
            RegistryMsg::NickCount,
            SESSION_CALL_MS
        )
        .map_err(|e| internal("the registry", e))?
    };
    state.send(Event::Stats {
        users: users as u64,
        rooms: directory::rooms().len() as u64,
        nodes: directory::reachable_nodes().len().max(1) as u64,
    });
    Ok(())
}
