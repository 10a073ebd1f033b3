//! `/away [MESSAGE]`, `/back`: marks the user away (others who send a private message are told
//! the message; `/whois` shows it) or back.

use super::super::state::SessionState;
use crate::protocol::{ErrorCode, Event, MAX_AWAY_BYTES, Refusal};
use crate::server::msg::relay::RelayMsg;
use crate::server::msg::room::{AwayPost, RoomMsg};

/// Sets the away message (`None`: back).
pub fn run(state: &mut SessionState, message: Option<String>) -> Result<(), Refusal> {
    let nick = state.nick()?;
    let message = message.filter(|m| !m.trim().is_empty());
    if message.as_ref().is_some_and(|m| m.len() > MAX_AWAY_BYTES) {
        return Err(Refusal::new(
            ErrorCode::MessageTooLong,
            format!("an away message has at most {MAX_AWAY_BYTES} bytes"),
        ));
    }
    state.away = message.clone();
    let _ = state.ctx.local.relay.cast(RelayMsg::SetAway {
        session: state.addr.session,
        away: message.clone(),
    });
    // The rooms tell those of their members who follow away states (IRC's away-notify).
    for (_, room) in &state.rooms {
        let _ = room.cast(RoomMsg::Away(AwayPost {
            from: state.addr.clone(),
            message: message.clone(),
        }));
    }
    state.send(Event::Away { nick, message });
    Ok(())
}
