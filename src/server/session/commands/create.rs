//! `/create ROOM [on NODE]`: creates a room where asked (or where placement puts it) and joins
//! it; a room that exists anywhere in the cluster is refused.

use super::super::state::{SessionState, create_on};
use super::join;
use crate::names::canonical_room;
use crate::protocol::{ErrorCode, Event, Refusal};
use crate::server::cluster::directory;

/// Creates `given` (on `node` if named) and joins it.
pub async fn run(
    state: &mut SessionState,
    given: String,
    node: Option<String>,
) -> Result<(), Event> {
    let refuse = |code, message: String| Event::from(Refusal::new(code, message));
    state.nick().map_err(Event::from)?;
    let name = canonical_room(&given).map_err(|e| refuse(ErrorCode::InvalidRoom, e.0))?;
    if let Some(existing) = directory::room_winner(&name) {
        let host = existing.get_name().unwrap_or_default();
        return Err(refuse(
            ErrorCode::RoomExists,
            format!("#{name} exists already ({host}); /join it"),
        ));
    }
    if let Some(node) = node {
        let gateway = directory::gateway_of(&node).ok_or_else(|| {
            refuse(
                ErrorCode::NoSuchNode,
                format!("no node called {node} is connected; /nodes lists them"),
            )
        })?;
        create_on(&gateway, &node, &name)
            .await
            .map_err(Event::from)?;
    }
    join::run(state, name).await
}
