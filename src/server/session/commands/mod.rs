//! The commands a session executes, one file each; this file only dispatches. A command either
//! succeeds (its events are on their way to the client) or fails with the one event that tells
//! the client why.

mod away;
mod create;
#[cfg(debug_assertions)]
mod debug_panic;
mod help;
mod history;
mod join;
mod kick;
mod leave;
mod moderate;
mod nick;
mod nodes;
mod online;
mod op;
mod ping;
mod private;
mod quit;
mod rooms;
mod say;
mod stats;
mod topic;
mod typing;
mod users;
mod whois;

use ractor::ActorRef;

use super::state::SessionState;
use crate::protocol::{Command, Event, check_text};
use crate::server::msg::session::SessionMsg;

/// Executes one command for the session `myself`. Its text passes the same check whatever front
/// it came from ([`check_text`]): a control character refuses the command.
pub async fn execute(
    state: &mut SessionState,
    myself: &ActorRef<SessionMsg>,
    command: Command,
) -> Result<(), Event> {
    for text in command.texts() {
        check_text(text)?;
    }
    match command {
        Command::Nick(nick) => nick::run(state, myself, nick).await,
        Command::Join(room) => join::run(state, room).await,
        Command::Leave(room) => Ok(leave::run(state, room, None).await?),
        Command::Part { room, reason } => Ok(leave::run(state, room, Some(reason)).await?),
        Command::Away(message) => Ok(away::run(state, message)?),
        Command::Whois(nick) => Ok(whois::run(state, nick).await?),
        Command::Online(nicks) => Ok(online::run(state, nicks).await?),
        Command::Topic { room, text } => Ok(topic::run(state, room, text).await?),
        Command::Op { room, nick, on } => Ok(op::run(state, room, nick, on).await?),
        Command::Kick { room, nick, reason } => Ok(kick::run(state, room, nick, reason).await?),
        Command::Stats => Ok(stats::run(state).await?),
        Command::Msg { room, text } => Ok(say::run(state, room, text, false).await?),
        Command::Me { room, text } => Ok(say::run(state, room, text, true).await?),
        Command::PrivateMsg { to, text } => Ok(private::run(state, to, text).await?),
        Command::ListRooms => Ok(rooms::run(state).await?),
        Command::ListUsers(room) => Ok(users::run(state, room).await?),
        Command::History { room, limit } => Ok(history::run(state, room, None, None, limit).await?),
        Command::HistoryRange {
            room,
            after,
            before,
            limit,
        } => Ok(history::run(state, room, after, before, limit).await?),
        Command::Ping(token) => {
            ping::run(state, token);
            Ok(())
        }
        Command::Quit(reason) => {
            quit::run(state, myself, reason);
            Ok(())
        }
        Command::ListNodes => Ok(nodes::run(state).await?),
        Command::Create { room, node } => create::run(state, room, node).await,
        Command::CreateCode => create::by_code(state).await,
        Command::Typing { room, active } => Ok(typing::run(state, room, active).await?),
        Command::ShowTyping(on) => {
            typing::show(state, on);
            Ok(())
        }
        Command::Help => {
            help::run(state);
            Ok(())
        }
        #[cfg(debug_assertions)]
        Command::DebugPanic(target) => Ok(debug_panic::run(state, target).await?),
    }
}
