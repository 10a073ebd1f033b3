//! The JSON format of the web front: the same [`Command`]s and [`Event`]s as the other formats,
//! as JSON objects tagged by `"type"` in snake case, with the fields named as in the framed
//! protocol:
//!
//! ```text
//! → {"type":"nick","nick":"alice"}        ← {"type":"nick_ok","nick":"alice"}
//! → {"type":"join","room":"general"}      ← {"type":"history","room":"general","messages":[]}
//!                                         ← {"type":"joined","room":"general","users":["alice"]}
//! → {"type":"msg","text":"hello"}         ← {"type":"message","room":"general","seq":1,
//!                                            "from":"alice","text":"hello","action":false,"ts":...}
//! → {"type":"frobnicate"}                 ← {"type":"error","code":"bad_frame","message":"..."}
//! ```
//!
//! Typing: `{"type":"typing","room":"general","active":true}` tells the room's other members
//! (they get `{"type":"typing","room":"general","nick":"alice","active":true}`); send it again
//! at most every 3 s while typing, `false` when done. `{"type":"show_typing","show":false}` stops
//! them arriving.
//!
//! Catch-up: `{"type":"history_range","room":"general","after":41,"limit":100}` answers with a
//! `history` event holding the messages numbered above 41 (`before` gives those below a number).
//!
//! Optional fields (`room` of `msg`, `me`, `leave`, `list_users`, `history`, `create`; `limit`;
//! `reason` of `quit`; `node` of `create`; `token` of `ping`) may be left out; `create` without a
//! `room` makes a room named by a code. Error codes are the snake-case
//! names the line protocol shows.

use serde::{Deserialize, Serialize};

use super::{ChatMessage, Command, Event, NodeInfo, NodeStatus, RoomInfo, Topic};

/// A command as the web front receives it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum JsonCommand {
    Nick {
        nick: String,
    },
    Join {
        room: String,
    },
    Leave {
        #[serde(default)]
        room: Option<String>,
        #[serde(default)]
        reason: Option<String>,
    },
    Msg {
        #[serde(default)]
        room: Option<String>,
        text: String,
    },
    Me {
        #[serde(default)]
        room: Option<String>,
        text: String,
    },
    PrivateMsg {
        to: String,
        text: String,
    },
    ListRooms,
    ListUsers {
        #[serde(default)]
        room: Option<String>,
    },
    History {
        #[serde(default)]
        room: Option<String>,
        #[serde(default)]
        limit: Option<u32>,
    },
    Ping {
        #[serde(default)]
        token: String,
    },
    Quit {
        #[serde(default)]
        reason: Option<String>,
    },
    Help,
    ListNodes,
    Create {
        #[serde(default)]
        room: Option<String>,
        #[serde(default)]
        node: Option<String>,
    },
    Typing {
        room: String,
        active: bool,
    },
    ShowTyping {
        show: bool,
    },
    Away {
        #[serde(default)]
        message: Option<String>,
    },
    Stats,
    Whois {
        nick: String,
    },
    Online {
        nicks: Vec<String>,
    },
    Topic {
        #[serde(default)]
        room: Option<String>,
        #[serde(default)]
        text: Option<String>,
    },
    Op {
        #[serde(default)]
        room: Option<String>,
        nick: String,
        on: bool,
    },
    Kick {
        #[serde(default)]
        room: Option<String>,
        nick: String,
        #[serde(default)]
        reason: Option<String>,
    },
    HistoryRange {
        #[serde(default)]
        room: Option<String>,
        #[serde(default)]
        after: Option<u64>,
        #[serde(default)]
        before: Option<u64>,
        #[serde(default)]
        limit: Option<u32>,
    },
}

impl From<JsonCommand> for Command {
    fn from(command: JsonCommand) -> Command {
        match command {
            JsonCommand::Nick { nick } => Command::Nick(nick),
            JsonCommand::Join { room } => Command::Join(room),
            JsonCommand::Leave { room, reason: None } => Command::Leave(room),
            JsonCommand::Leave {
                room,
                reason: Some(reason),
            } => Command::Part { room, reason },
            JsonCommand::Away { message } => Command::Away(message),
            JsonCommand::Stats => Command::Stats,
            JsonCommand::Whois { nick } => Command::Whois(nick),
            JsonCommand::Online { nicks } => Command::Online(nicks),
            JsonCommand::Topic { room, text } => Command::Topic { room, text },
            JsonCommand::Op { room, nick, on } => Command::Op { room, nick, on },
            JsonCommand::Kick { room, nick, reason } => Command::Kick { room, nick, reason },
            JsonCommand::Msg { room, text } => Command::Msg { room, text },
            JsonCommand::Me { room, text } => Command::Me { room, text },
            JsonCommand::PrivateMsg { to, text } => Command::PrivateMsg { to, text },
            JsonCommand::ListRooms => Command::ListRooms,
            JsonCommand::ListUsers { room } => Command::ListUsers(room),
            JsonCommand::History { room, limit } => Command::History { room, limit },
            JsonCommand::Ping { token } => Command::Ping(token),
            JsonCommand::Quit { reason } => Command::Quit(reason),
            JsonCommand::Help => Command::Help,
            JsonCommand::ListNodes => Command::ListNodes,
            JsonCommand::Create { room: None, .. } => Command::CreateCode,
            JsonCommand::Create {
                room: Some(room),
                node,
            } => Command::Create { room, node },
            JsonCommand::Typing { room, active } => Command::Typing { room, active },
            JsonCommand::ShowTyping { show } => Command::ShowTyping(show),
            JsonCommand::HistoryRange {
                room,
                after,
                before,
                limit,
            } => Command::HistoryRange {
                room,
                after,
                before,
                limit,
            },
        }
    }
}

impl JsonCommand {
    /// The JSON form of a command; `None` for the debug-only ones.
    fn of(command: &Command) -> Option<JsonCommand> {
        Some(match command.clone() {
            Command::Nick(nick) => JsonCommand::Nick { nick },
            Command::Join(room) => JsonCommand::Join { room },
            Command::Leave(room) => JsonCommand::Leave { room, reason: None },
            Command::Part { room, reason } => JsonCommand::Leave {
                room,
                reason: Some(reason),
            },
            Command::Away(message) => JsonCommand::Away { message },
            Command::Stats => JsonCommand::Stats,
            Command::Whois(nick) => JsonCommand::Whois { nick },
            Command::Online(nicks) => JsonCommand::Online { nicks },
            Command::Topic { room, text } => JsonCommand::Topic { room, text },
            Command::Op { room, nick, on } => JsonCommand::Op { room, nick, on },
            Command::Kick { room, nick, reason } => JsonCommand::Kick { room, nick, reason },
            Command::Msg { room, text } => JsonCommand::Msg { room, text },
            Command::Me { room, text } => JsonCommand::Me { room, text },
            Command::PrivateMsg { to, text } => JsonCommand::PrivateMsg { to, text },
            Command::ListRooms => JsonCommand::ListRooms,
            Command::ListUsers(room) => JsonCommand::ListUsers { room },
            Command::History { room, limit } => JsonCommand::History { room, limit },
            Command::Ping(token) => JsonCommand::Ping { token },
            Command::Quit(reason) => JsonCommand::Quit { reason },
            Command::Help => JsonCommand::Help,
            Command::ListNodes => JsonCommand::ListNodes,
            Command::Create { room, node } => JsonCommand::Create {
                room: Some(room),
                node,
            },
            Command::CreateCode => JsonCommand::Create {
                room: None,
                node: None,
            },
            Command::Typing { room, active } => JsonCommand::Typing { room, active },
            Command::ShowTyping(show) => JsonCommand::ShowTyping { show },
            Command::HistoryRange {
                room,
                after,
                before,
                limit,
            } => JsonCommand::HistoryRange {
                room,
                after,
                before,
                limit,
            },
            #[cfg(debug_assertions)]
            Command::DebugPanic(_) => return None,
        })
    }
}

/// A node as the web front lists it (its status in snake case).
#[derive(Debug, Serialize)]
struct JsonNode<'a> {
    name: &'a str,
    status: &'static str,
    address: &'a str,
}

impl<'a> From<&'a NodeInfo> for JsonNode<'a> {
    fn from(node: &'a NodeInfo) -> Self {
        JsonNode {
            name: &node.name,
            status: match node.status {
                NodeStatus::This => "this",
                NodeStatus::Up => "up",
                NodeStatus::Down => "down",
            },
            address: &node.address,
        }
    }
}

/// An event as the web front sends it.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum JsonEvent<'a> {
    Welcome {
        server: &'a str,
        protocol: u32,
        node: &'a str,
    },
    NickOk {
        nick: &'a str,
    },
    NickError {
        nick: &'a str,
        code: &'static str,
        message: &'a str,
    },
    Joined {
        room: &'a str,
        users: &'a [String],
    },
    JoinError {
        room: &'a str,
        code: &'static str,
        message: &'a str,
    },
    Left {
        room: &'a str,
    },
    Message(&'a ChatMessage),
    Private {
        from: &'a str,
        to: &'a str,
        text: &'a str,
        ts: u64,
    },
    UserJoined {
        room: &'a str,
        nick: &'a str,
        ts: u64,
    },
    UserLeft {
        room: &'a str,
        nick: &'a str,
        reason: Option<&'a str>,
        ts: u64,
    },
    NickChanged {
        room: &'a str,
        old: &'a str,
        new: &'a str,
        ts: u64,
    },
    RoomList {
        rooms: &'a [RoomInfo],
    },
    UserList {
        room: &'a str,
        users: &'a [String],
        away: &'a [String],
    },
    History {
        room: &'a str,
        messages: &'a [ChatMessage],
    },
    Pong {
        token: &'a str,
    },
    Notice {
        room: Option<&'a str>,
        text: &'a str,
    },
    Error {
        code: &'static str,
        message: &'a str,
    },
    Shutdown {
        reason: &'a str,
    },
    NodeList {
        nodes: Vec<JsonNode<'a>>,
    },
    Typing {
        room: &'a str,
        nick: &'a str,
        active: bool,
    },
    RoomState {
        room: &'a str,
        topic: Option<&'a Topic>,
        operators: &'a [String],
    },
    TopicChanged {
        room: &'a str,
        topic: &'a Topic,
    },
    Operator {
        room: &'a str,
        nick: &'a str,
        by: &'a str,
        on: bool,
    },
    Kicked {
        room: &'a str,
        nick: &'a str,
        by: &'a str,
        reason: Option<&'a str>,
    },
    UserInfo {
        nick: &'a str,
        node: &'a str,
        rooms: &'a [String],
        away: Option<&'a str>,
        since: u64,
    },
    Online {
        nicks: &'a [String],
    },
    Away {
        nick: &'a str,
        message: Option<&'a str>,
    },
    Stats {
        users: u64,
        rooms: u64,
        nodes: u64,
    },
    AwayChanged {
        room: &'a str,
        nick: &'a str,
        message: Option<&'a str>,
    },
}

impl<'a> From<&'a Event> for JsonEvent<'a> {
    fn from(event: &'a Event) -> Self {
        match event {
            Event::Welcome {
                server,
                protocol,
                node,
            } => JsonEvent::Welcome {
                server,
                protocol: *protocol,
                node,
            },
            Event::NickOk { nick } => JsonEvent::NickOk { nick },
            Event::NickError {
                nick,
                code,
                message,
            } => JsonEvent::NickError {
                nick,
                code: code.as_str(),
                message,
            },
            Event::Joined { room, users } => JsonEvent::Joined { room, users },
            Event::JoinError {
                room,
                code,
                message,
            } => JsonEvent::JoinError {
                room,
                code: code.as_str(),
                message,
            },
            Event::Left { room } => JsonEvent::Left { room },
            Event::Message(message) => JsonEvent::Message(message),
            Event::Private { from, to, text, ts } => JsonEvent::Private {
                from,
                to,
                text,
                ts: *ts,
            },
            Event::UserJoined { room, nick, ts } => JsonEvent::UserJoined {
                room,
                nick,
                ts: *ts,
            },
            Event::UserLeft {
                room,
                nick,
                reason,
                ts,
            } => JsonEvent::UserLeft {
                room,
                nick,
                reason: reason.as_deref(),
                ts: *ts,
            },
            Event::NickChanged { room, old, new, ts } => JsonEvent::NickChanged {
                room,
                old,
                new,
                ts: *ts,
            },
            Event::RoomList { rooms } => JsonEvent::RoomList { rooms },
            Event::UserList { room, users, away } => JsonEvent::UserList { room, users, away },
            Event::History { room, messages } => JsonEvent::History { room, messages },
            Event::Pong { token } => JsonEvent::Pong { token },
            Event::Notice { room, text } => JsonEvent::Notice {
                room: room.as_deref(),
                text,
            },
            Event::Error { code, message } => JsonEvent::Error {
                code: code.as_str(),
                message,
            },
            Event::Shutdown { reason } => JsonEvent::Shutdown { reason },
            Event::NodeList { nodes } => JsonEvent::NodeList {
                nodes: nodes.iter().map(JsonNode::from).collect(),
            },
            Event::RoomState {
                room,
                topic,
                operators,
            } => JsonEvent::RoomState {
                room,
                topic: topic.as_ref(),
                operators,
            },
            Event::TopicChanged { room, topic } => JsonEvent::TopicChanged { room, topic },
            Event::Operator { room, nick, by, on } => JsonEvent::Operator {
                room,
                nick,
                by,
                on: *on,
            },
            Event::Kicked {
                room,
                nick,
                by,
                reason,
            } => JsonEvent::Kicked {
                room,
                nick,
                by,
                reason: reason.as_deref(),
            },
            Event::UserInfo {
                nick,
                node,
                rooms,
                away,
                since,
            } => JsonEvent::UserInfo {
                nick,
                node,
                rooms,
                away: away.as_deref(),
                since: *since,
            },
            Event::Online { nicks } => JsonEvent::Online { nicks },
            Event::Away { nick, message } => JsonEvent::Away {
                nick,
                message: message.as_deref(),
            },
            Event::AwayChanged {
                room,
                nick,
                message,
            } => JsonEvent::AwayChanged {
                room,
                nick,
                message: message.as_deref(),
            },
            Event::Stats {
                users,
                rooms,
                nodes,
            } => JsonEvent::Stats {
                users: *users,
                rooms: *rooms,
                nodes: *nodes,
            },
            Event::Typing { room, nick, active } => JsonEvent::Typing {
                room,
                nick,
                active: *active,
            },
        }
    }
}

/// Encodes an event as one JSON object.
pub fn encode_event(event: &Event) -> Result<String, serde_json::Error> {
    serde_json::to_string(&JsonEvent::from(event))
}

/// Encodes a command as one JSON object, as a client sends it; `None` for a debug-only command.
pub fn encode_command(command: &Command) -> Option<String> {
    JsonCommand::of(command).and_then(|json| serde_json::to_string(&json).ok())
}

/// Decodes a command from one JSON object; the error says what is wrong, for the client.
pub fn decode_command(text: &str) -> Result<Command, serde_json::Error> {
    serde_json::from_str::<JsonCommand>(text).map(Command::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ErrorCode;
    use proptest::prelude::*;

    #[test]
    fn commands_decode_with_optional_fields_left_out() {
        assert_eq!(
            decode_command(r#"{"type":"nick","nick":"alice"}"#).unwrap(),
            Command::Nick("alice".into())
        );
        assert_eq!(
            decode_command(r#"{"type":"msg","text":"hi"}"#).unwrap(),
            Command::Msg {
                room: None,
                text: "hi".into()
            }
        );
        assert_eq!(
            decode_command(r#"{"type":"private_msg","to":"bob","text":"psst"}"#).unwrap(),
            Command::PrivateMsg {
                to: "bob".into(),
                text: "psst".into()
            }
        );
        assert_eq!(
            decode_command(r#"{"type":"ping"}"#).unwrap(),
            Command::Ping(String::new())
        );
        for bad in [
            r#"{"type":"frobnicate"}"#,
            r#"{"type":"nick"}"#,
            r#"{"type":"nick","nick":"a","extra":1}"#,
            r#"{"nick":"a"}"#,
            "not json",
            "[]",
        ] {
            assert!(decode_command(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn events_are_tagged_objects_with_the_framed_field_names() {
        let message = Event::Message(ChatMessage {
            room: "general".into(),
            seq: 7,
            from: "alice".into(),
            text: "hello".into(),
            action: false,
            ts: 1,
        });
        assert_eq!(
            encode_event(&message).unwrap(),
            r#"{"type":"message","room":"general","seq":7,"from":"alice","text":"hello","action":false,"ts":1}"#
        );
        assert_eq!(
            encode_event(&Event::error(ErrorCode::InvalidCharacter, "no")).unwrap(),
            r#"{"type":"error","code":"invalid_character","message":"no"}"#
        );
        assert_eq!(
            encode_event(&Event::NickOk { nick: "a".into() }).unwrap(),
            r#"{"type":"nick_ok","nick":"a"}"#
        );
        assert_eq!(
            encode_event(&Event::Typing {
                room: "general".into(),
                nick: "alice".into(),
                active: true
            })
            .unwrap(),
            r#"{"type":"typing","room":"general","nick":"alice","active":true}"#
        );
    }

    #[test]
    fn commands_round_trip() {
        for command in [
            Command::Nick("a".into()),
            Command::Msg {
                room: None,
                text: "hi".into(),
            },
            Command::History {
                room: Some("r".into()),
                limit: Some(3),
            },
            Command::CreateCode,
            Command::Quit(None),
            Command::Typing {
                room: "r".into(),
                active: true,
            },
            Command::ShowTyping(false),
            Command::Part {
                room: Some("r".into()),
                reason: "bye".into(),
            },
            Command::Away(Some("lunch".into())),
            Command::Away(None),
            Command::Whois("bob".into()),
            Command::Online(vec!["a".into(), "b".into()]),
            Command::Topic {
                room: None,
                text: Some("t".into()),
            },
            Command::Op {
                room: Some("r".into()),
                nick: "bob".into(),
                on: true,
            },
            Command::Kick {
                room: None,
                nick: "bob".into(),
                reason: Some("spam".into()),
            },
            Command::Stats,
            Command::HistoryRange {
                room: None,
                after: Some(41),
                before: None,
                limit: Some(10),
            },
        ] {
            let text = encode_command(&command).unwrap();
            assert_eq!(decode_command(&text).unwrap(), command, "{text}");
        }
    }

    proptest! {
        #[test]
        fn fuzz_any_text_decodes_or_fails_cleanly(text in any::<String>()) {
            let _ = decode_command(&text);
        }
    }
}
