//! The room actor: one per room. It owns the member list ([`members`]), numbers every message and
//! keeps the recent ones ([`history`]), and fans each event out once per node that has members,
//! through that node's relay (see [`crate::server::cluster::route`]).
//!
//! A room closes itself `server.empty_room_linger_ms` after its last member left (unless it is a
//! default room, or someone joined meanwhile); a join that reaches it too late fails, and the
//! joiner creates the room again. While it lingers it is as good as new: no topic, no operators,
//! hidden from room lists; only its numbering and history stay warm.
//!
//! Room messages are remotable and carry only serializable data, so a session on another node can
//! reach a room through a remote actor reference. A room never waits on a session: every delivery
//! is a cast to a relay or a gateway, which only ever do non-blocking queue pushes.

pub mod history;
pub mod members;
pub mod moderation;
pub mod typing;

use std::time::Instant;

use tokio::sync::oneshot;

use ractor::pg::GroupChangeMessage;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};

use crate::protocol::{ChatMessage, ErrorCode, Event, MAX_TOPIC_BYTES, Topic, now_ms};
use crate::server::cluster::directory;
use crate::server::cluster::route::{LocalNode, Router};
use crate::server::msg::admin::RoomRow;
use crate::server::msg::member::{Member, MemberAddr};
use crate::server::msg::registry::RegistryMsg;
use crate::server::msg::relay::RelayMsg;
use crate::server::msg::room::{
    Adoption, AwayPost, Departure, HistoryReply, JoinReply, ModAction, ModReply, ModRequest, Post,
    Purge, Purged, RoomMsg, RoomStateReply, TypingPost, UserList,
};
use crate::server::msg::room_supervisor::RoomArgs;
use crate::server::store::{Range, StoreError};
use crate::server::timeouts::ROOM_RECOVERY_MS;
use history::History;
use members::Members;
use moderation::Moderation;
use typing::Typists;

/// Numbers a room reserves in the store at a time. After a crash the room numbers on after its
/// reservation, so at most this many numbers go unused, and none is ever used twice.
const RESERVE: u64 = 100;

/// The room actor.
pub struct Room;

/// A room's state.
pub struct RoomState {
    args: RoomArgs,
    /// This instance's actor name (`room:NAME@NODE/N`).
    actor_name: String,
    /// The way to each node with members.
    router: Router,
    members: Members,
    history: History,
    /// When this room was created (milliseconds since the epoch).
    created_ms: u64,
    /// The last member left while handling the current message (see
    /// [`RoomState::close_if_emptied`]).
    emptied: bool,
    /// How many times the room became empty: a [`RoomMsg::Linger`] of an earlier time is stale.
    emptyings: u64,
    /// Who is typing.
    typists: Typists,
    /// The topic and the operators.
    moderation: Moderation,
    /// Whether a [`RoomMsg::TypingSweep`] is on its way.
    sweeping: bool,
    /// The highest number the store has reserved for this room (see [`RoomState::reserve`]).
    reserved: u64,
    /// A reservation on its way: how far, and the store's answer.
    reserving: Option<(u64, oneshot::Receiver<Result<(), StoreError>>)>,
}

impl RoomState {
    /// Sends an event to every member, once per node (the event itself goes to the last node,
    /// so a room on one node clones nothing).
    fn deliver(&mut self, event: Event) {
        let RoomState {
            members,
            router,
            args,
            ..
        } = self;
        let mut event = Some(event);
        let mut nodes = members.nodes();
        while let Some(node) = nodes.next() {
            let Some(route) = router.route(node) else {
                tracing::warn!(room = %args.name, %node, "no route to node");
                continue;
            };
            let this = match nodes.len() {
                0 => event.take(),
                _ => event.clone(),
            };
            if let Some(this) = this {
                route.deliver(args.name.clone(), this);
            }
        }
    }

    /// Subscribes a member at its node, after sending it `preamble`.
    fn subscribe(&mut self, myself: &ActorRef<RoomMsg>, addr: &MemberAddr, preamble: Vec<Event>) {
        match self.router.route(&addr.node) {
            Some(route) => route.subscribe(
                self.args.name.clone(),
                myself,
                &self.actor_name,
                self.args.unlisted,
                addr.session,
                preamble,
            ),
            None => tracing::warn!(room = %self.args.name, node = %addr.node, "no route to node"),
        }
    }

    /// Unsubscribes a member that left on its own, sending it `Left`.
    fn unsubscribe(&mut self, addr: &MemberAddr) {
        let room = self.args.name.clone();
        if let Some(route) = self.router.route(&addr.node) {
            route.unsubscribe(room.clone(), addr.session, Event::Left { room });
        }
    }

    /// Notes that the room may have become empty.
    fn note_if_empty(&mut self) {
        self.emptied |= self.members.is_empty();
    }

    /// After the message in which the last member left (a persistent room stays as it is): the
    /// room forgets its topic and operators, as a room opened anew would have none, and closes
    /// once it has lingered empty (at once without a linger).
    fn close_if_emptied(&mut self, myself: &ActorRef<RoomMsg>) {
        if !std::mem::take(&mut self.emptied) || !self.members.is_empty() || self.args.persistent {
            return;
        }
        self.moderation = Moderation::default();
        self.emptyings += 1;
        if self.args.linger.is_zero() {
            self.close(myself);
        } else {
            let emptying = self.emptyings;
            myself.send_after(self.args.linger, move || RoomMsg::Linger(emptying));
        }
    }

    /// Closes the room: out of its group first, so no one finds it while it stops. The room
    /// decides alone, between two messages, so a join either reached it before (and it stays
    /// open) or fails and finds no room: the joiner then creates it again (see the session's
    /// `join`). The registry forgets the room when its supervisor reports it stopped.
    fn close(&mut self, myself: &ActorRef<RoomMsg>) {
        tracing::debug!(room = %self.args.name, "closing empty room");
        ractor::pg::leave(
            directory::room_group(&self.args.name),
            vec![myself.get_cell()],
        );
        myself.stop(Some("empty".into()));
    }

    /// A node left the cluster: its members are gone.
    fn node_left(&mut self, node: &str) {
        self.router.forget(node);
        let gone = self.members.on_node(node);
        if gone.is_empty() {
            return;
        }
        for addr in &gone {
            self.typists.stop(addr);
            self.moderation.forget(addr);
            if let Some(nick) = self.members.remove(addr)
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
        self.note_if_empty();
    }

    fn presence(&self) -> bool {
        self.members.len() <= self.args.presence_max
    }

    fn report_count(&self) {
        let _ = self.args.registry.cast(RegistryMsg::RoomCount {
            name: self.args.name.clone(),
            members: self.members.len() as u32,
        });
    }

    fn join(&mut self, myself: &ActorRef<RoomMsg>, member: Member) -> JoinReply {
        if self.members.contains(&member.addr) {
            return JoinReply::Joined;
        }
        if self.router.route(&member.addr.node).is_none() {
            return JoinReply::Refused {
                code: ErrorCode::Internal,
                message: format!("node {} is not reachable", member.addr.node),
            };
        }
        let ts = now_ms();
        if self.members.is_empty() {
            // Whoever opens a room is its first operator.
            self.moderation.set_operator(&member.addr, true);
        }
        self.members.add(member.addr.clone(), member.nick.clone());
        if self.presence() {
            // Sent before the joiner is subscribed, so the joiner does not see its own join.
            self.deliver(Event::UserJoined {
                room: self.args.name.clone(),
                nick: member.nick.clone(),
                ts,
            });
        }
        let users = if self.presence() {
            self.members.users()
        } else {
            Vec::new()
        };
        let mut preamble = vec![
            Event::History {
                room: self.args.name.clone(),
                messages: self.history.last(0),
            },
            Event::Joined {
                room: self.args.name.clone(),
                users,
            },
            Event::RoomState {
                room: self.args.name.clone(),
                topic: self.moderation.topic().cloned(),
                operators: self.moderation.operators(&self.members),
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

    fn leave(&mut self, departure: Departure) {
        self.stop_typing(&departure.addr);
        self.moderation.forget(&departure.addr);
        let Some(nick) = self.members.remove(&departure.addr) else {
            return;
        };
        self.report_count();
        self.note_if_empty();
        // Unsubscribed before the others hear of it, so the leaver does not.
        if departure.voluntary {
            self.unsubscribe(&departure.addr);
        }
        if self.presence() {
            self.deliver(Event::UserLeft {
                room: self.args.name.clone(),
                nick,
                reason: departure.reason,
                ts: now_ms(),
            });
        }
    }

    /// An operator's request.
    fn moderate(&mut self, request: ModRequest) -> ModReply {
        let room = self.args.name.clone();
        let Some(by) = self.members.nick(&request.from).cloned() else {
            return ModReply::Refused {
                code: ErrorCode::NotInRoom,
                message: format!("you are not in #{room}"),
            };
        };
        if let Err(refused) = self.moderation.check(&request.from, &room) {
            return refused;
        }
        let member = |nick: &str| -> Result<MemberAddr, ModReply> {
            self.members
                .find(nick)
                .cloned()
                .ok_or_else(|| ModReply::Refused {
                    code: ErrorCode::UserNotFound,
                    message: format!("{nick} is not in #{room}"),
                })
        };
        match request.action {
            ModAction::Topic(text) => {
                if text.len() > MAX_TOPIC_BYTES {
                    return ModReply::Refused {
                        code: ErrorCode::MessageTooLong,
                        message: format!("a topic has at most {MAX_TOPIC_BYTES} bytes"),
                    };
                }
                let topic = Topic {
                    text,
                    by,
                    ts: now_ms(),
                };
                self.moderation.set_topic(topic.clone());
                self.deliver(Event::TopicChanged { room, topic });
            }
            ModAction::Op { nick, on } => {
                let addr = match member(&nick) {
                    Ok(addr) => addr,
                    Err(refused) => return refused,
                };
                if self.moderation.set_operator(&addr, on) {
                    let nick = self.members.nick(&addr).cloned().unwrap_or(nick);
                    self.deliver(Event::Operator { room, nick, by, on });
                }
            }
            ModAction::Kick { nick, reason } => {
                let addr = match member(&nick) {
                    Ok(addr) => addr,
                    Err(refused) => return refused,
                };
                self.stop_typing(&addr);
                self.moderation.forget(&addr);
                let nick = self.members.remove(&addr).unwrap_or(nick);
                self.report_count();
                self.note_if_empty();
                let kicked = Event::Kicked {
                    room: room.clone(),
                    nick,
                    by,
                    reason,
                };
                // The member removed hears of it last, as its farewell.
                if let Some(route) = self.router.route(&addr.node) {
                    route.unsubscribe(room, addr.session, kicked.clone());
                }
                self.deliver(kicked);
            }
        }
        ModReply::Done
    }

    /// Makes sure the next number is reserved in the store before it is used: asks for the
    /// next block half a block ahead, and waits only if the room outruns the store.
    async fn reserve(&mut self) {
        let Some(store) = self.args.store.clone() else {
            return;
        };
        let next = self.history.seq() + 1;
        if let Some((upto, answer)) = &mut self.reserving
            && !matches!(answer.try_recv(), Err(oneshot::error::TryRecvError::Empty))
        {
            self.reserved = *upto;
            self.reserving = None;
        }
        if self.reserving.is_none() && next + RESERVE / 2 > self.reserved {
            let upto = self.reserved.max(next - 1) + RESERVE;
            self.reserving = Some((upto, store.reserve(&self.args.name, upto)));
        }
        if next > self.reserved
            && let Some((upto, answer)) = self.reserving.take()
        {
            if let Ok(Err(e)) = answer.await {
                tracing::warn!(room = %self.args.name, error = %e, "numbers used before the store recorded them");
            }
            self.reserved = upto;
        }
    }

    async fn post(&mut self, post: Post) {
        let Some(nick) = self.members.nick(&post.from).cloned() else {
            // The sender's session believed it was a member (a window while copies of the room
            // merge or the room moves): it is told, never dropped silently.
            let name = &self.args.name;
            let refusal = Event::error(
                ErrorCode::NotInRoom,
                format!(
                    "you are not in #{name} (it moved or restarted): your message was not delivered; /join #{name}"
                ),
            );
            if let Some(route) = self.router.route(&post.from.node) {
                route.unicast(post.from.session, refusal);
            }
            return;
        };
        self.stop_typing(&post.from);
        self.reserve().await;
        let message = self
            .history
            .append(&self.args.name, nick, post.text, post.action, now_ms());
        if let Some(store) = &self.args.store {
            if store.durable() {
                // sync = "always": nothing a member receives may be lost.
                if let Err(e) = store.append_durable(message.clone()).await {
                    tracing::warn!(room = %self.args.name, error = %e, "delivered a message the store did not commit");
                }
            } else {
                store.append(message.clone());
            }
        }
        self.deliver(Event::Message(message));
    }

    /// Answers a history request: the store's messages in `range`, with the newest ones this
    /// room holds (they may not be committed yet), or only the latter without a store. The
    /// store is read off the room's path; the room goes on meanwhile.
    fn fetch(&self, range: Range, reply: RpcReplyPort<HistoryReply>) {
        let recent = range.apply(&self.history.last(0));
        let Some(store) = self.args.store.clone() else {
            let _ = reply.send(HistoryReply(recent));
            return;
        };
        let name = self.args.name.clone();
        tokio::spawn(async move {
            let mut messages = match store.fetch(&name, range).await {
                Ok(stored) => stored,
                Err(e) => {
                    tracing::warn!(room = %name, error = %e, "history fetch failed; answering from memory");
                    Vec::new()
                }
            };
            messages.extend(recent);
            messages.sort_by_key(|m| m.seq);
            messages.dedup_by_key(|m| m.seq);
            let _ = reply.send(HistoryReply(range.apply(&messages)));
        });
    }

    /// Continues the numbering and fills the recent history from the store, after a restart.
    async fn load(&mut self) {
        let Some(store) = self.args.store.clone() else {
            return;
        };
        let name = &self.args.name;
        let limit = u32::try_from(self.args.history).unwrap_or(u32::MAX);
        // Where the room numbers on from:
        // - closed cleanly earlier in this process: where it stood then (its reservation still
        //   holds), or what another node stored since, if more;
        // - restarted after a failure while the node runs: what is stored, once the writer has
        //   it all (it lost nothing);
        // - otherwise (a start, maybe after a crash of the node): past this node's reservation,
        //   which covers whatever was delivered.
        let recalled = store.recall(name).filter(|_| !self.args.restore);
        if self.args.restore {
            store.flush().await;
        }
        let with_reservation = recalled.is_none() && !self.args.restore;
        match store.resume(name, limit, with_reservation).await {
            Ok((last, messages)) => {
                let (used, reserved) = recalled.map_or((last, last), |n| (n.used, n.reserved));
                self.history.continue_from(last.max(used));
                self.history.merge(messages);
                self.reserved = reserved.max(self.history.seq().min(last));
                if self.history.seq() > 0 {
                    tracing::debug!(room = %name, seq = self.history.seq(), "numbering continues");
                }
            }
            Err(e) => {
                tracing::warn!(room = %name, error = %e, "the store's history could not be read; numbering continues from memory");
            }
        }
    }

    /// Tells the others that `addr` started or stopped typing, throttled (see [`typing`]), and
    /// makes sure expired states are swept. Rooms too big for presence skip typing too.
    fn typing(&mut self, myself: &ActorRef<RoomMsg>, TypingPost { from, active }: TypingPost) {
        if !self.presence() {
            return;
        }
        let Some(nick) = self.members.nick(&from).cloned() else {
            return;
        };
        if self.typists.update(&from, active, Instant::now()) {
            self.tell_typing(nick, active);
        }
        if !self.typists.is_empty() && !self.sweeping {
            self.sweeping = true;
            myself.send_after(typing::SWEEP_EVERY, || RoomMsg::TypingSweep);
        }
    }

    /// Ends the typing states that were not refreshed in time.
    fn sweep_typing(&mut self, myself: &ActorRef<RoomMsg>) {
        self.sweeping = false;
        for addr in self.typists.expire(Instant::now()) {
            if let Some(nick) = self.members.nick(&addr).cloned() {
                self.tell_typing(nick, false);
            }
        }
        if !self.typists.is_empty() {
            self.sweeping = true;
            myself.send_after(typing::SWEEP_EVERY, || RoomMsg::TypingSweep);
        }
    }

    /// `addr` is no longer typing (it said something or is leaving): the others are told if it was.
    fn stop_typing(&mut self, addr: &MemberAddr) {
        if self.typists.stop(addr)
            && let Some(nick) = self.members.nick(addr).cloned()
        {
            self.tell_typing(nick, false);
        }
    }

    fn tell_typing(&mut self, nick: String, active: bool) {
        self.deliver(Event::Typing {
            room: self.args.name.clone(),
            nick,
            active,
        });
    }

    fn rename(&mut self, member: Member) {
        if let Some(old) = self.members.rename(&member.addr, member.nick.clone()) {
            self.deliver(Event::NickChanged {
                room: self.args.name.clone(),
                old,
                new: member.nick,
                ts: now_ms(),
            });
        }
    }

    fn adopt(&mut self, myself: &ActorRef<RoomMsg>, Adoption { member, notice }: Adoption) {
        if !self.members.contains(&member.addr) {
            self.members.add(member.addr.clone(), member.nick.clone());
            let notice = Event::Notice {
                room: Some(self.args.name.clone()),
                text: notice,
            };
            self.subscribe(myself, &member.addr, vec![notice]);
            self.report_count();
        }
    }

    /// Another copy of this room won (the lowest actor name, on every node): hands it the members
    /// and the history, then stops.
    fn merge_into(&mut self, myself: &ActorRef<RoomMsg>, winner: ActorRef<RoomMsg>) {
        tracing::info!(room = %self.args.name, winner = ?winner.get_name(), "merging into the winning copy");
        for (addr, nick) in self.members.drain() {
            let _ = winner.cast(RoomMsg::Adopt(Adoption {
                member: Member { addr, nick },
                notice: "two copies of this room met and were merged".into(),
            }));
        }
        let history: Vec<ChatMessage> = self.history.take();
        let _ = winner.cast(RoomMsg::MergeHistory(HistoryReply(history)));
        myself.stop(Some("merged".into()));
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
        let group = directory::room_group(&args.name);
        ractor::pg::join(group.clone(), vec![myself.get_cell()]);
        ractor::pg::monitor(group, myself.get_cell());
        ractor::pg::monitor(directory::gateways_group(), myself.get_cell());
        let router = Router::new(LocalNode {
            node: args.node.clone(),
            relay: args.relay.clone(),
            registry: args.registry.clone(),
        });
        let mut state = RoomState {
            history: History::new(args.history, 0),
            actor_name: directory::room_actor_name(&args.name, &args.node, args.incarnation),
            router,
            args,
            members: Members::default(),
            emptied: false,
            emptyings: 0,
            created_ms: now_ms(),
            typists: Typists::default(),
            moderation: Moderation::default(),
            sweeping: false,
            reserved: 0,
            reserving: None,
        };
        if restore {
            let recovered = ractor::call_t!(
                state.args.relay,
                RelayMsg::RoomMembers,
                ROOM_RECOVERY_MS,
                state.args.name.clone(),
                myself.clone()
            )?;
            state.history = History::new(state.args.history, recovered.last_seq);
            for member in recovered.members {
                state.members.add(member.addr, member.nick);
            }
            tracing::warn!(room = %state.args.name, members = state.members.len(), "room restarted");
            state.deliver(Event::Notice {
                room: Some(state.args.name.clone()),
                text: "this room was restarted after a failure; its recent history was lost".into(),
            });
            state.report_count();
        }
        state.load().await;
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
            RoomMsg::Leave(departure) => state.leave(departure),
            RoomMsg::Evict => {
                if state.members.is_empty() && !state.args.persistent {
                    state.close(&myself);
                }
            }
            RoomMsg::Linger(emptying) => {
                if emptying == state.emptyings && state.members.is_empty() {
                    state.close(&myself);
                }
            }
            RoomMsg::Post(post) => state.post(post).await,
            RoomMsg::Rename(member) => state.rename(member),
            RoomMsg::Users(reply) => {
                let _ = reply.send(UserList {
                    users: state.members.users(),
                    away: state.members.away_users(),
                });
            }
            RoomMsg::History(range, reply) => state.fetch(range, reply),
            RoomMsg::Adopt(adoption) => state.adopt(&myself, adoption),
            RoomMsg::MergeHistory(HistoryReply(messages)) => state.history.merge(messages),
            RoomMsg::Info(reply) => {
                let row = RoomRow {
                    name: state.args.name.clone(),
                    node: state.args.node.clone(),
                    members: state.members.len() as u32,
                    messages: state.history.seq(),
                    created_ms: state.created_ms,
                    unlisted: state.args.unlisted,
                    stored: None,
                };
                match state.args.store.clone() {
                    Some(store) => {
                        tokio::spawn(async move {
                            let stored = store.count(&row.name).await.ok();
                            let _ = reply.send(RoomRow { stored, ..row });
                        });
                    }
                    None => {
                        let _ = reply.send(row);
                    }
                }
            }
            RoomMsg::Typing(post) => state.typing(&myself, post),
            RoomMsg::Moderate(request, reply) => {
                let _ = reply.send(state.moderate(request));
            }
            RoomMsg::Away(AwayPost { from, message }) => {
                if state.members.set_away(&from, message.is_some())
                    && let Some(nick) = state.members.nick(&from).cloned()
                {
                    let room = state.args.name.clone();
                    state.deliver(Event::AwayChanged {
                        room,
                        nick,
                        message,
                    });
                }
            }
            RoomMsg::State(reply) => {
                let _ = reply.send(RoomStateReply {
                    topic: state.moderation.topic().cloned(),
                    operators: state.moderation.operators(&state.members),
                });
            }
            RoomMsg::TypingSweep => state.sweep_typing(&myself),
            RoomMsg::Purge(Purge { before }, reply) => {
                let forgotten = state.history.purge(before);
                match state.args.store.clone() {
                    Some(store) => {
                        let name = state.args.name.clone();
                        tokio::spawn(async move {
                            let purged = match store.purge(&name, before).await {
                                Ok(n) => n,
                                Err(e) => {
                                    tracing::warn!(room = %name, error = %e, "purge failed");
                                    0
                                }
                            };
                            let _ = reply.send(Purged(purged));
                        });
                    }
                    None => {
                        let _ = reply.send(Purged(forgotten));
                    }
                }
            }
            RoomMsg::DebugPanic => {
                #[cfg(debug_assertions)]
                panic!("room {}: panic requested by /debug-panic", state.args.name);
                #[cfg(not(debug_assertions))]
                tracing::warn!(room = %state.args.name, "ignored a debug panic request");
            }
        }
        state.close_if_emptied(&myself);
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<RoomMsg>,
        state: &mut RoomState,
    ) -> Result<(), ActorProcessingErr> {
        // Closed cleanly: created again in this process, the room numbers on from here.
        if let Some(store) = &state.args.store {
            store.remember(&state.args.name, state.history.seq(), state.reserved);
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
        if directory::is_gateways(&change.get_group()) {
            if let GroupChangeMessage::Leave(_, _, cells) = change {
                for name in cells.iter().filter_map(|c| c.get_name()) {
                    if let Some(node) = directory::node_of_gateway(&name) {
                        state.node_left(node);
                    }
                }
                state.close_if_emptied(&myself);
            }
            return Ok(());
        }
        // Another instance of this room appeared (or left): the one with the lowest actor name
        // wins everywhere; a loser hands its members and history over and stops.
        if let Some(winner) = directory::room_winner(&state.args.name)
            && winner.get_name().as_deref() != Some(state.actor_name.as_str())
        {
            state.merge_into(&myself, winner);
        }
        Ok(())
    }
}
