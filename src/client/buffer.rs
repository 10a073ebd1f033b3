//! A conversation the client shows: the server buffer, a room, or a private conversation — its
//! lines, unread count, mention flag, member list, scroll position and last sequence number.

use std::collections::VecDeque;

/// What a buffer is a conversation with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Connection messages and command answers that concern no room.
    Server,
    /// A room, by canonical name (no `#`).
    Room(String),
    /// A private conversation with one user.
    Private(String),
}

impl Target {
    /// The buffer's label: `chatd`, `#room`, `@nick`.
    pub fn label(&self) -> String {
        match self {
            Target::Server => "chatd".into(),
            Target::Room(room) => format!("#{room}"),
            Target::Private(nick) => format!("@{nick}"),
        }
    }
}

/// What one line of a buffer says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A message (room or private).
    Message {
        /// Sender.
        from: String,
        /// Text.
        text: String,
        /// A `/me` action.
        action: bool,
        /// Sent by this client's user.
        own: bool,
        /// Mentions this client's user (or is a private message to them).
        mention: bool,
        /// Replayed from the room's history rather than received live.
        history: bool,
    },
    /// Joins, leaves, nick changes, node events, command answers.
    System(String),
    /// A refused command or a connection problem.
    Error(String),
}

/// One line of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// When, in milliseconds since the Unix epoch.
    pub ts: u64,
    /// What.
    pub kind: EntryKind,
}

/// One conversation.
#[derive(Debug, Clone)]
pub struct Buffer {
    /// Who the conversation is with.
    pub target: Target,
    /// Its lines, oldest first, at most `capacity`.
    pub entries: VecDeque<Entry>,
    capacity: usize,
    /// Messages received while it was not the current buffer.
    pub unread: usize,
    /// One of the unread messages mentions the user.
    pub mentioned: bool,
    /// The room's members (rooms only), sorted case-insensitively.
    pub users: Vec<String>,
    /// The user is in the room now (rooms only; false while reconnecting).
    pub joined: bool,
    /// The user has been in the room before (a join now is a rejoin).
    pub joined_once: bool,
    /// The highest room sequence number shown (rooms only).
    pub last_seq: Option<u64>,
    /// Rows scrolled up from the bottom; 0 follows new lines.
    pub scroll: usize,
    /// Lines that arrived below the view while scrolled up.
    pub unseen_below: usize,
    /// Who is typing (rooms only), with when that ends unless refreshed (ms since the epoch).
    pub typing: Vec<(String, u64)>,
}

impl Buffer {
    /// An empty buffer keeping at most `capacity` lines.
    pub fn new(target: Target, capacity: usize) -> Buffer {
        Buffer {
            target,
            entries: VecDeque::new(),
            capacity: capacity.max(1),
            unread: 0,
            mentioned: false,
            users: Vec::new(),
            joined: false,
            joined_once: false,
            last_seq: None,
            scroll: 0,
            unseen_below: 0,
            typing: Vec::new(),
        }
    }

    /// Appends a line, dropping the oldest when full.
    pub fn push(&mut self, entry: Entry) {
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// A system line.
    pub fn system(&mut self, ts: u64, text: impl Into<String>) {
        self.push(Entry {
            ts,
            kind: EntryKind::System(text.into()),
        });
    }

    /// An error line.
    pub fn error(&mut self, ts: u64, text: impl Into<String>) {
        self.push(Entry {
            ts,
            kind: EntryKind::Error(text.into()),
        });
    }

    /// Replaces the member list.
    pub fn set_users(&mut self, mut users: Vec<String>) {
        users.sort_by_key(|u| u.to_ascii_lowercase());
        users.dedup();
        self.users = users;
    }

    /// Adds a member.
    pub fn add_user(&mut self, nick: &str) {
        if !self.users.iter().any(|u| u.eq_ignore_ascii_case(nick)) {
            self.users.push(nick.to_string());
            self.users.sort_by_key(|u| u.to_ascii_lowercase());
        }
    }

    /// Removes a member.
    pub fn remove_user(&mut self, nick: &str) {
        self.users.retain(|u| !u.eq_ignore_ascii_case(nick));
    }

    /// `nick` is typing until `until`, or (`None`) stopped.
    pub fn set_typing(&mut self, nick: &str, until: Option<u64>) {
        self.typing.retain(|(n, _)| n != nick);
        if let Some(until) = until {
            self.typing.push((nick.to_string(), until));
        }
    }

    /// "bob is typing…", "bob and cy are typing…", "3 people are typing…", or nothing, at `now`.
    pub fn typing_text(&self, now: u64) -> Option<String> {
        let nicks: Vec<&str> = self
            .typing
            .iter()
            .filter(|(_, until)| *until > now)
            .map(|(n, _)| n.as_str())
            .collect();
        match nicks.as_slice() {
            [] => None,
            [one] => Some(format!("{one} is typing…")),
            [a, b] => Some(format!("{a} and {b} are typing…")),
            many => Some(format!("{} people are typing…", many.len())),
        }
    }

    /// Marks everything read (the buffer became current).
    pub fn mark_read(&mut self) {
        self.unread = 0;
        self.mentioned = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_drops_the_oldest_line() {
        let mut b = Buffer::new(Target::Server, 2);
        for i in 0..3 {
            b.system(i, format!("line {i}"));
        }
        assert_eq!(b.entries.len(), 2);
        assert_eq!(b.entries[0].kind, EntryKind::System("line 1".into()));
    }

    #[test]
    fn users_stay_sorted_and_unique() {
        let mut b = Buffer::new(Target::Room("r".into()), 10);
        b.set_users(vec!["bob".into(), "Ann".into(), "cy".into()]);
        b.add_user("al");
        b.add_user("BOB");
        b.remove_user("CY");
        assert_eq!(b.users, vec!["al", "Ann", "bob"]);
    }

    #[test]
    fn typing_line_names_who_types_until_it_expires() {
        let mut b = Buffer::new(Target::Room("r".into()), 10);
        assert_eq!(b.typing_text(0), None);
        b.set_typing("bob", Some(100));
        assert_eq!(b.typing_text(50).as_deref(), Some("bob is typing…"));
        assert_eq!(b.typing_text(100), None, "expired");
        b.set_typing("cy", Some(200));
        assert_eq!(b.typing_text(50).as_deref(), Some("bob and cy are typing…"));
        b.set_typing("al", Some(200));
        assert_eq!(b.typing_text(50).as_deref(), Some("3 people are typing…"));
        b.set_typing("bob", None);
        b.set_typing("al", None);
        assert_eq!(b.typing_text(50).as_deref(), Some("cy is typing…"));
    }
}
