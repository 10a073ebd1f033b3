//! Events as IRC lines. Room traffic (messages, joins, parts, quits, nick changes, typing) reads
//! the same to every member and is encoded once per tag level ([`Tags`]) and shared; everything
//! else is encoded for one connection: numerics name the client's nick, replies depend on the
//! command being answered ([`IrcConn::label`]) and on the negotiated capabilities.
//!
//! Every user is shown as `nick!nick@chatd` ([`HOST`]): chatd keeps no idents or host names to
//! show, and a client address is nobody else's business. Text longer than an IRC line allows
//! (chatd messages may be longer than 512 bytes) is split over several lines.

use std::fmt::Write as _;

use bytes::Bytes;

use super::conn::{IrcConn, IrcServer, cap};
use crate::names::{MAX_NICK_LEN, MAX_ROOM_LEN, nick_key};
use crate::protocol::irc::{self, MAX_BODY, Message};
use crate::protocol::{ChatMessage, ErrorCode, Event, PART_PREFIX, line};
use crate::protocol::{MAX_AWAY_BYTES, MAX_TOPIC_BYTES};

/// The host part of every user's prefix.
pub const HOST: &str = "chatd";
/// Most targets of one `PRIVMSG` or `NOTICE` (`MAXTARGETS`).
pub const MAX_TARGETS: usize = 4;
/// The most messages one `CHATHISTORY` asks for (`CHATHISTORY=` in `RPL_ISUPPORT`).
pub const MAX_CHATHISTORY: u32 = 100;

/// Room text that starts with this is an action (`/me`) in a private message, which has no
/// action flag: the IRC front sends a private CTCP ACTION so, and shows it as one.
pub const PRIVATE_ACTION: &str = "/me ";

/// Which tags a connection's room traffic carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Tags {
    /// None.
    None = 0,
    /// `time` only (`server-time` without `message-tags`).
    Time = 1,
    /// `time`, `msgid` and client tags (`message-tags`).
    All = 2,
}

impl Tags {
    /// The level a connection negotiated.
    pub fn of(conn: &IrcConn) -> Tags {
        if conn.has(cap::MESSAGE_TAGS) {
            Tags::All
        } else if conn.has(cap::SERVER_TIME) {
            Tags::Time
        } else {
            Tags::None
        }
    }
}

/// `nick!nick@chatd`.
pub fn user(nick: &str) -> String {
    format!("{nick}!{nick}@{HOST}")
}

/// `#room`.
pub fn channel(room: &str) -> String {
    format!("#{room}")
}

/// An IRCv3 `time` tag value.
fn time(ts_ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ts_ms as i64)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Whether `event` reads the same to every member of its room (and so is encoded once).
pub fn is_shared(event: &Event) -> bool {
    matches!(
        event,
        Event::Message(_)
            | Event::UserJoined { .. }
            | Event::UserLeft { .. }
            | Event::NickChanged { .. }
            | Event::Typing { .. }
            | Event::TopicChanged { .. }
            | Event::Operator { .. }
            | Event::Kicked { .. }
            | Event::AwayChanged { .. }
    )
}

/// Keeps what a connection knows of its channels' operators up to date with a room event it
/// is about to be sent.
pub fn observe(conn: &IrcConn, event: &Event) {
    match event {
        Event::Operator { room, nick, on, .. } => conn.set_operator(room, nick, *on),
        Event::NickChanged { room, old, new, .. } => conn.renamed(room, old, new),
        Event::UserLeft { room, nick, .. } => conn.set_operator(room, nick, false),
        Event::Kicked { room, nick, .. } if nick_key(nick) == nick_key(&conn.nick()) => {
            conn.left(room)
        }
        Event::Kicked { room, nick, .. } => conn.set_operator(room, nick, false),
        _ => {}
    }
}

/// What the tags of one event say, at a tag level.
struct Stamp {
    level: Tags,
    /// The event's time.
    ts: u64,
    /// Its message id, for a room message.
    id: Option<String>,
}

impl Stamp {
    fn new(level: Tags, ts: u64) -> Stamp {
        Stamp {
            level,
            ts,
            id: None,
        }
    }
}

/// Writes `message` with the tags of `stamp`.
fn push(out: &mut String, mut message: Message, stamp: &Stamp) {
    if stamp.level != Tags::None {
        message.tags.push(("time".into(), Some(time(stamp.ts))));
    }
    if stamp.level == Tags::All
        && let Some(id) = &stamp.id
    {
        message.tags.push(("msgid".into(), Some(id.clone())));
    }
    out.push_str(&message.to_line());
}

/// Splits `text` into pieces of at most `room` bytes, at character boundaries: at the last
/// space when there is one in the second half (the line break takes the space's place).
fn pieces(text: &str, room: usize) -> Vec<&str> {
    let room = room.max(16);
    let mut out = Vec::new();
    let mut rest = text;
    while rest.len() > room {
        let mut cut = room;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        match rest[..cut].rfind(' ').filter(|s| *s > room / 2) {
            Some(space) => {
                out.push(&rest[..space]);
                rest = &rest[space + 1..];
            }
            None => {
                out.push(&rest[..cut]);
                rest = &rest[cut..];
            }
        }
    }
    out.push(rest);
    out
}

/// A `PRIVMSG` of `text` (an action when `action`) from `from` to `target`, split to fit.
fn privmsg(out: &mut String, from: &str, target: &str, text: &str, action: bool, stamp: &Stamp) {
    let prefix = user(from);
    // ":" prefix " PRIVMSG " target " :" text CR LF, and CTCP's framing for an action.
    let overhead = prefix.len() + target.len() + 14 + if action { 9 } else { 0 };
    for piece in pieces(text, MAX_BODY.saturating_sub(overhead)) {
        let body = if action {
            format!("\u{1}ACTION {piece}\u{1}")
        } else {
            piece.to_string()
        };
        let message = Message::new("PRIVMSG", &[target, &body]).from(&prefix);
        push(out, message, stamp);
    }
}

fn chat_message(out: &mut String, m: &ChatMessage, level: Tags) {
    let id = format!("{}-{}", m.room, m.seq);
    let stamp = Stamp {
        level,
        ts: m.ts,
        id: Some(id),
    };
    privmsg(out, &m.from, &channel(&m.room), &m.text, m.action, &stamp);
}

/// A room event as every member (at tag level `level`) reads it; empty for other events.
pub fn encode_shared(event: &Event, level: Tags) -> Bytes {
    let mut out = String::new();
    match event {
        Event::Message(m) => chat_message(&mut out, m, level),
        Event::UserJoined { room, nick, ts } => {
            let join = Message::new("JOIN", &[&channel(room)]).from(&user(nick));
            push(&mut out, join, &Stamp::new(level, *ts));
        }
        Event::UserLeft {
            room,
            nick,
            reason,
            ts,
        } => {
            // A member that left on its own has no reason or a part reason; one that
            // disconnected has another.
            let message = match reason.as_deref().map(|r| (r, r.strip_prefix(PART_PREFIX))) {
                None => Message::new("PART", &[&channel(room)]),
                Some((_, Some(part))) => Message::new("PART", &[&channel(room), part]),
                Some((reason, None)) => Message::new("QUIT", &[&quit_reason(reason)]).trailing(),
            };
            push(&mut out, message.from(&user(nick)), &Stamp::new(level, *ts));
        }
        Event::NickChanged { old, new, ts, .. } => {
            let nick = Message::new("NICK", &[new]).from(&user(old));
            push(&mut out, nick, &Stamp::new(level, *ts));
        }
        Event::TopicChanged { room, topic } => {
            let message = Message::new("TOPIC", &[&channel(room), &topic.text]);
            push(
                &mut out,
                message.from(&user(&topic.by)),
                &Stamp::new(level, topic.ts),
            );
        }
        Event::Operator { room, nick, by, on } => {
            let mode = if *on { "+o" } else { "-o" };
            let message = Message::new("MODE", &[&channel(room), mode, nick]).from(&user(by));
            out.push_str(&message.to_line());
        }
        Event::Kicked {
            room,
            nick,
            by,
            reason,
        } => {
            let reason = reason.as_deref().unwrap_or(by);
            let message = Message::new("KICK", &[&channel(room), nick, reason]).from(&user(by));
            out.push_str(&message.to_line());
        }
        Event::AwayChanged { nick, message, .. } => {
            let away = match message {
                Some(message) => Message::new("AWAY", &[message]).trailing(),
                None => Message::new("AWAY", &[]),
            };
            out.push_str(&away.from(&user(nick)).to_line());
        }
        Event::Typing { room, nick, active } if level == Tags::All => {
            let state = if *active { "active" } else { "done" };
            let mut message = Message::new("TAGMSG", &[&channel(room)]).from(&user(nick));
            message.tags.push(("+typing".into(), Some(state.into())));
            out.push_str(&message.to_line());
        }
        _ => {}
    }
    Bytes::from(out)
}

/// How a disconnect reason reads in a `QUIT`: `quit: lunch` as `Quit: lunch`.
fn quit_reason(reason: &str) -> String {
    match reason.strip_prefix("quit") {
        Some("") => "Quit".into(),
        Some(rest) if rest.starts_with(": ") => format!("Quit{rest}"),
        _ => reason.to_string(),
    }
}

/// Writes numerics and server messages for one connection.
pub struct Replies<'a> {
    server: &'a IrcServer,
    /// The client's nick (`*` before registration).
    pub nick: String,
    /// What has been written.
    pub out: String,
}

impl<'a> Replies<'a> {
    /// Replies from `conn`'s server to its client.
    pub fn new(conn: &'a IrcConn) -> Replies<'a> {
        Replies {
            server: &conn.server,
            nick: conn.nick(),
            out: String::new(),
        }
    }

    /// `:server CODE nick params...`
    pub fn numeric(&mut self, code: &str, params: &[&str]) {
        let mut all: Vec<&str> = Vec::with_capacity(params.len() + 1);
        all.push(&self.nick);
        all.extend_from_slice(params);
        irc::write_line(&mut self.out, Some(&self.server.name), code, &all, false);
    }

    /// `:server COMMAND params...` (no nick).
    pub fn server(&mut self, command: &str, params: &[&str]) {
        irc::write_line(
            &mut self.out,
            Some(&self.server.name),
            command,
            params,
            false,
        );
    }

    /// The server's name.
    pub fn server_name(&self) -> String {
        self.server.name.clone()
    }

    /// A line as it is.
    pub fn line(&mut self, message: Message) {
        self.out.push_str(&message.to_line());
    }

    /// A server notice to the client.
    pub fn notice(&mut self, text: &str) {
        let nick = self.nick.clone();
        for piece in pieces(text, 400) {
            self.server("NOTICE", &[&nick, piece]);
        }
    }

    /// The message of the day (375, 372..., 376), or 422 without one.
    pub fn motd(&mut self) {
        match self.server.motd() {
            Some(lines) => {
                let start = format!("- {} Message of the day - ", self.server.name);
                self.numeric("375", &[&start]);
                for line in lines {
                    self.numeric("372", &[&format!("- {line}")]);
                }
                self.numeric("376", &["End of /MOTD command."]);
            }
            None => self.numeric("422", &["MOTD File is missing"]),
        }
    }

    /// `RPL_ISUPPORT`.
    pub fn isupport(&mut self) {
        let server = self.server;
        let tokens = server
            .isupport
            .get_or_init(|| isupport_tokens(&server.network));
        let mut params: Vec<&str> = tokens.iter().map(String::as_str).collect();
        params.push("are supported by this server");
        self.numeric("005", &params);
    }

    /// The welcome: 001–005 and the MOTD.
    pub fn welcome(&mut self) {
        let nick = self.nick.clone();
        let server = self.server;
        let version = concat!("chatd-", env!("CARGO_PKG_VERSION"));
        self.numeric(
            "001",
            &[&format!(
                "Welcome to the {} IRC Network {}",
                server.network,
                user(&nick)
            )],
        );
        self.numeric(
            "002",
            &[&format!(
                "Your host is {}, running version {version}",
                server.name
            )],
        );
        self.numeric(
            "003",
            &[&format!("This server was created {}", server.created)],
        );
        self.numeric("004", &[&server.name, version, "i", "nt"]);
        self.isupport();
        self.motd();
    }

    /// The bytes written.
    pub fn bytes(self) -> Bytes {
        Bytes::from(self.out)
    }
}

/// The `RPL_ISUPPORT` tokens of a server of `network`: the same for every registration, so
/// [`IrcServer`] keeps them once made.
fn isupport_tokens(network: &str) -> Vec<String> {
    vec![
        "CASEMAPPING=ascii".to_string(),
        "CHANTYPES=#".into(),
        format!("CHANNELLEN={}", MAX_ROOM_LEN + 1),
        format!("NICKLEN={MAX_NICK_LEN}"),
        format!("NETWORK={network}"),
        "PREFIX=(o)@".into(),
        "CHANMODES=,,,nt".into(),
        format!("MAXTARGETS={MAX_TARGETS}"),
        format!("TOPICLEN={MAX_TOPIC_BYTES}"),
        format!("AWAYLEN={MAX_AWAY_BYTES}"),
        "STATUSMSG=".into(),
        format!("CHATHISTORY={MAX_CHATHISTORY}"),
        "MSGREFTYPES=msgid".into(),
    ]
}

/// `NAMES` replies for `room` (353s split to fit, then 366), operators marked `@`.
fn names(r: &mut Replies<'_>, conn: &IrcConn, room: &str, users: &[String]) {
    let chan = channel(room);
    let ops = conn.operators(room);
    let mut line = String::new();
    for nick in users {
        if line.len() + nick.len() + r.nick.len() + chan.len() > 400 {
            r.numeric("353", &["=", &chan, &line]);
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        if ops.has(nick) {
            line.push('@');
        }
        line.push_str(nick);
    }
    if !line.is_empty() {
        r.numeric("353", &["=", &chan, &line]);
    }
    r.numeric("366", &[&chan, "End of /NAMES list."]);
}

/// A room's stored messages, after its `JOIN`: tagged with their time when the client takes
/// `server-time`, else with the time in front of the text.
fn history(out: &mut String, conn: &IrcConn, messages: &[ChatMessage]) {
    let level = Tags::of(conn);
    for m in messages {
        if level == Tags::None {
            let text = format!("[{}] {}", line::clock(m.ts), m.text);
            let stamp = Stamp::new(level, m.ts);
            privmsg(out, &m.from, &channel(&m.room), &text, m.action, &stamp);
        } else {
            chat_message(out, m, level);
        }
    }
}

/// The answer to `CHATHISTORY`: the messages, with their times and ids, in a `chathistory`
/// batch when the client takes batches.
fn chathistory(out: &mut String, conn: &IrcConn, room: &str, messages: &[ChatMessage]) {
    let level = match Tags::of(conn) {
        Tags::None => Tags::Time,
        level => level,
    };
    let batch = conn.has(cap::BATCH).then(|| format!("history-{room}"));
    if let Some(id) = &batch {
        let start = Message::new("BATCH", &[&format!("+{id}"), "chathistory", &channel(room)]);
        out.push_str(&start.from(&conn.server.name).to_line());
    }
    for m in messages {
        let mut lines = String::new();
        chat_message(&mut lines, m, level);
        match &batch {
            // Every line of the batch carries its reference, first among its tags.
            Some(id) => {
                for line in lines.split_inclusive("\r\n") {
                    let tagged = line.strip_prefix('@').unwrap_or(line);
                    let _ = write!(out, "@batch={id};{tagged}");
                }
            }
            None => out.push_str(&lines),
        }
    }
    if let Some(id) = &batch {
        let end = Message::new("BATCH", &[&format!("-{id}")]);
        out.push_str(&end.from(&conn.server.name).to_line());
    }
}

/// The numeric for an error with `code`, answering `verb`, if IRC has one.
fn error_numeric(code: ErrorCode, verb: &str) -> Option<&'static str> {
    Some(match code {
        ErrorCode::UserNotFound if verb == "KICK" => "441",
        ErrorCode::UserNotFound => "401",
        ErrorCode::RoomNotFound | ErrorCode::InvalidRoom => "403",
        ErrorCode::NotInRoom if matches!(verb, "PRIVMSG" | "NOTICE" | "TAGMSG") => "404",
        ErrorCode::NotInRoom => "442",
        ErrorCode::TooManyRooms => "405",
        ErrorCode::EmptyMessage => "412",
        ErrorCode::UnknownCommand => "421",
        ErrorCode::NickRequired => "451",
        ErrorCode::BadArguments => "461",
        ErrorCode::RoomUnavailable => "437",
        ErrorCode::NickTaken => "433",
        ErrorCode::InvalidNick => "432",
        ErrorCode::NotOperator => "482",
        _ => return None,
    })
}

/// An error for this connection: the numeric of its code naming the command's target, or a
/// server notice; nothing in answer to a `NOTICE` (IRC never answers one automatically).
fn error(r: &mut Replies<'_>, conn: &IrcConn, code: ErrorCode, message: &str) {
    let (verb, target, object) = conn
        .label()
        .map(|l| (l.verb, l.target, l.object))
        .unwrap_or(("", String::new(), String::new()));
    if verb == "NOTICE" {
        return;
    }
    if verb == "CHATHISTORY" {
        let fail = Message::new("FAIL", &["CHATHISTORY", "INVALID_TARGET", &target, message]);
        r.line(fail.from(&r.server_name()));
        return;
    }
    if verb == "WHO" && code == ErrorCode::UserNotFound {
        r.numeric("315", &[&target, "End of /WHO list."]);
        return;
    }
    if code == ErrorCode::Kicked {
        // The connection closes after this.
        let nick = r.nick.clone();
        r.server("KILL", &[&nick, message]);
        r.line(Message::new(
            "ERROR",
            &[&format!("Closing Link: Killed ({message})")],
        ));
        return;
    }
    match error_numeric(code, verb) {
        Some(numeric @ ("412" | "451")) => r.numeric(numeric, &[message]),
        // ERR_USERNOTINCHANNEL names the nick, then the channel.
        Some("441") => r.numeric("441", &[&object, &target, message]),
        Some(numeric @ ("421" | "461")) => {
            let verb = if verb.is_empty() { "*" } else { verb };
            r.numeric(numeric, &[verb, message]);
        }
        Some(numeric) if !target.is_empty() => r.numeric(numeric, &[&target, message]),
        _ => r.notice(message),
    }
}

/// An event for one IRC connection; empty when IRC says nothing of it.
pub fn encode(conn: &IrcConn, event: &Event) -> Bytes {
    if is_shared(event) {
        observe(conn, event);
        return encode_shared(event, Tags::of(conn));
    }
    let mut r = Replies::new(conn);
    match event {
        Event::NickOk { nick } => {
            if conn.welcome() {
                conn.set_nick(nick);
                r.nick = nick.clone();
                r.welcome();
            } else {
                let old = conn.set_nick(nick);
                r.line(Message::new("NICK", &[nick]).from(&user(&old)));
            }
        }
        Event::NickError {
            nick,
            code,
            message,
        } => match code {
            ErrorCode::NickTaken => r.numeric("433", &[nick, "Nickname is already in use"]),
            ErrorCode::InvalidNick => {
                r.numeric("432", &[nick, &format!("Erroneous nickname: {message}")])
            }
            _ => r.notice(message),
        },
        Event::Joined { room, users } => {
            // NAMES waits for the room's state, which says who the operators are.
            conn.joined(room, users.clone());
            let me = r.nick.clone();
            r.line(Message::new("JOIN", &[&channel(room)]).from(&user(&me)));
        }
        Event::RoomState {
            room,
            topic,
            operators,
        } => {
            let chan = channel(room);
            let joining = conn.settle(room, operators);
            let asked = conn.label().is_some_and(|l| l.verb == "TOPIC");
            if joining.is_some() || asked {
                match topic {
                    Some(topic) => {
                        r.numeric("332", &[&chan, &topic.text]);
                        let ts = (topic.ts / 1000).to_string();
                        r.numeric("333", &[&chan, &user(&topic.by), &ts]);
                    }
                    None if asked => r.numeric("331", &[&chan, "No topic is set"]),
                    None => {}
                }
            }
            if let Some((users, held)) = joining {
                names(&mut r, conn, room, &users);
                history(&mut r.out, conn, &held);
            }
        }
        Event::UserInfo {
            nick,
            node,
            rooms,
            away,
            since,
        } => {
            if conn.label().is_some_and(|l| l.verb == "WHO") {
                let server = conn.server.name.clone();
                let here = if away.is_some() { "G" } else { "H" };
                let target = conn.label().map(|l| l.target).unwrap_or_default();
                let hops = format!("0 {nick}");
                r.numeric("352", &["*", nick, HOST, &server, nick, here, &hops]);
                r.numeric("315", &[&target, "End of /WHO list."]);
            } else {
                let channels: Vec<String> = rooms
                    .iter()
                    .map(|room| {
                        let op = if conn.operators(room).has(nick) {
                            "@"
                        } else {
                            ""
                        };
                        format!("{op}#{room}")
                    })
                    .collect();
                r.numeric("311", &[nick, nick, HOST, "*", nick]);
                if !channels.is_empty() {
                    r.numeric("319", &[nick, &channels.join(" ")]);
                }
                r.numeric("312", &[nick, node, &format!("chatd node {node}")]);
                if let Some(away) = away {
                    r.numeric("301", &[nick, away]);
                }
                let signon = (since / 1000).to_string();
                r.numeric("317", &[nick, "0", &signon, "seconds idle, signon time"]);
                r.numeric("318", &[nick, "End of /WHOIS list."]);
            }
        }
        Event::Online { nicks } => {
            if conn.label().is_some_and(|l| l.verb == "USERHOST") {
                let replies: Vec<String> =
                    nicks.iter().map(|n| format!("{n}=+{n}@{HOST}")).collect();
                r.numeric("302", &[&replies.join(" ")]);
            } else {
                r.numeric("303", &[&nicks.join(" ")]);
            }
        }
        Event::Away { nick, message } => {
            if nick_key(nick) == nick_key(&r.nick) {
                match message {
                    Some(_) => r.numeric("306", &["You have been marked as being away"]),
                    None => r.numeric("305", &["You are no longer marked as being away"]),
                }
            } else if let Some(message) = message {
                r.numeric("301", &[nick, message]);
            }
        }
        Event::Stats {
            users,
            rooms,
            nodes,
        } => {
            let total = format!("There are {users} users and 0 invisible on {nodes} servers");
            r.numeric("251", &[&total]);
            r.numeric("254", &[&rooms.to_string(), "channels formed"]);
            let here = format!("I have {users} clients and {} servers", nodes - 1);
            r.numeric("255", &[&here]);
        }

        Event::JoinError {
            room,
            code,
            message,
        } => {
            let chan = channel(room.strip_prefix('#').unwrap_or(room));
            match error_numeric(*code, "JOIN") {
                Some(numeric) => r.numeric(numeric, &[&chan, message]),
                None => r.notice(message),
            }
        }
        Event::Left { room } => {
            conn.left(room);
            let me = r.nick.clone();
            r.line(Message::new("PART", &[&channel(room)]).from(&user(&me)));
        }
        Event::Private { from, to, text, ts } => {
            let me = nick_key(&r.nick);
            let echo = nick_key(from) == me && nick_key(to) != me;
            if echo && !conn.has(cap::ECHO_MESSAGE) {
                return Bytes::new();
            }
            let (text, action) = match text.strip_prefix(PRIVATE_ACTION) {
                Some(action) => (action, true),
                None => (text.as_str(), false),
            };
            let stamp = Stamp::new(Tags::of(conn), *ts);
            privmsg(&mut r.out, from, to, text, action, &stamp);
        }
        Event::RoomList { rooms } => {
            r.numeric("321", &["Channel", "Users  Name"]);
            for room in rooms {
                let members = room.members.to_string();
                r.numeric("322", &[&channel(&room.name), &members, ""]);
            }
            r.numeric("323", &["End of /LIST"]);
        }
        Event::UserList { room, users, away } => {
            let who = conn.label().is_some_and(|l| l.verb == "WHO");
            if who {
                let chan = channel(room);
                let server = conn.server.name.clone();
                let ops = conn.operators(room);
                for nick in users {
                    let here = if away.contains(nick) { "G" } else { "H" };
                    let flags = if ops.has(nick) {
                        format!("{here}@")
                    } else {
                        here.to_string()
                    };
                    let hops = format!("0 {nick}");
                    r.numeric("352", &[&chan, nick, HOST, &server, nick, &flags, &hops]);
                }
                r.numeric("315", &[&chan, "End of /WHO list."]);
            } else {
                names(&mut r, conn, room, users);
            }
        }
        Event::History { room, messages } => {
            if conn.label().is_some_and(|l| l.verb == "CHATHISTORY") {
                chathistory(&mut r.out, conn, room, messages);
            } else if !conn.hold_history(room, messages) {
                history(&mut r.out, conn, messages);
            }
        }
        Event::Pong { token } => {
            let server = conn.server.name.clone();
            r.server("PONG", &[&server, token]);
        }
        Event::Notice { room, text } => {
            let verb = conn.label().map(|l| l.verb);
            match (verb, room) {
                // The session's goodbye; the connection closes after it.
                (Some("QUIT"), _) => {
                    let me = r.nick.clone();
                    r.line(Message::new(
                        "ERROR",
                        &[&format!("Closing Link: {me} (Quit)")],
                    ));
                }
                (_, Some(room)) => {
                    for piece in pieces(text, 400) {
                        r.server("NOTICE", &[&channel(room), piece]);
                    }
                }
                (_, None) => r.notice(text),
            }
        }
        Event::Error { code, message } => error(&mut r, conn, *code, message),
        Event::Shutdown { reason } => {
            r.notice(reason);
            r.line(Message::new("ERROR", &[&format!("Closing Link: {reason}")]));
        }
        Event::NodeList { nodes } => {
            for node in nodes {
                let state = match node.status {
                    crate::protocol::NodeStatus::This => "this node",
                    crate::protocol::NodeStatus::Up => "up",
                    crate::protocol::NodeStatus::Down => "down",
                };
                r.notice(&format!("node {} ({state}) {}", node.name, node.address));
            }
        }
        Event::Welcome { .. }
        | Event::Message(_)
        | Event::UserJoined { .. }
        | Event::UserLeft { .. }
        | Event::NickChanged { .. }
        | Event::Typing { .. }
        | Event::TopicChanged { .. }
        | Event::Operator { .. }
        | Event::Kicked { .. }
        | Event::AwayChanged { .. } => {}
    }
    r.bytes()
}

/// Whether an IRC client gets a room event: not its own message back unless it asked for
/// `echo-message`, and not its own nick change (its `NICK` came with the change).
pub fn wants(conn: &IrcConn, event: &Event, own: Option<&str>) -> bool {
    match event {
        Event::Typing { nick, .. } => conn.has(cap::MESSAGE_TAGS) && own != Some(nick.as_str()),
        Event::AwayChanged { nick, .. } => conn.has(cap::AWAY_NOTIFY) && own != Some(nick.as_str()),
        Event::Message(m) => conn.has(cap::ECHO_MESSAGE) || own != Some(m.from.as_str()),
        Event::NickChanged { new, .. } => own != Some(new.as_str()),
        _ => true,
    }
}

/// The last words to a client being cut off: an `ERROR` line (after `464` for a wrong
/// password).
pub fn last_words(conn: Option<&IrcConn>, code: ErrorCode, message: &str) -> Bytes {
    let mut out = String::new();
    let why = match code {
        ErrorCode::SendQueueExceeded => "SendQ exceeded".to_string(),
        ErrorCode::ExcessFlood => "Excess Flood".to_string(),
        ErrorCode::PasswordMismatch => {
            if let Some(conn) = conn {
                let mut r = Replies::new(conn);
                r.numeric("464", &["Password incorrect"]);
                out.push_str(&r.out);
            }
            "Bad password".to_string()
        }
        _ => message.to_string(),
    };
    let _ = write!(
        out,
        "{}",
        Message::new("ERROR", &[&format!("Closing Link: {why}")]).to_line()
    );
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_split_at_spaces_and_character_boundaries() {
        let text = "word ".repeat(200);
        let parts = pieces(text.trim_end(), 100);
        assert!(parts.iter().all(|p| p.len() <= 100 && !p.ends_with(' ')));
        assert_eq!(parts.join(" "), text.trim_end());
        let wide = "é".repeat(100);
        let parts = pieces(&wide, 51);
        assert!(parts.iter().all(|p| p.len() <= 51));
        assert_eq!(parts.concat(), wide);
    }

    #[test]
    fn quit_reasons_read_as_irc_servers_write_them() {
        assert_eq!(quit_reason("quit"), "Quit");
        assert_eq!(quit_reason("quit: lunch"), "Quit: lunch");
        assert_eq!(quit_reason("connection closed"), "connection closed");
    }

    #[test]
    fn room_traffic_is_tagged_by_level() {
        let event = Event::Message(ChatMessage {
            room: "general".into(),
            seq: 7,
            from: "alice".into(),
            text: "hello there".into(),
            action: false,
            ts: 0,
        });
        assert_eq!(
            encode_shared(&event, Tags::None),
            ":alice!alice@chatd PRIVMSG #general :hello there\r\n"
        );
        assert_eq!(
            encode_shared(&event, Tags::Time),
            "@time=1970-01-01T00:00:00.000Z :alice!alice@chatd PRIVMSG #general :hello there\r\n"
        );
        assert_eq!(
            encode_shared(&event, Tags::All),
            "@time=1970-01-01T00:00:00.000Z;msgid=general-7 :alice!alice@chatd PRIVMSG #general :hello there\r\n"
        );
        let typing = Event::Typing {
            room: "general".into(),
            nick: "bob".into(),
            active: true,
        };
        assert!(encode_shared(&typing, Tags::Time).is_empty());
        assert_eq!(
            encode_shared(&typing, Tags::All),
            "@+typing=active :bob!bob@chatd TAGMSG #general\r\n"
        );
    }
}
