//! A message (a plain line, `Msg`) or an action (`/me`, `Me`) in a room: the room numbers it and
//! delivers it to every member, the sender included.

use super::super::state::{SessionState, unavailable};
use crate::protocol::{ErrorCode, Refusal};
use crate::server::msg::room::{Post, RoomMsg};

/// Whether `text` has anything to say.
pub fn check_text(text: &str) -> Result<(), Refusal> {
    if text.trim().is_empty() {
        return Err(Refusal::new(ErrorCode::EmptyMessage, "nothing to say"));
    }
    Ok(())
}

/// Says `text` in `given` (or the current room); `action` for `/me`.
pub async fn run(
    state: &mut SessionState,
    given: Option<String>,
    text: String,
    action: bool,
) -> Result<(), Refusal> {
    state.nick()?;
    let name = state.room_name(given)?;
    check_text(&text)?;
    let room = state.member_room(&name).await?;
    let post = Post {
        from: state.addr.clone(),
        text,
        action,
    };
    room.cast(RoomMsg::Post(post))
        .map_err(|_| unavailable(&name))?;
    state.ctx.stats.message_in();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_text_is_refused() {
        assert!(check_text("hi").is_ok());
        for blank in ["", " ", "\t \t"] {
            assert_eq!(check_text(blank).unwrap_err().code, ErrorCode::EmptyMessage);
        }
    }
}
