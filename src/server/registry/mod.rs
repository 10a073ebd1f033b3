//! The registry: this node's directory of rooms and nicks, and the parent of its sessions.
//!
//! - Rooms: finds a room by name, creating it (through the room supervisor) when asked to;
//!   forgets rooms that closed (an empty room closes itself); follows rooms that restarted;
//!   keeps their member counts for `/rooms`.
//!   `server.default_rooms` are created at start and never removed.
//! - Nicks: unique case-insensitively across the cluster. Each nick's home node decides its
//!   claims (`registry/claims.rs`, [`leases`]); a nick held here puts this node's gateway in the nick's
//!   group (pg scope `chatd.nicks`, see [`directory`]), so every node sees where it is held. A
//!   collision found later (a healed partition) disconnects the holder on the node whose name
//!   sorts last.
//! - Sessions: every session actor is linked to the registry, so however a session ends (quit,
//!   disconnect, panic), the registry frees its nick and tells the relay, which removes it from
//!   its rooms. Cleanup therefore has exactly one path.

mod claims;
pub mod leases;
pub mod nicks;

use std::collections::HashMap;
use std::sync::Arc;

use ractor::pg::GroupChangeMessage;
use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};

use crate::names::may_be_code;
use crate::names::nick_key;
use crate::protocol::{ErrorCode, RoomInfo};
use crate::server::cluster::directory;
use crate::server::context::Live;
use crate::server::msg::gateway::RoomCreation;
use crate::server::msg::registry::{RegistryMsg, RoomLookup};
use crate::server::msg::relay::RelayMsg;
use crate::server::msg::room::RoomMsg;
use crate::server::msg::room_supervisor::{RoomArgs, RoomSupervisorMsg};
use crate::server::msg::session::SessionMsg;
use crate::server::store::Store;
use crate::server::timeouts::ROOM_CREATE_MS;
use leases::LeaseTable;
use nicks::NickTable;

/// What every new room on this node starts with.
#[derive(Debug, Clone)]
pub struct RegistryArgs {
    /// This node's name.
    pub node: String,
    /// The history store, handed to every room.
    pub store: Option<Store>,
    /// The bounds in force: rooms are created with the current [`RoomDefaults`].
    ///
    /// [`RoomDefaults`]: crate::server::context::RoomDefaults
    pub tunables: Arc<Live>,
    /// This node's relay.
    pub relay: ActorRef<RelayMsg>,
    /// This node's room supervisor.
    pub room_supervisor: ActorRef<RoomSupervisorMsg>,
    /// Whether this node is part of a cluster (`[cluster]` enabled). A node on its own keeps
    /// its nicks to itself: no process group per nick, no collision watch.
    pub clustered: bool,
}

struct RoomEntry {
    room: ActorRef<RoomMsg>,
    members: u32,
    /// Asked to close to make place for a new room (it no longer counts toward the limit).
    evicted: bool,
    /// Left out of `/rooms` (a room by code).
    unlisted: bool,
}

/// The registry actor.
pub struct Registry;

/// The registry's state.
pub struct RegistryState {
    args: RegistryArgs,
    rooms: HashMap<String, RoomEntry>,
    /// Nicks held by this node's sessions.
    nicks: NickTable<ActorRef<SessionMsg>>,
    /// Claims this node granted as the home of their nicks.
    leases: LeaseTable,
    /// Rooms created so far; numbers each room's incarnation.
    created: u64,
}

impl RegistryState {
    async fn create_room(
        &mut self,
        myself: &ActorRef<RegistryMsg>,
        name: &str,
        unlisted: bool,
    ) -> Option<ActorRef<RoomMsg>> {
        let tunables = self.args.tunables.get();
        let defaults = &tunables.rooms;
        if self.hosted() >= defaults.max_rooms {
            self.evict_one();
        }
        let persistent = defaults.default_rooms.iter().any(|r| r == name);
        if self.hosted() >= defaults.max_rooms && !persistent {
            tracing::warn!(
                room = name,
                max = defaults.max_rooms,
                "refused a room: limits.max_rooms reached"
            );
            return None;
        }
        // A room by code stays unlisted when someone with the code creates it again.
        let unlisted = match (&self.args.store, unlisted) {
            (Some(store), false) if may_be_code(name) => store.unlisted(name).await.unwrap_or_else(|e| {
                tracing::warn!(room = name, error = %e, "could not ask the store whether the room is unlisted");
                false
            }),
            (_, unlisted) => unlisted,
        };
        if let (Some(store), true) = (&self.args.store, unlisted) {
            store.mark_unlisted(name);
        }
        self.created += 1;
        let args = RoomArgs {
            incarnation: self.created,
            name: name.to_string(),
            node: self.args.node.clone(),
            persistent,
            unlisted,
            history: defaults.history,
            presence_max: defaults.presence_max,
            linger: defaults.linger,
            relay: self.args.relay.clone(),
            registry: myself.clone(),
            store: self.args.store.clone(),
            restore: false,
        };
        match ractor::call_t!(
            self.args.room_supervisor,
            RoomSupervisorMsg::Spawn,
            ROOM_CREATE_MS,
            args
        ) {
            Ok(Ok(room)) => {
                tracing::debug!(room = name, "room created");
                self.rooms.insert(
                    name.to_string(),
                    RoomEntry {
                        room: room.clone(),
                        members: 0,
                        evicted: false,
                        unlisted,
                    },
                );
                Some(room)
            }
            Ok(Err(e)) => {
                tracing::error!(room = name, error = %e, "cannot start room");
                None
            }
            Err(e) => {
                tracing::error!(room = name, error = %e, "room supervisor unavailable");
                None
            }
        }
    }

    /// Disconnects the local holder of `nick`; `false` if there is none.
    fn kick(&self, nick: &str, reason: Option<String>) -> bool {
        match self.nicks.get(&nick_key(nick)) {
            Some(holder) => {
                tracing::info!(%nick, ?reason, "kicking");
                holder.session.cast(SessionMsg::Kick(reason)).is_ok()
            }
            None => false,
        }
    }

    /// Finds a room anywhere in the cluster; with `create`, creates it here if placement says so.
    async fn get_room(
        &mut self,
        myself: &ActorRef<RegistryMsg>,
        name: &str,
        create: bool,
    ) -> RoomLookup {
        match directory::room_winner(name) {
            Some(room) => RoomLookup::Found(room),
            None if create => {
                let mut nodes = directory::reachable_nodes();
                if !nodes.contains(&self.args.node) {
                    nodes.push(self.args.node.clone());
                }
                match directory::placement(name, &nodes) {
                    Some(owner) if owner != self.args.node => RoomLookup::CreateOn(owner),
                    _ => match self.create_room(myself, name, false).await {
                        Some(room) => RoomLookup::Found(room),
                        None => self.not_created(),
                    },
                }
            }
            None => RoomLookup::Missing,
        }
    }

    /// The rooms that count toward `limits.max_rooms`: all but those asked to close (counted
    /// only near the limit).
    fn hosted(&self) -> usize {
        if self.rooms.len() < self.args.tunables.get().rooms.max_rooms {
            self.rooms.len()
        } else {
            self.rooms.values().filter(|entry| !entry.evicted).count()
        }
    }

    /// Asks one empty room that lingers to close now, to make place for a new one (a default
    /// room stays).
    fn evict_one(&mut self) {
        let tunables = self.args.tunables.get();
        let defaults = &tunables.rooms.default_rooms;
        if let Some((_, entry)) = self
            .rooms
            .iter_mut()
            .find(|(name, entry)| entry.members == 0 && !entry.evicted && !defaults.contains(*name))
        {
            entry.evicted = true;
            let _ = entry.room.cast(RoomMsg::Evict);
        }
    }

    /// Why a room could not be created here: the room limit, or a failure (logged).
    fn not_created(&self) -> RoomLookup {
        let max = self.args.tunables.get().rooms.max_rooms;
        if self.hosted() >= max {
            RoomLookup::Refused {
                code: ErrorCode::TooManyRooms,
                message: format!(
                    "node {} hosts its maximum of {max} rooms; join an existing room",
                    self.args.node
                ),
            }
        } else {
            RoomLookup::Missing
        }
    }

    /// The rooms hosted here, sorted by name: the default rooms, and the others while they have
    /// members (an empty one lingers unlisted until it closes).
    fn list_rooms(&self) -> Vec<RoomInfo> {
        let tunables = self.args.tunables.get();
        let defaults = &tunables.rooms.default_rooms;
        let mut rooms: Vec<RoomInfo> = self
            .rooms
            .iter()
            .filter(|(name, entry)| {
                !entry.unlisted && (entry.members > 0 || defaults.contains(*name))
            })
            .map(|(name, entry)| RoomInfo {
                name: name.clone(),
                members: entry.members,
                node: self.args.node.clone(),
            })
            .collect();
        rooms.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        rooms
    }

    /// A room was restarted after a failure, as `room`.
    fn room_restarted(&mut self, name: String, room: ActorRef<RoomMsg>) {
        match self.rooms.get_mut(&name) {
            Some(entry) => entry.room = room,
            None => {
                let entry = RoomEntry {
                    room,
                    members: 0,
                    evicted: false,
                    unlisted: false,
                };
                self.rooms.insert(name, entry);
            }
        }
    }
}

impl Actor for Registry {
    type Msg = RegistryMsg;
    type State = RegistryState;
    type Arguments = RegistryArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<RegistryMsg>,
        args: RegistryArgs,
    ) -> Result<RegistryState, ActorProcessingErr> {
        let mut state = RegistryState {
            args,
            rooms: HashMap::new(),
            nicks: NickTable::default(),
            leases: LeaseTable::default(),
            created: 0,
        };
        if state.args.clustered {
            ractor::pg::monitor_scope(directory::NICKS.to_string(), myself.get_cell());
            ractor::pg::monitor(directory::gateways_group(), myself.get_cell());
        }
        for name in state.args.tunables.get().rooms.default_rooms.clone() {
            if state.create_room(&myself, &name, false).await.is_none() {
                return Err(format!("cannot create default room {name}").into());
            }
        }
        Ok(state)
    }

    async fn handle(
        &self,
        myself: ActorRef<RegistryMsg>,
        message: RegistryMsg,
        state: &mut RegistryState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            RegistryMsg::NickCount(reply) => {
                let _ = reply.send(state.nicks.len());
            }
            RegistryMsg::ClaimNick(nick, addr, session, reply) => {
                let _ = reply.send(state.claim(nick, addr, session));
            }
            RegistryMsg::ConfirmNick(nick, addr, granted, reply) => {
                let _ = reply.send(state.settle(&nick, &addr, granted));
            }
            RegistryMsg::Arbitrate(lease, reply) => {
                let _ = reply.send(state.arbitrate(&lease));
            }
            RegistryMsg::ReleaseLease(lease) => state.leases.release(&lease),
            RegistryMsg::LookupNick(nick, reply) => {
                let _ = reply.send(state.holder(&nick));
            }
            RegistryMsg::LeaseHolder(key, reply) => {
                let _ = reply.send(state.leases.holder(&key).map(str::to_string));
            }
            RegistryMsg::Kick(nick, reason, reply) => {
                let _ = reply.send(state.kick(&nick, reason));
            }
            RegistryMsg::GetRoom {
                name,
                create,
                reply,
            } => {
                let _ = reply.send(state.get_room(&myself, &name, create).await);
            }
            RegistryMsg::CreateLocal(
                RoomCreation {
                    name,
                    unlisted,
                    replacing,
                },
                reply,
            ) => {
                // In a failover, the instance on the dead host may still be visible here for a
                // moment: it does not count, or the room would never be re-created.
                let exists = directory::room_winner_apart_from(&name, replacing.as_deref())
                    .is_some()
                    || state.create_room(&myself, &name, unlisted).await.is_some();
                let _ = reply.send(exists);
            }
            RegistryMsg::ListRooms(reply) => {
                let _ = reply.send(state.list_rooms());
            }
            RegistryMsg::RoomCount { name, members } => {
                if let Some(entry) = state.rooms.get_mut(&name) {
                    entry.members = members;
                    // A join reached an evicted room first: it stays, and counts again.
                    entry.evicted &= members == 0;
                }
            }
            RegistryMsg::Reconfigure => {
                for name in state.args.tunables.get().rooms.default_rooms.clone() {
                    if !state.rooms.contains_key(&name) && directory::room_winner(&name).is_none() {
                        state.create_room(&myself, &name, false).await;
                    }
                }
            }
            RegistryMsg::RoomRestarted { name, room } => state.room_restarted(name, room),
            RegistryMsg::RoomClosed { name, id } => {
                if state
                    .rooms
                    .get(&name)
                    .is_some_and(|e| e.room.get_id() == id)
                {
                    state.rooms.remove(&name);
                }
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        _myself: ActorRef<RegistryMsg>,
        event: SupervisionEvent,
        state: &mut RegistryState,
    ) -> Result<(), ActorProcessingErr> {
        let (session, reason) = match event {
            SupervisionEvent::ProcessGroupChanged(GroupChangeMessage::Leave(_, group, cells))
                if directory::is_gateways(&group) =>
            {
                // A node went down: the leases it held here end with it.
                for name in cells.iter().filter_map(|c| c.get_name()) {
                    if let Some(node) = directory::node_of_gateway(&name) {
                        state.leases.node_down(node);
                    }
                }
                return Ok(());
            }
            SupervisionEvent::ProcessGroupChanged(GroupChangeMessage::Join(scope, key, cells))
                if scope == directory::NICKS =>
            {
                // A nick held here was claimed on another node too (a healed partition):
                // the node with the lower name keeps it, and the holder here is disconnected.
                let lower = cells.iter().filter_map(|c| c.get_name()).any(|name| {
                    directory::node_of_gateway(&name)
                        .is_some_and(|node| node < state.args.node.as_str())
                });
                let confirmed = state.nicks.is_confirmed(&key);
                if lower
                    && confirmed
                    && let Some(holder) = state.nicks.get(&key)
                {
                    let _ = holder
                        .session
                        .cast(SessionMsg::NickLost(holder.member.nick.clone()));
                    state.drop_nick(&key);
                }
                return Ok(());
            }
            SupervisionEvent::ActorTerminated(cell, _, reason) => (cell.get_id(), reason),
            SupervisionEvent::ActorFailed(cell, error) => {
                tracing::error!(session = %cell.get_id(), %error, "session failed");
                (cell.get_id(), Some("session failed".to_string()))
            }
            _ => return Ok(()),
        };
        let session = session.pid();
        state.release_nick(session);
        let _ = state
            .args
            .relay
            .cast(RelayMsg::SessionGone { session, reason });
        Ok(())
    }
}
