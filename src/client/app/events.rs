//! How the app takes the server's events: messages into buffers (with history catch-up and gap
//! detection), membership changes, command answers, errors.

use super::*;

impl App {
    // ----- server events -----

    /// An event from the server.
    pub fn on_event(&mut self, event: Event) -> Vec<Action> {
        let now = self.now();
        let mut actions = Vec::new();
        match event {
            Event::Welcome {
                server,
                protocol,
                node,
            } => {
                self.attempt = 0;
                self.buffers[0].system(now, format!("{server} on node {node}"));
                if protocol != PROTOCOL_VERSION {
                    self.buffers[0].error(
                        now,
                        format!(
                            "the server speaks protocol {protocol}, this client {PROTOCOL_VERSION}; things may break"
                        ),
                    );
                }
                self.node = Some(node);
                self.server_version = Some(server);
                // Rooms to join once a nick is accepted: those in the sidebar (after a
                // reconnect), else the configured ones.
                let rooms: Vec<String> = self
                    .buffers
                    .iter()
                    .filter_map(|b| match &b.target {
                        Target::Room(room) => Some(room.clone()),
                        _ => None,
                    })
                    .collect();
                self.rejoin = Some(if rooms.is_empty() && !self.named {
                    self.config.rooms.clone()
                } else {
                    rooms
                });
                let wanted = self.nick.clone().or_else(|| self.reclaim.clone());
                match wanted.or_else(|| self.config.nick.clone()) {
                    Some(nick) => {
                        self.nick_claim = Some(NickClaim {
                            base: nick.clone(),
                            tries: 0,
                        });
                        actions.push(Action::Send(Command::Nick(nick)));
                    }
                    None => self.buffers[0].system(now, "type a nick and press Enter"),
                }
                // Land on the server buffer's prompt when there is nothing else to see.
                if self.buffers.len() == 1 {
                    self.current = 0;
                }
            }
            Event::NickOk { nick } => {
                let first = !self.named;
                self.named = true;
                self.nick_claim = None;
                let previous = self.nick.take().or_else(|| self.reclaim.take());
                if previous.as_deref() != Some(&nick) {
                    let text = if first {
                        format!("you are {nick}")
                    } else {
                        format!("you are now known as {nick}")
                    };
                    self.buffers[0].system(now, text);
                }
                self.nick = Some(nick);
                if let Some(rooms) = self.rejoin.take() {
                    for room in rooms {
                        if first && self.pending_switch.is_none() {
                            self.pending_switch = names::canonical_room(&room).ok();
                        }
                        actions.push(Action::Send(Command::Join(room)));
                    }
                }
            }
            Event::NickError {
                nick,
                code,
                message,
            } => match self.nick_claim.as_mut() {
                Some(claim) if code == ErrorCode::NickTaken && claim.tries < NICK_RETRIES => {
                    claim.tries += 1;
                    let next = format!("{}{}", claim.base, "_".repeat(claim.tries));
                    self.buffers[0].system(now, format!("{nick} is taken; trying {next}"));
                    actions.push(Action::Send(Command::Nick(next)));
                }
                _ => {
                    self.nick_claim = None;
                    // Giving up on the old nick: the prompt asks for a new one.
                    self.reclaim = None;
                    let hint = if self.nick.is_none() {
                        "; type another nick"
                    } else {
                        ""
                    };
                    let current = self.current;
                    self.buffers[current].error(now, format!("{message}{hint}"));
                }
            },
            Event::Joined { room, users } => {
                let idx = self.room_buffer(&room);
                let buffer = &mut self.buffers[idx];
                let again = buffer.joined_once;
                buffer.joined = true;
                buffer.joined_once = true;
                buffer.set_users(users);
                let text = if again {
                    format!("rejoined #{room} ({})", users_text(buffer.users.len()))
                } else {
                    format!("you joined #{room} ({})", users_text(buffer.users.len()))
                };
                buffer.system(now, text);
                if self.pending_switch.as_deref() == Some(&room) {
                    self.pending_switch = None;
                    self.switch_to(idx);
                }
            }
            Event::JoinError { room, message, .. } => {
                if let Ok(canonical) = names::canonical_room(&room)
                    && self.pending_switch.as_deref() == Some(&canonical)
                {
                    self.pending_switch = None;
                }
                let current = self.current;
                self.buffers[current].error(now, format!("cannot join {room}: {message}"));
            }
            Event::Left { room } => {
                if let Some(idx) = self.find(&Target::Room(room.clone())) {
                    self.close(idx);
                }
                self.buffers[0].system(now, format!("you left #{room}"));
            }
            Event::Message(m) => self.on_message(m, false, now),
            Event::Private { from, to, text, ts } => {
                let own = self.is_me(&from);
                let peer = if own { to } else { from.clone() };
                let idx = self.private_buffer(&peer);
                self.push(
                    idx,
                    Entry {
                        ts,
                        kind: EntryKind::Message {
                            from,
                            text,
                            action: false,
                            own,
                            mention: !own,
                            history: false,
                        },
                    },
                );
            }
            Event::UserJoined { room, nick, ts } => {
                if let Some(idx) = self.find(&Target::Room(room)) {
                    self.buffers[idx].add_user(&nick);
                    self.buffers[idx].system(ts, format!("{nick} joined"));
                }
            }
            Event::UserLeft {
                room,
                nick,
                reason,
                ts,
            } => {
                if let Some(idx) = self.find(&Target::Room(room)) {
                    self.buffers[idx].remove_user(&nick);
                    self.buffers[idx].set_typing(&nick, None);
                    let text = match reason {
                        Some(reason) => format!("{nick} left ({reason})"),
                        None => format!("{nick} left"),
                    };
                    self.buffers[idx].system(ts, text);
                }
            }
            Event::NickChanged { room, old, new, ts } => {
                if let Some(idx) = self.find(&Target::Room(room)) {
                    self.buffers[idx].remove_user(&old);
                    self.buffers[idx].add_user(&new);
                    self.buffers[idx].system(ts, format!("{old} is now known as {new}"));
                }
                if let Some(idx) = self.find(&Target::Private(old.clone())) {
                    self.buffers[idx].target = Target::Private(new.clone());
                    self.buffers[idx].system(ts, format!("{old} is now known as {new}"));
                }
            }
            Event::RoomList { rooms } => {
                self.known_rooms = rooms.iter().map(|r| r.name.clone()).collect();
                let current = self.current;
                let buffer = &mut self.buffers[current];
                buffer.system(now, format!("rooms ({}):", rooms.len()));
                for r in rooms {
                    buffer.system(
                        now,
                        format!(
                            "  #{}  {}  on {}",
                            r.name,
                            users_text(r.members as usize),
                            r.node
                        ),
                    );
                }
            }
            Event::UserList { room, users, .. } => {
                let current = self.current;
                self.buffers[current].system(
                    now,
                    format!("users of #{room} ({}): {}", users.len(), users.join(" ")),
                );
                if let Some(idx) = self.find(&Target::Room(room)) {
                    self.buffers[idx].set_users(users);
                }
            }
            Event::History { room, messages } => {
                actions.extend(self.on_history(room, messages, now));
            }
            Event::Pong { token } => {
                let current = self.current;
                self.buffers[current].system(now, format!("pong {token}").trim_end().to_string());
            }
            Event::RoomState {
                room,
                topic,
                operators,
            } => {
                let idx = self
                    .find(&Target::Room(room.clone()))
                    .unwrap_or(self.current);
                let mut text = match topic {
                    Some(topic) => format!("#{room} topic: {} (set by {})", topic.text, topic.by),
                    None => format!("#{room} has no topic"),
                };
                if !operators.is_empty() {
                    text.push_str(&format!("; operators: {}", operators.join(" ")));
                }
                self.buffers[idx].system(now, text);
            }
            Event::TopicChanged { room, topic } => {
                if let Some(idx) = self.find(&Target::Room(room)) {
                    let text = if topic.text.is_empty() {
                        format!("{} cleared the topic", topic.by)
                    } else {
                        format!("{} set the topic: {}", topic.by, topic.text)
                    };
                    self.buffers[idx].system(topic.ts, text);
                }
            }
            Event::Operator { room, nick, by, on } => {
                if let Some(idx) = self.find(&Target::Room(room)) {
                    let text = if on {
                        format!("{by} made {nick} an operator")
                    } else {
                        format!("{by} took operator status from {nick}")
                    };
                    self.buffers[idx].system(now, text);
                }
            }
            Event::Kicked {
                room,
                nick,
                by,
                reason,
            } => {
                let why = reason.map(|r| format!(" ({r})")).unwrap_or_default();
                if self.is_me(&nick) {
                    if let Some(idx) = self.find(&Target::Room(room.clone())) {
                        self.close(idx);
                    }
                    self.buffers[0].error(now, format!("{by} removed you from #{room}{why}"));
                } else if let Some(idx) = self.find(&Target::Room(room)) {
                    self.buffers[idx].remove_user(&nick);
                    self.buffers[idx].set_typing(&nick, None);
                    self.buffers[idx].system(now, format!("{by} removed {nick}{why}"));
                }
            }
            Event::UserInfo {
                nick,
                node,
                rooms,
                away,
                ..
            } => {
                let rooms: Vec<String> = rooms.iter().map(|r| format!("#{r}")).collect();
                let mut text = format!("{nick} is on node {node}, in {}", rooms.join(" "));
                if let Some(away) = away {
                    text.push_str(&format!("; away: {away}"));
                }
                let current = self.current;
                self.buffers[current].system(now, text);
            }
            Event::Online { nicks } => {
                let current = self.current;
                self.buffers[current].system(now, format!("online: {}", nicks.join(" ")));
            }
            Event::Away { nick, message } => {
                let text = match message {
                    Some(message) => format!("{nick} is away: {message}"),
                    None => format!("{nick} is back"),
                };
                let current = self.current;
                self.buffers[current].system(now, text);
            }
            Event::AwayChanged {
                room,
                nick,
                message,
            } => {
                if let Some(idx) = self.find(&Target::Room(room)) {
                    let text = match message {
                        Some(message) => format!("{nick} is away: {message}"),
                        None => format!("{nick} is back"),
                    };
                    self.buffers[idx].system(now, text);
                }
            }
            Event::Stats {
                users,
                rooms,
                nodes,
            } => {
                let current = self.current;
                let text = format!("{users} users, {rooms} rooms, {nodes} nodes");
                self.buffers[current].system(now, text);
            }
            Event::Notice { room, text } => {
                let idx = room
                    .and_then(|r| self.find(&Target::Room(r)))
                    .unwrap_or(self.current);
                self.buffers[idx].system(now, text);
            }
            Event::Error { code, message } => {
                if code == ErrorCode::Kicked {
                    self.auto_reconnect = false;
                }
                let current = self.current;
                self.buffers[current].error(now, format!("{message} ({code})"));
                if current != 0 && matches!(code, ErrorCode::Kicked | ErrorCode::SendQueueExceeded)
                {
                    self.buffers[0].error(now, format!("{message} ({code})"));
                }
            }
            Event::Shutdown { reason } => {
                let text = format!("server shutting down: {reason}");
                self.buffers[0].error(now, text.clone());
                if self.current != 0 {
                    let current = self.current;
                    self.buffers[current].error(now, text);
                }
            }
            Event::NodeList { nodes } => {
                let current = self.current;
                let buffer = &mut self.buffers[current];
                buffer.system(now, format!("nodes ({}):", nodes.len()));
                for n in nodes {
                    let status = match n.status {
                        NodeStatus::This => "this node",
                        NodeStatus::Up => "up",
                        NodeStatus::Down => "down",
                    };
                    let text = if n.address.is_empty() {
                        format!("  {}  {status}", n.name)
                    } else {
                        format!("  {}  {status}  {}", n.name, n.address)
                    };
                    buffer.system(now, text);
                }
            }
            Event::Typing { room, nick, active } => {
                if let Some(idx) = self.find(&Target::Room(room)) {
                    let until = active.then_some(now + TYPING_EXPIRY_MS);
                    self.buffers[idx].set_typing(&nick, until);
                }
            }
        }
        actions
    }

    fn on_message(&mut self, m: ChatMessage, history: bool, now: u64) {
        if !history && let Some(catch_up) = self.catch_up.get_mut(&m.room) {
            // Shown once the gap before it is filled.
            catch_up.held.push(m);
            return;
        }
        let idx = self.room_buffer(&m.room);
        if !history {
            match self.buffers[idx].last_seq {
                // Live delivery never repeats a message: a number at or below the last one
                // means the room was re-created and numbers from 1 again.
                Some(last) if m.seq <= last => {
                    self.buffers[idx]
                        .error(now, "the room restarted and numbers its messages anew");
                    self.buffers[idx].last_seq = None;
                }
                Some(last) if m.seq > last + 1 => {
                    let missed = m.seq - last - 1;
                    self.buffers[idx].error(now, missed_text(missed));
                }
                _ => {}
            }
        }
        let buffer = &mut self.buffers[idx];
        buffer.last_seq = Some(buffer.last_seq.map_or(m.seq, |last| last.max(m.seq)));
        buffer.set_typing(&m.from, None);
        let own = self.is_me(&m.from);
        let mention = !own && self.mentions_me(&m.text);
        self.push(
            idx,
            Entry {
                ts: m.ts,
                kind: EntryKind::Message {
                    from: m.from,
                    text: m.text,
                    action: m.action,
                    own,
                    mention,
                    history,
                },
            },
        );
    }

    /// Asks for the next page of a catch-up.
    fn fetch_gap(room: &str, catch_up: &CatchUp) -> Action {
        Action::Send(Command::HistoryRange {
            room: Some(room.to_string()),
            after: Some(catch_up.after),
            before: Some(catch_up.before),
            limit: None,
        })
    }

    /// A page of a catch-up: shown; the next page asked for, or, once the gap is filled (or the
    /// server's history has nothing more), what waited is shown and what is lost announced.
    fn on_catch_up(
        &mut self,
        room: String,
        mut catch_up: CatchUp,
        page: Vec<ChatMessage>,
        now: u64,
    ) -> Vec<Action> {
        let idx = self.room_buffer(&room);
        let page: Vec<ChatMessage> = page
            .into_iter()
            .filter(|m| m.seq > catch_up.after && m.seq < catch_up.before)
            .collect();
        if let Some(first) = page.first() {
            if first.seq > catch_up.after + 1 {
                self.buffers[idx].error(now, missed_text(first.seq - catch_up.after - 1));
            }
            if catch_up.after == self.buffers[idx].last_seq.unwrap_or(0) {
                self.buffers[idx].system(now, "catching up from the room's history");
            }
        }
        let last = page.last().map(|m| m.seq);
        for m in page {
            self.on_message(m, true, now);
        }
        match last {
            Some(last) if last + 1 < catch_up.before => {
                catch_up.after = last;
                let ask = Self::fetch_gap(&room, &catch_up);
                self.catch_up.insert(room, catch_up);
                vec![ask]
            }
            _ => {
                let filled_to = last.unwrap_or(catch_up.after);
                if filled_to + 1 < catch_up.before {
                    self.buffers[idx].error(now, missed_text(catch_up.before - filled_to - 1));
                }
                for m in catch_up.held {
                    self.on_message(m, false, now);
                }
                Vec::new()
            }
        }
    }

    fn on_history(&mut self, room: String, messages: Vec<ChatMessage>, now: u64) -> Vec<Action> {
        if let Some(catch_up) = self.catch_up.remove(&room) {
            return self.on_catch_up(room, catch_up, messages, now);
        }
        let idx = self.room_buffer(&room);
        let asked = self.history_requested.remove(&room);
        let last = self.buffers[idx].last_seq;
        let newest = messages.iter().map(|m| m.seq).max();
        let fresh: Vec<ChatMessage> = match (asked, last, newest) {
            (true, _, _) | (false, None, _) => messages,
            (false, Some(last), Some(newest)) if newest < last => {
                // The room's numbering restarted (it was re-created with no history).
                self.buffers[idx].error(now, "the room's history was reset");
                self.buffers[idx].last_seq = None;
                messages
            }
            (false, Some(last), _) => {
                let fresh: Vec<ChatMessage> =
                    messages.into_iter().filter(|m| m.seq > last).collect();
                if let Some(first) = fresh.first()
                    && first.seq > last + 1
                    && self.online()
                {
                    // A gap the replay does not cover: fetch it from the server's history
                    // first; the replay waits.
                    let catch_up = CatchUp {
                        after: last,
                        before: first.seq,
                        held: fresh,
                    };
                    let ask = Self::fetch_gap(&room, &catch_up);
                    self.catch_up.insert(room, catch_up);
                    return vec![ask];
                }
                fresh
            }
        };
        if fresh.is_empty() {
            if asked {
                self.buffers[idx].system(now, "no history");
            }
            return Vec::new();
        }
        let what = if asked {
            format!("history: {} messages", fresh.len())
        } else if last.is_some() {
            format!("{} messages while away, from history", fresh.len())
        } else {
            format!("{} earlier messages, from history", fresh.len())
        };
        self.buffers[idx].system(now, what);
        // A replay never moves the catch-up position back: on_message keeps the highest seq.
        for m in fresh {
            self.on_message(m, true, now);
        }
        self.buffers[idx].system(now, "end of history");
        Vec::new()
    }
}
