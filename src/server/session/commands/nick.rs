//! `/nick NAME`: claims a nick, unique case-insensitively across the cluster, and renames the
//! user in every room it is in.

use ractor::ActorRef;

use super::super::state::{SessionState, internal};
use crate::names::validate_nick;
use crate::protocol::{ErrorCode, Event};
use crate::server::msg::gateway::GatewayMsg;
use crate::server::msg::member::Member;
use crate::server::msg::registry::{NickClaim, RegistryMsg};
use crate::server::msg::relay::RelayMsg;
use crate::server::msg::room::RoomMsg;
use crate::server::msg::session::SessionMsg;
use crate::server::timeouts::SESSION_CALL_MS;

/// Sets or changes the nick; a refusal names the nick that was refused.
pub async fn run(
    state: &mut SessionState,
    myself: &ActorRef<SessionMsg>,
    nick: String,
) -> Result<(), Event> {
    let refuse = |code, message: String| Event::NickError {
        nick: nick.clone(),
        code,
        message,
    };
    validate_nick(&nick).map_err(|e| refuse(ErrorCode::InvalidNick, e.0))?;
    let taken = || {
        refuse(
            ErrorCode::NickTaken,
            format!("nick {nick:?} is already in use"),
        )
    };
    let registry = &state.ctx.local.registry;
    let claim = ractor::call_t!(
        registry,
        RegistryMsg::ClaimNick,
        SESSION_CALL_MS,
        nick.clone(),
        state.addr.clone(),
        myself.clone()
    )
    .map_err(|e| Event::from(internal("the registry", e)))?;
    match claim {
        NickClaim::Granted => {}
        NickClaim::Taken => return Err(taken()),
        NickClaim::AskHome { home, lease } => {
            // The nick's home node decides; its answer goes back to the registry, which holds
            // the nick for this session meanwhile.
            let answer = ractor::call_t!(home, GatewayMsg::ClaimNick, SESSION_CALL_MS, lease);
            let kept = ractor::call_t!(
                registry,
                RegistryMsg::ConfirmNick,
                SESSION_CALL_MS,
                nick.clone(),
                state.addr.clone(),
                answer.as_ref().is_ok_and(|granted| *granted)
            )
            .map_err(|e| Event::from(internal("the registry", e)))?;
            answer.map_err(|e| Event::from(internal("the nick's home node", e)))?;
            if !kept {
                return Err(taken());
            }
        }
    }
    let renamed = state.nick.replace(nick.clone()).is_some();
    let _ = state.ctx.local.relay.cast(RelayMsg::SetNick {
        session: state.addr.session,
        nick: nick.clone(),
    });
    if renamed {
        for (_, room) in &state.rooms {
            let _ = room.cast(RoomMsg::Rename(Member {
                addr: state.addr.clone(),
                nick: nick.clone(),
            }));
        }
    }
    state.outbound.set_registered();
    state.send(Event::NickOk { nick });
    Ok(())
}
