//! `/ping [TOKEN]`: answered at once with `Pong` and the same token.

use super::super::state::SessionState;
use crate::protocol::Event;

/// Answers the ping.
pub fn run(state: &SessionState, token: String) {
    state.send(Event::Pong { token });
}
