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
use crate::server::msg::member::{Member, MemberAddr};
use crate::server::msg::relay::{RelayMsg, RoomRecovery};
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
}

struct Subscribers {
    room: ActorRef<RoomMsg>,
    members: HashMap<u64, Outbound>,
    last_seq: u64,
    /// Recent messages of a room hosted on another node, kept so that the room's history
    /// survives that node's death (the room is re-created from what survivors received).
    history: VecDeque<ChatMessage>,
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
    /// Forgets a room that has no local member left.
    fn forget_room_if_empty(&mut self, myself: &ActorRef<RelayMsg>, room: &str) {
        if self.rooms.get(room).is_some_and(|s| s.members.is_empty()) {
            self.rooms.remove(room);
            ractor::pg::demonitor(directory::room_group(room), myself.get_id());
        }
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
            } => {
                // A session that already stopped was cleaned up before this arrived.
                if !matches!(
                    session.get_status(),
                    ActorStatus::Stopping | ActorStatus::Stopped
                ) {
                    state.sessions.insert(
                        session.get_id().pid(),
                        LocalSession {
                            peer,
                            since_ms: now_ms(),
                            actor: session,
                            outbound,
                            nick: None,
                            rooms: Vec::new(),
                        },
                    );
                }
            }
            RelayMsg::SetNick { session, nick } => {
                if let Some(s) = state.sessions.get_mut(&session) {
                    s.nick = Some(nick);
                }
            }
            RelayMsg::SessionGone { session, reason } => {
                if let Some(gone) = state.sessions.remove(&session) {
                    gone.outbound.close();
                    let addr = MemberAddr {
                        node: state.node.clone(),
                        session,
                    };
                    for room in gone.rooms {
                        if let Some(subs) = state.rooms.get_mut(&room) {
                            subs.members.remove(&session);
                            let _ = subs.room.cast(RoomMsg::Leave(Departure {
                                addr: addr.clone(),
                                reason: reason.clone(),
                                voluntary: false,
                            }));
                        }
                        state.forget_room_if_empty(&myself, &room);
                    }
                }
            }
            RelayMsg::Subscribe {
                room,
                room_ref,
                session,
                preamble,
            } => {
                let Some(local) = state.sessions.get_mut(&session) else {
                    // The session ended while joining: the room must forget it too.
                    let addr = MemberAddr {
                        node: state.node.clone(),
                        session,
                    };
                    let _ = room_ref.cast(RoomMsg::Leave(Departure {
                        addr,
                        reason: None,
                        voluntary: false,
                    }));
                    return Ok(());
                };
                for event in &preamble {
                    local.outbound.send_event(event);
                }
                if !local.rooms.contains(&room) {
                    local.rooms.push(room.clone());
                }
                if !state.rooms.contains_key(&room) {
                    ractor::pg::monitor(directory::room_group(&room), myself.get_cell());
                }
                let subs = state.rooms.entry(room).or_insert_with(|| Subscribers {
                    room: room_ref.clone(),
                    members: HashMap::new(),
                    last_seq: 0,
                    history: VecDeque::new(),
                });
                subs.room = room_ref;
                subs.members.insert(session, local.outbound.clone());
            }
            RelayMsg::Unsubscribe {
                room,
                session,
                farewell,
            } => {
                state.unsubscribe(&myself, &room, session);
                if let Some(s) = state.sessions.get(&session) {
                    s.outbound.send_event(&farewell);
                }
            }
            RelayMsg::Deliver { room, event } => {
                if let Some(subs) = state.rooms.get_mut(&room) {
                    if let Event::Message(m) = &event {
                        subs.last_seq = m.seq;
                        if !subs.room.get_id().is_local() && state.history > 0 {
                            if subs.history.len() == state.history {
                                subs.history.pop_front();
                            }
                            subs.history.push_back(m.clone());
                        }
                    }
                    let encoded = Encoded::new(&event);
                    for outbound in subs.members.values() {
                        outbound.send(encoded.bytes(outbound.protocol()));
                    }
                    if matches!(event, Event::Message(_)) {
                        state.stats.messages_out(subs.members.len() as u64);
                    }
                }
            }
            RelayMsg::Unicast { session, event } => {
                if let Some(s) = state.sessions.get(&session) {
                    s.outbound.send_event(&event);
                }
            }
            RelayMsg::RoomMembers(room, room_ref, reply) => {
                let mut recovery = RoomRecovery {
                    members: Vec::new(),
                    last_seq: 0,
                };
                if let Some(subs) = state.rooms.get_mut(&room) {
                    subs.room = room_ref;
                    recovery.last_seq = subs.last_seq;
                    for session in subs.members.keys() {
                        if let Some(nick) = state.sessions.get(session).and_then(|s| s.nick.clone())
                        {
                            recovery.members.push(Member {
                                addr: MemberAddr {
                                    node: state.node.clone(),
                                    session: *session,
                                },
                                nick,
                            });
                        }
                    }
                }
                let _ = reply.send(recovery);
            }
            RelayMsg::DropRoom { room, notice } => {
                ractor::pg::demonitor(directory::room_group(&room), myself.get_id());
                if let Some(subs) = state.rooms.remove(&room) {
                    let left = Event::Left { room: room.clone() };
                    for session in subs.members.keys() {
                        if let Some(s) = state.sessions.get_mut(session) {
                            s.rooms.retain(|r| *r != room);
                            s.outbound.send_event(&left);
                            s.outbound.send_event(&notice);
                            let _ = s.actor.cast(SessionMsg::RoomGone(room.clone()));
                        }
                    }
                }
            }
            RelayMsg::Sessions(reply) => {
                let rows = state
                    .sessions
                    .values()
                    .map(|s| UserRow {
                        nick: s.nick.clone().unwrap_or_default(),
                        node: state.node.clone(),
                        address: s.peer.clone(),
                        since_ms: s.since_ms,
                        rooms: s.rooms.clone(),
                    })
                    .collect();
                let _ = reply.send(rows);
            }
            RelayMsg::Broadcast(event) => {
                let encoded = Encoded::new(&event);
                for s in state.sessions.values() {
                    s.outbound.send(encoded.bytes(s.outbound.protocol()));
                }
            }
            RelayMsg::Shutdown(reason, reply) => {
                let event = Event::Shutdown { reason };
                let encoded = Encoded::new(&event);
                for s in state.sessions.values() {
                    s.outbound.send(encoded.bytes(s.outbound.protocol()));
                    s.outbound.close();
                }
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
        let Some(subs) = state.rooms.get_mut(name) else {
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
                failover::recreate(name.to_string(), dead_host);
            }
            Some(winner) if !current_alive && winner.get_id() != subs.room.get_id() => {
                let host = winner
                    .get_name()
                    .and_then(|n| directory::host_of(&n).map(str::to_string))
                    .unwrap_or_default();
                let notice = format!(
                    "this room moved to node {host} after its host left; recent history was recovered"
                );
                for session in subs.members.keys() {
                    if let Some(nick) = state.sessions.get(session).and_then(|s| s.nick.clone()) {
                        let member = Member {
                            addr: MemberAddr {
                                node: state.node.clone(),
                                session: *session,
                            },
                            nick,
                        };
                        let _ = winner.cast(RoomMsg::Adopt(Adoption {
                            member,
                            notice: notice.clone(),
                        }));
                    }
                }
                let history: Vec<ChatMessage> = subs.history.iter().cloned().collect();
                let _ = winner.cast(RoomMsg::MergeHistory(HistoryReply(history)));
                subs.room = winner;
            }
            Some(_) => {}
        }
        Ok(())
    }
}
