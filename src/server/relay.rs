//! The relay: this node's delivery point. It knows every local session's outgoing queue and which
//! rooms each session is subscribed to, and turns one room event into bytes for every local
//! member — encoding it at most once per wire format and pushing shared bytes without waiting.
//!
//! Rooms send each event once per node (to that node's relay), never once per member, which is
//! what keeps cluster fan-out at one network message per node. A session whose queue is full is
//! cut off by its [`Outbound`]; the relay never blocks on a client.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef, ActorStatus, SupervisionEvent};

use crate::protocol::{ChatMessage, Event, now_ms};
use crate::server::cluster::{directory, failover};
use crate::server::front::Encoded;
use crate::server::msg::admin::UserRow;
use crate::server::msg::gateway::{Presence, PrivateReceipt};
use crate::server::msg::member::{Member, MemberAddr};
use crate::server::msg::relay::{Load, RelayMsg, RoomRecovery};
use crate::server::msg::room::{Adoption, Departure, HistoryReply, RoomMsg};
use crate::server::msg::session::SessionMsg;
use crate::server::outbound::Outbound;
use crate::server::stats::Stats;

struct LocalSession {
    peer: String,
    since_ms: u64,
    actor: ActorRef<SessionMsg>,
    outbound: Outbound,
    nick: Option<String>,
    rooms: Vec<String>,
    away: Option<String>,
}

struct Subscribers {
    room: ActorRef<RoomMsg>,
    members: HashMap<u64, Outbound>,
    last_seq: u64,
    /// Recent messages of a room hosted on another node, kept so that the room's history
    /// survives that node's death (the room is re-created from what survivors received).
    history: VecDeque<ChatMessage>,
    /// A room by code: re-created unlisted if its host dies.
    unlisted: bool,
}

/// The relay actor.
pub struct Relay;

/// How to start a relay.
pub struct RelayArgs {
    /// This node's name.
    pub node: String,
    /// Node-wide counters (deliveries are counted here).
    pub stats: Arc<Stats>,
    /// `history.replay`: messages of remotely hosted rooms kept for failover.
    pub history: usize,
}

/// The relay's state.
pub struct RelayState {
    node: String,
    stats: Arc<Stats>,
    history: usize,
    sessions: HashMap<u64, LocalSession>,
    rooms: HashMap<String, Subscribers>,
}

impl RelayState {
    fn addr(&self, session: u64) -> MemberAddr {
        MemberAddr {
            node: self.node.clone(),
            session,
        }
    }

    /// Forgets a room that has no local member left.
    fn forget_room_if_empty(&mut self, myself: &ActorRef<RelayMsg>, room: &str) {
        if self.rooms.get(room).is_some_and(|s| s.members.is_empty()) {
            self.rooms.remove(room);
            ractor::pg::demonitor(directory::room_group(room), myself.get_id());
        }
    }

    fn register(&mut self, session: ActorRef<SessionMsg>, outbound: Outbound, peer: String) {
        // A session that already stopped was cleaned up before this arrived.
        if matches!(
            session.get_status(),
            ActorStatus::Stopping | ActorStatus::Stopped
        ) {
            return;
        }
        let local = LocalSession {
            peer,
            since_ms: now_ms(),
            actor: session.clone(),
            outbound,
            nick: None,
            rooms: Vec::new(),
            away: None,
        };
        self.sessions.insert(session.get_id().pid(), local);
    }

    /// A session ended: every room it was in is told it left, with `reason`.
    fn session_gone(&mut self, myself: &ActorRef<RelayMsg>, session: u64, reason: Option<String>) {
        let Some(gone) = self.sessions.remove(&session) else {
            return;
        };
        gone.outbound.close();
        let addr = self.addr(session);
        for room in gone.rooms {
            if let Some(subs) = self.rooms.get_mut(&room) {
                subs.members.remove(&session);
                let _ = subs.room.cast(RoomMsg::Leave(Departure {
                    addr: addr.clone(),
                    reason: reason.clone(),
                    voluntary: false,
                }));
            }
            self.forget_room_if_empty(myself, &room);
        }
    }

    fn subscribe(
        &mut self,
        myself: &ActorRef<RelayMsg>,
        room: String,
        room_ref: ActorRef<RoomMsg>,
        unlisted: bool,
        session: u64,
        preamble: Vec<Event>,
    ) {
        let Some(local) = self.sessions.get_mut(&session) else {
            // The session ended while joining: the room must forget it too.
            let _ = room_ref.cast(RoomMsg::Leave(Departure {
                addr: self.addr(session),
                reason: None,
                voluntary: false,
            }));
            return;
        };
        for event in &preamble {
            local.outbound.send_event(event);
        }
        if !local.rooms.contains(&room) {
            local.rooms.push(room.clone());
        }
        if !self.rooms.contains_key(&room) {
            ractor::pg::monitor(directory::room_group(&room), myself.get_cell());
        }
        let subs = self.rooms.entry(room).or_insert_with(|| Subscribers {
            room: room_ref.clone(),
            members: HashMap::new(),
            last_seq: 0,
            history: VecDeque::new(),
            unlisted,
        });
        subs.room = room_ref;
        subs.members.insert(session, local.outbound.clone());
    }

    fn unsubscribe(&mut self, myself: &ActorRef<RelayMsg>, room: &str, session: u64) {
        if let Some(subs) = self.rooms.get_mut(room) {
            subs.members.remove(&session);
        }
        self.forget_room_if_empty(myself, room);
        if let Some(s) = self.sessions.get_mut(&session) {
            s.rooms.retain(|r| r != room);
        }
    }

    /// A room event for every local member: encoded at most once per front, the bytes shared.
    fn deliver(&mut self, room: &str, event: Event) {
        let Some(subs) = self.rooms.get_mut(room) else {
            return;
        };
        if let Event::Message(m) = &event {
            subs.last_seq = m.seq;
            if !subs.room.get_id().is_local() && self.history > 0 {
                if subs.history.len() == self.history {
                    subs.history.pop_front();
                }
                subs.history.push_back(m.clone());
            }
        }
        let encoded = Encoded::new(&event);
        let sessions = &self.sessions;
        for (session, outbound) in &subs.members {
            let own = || sessions.get(session).and_then(|s| s.nick.as_deref());
            if outbound.wants(&event, own) {
                outbound.send_encoded(&encoded);
            }
        }
        if matches!(event, Event::Message(_)) {
            self.stats.messages_out(subs.members.len() as u64);
        }
    }

    /// The local members of a room hosted elsewhere (or restarted here), as rooms know them.
    fn members_of(&self, subs: &Subscribers) -> Vec<Member> {
        subs.members
            .keys()
            .filter_map(|session| {
                let nick = self.sessions.get(session)?.nick.clone()?;
                Some(Member {
                    addr: self.addr(*session),
                    nick,
                })
            })
            .collect()
    }

    /// A room restarted here: it takes over the subscription and learns its local members.
    fn recover(&mut self, room: &str, room_ref: ActorRef<RoomMsg>) -> RoomRecovery {
        let Some(subs) = self.rooms.get_mut(room) else {
            return RoomRecovery {
                members: Vec::new(),
                last_seq: 0,
            };
        };
        subs.room = room_ref;
        let last_seq = subs.last_seq;
        let subs = &self.rooms[room];
        RoomRecovery {
            members: self.members_of(subs),
            last_seq,
        }
    }

    /// A room closed for good: its local members are told and unsubscribed.
    fn drop_room(&mut self, myself: &ActorRef<RelayMsg>, room: String, notice: Event) {
        ractor::pg::demonitor(directory::room_group(&room), myself.get_id());
        let Some(subs) = self.rooms.remove(&room) else {
            return;
        };
        let left = Event::Left { room: room.clone() };
        for session in subs.members.keys() {
            if let Some(s) = self.sessions.get_mut(session) {
                s.rooms.retain(|r| *r != room);
                s.outbound.send_event(&left);
                s.outbound.send_event(&notice);
                let _ = s.actor.cast(SessionMsg::RoomGone(room.clone()));
            }
        }
    }

    /// The instance the members of `room` were in is gone and `winner` took its place (re-created
    /// after its host died): hands it the local members and the history kept here.
    fn hand_over(&mut self, room: &str, winner: ActorRef<RoomMsg>) {
        let Some(subs) = self.rooms.get(room) else {
            return;
        };
        let host = winner
            .get_name()
            .and_then(|n| directory::host_of(&n).map(str::to_string))
            .unwrap_or_default();
        let notice = format!(
            "this room moved to node {host} after its host left; recent history was recovered"
        );
        for member in self.members_of(subs) {
            let _ = winner.cast(RoomMsg::Adopt(Adoption {
                member,
                notice: notice.clone(),
            }));
        }
        let history: Vec<ChatMessage> = subs.history.iter().cloned().collect();
        let _ = winner.cast(RoomMsg::MergeHistory(HistoryReply(history)));
        if let Some(subs) = self.rooms.get_mut(room) {
            subs.room = winner;
        }
    }

    fn rows(&self) -> Vec<UserRow> {
        self.sessions
            .values()
            .map(|s| UserRow {
                nick: s.nick.clone().unwrap_or_default(),
                node: self.node.clone(),
                address: s.peer.clone(),
                since_ms: s.since_ms,
                rooms: s.rooms.clone(),
                protocol: s.outbound.format().name().to_string(),
                sendq: s.outbound.queued_bytes() as u64,
            })
            .collect()
    }

    /// Sessions by front and what their queues hold.
    fn load(&self) -> Load {
        let mut load = Load::default();
        for s in self.sessions.values() {
            load.sessions[s.outbound.format().index()] += 1;
            load.queued_bytes += s.outbound.queued_bytes() as u64;
        }
        load
    }

    /// An event for every local session; with `close`, each connection closes after it.
    fn broadcast(&self, event: &Event, close: bool) {
        let encoded = Encoded::new(event);
        for s in self.sessions.values() {
            s.outbound.send_encoded(&encoded);
            if close {
                s.outbound.close();
            }
        }
    }
}

impl Actor for Relay {
    type Msg = RelayMsg;
    type State = RelayState;
    type Arguments = RelayArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<RelayMsg>,
        args: RelayArgs,
    ) -> Result<RelayState, ActorProcessingErr> {
        Ok(RelayState {
            node: args.node,
            stats: args.stats,
            history: args.history,
            sessions: HashMap::new(),
            rooms: HashMap::new(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<RelayMsg>,
        message: RelayMsg,
        state: &mut RelayState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            RelayMsg::Register {
                session,
                outbound,
                peer,
            } => state.register(session, outbound, peer),
            RelayMsg::SetNick { session, nick } => {
                if let Some(s) = state.sessions.get_mut(&session) {
                    s.nick = Some(nick);
                }
            }
            RelayMsg::SessionGone { session, reason } => {
                state.session_gone(&myself, session, reason)
            }
            RelayMsg::Subscribe {
                room,
                room_ref,
                unlisted,
                session,
                preamble,
            } => state.subscribe(&myself, room, room_ref, unlisted, session, preamble),
            RelayMsg::Unsubscribe {
                room,
                session,
                farewell,
            } => {
                state.unsubscribe(&myself, &room, session);
                if let Some(s) = state.sessions.get(&session) {
                    s.outbound.send_event(&farewell);
                    // Removed by an operator: the session forgets the room too.
                    if matches!(farewell, Event::Kicked { .. }) {
                        let _ = s.actor.cast(SessionMsg::RoomGone(room));
                    }
                }
            }
            RelayMsg::Deliver { room, event } => state.deliver(&room, event),
            RelayMsg::SetAway { session, away } => {
                if let Some(s) = state.sessions.get_mut(&session) {
                    s.away = away;
                }
            }
            RelayMsg::Private(session, event, reply) => {
                let receipt = match state.sessions.get(&session) {
                    Some(s) => {
                        s.outbound.send_event(&event);
                        PrivateReceipt {
                            delivered: true,
                            away: s.away.clone(),
                        }
                    }
                    None => PrivateReceipt::default(),
                };
                let _ = reply.send(receipt);
            }
            RelayMsg::Presence(session, reply) => {
                let presence = state.sessions.get(&session).and_then(|s| {
                    Some(Presence {
                        nick: s.nick.clone()?,
                        node: state.node.clone(),
                        rooms: s.rooms.clone(),
                        away: s.away.clone(),
                        since: s.since_ms,
                    })
                });
                let _ = reply.send(presence);
            }
            RelayMsg::Unicast { session, event } => {
                if let Some(s) = state.sessions.get(&session) {
                    s.outbound.send_event(&event);
                }
            }
            RelayMsg::RoomMembers(room, room_ref, reply) => {
                let _ = reply.send(state.recover(&room, room_ref));
            }
            RelayMsg::DropRoom { room, notice } => state.drop_room(&myself, room, notice),
            RelayMsg::Load(reply) => {
                let _ = reply.send(state.load());
            }
            RelayMsg::Sessions(reply) => {
                let _ = reply.send(state.rows());
            }
            RelayMsg::Broadcast(event) => state.broadcast(&event, false),
            RelayMsg::Shutdown(reason, reply) => {
                state.broadcast(&Event::Shutdown { reason }, true);
                let _ = reply.send(state.sessions.len());
            }
        }
        Ok(())
    }

    /// A room with members here changed process group: if its host died (no instance left), ask
    /// the node placement now picks to re-create it; when an instance appears while the one the
    /// members are in is gone, hand it the members and the history kept here.
    async fn handle_supervisor_evt(
        &self,
        _myself: ActorRef<RelayMsg>,
        event: SupervisionEvent,
        state: &mut RelayState,
    ) -> Result<(), ActorProcessingErr> {
        let SupervisionEvent::ProcessGroupChanged(change) = event else {
            return Ok(());
        };
        let group = change.get_group();
        let Some(name) = directory::room_of_group(&group) else {
            return Ok(());
        };
        let Some(subs) = state.rooms.get(name) else {
            return Ok(());
        };
        // A room hosted here is restarted by its supervisor; members here die with this node.
        if subs.members.is_empty() || subs.room.get_id().is_local() {
            return Ok(());
        }
        let current_alive = ractor::pg::get_members(&group)
            .iter()
            .any(|cell| cell.get_id() == subs.room.get_id());
        match directory::room_winner(name) {
            None => {
                let dead_host = subs
                    .room
                    .get_name()
                    .and_then(|n| directory::host_of(&n).map(str::to_string));
                state.stats.failover();
                failover::recreate(name.to_string(), dead_host, subs.unlisted);
            }
            Some(winner) if !current_alive && winner.get_id() != subs.room.get_id() => {
                state.hand_over(name, winner);
            }
            Some(_) => {}
        }
        Ok(())
    }
}
