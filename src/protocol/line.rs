//! The line protocol for netcat users: parsing text lines into [`Command`]s and rendering
//! [`Event`]s as text lines.
//!
//! Input: one UTF-8 line per command, ending in `\n` (`\r\n` accepted). A line that does not start
//! with `/` is a message to the current room; `//text` sends `/text` literally.
//!
//! Output: one line per event. Lines start with the time (`HH:MM:SS`, UTC); room lines then name
//! the room (`#general`); `--` marks a system line. Errors start with `! ` followed by the stable
//! error code: `! nick_taken: nick "bob" is already in use`. The exact formats are listed in the
//! README and must stay stable: scripts parse them.

use std::fmt::Write as _;

use bytes::Bytes;

use super::{ChatMessage, Command, ErrorCode, Event, NodeStatus, Refusal, check_text};
use crate::protocol::now_ms;

/// The commands, their short forms and what they do; shown by `/help`.
pub const HELP: &[(&str, &str)] = &[
    ("/nick NAME (/n, /name)", "set or change your nick"),
    (
        "/join ROOM (/j)",
        "join a room (created if missing) and make it current",
    ),
    (
        "/leave [ROOM [REASON]] (/l)",
        "leave a room (default: the current one)",
    ),
    (
        "/topic [#ROOM] [TEXT]",
        "show a room's topic, or set it (operators)",
    ),
    (
        "/op, /deop [#ROOM] NICK",
        "make a member an operator of the room, or not (operators)",
    ),
    (
        "/kick [#ROOM] NICK [REASON] (/k)",
        "remove a member from the room (operators)",
    ),
    (
        "/whois NICK (/w)",
        "show a user's node, rooms and away message",
    ),
    ("/away [MESSAGE], /back", "mark yourself away, or back"),
    ("/stats", "count the users, rooms and nodes"),
    ("/rooms (/r)", "list rooms with their member counts"),
    ("/users [ROOM] (/u)", "list the users of a room"),
    ("/msg NICK TEXT (/m)", "send a private message"),
    ("/me ACTION", "describe an action in the current room"),
    (
        "/history [N] (/messages)",
        "show the current room's last N messages",
    ),
    (
        "/history after|before SEQ [N]",
        "the N messages after (or before) message number SEQ",
    ),
    (
        "/create [ROOM [on NODE]]",
        "create a room (on a chosen node), or without a name an unlisted one named by a code, and join it",
    ),
    ("/nodes", "list the cluster's nodes"),
    (
        "/typing on|off",
        "show when others are typing (off by default)",
    ),
    ("/ping [TOKEN]", "check the connection"),
    ("/quit [REASON] (/q)", "disconnect"),
    ("/help (/h)", "show this list"),
    ("TEXT", "say TEXT in the current room (//TEXT sends /TEXT)"),
];

/// Parses one line (without its line ending). `Ok(None)` for a blank line.
pub fn parse(line: &str) -> Result<Option<Command>, Refusal> {
    check_text(line)?;
    if line.trim().is_empty() {
        return Ok(None);
    }
    let Some(rest) = line.strip_prefix('/') else {
        return Ok(Some(Command::Msg {
            room: None,
            text: line.to_string(),
        }));
    };
    if rest.starts_with('/') {
        return Ok(Some(Command::Msg {
            room: None,
            text: rest.to_string(),
        }));
    }
    let (name, args) = match rest.split_once(char::is_whitespace) {
        Some((name, args)) => (name, args.trim()),
        None => (rest, ""),
    };
    let arg = |what: &str| -> Result<String, Refusal> {
        let mut words = args.split_whitespace();
        match (words.next(), words.next()) {
            (Some(word), None) => Ok(word.to_string()),
            (None, _) => Err(Refusal::new(
                ErrorCode::BadArguments,
                format!("/{name} needs {what}"),
            )),
            (Some(_), Some(_)) => Err(Refusal::new(
                ErrorCode::BadArguments,
                format!("/{name} takes one word: {what}"),
            )),
        }
    };
    let optional = |what: &str| -> Result<Option<String>, Refusal> {
        if args.is_empty() {
            Ok(None)
        } else {
            arg(what).map(Some)
        }
    };
    let text = |what: &str| -> Result<String, Refusal> {
        if args.is_empty() {
            Err(Refusal::new(
                ErrorCode::BadArguments,
                format!("/{name} needs {what}"),
            ))
        } else {
            Ok(args.to_string())
        }
    };
    let command = match name.to_ascii_lowercase().as_str() {
        // Aliases as other chat tools spell them: /name, /part, /list, /names, /messages.
        "nick" | "n" | "name" => Command::Nick(arg("a nick")?),
        "join" | "j" => Command::Join(arg("a room name")?),
        "leave" | "l" | "part" => match args.split_once(char::is_whitespace) {
            Some((room, reason)) => Command::Part {
                room: Some(room.to_string()),
                reason: reason.trim().to_string(),
            },
            None => Command::Leave(optional("a room name")?),
        },
        "away" => Command::Away((!args.is_empty()).then(|| args.to_string())),
        "back" => Command::Away(None),
        "stats" => Command::Stats,
        "whois" | "w" => Command::Whois(arg("a nick")?),
        "topic" => {
            let (room, text) = room_first(args);
            Command::Topic {
                room,
                text: (!text.is_empty()).then(|| text.to_string()),
            }
        }
        "op" | "deop" => {
            let (room, nick) = room_first(args);
            let mut words = nick.split_whitespace();
            let (Some(nick), None) = (words.next(), words.next()) else {
                return Err(Refusal::new(
                    ErrorCode::BadArguments,
                    format!("/{name} needs [#ROOM] NICK"),
                ));
            };
            Command::Op {
                room,
                nick: nick.to_string(),
                on: name.eq_ignore_ascii_case("op"),
            }
        }
        "kick" | "k" => {
            let (room, rest) = room_first(args);
            let (nick, reason) = match rest.split_once(char::is_whitespace) {
                Some((nick, reason)) => (nick, Some(reason.trim().to_string())),
                None => (rest, None),
            };
            if nick.is_empty() {
                return Err(Refusal::new(
                    ErrorCode::BadArguments,
                    format!("/{name} needs [#ROOM] NICK [REASON]"),
                ));
            }
            Command::Kick {
                room,
                nick: nick.to_string(),
                reason,
            }
        }
        "rooms" | "r" | "list" => Command::ListRooms,
        "users" | "u" | "names" => Command::ListUsers(optional("a room name")?),
        "msg" | "m" => {
            let (to, body) = args.split_once(char::is_whitespace).ok_or_else(|| {
                Refusal::new(ErrorCode::BadArguments, format!("/{name} needs NICK TEXT"))
            })?;
            Command::PrivateMsg {
                to: to.to_string(),
                text: body.trim_start().to_string(),
            }
        }
        "me" => Command::Me {
            room: None,
            text: text("an action")?,
        },
        "history" | "messages" => {
            let number = |word: &str| {
                word.parse::<u64>().map_err(|_| {
                    Refusal::new(
                        ErrorCode::BadArguments,
                        format!("/{name} takes a number, not {word:?}"),
                    )
                })
            };
            let limit = |word: &str| {
                number(word).and_then(|n| {
                    u32::try_from(n).map_err(|_| {
                        Refusal::new(ErrorCode::BadArguments, format!("{n} is too many"))
                    })
                })
            };
            let words: Vec<&str> = args.split_whitespace().collect();
            match words.as_slice() {
                [] => Command::History {
                    room: None,
                    limit: None,
                },
                [n] => Command::History {
                    room: None,
                    limit: Some(limit(n)?),
                },
                [side @ ("after" | "before"), seq, rest @ ..] if rest.len() <= 1 => {
                    let seq = Some(number(seq)?);
                    let (after, before) = if *side == "after" {
                        (seq, None)
                    } else {
                        (None, seq)
                    };
                    Command::HistoryRange {
                        room: None,
                        after,
                        before,
                        limit: rest.first().map(|n| limit(n)).transpose()?,
                    }
                }
                _ => {
                    return Err(Refusal::new(
                        ErrorCode::BadArguments,
                        format!("/{name} takes N, after SEQ [N], or before SEQ [N]"),
                    ));
                }
            }
        }
        "ping" => Command::Ping(args.to_string()),
        "quit" | "q" => Command::Quit((!args.is_empty()).then(|| args.to_string())),
        "help" | "h" | "?" => Command::Help,
        "nodes" => Command::ListNodes,
        "typing" => match args.to_ascii_lowercase().as_str() {
            "on" => Command::ShowTyping(true),
            "off" => Command::ShowTyping(false),
            _ => {
                return Err(Refusal::new(
                    ErrorCode::BadArguments,
                    "/typing takes on or off",
                ));
            }
        },
        "create" => {
            let words: Vec<&str> = args.split_whitespace().collect();
            match words.as_slice() {
                [] => Command::CreateCode,
                [room] => Command::Create {
                    room: room.to_string(),
                    node: None,
                },
                [room, "on", node] => Command::Create {
                    room: room.to_string(),
                    node: Some(node.to_string()),
                },
                _ => {
                    return Err(Refusal::new(
                        ErrorCode::BadArguments,
                        "/create takes nothing, ROOM, or ROOM on NODE",
                    ));
                }
            }
        }
        #[cfg(debug_assertions)]
        "debug-panic" => Command::DebugPanic(match args {
            "" | "session" => super::PanicTarget::Session,
            room => super::PanicTarget::Room(room.to_string()),
        }),
        _ => {
            return Err(Refusal::new(
                ErrorCode::UnknownCommand,
                format!("unknown command /{name}; /help lists the commands"),
            ));
        }
    };
    Ok(Some(command))
}

/// Formats milliseconds since the epoch as `HH:MM:SS` (UTC).
pub fn clock(ts_ms: u64) -> String {
    let secs = ts_ms / 1000;
    format!(
        "{:02}:{:02}:{:02}",
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60
    )
}

/// Splits `#ROOM REST` into the room and the rest; arguments that do not start with `#` name
/// no room (the current one).
fn room_first(args: &str) -> (Option<String>, &str) {
    match args.strip_prefix('#') {
        Some(_) => match args.split_once(char::is_whitespace) {
            Some((room, rest)) => (Some(room.to_string()), rest.trim()),
            None => (Some(args.to_string()), ""),
        },
        None => (None, args),
    }
}

fn message_line(out: &mut String, m: &ChatMessage, history: bool) {
    let mark = if history { "[history] " } else { "" };
    let _ = if m.action {
        writeln!(
            out,
            "{} #{} {mark}* {} {}",
            clock(m.ts),
            m.room,
            m.from,
            m.text
        )
    } else {
        writeln!(
            out,
            "{} #{} {mark}<{}> {}",
            clock(m.ts),
            m.room,
            m.from,
            m.text
        )
    };
}

fn nick_list(users: &[String]) -> String {
    users.join(" ")
}

/// Renders an event as one or more `\n`-terminated lines.
pub fn render(event: &Event) -> Bytes {
    let mut out = String::with_capacity(64);
    let now = || clock(now_ms());
    let _ = match event {
        Event::Welcome {
            server,
            protocol,
            node,
        } => writeln!(
            out,
            "{} -- welcome to {server} (protocol {protocol}) on node {node}",
            now()
        ),
        Event::NickOk { nick } => writeln!(out, "{} -- you are now known as {nick}", now()),
        Event::NickError { code, message, .. } => writeln!(out, "! {code}: {message}"),
        Event::Joined { room, users } => writeln!(
            out,
            "{} #{room} -- you joined #{room}; users ({}): {}",
            now(),
            users.len(),
            nick_list(users)
        ),
        Event::JoinError {
            room,
            code,
            message,
        } => writeln!(out, "! {code}: cannot join {room}: {message}"),
        Event::Left { room } => writeln!(out, "{} #{room} -- you left #{room}", now()),
        Event::Message(m) => {
            message_line(&mut out, m, false);
            Ok(())
        }
        Event::Private { from, to, text, ts } => {
            writeln!(out, "{} *{from} -> {to}* {text}", clock(*ts))
        }
        Event::UserJoined { room, nick, ts } => {
            writeln!(out, "{} #{room} -- {nick} joined", clock(*ts))
        }
        Event::UserLeft {
            room,
            nick,
            reason,
            ts,
        } => match reason {
            Some(reason) => writeln!(out, "{} #{room} -- {nick} left ({reason})", clock(*ts)),
            None => writeln!(out, "{} #{room} -- {nick} left", clock(*ts)),
        },
        Event::NickChanged { room, old, new, ts } => {
            writeln!(out, "{} #{room} -- {old} is now known as {new}", clock(*ts))
        }
        Event::RoomList { rooms } => {
            let list: Vec<String> = rooms
                .iter()
                .map(|r| format!("#{} ({}, {})", r.name, r.members, r.node))
                .collect();
            writeln!(
                out,
                "{} -- rooms ({}): {}",
                now(),
                rooms.len(),
                list.join(", ")
            )
        }
        Event::UserList { room, users, away } => {
            let listed: Vec<String> = users
                .iter()
                .map(|nick| {
                    if away.contains(nick) {
                        format!("{nick} (away)")
                    } else {
                        nick.clone()
                    }
                })
                .collect();
            writeln!(
                out,
                "{} #{room} -- users ({}): {}",
                now(),
                users.len(),
                nick_list(&listed)
            )
        }
        Event::History { room, messages } => {
            if messages.is_empty() {
                writeln!(out, "{} #{room} -- no history", now())
            } else {
                for m in messages {
                    message_line(&mut out, m, true);
                }
                Ok(())
            }
        }
        Event::Pong { token } if token.is_empty() => writeln!(out, "{} -- pong", now()),
        Event::Pong { token } => writeln!(out, "{} -- pong {token}", now()),
        Event::Notice {
            room: Some(room),
            text,
        } => writeln!(out, "{} #{room} -- {text}", now()),
        Event::Notice { room: None, text } => writeln!(out, "{} -- {text}", now()),
        Event::Error { code, message } => writeln!(out, "! {code}: {message}"),
        Event::Shutdown { reason } => writeln!(out, "! shutdown: {reason}"),
        Event::NodeList { nodes } => {
            let list: Vec<String> = nodes
                .iter()
                .map(|n| {
                    let status = match n.status {
                        NodeStatus::This => "this node",
                        NodeStatus::Up => "up",
                        NodeStatus::Down => "down",
                    };
                    if n.address.is_empty() {
                        format!("{} ({status})", n.name)
                    } else {
                        format!("{} ({status}, {})", n.name, n.address)
                    }
                })
                .collect();
            writeln!(
                out,
                "{} -- nodes ({}): {}",
                now(),
                nodes.len(),
                list.join(", ")
            )
        }
        Event::Typing {
            room,
            nick,
            active: true,
        } => writeln!(out, "{} #{room} -- {nick} is typing", now()),
        Event::Typing {
            room,
            nick,
            active: false,
        } => writeln!(out, "{} #{room} -- {nick} stopped typing", now()),
        Event::RoomState {
            room,
            topic,
            operators,
        } => {
            let mut parts = Vec::new();
            match topic {
                Some(t) => parts.push(format!(
                    "topic: {} (set by {} at {})",
                    t.text,
                    t.by,
                    clock(t.ts)
                )),
                None => parts.push("no topic".to_string()),
            }
            if !operators.is_empty() {
                parts.push(format!("operators: {}", nick_list(operators)));
            }
            writeln!(out, "{} #{room} -- {}", now(), parts.join("; "))
        }
        Event::TopicChanged { room, topic } if topic.text.is_empty() => {
            writeln!(
                out,
                "{} #{room} -- {} cleared the topic",
                clock(topic.ts),
                topic.by
            )
        }
        Event::TopicChanged { room, topic } => writeln!(
            out,
            "{} #{room} -- {} set the topic: {}",
            clock(topic.ts),
            topic.by,
            topic.text
        ),
        Event::Operator {
            room,
            nick,
            by,
            on: true,
        } => writeln!(out, "{} #{room} -- {by} made {nick} an operator", now()),
        Event::Operator {
            room,
            nick,
            by,
            on: false,
        } => writeln!(
            out,
            "{} #{room} -- {by} took operator status from {nick}",
            now()
        ),
        Event::Kicked {
            room,
            nick,
            by,
            reason,
        } => match reason {
            Some(reason) => writeln!(out, "{} #{room} -- {by} removed {nick} ({reason})", now()),
            None => writeln!(out, "{} #{room} -- {by} removed {nick}", now()),
        },
        Event::UserInfo {
            nick,
            node,
            rooms,
            away,
            since,
        } => {
            let rooms: Vec<String> = rooms.iter().map(|r| format!("#{r}")).collect();
            let away = match away {
                Some(message) => format!("; away: {message}"),
                None => String::new(),
            };
            writeln!(
                out,
                "{} -- {nick}: on node {node} since {}; rooms: {}{away}",
                now(),
                clock(*since),
                if rooms.is_empty() {
                    "none".to_string()
                } else {
                    rooms.join(" ")
                }
            )
        }
        Event::Online { nicks } if nicks.is_empty() => {
            writeln!(out, "{} -- online: none of them", now())
        }
        Event::Online { nicks } => writeln!(out, "{} -- online: {}", now(), nick_list(nicks)),
        Event::Away {
            nick,
            message: Some(message),
        } => writeln!(out, "{} -- {nick} is away: {message}", now()),
        Event::Away {
            nick,
            message: None,
        } => writeln!(out, "{} -- {nick} is back", now()),
        Event::AwayChanged {
            room,
            nick,
            message: Some(message),
        } => writeln!(out, "{} #{room} -- {nick} is away: {message}", now()),
        Event::AwayChanged {
            room,
            nick,
            message: None,
        } => writeln!(out, "{} #{room} -- {nick} is back", now()),
        Event::Stats {
            users,
            rooms,
            nodes,
        } => writeln!(
            out,
            "{} -- {users} users, {rooms} rooms, {nodes} nodes",
            now()
        ),
    };
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(line: &str) -> Command {
        parse(line).unwrap().unwrap()
    }

    fn refused(line: &str) -> ErrorCode {
        parse(line).unwrap_err().code
    }

    #[test]
    fn commands_and_short_forms() {
        assert_eq!(cmd("/nick alice"), Command::Nick("alice".into()));
        assert_eq!(cmd("/n alice"), Command::Nick("alice".into()));
        assert_eq!(cmd("/name alice"), Command::Nick("alice".into()));
        assert_eq!(
            cmd("/messages 3"),
            Command::History {
                room: None,
                limit: Some(3)
            }
        );
        assert_eq!(cmd("/JOIN #rust"), Command::Join("#rust".into()));
        assert_eq!(cmd("/j rust"), Command::Join("rust".into()));
        assert_eq!(cmd("/leave"), Command::Leave(None));
        assert_eq!(cmd("/l #rust"), Command::Leave(Some("#rust".into())));
        assert_eq!(cmd("/rooms"), Command::ListRooms);
        assert_eq!(cmd("/r"), Command::ListRooms);
        assert_eq!(cmd("/users"), Command::ListUsers(None));
        assert_eq!(cmd("/u x"), Command::ListUsers(Some("x".into())));
        assert_eq!(
            cmd("/msg bob hi  there"),
            Command::PrivateMsg {
                to: "bob".into(),
                text: "hi  there".into()
            }
        );
        assert_eq!(
            cmd("/me waves"),
            Command::Me {
                room: None,
                text: "waves".into()
            }
        );
        assert_eq!(
            cmd("/history 5"),
            Command::History {
                room: None,
                limit: Some(5)
            }
        );
        assert_eq!(
            cmd("/history"),
            Command::History {
                room: None,
                limit: None
            }
        );
        assert_eq!(
            cmd("/history after 41 100"),
            Command::HistoryRange {
                room: None,
                after: Some(41),
                before: None,
                limit: Some(100)
            }
        );
        assert_eq!(
            cmd("/messages before 7"),
            Command::HistoryRange {
                room: None,
                after: None,
                before: Some(7),
                limit: None
            }
        );
        for bad in [
            "/history after",
            "/history after x",
            "/history since 4",
            "/history 1 2",
            "/history after 1 2 3",
        ] {
            assert_eq!(refused(bad), ErrorCode::BadArguments, "{bad}");
        }
        assert_eq!(cmd("/ping abc"), Command::Ping("abc".into()));
        assert_eq!(cmd("/quit bye all"), Command::Quit(Some("bye all".into())));
        assert_eq!(cmd("/q"), Command::Quit(None));
        assert_eq!(cmd("/help"), Command::Help);
        assert_eq!(cmd("/h"), Command::Help);
        assert_eq!(cmd("/nodes"), Command::ListNodes);
        assert_eq!(cmd("/typing on"), Command::ShowTyping(true));
        assert_eq!(cmd("/TYPING Off"), Command::ShowTyping(false));
        assert_eq!(refused("/typing"), ErrorCode::BadArguments);
        assert_eq!(
            cmd("/create #r on n2"),
            Command::Create {
                room: "#r".into(),
                node: Some("n2".into())
            }
        );
        assert_eq!(refused("/create r at n2"), ErrorCode::BadArguments);
    }

    #[test]
    fn moderation_presence_and_leave_with_a_reason() {
        assert_eq!(
            cmd("/leave #r see you soon"),
            Command::Part {
                room: Some("#r".into()),
                reason: "see you soon".into()
            }
        );
        assert_eq!(
            cmd("/topic"),
            Command::Topic {
                room: None,
                text: None
            }
        );
        assert_eq!(
            cmd("/topic #r"),
            Command::Topic {
                room: Some("#r".into()),
                text: None
            }
        );
        assert_eq!(
            cmd("/topic #r new words"),
            Command::Topic {
                room: Some("#r".into()),
                text: Some("new words".into())
            }
        );
        assert_eq!(
            cmd("/topic words here"),
            Command::Topic {
                room: None,
                text: Some("words here".into())
            }
        );
        assert_eq!(
            cmd("/deop #r bob"),
            Command::Op {
                room: Some("#r".into()),
                nick: "bob".into(),
                on: false
            }
        );
        assert_eq!(
            cmd("/op bob"),
            Command::Op {
                room: None,
                nick: "bob".into(),
                on: true
            }
        );
        assert_eq!(
            cmd("/kick #r bob spamming again"),
            Command::Kick {
                room: Some("#r".into()),
                nick: "bob".into(),
                reason: Some("spamming again".into())
            }
        );
        assert_eq!(
            cmd("/k bob"),
            Command::Kick {
                room: None,
                nick: "bob".into(),
                reason: None
            }
        );
        assert_eq!(cmd("/whois bob"), Command::Whois("bob".into()));
        assert_eq!(
            cmd("/away out to lunch"),
            Command::Away(Some("out to lunch".into()))
        );
        assert_eq!(cmd("/away"), Command::Away(None));
        assert_eq!(cmd("/back"), Command::Away(None));
        assert_eq!(cmd("/stats"), Command::Stats);
        assert_eq!(refused("/op"), ErrorCode::BadArguments);
        assert_eq!(refused("/op #r"), ErrorCode::BadArguments);
        assert_eq!(refused("/op #r bob carl"), ErrorCode::BadArguments);
        assert_eq!(refused("/kick"), ErrorCode::BadArguments);
        assert_eq!(refused("/kick #r"), ErrorCode::BadArguments);
        assert_eq!(refused("/whois"), ErrorCode::BadArguments);
        assert_eq!(refused("/whois a b"), ErrorCode::BadArguments);
        assert_eq!(refused("/topic #r \u{1b}[2J"), ErrorCode::InvalidCharacter);
    }

    #[test]
    fn plain_text_and_escapes() {
        assert_eq!(
            cmd("hello world"),
            Command::Msg {
                room: None,
                text: "hello world".into()
            }
        );
        assert_eq!(
            cmd("//etc/passwd is a path"),
            Command::Msg {
                room: None,
                text: "/etc/passwd is a path".into()
            }
        );
        assert_eq!(parse("   ").unwrap(), None);
        assert_eq!(parse("").unwrap(), None);
    }

    #[test]
    fn bad_lines() {
        assert_eq!(refused("/frobnicate"), ErrorCode::UnknownCommand);
        assert_eq!(refused("/nick"), ErrorCode::BadArguments);
        assert_eq!(refused("/nick two words"), ErrorCode::BadArguments);
        assert_eq!(refused("/join"), ErrorCode::BadArguments);
        assert_eq!(refused("/msg bob"), ErrorCode::BadArguments);
        assert_eq!(refused("/me"), ErrorCode::BadArguments);
        assert_eq!(refused("/history many"), ErrorCode::BadArguments);
        assert_eq!(refused("hi\0there"), ErrorCode::InvalidCharacter);
        assert_eq!(refused("bell\u{7}"), ErrorCode::InvalidCharacter);
        assert!(parse("tab\tis fine").is_ok());
    }

    #[test]
    fn rendering() {
        let m = ChatMessage {
            room: "general".into(),
            seq: 1,
            from: "alice".into(),
            text: "hi".into(),
            action: false,
            ts: 3_723_000,
        };
        assert_eq!(
            render(&Event::Message(m.clone())),
            "01:02:03 #general <alice> hi\n"
        );
        assert_eq!(
            render(&Event::History {
                room: "general".into(),
                messages: vec![m.clone(), ChatMessage { action: true, ..m }]
            }),
            "01:02:03 #general [history] <alice> hi\n01:02:03 #general [history] * alice hi\n"
        );
        assert_eq!(
            render(&Event::error(
                ErrorCode::NickTaken,
                "nick \"bob\" is already in use"
            )),
            "! nick_taken: nick \"bob\" is already in use\n"
        );
        assert_eq!(
            render(&Event::UserLeft {
                room: "r".into(),
                nick: "bob".into(),
                reason: Some("quit: bye".into()),
                ts: 0
            }),
            "00:00:00 #r -- bob left (quit: bye)\n"
        );
        assert_eq!(
            render(&Event::Private {
                from: "a".into(),
                to: "b".into(),
                text: "psst".into(),
                ts: 0
            }),
            "00:00:00 *a -> b* psst\n"
        );
        let typing = |active| {
            String::from_utf8(
                render(&Event::Typing {
                    room: "r".into(),
                    nick: "bob".into(),
                    active,
                })
                .to_vec(),
            )
            .unwrap()
        };
        assert!(typing(true).ends_with(" #r -- bob is typing\n"));
        assert!(typing(false).ends_with(" #r -- bob stopped typing\n"));
    }

    mod fuzz {
        //! Properties over arbitrary input (`PROPTEST_CASES` sets how many inputs; `make fuzz`
        //! runs a longer campaign).
        use super::*;
        use proptest::prelude::*;

        /// Lines that look like commands more often than random text would.
        fn arb_line() -> impl Strategy<Value = String> {
            let word = prop_oneof![
                Just("/".to_string()),
                Just("//".to_string()),
                "/[a-z]{0,8}",
                any::<String>(),
                "\\PC{0,20}",
            ];
            proptest::collection::vec(word, 0..6).prop_map(|words| words.join(" "))
        }

        proptest! {
            #[test]
            fn parsing_never_panics_and_never_passes_a_control_character(line in arb_line()) {
                if let Ok(Some(command)) = parse(&line) {
                    for text in command.texts() {
                        prop_assert!(check_text(text).is_ok(), "{command:?}");
                    }
                }
            }

            #[test]
            fn rendered_events_are_one_line(
                text in "\\PC{0,40}",
                nick in "[a-z]{1,8}",
                seq in any::<u64>(),
            ) {
                let message = ChatMessage {
                    room: "r".into(),
                    seq,
                    from: nick.clone(),
                    text: text.clone(),
                    action: false,
                    ts: 0,
                };
                for event in [
                    Event::Message(message),
                    Event::notice(text.clone()),
                    Event::error(ErrorCode::BadArguments, text.clone()),
                    Event::Private { from: nick.clone(), to: nick, text, ts: 0 },
                ] {
                    let bytes = render(&event);
                    prop_assert_eq!(bytes.iter().filter(|b| **b == b'\n').count(), 1);
                    prop_assert!(bytes.ends_with(b"\n"));
                }
            }
        }
    }
}
