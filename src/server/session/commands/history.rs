//! `/history [N]`: the last N kept messages of a room the user is in (all kept by default).

use super::super::state::{SessionState, internal};
use crate::protocol::{Event, Refusal};
use crate::server::msg::room::RoomMsg;
use crate::server::timeouts::SESSION_CALL_MS;

/// Sends the room's last `limit` messages (all kept for `None`).
pub async fn run(
    state: &mut SessionState,
    given: Option<String>,
    limit: Option<u32>,
) -> Result<(), Refusal> {
    state.nick()?;
    let name = state.room_name(given)?;
    let room = state.member_room(&name).await?;
    let messages = ractor::call_t!(room, RoomMsg::History, SESSION_CALL_MS, limit.unwrap_or(0))
        .map_err(|e| internal(&format!("#{name}"), e))?
        .0;
    state.send(Event::History {
        room: name,
        messages,
    });
    Ok(())
}
