//! `/nodes`: the cluster's nodes as this node sees them (just this one when not clustered).

use super::super::state::{SessionState, internal};
use crate::protocol::{Event, NodeInfo, NodeStatus, Refusal};
use crate::server::msg::membership::MembershipMsg;
use crate::server::timeouts::SESSION_CALL_MS;

/// Lists the nodes.
pub async fn run(state: &mut SessionState) -> Result<(), Refusal> {
    let nodes = match &state.ctx.membership {
        Some(membership) => ractor::call_t!(membership, MembershipMsg::Nodes, SESSION_CALL_MS)
            .map_err(|e| internal("cluster membership", e))?,
        None => vec![NodeInfo {
            name: state.ctx.local.node.clone(),
            status: NodeStatus::This,
            address: String::new(),
        }],
    };
    state.send(Event::NodeList { nodes });
    Ok(())
}
