//! The terminal client's state and its update logic: keys, mouse and server events come in, the
//! state changes, and [`Action`]s (commands to send, connections to make) go out.
//!
//! Nothing here draws or touches the network, so every behaviour — switching buffers, unread
//! counts, input history, completion, reconnect bookkeeping, history catch-up — is unit-tested
//! by feeding events and looking at the state.
//!
//! Delivery as the user sees it: a room's messages carry sequence numbers. The app remembers the
//! last one shown per room; after a reconnect the room's history replay fills the gap, messages
//! already shown are skipped, and messages that neither the replay nor the live stream carried are
//! announced ("N messages missed"), so a gap is never silent.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Rect;

use super::buffer::{Buffer, Entry, EntryKind, Target};
use super::config::ClientConfig;
use super::input::InputLine;
use super::theme::Theme;
use super::view::{self, Clock, Look};
use crate::names;
use crate::protocol::{
    ChatMessage, Command, ErrorCode, Event, NodeStatus, PROTOCOL_VERSION, TYPING_EXPIRY_MS,
    TYPING_REFRESH_MS, line,
};

mod events;
mod keys;
#[cfg(test)]
mod tests;

/// What the app asks the outside world to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send a command to the server.
    Send(Command),
    /// Connect to `server` after `delay` (dropping any current connection).
    Connect {
        /// `host:port`.
        server: String,
        /// How long to wait first.
        delay: Duration,
    },
    /// Say goodbye to the server (with this reason) and exit.
    Quit(Option<String>),
    /// Redraw the whole terminal (Ctrl-L).
    Redraw,
}

/// What the network side reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// The TCP connection is up.
    Connected {
        /// `host:port`.
        server: String,
    },
    /// The connection attempt failed.
    ConnectFailed {
        /// `host:port`.
        server: String,
        /// Why.
        reason: String,
    },
    /// An event from the server.
    Event(Event),
    /// The connection was lost.
    Disconnected {
        /// `host:port`.
        server: String,
        /// Why.
        reason: String,
    },
}

/// The connection as the status bar shows it; the server is [`App::server`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnState {
    /// Dialling.
    Connecting,
    /// Connected.
    Online,
    /// Waiting this long before dialling again.
    Waiting(Duration),
    /// Not connected and not reconnecting by itself (after a kick); `/reconnect` resumes.
    Offline {
        /// Why.
        reason: String,
    },
}

/// Where things are on screen, as last drawn (for scrolling by pages and mouse clicks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Viewport {
    /// The message area.
    pub messages: Rect,
    /// The sidebar, when shown; its first row is buffer 1.
    pub sidebar: Option<Rect>,
    /// The user list, when shown.
    pub users: Option<Rect>,
}

/// A nick the app claimed by itself (from the config, or the one held before a reconnect), so a
/// "taken" answer can be retried with an underscore appended.
#[derive(Debug, Clone)]
struct NickClaim {
    base: String,
    tries: usize,
}

/// A room filling the gap left by a lost connection: messages numbered after `after` and before
/// `before` are asked for, page by page; the replay and live messages that came after the gap
/// wait in `held` so that everything shows in order.
#[derive(Debug, Clone)]
struct CatchUp {
    after: u64,
    before: u64,
    held: Vec<ChatMessage>,
}

/// How many underscores an automatic nick claim may append before giving up.
const NICK_RETRIES: usize = 3;

/// Rows the mouse wheel scrolls.
const WHEEL_ROWS: usize = 3;

/// Commands Tab completes, the client's own included.
pub const COMMANDS: &[&str] = &[
    "/clear",
    "/close",
    "/create",
    "/help",
    "/history",
    "/join",
    "/leave",
    "/me",
    "/msg",
    "/nick",
    "/nodes",
    "/part",
    "/ping",
    "/query",
    "/quit",
    "/reconnect",
    "/rooms",
    "/users",
];

/// The client's own commands, for the help screen (the server's come from its help table).
pub const CLIENT_COMMANDS: &[(&str, &str)] = &[
    ("/query NICK [TEXT]", "open a private conversation"),
    ("/close", "leave the room or close the private conversation"),
    ("/clear", "clear this buffer"),
    ("/reconnect", "connect again (after a kick)"),
];

/// The keys, for the help screen.
pub const KEYS: &[(&str, &str)] = &[
    ("Alt-1..9, Alt-0", "go to buffer 1..9, 10"),
    ("Ctrl-N / Ctrl-P", "next / previous buffer"),
    (
        "PgUp / PgDn",
        "scroll back / forward (also the mouse wheel)",
    ),
    ("Ctrl-End", "back to the newest line"),
    ("Up / Down", "previous / next line of input history"),
    ("Tab", "complete a nick, /command or #room (again: next)"),
    ("Ctrl-A / Ctrl-E", "start / end of the line"),
    (
        "Ctrl-W / Ctrl-U / Ctrl-K",
        "delete word / line / to the end",
    ),
    ("Alt-B / Alt-F", "word left / right"),
    ("F2", "show or hide the user list"),
    ("F1", "this help (Esc closes)"),
    ("Ctrl-L", "redraw the screen"),
    ("Ctrl-C", "quit"),
];

/// The whole client state.
pub struct App {
    config: ClientConfig,
    clock: Clock,
    /// Current time source (milliseconds since the epoch); replaceable for tests.
    pub now: fn() -> u64,
    /// Every conversation; buffer 0 is the server buffer.
    pub buffers: Vec<Buffer>,
    /// Index of the buffer on screen.
    pub current: usize,
    /// The input line.
    pub input: InputLine,
    /// The connection.
    pub conn: ConnState,
    /// The node the client is connected to (from the server's welcome).
    pub node: Option<String>,
    /// Server name and version (from the welcome).
    pub server_version: Option<String>,
    /// The nick the server gave us on this connection.
    pub nick: Option<String>,
    /// The nick held before the connection was lost, claimed again after reconnecting.
    reclaim: Option<String>,
    /// The server has accepted a nick at least once (so later joins are rejoins).
    named: bool,
    /// Whether the help screen is open, and how far it is scrolled.
    pub help: Option<usize>,
    /// User list shown (`Some`) or hidden by F2; `None` means by terminal width.
    pub users_toggle: Option<bool>,
    /// Set when the app wants to exit.
    pub quitting: bool,
    viewport: Viewport,
    nick_claim: Option<NickClaim>,
    /// Rooms to join once the nick is accepted (after connecting).
    rejoin: Option<Vec<String>>,
    /// A room the user asked to join: switch to it when joined.
    pending_switch: Option<String>,
    /// Rooms whose next history answer the user asked for (shown in full, not de-duplicated).
    history_requested: HashSet<String>,
    /// Rooms catching up after a reconnect: the gap is being fetched from the server's history,
    /// and what arrives after it waits.
    catch_up: HashMap<String, CatchUp>,
    /// Room names seen in `/rooms` answers, for completion.
    known_rooms: Vec<String>,
    /// Index into `config.servers` of the server in use or being tried.
    server_index: usize,
    /// Failed connection attempts since the last success.
    attempt: u32,
    /// Reconnect by itself after a loss (false after a kick).
    auto_reconnect: bool,
    /// The room we last told that the user is typing, and when (ms since the epoch).
    typing_sent: Option<(String, u64)>,
}

impl App {
    /// A new app; [`App::start`] gives the first action.
    pub fn new(config: ClientConfig) -> App {
        let clock = Clock {
            format: config.timestamp_format.clone(),
            utc: false,
        };
        let mut server = Buffer::new(Target::Server, config.scrollback);
        server.system(
            crate::protocol::now_ms(),
            "welcome to chat-client; F1 or /help shows the keys and commands",
        );
        App {
            input: InputLine::new(config.input_history),
            clock,
            now: crate::protocol::now_ms,
            buffers: vec![server],
            current: 0,
            conn: ConnState::Connecting,
            node: None,
            server_version: None,
            nick: None,
            reclaim: None,
            named: false,
            help: None,
            users_toggle: None,
            quitting: false,
            viewport: Viewport::default(),
            nick_claim: None,
            rejoin: None,
            pending_switch: None,
            history_requested: HashSet::new(),
            catch_up: HashMap::new(),
            known_rooms: Vec::new(),
            server_index: 0,
            attempt: 0,
            auto_reconnect: true,
            typing_sent: None,
            config,
        }
    }

    /// Shows timestamps in UTC (for reproducible screens in tests).
    pub fn use_utc(&mut self) {
        self.clock.utc = true;
    }

    /// The first action: connect to the first server.
    pub fn start(&mut self) -> Vec<Action> {
        vec![self.connect_action(Duration::ZERO)]
    }

    /// Colours.
    pub fn theme(&self) -> &Theme {
        &self.config.theme
    }

    /// What line rendering needs.
    pub fn look(&self) -> Look<'_> {
        Look {
            theme: &self.config.theme,
            clock: &self.clock,
        }
    }

    /// The buffer on screen.
    pub fn current_buffer(&self) -> &Buffer {
        &self.buffers[self.current]
    }

    /// Records where things were drawn.
    pub fn set_viewport(&mut self, viewport: Viewport) {
        self.viewport = viewport;
    }

    /// The server in use or being tried.
    pub fn server(&self) -> &str {
        self.config
            .servers
            .get(self.server_index)
            .map_or("", String::as_str)
    }

    /// The nick to show: the current one, or while reconnecting the one being reclaimed.
    pub fn shown_nick(&self) -> Option<&str> {
        self.nick.as_deref().or(self.reclaim.as_deref())
    }

    /// Failed connection attempts since the last success.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Whether the client has a live connection.
    pub fn online(&self) -> bool {
        self.conn == ConnState::Online
    }

    fn now(&self) -> u64 {
        (self.now)()
    }

    /// Who is typing in the current buffer, for the status bar.
    pub fn typing_text(&self) -> Option<String> {
        self.current_buffer().typing_text(self.now())
    }

    // ----- connection bookkeeping -----

    fn connect_action(&mut self, delay: Duration) -> Action {
        self.conn = if delay.is_zero() {
            ConnState::Connecting
        } else {
            ConnState::Waiting(delay)
        };
        Action::Connect {
            server: self.server().to_string(),
            delay,
        }
    }

    /// The wait before attempt number `attempt` (1-based): the initial delay, doubling, capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(20);
        self.config
            .reconnect_initial
            .saturating_mul(1u32 << doublings)
            .min(self.config.reconnect_max)
    }

    /// After a failure: the next server, after the backoff.
    fn retry(&mut self) -> Vec<Action> {
        self.attempt += 1;
        self.server_index = (self.server_index + 1) % self.config.servers.len().max(1);
        let delay = self.backoff(self.attempt);
        vec![self.connect_action(delay)]
    }

    /// Something from the network side.
    pub fn on_net(&mut self, event: NetEvent) -> Vec<Action> {
        match event {
            NetEvent::Connected { server } => {
                self.conn = ConnState::Online;
                let now = self.now();
                self.buffers[0].system(now, format!("connected to {server}"));
                Vec::new()
            }
            NetEvent::ConnectFailed { server, reason } => {
                let now = self.now();
                self.buffers[0].error(now, format!("cannot connect to {server}: {reason}"));
                if self.auto_reconnect {
                    self.retry()
                } else {
                    self.conn = ConnState::Offline { reason };
                    Vec::new()
                }
            }
            NetEvent::Disconnected { server, reason } => self.disconnected(&server, reason),
            NetEvent::Event(event) => self.on_event(event),
        }
    }

    fn disconnected(&mut self, server: &str, reason: String) -> Vec<Action> {
        let now = self.now();
        // A catch-up in progress starts over after the next reconnect, from what was shown.
        self.catch_up.clear();
        let text = format!("disconnected from {server}: {reason}");
        // Every room stays in the sidebar and is joined again after reconnecting.
        for (i, buffer) in self.buffers.iter_mut().enumerate() {
            if matches!(buffer.target, Target::Room(_)) {
                buffer.joined = false;
                buffer.users.clear();
                buffer.error(now, text.clone());
            } else if i == 0 {
                buffer.error(now, text.clone());
            }
        }
        self.node = None;
        if let Some(nick) = self.nick.take() {
            self.reclaim = Some(nick);
        }
        self.nick_claim = None;
        self.rejoin = None;
        if self.quitting {
            return Vec::new();
        }
        if self.auto_reconnect {
            self.retry()
        } else {
            self.buffers[0].system(now, "not reconnecting; /reconnect connects again");
            self.conn = ConnState::Offline { reason };
            Vec::new()
        }
    }

    fn is_me(&self, nick: &str) -> bool {
        self.nick
            .as_deref()
            .is_some_and(|me| me.eq_ignore_ascii_case(nick))
    }

    fn mentions_me(&self, text: &str) -> bool {
        let Some(me) = self.nick.as_deref() else {
            return false;
        };
        text.split(|c: char| !(c.is_ascii_alphanumeric() || "_-[]{}|^".contains(c)))
            .any(|word| word.eq_ignore_ascii_case(me))
    }

    /// Appends a line to a buffer, keeping a scrolled-up view still and counting unread.
    fn push(&mut self, idx: usize, entry: Entry) {
        let counts = matches!(
            entry.kind,
            EntryKind::Message {
                history: false,
                own: false,
                ..
            }
        );
        let mention = matches!(entry.kind, EntryKind::Message { mention: true, .. });
        let rows = if self.buffers[idx].scroll > 0 {
            view::height(&entry, &self.look(), self.viewport.messages.width as usize)
        } else {
            0
        };
        let buffer = &mut self.buffers[idx];
        if buffer.scroll > 0 {
            buffer.scroll += rows;
            buffer.unseen_below += 1;
        }
        buffer.push(entry);
        if counts && idx != self.current {
            buffer.unread += 1;
            buffer.mentioned |= mention;
        }
    }

    fn find(&self, target: &Target) -> Option<usize> {
        self.buffers.iter().position(|b| match (&b.target, target) {
            (Target::Private(a), Target::Private(b)) => a.eq_ignore_ascii_case(b),
            (a, b) => a == b,
        })
    }

    /// The buffer of a room, created (after the other rooms) if missing.
    fn room_buffer(&mut self, room: &str) -> usize {
        let target = Target::Room(room.to_string());
        if let Some(idx) = self.find(&target) {
            return idx;
        }
        let at = self
            .buffers
            .iter()
            .rposition(|b| !matches!(b.target, Target::Private(_)))
            .map_or(self.buffers.len(), |i| i + 1);
        self.buffers
            .insert(at, Buffer::new(target, self.config.scrollback));
        if self.current >= at && self.current != 0 {
            self.current += 1;
        }
        at
    }

    /// The buffer of a private conversation, created (last) if missing.
    fn private_buffer(&mut self, nick: &str) -> usize {
        let target = Target::Private(nick.to_string());
        if let Some(idx) = self.find(&target) {
            return idx;
        }
        self.buffers
            .push(Buffer::new(target, self.config.scrollback));
        self.buffers.len() - 1
    }

    fn close(&mut self, idx: usize) {
        if idx == 0 || idx >= self.buffers.len() {
            return;
        }
        self.buffers.remove(idx);
        if self.current > idx || self.current >= self.buffers.len() {
            self.current = self.current.saturating_sub(1);
        }
        self.buffers[self.current].mark_read();
    }

    /// Makes buffer `idx` current (ignored if there is no such buffer).
    pub fn switch_to(&mut self, idx: usize) {
        if idx < self.buffers.len() {
            self.current = idx;
            self.buffers[idx].mark_read();
        }
    }

    fn current_room(&self) -> Option<String> {
        match &self.buffers[self.current].target {
            Target::Room(room) => Some(room.clone()),
            _ => None,
        }
    }
}

/// "1 user", "3 users".
pub fn users_text(n: usize) -> String {
    if n == 1 {
        "1 user".into()
    } else {
        format!("{n} users")
    }
}

fn missed_text(missed: u64) -> String {
    if missed == 1 {
        "1 message missed (no longer in the room's history)".into()
    } else {
        format!("{missed} messages missed (no longer in the room's history)")
    }
}
