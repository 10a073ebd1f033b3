//! A room's members: who is in, under which nick, and on which nodes — a room sends each event
//! once per node with members, never once per member.

use std::collections::{HashMap, HashSet};

use crate::server::msg::member::MemberAddr;

/// The members of one room.
#[derive(Debug, Default)]
pub struct Members {
    nicks: HashMap<MemberAddr, String>,
    /// Members per node.
    nodes: HashMap<String, usize>,
    /// The members who are away (as they said while in the room, or on joining it).
    away: HashSet<MemberAddr>,
}

impl Members {
    /// How many members.
    pub fn len(&self) -> usize {
        self.nicks.len()
    }

    /// Whether the room is empty.
    pub fn is_empty(&self) -> bool {
        self.nicks.is_empty()
    }

    /// Whether `addr` is a member.
    pub fn contains(&self, addr: &MemberAddr) -> bool {
        self.nicks.contains_key(addr)
    }

    /// The nick of member `addr`.
    pub fn nick(&self, addr: &MemberAddr) -> Option<&String> {
        self.nicks.get(addr)
    }

    /// Adds a member (or renames one already in).
    pub fn add(&mut self, addr: MemberAddr, nick: String) {
        if !self.nicks.contains_key(&addr) {
            *self.nodes.entry(addr.node.clone()).or_default() += 1;
        }
        self.nicks.insert(addr, nick);
    }

    /// Removes a member; its nick, if it was one.
    pub fn remove(&mut self, addr: &MemberAddr) -> Option<String> {
        let nick = self.nicks.remove(addr)?;
        self.away.remove(addr);
        if let Some(count) = self.nodes.get_mut(&addr.node) {
            *count -= 1;
            if *count == 0 {
                self.nodes.remove(&addr.node);
            }
        }
        Some(nick)
    }

    /// The member whose nick is `nick` (compared as nicks are: case-insensitively).
    pub fn find(&self, nick: &str) -> Option<&MemberAddr> {
        let key = crate::names::nick_key(nick);
        self.nicks
            .iter()
            .find(|(_, n)| crate::names::nick_key(n) == key)
            .map(|(addr, _)| addr)
    }

    /// Renames a member; its old nick, if it was one.
    pub fn rename(&mut self, addr: &MemberAddr, nick: String) -> Option<String> {
        self.nicks
            .get_mut(addr)
            .map(|old| std::mem::replace(old, nick))
    }

    /// The nodes with members.
    pub fn nodes(&self) -> impl ExactSizeIterator<Item = &str> {
        self.nodes.keys().map(String::as_str)
    }

    /// The members connected to `node`.
    pub fn on_node(&self, node: &str) -> Vec<MemberAddr> {
        self.nicks
            .keys()
            .filter(|a| a.node == node)
            .cloned()
            .collect()
    }

    /// Marks member `addr` away or back; `false` if it is not a member.
    pub fn set_away(&mut self, addr: &MemberAddr, away: bool) -> bool {
        if !self.nicks.contains_key(addr) {
            return false;
        }
        if away {
            self.away.insert(addr.clone());
        } else {
            self.away.remove(addr);
        }
        true
    }

    /// Takes every member out (for handing them to another copy of the room).
    pub fn drain(&mut self) -> impl Iterator<Item = (MemberAddr, String)> + '_ {
        self.nodes.clear();
        self.away.clear();
        self.nicks.drain()
    }

    /// The members' nicks, sorted case-insensitively.
    pub fn users(&self) -> Vec<String> {
        sorted(self.nicks.values().cloned().collect())
    }

    /// The nicks of the members who are away, sorted as [`Members::users`] sorts them.
    pub fn away_users(&self) -> Vec<String> {
        sorted(
            self.away
                .iter()
                .filter_map(|addr| self.nicks.get(addr).cloned())
                .collect(),
        )
    }
}

/// Nicks sorted case-insensitively, without allocating a key per comparison.
fn sorted(mut nicks: Vec<String>) -> Vec<String> {
    nicks.sort_unstable_by(|a, b| {
        a.bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
    });
    nicks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(node: &str, session: u64) -> MemberAddr {
        MemberAddr {
            node: node.into(),
            session,
        }
    }

    #[test]
    fn counts_nodes_as_members_come_and_go() {
        let mut members = Members::default();
        members.add(at("a", 1), "ann".into());
        members.add(at("a", 2), "Bob".into());
        members.add(at("b", 1), "cy".into());
        members.add(at("a", 1), "ann2".into());
        assert_eq!(members.len(), 3);
        let mut nodes: Vec<&str> = members.nodes().collect();
        nodes.sort();
        assert_eq!(nodes, ["a", "b"]);
        assert_eq!(members.remove(&at("b", 1)), Some("cy".into()));
        assert_eq!(members.nodes().collect::<Vec<_>>(), ["a"]);
        assert_eq!(members.remove(&at("b", 1)), None);
        assert_eq!(members.on_node("a").len(), 2);
        members.remove(&at("a", 1));
        members.remove(&at("a", 2));
        assert!(members.is_empty() && members.nodes().len() == 0);
    }

    #[test]
    fn users_sort_case_insensitively_and_renames_show() {
        let mut members = Members::default();
        members.add(at("a", 1), "zed".into());
        members.add(at("a", 2), "Bob".into());
        members.add(at("a", 3), "alice".into());
        assert_eq!(members.users(), ["alice", "Bob", "zed"]);
        assert_eq!(
            members.rename(&at("a", 1), "Carl".into()),
            Some("zed".into())
        );
        assert_eq!(members.rename(&at("a", 9), "x".into()), None);
        assert_eq!(members.users(), ["alice", "Bob", "Carl"]);
        assert_eq!(members.drain().count(), 3);
        assert_eq!(members.nodes().len(), 0);
    }

    #[test]
    fn away_marks_follow_members_and_their_renames_and_leave_with_them() {
        let mut members = Members::default();
        members.add(at("a", 1), "zed".into());
        members.add(at("a", 2), "Bob".into());
        assert!(!members.set_away(&at("a", 9), true), "not a member");
        assert!(members.set_away(&at("a", 1), true));
        assert!(members.set_away(&at("a", 2), true));
        assert_eq!(members.away_users(), ["Bob", "zed"]);
        members.rename(&at("a", 1), "Amy".into());
        assert_eq!(members.away_users(), ["Amy", "Bob"]);
        members.set_away(&at("a", 2), false);
        assert_eq!(members.away_users(), ["Amy"]);
        members.remove(&at("a", 1));
        members.add(at("a", 1), "Amy".into());
        assert!(
            members.away_users().is_empty(),
            "a member who comes back is not away"
        );
    }
}
