//! `/quit [REASON]`: says goodbye and ends the session; the rooms see the reason.

use ractor::ActorRef;

use super::super::state::SessionState;
use crate::protocol::Event;
use crate::server::msg::session::SessionMsg;

/// The reason the rooms are shown.
pub fn reason(text: Option<String>) -> String {
    match text {
        Some(text) => format!("quit: {text}"),
        None => "quit".to_string(),
    }
}

/// Ends the session after `bye`.
pub fn run(state: &SessionState, myself: &ActorRef<SessionMsg>, text: Option<String>) {
    state.send(Event::notice("bye"));
    myself.stop(Some(reason(text)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_says_quit() {
        assert_eq!(reason(None), "quit");
        assert_eq!(reason(Some("lunch".into())), "quit: lunch");
    }
}
