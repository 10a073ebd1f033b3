//! `/history [N]` and `/history after|before SEQ [N]`: a room's messages by number, from the
//! store when there is one (so a client catches up however long it was away, up to retention),
//! else from the messages the room keeps in memory.

use super::super::state::{SessionState, internal};
use crate::protocol::{ErrorCode, Event, Refusal};
use crate::server::msg::room::RoomMsg;
use crate::server::store::Range;
use crate::server::timeouts::SESSION_CALL_MS;

/// Sends the messages of `given` (or the current room) in the range; `limit` defaults to
/// `history.replay` and may be at most `history.max_fetch`.
pub async fn run(
    state: &mut SessionState,
    given: Option<String>,
    after: Option<u64>,
    before: Option<u64>,
    limit: Option<u32>,
) -> Result<(), Refusal> {
    state.nick()?;
    let name = state.room_name(given)?;
    let tunables = state.ctx.tunables();
    let max = tunables.max_fetch;
    let limit = match limit {
        Some(n) if n as usize > max => {
            return Err(Refusal::new(
                ErrorCode::BadArguments,
                format!(
                    "at most {max} messages per request (history.max_fetch); ask again from the last one"
                ),
            ));
        }
        Some(n) => n,
        None => tunables.rooms.history.min(max) as u32,
    };
    let room = state.member_room(&name).await?;
    let range = Range {
        after,
        before,
        limit,
    };
    let messages = ractor::call_t!(room, RoomMsg::History, SESSION_CALL_MS, range)
        .map_err(|e| internal(&format!("#{name}"), e))?
        .0;
    state.send(Event::History {
        room: name,
        messages,
    });
    Ok(())
}
