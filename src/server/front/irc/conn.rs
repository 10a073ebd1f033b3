//! What one IRC connection's reader and encoder share: the server's identity as clients see it,
//! the client's nick and capabilities, the command being answered, and what the encoder holds
//! back until it can be said in IRC's order (a room's history waits for its `JOIN`).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use crate::names::nick_key;
use crate::protocol::ChatMessage;
use crate::server::config::IrcConfig;
use crate::server::front::input::Label;

/// The IRCv3 capabilities chatd offers, one bit each.
pub mod cap {
    /// `server-time`: a `time` tag on messages.
    pub const SERVER_TIME: u32 = 1;
    /// `echo-message`: the client's own messages come back to it.
    pub const ECHO_MESSAGE: u32 = 1 << 1;
    /// `message-tags`: any tags (`msgid`, client tags such as `+typing`).
    pub const MESSAGE_TAGS: u32 = 1 << 2;
    /// `multi-prefix`: every prefix of a member in `NAMES` (chatd has one, `@`).
    pub const MULTI_PREFIX: u32 = 1 << 3;
    /// `away-notify`: `AWAY` from the members of the client's channels when they go or return.
    pub const AWAY_NOTIFY: u32 = 1 << 4;
    /// `batch`: related lines grouped (a `CHATHISTORY` answer).
    pub const BATCH: u32 = 1 << 5;
    /// `draft/chathistory`: `CHATHISTORY` from the rooms' stored history.
    pub const CHATHISTORY: u32 = 1 << 6;

    /// Every capability by name, as `CAP LS` lists them.
    pub const ALL: [(&str, u32); 7] = [
        ("away-notify", AWAY_NOTIFY),
        ("batch", BATCH),
        ("draft/chathistory", CHATHISTORY),
        ("echo-message", ECHO_MESSAGE),
        ("message-tags", MESSAGE_TAGS),
        ("multi-prefix", MULTI_PREFIX),
        ("server-time", SERVER_TIME),
    ];

    /// The bit of a capability name.
    pub fn bit(name: &str) -> Option<u32> {
        ALL.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
    }
}

/// The IRC server as every connection of this node presents it.
#[derive(Debug)]
pub struct IrcServer {
    /// `irc.server_name`: the prefix of numerics and server notices.
    pub name: String,
    /// `irc.network`
    pub network: String,
    /// `irc.motd_file`, read when shown (so an edit shows without a restart).
    pub motd_file: Option<PathBuf>,
    /// `irc.password`
    pub password: Option<String>,
    /// When the node started, for `RPL_CREATED`.
    pub created: String,
    /// `irc.ping_interval_secs`
    pub ping_interval: Duration,
    /// `irc.ping_timeout_secs`
    pub ping_timeout: Duration,
    /// `irc.max_fakelag_secs`
    pub max_fakelag: Duration,
    /// The `RPL_ISUPPORT` tokens, made by the encoder at the first registration.
    pub isupport: OnceLock<Vec<String>>,
}

impl IrcServer {
    /// The server of `config`, started now.
    pub fn new(config: &IrcConfig) -> IrcServer {
        IrcServer {
            name: config.server_name.clone(),
            network: config.network.clone(),
            motd_file: config.motd_file.clone(),
            password: config.password.clone(),
            created: chrono::Utc::now()
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string(),
            ping_interval: config.ping_interval,
            ping_timeout: config.ping_timeout,
            max_fakelag: config.max_fakelag,
            isupport: OnceLock::new(),
        }
    }

    /// The message of the day's lines, `None` without one (or when it cannot be read).
    pub fn motd(&self) -> Option<Vec<String>> {
        let path = self.motd_file.as_ref()?;
        match std::fs::read_to_string(path) {
            Ok(text) => Some(text.lines().map(str::to_string).collect()),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read irc.motd_file");
                None
            }
        }
    }
}

/// A channel's operators, as [`IrcConn::operators`] took them.
#[derive(Debug, Default)]
pub struct Operators(Vec<String>);

impl Operators {
    /// Whether `nick` is one of them (nicks compare case-insensitively; no allocation).
    pub fn has(&self, nick: &str) -> bool {
        self.0.iter().any(|key| key.eq_ignore_ascii_case(nick))
    }
}

/// What the encoder holds for one connection.
#[derive(Debug, Default)]
struct Held {
    /// The command being answered (set by the session around each command).
    label: Option<Label>,
    /// The channels the client is in (canonical room names).
    channels: HashSet<String>,
    /// History that arrived before its room's `JOIN` could be sent.
    history: HashMap<String, Vec<ChatMessage>>,
    /// A joined room's members, held from its `Joined` until its `RoomState` says who the
    /// operators are (`NAMES` shows them).
    names: HashMap<String, Vec<String>>,
    /// The operators of the channels the client is in, by nick key.
    operators: HashMap<String, HashSet<String>>,
}

/// One IRC connection's state, shared by its reader and its encoder.
#[derive(Debug)]
pub struct IrcConn {
    /// The server.
    pub server: Arc<IrcServer>,
    /// The client's nick (`*` until registration completes).
    nick: Mutex<String>,
    /// Negotiated capabilities ([`cap`] bits).
    caps: AtomicU32,
    /// Whether the welcome (001–005, MOTD) was sent.
    welcomed: AtomicBool,
    held: Mutex<Held>,
}

/// Locks a mutex, even one a panicking thread left poisoned (the data is plain bookkeeping).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl IrcConn {
    /// A new connection to `server`.
    pub fn new(server: Arc<IrcServer>) -> IrcConn {
        IrcConn {
            server,
            nick: Mutex::new("*".into()),
            caps: AtomicU32::new(0),
            welcomed: AtomicBool::new(false),
            held: Mutex::new(Held::default()),
        }
    }

    /// The client's nick, `*` before registration.
    pub fn nick(&self) -> String {
        lock(&self.nick).clone()
    }

    /// Sets the nick; returns the previous one.
    pub fn set_nick(&self, nick: &str) -> String {
        std::mem::replace(&mut *lock(&self.nick), nick.to_string())
    }

    /// Whether the capability `bit` was negotiated.
    pub fn has(&self, bit: u32) -> bool {
        self.caps.load(Ordering::Relaxed) & bit != 0
    }

    /// The negotiated capabilities.
    pub fn caps(&self) -> u32 {
        self.caps.load(Ordering::Relaxed)
    }

    /// Turns capabilities on (`on`) or off.
    pub fn set_caps(&self, bits: u32, on: bool) {
        if on {
            self.caps.fetch_or(bits, Ordering::Relaxed);
        } else {
            self.caps.fetch_and(!bits, Ordering::Relaxed);
        }
    }

    /// Marks the welcome sent; `true` the first time.
    pub fn welcome(&self) -> bool {
        !self.welcomed.swap(true, Ordering::AcqRel)
    }

    /// Whether registration completed.
    pub fn is_welcomed(&self) -> bool {
        self.welcomed.load(Ordering::Acquire)
    }

    /// Sets (or clears) the command being answered.
    pub fn set_label(&self, label: Option<Label>) {
        lock(&self.held).label = label;
    }

    /// The command being answered.
    pub fn label(&self) -> Option<Label> {
        lock(&self.held).label.clone()
    }

    /// Whether the client is in channel `room`.
    pub fn in_channel(&self, room: &str) -> bool {
        lock(&self.held).channels.contains(room)
    }

    /// The channels the client is in.
    pub fn channels(&self) -> Vec<String> {
        let mut channels: Vec<String> = lock(&self.held).channels.iter().cloned().collect();
        channels.sort();
        channels
    }

    /// The client joined `room`, whose members are `users`: held until the room's state comes.
    pub fn joined(&self, room: &str, users: Vec<String>) {
        let mut held = lock(&self.held);
        held.channels.insert(room.to_string());
        held.names.insert(room.to_string(), users);
    }

    /// The state of a room just joined has come: its members (as held since its `Joined`) and
    /// history (held since before), with its operators recorded; `None` when no join of the
    /// room is pending.
    pub fn settle(
        &self,
        room: &str,
        operators: &[String],
    ) -> Option<(Vec<String>, Vec<ChatMessage>)> {
        let mut held = lock(&self.held);
        let names = held.names.remove(room)?;
        let ops = operators.iter().map(|n| nick_key(n)).collect();
        held.operators.insert(room.to_string(), ops);
        let history = held.history.remove(room).unwrap_or_default();
        Some((names, history))
    }

    /// The client left `room`.
    pub fn left(&self, room: &str) {
        let mut held = lock(&self.held);
        held.channels.remove(room);
        held.history.remove(room);
        held.names.remove(room);
        held.operators.remove(room);
    }

    /// The operators of channel `room` as far as the client was told (nick keys), taken once
    /// for a whole listing: see [`Operators::has`].
    pub fn operators(&self, room: &str) -> Operators {
        Operators(
            lock(&self.held)
                .operators
                .get(room)
                .map(|ops| ops.iter().cloned().collect())
                .unwrap_or_default(),
        )
    }

    /// `nick` became an operator of `room` (`on`), or stopped being one (also on leaving).
    pub fn set_operator(&self, room: &str, nick: &str, on: bool) {
        if let Some(ops) = lock(&self.held).operators.get_mut(room) {
            if on {
                ops.insert(nick_key(nick));
            } else {
                ops.remove(&nick_key(nick));
            }
        }
    }

    /// `old` is now called `new`, in `room`.
    pub fn renamed(&self, room: &str, old: &str, new: &str) {
        if let Some(ops) = lock(&self.held).operators.get_mut(room)
            && ops.remove(&nick_key(old))
        {
            ops.insert(nick_key(new));
        }
    }

    /// Holds history for `room` until its `JOIN` is sent; `false` (nothing held) when the client
    /// is in the room already and the history can be sent now.
    pub fn hold_history(&self, room: &str, messages: &[ChatMessage]) -> bool {
        let mut held = lock(&self.held);
        if held.channels.contains(room) {
            return false;
        }
        held.history.insert(room.to_string(), messages.to_vec());
        true
    }
}
