//! `/leave [ROOM [REASON]]`: leaves a room (the current one by default), with a reason the
//! others are shown as `part: REASON`.

use super::super::state::SessionState;
use crate::protocol::{Event, PART_PREFIX, Refusal};
use crate::server::msg::relay::RelayMsg;
use crate::server::msg::room::{Departure, RoomMsg};

/// Leaves `given`, or the current room, with `reason`. The room sends `Left` after its last
/// event for the user; a room that is gone is left here at once.
pub async fn run(
    state: &mut SessionState,
    given: Option<String>,
    reason: Option<String>,
) -> Result<(), Refusal> {
    state.nick()?;
    let name = state.room_name(given)?;
    let room = state.member_room(&name).await?;
    let departure = Departure {
        addr: state.addr.clone(),
        reason: reason.map(|r| format!("{PART_PREFIX}{r}")),
        voluntary: true,
    };
    if room.cast(RoomMsg::Leave(departure)).is_err() {
        // The room is gone or restarting: stop its deliveries here.
        let _ = state.ctx.local.relay.cast(RelayMsg::Unsubscribe {
            room: name.clone(),
            session: state.addr.session,
            farewell: Event::Left { room: name.clone() },
        });
    }
    state.forget_room(&name);
    Ok(())
}
