//! `/join ROOM`: joins a room anywhere in the cluster (creating it where placement puts it) and
//! makes it the current room; joining a room the user is in only makes it current.

use std::time::Duration;

use super::super::state::SessionState;
use crate::names::canonical_room;
use crate::protocol::{ErrorCode, Event};
use crate::server::msg::member::Member;
use crate::server::msg::room::{AwayPost, JoinReply, RoomMsg};
use crate::server::timeouts::{REMOTE_JOIN_MS, SESSION_CALL_MS};

/// How many times a join looks the room up again when the room it found is gone.
const ATTEMPTS: usize = 4;

/// The pause before attempt `attempt` (1-based retries) when the room found last time was on
/// another node: 40, 80, 160 ms — time for its departure to reach this node. A room of this node
/// leaves its group before it stops, so a retry after one of those does not wait (not even a zero
/// sleep: tokio's timer would round it up to its next millisecond tick).
fn pause(attempt: usize) -> Duration {
    Duration::from_millis(20 << attempt)
}

/// Joins `given`; a refusal names the room as given.
pub async fn run(state: &mut SessionState, given: String) -> Result<(), Event> {
    let refuse = |code, message: String| Event::JoinError {
        room: given.clone(),
        code,
        message,
    };
    let nick = state.nick().map_err(|r| refuse(r.code, r.message))?;
    let name = canonical_room(&given).map_err(|e| refuse(ErrorCode::InvalidRoom, e.0))?;
    if state.joined(&name).is_some() {
        state.current = Some(name.clone());
        state.send(Event::Notice {
            room: Some(name.clone()),
            text: format!("#{name} is now your current room"),
        });
        return Ok(());
    }
    let max = state.ctx.tunables().max_rooms_per_session;
    if state.rooms.len() >= max {
        return Err(refuse(
            ErrorCode::TooManyRooms,
            format!("you are in {max} rooms already; /leave one first"),
        ));
    }
    let member = Member {
        addr: state.addr.clone(),
        nick,
    };
    // A room found a moment ago may have closed (empty) or be merging with a copy on another
    // node: look again a few times before giving up.
    let mut remote_failed = false;
    for attempt in 0..ATTEMPTS {
        if remote_failed {
            tokio::time::sleep(pause(attempt)).await;
        }
        let room = state
            .find_room(&name, true)
            .await
            .map_err(|r| refuse(r.code, r.message))?
            .ok_or_else(|| refuse(ErrorCode::Internal, "the room could not be created".into()))?;
        let wait = if room.get_id().is_local() {
            SESSION_CALL_MS
        } else {
            REMOTE_JOIN_MS
        };
        match ractor::call_t!(room, RoomMsg::Join, wait, member.clone()) {
            Ok(JoinReply::Joined) => {
                // Its members (and its WHO) learn that the newcomer is away, as IRC's
                // away-notify has it.
                if state.away.is_some() {
                    let _ = room.cast(RoomMsg::Away(AwayPost {
                        from: state.addr.clone(),
                        message: state.away.clone(),
                    }));
                }
                state.rooms.push((name.clone(), room));
                state.current = Some(name);
                return Ok(());
            }
            Ok(JoinReply::Refused { code, message }) => return Err(refuse(code, message)),
            Err(e) => {
                tracing::debug!(room = %name, error = %e, "join failed; looking again");
                remote_failed = !room.get_id().is_local();
            }
        }
    }
    Err(refuse(
        ErrorCode::RoomUnavailable,
        format!("#{name} is unavailable; try again"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off() {
        let pauses: Vec<u64> = (1..ATTEMPTS).map(|a| pause(a).as_millis() as u64).collect();
        assert_eq!(pauses, [40, 80, 160]);
    }
}
