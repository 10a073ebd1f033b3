//! `/op [#ROOM] NICK`, `/deop [#ROOM] NICK`: makes a member an operator of the room, or not
//! (operators only).

use super::super::state::SessionState;
use super::moderate;
use crate::protocol::Refusal;
use crate::server::msg::room::ModAction;

/// Gives (`on`) or takes operator status.
pub async fn run(
    state: &mut SessionState,
    given: Option<String>,
    nick: String,
    on: bool,
) -> Result<(), Refusal> {
    moderate::run(state, given, ModAction::Op { nick, on }).await
}
