//! What `/topic`, `/op`, `/deop` and `/kick` share: asking a room the user is in to do what only
//! its operators may.

use super::super::state::{SessionState, internal};
use crate::protocol::Refusal;
use crate::server::msg::room::{ModAction, ModReply, ModRequest, RoomMsg};
use crate::server::timeouts::SESSION_CALL_MS;

/// Asks room `given` (or the current one) to do `action`; the room tells its members.
pub async fn run(
    state: &mut SessionState,
    given: Option<String>,
    action: ModAction,
) -> Result<(), Refusal> {
    state.nick()?;
    let name = state.room_name(given)?;
    let room = state.member_room(&name).await?;
    let request = ModRequest {
        from: state.addr.clone(),
        action,
    };
    match ractor::call_t!(room, RoomMsg::Moderate, SESSION_CALL_MS, request) {
        Ok(ModReply::Done) => Ok(()),
        Ok(ModReply::Refused { code, message }) => Err(Refusal::new(code, message)),
        Err(e) => Err(internal(&format!("#{name}"), e)),
    }
}
