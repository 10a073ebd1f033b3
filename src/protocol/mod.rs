//! The client protocol: the commands a client sends and the events the server sends back.
//!
//! Every wire format carries these same types: [`mod@line`] renders them as human-readable text
//! lines for netcat users, [`frame`] as length-prefixed binary frames for programs and the
//! terminal client, [`json`] as JSON objects for browsers. [`irc`] is the IRC message grammar
//! an IRC front is built on. This module is shared by the server, the terminal client and the
//! load generator; the server's adapters between these formats and its sessions are in
//! [`crate::server::front`].

pub mod frame;
pub mod irc;
pub mod json;
pub mod line;

use serde::{Deserialize, Serialize};

/// Version of the framed protocol; sent in [`Event::Welcome`]. Bump it on any incompatible change
/// to [`Command`] or [`Event`] (variants are encoded by position: only append new ones).
pub const PROTOCOL_VERSION: u32 = 2;

/// Which wire format a connection speaks, decided by the first byte the client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Protocol {
    /// UTF-8 text lines (netcat).
    Line,
    /// 4-byte big-endian length + binary payload.
    Frame,
}

/// A request from a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Set or change the nick.
    Nick(String),
    /// Join a room (creating it if needed) and make it the current room.
    Join(String),
    /// Leave a room; `None` means the current room.
    Leave(Option<String>),
    /// Say something in a room; `None` means the current room.
    Msg {
        /// Target room, or the current one.
        room: Option<String>,
        /// The message text.
        text: String,
    },
    /// An action (`/me waves`) in a room; `None` means the current room.
    Me {
        /// Target room, or the current one.
        room: Option<String>,
        /// The action text.
        text: String,
    },
    /// A private message to one user.
    PrivateMsg {
        /// The recipient's nick.
        to: String,
        /// The message text.
        text: String,
    },
    /// List every room with its member count.
    ListRooms,
    /// List the users of a room; `None` means the current room.
    ListUsers(Option<String>),
    /// Show a room's recent history; `None` room means the current one, `None` limit means all kept.
    History {
        /// Target room, or the current one.
        room: Option<String>,
        /// How many of the most recent messages.
        limit: Option<u32>,
    },
    /// Ask for a [`Event::Pong`] carrying the same token.
    Ping(String),
    /// Disconnect, with an optional reason shown to the rooms.
    Quit(Option<String>),
    /// List the commands.
    Help,
    /// List the cluster's nodes.
    ListNodes,
    /// Create a room, on a chosen node or where placement puts it, and join it.
    Create {
        /// The room.
        room: String,
        /// The node to host it.
        node: Option<String>,
    },
    /// Create a room named by a random, unguessable code, unlisted in room lists, and join it:
    /// anyone with the code can join.
    CreateCode,
    /// Tell a room's other members that you are typing (`active`) or stopped. The room
    /// throttles and expires these (see [`TYPING_REFRESH_MS`], [`TYPING_EXPIRY_MS`]).
    Typing {
        /// The room.
        room: String,
        /// `true` while typing.
        active: bool,
    },
    /// Whether to receive [`Event::Typing`]: on by default for the framed and JSON formats, off
    /// for the line format (`/typing on`).
    ShowTyping(bool),
    /// A room's stored messages by sequence number, answered with [`Event::History`]: those
    /// after `after` (the first `limit`), or before `before` (the last `limit`), or the last
    /// `limit`; `None` room means the current one, `None` limit `history.replay`, and at most
    /// `history.max_fetch`.
    HistoryRange {
        /// Target room, or the current one.
        room: Option<String>,
        /// Only messages numbered above this.
        after: Option<u64>,
        /// Only messages numbered below this.
        before: Option<u64>,
        /// How many.
        limit: Option<u32>,
    },
    /// Leave a room, with a reason the others are shown (`/leave ROOM REASON`, IRC's `PART`).
    Part {
        /// Target room, or the current one.
        room: Option<String>,
        /// Why.
        reason: String,
    },
    /// Mark yourself away with a message, or back (`None`); answered with [`Event::Away`].
    Away(Option<String>),
    /// Who a user is: answered with [`Event::UserInfo`].
    Whois(String),
    /// Which of these nicks are online: answered with [`Event::Online`].
    Online(Vec<String>),
    /// Show a room's topic (`text: None`, answered with [`Event::RoomState`]) or set it (an
    /// empty text clears it); setting is for the room's operators.
    Topic {
        /// Target room, or the current one.
        room: Option<String>,
        /// The new topic.
        text: Option<String>,
    },
    /// Make a member of a room one of its operators, or not (operators only).
    Op {
        /// Target room, or the current one.
        room: Option<String>,
        /// Whom.
        nick: String,
        /// Operator or not.
        on: bool,
    },
    /// Remove a member from a room (operators only); it may join again.
    Kick {
        /// Target room, or the current one.
        room: Option<String>,
        /// Whom.
        nick: String,
        /// Why, shown to the room.
        reason: Option<String>,
    },
    /// How many users, rooms and nodes the cluster has: answered with [`Event::Stats`].
    Stats,
    /// Debug builds only: make an actor panic, so tests can check supervision. (Always the
    /// last variant: release builds have none, and variants are encoded by position.)
    #[cfg(debug_assertions)]
    DebugPanic(PanicTarget),
}

/// A room's topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topic {
    /// The text.
    pub text: String,
    /// Who set it.
    pub by: String,
    /// When, in milliseconds since the Unix epoch.
    pub ts: u64,
}

/// Which actor a [`Command::DebugPanic`] crashes.
#[cfg(debug_assertions)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PanicTarget {
    /// The sender's own session.
    Session,
    /// A room the sender is in.
    Room(String),
}

/// One message said in a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The room, canonical (no `#`).
    pub room: String,
    /// The room's sequence number for this message: 1, 2, 3, ... without gaps.
    pub seq: u64,
    /// The sender's nick.
    pub from: String,
    /// The text.
    pub text: String,
    /// `true` for a `/me` action.
    pub action: bool,
    /// When the room accepted it, in milliseconds since the Unix epoch.
    pub ts: u64,
}

/// A room as listed by [`Event::RoomList`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomInfo {
    /// The room, canonical (no `#`).
    pub name: String,
    /// How many users are in it.
    pub members: u32,
    /// The node that hosts it.
    pub node: String,
}

/// A node's state, as seen by the node answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeStatus {
    /// The node answering.
    This,
    /// Connected.
    Up,
    /// Known but not connected (being re-dialled).
    Down,
}

/// A node as listed by [`Event::NodeList`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Node name.
    pub name: String,
    /// Its state.
    pub status: NodeStatus,
    /// Its node-to-node address (empty when not clustered).
    pub address: String,
}

/// Something the server tells a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// First event on a framed connection.
    Welcome {
        /// Server name and version, e.g. `chatd 0.1.0`.
        server: String,
        /// [`PROTOCOL_VERSION`].
        protocol: u32,
        /// The node the client is connected to.
        node: String,
    },
    /// The nick was set or changed.
    NickOk {
        /// The nick as it will be shown.
        nick: String,
    },
    /// The nick was refused.
    NickError {
        /// The refused nick.
        nick: String,
        /// Why, as a stable code.
        code: ErrorCode,
        /// Why, for people.
        message: String,
    },
    /// You joined a room; sent after its [`Event::History`].
    Joined {
        /// The room, canonical.
        room: String,
        /// Who is in it (you included).
        users: Vec<String>,
    },
    /// A join was refused.
    JoinError {
        /// The room as given.
        room: String,
        /// Why, as a stable code.
        code: ErrorCode,
        /// Why, for people.
        message: String,
    },
    /// You left a room.
    Left {
        /// The room, canonical.
        room: String,
    },
    /// A live message in a room you are in.
    Message(ChatMessage),
    /// A private message, to you or sent by you (the echo).
    Private {
        /// Sender's nick.
        from: String,
        /// Recipient's nick.
        to: String,
        /// The text.
        text: String,
        /// Milliseconds since the Unix epoch.
        ts: u64,
    },
    /// Someone joined a room you are in.
    UserJoined {
        /// The room.
        room: String,
        /// Who.
        nick: String,
        /// Milliseconds since the Unix epoch.
        ts: u64,
    },
    /// Someone left a room you are in.
    UserLeft {
        /// The room.
        room: String,
        /// Who.
        nick: String,
        /// Quit message or disconnect reason, if any.
        reason: Option<String>,
        /// Milliseconds since the Unix epoch.
        ts: u64,
    },
    /// Someone in a room you are in changed nick.
    NickChanged {
        /// The room.
        room: String,
        /// Old nick.
        old: String,
        /// New nick.
        new: String,
        /// Milliseconds since the Unix epoch.
        ts: u64,
    },
    /// Answer to [`Command::ListRooms`].
    RoomList {
        /// Every room.
        rooms: Vec<RoomInfo>,
    },
    /// Answer to [`Command::ListUsers`].
    UserList {
        /// The room.
        room: String,
        /// Its users' nicks.
        users: Vec<String>,
        /// Those of them who are away.
        away: Vec<String>,
    },
    /// Recent messages of a room: on join (before live traffic) and for [`Command::History`].
    History {
        /// The room.
        room: String,
        /// Oldest first; sequence numbers show any gap.
        messages: Vec<ChatMessage>,
    },
    /// Answer to [`Command::Ping`].
    Pong {
        /// The token from the ping.
        token: String,
    },
    /// An informational line from the server (help text, room notices).
    Notice {
        /// The room it concerns, if any.
        room: Option<String>,
        /// The text.
        text: String,
    },
    /// A request failed, or the connection is about to be closed.
    Error {
        /// Stable machine-readable code.
        code: ErrorCode,
        /// For people.
        message: String,
    },
    /// The server is shutting down; the connection closes after this.
    Shutdown {
        /// Why.
        reason: String,
    },
    /// Answer to [`Command::ListNodes`].
    NodeList {
        /// Every node this node knows, itself first.
        nodes: Vec<NodeInfo>,
    },
    /// Someone in a room you are in started or stopped typing. `active: false` comes when they
    /// say so, send a message, leave, disconnect, or stop refreshing for [`TYPING_EXPIRY_MS`].
    Typing {
        /// The room.
        room: String,
        /// Who.
        nick: String,
        /// `true`: typing; `false`: stopped.
        active: bool,
    },
    /// A room's topic and operators: on joining (right after [`Event::Joined`]) and in answer
    /// to [`Command::Topic`] without a text.
    RoomState {
        /// The room.
        room: String,
        /// Its topic, if it has one.
        topic: Option<Topic>,
        /// Its operators' nicks.
        operators: Vec<String>,
    },
    /// A room's topic was set (an empty text: cleared).
    TopicChanged {
        /// The room.
        room: String,
        /// The new topic, with who set it.
        topic: Topic,
    },
    /// A member of a room became one of its operators, or stopped being one.
    Operator {
        /// The room.
        room: String,
        /// Whom.
        nick: String,
        /// The operator who did it.
        by: String,
        /// Operator now or not.
        on: bool,
    },
    /// A member was removed from a room by an operator. The member removed gets this instead
    /// of [`Event::Left`].
    Kicked {
        /// The room.
        room: String,
        /// Who was removed.
        nick: String,
        /// The operator who did it.
        by: String,
        /// Why.
        reason: Option<String>,
    },
    /// Answer to [`Command::Whois`].
    UserInfo {
        /// The nick as its holder spells it.
        nick: String,
        /// The node the user is connected to.
        node: String,
        /// The rooms the user is in.
        rooms: Vec<String>,
        /// The away message, if away.
        away: Option<String>,
        /// When the user connected, in milliseconds since the Unix epoch.
        since: u64,
    },
    /// Answer to [`Command::Online`]: those of the nicks asked about that are online.
    Online {
        /// The nicks.
        nicks: Vec<String>,
    },
    /// Someone's away state: yours in answer to [`Command::Away`], and that of the user you sent
    /// a private message to, when away.
    Away {
        /// Whose.
        nick: String,
        /// The away message; `None`: back.
        message: Option<String>,
    },
    /// A member of a room you are in went away or came back. Only IRC clients that asked for
    /// `away-notify` are sent it.
    AwayChanged {
        /// The room.
        room: String,
        /// Who.
        nick: String,
        /// The away message; `None`: back.
        message: Option<String>,
    },
    /// Answer to [`Command::Stats`].
    Stats {
        /// Users connected, cluster-wide.
        users: u64,
        /// Rooms open, cluster-wide.
        rooms: u64,
        /// Nodes connected (this one included).
        nodes: u64,
    },
}

/// A client that keeps typing sends [`Command::Typing`] `active: true` again at most this often;
/// rooms pass on at most one such refresh per member in this time.
pub const TYPING_REFRESH_MS: u64 = 3_000;

/// A typing state that is not refreshed within this time ends (the room sends `active: false`).
pub const TYPING_EXPIRY_MS: u64 = 6_000;

/// Stable, machine-readable error codes. The line protocol shows them in snake case
/// ([`ErrorCode::as_str`]); the framed protocol carries the variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    /// A nick must be set first.
    NickRequired,
    /// Someone else has this nick.
    NickTaken,
    /// The nick breaks the nick rules.
    InvalidNick,
    /// The room name breaks the room-name rules.
    InvalidRoom,
    /// You are not in that room.
    NotInRoom,
    /// No room was named and there is no current room.
    NoCurrentRoom,
    /// No user has that nick.
    UserNotFound,
    /// No room has that name.
    RoomNotFound,
    /// Too many commands too fast.
    RateLimited,
    /// The command is unknown.
    UnknownCommand,
    /// The command misses an argument or has a bad one.
    BadArguments,
    /// The line is not valid UTF-8.
    InvalidUtf8,
    /// The line contains a NUL or another forbidden control character.
    InvalidCharacter,
    /// The line is longer than `limits.max_line_bytes`.
    LineTooLong,
    /// The frame is larger than `limits.max_frame_bytes`.
    FrameTooLarge,
    /// The frame does not decode to a command.
    BadFrame,
    /// `limits.max_rooms_per_session` reached.
    TooManyRooms,
    /// `limits.max_connections` reached.
    ServerFull,
    /// The client did not read fast enough.
    SendQueueExceeded,
    /// Nothing received for `limits.idle_timeout_secs`.
    IdleTimeout,
    /// A message must not be empty.
    EmptyMessage,
    /// The room is temporarily unavailable (restarting); try again.
    RoomUnavailable,
    /// Something went wrong inside the server.
    Internal,
    /// An administrator disconnected this client.
    Kicked,
    /// `/create` of a room that exists.
    RoomExists,
    /// No node has that name.
    NoSuchNode,
    /// A message is longer than `history.max_message_bytes`.
    MessageTooLong,
    /// No protocol chosen or no nick set within `limits.registration_timeout_secs`.
    RegistrationTimeout,
    /// The server password (`irc.password`, IRC's `PASS`) was wrong or missing.
    PasswordMismatch,
    /// Commands kept coming faster than the rate limit long after they were being delayed
    /// (IRC's `Excess Flood`).
    ExcessFlood,
    /// Only a room's operators may do that.
    NotOperator,
}

impl ErrorCode {
    /// The snake-case name shown in the line protocol, e.g. `nick_taken`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NickRequired => "nick_required",
            ErrorCode::NickTaken => "nick_taken",
            ErrorCode::InvalidNick => "invalid_nick",
            ErrorCode::InvalidRoom => "invalid_room",
            ErrorCode::NotInRoom => "not_in_room",
            ErrorCode::NoCurrentRoom => "no_current_room",
            ErrorCode::UserNotFound => "user_not_found",
            ErrorCode::RoomNotFound => "room_not_found",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::UnknownCommand => "unknown_command",
            ErrorCode::BadArguments => "bad_arguments",
            ErrorCode::InvalidUtf8 => "invalid_utf8",
            ErrorCode::InvalidCharacter => "invalid_character",
            ErrorCode::LineTooLong => "line_too_long",
            ErrorCode::FrameTooLarge => "frame_too_large",
            ErrorCode::BadFrame => "bad_frame",
            ErrorCode::TooManyRooms => "too_many_rooms",
            ErrorCode::ServerFull => "server_full",
            ErrorCode::SendQueueExceeded => "send_queue_exceeded",
            ErrorCode::IdleTimeout => "idle_timeout",
            ErrorCode::EmptyMessage => "empty_message",
            ErrorCode::RoomUnavailable => "room_unavailable",
            ErrorCode::Internal => "internal",
            ErrorCode::Kicked => "kicked",
            ErrorCode::RoomExists => "room_exists",
            ErrorCode::NoSuchNode => "no_such_node",
            ErrorCode::MessageTooLong => "message_too_long",
            ErrorCode::RegistrationTimeout => "registration_timeout",
            ErrorCode::PasswordMismatch => "password_mismatch",
            ErrorCode::ExcessFlood => "excess_flood",
            ErrorCode::NotOperator => "not_operator",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A command that was refused before it reached an actor (bad syntax, bad arguments).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Refusal {
    /// Stable code.
    pub code: ErrorCode,
    /// For people.
    pub message: String,
}

impl Refusal {
    /// A refusal with this code and text.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
        }
    }
}

impl From<Refusal> for Event {
    fn from(r: Refusal) -> Event {
        Event::Error {
            code: r.code,
            message: r.message,
        }
    }
}

impl Event {
    /// An [`Event::Error`].
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Event {
        Event::Error {
            code,
            message: message.into(),
        }
    }

    /// An [`Event::Notice`] that concerns no room.
    pub fn notice(text: impl Into<String>) -> Event {
        Event::Notice {
            room: None,
            text: text.into(),
        }
    }
}

/// Checks text that other users will see: no control characters (a tab is allowed), so that no
/// client can break a line, forge a server line, move a cursor or retitle a terminal. Every front's
/// input passes this, whatever its wire format.
pub fn check_text(text: &str) -> Result<(), Refusal> {
    match text
        .chars()
        .find(|c| (c.is_control() && *c != '\t') || *c == '\u{7f}')
    {
        Some(bad) => Err(Refusal::new(
            ErrorCode::InvalidCharacter,
            format!("control character {bad:?} is not allowed"),
        )),
        None => Ok(()),
    }
}

impl Command {
    /// Every piece of text the command carries (nicks, rooms, messages, reasons, tokens).
    pub fn texts(&self) -> Vec<&str> {
        let mut texts = Vec::new();
        fn push<'a>(texts: &mut Vec<&'a str>, t: Option<&'a str>) {
            texts.extend(t);
        }
        match self {
            Command::Nick(t) | Command::Join(t) | Command::Ping(t) | Command::Whois(t) => {
                push(&mut texts, Some(t))
            }
            Command::Leave(t) | Command::ListUsers(t) | Command::Quit(t) | Command::Away(t) => {
                push(&mut texts, t.as_deref())
            }
            Command::Msg { room, text: t } | Command::Me { room, text: t } => {
                push(&mut texts, room.as_deref());
                push(&mut texts, Some(t));
            }
            Command::Part { room, reason } => {
                push(&mut texts, room.as_deref());
                push(&mut texts, Some(reason));
            }
            Command::PrivateMsg { to, text: t } => {
                push(&mut texts, Some(to));
                push(&mut texts, Some(t));
            }
            Command::History { room, .. } | Command::HistoryRange { room, .. } => {
                push(&mut texts, room.as_deref())
            }
            Command::Create { room, node } => {
                push(&mut texts, Some(room));
                push(&mut texts, node.as_deref());
            }
            Command::Typing { room, .. } => push(&mut texts, Some(room)),
            Command::Online(nicks) => texts.extend(nicks.iter().map(String::as_str)),
            Command::Topic { room, text } => {
                push(&mut texts, room.as_deref());
                push(&mut texts, text.as_deref());
            }
            Command::Op { room, nick, .. } => {
                push(&mut texts, room.as_deref());
                push(&mut texts, Some(nick));
            }
            Command::Kick { room, nick, reason } => {
                push(&mut texts, room.as_deref());
                push(&mut texts, Some(nick));
                push(&mut texts, reason.as_deref());
            }
            Command::ListRooms
            | Command::Help
            | Command::ListNodes
            | Command::CreateCode
            | Command::Stats
            | Command::ShowTyping(_) => {}
            #[cfg(debug_assertions)]
            Command::DebugPanic(PanicTarget::Room(room)) => push(&mut texts, Some(room)),
            #[cfg(debug_assertions)]
            Command::DebugPanic(PanicTarget::Session) => {}
        }
        texts
    }
}

/// The longest room topic, in bytes (IRC's `TOPICLEN`).
pub const MAX_TOPIC_BYTES: usize = 390;

/// The longest away message, in bytes (IRC's `AWAYLEN`).
pub const MAX_AWAY_BYTES: usize = 200;

/// How the reason of a member that left a room on its own begins in [`Event::UserLeft`]
/// (`part: see you`); any other reason is a disconnect's (`quit: lunch`, `connection closed`).
pub const PART_PREFIX: &str = "part: ";

/// Milliseconds since the Unix epoch, the clock of every event timestamp.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
