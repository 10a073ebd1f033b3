//! `/topic [#ROOM] [TEXT]`: shows a room's topic and operators, or sets the topic (operators;
//! an empty text clears it). Any room may be asked about, joined or not.

use super::super::state::{SessionState, internal};
use super::moderate;
use crate::protocol::{Event, Refusal};
use crate::server::msg::room::{ModAction, RoomMsg};
use crate::server::timeouts::SESSION_CALL_MS;

/// Shows (`text: None`) or sets the topic of `given`, or of the current room.
pub async fn run(
    state: &mut SessionState,
    given: Option<String>,
    text: Option<String>,
) -> Result<(), Refusal> {
    if let Some(text) = text {
        return moderate::run(state, given, ModAction::Topic(text)).await;
    }
    let name = state.room_name(given)?;
    let room = state.any_room(&name).await?;
    let reply = ractor::call_t!(room, RoomMsg::State, SESSION_CALL_MS)
        .map_err(|e| internal(&format!("#{name}"), e))?;
    state.send(Event::RoomState {
        room: name,
        topic: reply.topic,
        operators: reply.operators,
    });
    Ok(())
}
