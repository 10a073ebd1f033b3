//! Which of some nicks are online (IRC's `ISON` and `USERHOST`).

use super::super::state::SessionState;
use crate::protocol::{ErrorCode, Event, Refusal};
use crate::server::msg::registry::NickHolder;

/// The most nicks one question may ask about.
pub const MAX_NICKS: usize = 32;

/// Answers with those of `nicks` that are online, as their holders spell them when they are
/// connected here.
pub async fn run(state: &mut SessionState, nicks: Vec<String>) -> Result<(), Refusal> {
    if nicks.len() > MAX_NICKS {
        return Err(Refusal::new(
            ErrorCode::BadArguments,
            format!("ask about at most {MAX_NICKS} nicks at once"),
        ));
    }
    let mut online = Vec::new();
    for nick in nicks {
        match state.lookup_nick(&nick).await? {
            NickHolder::Local(member) => online.push(member.nick),
            NickHolder::Remote(_) => online.push(nick),
            NickHolder::Missing | NickHolder::AskHome(_) => {}
        }
    }
    state.send(Event::Online { nicks: online });
    Ok(())
}
