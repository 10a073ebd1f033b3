//! The nicks held by this node's sessions: who holds which (by folded key), the nick each session
//! has confirmed, and the one claim it may have in flight (a session claims one nick at a time),
//! so that a session's end frees its nicks without scanning the table. Cluster-wide uniqueness
//! (the process group of each nick) is the registry's side of it; this table keeps the local
//! facts.

use std::collections::HashMap;

use crate::server::msg::member::{Member, MemberAddr};

/// Who holds a nick here: the member, and a handle on its session (`S`: the session actor).
#[derive(Debug)]
pub struct Holder<S> {
    /// The member, with the nick as it spells it.
    pub member: Member,
    /// Its session.
    pub session: S,
}

/// The nick table of one node.
#[derive(Debug)]
pub struct NickTable<S> {
    held: HashMap<String, Holder<S>>,
    /// Each session's confirmed nick key.
    confirmed: HashMap<u64, String>,
    /// Each session's claim not yet confirmed (only while other nodes are reachable).
    tentative: HashMap<u64, String>,
}

impl<S> Default for NickTable<S> {
    fn default() -> Self {
        NickTable {
            held: HashMap::new(),
            confirmed: HashMap::new(),
            tentative: HashMap::new(),
        }
    }
}

impl<S> NickTable<S> {
    /// How many nicks are held here (confirmed or claimed).
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Whether no nick is held here.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// The holder of `key`.
    pub fn get(&self, key: &str) -> Option<&Holder<S>> {
        self.held.get(key)
    }

    /// Whether someone other than `addr` holds `key` here.
    pub fn held_by_other(&self, key: &str, addr: &MemberAddr) -> bool {
        self.held.get(key).is_some_and(|h| h.member.addr != *addr)
    }

    /// Holds `key` for `member` (tentatively until [`NickTable::confirm`]). The caller checked
    /// that no one else holds it. An earlier claim of the session that was never settled is
    /// dropped, and returned.
    pub fn hold(&mut self, key: String, member: Member, session: S) -> Option<String> {
        let id = member.addr.session;
        let mut dropped = None;
        if self.confirmed.get(&id) != Some(&key)
            && let Some(old) = self.tentative.insert(id, key.clone())
            && old != key
            && self.held.remove(&old).is_some()
        {
            dropped = Some(old);
        }
        self.held.insert(key, Holder { member, session });
        dropped
    }

    /// Makes `key` the confirmed nick of `session`; the session's previous nick, which this
    /// drops, if it had another.
    pub fn confirm(&mut self, session: u64, key: String) -> Option<String> {
        if self.tentative.get(&session) == Some(&key) {
            self.tentative.remove(&session);
        }
        let old = self.confirmed.insert(session, key.clone())?;
        (old != key && self.remove(&old)).then_some(old)
    }

    /// Whether `key` is held and confirmed by its holder.
    pub fn is_confirmed(&self, key: &str) -> bool {
        self.held.get(key).is_some_and(|h| {
            self.confirmed
                .get(&h.member.addr.session)
                .map(String::as_str)
                == Some(key)
        })
    }

    /// Drops `key`; `true` if it was held.
    pub fn remove(&mut self, key: &str) -> bool {
        let Some(holder) = self.held.remove(key) else {
            return false;
        };
        let session = holder.member.addr.session;
        for claims in [&mut self.confirmed, &mut self.tentative] {
            if claims.get(&session).map(String::as_str) == Some(key) {
                claims.remove(&session);
            }
        }
        true
    }

    /// Drops every nick `session` holds, confirmed or tentative; the keys dropped.
    pub fn release(&mut self, session: u64) -> Vec<String> {
        let keys: Vec<String> = [
            self.confirmed.remove(&session),
            self.tentative.remove(&session),
        ]
        .into_iter()
        .flatten()
        .filter(|key| {
            self.held
                .get(key)
                .is_some_and(|h| h.member.addr.session == session)
        })
        .collect();
        for key in &keys {
            self.held.remove(key);
        }
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(session: u64, nick: &str) -> Member {
        Member {
            addr: MemberAddr {
                node: "n".into(),
                session,
            },
            nick: nick.into(),
        }
    }

    #[test]
    fn a_held_nick_is_only_the_holders() {
        let mut nicks: NickTable<()> = NickTable::default();
        nicks.hold("ann".into(), member(1, "Ann"), ());
        assert!(nicks.held_by_other("ann", &member(2, "ann").addr));
        assert!(!nicks.held_by_other("ann", &member(1, "ANN").addr));
        assert!(!nicks.held_by_other("bob", &member(2, "bob").addr));
        assert_eq!(nicks.get("ann").unwrap().member.nick, "Ann");
    }

    #[test]
    fn confirming_a_new_nick_drops_the_old_one() {
        let mut nicks: NickTable<()> = NickTable::default();
        nicks.hold("ann".into(), member(1, "ann"), ());
        assert_eq!(nicks.confirm(1, "ann".into()), None);
        assert!(nicks.is_confirmed("ann"));
        nicks.hold("anna".into(), member(1, "anna"), ());
        assert!(!nicks.is_confirmed("anna"), "tentative until confirmed");
        assert_eq!(nicks.confirm(1, "anna".into()), Some("ann".into()));
        assert!(nicks.get("ann").is_none());
        assert!(nicks.is_confirmed("anna"));
        // Confirming the same nick again drops nothing.
        assert_eq!(nicks.confirm(1, "anna".into()), None);
        assert!(nicks.get("anna").is_some());
    }

    #[test]
    fn a_session_that_ends_frees_all_its_nicks() {
        let mut nicks: NickTable<()> = NickTable::default();
        nicks.hold("ann".into(), member(1, "ann"), ());
        nicks.confirm(1, "ann".into());
        nicks.hold("anna".into(), member(1, "anna"), ());
        nicks.hold("bob".into(), member(2, "bob"), ());
        let mut freed = nicks.release(1);
        freed.sort();
        assert_eq!(freed, ["ann", "anna"]);
        assert!(nicks.get("ann").is_none() && nicks.get("anna").is_none());
        assert!(nicks.get("bob").is_some());
        assert!(nicks.release(1).is_empty());
    }

    #[test]
    fn an_unsettled_claim_is_dropped_by_the_next_one() {
        let mut nicks: NickTable<()> = NickTable::default();
        assert_eq!(nicks.hold("x".into(), member(1, "x"), ()), None);
        assert_eq!(nicks.hold("y".into(), member(1, "y"), ()), Some("x".into()));
        assert!(nicks.get("x").is_none());
        assert_eq!(nicks.release(1), ["y"]);
    }

    #[test]
    fn a_dropped_claim_is_forgotten_everywhere() {
        let mut nicks: NickTable<()> = NickTable::default();
        nicks.hold("ann".into(), member(1, "ann"), ());
        nicks.confirm(1, "ann".into());
        assert!(nicks.remove("ann"));
        assert!(!nicks.remove("ann"));
        assert!(!nicks.is_confirmed("ann"));
        assert!(nicks.release(1).is_empty());
    }
}
