//! `/users [ROOM]`: the users of a room (the current one by default); any room in the cluster
//! may be asked about, joined or not.

use super::super::state::{SessionState, internal};
use crate::protocol::{Event, Refusal};
use crate::server::msg::room::RoomMsg;
use crate::server::timeouts::SESSION_CALL_MS;

/// Lists the users of `given`, or of the current room.
pub async fn run(state: &mut SessionState, given: Option<String>) -> Result<(), Refusal> {
    let name = state.room_name(given)?;
    let room = state.any_room(&name).await?;
    let list = ractor::call_t!(room, RoomMsg::Users, SESSION_CALL_MS)
        .map_err(|e| internal(&format!("#{name}"), e))?;
    state.send(Event::UserList {
        room: name,
        users: list.users,
        away: list.away,
    });
    Ok(())
}
