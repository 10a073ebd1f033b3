//! `/create ROOM [on NODE]`: creates a room where asked (or where placement puts it) and joins
//! it; a room that exists anywhere in the cluster is refused. `/create` alone creates a room
//! named by a random code, unlisted in `/rooms` and `chatctl rooms`: anyone given the code joins
//! it with `/join CODE`.

use super::super::state::{SessionState, create_on};
use super::join;
use crate::names::{CODE_ALPHABET, CODE_LEN, canonical_room};
use crate::protocol::{ErrorCode, Event, Refusal};
use crate::server::cluster::directory;

/// Creates `given` (on `node` if named) and joins it.
pub async fn run(
    state: &mut SessionState,
    given: String,
    node: Option<String>,
) -> Result<(), Event> {
    let refuse = |code, message: String| Event::from(Refusal::new(code, message));
    state.nick().map_err(Event::from)?;
    let name = canonical_room(&given).map_err(|e| refuse(ErrorCode::InvalidRoom, e.0))?;
    if let Some(existing) = directory::room_winner(&name) {
        let host = existing.get_name().unwrap_or_default();
        return Err(refuse(
            ErrorCode::RoomExists,
            format!("#{name} exists already ({host}); /join it"),
        ));
    }
    if let Some(node) = node {
        let gateway = directory::gateway_of(&node).ok_or_else(|| {
            refuse(
                ErrorCode::NoSuchNode,
                format!("no node called {node} is connected; /nodes lists them"),
            )
        })?;
        create_on(&gateway, &node, &name, false)
            .await
            .map_err(Event::from)?;
    }
    join::run(state, name).await
}

/// Codes drawn before giving up (each taken by a room that exists already).
const CODE_ATTEMPTS: usize = 8;

/// A random room code.
fn code() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..CODE_LEN)
        .map(|_| char::from(CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())]))
        .collect()
}

/// Creates an unlisted room named by a code no room has, where placement puts it, and joins it.
pub async fn by_code(state: &mut SessionState) -> Result<(), Event> {
    state.nick().map_err(Event::from)?;
    for _ in 0..CODE_ATTEMPTS {
        let name = code();
        if directory::room_winner(&name).is_some() {
            continue;
        }
        let owner = directory::placement(&name, &directory::reachable_nodes())
            .unwrap_or_else(|| state.ctx.local.node.clone());
        let gateway = directory::gateway_of(&owner).ok_or_else(|| {
            Event::from(Refusal::new(
                ErrorCode::RoomUnavailable,
                format!("node {owner} is unavailable; try again"),
            ))
        })?;
        create_on(&gateway, &owner, &name, true)
            .await
            .map_err(Event::from)?;
        return join::run(state, name).await;
    }
    Err(Event::from(Refusal::new(
        ErrorCode::Internal,
        "no free room code was found; try again",
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::canonical_room;

    #[test]
    fn codes_are_valid_room_names_and_differ() {
        let codes: std::collections::HashSet<String> = (0..1000).map(|_| code()).collect();
        assert!(codes.len() > 990, "codes repeat: {}", codes.len());
        for code in codes.iter().take(50) {
            assert_eq!(code.len(), CODE_LEN);
            assert_eq!(canonical_room(code).ok().as_deref(), Some(code.as_str()));
            assert!(crate::names::may_be_code(code));
        }
    }
}
