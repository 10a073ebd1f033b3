//! Typing indicators: `Typing` tells a room's other members that the user is typing (the room
//! throttles and expires it); `/typing on|off` (`ShowTyping`) chooses whether this client is told
//! when others type.

use super::super::state::{SessionState, unavailable};
use crate::protocol::{Event, Refusal};
use crate::server::msg::room::{RoomMsg, TypingPost};

/// Tells `given` that the user is typing (`active`) or stopped.
pub async fn run(state: &mut SessionState, given: String, active: bool) -> Result<(), Refusal> {
    state.nick()?;
    let name = state.room_name(Some(given))?;
    let room = state.member_room(&name).await?;
    let post = TypingPost {
        from: state.addr.clone(),
        active,
    };
    room.cast(RoomMsg::Typing(post))
        .map_err(|_| unavailable(&name))
}

/// Turns typing indicators for this client on or off.
pub fn show(state: &SessionState, on: bool) {
    state.outbound.set_typing(on);
    let text = if on {
        "typing indicators on: you will see who is typing"
    } else {
        "typing indicators off"
    };
    state.send(Event::notice(text));
}
