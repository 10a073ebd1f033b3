//! `/msg NICK TEXT`: a private message to a user on any node, echoed to the sender.

use super::super::state::{SessionState, internal};
use super::say::check_text;
use crate::names::nick_key;
use crate::protocol::{ErrorCode, Event, Refusal, now_ms};
use crate::server::msg::gateway::PrivateDelivery;
use crate::server::msg::registry::NickHolder;
use crate::server::store::PrivateMessage;
use crate::server::timeouts::SESSION_CALL_MS;

/// Sends `text` to the holder of nick `to`. A holder on this node is named as it spells its
/// nick; one on another node as the sender typed it.
pub async fn run(state: &mut SessionState, to: String, text: String) -> Result<(), Refusal> {
    let from = state.nick()?;
    check_text(&text, state.ctx.tunables().max_message_bytes)?;
    let holder = state.lookup_nick(&to).await?;
    let not_found = || Refusal::new(ErrorCode::UserNotFound, format!("no user is called {to}"));
    let (node, recipient) = match holder {
        NickHolder::Missing | NickHolder::AskHome(_) => return Err(not_found()),
        NickHolder::Local(member) => (state.ctx.local.node.clone(), member.nick),
        NickHolder::Remote(node) => (node, to.clone()),
    };
    let route = state.ctx.local.route(&node).ok_or_else(not_found)?;
    let event = Event::Private {
        from: from.clone(),
        to: recipient.clone(),
        text,
        ts: now_ms(),
    };
    let delivery = PrivateDelivery {
        nick: to.clone(),
        event: event.clone(),
    };
    let receipt = route
        .private(delivery, SESSION_CALL_MS)
        .await
        .map_err(|e| internal(&format!("node {node}"), e))?;
    if !receipt.delivered {
        return Err(not_found());
    }
    if let Some(store) = &state.ctx.store
        && state.ctx.tunables().store_private
        && let Event::Private { from, to, text, ts } = &event
    {
        store.append_private(PrivateMessage {
            from: from.clone(),
            to: to.clone(),
            text: text.clone(),
            ts: *ts,
        });
    }
    // A message to oneself arrives once, as the delivery.
    if nick_key(&recipient) != nick_key(&from) {
        state.send(event);
    }
    if let Some(message) = receipt.away {
        state.send(Event::Away {
            nick: recipient,
            message: Some(message),
        });
    }
    Ok(())
}
