//! The session actor: one per connection, local to its node (never remotable, so peer nodes never
//! mirror per-connection actors). It holds the user's nick, rooms and current room, and turns each
//! [`Command`] from its connection task into calls and casts to the registry, rooms and relay.
//!
//! Output never goes through the session's mailbox: rooms and the relay push encoded bytes into
//! the session's [`Outbound`] queue directly. When the session stops — quit, disconnect, kick,
//! panic — the registry (its parent) frees its nick and the relay removes it from its rooms.

use std::net::SocketAddr;
use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef, ActorStatus};
use ractor_cluster::RactorMessage;

use crate::names::{canonical_room, validate_nick};
use crate::protocol::line::HELP;
use crate::protocol::{
    Command, ErrorCode, Event, NodeInfo, NodeStatus, PROTOCOL_VERSION, Protocol, Refusal, now_ms,
};
use crate::server::cluster::membership::MembershipMsg;
use crate::server::cluster::{
    self,
    gateway::{GatewayMsg, PrivateDelivery},
};
use crate::server::node::NodeContext;
use crate::server::outbound::Outbound;
use crate::server::registry::{NickClaim, NickHolder, RegistryMsg, RoomLookup};
use crate::server::relay::RelayMsg;
use crate::server::room::{Departure, JoinReply, Member, MemberAddr, Post, RoomMsg};

/// How long a session waits for the registry or a room before reporting an error.
const CALL_TIMEOUT_MS: u64 = 5000;
/// How many times a join looks the room up again when the room it found is gone.
const JOIN_ATTEMPTS: usize = 4;
/// How long a room created on another node may take to become visible here.
const ROOM_VISIBLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// What a session is told.
#[derive(RactorMessage)]
pub enum SessionMsg {
    /// A command from the client.
    Command(Command),
    /// A command was refused before it was parsed (bad syntax, rate limit); tell the client.
    Refused(Refusal),
    /// The connection ended, for this reason.
    Closed(String),
    /// A room this session was in was closed for good.
    RoomGone(String),
    /// An administrator disconnects this client, with an optional reason.
    Kick(Option<String>),
    /// The nick was found held on a node with a lower name too (after a partition healed):
    /// that node keeps it and this session is disconnected, as IRC's nick collision does.
    NickLost(String),
}

/// How to start a session.
pub struct SessionArgs {
    /// The node.
    pub ctx: Arc<NodeContext>,
    /// The client's address.
    pub peer: SocketAddr,
    /// The client's outgoing queue.
    pub outbound: Outbound,
}

/// Closes the connection when the session's state is dropped, however the session ended.
struct CloseOnDrop(Outbound);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// The session actor.
pub struct Session;

/// A session's state.
pub struct SessionState {
    ctx: Arc<NodeContext>,
    addr: MemberAddr,
    nick: Option<String>,
    /// Rooms joined, oldest first.
    rooms: Vec<(String, ActorRef<RoomMsg>)>,
    current: Option<String>,
    outbound: Outbound,
    _close: CloseOnDrop,
}

fn is_dead(room: &ActorRef<RoomMsg>) -> bool {
    matches!(
        room.get_status(),
        ActorStatus::Stopping | ActorStatus::Stopped
    )
}

fn unavailable(room: &str) -> Refusal {
    Refusal::new(
        ErrorCode::RoomUnavailable,
        format!("#{room} is restarting; try again"),
    )
}

/// Has `node` (through its gateway) create room `name`, and waits until the new room is visible
/// here (its process-group join travels separately from the answer).
async fn create_on(
    gateway: &ActorRef<GatewayMsg>,
    node: &str,
    name: &str,
) -> Result<ActorRef<RoomMsg>, Refusal> {
    let created = ractor::call_t!(
        gateway,
        GatewayMsg::CreateRoom,
        CALL_TIMEOUT_MS,
        name.to_string()
    )
    .map_err(|e| internal(&format!("node {node}"), e))?;
    if !created {
        return Err(Refusal::new(
            ErrorCode::RoomUnavailable,
            format!("node {node} could not create #{name}; try again"),
        ));
    }
    let deadline = tokio::time::Instant::now() + ROOM_VISIBLE_TIMEOUT;
    loop {
        if let Some(room) = cluster::room_winner(name) {
            return Ok(room);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(unavailable(name));
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

fn internal(what: &str, e: impl std::fmt::Display) -> Refusal {
    tracing::warn!(error = %e, "{what} unavailable");
    Refusal::new(
        ErrorCode::Internal,
        format!("{what} is unavailable; try again"),
    )
}

impl SessionState {
    fn send(&self, event: Event) {
        self.outbound.send_event(&event);
    }

    fn nick(&self) -> Result<String, Refusal> {
        self.nick
            .clone()
            .ok_or_else(|| Refusal::new(ErrorCode::NickRequired, "set a nick first: /nick NAME"))
    }

    /// The canonical name of the given room, or of the current room.
    fn room_name(&self, given: Option<String>) -> Result<String, Refusal> {
        match given {
            Some(name) => {
                canonical_room(&name).map_err(|e| Refusal::new(ErrorCode::InvalidRoom, e.0))
            }
            None => self.current.clone().ok_or_else(|| {
                Refusal::new(ErrorCode::NoCurrentRoom, "you are in no room: /join ROOM")
            }),
        }
    }

    fn joined(&self, name: &str) -> Option<&ActorRef<RoomMsg>> {
        self.rooms.iter().find(|(n, _)| n == name).map(|(_, r)| r)
    }

    /// The room `name` this session is in, following a restart to its new actor. A room that is
    /// gone for good is forgotten.
    async fn member_room(&mut self, name: &str) -> Result<ActorRef<RoomMsg>, Refusal> {
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

    fn forget_room(&mut self, name: &str) {
        self.rooms.retain(|(n, _)| n != name);
        if self.current.as_deref() == Some(name) {
            self.current = self.rooms.last().map(|(n, _)| n.clone());
        }
    }

    /// Finds room `name` anywhere in the cluster; with `create`, creates it where placement
    /// puts it (here, or through the owner node's gateway).
    async fn find_room(
        &self,
        name: &str,
        create: bool,
    ) -> Result<Option<ActorRef<RoomMsg>>, Refusal> {
        let lookup = {
            let name = name.to_string();
            ractor::call_t!(
                self.ctx.registry,
                |reply| RegistryMsg::GetRoom {
                    name,
                    create,
                    reply
                },
                CALL_TIMEOUT_MS
            )
            .map_err(|e| internal("the registry", e))?
        };
        let owner = match lookup {
            RoomLookup::Found(room) => return Ok(Some(room)),
            RoomLookup::Missing => return Ok(None),
            RoomLookup::CreateOn(owner) => owner,
        };
        let gateway = cluster::gateway_of(&owner).ok_or_else(|| unavailable(name))?;
        create_on(&gateway, &owner, name).await.map(Some)
    }

    async fn set_nick(&mut self, myself: &ActorRef<SessionMsg>, nick: String) -> Result<(), Event> {
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
        let claim = ractor::call_t!(
            self.ctx.registry,
            RegistryMsg::ClaimNick,
            CALL_TIMEOUT_MS,
            nick.clone(),
            self.addr.clone(),
            myself.clone()
        )
        .map_err(|e| Event::from(internal("the registry", e)))?;
        match claim {
            NickClaim::Granted => {}
            NickClaim::Taken => return Err(taken()),
            NickClaim::Tentative => {
                // Give a simultaneous claim on another node time to become visible here.
                tokio::time::sleep(self.ctx.nick_settle).await;
                let kept = ractor::call_t!(
                    self.ctx.registry,
                    RegistryMsg::ConfirmNick,
                    CALL_TIMEOUT_MS,
                    nick.clone(),
                    self.addr.clone()
                )
                .map_err(|e| Event::from(internal("the registry", e)))?;
                if !kept {
                    return Err(taken());
                }
            }
        }
        let renamed = self.nick.replace(nick.clone()).is_some();
        let _ = self.ctx.relay.cast(RelayMsg::SetNick {
            session: self.addr.session,
            nick: nick.clone(),
        });
        if renamed {
            for (_, room) in &self.rooms {
                let _ = room.cast(RoomMsg::Rename(Member {
                    addr: self.addr.clone(),
                    nick: nick.clone(),
                }));
            }
        }
        self.send(Event::NickOk { nick });
        Ok(())
    }

    async fn join(&mut self, given: String) -> Result<(), Event> {
        let refuse = |code, message: String| Event::JoinError {
            room: given.clone(),
            code,
            message,
        };
        let nick = self.nick().map_err(|r| refuse(r.code, r.message))?;
        let name = canonical_room(&given).map_err(|e| refuse(ErrorCode::InvalidRoom, e.0))?;
        if self.joined(&name).is_some() {
            self.current = Some(name.clone());
            self.send(Event::Notice {
                room: Some(name.clone()),
                text: format!("#{name} is now your current room"),
            });
            return Ok(());
        }
        let max = self.ctx.tunables().max_rooms_per_session;
        if self.rooms.len() >= max {
            return Err(refuse(
                ErrorCode::TooManyRooms,
                format!("you are in {max} rooms already; /leave one first"),
            ));
        }
        let member = Member {
            addr: self.addr.clone(),
            nick,
        };
        // A room found a moment ago may have closed (empty) or be merging with a copy on another
        // node: look again a few times before giving up.
        for attempt in 0..JOIN_ATTEMPTS {
            if attempt > 0 {
                // Let the departure of the room found last time reach this node.
                tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
            }
            let room = self
                .find_room(&name, true)
                .await
                .map_err(|r| refuse(r.code, r.message))?
                .ok_or_else(|| {
                    refuse(ErrorCode::Internal, "the room could not be created".into())
                })?;
            match ractor::call_t!(room, RoomMsg::Join, CALL_TIMEOUT_MS, member.clone()) {
                Ok(JoinReply::Joined) => {
                    self.rooms.push((name.clone(), room));
                    self.current = Some(name);
                    return Ok(());
                }
                Ok(JoinReply::Refused { code, message }) => return Err(refuse(code, message)),
                Err(e) => tracing::debug!(room = %name, error = %e, "join failed; looking again"),
            }
        }
        Err(refuse(
            ErrorCode::RoomUnavailable,
            format!("#{name} is unavailable; try again"),
        ))
    }

    async fn leave(&mut self, given: Option<String>) -> Result<(), Refusal> {
        self.nick()?;
        let name = self.room_name(given)?;
        let room = self.member_room(&name).await?;
        let departure = Departure {
            addr: self.addr.clone(),
            reason: None,
            voluntary: true,
        };
        if room.cast(RoomMsg::Leave(departure)).is_err() {
            // The room is gone or restarting: stop its deliveries here.
            let _ = self.ctx.relay.cast(RelayMsg::Unsubscribe {
                room: name.clone(),
                session: self.addr.session,
                farewell: Event::Left { room: name.clone() },
            });
        }
        self.forget_room(&name);
        Ok(())
    }

    async fn post(
        &mut self,
        given: Option<String>,
        text: String,
        action: bool,
    ) -> Result<(), Refusal> {
        self.nick()?;
        let name = self.room_name(given)?;
        if text.trim().is_empty() {
            return Err(Refusal::new(ErrorCode::EmptyMessage, "nothing to say"));
        }
        let room = self.member_room(&name).await?;
        let post = Post {
            from: self.addr.clone(),
            text,
            action,
        };
        room.cast(RoomMsg::Post(post))
            .map_err(|_| unavailable(&name))?;
        self.ctx.stats.message_in();
        Ok(())
    }

    async fn private(&self, to: String, text: String) -> Result<(), Refusal> {
        let from = self.nick()?;
        if text.trim().is_empty() {
            return Err(Refusal::new(ErrorCode::EmptyMessage, "nothing to say"));
        }
        let holder = ractor::call_t!(
            self.ctx.registry,
            RegistryMsg::LookupNick,
            CALL_TIMEOUT_MS,
            to.clone()
        )
        .map_err(|e| internal("the registry", e))?;
        let not_found = || Refusal::new(ErrorCode::UserNotFound, format!("no user is called {to}"));
        match holder {
            NickHolder::Missing => Err(not_found()),
            NickHolder::Local(target) => {
                let event = Event::Private {
                    from,
                    to: target.nick,
                    text,
                    ts: now_ms(),
                };
                if target.addr != self.addr {
                    self.send(event.clone());
                }
                let _ = self.ctx.relay.cast(RelayMsg::Unicast {
                    session: target.addr.session,
                    event,
                });
                Ok(())
            }
            NickHolder::Remote(node) => {
                let event = Event::Private {
                    from,
                    to: to.clone(),
                    text,
                    ts: now_ms(),
                };
                let gateway = cluster::gateway_of(&node).ok_or_else(not_found)?;
                let delivery = PrivateDelivery {
                    nick: to.clone(),
                    event: event.clone(),
                };
                let delivered =
                    ractor::call_t!(gateway, GatewayMsg::Private, CALL_TIMEOUT_MS, delivery)
                        .map_err(|e| internal(&format!("node {node}"), e))?;
                if !delivered {
                    return Err(not_found());
                }
                self.send(event);
                Ok(())
            }
        }
    }

    async fn users(&mut self, given: Option<String>) -> Result<(), Refusal> {
        let name = self.room_name(given)?;
        let room = match self.joined(&name) {
            Some(_) => self.member_room(&name).await?,
            None => self.find_room(&name, false).await?.ok_or_else(|| {
                Refusal::new(ErrorCode::RoomNotFound, format!("there is no room #{name}"))
            })?,
        };
        let users = ractor::call_t!(room, RoomMsg::Users, CALL_TIMEOUT_MS)
            .map_err(|e| internal(&format!("#{name}"), e))?
            .0;
        self.send(Event::UserList { room: name, users });
        Ok(())
    }

    async fn history(&mut self, given: Option<String>, limit: Option<u32>) -> Result<(), Refusal> {
        self.nick()?;
        let name = self.room_name(given)?;
        let room = self.member_room(&name).await?;
        let messages = ractor::call_t!(room, RoomMsg::History, CALL_TIMEOUT_MS, limit.unwrap_or(0))
            .map_err(|e| internal(&format!("#{name}"), e))?
            .0;
        self.send(Event::History {
            room: name,
            messages,
        });
        Ok(())
    }

    /// Every room in the cluster: this node's from the registry, the others' from their gateways.
    async fn rooms(&self) -> Result<(), Refusal> {
        let mut rooms = ractor::call_t!(self.ctx.registry, RegistryMsg::ListRooms, CALL_TIMEOUT_MS)
            .map_err(|e| internal("the registry", e))?;
        for node in cluster::reachable_nodes() {
            if node == self.ctx.node {
                continue;
            }
            if let Some(gateway) = cluster::gateway_of(&node)
                && let Ok(remote) = ractor::call_t!(gateway, GatewayMsg::Rooms, CALL_TIMEOUT_MS)
            {
                rooms.extend(remote.0);
            }
        }
        rooms.sort_unstable_by(|a, b| a.name.cmp(&b.name).then_with(|| a.node.cmp(&b.node)));
        self.send(Event::RoomList { rooms });
        Ok(())
    }

    /// `/create ROOM [on NODE]`: creates the room where asked (or where placement puts it) and
    /// joins it; a room that exists anywhere is refused.
    async fn create(&mut self, given: String, node: Option<String>) -> Result<(), Event> {
        let refuse = |code, message: String| Event::from(Refusal::new(code, message));
        self.nick().map_err(Event::from)?;
        let name = canonical_room(&given).map_err(|e| refuse(ErrorCode::InvalidRoom, e.0))?;
        if let Some(existing) = cluster::room_winner(&name) {
            let host = existing.get_name().unwrap_or_default();
            return Err(refuse(
                ErrorCode::RoomExists,
                format!("#{name} exists already ({host}); /join it"),
            ));
        }
        if let Some(node) = node {
            let gateway = cluster::gateway_of(&node).ok_or_else(|| {
                refuse(
                    ErrorCode::NoSuchNode,
                    format!("no node called {node} is connected; /nodes lists them"),
                )
            })?;
            create_on(&gateway, &node, &name)
                .await
                .map_err(Event::from)?;
        }
        self.join(name).await
    }

    async fn nodes(&self) -> Result<(), Refusal> {
        let nodes = match &self.ctx.membership {
            Some(membership) => ractor::call_t!(membership, MembershipMsg::Nodes, CALL_TIMEOUT_MS)
                .map_err(|e| internal("cluster membership", e))?,
            None => vec![NodeInfo {
                name: self.ctx.node.clone(),
                status: NodeStatus::This,
                address: String::new(),
            }],
        };
        self.send(Event::NodeList { nodes });
        Ok(())
    }

    async fn execute(
        &mut self,
        myself: &ActorRef<SessionMsg>,
        command: Command,
    ) -> Result<(), Event> {
        match command {
            Command::Nick(nick) => self.set_nick(myself, nick).await?,
            Command::Join(room) => self.join(room).await?,
            Command::Leave(room) => self.leave(room).await?,
            Command::Msg { room, text } => self.post(room, text, false).await?,
            Command::Me { room, text } => self.post(room, text, true).await?,
            Command::PrivateMsg { to, text } => self.private(to, text).await?,
            Command::ListRooms => self.rooms().await?,
            Command::ListUsers(room) => self.users(room).await?,
            Command::History { room, limit } => self.history(room, limit).await?,
            Command::Ping(token) => self.send(Event::Pong { token }),
            Command::Quit(reason) => {
                self.send(Event::notice("bye"));
                let reason = match reason {
                    Some(text) => format!("quit: {text}"),
                    None => "quit".to_string(),
                };
                myself.stop(Some(reason));
            }
            Command::ListNodes => self.nodes().await?,
            Command::Create { room, node } => self.create(room, node).await?,
            Command::Help => {
                for (usage, what) in HELP {
                    self.send(Event::notice(format!("{usage:<22} {what}")));
                }
            }
            #[cfg(debug_assertions)]
            Command::DebugPanic(target) => match target {
                crate::protocol::PanicTarget::Session => panic!("session panic requested"),
                crate::protocol::PanicTarget::Room(room) => {
                    let name = self.room_name(Some(room))?;
                    let _ = self.member_room(&name).await?.cast(RoomMsg::DebugPanic);
                }
            },
        }
        Ok(())
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
            node: args.ctx.node.clone(),
            session: myself.get_id().pid(),
        };
        tracing::debug!(session = addr.session, peer = %args.peer, "session started");
        args.ctx.relay.cast(RelayMsg::Register {
            session: myself.clone(),
            outbound: args.outbound.clone(),
            peer: args.peer.to_string(),
        })?;
        let state = SessionState {
            addr,
            nick: None,
            rooms: Vec::new(),
            current: None,
            _close: CloseOnDrop(args.outbound.clone()),
            outbound: args.outbound,
            ctx: args.ctx,
        };
        if state.outbound.protocol() == Protocol::Frame {
            state.send(Event::Welcome {
                server: format!("chatd {}", env!("CARGO_PKG_VERSION")),
                protocol: PROTOCOL_VERSION,
                node: state.ctx.node.clone(),
            });
        }
        Ok(state)
    }

    async fn handle(
        &self,
        myself: ActorRef<SessionMsg>,
        message: SessionMsg,
        state: &mut SessionState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SessionMsg::Command(command) => {
                // Boxed: the command future is large, and ractor keeps the handler's future
                // inline in every session's processing loop, idle or not.
                if let Err(event) = Box::pin(state.execute(&myself, command)).await {
                    state.send(event);
                }
            }
            SessionMsg::Closed(reason) => {
                tracing::debug!(session = state.addr.session, %reason, "connection closed");
                myself.stop(Some(reason));
            }
            SessionMsg::Refused(refusal) => state.send(refusal.into()),
            SessionMsg::RoomGone(room) => state.forget_room(&room),
            SessionMsg::Kick(reason) => {
                let why = reason.as_deref().unwrap_or("no reason given");
                state.send(Event::error(
                    ErrorCode::Kicked,
                    format!("you were disconnected by an administrator: {why}"),
                ));
                let reason = match reason {
                    Some(reason) => format!("kicked: {reason}"),
                    None => "kicked".to_string(),
                };
                myself.stop(Some(reason));
            }
            SessionMsg::NickLost(nick) => {
                state.send(Event::error(
                    ErrorCode::NickTaken,
                    format!("nick {nick:?} is held by a user on another node; disconnecting"),
                ));
                myself.stop(Some("nick collision".into()));
            }
        }
        Ok(())
    }
}
