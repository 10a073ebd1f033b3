//! `/debug-panic [ROOM]` (debug builds only): makes the session or a room panic, so that tests
//! can check supervision.

use super::super::state::SessionState;
use crate::protocol::{PanicTarget, Refusal};
use crate::server::msg::room::RoomMsg;

/// Panics the session, or has the room panic.
pub async fn run(state: &mut SessionState, target: PanicTarget) -> Result<(), Refusal> {
    match target {
        PanicTarget::Session => panic!("session panic requested"),
        PanicTarget::Room(room) => {
            let name = state.room_name(Some(room))?;
            let _ = state.member_room(&name).await?.cast(RoomMsg::DebugPanic);
            Ok(())
        }
    }
}
