//! `/whois NICK`: a user's node, rooms and away message, wherever it is connected.

use super::super::state::{SessionState, internal};
use crate::protocol::{ErrorCode, Event, Refusal};
use crate::server::msg::registry::NickHolder;
use crate::server::timeouts::SESSION_CALL_MS;

/// Shows the holder of `nick`.
pub async fn run(state: &mut SessionState, nick: String) -> Result<(), Refusal> {
    state.nick()?;
    let not_found = || Refusal::new(ErrorCode::UserNotFound, format!("no user is called {nick}"));
    let node = match state.lookup_nick(&nick).await? {
        NickHolder::Missing | NickHolder::AskHome(_) => return Err(not_found()),
        NickHolder::Local(_) => state.ctx.local.node.clone(),
        NickHolder::Remote(node) => node,
    };
    let route = state.ctx.local.route(&node).ok_or_else(not_found)?;
    let presence = route
        .whois(&nick, SESSION_CALL_MS)
        .await
        .map_err(|e| internal(&format!("node {node}"), e))?
        .ok_or_else(not_found)?;
    state.send(Event::UserInfo {
        nick: presence.nick,
        node: presence.node,
        rooms: presence.rooms,
        away: presence.away,
        since: presence.since,
    });
    Ok(())
}
