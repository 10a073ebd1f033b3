//! `/kick [#ROOM] NICK [REASON]`: removes a member from the room (operators only); it may join
//! again.

use super::super::state::SessionState;
use super::moderate;
use crate::protocol::Refusal;
use crate::server::msg::room::ModAction;

/// Removes `nick` from `given`, or from the current room.
pub async fn run(
    state: &mut SessionState,
    given: Option<String>,
    nick: String,
    reason: Option<String>,
) -> Result<(), Refusal> {
    moderate::run(state, given, ModAction::Kick { nick, reason }).await
}
