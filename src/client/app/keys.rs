//! How the app takes keys, the mouse and typed lines: buffer switching, scrolling, completion,
//! and turning `/commands` into protocol commands or the client's own actions.

use super::*;

impl App {
    // ----- scrolling -----

    /// Rows of the current buffer's newest lines, counted until `enough` (wrapping the whole
    /// scrollback on every wheel tick would be wasted work).
    fn rows_up_to(&self, enough: usize) -> usize {
        let look = self.look();
        let width = self.viewport.messages.width as usize;
        let mut rows = 0;
        for entry in self.buffers[self.current].entries.iter().rev() {
            if rows >= enough {
                break;
            }
            rows += view::height(entry, &look, width);
        }
        rows
    }

    /// Scrolls the current buffer up (positive) or down (negative) by rows.
    pub fn scroll(&mut self, rows: isize) {
        let height = self.viewport.messages.height as usize;
        let wanted = self.buffers[self.current]
            .scroll
            .saturating_add_signed(rows);
        let max = self
            .rows_up_to(wanted.saturating_add(height))
            .saturating_sub(height);
        let buffer = &mut self.buffers[self.current];
        buffer.scroll = wanted.min(max);
        if buffer.scroll == 0 {
            buffer.unseen_below = 0;
        }
    }

    /// The next (1) or previous (-1) buffer, wrapping around.
    fn step(&mut self, by: isize) {
        let len = self.buffers.len() as isize;
        self.switch_to((self.current as isize + by).rem_euclid(len) as usize);
    }

    fn page(&self) -> isize {
        (self.viewport.messages.height as isize - 1).max(1)
    }

    // ----- keys and mouse -----

    /// A key press.
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Action> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        if let Some(top) = self.help {
            match key.code {
                KeyCode::PageUp | KeyCode::Up => self.help = Some(top.saturating_sub(5)),
                KeyCode::PageDown | KeyCode::Down => self.help = Some(top + 5),
                KeyCode::Char('c') if ctrl => return self.quit(None),
                _ => self.help = None,
            }
            return Vec::new();
        }
        match key.code {
            KeyCode::Char('c') if ctrl => return self.quit(None),
            KeyCode::Char('d') if ctrl && self.input.value().is_empty() => return self.quit(None),
            KeyCode::Char('l') if ctrl => return vec![Action::Redraw],
            KeyCode::Char('n') if ctrl => self.step(1),
            KeyCode::Right if alt => self.step(1),
            KeyCode::Char('p') if ctrl => self.step(-1),
            KeyCode::Left if alt => self.step(-1),
            KeyCode::Char(c @ '0'..='9') if alt => {
                let n = c as usize - '0' as usize;
                self.switch_to(if n == 0 { 9 } else { n - 1 });
            }
            KeyCode::PageUp => self.scroll(self.page()),
            KeyCode::PageDown => self.scroll(-self.page()),
            KeyCode::End if ctrl => self.scroll(isize::MIN / 2),
            KeyCode::Home if ctrl => self.scroll(isize::MAX / 2),
            KeyCode::F(1) => self.help = Some(0),
            KeyCode::F(2) => self.users_toggle = Some(self.viewport.users.is_none()),
            KeyCode::Up => self.input.older(),
            KeyCode::Down => self.input.newer(),
            KeyCode::Tab => self.complete(),
            KeyCode::Enter => return self.submit(),
            _ => {
                self.input.edit(key);
                return self.typed();
            }
        }
        Vec::new()
    }

    /// After an edit of the input line: tells the current room that the user is typing (at most
    /// every [`TYPING_REFRESH_MS`]), or that they stopped when the line was emptied. Commands
    /// being typed (`/...`) are nobody's business.
    fn typed(&mut self) -> Vec<Action> {
        let now = self.now();
        let value = self.input.value();
        let composing = !value.trim().is_empty() && !value.starts_with('/');
        if !self.online() {
            self.typing_sent = None;
            return Vec::new();
        }
        if !composing {
            return match self.typing_sent.take() {
                Some((room, _)) => vec![Action::Send(Command::Typing {
                    room,
                    active: false,
                })],
                None => Vec::new(),
            };
        }
        let Some(room) = self.current_room() else {
            return Vec::new();
        };
        if let Some((sent, at)) = &self.typing_sent
            && *sent == room
            && now < at + TYPING_REFRESH_MS
        {
            return Vec::new();
        }
        self.typing_sent = Some((room.clone(), now));
        vec![Action::Send(Command::Typing { room, active: true })]
    }

    /// A termination signal or a lost terminal: quit, telling the server why.
    pub fn terminate(&mut self, why: &str) -> Vec<Action> {
        self.quit(Some(why.to_string()))
    }

    /// A problem found by the client itself, shown in the current buffer.
    pub fn on_local_error(&mut self, text: &str) {
        let now = self.now();
        let current = self.current;
        self.buffers[current].error(now, text);
    }

    fn quit(&mut self, reason: Option<String>) -> Vec<Action> {
        self.quitting = true;
        vec![Action::Quit(reason)]
    }

    /// Pasted text (bracketed paste).
    pub fn on_paste(&mut self, text: &str) {
        self.input.paste(text);
    }

    /// A mouse event: the wheel scrolls, a click in the sidebar switches buffers.
    pub fn on_mouse(&mut self, mouse: MouseEvent) {
        match mouse.kind {
            MouseEventKind::ScrollUp => self.scroll(WHEEL_ROWS as isize),
            MouseEventKind::ScrollDown => self.scroll(-(WHEEL_ROWS as isize)),
            MouseEventKind::Down(MouseButton::Left) => {
                if let Some(bar) = self.viewport.sidebar
                    && bar.contains((mouse.column, mouse.row).into())
                {
                    self.switch_to((mouse.row - bar.y) as usize);
                }
            }
            _ => {}
        }
    }

    fn complete(&mut self) {
        let buffer = &self.buffers[self.current];
        let mut nicks: Vec<String> = buffer.users.clone();
        if let Target::Private(peer) = &buffer.target {
            nicks.push(peer.clone());
        }
        if let Some(me) = &self.nick {
            nicks.retain(|n| !n.eq_ignore_ascii_case(me));
        }
        let mut rooms: Vec<String> = self
            .buffers
            .iter()
            .filter_map(|b| match &b.target {
                Target::Room(r) => Some(format!("#{r}")),
                _ => None,
            })
            .collect();
        rooms.extend(self.known_rooms.iter().map(|r| format!("#{r}")));
        self.input.complete(|word, first| {
            if first && word.starts_with('/') {
                COMMANDS.iter().map(|c| c.to_string()).collect()
            } else if word.starts_with('#') {
                rooms
            } else {
                nicks
            }
        });
    }

    // ----- the input line -----

    fn submit(&mut self) -> Vec<Action> {
        // A message ends the typing state at the room; a command leaves it to expire.
        self.typing_sent = None;
        let line = self.input.take();
        if line.trim().is_empty() {
            return Vec::new();
        }
        let now = self.now();
        match self.interpret(line.trim_end()) {
            Ok(actions) => actions,
            Err(message) => {
                let current = self.current;
                self.buffers[current].error(now, message);
                Vec::new()
            }
        }
    }

    fn send(&self, command: Command) -> Result<Vec<Action>, String> {
        if self.online() {
            Ok(vec![Action::Send(command)])
        } else {
            Err("not connected; Up brings the line back once connected".into())
        }
    }

    /// Turns a typed line into actions; `Err` is shown as an error line.
    fn interpret(&mut self, line: &str) -> Result<Vec<Action>, String> {
        if self.shown_nick().is_none() && !line.starts_with('/') {
            let nick = line.trim();
            names::validate_nick(nick).map_err(|e| e.to_string())?;
            return self.send(Command::Nick(nick.to_string()));
        }
        if let Some(rest) = line.strip_prefix('/')
            && !rest.starts_with('/')
        {
            let (name, args) = match rest.split_once(char::is_whitespace) {
                Some((name, args)) => (name.to_ascii_lowercase(), args.trim()),
                None => (rest.to_ascii_lowercase(), ""),
            };
            if let Some(actions) = self.local_command(&name, args)? {
                return Ok(actions);
            }
        }
        let command = line::parse(line)
            .map_err(|r| r.message)?
            .ok_or_else(|| "nothing to send".to_string())?;
        let room = self.current_room();
        let need_room = || {
            room.clone()
                .ok_or_else(|| "not in a room here: /join one or switch with Alt-2".to_string())
        };
        let command = match command {
            Command::Msg { room: None, text } => match &self.buffers[self.current].target {
                Target::Private(peer) => Command::PrivateMsg {
                    to: peer.clone(),
                    text,
                },
                _ => Command::Msg {
                    room: Some(need_room()?),
                    text,
                },
            },
            Command::Me { room: None, text } => Command::Me {
                room: Some(need_room().map_err(|_| "/me works in rooms only".to_string())?),
                text,
            },
            Command::ListUsers(None) => Command::ListUsers(Some(need_room()?)),
            Command::History { room: None, limit } => {
                let room = need_room()?;
                self.history_requested.insert(room.clone());
                Command::History {
                    room: Some(room),
                    limit,
                }
            }
            Command::Join(room) => {
                let canonical = names::canonical_room(&room).map_err(|e| e.to_string())?;
                if let Some(idx) = self.find(&Target::Room(canonical.clone()))
                    && self.buffers[idx].joined
                {
                    self.switch_to(idx);
                    return Ok(Vec::new());
                }
                self.pending_switch = Some(canonical);
                Command::Join(room)
            }
            Command::Create { room, node } => {
                self.pending_switch = names::canonical_room(&room).ok();
                Command::Create { room, node }
            }
            Command::Leave(None) => Command::Leave(Some(need_room()?)),
            Command::Quit(reason) => return Ok(self.quit(reason)),
            Command::Help => {
                self.help = Some(0);
                return Ok(Vec::new());
            }
            other => other,
        };
        self.send(command)
    }

    /// The client's own commands; `Ok(None)` for commands the server handles.
    fn local_command(&mut self, name: &str, args: &str) -> Result<Option<Vec<Action>>, String> {
        let now = self.now();
        match name {
            "query" => {
                let (nick, text) = match args.split_once(char::is_whitespace) {
                    Some((nick, text)) => (nick, text.trim()),
                    None => (args, ""),
                };
                if nick.is_empty() {
                    return Err("/query needs a nick".into());
                }
                names::validate_nick(nick).map_err(|e| e.to_string())?;
                let idx = self.private_buffer(nick);
                self.switch_to(idx);
                if text.is_empty() {
                    Ok(Some(Vec::new()))
                } else {
                    self.send(Command::PrivateMsg {
                        to: nick.to_string(),
                        text: text.to_string(),
                    })
                    .map(Some)
                }
            }
            "close" => match self.buffers[self.current].target.clone() {
                Target::Server => Err("the server buffer stays open; /quit exits".into()),
                Target::Private(_) => {
                    self.close(self.current);
                    Ok(Some(Vec::new()))
                }
                // Not joined (while reconnecting): only the buffer goes.
                Target::Room(_) if !self.buffers[self.current].joined => {
                    self.close(self.current);
                    Ok(Some(Vec::new()))
                }
                Target::Room(room) => self.send(Command::Leave(Some(room))).map(Some),
            },
            "clear" => {
                let buffer = &mut self.buffers[self.current];
                buffer.entries.clear();
                buffer.scroll = 0;
                buffer.unseen_below = 0;
                Ok(Some(Vec::new()))
            }
            "reconnect" => {
                if self.online() {
                    return Err("already connected".into());
                }
                self.auto_reconnect = true;
                self.attempt = 0;
                let server = self.server().to_string();
                self.buffers[0].system(now, format!("connecting to {server}"));
                Ok(Some(vec![self.connect_action(Duration::ZERO)]))
            }
            _ => Ok(None),
        }
    }
}
