//! The room actor: one per room. It owns the member list, numbers every message (1, 2, 3, ...
//! without gaps), keeps the last `history.replay` messages, and fans each event out once per node
//! that has members, through that node's [`crate::server::relay`].
//!
//! An empty room asks the registry to close it (unless it is a default room); the registry decides,
//! because only it knows whether a join is still on its way.
//!
//! Room messages are remotable (`RactorClusterMessage`) and carry only serializable data, so a
//! session on another node can reach a room through a remote actor reference. A room never waits
//! on a session: every delivery is a cast to a relay, which only ever does non-blocking queue pushes.

use std::collections::{HashMap, VecDeque};

use ractor::pg::GroupChangeMessage;
use ractor::{Actor, ActorProcessingErr, ActorRef, ActorStatus, RpcReplyPort, SupervisionEvent};
use ractor_cluster::RactorClusterMessage;
use serde::{Deserialize, Serialize};

use crate::protocol::{ChatMessage, ErrorCode, Event, now_ms};
use crate::server::cluster::gateway::Unsubscription;
use crate::server::cluster::{self, gateway::Delivery, gateway::GatewayMsg, gateway::Subscription};
use crate::server::control::protocol::RoomRow;
use crate::server::registry::RegistryMsg;
use crate::server::relay::RelayMsg;

/// Where a member's session lives: its node and its session number there.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemberAddr {
    /// Node name.
    pub node: String,
    /// Session number, unique on that node.
    pub session: u64,
}

/// A room member: where it is and what it is called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Where its session lives.
    pub addr: MemberAddr,
    /// Its nick.
    pub nick: String,
}

/// A member leaving, with the reason shown to the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Departure {
    /// Who.
    pub addr: MemberAddr,
    /// Quit message or disconnect reason.
    pub reason: Option<String>,
    /// `true` for `/leave`: the member is still connected and gets `Left` from the room, after
    /// the room's last event for it and after the registry has the new member count.
    pub voluntary: bool,
}

/// Something a member says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    /// Who says it.
    pub from: MemberAddr,
    /// What.
    pub text: String,
    /// `true` for `/me`.
    pub action: bool,
}

/// The answer to a join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum JoinReply {
    /// Joined (or already a member). History and the `Joined` event are on their way to the
    /// member's connection, ahead of any live message.
    Joined,
    /// Refused.
    Refused {
        /// Why, as a stable code.
        code: ErrorCode,
        /// Why, for people.
        message: String,
    },
}

/// A member handed to this room by another copy or by a node's relay, with the notice it gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adoption {
    /// The member.
    pub member: Member,
    /// Why it moved, shown to it.
    pub notice: String,
}

/// The nicks of a room's members, sorted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserList(pub Vec<String>);

/// The answer to a history request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryReply(pub Vec<ChatMessage>);

crate::remote_payload!(
    MemberAddr,
    Member,
    Departure,
    Post,
    JoinReply,
    Adoption,
    UserList,
    HistoryReply,
    RoomRow
);

/// What a room does.
#[derive(RactorClusterMessage)]
pub enum RoomMsg {
    /// Add a member; replies once its history and `Joined` event are queued for delivery.
    #[rpc]
    Join(Member, RpcReplyPort<JoinReply>),
    /// Remove a member (left, quit, or disconnected).
    Leave(Departure),
    /// A member says something.
    Post(Post),
    /// A member changed nick.
    Rename(Member),
    /// The members' nicks, sorted.
    #[rpc]
    Users(RpcReplyPort<UserList>),
    /// The last N messages (all kept if N is 0).
    #[rpc]
    History(u32, RpcReplyPort<HistoryReply>),
    /// Debug builds panic on this (to test supervision); release builds ignore it.
    DebugPanic,
    /// A member handed over by a losing copy of this room, or by its node's relay after the
    /// room's previous host died.
    Adopt(Adoption),
    /// History handed over by a losing copy, or recovered by a relay: merged by sequence number.
    MergeHistory(HistoryReply),
    /// The room's summary, for `chatctl rooms`.
    #[rpc]
    Info(RpcReplyPort<RoomRow>),
}

/// How to start a room.
#[derive(Debug, Clone)]
pub struct RoomArgs {
    /// Canonical name.
    pub name: String,
    /// The node hosting the room.
    pub node: String,
    /// Never removed when empty (`server.default_rooms`).
    pub persistent: bool,
    /// `history.replay`
    pub history: usize,
    /// `limits.presence_max_members`
    pub presence_max: usize,
    /// This node's relay.
    pub relay: ActorRef<RelayMsg>,
    /// This node's registry, told about member counts.
    pub registry: ActorRef<RegistryMsg>,
    /// Distinguishes this room from an earlier one of the same name on this node that may still
    /// be stopping (actor names are unique per process).
    pub incarnation: u64,
    /// Set when restarting after a failure: members are recovered from the relay.
    pub restore: bool,
}

/// The room actor.
pub struct Room;

/// A room's state.
pub struct RoomState {
    args: RoomArgs,
    /// This instance's actor name (`room:NAME@NODE`).
    actor_name: String,
    /// Gateways of the other nodes with members here.
    gateways: HashMap<String, ActorRef<GatewayMsg>>,
    members: HashMap<MemberAddr, String>,
    /// Members per node: one delivery per node per event.
    nodes: HashMap<String, usize>,
    history: VecDeque<ChatMessage>,
    seq: u64,
    /// When this room was created (milliseconds since the epoch).
    created_ms: u64,
    /// Join requests handled so far; the registry compares it with the joins it sent this way,
    /// so an empty room is only closed when no join is on its way to it.
    joins: u64,
}

/// How to reach the members on one node.
enum Route {
    /// This node's relay.
    Local(ActorRef<RelayMsg>),
    /// Another node's gateway.
    Remote(ActorRef<GatewayMsg>),
}

impl RoomState {
    fn route(&mut self, node: &str) -> Option<Route> {
        if node == self.args.node {
            return Some(Route::Local(self.args.relay.clone()));
        }
        if let Some(gateway) = self.gateways.get(node)
            && !matches!(
                gateway.get_status(),
                ActorStatus::Stopping | ActorStatus::Stopped
            )
        {
            return Some(Route::Remote(gateway.clone()));
        }
        let gateway = cluster::gateway_of(node)?;
        self.gateways.insert(node.to_string(), gateway.clone());
        Some(Route::Remote(gateway))
    }

    /// Sends an event to every member, once per node.
    fn deliver(&mut self, event: Event) {
        let nodes: Vec<String> = self.nodes.keys().cloned().collect();
        for node in nodes {
            let room = self.args.name.clone();
            match self.route(&node) {
                Some(Route::Local(relay)) => {
                    let _ = relay.cast(RelayMsg::Deliver {
                        room,
                        event: event.clone(),
                    });
                }
                Some(Route::Remote(gateway)) => {
                    let _ = gateway.cast(GatewayMsg::Deliver(Delivery {
                        room,
                        event: event.clone(),
                    }));
                }
                None => tracing::warn!(room = %self.args.name, %node, "no route to node"),
            }
        }
    }

    /// Subscribes a member at its node, after sending it `preamble`.
    fn subscribe(&mut self, myself: &ActorRef<RoomMsg>, addr: &MemberAddr, preamble: Vec<Event>) {
        let room = self.args.name.clone();
        match self.route(&addr.node) {
            Some(Route::Local(relay)) => {
                let _ = relay.cast(RelayMsg::Subscribe {
                    room,
                    room_ref: myself.clone(),
                    session: addr.session,
                    preamble,
                });
            }
            Some(Route::Remote(gateway)) => {
                let _ = gateway.cast(GatewayMsg::Subscribe(Subscription {
                    room,
                    room_actor: self.actor_name.clone(),
                    session: addr.session,
                    preamble,
                }));
            }
            None => tracing::warn!(room = %self.args.name, node = %addr.node, "no route to node"),
        }
    }

    /// Unsubscribes a member that left on its own, sending it `Left`.
    fn unsubscribe(&mut self, addr: &MemberAddr) {
        let room = self.args.name.clone();
        let farewell = Event::Left { room: room.clone() };
        match self.route(&addr.node) {
            Some(Route::Local(relay)) => {
                let _ = relay.cast(RelayMsg::Unsubscribe {
                    room,
                    session: addr.session,
                    farewell,
                });
            }
            Some(Route::Remote(gateway)) => {
                let _ = gateway.cast(GatewayMsg::Unsubscribe(Unsubscription {
                    room,
                    session: addr.session,
                    farewell,
                }));
            }
            None => {}
        }
    }

    /// Adds recovered or handed-over messages to the history: ordered by time, the same message
    /// (sequence number, sender, time) kept once, numbering continued after the highest.
    fn merge_history(&mut self, messages: Vec<ChatMessage>) {
        let mut merged: Vec<ChatMessage> = self.history.drain(..).chain(messages).collect();
        merged.sort_by(|a, b| (a.ts, a.seq, &a.from).cmp(&(b.ts, b.seq, &b.from)));
        merged.dedup_by(|a, b| a.seq == b.seq && a.ts == b.ts && a.from == b.from);
        self.seq = self
            .seq
            .max(merged.iter().map(|m| m.seq).max().unwrap_or(0));
        let skip = merged.len().saturating_sub(self.args.history);
        self.history = merged.into_iter().skip(skip).collect();
    }

    /// A node left the cluster: its members are gone.
    fn node_left(&mut self, node: &str) {
        self.gateways.remove(node);
        let gone: Vec<MemberAddr> = self
            .members
            .keys()
            .filter(|a| a.node == node)
            .cloned()
            .collect();
        if gone.is_empty() {
            return;
        }
        for addr in &gone {
            if let Some(nick) = self.remove(addr)
                && self.presence()
            {
                self.deliver(Event::UserLeft {
                    room: self.args.name.clone(),
                    nick,
                    reason: Some(format!("node {node} left the cluster")),
                    ts: now_ms(),
                });
            }
        }
        self.report_count();
        if self.members.is_empty() && !self.args.persistent {
            let _ = self.args.registry.cast(RegistryMsg::RoomEmpty {
                name: self.args.name.clone(),
                joins: self.joins,
            });
        }
    }

    fn presence(&self) -> bool {
        self.members.len() <= self.args.presence_max
    }

    fn add(&mut self, addr: MemberAddr, nick: String) {
        *self.nodes.entry(addr.node.clone()).or_default() += 1;
        self.members.insert(addr, nick);
    }

    fn remove(&mut self, addr: &MemberAddr) -> Option<String> {
        let nick = self.members.remove(addr)?;
        if let Some(count) = self.nodes.get_mut(&addr.node) {
            *count -= 1;
            if *count == 0 {
                self.nodes.remove(&addr.node);
            }
        }
        Some(nick)
    }

    fn users(&self) -> Vec<String> {
        let mut users: Vec<String> = self.members.values().cloned().collect();
        // Case-insensitive, without allocating a key per comparison.
        users.sort_unstable_by(|a, b| {
            a.bytes()
                .map(|c| c.to_ascii_lowercase())
                .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
        });
        users
    }

    fn report_count(&self) {
        let _ = self.args.registry.cast(RegistryMsg::RoomCount {
            name: self.args.name.clone(),
            members: self.members.len() as u32,
        });
    }

    fn join(&mut self, myself: &ActorRef<RoomMsg>, member: Member) -> JoinReply {
        self.joins += 1;
        if self.members.contains_key(&member.addr) {
            return JoinReply::Joined;
        }
        if self.route(&member.addr.node).is_none() {
            return JoinReply::Refused {
                code: ErrorCode::Internal,
                message: format!("node {} is not reachable", member.addr.node),
            };
        }
        let ts = now_ms();
        self.add(member.addr.clone(), member.nick.clone());
        if self.presence() {
            // Sent before the joiner is subscribed, so the joiner does not see its own join.
            self.deliver(Event::UserJoined {
                room: self.args.name.clone(),
                nick: member.nick.clone(),
                ts,
            });
        }
        let users = if self.presence() {
            self.users()
        } else {
            Vec::new()
        };
        let mut preamble = vec![
            Event::History {
                room: self.args.name.clone(),
                messages: self.history.iter().cloned().collect(),
            },
            Event::Joined {
                room: self.args.name.clone(),
                users,
            },
        ];
        if !self.presence() {
            preamble.push(Event::Notice {
                room: Some(self.args.name.clone()),
                text: format!("{} users here; /users lists them", self.members.len()),
            });
        }
        self.subscribe(myself, &member.addr, preamble);
        self.report_count();
        JoinReply::Joined
    }

    fn post(&mut self, post: Post) {
        let Some(nick) = self.members.get(&post.from) else {
            return;
        };
        self.seq += 1;
        let message = ChatMessage {
            room: self.args.name.clone(),
            seq: self.seq,
            from: nick.clone(),
            text: post.text,
            action: post.action,
            ts: now_ms(),
        };
        if self.args.history > 0 {
            if self.history.len() == self.args.history {
                self.history.pop_front();
            }
            self.history.push_back(message.clone());
        }
        self.deliver(Event::Message(message));
    }
}

impl Actor for Room {
    type Msg = RoomMsg;
    type State = RoomState;
    type Arguments = RoomArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<RoomMsg>,
        args: RoomArgs,
    ) -> Result<RoomState, ActorProcessingErr> {
        let restore = args.restore;
        let group = cluster::room_group(&args.name);
        ractor::pg::join(group.clone(), vec![myself.get_cell()]);
        ractor::pg::monitor(group, myself.get_cell());
        ractor::pg::monitor(cluster::GATEWAYS.to_string(), myself.get_cell());
        let mut state = RoomState {
            history: VecDeque::with_capacity(args.history.min(64)),
            actor_name: cluster::room_actor_name(&args.name, &args.node, args.incarnation),
            gateways: HashMap::new(),
            args,
            members: HashMap::new(),
            nodes: HashMap::new(),
            seq: 0,
            joins: 0,
            created_ms: now_ms(),
        };
        if restore {
            let recovered = ractor::call_t!(
                state.args.relay,
                RelayMsg::RoomMembers,
                5000,
                state.args.name.clone(),
                myself.clone()
            )?;
            state.seq = recovered.last_seq;
            for member in recovered.members {
                state.add(member.addr, member.nick);
            }
            tracing::warn!(room = %state.args.name, members = state.members.len(), "room restarted");
            state.deliver(Event::Notice {
                room: Some(state.args.name.clone()),
                text: "this room was restarted after a failure; its recent history was lost".into(),
            });
            state.report_count();
        }
        Ok(state)
    }

    async fn handle(
        &self,
        myself: ActorRef<RoomMsg>,
        message: RoomMsg,
        state: &mut RoomState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            RoomMsg::Join(member, reply) => {
                let answer = state.join(&myself, member);
                let _ = reply.send(answer);
            }
            RoomMsg::Leave(departure) => {
                let Some(nick) = state.remove(&departure.addr) else {
                    return Ok(());
                };
                state.report_count();
                if state.members.is_empty() && !state.args.persistent {
                    let _ = state.args.registry.cast(RegistryMsg::RoomEmpty {
                        name: state.args.name.clone(),
                        joins: state.joins,
                    });
                }
                // Unsubscribed before the others hear of it, so the leaver does not.
                if departure.voluntary {
                    state.unsubscribe(&departure.addr);
                }
                if state.presence() {
                    state.deliver(Event::UserLeft {
                        room: state.args.name.clone(),
                        nick,
                        reason: departure.reason,
                        ts: now_ms(),
                    });
                }
            }
            RoomMsg::Post(post) => state.post(post),
            RoomMsg::Rename(member) => {
                if let Some(old) = state.members.get_mut(&member.addr) {
                    let old = std::mem::replace(old, member.nick.clone());
                    state.deliver(Event::NickChanged {
                        room: state.args.name.clone(),
                        old,
                        new: member.nick,
                        ts: now_ms(),
                    });
                }
            }
            RoomMsg::Users(reply) => {
                let _ = reply.send(UserList(state.users()));
            }
            RoomMsg::History(limit, reply) => {
                let skip = match limit as usize {
                    0 => 0,
                    n => state.history.len().saturating_sub(n),
                };
                let _ = reply.send(HistoryReply(
                    state.history.iter().skip(skip).cloned().collect(),
                ));
            }
            RoomMsg::Adopt(Adoption { member, notice }) => {
                if !state.members.contains_key(&member.addr) {
                    state.add(member.addr.clone(), member.nick.clone());
                    let notice = Event::Notice {
                        room: Some(state.args.name.clone()),
                        text: notice,
                    };
                    state.subscribe(&myself, &member.addr, vec![notice]);
                    state.report_count();
                }
            }
            RoomMsg::MergeHistory(HistoryReply(messages)) => state.merge_history(messages),
            RoomMsg::Info(reply) => {
                let _ = reply.send(RoomRow {
                    name: state.args.name.clone(),
                    node: state.args.node.clone(),
                    members: state.members.len() as u32,
                    messages: state.seq,
                    created_ms: state.created_ms,
                });
            }
            RoomMsg::DebugPanic => {
                #[cfg(debug_assertions)]
                panic!("room {}: panic requested by /debug-panic", state.args.name);
                #[cfg(not(debug_assertions))]
                tracing::warn!(room = %state.args.name, "ignored a debug panic request");
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<RoomMsg>,
        event: SupervisionEvent,
        state: &mut RoomState,
    ) -> Result<(), ActorProcessingErr> {
        let SupervisionEvent::ProcessGroupChanged(change) = event else {
            return Ok(());
        };
        if change.get_group() == cluster::GATEWAYS {
            if let GroupChangeMessage::Leave(_, _, cells) = change {
                for name in cells.iter().filter_map(|c| c.get_name()) {
                    if let Some(node) = name.strip_prefix("gateway@") {
                        state.node_left(node);
                    }
                }
            }
            return Ok(());
        }
        // Another instance of this room appeared (or left): the one with the lowest actor name
        // wins everywhere; a loser hands its members and history over and stops.
        if let Some(winner) = cluster::room_winner(&state.args.name)
            && winner.get_name().as_deref() != Some(state.actor_name.as_str())
        {
            tracing::info!(room = %state.args.name, winner = ?winner.get_name(), "merging into the winning copy");
            for (addr, nick) in state.members.drain() {
                let _ = winner.cast(RoomMsg::Adopt(Adoption {
                    member: Member { addr, nick },
                    notice: "two copies of this room met and were merged".into(),
                }));
            }
            let history: Vec<ChatMessage> = state.history.drain(..).collect();
            let _ = winner.cast(RoomMsg::MergeHistory(HistoryReply(history)));
            myself.stop(Some("merged".into()));
        }
        Ok(())
    }
}
