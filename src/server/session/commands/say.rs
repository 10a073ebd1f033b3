//! A message (a plain line, `Msg`) or an action (`/me`, `Me`) in a room: the room numbers it and
//! delivers it to every member, the sender included.

use super::super::state::{SessionState, unavailable};
use crate::protocol::{ErrorCode, Refusal};
use crate::server::msg::room::{Post, RoomMsg};

/// Whether `text` has anything to say, in at most `max` bytes (`history.max_message_bytes`).
pub fn check_text(text: &str, max: usize) -> Result<(), Refusal> {
    if text.trim().is_empty() {
        return Err(Refusal::new(ErrorCode::EmptyMessage, "nothing to say"));
    }
    if text.len() > max {
        return Err(Refusal::new(
            ErrorCode::MessageTooLong,
            format!(
                "a message has at most {max} bytes, this one {}; it was not sent",
                text.len()
            ),
        ));
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
    check_text(&text, state.ctx.tunables().max_message_bytes)?;
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
    fn blank_and_long_text_is_refused() {
        assert!(check_text("hi", 2).is_ok());
        for blank in ["", " ", "\t \t"] {
            assert_eq!(
                check_text(blank, 10).unwrap_err().code,
                ErrorCode::EmptyMessage
            );
        }
        // Bytes, not characters: "é" is two.
        assert_eq!(
            check_text("héllo", 5).unwrap_err().code,
            ErrorCode::MessageTooLong
        );
        assert!(check_text("héllo", 6).is_ok());
    }
}
