//! A session's state — the one owner of the user's nick, rooms and current room — and the
//! lookups every command shares: "which room do you mean", "find or create this room anywhere in
//! the cluster", and the refusals they produce.

use std::sync::Arc;

use ractor::{ActorRef, ActorStatus};

use crate::names::canonical_room;
use crate::protocol::{ErrorCode, Event, Refusal};
use crate::server::cluster::{directory, presence};
use crate::server::context::NodeContext;
use crate::server::msg::gateway::{GatewayMsg, RoomCreation};
use crate::server::msg::member::MemberAddr;
use crate::server::msg::registry::{NickHolder, RegistryMsg, RoomLookup};
use crate::server::msg::room::RoomMsg;
use crate::server::outbound::Outbound;
use crate::server::timeouts::{ROOM_CREATE_MS, ROOM_VISIBLE, ROOM_VISIBLE_POLL, SESSION_CALL_MS};

/// Closes the connection when the session's state is dropped, however the session ended.
pub struct CloseOnDrop(pub Outbound);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// A session's state.
pub struct SessionState {
    /// The node.
    pub ctx: Arc<NodeContext>,
    /// Where this session is, as rooms address it.
    pub addr: MemberAddr,
    /// The confirmed nick, once set.
    pub nick: Option<String>,
    /// Rooms joined, oldest first, with the room instance last used.
    pub rooms: Vec<(String, ActorRef<RoomMsg>)>,
    /// The room a plain line goes to.
    pub current: Option<String>,
    /// The away message, while the user is away (rooms joined meanwhile are told).
    pub away: Option<String>,
    /// The client's outgoing queue.
    pub outbound: Outbound,
    /// Closes `outbound` when the state goes.
    pub close: CloseOnDrop,
}

/// Whether a room actor is gone or going.
pub fn is_dead(room: &ActorRef<RoomMsg>) -> bool {
    matches!(
        room.get_status(),
        ActorStatus::Stopping | ActorStatus::Stopped
    )
}

/// The refusal for a room that is restarting or moving.
pub fn unavailable(room: &str) -> Refusal {
    Refusal::new(
        ErrorCode::RoomUnavailable,
        format!("#{room} is restarting; try again"),
    )
}

/// The refusal for an actor or node that did not answer (logged).
pub fn internal(what: &str, e: impl std::fmt::Display) -> Refusal {
    tracing::warn!(error = %e, "{what} unavailable");
    Refusal::new(
        ErrorCode::Internal,
        format!("{what} is unavailable; try again"),
    )
}

/// Has `node` (through its gateway) create room `name` (unlisted if asked), and waits until the
/// new room is visible here (its process-group join travels separately from the answer).
pub async fn create_on(
    gateway: &ActorRef<GatewayMsg>,
    node: &str,
    name: &str,
    unlisted: bool,
) -> Result<ActorRef<RoomMsg>, Refusal> {
    let creation = RoomCreation {
        name: name.to_string(),
        unlisted,
        replacing: None,
    };
    let created = ractor::call_t!(gateway, GatewayMsg::CreateRoom, ROOM_CREATE_MS, creation)
        .map_err(|e| internal(&format!("node {node}"), e))?;
    if !created {
        return Err(Refusal::new(
            ErrorCode::RoomUnavailable,
            format!("node {node} could not create #{name}; try again"),
        ));
    }
    let deadline = tokio::time::Instant::now() + ROOM_VISIBLE;
    loop {
        if let Some(room) = directory::room_winner(name) {
            return Ok(room);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(unavailable(name));
        }
        tokio::time::sleep(ROOM_VISIBLE_POLL).await;
    }
}

impl SessionState {
    /// Queues an event for this client.
    pub fn send(&self, event: Event) {
        self.outbound.send_event(&event);
    }

    /// The nick, or the refusal for a user who has none yet.
    pub fn nick(&self) -> Result<String, Refusal> {
        self.nick
            .clone()
            .ok_or_else(|| Refusal::new(ErrorCode::NickRequired, "set a nick first: /nick NAME"))
    }

    /// The canonical name of the given room, or of the current room.
    pub fn room_name(&self, given: Option<String>) -> Result<String, Refusal> {
        match given {
            Some(name) => {
                canonical_room(&name).map_err(|e| Refusal::new(ErrorCode::InvalidRoom, e.0))
            }
            None => self.current.clone().ok_or_else(|| {
                Refusal::new(ErrorCode::NoCurrentRoom, "you are in no room: /join ROOM")
            }),
        }
    }

    /// The room instance this session joined as `name`, if it is in that room.
    pub fn joined(&self, name: &str) -> Option<&ActorRef<RoomMsg>> {
        self.rooms.iter().find(|(n, _)| n == name).map(|(_, r)| r)
    }

    /// The room `name` this session is in, following a restart to its new actor. A room that is
    /// gone for good is forgotten.
    pub async fn member_room(&mut self, name: &str) -> Result<ActorRef<RoomMsg>, Refusal> {
        let room = self
            .joined(name)
            .cloned()
            .ok_or_else(|| Refusal::new(ErrorCode::NotInRoom, format!("you are not in #{name}")))?;
        if !is_dead(&room) {
            return Ok(room);
        }
        match self.find_room(name, false).await? {
            Some(fresh) if !is_dead(&fresh) => {
                if let Some(entry) = self.rooms.iter_mut().find(|(n, _)| n == name) {
                    entry.1 = fresh.clone();
                }
                Ok(fresh)
            }
            Some(_) => Err(unavailable(name)),
            None => {
                self.forget_room(name);
                Err(Refusal::new(
                    ErrorCode::NotInRoom,
                    format!("#{name} was closed"),
                ))
            }
        }
    }

    /// Room `name`, joined or not: the instance this session is in (following a restart), else
    /// wherever it is in the cluster; `room_not_found` when it does not exist.
    pub async fn any_room(&mut self, name: &str) -> Result<ActorRef<RoomMsg>, Refusal> {
        if self.joined(name).is_some() {
            return self.member_room(name).await;
        }
        self.find_room(name, false).await?.ok_or_else(|| {
            Refusal::new(ErrorCode::RoomNotFound, format!("there is no room #{name}"))
        })
    }

    /// Who holds `nick`, as this node's registry knows, or else the nick's home node (never
    /// [`NickHolder::AskHome`]).
    pub async fn lookup_nick(&self, nick: &str) -> Result<NickHolder, Refusal> {
        let holder = ractor::call_t!(
            self.ctx.local.registry,
            RegistryMsg::LookupNick,
            SESSION_CALL_MS,
            nick.to_string()
        )
        .map_err(|e| internal("the registry", e))?;
        Ok(presence::resolve(holder, nick, SESSION_CALL_MS).await)
    }

    /// Drops a room from this session's list (the current room moves to the last one joined).
    pub fn forget_room(&mut self, name: &str) {
        self.rooms.retain(|(n, _)| n != name);
        if self.current.as_deref() == Some(name) {
            self.current = self.rooms.last().map(|(n, _)| n.clone());
        }
    }

    /// Finds room `name` anywhere in the cluster; with `create`, creates it where placement
    /// puts it (here, or through the owner node's gateway).
    pub async fn find_room(
        &self,
        name: &str,
        create: bool,
    ) -> Result<Option<ActorRef<RoomMsg>>, Refusal> {
        // A room that exists is in its group, which this node reads without asking anyone.
        if let Some(room) = directory::room_winner(name) {
            return Ok(Some(room));
        }
        let lookup = {
            let name = name.to_string();
            ractor::call_t!(
                self.ctx.local.registry,
                |reply| RegistryMsg::GetRoom {
                    name,
                    create,
                    reply
                },
                SESSION_CALL_MS
            )
            .map_err(|e| internal("the registry", e))?
        };
        let owner = match lookup {
            RoomLookup::Found(room) => return Ok(Some(room)),
            RoomLookup::Missing => return Ok(None),
            RoomLookup::Refused { code, message } => return Err(Refusal::new(code, message)),
            RoomLookup::CreateOn(owner) => owner,
        };
        let gateway = directory::gateway_of(&owner).ok_or_else(|| unavailable(name))?;
        create_on(&gateway, &owner, name, false).await.map(Some)
    }
}
