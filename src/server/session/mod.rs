//! The session actor: one per connection, local to its node (never remotable, so peer nodes never
//! mirror per-connection actors). Its [`state`] holds the user's nick, rooms and current room;
//! each [`Command`](crate::protocol::Command) from the connection task is executed by its own file
//! in [`commands`]. The session never sees the wire format: its connection's front decodes
//! commands and encodes events (see [`crate::server::front`]).
//!
//! Output never goes through the session's mailbox: rooms and the relay push encoded bytes into
//! the session's [`Outbound`] queue directly. When the session stops — quit, disconnect, kick,
//! panic — the registry (its parent) frees its nick and the relay removes it from its rooms.

pub mod commands;
pub mod state;

use std::net::SocketAddr;
use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef};

use crate::protocol::{ErrorCode, Event};
use crate::server::context::NodeContext;
use crate::server::front::{self, Format};
use crate::server::msg::member::MemberAddr;
use crate::server::msg::relay::RelayMsg;
use crate::server::msg::session::SessionMsg;
use crate::server::outbound::{self, Outbound, OutboundRx};
use state::{CloseOnDrop, SessionState};

/// How to start a session.
pub struct SessionArgs {
    /// The node.
    pub ctx: Arc<NodeContext>,
    /// The client's address.
    pub peer: SocketAddr,
    /// The client's outgoing queue.
    pub outbound: Outbound,
}

/// The session actor.
pub struct Session;

/// A session started for a new connection: its queue's two ends and the actor.
pub struct Opened {
    /// The sending end, for the connection's reader (its cut-offs) and the session.
    pub outbound: Outbound,
    /// The receiving end, for the connection's writer.
    pub rx: OutboundRx,
    /// The session actor, linked to the registry.
    pub session: ActorRef<SessionMsg>,
}

/// Starts the session of a connection from `peer` whose front encodes in `format`: its bounded
/// queue, the front's greeting, and the actor. `None` (logged) when the actor cannot start.
pub async fn open(ctx: &Arc<NodeContext>, peer: SocketAddr, format: Format) -> Option<Opened> {
    let (outbound, rx) = outbound::channel(ctx.tunables().send_queue, format);
    if let Some(greeting) = front::greeting(format, &ctx.local.node) {
        outbound.send_event(&greeting);
    }
    start(ctx, peer, outbound, rx).await
}

/// Starts the session of a connection from `peer` whose queue is made already (an IRC
/// connection's carries its state). `None` (logged) when the actor cannot start.
pub async fn start(
    ctx: &Arc<NodeContext>,
    peer: SocketAddr,
    outbound: Outbound,
    rx: OutboundRx,
) -> Option<Opened> {
    let args = SessionArgs {
        ctx: ctx.clone(),
        peer,
        outbound: outbound.clone(),
    };
    match Actor::spawn_linked(None, Session, args, ctx.local.registry.get_cell()).await {
        Ok((session, _)) => Some(Opened {
            outbound,
            rx,
            session,
        }),
        Err(e) => {
            tracing::error!(%peer, error = %e, "cannot start a session");
            None
        }
    }
}

/// The reason the rooms are shown when an administrator disconnects a user.
fn kick_reason(reason: Option<&str>) -> String {
    match reason {
        Some(reason) => format!("kicked: {reason}"),
        None => "kicked".to_string(),
    }
}

impl Actor for Session {
    type Msg = SessionMsg;
    type State = SessionState;
    type Arguments = SessionArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<SessionMsg>,
        args: SessionArgs,
    ) -> Result<SessionState, ActorProcessingErr> {
        let addr = MemberAddr {
            node: args.ctx.local.node.clone(),
            session: myself.get_id().pid(),
        };
        tracing::debug!(session = addr.session, peer = %args.peer, "session started");
        args.ctx.local.relay.cast(RelayMsg::Register {
            session: myself.clone(),
            outbound: args.outbound.clone(),
            peer: args.peer.to_string(),
        })?;
        Ok(SessionState {
            addr,
            nick: None,
            rooms: Vec::new(),
            current: None,
            away: None,
            close: CloseOnDrop(args.outbound.clone()),
            outbound: args.outbound,
            ctx: args.ctx,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<SessionMsg>,
        message: SessionMsg,
        state: &mut SessionState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SessionMsg::Command(command, label) => {
                let labeled = label.is_some();
                if labeled {
                    state.outbound.answering(label);
                }
                // Boxed: the command future is large, and ractor keeps the handler's future
                // inline in every session's processing loop, idle or not.
                if let Err(event) = Box::pin(commands::execute(state, &myself, command)).await {
                    state.send(event);
                }
                if labeled {
                    state.outbound.answering(None);
                }
            }
            SessionMsg::Reply(bytes) => {
                state.outbound.send(bytes);
            }
            SessionMsg::Closed(reason) => {
                tracing::debug!(session = state.addr.session, %reason, "connection closed");
                myself.stop(Some(reason));
            }
            SessionMsg::Refused(refusal) => state.send(refusal.into()),
            SessionMsg::RoomGone(room) => state.forget_room(&room),
            SessionMsg::Kick(reason) => {
                state.ctx.stats.cut_off(ErrorCode::Kicked);
                let why = reason.as_deref().unwrap_or("no reason given");
                state.send(Event::error(
                    ErrorCode::Kicked,
                    format!("you were disconnected by an administrator: {why}"),
                ));
                myself.stop(Some(kick_reason(reason.as_deref())));
            }
            SessionMsg::NickLost(nick) => {
                state.ctx.stats.cut_off(ErrorCode::NickTaken);
                state.send(Event::error(
                    ErrorCode::NickTaken,
                    format!("nick {nick:?} is held by a user on another node; disconnecting"),
                ));
                myself.stop(Some("nick collision".into()));
            }
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<SessionMsg>,
        state: &mut SessionState,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(why) = state.outbound.cut_off() {
            state.ctx.stats.cut_off(why);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kicks_name_their_reason() {
        assert_eq!(kick_reason(None), "kicked");
        assert_eq!(kick_reason(Some("spam")), "kicked: spam");
    }
}
