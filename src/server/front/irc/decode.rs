//! IRC messages as session commands: registration (`PASS`, `NICK`, `USER`, `CAP`), the
//! commands chatd's session executes (each labeled with its IRC verb and target, so that the
//! encoder can phrase its numerics), and the ones the front answers itself (`PING`, `MOTD`,
//! `VERSION`, `TIME`, mode queries, capability negotiation).
//!
//! IRC formatting codes (bold, colours, ...) are taken out of message text: chatd refuses
//! control characters in text every front shows (see [`crate::protocol::check_text`]), and
//! netcat users would see them as garbage.

use std::collections::VecDeque;
use std::sync::Arc;

use super::conn::{IrcConn, cap};
use super::encode::{MAX_CHATHISTORY, MAX_TARGETS, PRIVATE_ACTION, Replies};
use crate::names::canonical_room;
use crate::protocol::irc::Message;
use crate::protocol::{Command, ErrorCode, Refusal};
use crate::server::front::input::{Input, Label};

/// Registration as far as the client got.
#[derive(Debug, Default)]
struct Registration {
    nick: Option<String>,
    user: bool,
    pass: Option<String>,
    /// `CAP LS` or `CAP REQ` was sent and `CAP END` not yet: registration waits.
    negotiating: bool,
    /// The nick was claimed: later commands reach the session after the claim (and are
    /// refused there, with 451, if it failed).
    claimed: bool,
}

/// Turns one connection's IRC messages into inputs.
#[derive(Debug)]
pub struct Decoder {
    conn: Arc<IrcConn>,
    registration: Registration,
}

/// Takes IRC formatting codes (bold, colour with its numbers, italics, ...) out of `text`.
pub fn strip_formatting(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{2}' | '\u{f}' | '\u{11}' | '\u{16}' | '\u{1d}' | '\u{1e}' | '\u{1f}' => {}
            '\u{3}' => {
                // ^C, then up to two digits, then optionally a comma and up to two digits.
                for _ in 0..2 {
                    if chars.next_if(char::is_ascii_digit).is_none() {
                        break;
                    }
                }
                let mut lookahead = chars.clone();
                if lookahead.next() == Some(',')
                    && lookahead.peek().is_some_and(char::is_ascii_digit)
                {
                    chars.next();
                    for _ in 0..2 {
                        if chars.next_if(char::is_ascii_digit).is_none() {
                            break;
                        }
                    }
                }
            }
            c => out.push(c),
        }
    }
    out
}

fn label(verb: &'static str, target: &str) -> Label {
    Label {
        verb,
        target: target.to_string(),
        object: String::new(),
    }
}

impl Decoder {
    /// A decoder for the connection `conn`.
    pub fn new(conn: Arc<IrcConn>) -> Decoder {
        Decoder {
            conn,
            registration: Registration::default(),
        }
    }

    fn replies(&self) -> Replies<'_> {
        Replies::new(&self.conn)
    }

    /// A reply the front writes itself, in order with the session's.
    fn reply(&self, out: &mut VecDeque<Input>, write: impl FnOnce(&mut Replies<'_>)) {
        let mut r = self.replies();
        write(&mut r);
        out.push_back(Input::Reply(r.bytes()));
    }

    fn numeric(&self, out: &mut VecDeque<Input>, code: &str, params: &[&str]) {
        self.reply(out, |r| r.numeric(code, params));
    }

    /// Queues what the client's `message` asks for onto `out`.
    pub fn decode(&mut self, message: Message, out: &mut VecDeque<Input>) {
        let params: Vec<&str> = message.params.iter().map(String::as_str).collect();
        let verb = message.command.as_str();
        match verb {
            "CAP" => return self.cap(&params, out),
            "PASS" => return self.pass(&params, out),
            "NICK" => return self.nick(&params, out),
            "USER" => return self.user(&params, out),
            "PING" => {
                return match params.first() {
                    Some(token) => {
                        let server = self.conn.server.name.clone();
                        self.reply(out, |r| r.server("PONG", &[&server, token]));
                    }
                    None => self.numeric(out, "409", &["No origin specified"]),
                };
            }
            "PONG" => return,
            "QUIT" => {
                let reason = params.first().map(|r| strip_formatting(r));
                let reason = reason.filter(|r| !r.is_empty());
                out.push_back(Input::Labeled(Command::Quit(reason), label("QUIT", "")));
                return;
            }
            _ => {}
        }
        if !self.conn.is_welcomed() && !self.registration.claimed {
            self.numeric(out, "451", &["You have not registered"]);
            return;
        }
        match verb {
            "JOIN" => self.join(&params, out),
            "PART" => self.part(&params, out),
            "PRIVMSG" => self.privmsg("PRIVMSG", &params, out),
            "NOTICE" => self.privmsg("NOTICE", &params, out),
            "TAGMSG" => self.tagmsg(&message, out),
            "NAMES" => match params.first() {
                Some(channels) => {
                    for chan in channels.split(',').filter(|c| !c.is_empty()) {
                        let command = Command::ListUsers(Some(chan.to_string()));
                        out.push_back(Input::Labeled(command, label("NAMES", chan)));
                    }
                }
                None => self.numeric(out, "366", &["*", "End of /NAMES list."]),
            },
            "LIST" => out.push_back(Input::Labeled(Command::ListRooms, label("LIST", ""))),
            "WHO" => match params.first() {
                Some(mask) if mask.starts_with('#') => {
                    let command = Command::ListUsers(Some(mask.to_string()));
                    out.push_back(Input::Labeled(command, label("WHO", mask)));
                }
                // A nick: that user, if online (masks with wildcards match nobody).
                Some(mask) if !mask.contains(['*', '?']) => {
                    let command = Command::Whois(mask.to_string());
                    out.push_back(Input::Labeled(command, label("WHO", mask)));
                }
                Some(mask) => self.numeric(out, "315", &[mask, "End of /WHO list."]),
                None => self.numeric(out, "315", &["*", "End of /WHO list."]),
            },
            "WHOIS" => match params.last().filter(|n| !n.is_empty()) {
                // `WHOIS server nick` asks a server about nick: every node answers alike.
                Some(nick) => {
                    let nick = nick.split(',').next().unwrap_or(nick);
                    let command = Command::Whois(nick.to_string());
                    out.push_back(Input::Labeled(command, label("WHOIS", nick)));
                }
                None => self.numeric(out, "431", &["No nickname given"]),
            },
            "ISON" | "USERHOST" => {
                let verb = if verb == "ISON" { "ISON" } else { "USERHOST" };
                if self.need(verb, &params, 1, out) {
                    let nicks: Vec<String> = params
                        .iter()
                        .flat_map(|p| p.split(' '))
                        .filter(|n| !n.is_empty())
                        .take(if verb == "USERHOST" { 5 } else { 32 })
                        .map(str::to_string)
                        .collect();
                    out.push_back(Input::Labeled(Command::Online(nicks), label(verb, "")));
                }
            }
            "AWAY" => {
                let message = params.first().map(|m| strip_formatting(m));
                let message = message.filter(|m| !m.trim().is_empty());
                out.push_back(Input::Labeled(Command::Away(message), label("AWAY", "")));
            }
            "LUSERS" => out.push_back(Input::Labeled(Command::Stats, label("LUSERS", ""))),
            "CHATHISTORY" => self.chathistory(&params, out),
            "TOPIC" => {
                if self.need("TOPIC", &params, 1, out)
                    && let Some(room) = self.room(params[0], out)
                {
                    let text = params.get(1).map(|t| strip_formatting(t));
                    let command = Command::Topic {
                        room: Some(room),
                        text,
                    };
                    out.push_back(Input::Labeled(command, label("TOPIC", params[0])));
                }
            }
            "KICK" => {
                if self.need("KICK", &params, 2, out)
                    && let Some(room) = self.room(params[0], out)
                {
                    let reason = params.get(2).map(|r| strip_formatting(r));
                    for nick in params[1].split(',').filter(|n| !n.is_empty()) {
                        let command = Command::Kick {
                            room: Some(room.clone()),
                            nick: nick.to_string(),
                            reason: reason.clone().filter(|r| !r.is_empty()),
                        };
                        let label = Label {
                            object: nick.to_string(),
                            ..label("KICK", params[0])
                        };
                        out.push_back(Input::Labeled(command, label));
                    }
                }
            }
            "MOTD" => self.reply(out, |r| r.motd()),
            "VERSION" => {
                let server = self.conn.server.name.clone();
                self.reply(out, |r| {
                    let version = concat!("chatd-", env!("CARGO_PKG_VERSION"));
                    r.numeric("351", &[version, &server, "chatd IRC front"]);
                    r.isupport();
                });
            }
            "TIME" => {
                let server = self.conn.server.name.clone();
                let now = chrono::Utc::now()
                    .format("%A %B %-d %Y -- %H:%M:%S UTC")
                    .to_string();
                self.numeric(out, "391", &[&server, &now]);
            }
            "MODE" => self.mode(&params, out),
            _ => self.numeric(out, "421", &[verb, "Unknown command"]),
        }
    }

    fn need(&self, verb: &str, params: &[&str], n: usize, out: &mut VecDeque<Input>) -> bool {
        if params.len() < n || params[..n].iter().any(|p| p.is_empty()) {
            self.numeric(out, "461", &[verb, "Not enough parameters"]);
            return false;
        }
        true
    }

    fn cap(&mut self, params: &[&str], out: &mut VecDeque<Input>) {
        let Some(sub) = params.first() else {
            self.numeric(out, "461", &["CAP", "Not enough parameters"]);
            return;
        };
        let nick = self.conn.nick();
        let sub = sub.to_ascii_uppercase();
        match sub.as_str() {
            "LS" => {
                if !self.conn.is_welcomed() {
                    self.registration.negotiating = true;
                }
                let names: Vec<&str> = cap::ALL.iter().map(|(n, _)| *n).collect();
                let list = names.join(" ");
                self.reply(out, |r| r.server("CAP", &[&nick, "LS", &list]));
            }
            "LIST" => {
                let on: Vec<&str> = cap::ALL
                    .iter()
                    .filter(|(_, bit)| self.conn.has(*bit))
                    .map(|(n, _)| *n)
                    .collect();
                let list = on.join(" ");
                self.reply(out, |r| r.server("CAP", &[&nick, "LIST", &list]));
            }
            "REQ" => {
                if !self.conn.is_welcomed() {
                    self.registration.negotiating = true;
                }
                let asked = params.get(1).copied().unwrap_or("");
                let mut on = 0;
                let mut off = 0;
                let mut known = true;
                for name in asked.split(' ').filter(|n| !n.is_empty()) {
                    let (name, remove) = match name.strip_prefix('-') {
                        Some(name) => (name, true),
                        None => (name, false),
                    };
                    match cap::bit(name) {
                        Some(bit) if remove => off |= bit,
                        Some(bit) => on |= bit,
                        None => known = false,
                    }
                }
                let answer = if known {
                    self.conn.set_caps(on, true);
                    self.conn.set_caps(off, false);
                    "ACK"
                } else {
                    "NAK"
                };
                self.reply(out, |r| r.server("CAP", &[&nick, answer, asked]));
            }
            "END" => {
                self.registration.negotiating = false;
                self.register(out);
            }
            _ => self.numeric(out, "410", &[&sub, "Invalid CAP command"]),
        }
    }

    fn pass(&mut self, params: &[&str], out: &mut VecDeque<Input>) {
        if self.conn.is_welcomed() {
            self.numeric(out, "462", &["You may not reregister"]);
        } else if self.need("PASS", params, 1, out) {
            self.registration.pass = Some(params[0].to_string());
        }
    }

    fn nick(&mut self, params: &[&str], out: &mut VecDeque<Input>) {
        let Some(nick) = params.first().filter(|n| !n.is_empty()) else {
            self.numeric(out, "431", &["No nickname given"]);
            return;
        };
        if self.conn.is_welcomed() {
            out.push_back(Input::Labeled(
                Command::Nick(nick.to_string()),
                label("NICK", nick),
            ));
        } else {
            self.registration.nick = Some(nick.to_string());
            self.register(out);
        }
    }

    fn user(&mut self, params: &[&str], out: &mut VecDeque<Input>) {
        if self.conn.is_welcomed() {
            self.numeric(out, "462", &["You may not reregister"]);
        } else if self.need("USER", params, 4, out) {
            self.registration.user = true;
            self.register(out);
        }
    }

    /// Completes registration once the client gave a nick and a user and ended capability
    /// negotiation: the password is checked, and the nick claimed (the welcome comes with it).
    fn register(&mut self, out: &mut VecDeque<Input>) {
        let r = &self.registration;
        let Some(nick) = r.nick.clone().filter(|_| r.user && !r.negotiating) else {
            return;
        };
        if let Some(password) = &self.conn.server.password
            && r.pass.as_ref() != Some(password)
        {
            out.push_back(Input::Fatal(Refusal::new(
                ErrorCode::PasswordMismatch,
                "password incorrect",
            )));
            return;
        }
        self.registration.claimed = true;
        out.push_back(Input::Labeled(
            Command::Nick(nick.clone()),
            label("NICK", &nick),
        ));
    }

    /// `#room` as a room name; a name without `#` gets 403.
    fn room(&self, chan: &str, out: &mut VecDeque<Input>) -> Option<String> {
        match chan
            .starts_with('#')
            .then(|| canonical_room(chan).ok())
            .flatten()
        {
            Some(room) => Some(room),
            None => {
                self.numeric(out, "403", &[chan, "No such channel"]);
                None
            }
        }
    }

    fn join(&mut self, params: &[&str], out: &mut VecDeque<Input>) {
        if !self.need("JOIN", params, 1, out) {
            return;
        }
        if params[0] == "0" {
            for room in self.conn.channels() {
                let chan = format!("#{room}");
                out.push_back(Input::Labeled(
                    Command::Leave(Some(room)),
                    label("PART", &chan),
                ));
            }
            return;
        }
        // Keys (a second parameter) are ignored: chatd rooms have none.
        for chan in params[0].split(',').filter(|c| !c.is_empty()) {
            if let Some(room) = self.room(chan, out)
                && !self.conn.in_channel(&room)
            {
                out.push_back(Input::Labeled(Command::Join(room), label("JOIN", chan)));
            }
        }
    }

    fn part(&mut self, params: &[&str], out: &mut VecDeque<Input>) {
        if !self.need("PART", params, 1, out) {
            return;
        }
        let reason = params.get(1).map(|r| strip_formatting(r));
        for chan in params[0].split(',').filter(|c| !c.is_empty()) {
            if let Some(room) = self.room(chan, out) {
                let command = match reason.clone().filter(|r| !r.trim().is_empty()) {
                    Some(reason) => Command::Part {
                        room: Some(room),
                        reason,
                    },
                    None => Command::Leave(Some(room)),
                };
                out.push_back(Input::Labeled(command, label("PART", chan)));
            }
        }
    }

    fn privmsg(&mut self, verb: &'static str, params: &[&str], out: &mut VecDeque<Input>) {
        let notice = verb == "NOTICE";
        let Some(targets) = params.first().filter(|t| !t.is_empty()) else {
            if !notice {
                self.numeric(out, "411", &[&format!("No recipient given ({verb})")]);
            }
            return;
        };
        let Some(text) = params.get(1).filter(|t| !t.is_empty()) else {
            if !notice {
                self.numeric(out, "412", &["No text to send"]);
            }
            return;
        };
        let (text, action) = match text.strip_prefix('\u{1}') {
            Some(ctcp) => {
                let ctcp = ctcp.strip_suffix('\u{1}').unwrap_or(ctcp);
                match ctcp.strip_prefix("ACTION ") {
                    Some(action) => (action, true),
                    // Other CTCP (VERSION, PING, ...) has no meaning for chatd's users.
                    None => return,
                }
            }
            None => (*text, false),
        };
        let text = strip_formatting(text);
        if text.trim().is_empty() {
            if !notice {
                self.numeric(out, "412", &["No text to send"]);
            }
            return;
        }
        let targets: Vec<&str> = targets.split(',').filter(|t| !t.is_empty()).collect();
        if targets.len() > MAX_TARGETS {
            if !notice {
                self.numeric(out, "407", &[params[0], "Too many targets"]);
            }
            return;
        }
        for target in targets {
            let command = if target.starts_with('#') {
                let room = Some(target.to_string());
                let text = text.clone();
                if action {
                    Command::Me { room, text }
                } else {
                    Command::Msg { room, text }
                }
            } else {
                let text = if action {
                    format!("{PRIVATE_ACTION}{text}")
                } else {
                    text.clone()
                };
                Command::PrivateMsg {
                    to: target.to_string(),
                    text,
                }
            };
            out.push_back(Input::Labeled(command, label(verb, target)));
        }
    }

    /// `CHATHISTORY LATEST|BEFORE|AFTER #channel REFERENCE LIMIT`, references being `*` (for
    /// `LATEST`) or `msgid=ROOM-SEQ` (the ids chatd gives messages); other subcommands and
    /// timestamp references get a `FAIL`.
    fn chathistory(&mut self, params: &[&str], out: &mut VecDeque<Input>) {
        let [sub, chan, reference, limit] = params[..] else {
            return self.fail(
                out,
                "NEED_MORE_PARAMS",
                "CHATHISTORY SUBCOMMAND TARGET REF LIMIT",
            );
        };
        let Some(limit) = limit.parse::<u32>().ok().filter(|n| *n > 0) else {
            return self.fail(out, "INVALID_PARAMS", "the limit must be a positive number");
        };
        let limit = limit.min(MAX_CHATHISTORY);
        let Some(room) = chan
            .starts_with('#')
            .then(|| canonical_room(chan).ok())
            .flatten()
        else {
            return self.fail(out, "INVALID_TARGET", "history is kept for channels only");
        };
        let seq = match reference {
            "*" => None,
            other => match other
                .strip_prefix("msgid=")
                .and_then(|id| id.rsplit_once('-'))
                .filter(|(of, _)| *of == room)
                .and_then(|(_, seq)| seq.parse::<u64>().ok())
            {
                Some(seq) => Some(seq),
                None => {
                    return self.fail(
                        out,
                        "INVALID_PARAMS",
                        "references are * or msgid= (timestamps are not supported)",
                    );
                }
            },
        };
        let (after, before) = match (sub.to_ascii_uppercase().as_str(), seq) {
            ("LATEST", seq) => (seq, None),
            ("AFTER", Some(seq)) => (Some(seq), None),
            ("BEFORE", Some(seq)) => (None, Some(seq)),
            _ => {
                return self.fail(
                    out,
                    "INVALID_PARAMS",
                    "LATEST, BEFORE and AFTER are supported, with a message id",
                );
            }
        };
        let command = Command::HistoryRange {
            room: Some(room),
            after,
            before,
            limit: Some(limit),
        };
        out.push_back(Input::Labeled(command, label("CHATHISTORY", chan)));
    }

    /// A standard-replies `FAIL CHATHISTORY CODE :text`.
    fn fail(&self, out: &mut VecDeque<Input>, code: &str, text: &str) {
        let server = &self.conn.server.name;
        let line = Message::new("FAIL", &["CHATHISTORY", code, text]).from(server);
        out.push_back(Input::Reply(bytes::Bytes::from(line.to_line())));
    }

    fn tagmsg(&mut self, message: &Message, out: &mut VecDeque<Input>) {
        let Some(target) = message.params.first().filter(|t| t.starts_with('#')) else {
            return;
        };
        let typing = message
            .tags
            .iter()
            .find(|(key, _)| key == "+typing")
            .and_then(|(_, value)| value.as_deref());
        let active = match typing {
            Some("active") => true,
            Some("paused" | "done") => false,
            _ => return,
        };
        let command = Command::Typing {
            room: target.clone(),
            active,
        };
        out.push_back(Input::Labeled(command, label("TAGMSG", target)));
    }

    /// `MODE #channel MODES ARGS...`: `+o`/`-o` give and take operator status; `b` lists the
    /// (always empty) ban list; `n` and `t` are always set; other modes are unknown.
    fn channel_modes(&mut self, chan: &str, modes: &str, args: &[&str], out: &mut VecDeque<Input>) {
        let Some(room) = self.room(chan, out) else {
            return;
        };
        let mut on = true;
        let mut args = args.iter();
        for mode in modes.chars() {
            match mode {
                '+' => on = true,
                '-' => on = false,
                'o' => match args.next() {
                    Some(nick) => {
                        let command = Command::Op {
                            room: Some(room.clone()),
                            nick: nick.to_string(),
                            on,
                        };
                        out.push_back(Input::Labeled(command, label("MODE", chan)));
                    }
                    None => self.numeric(out, "461", &["MODE", "Not enough parameters"]),
                },
                'b' if args.len() == 0 => {
                    self.numeric(out, "368", &[chan, "End of channel ban list"])
                }
                'n' | 't' => {}
                other => {
                    let c = other.to_string();
                    self.numeric(out, "472", &[&c, "is unknown mode char to me"]);
                }
            }
        }
    }

    fn mode(&mut self, params: &[&str], out: &mut VecDeque<Input>) {
        if !self.need("MODE", params, 1, out) {
            return;
        }
        let target = params[0];
        if target.starts_with('#') {
            match params.get(1) {
                None => self.numeric(out, "324", &[target, "+nt"]),
                Some(modes) => self.channel_modes(target, modes, &params[2..], out),
            }
        } else if crate::names::nick_key(target) == crate::names::nick_key(&self.conn.nick()) {
            self.numeric(out, "221", &["+"]);
        } else {
            self.numeric(out, "502", &["Can't change mode for other users"]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_codes_are_taken_out() {
        assert_eq!(strip_formatting("\u{2}bold\u{2} plain"), "bold plain");
        assert_eq!(strip_formatting("\u{3}4,12red\u{3} x"), "red x");
        assert_eq!(strip_formatting("\u{3}04text"), "text");
        assert_eq!(strip_formatting("\u{3},x"), ",x");
        assert_eq!(strip_formatting("a\u{1f}b\u{1d}c\u{f}"), "abc");
    }
}
