//! The nicks held by this node's sessions: who holds which (by folded key), the nick each session
//! has confirmed, and the one claim it may have in flight (a session claims one nick at a time),
//! so that a session's end frees its nicks without scanning the table. Cluster-wide uniqueness
//! (the process group of each nick) is the registry's side of it; this table keeps the local
//! facts, and each nick's arbiter (the home node that granted it, which is told when it ends).

use std::collections::HashMap;

use crate::server::msg::member::{Member, MemberAddr};

/// Who holds a nick here: the member, and a handle on its session (`S`: the session actor).
#[derive(Debug)]
pub struct Holder<S> {
    /// The member, with the nick as it spells it.
    pub member: Member,
    /// Its session.
    pub session: S,
    /// The node that granted it (its home when claimed); `None` outside a cluster.
    pub arbiter: Option<String>,
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

    /// Holds `key` for `member` (tentatively until [`NickTable::confirm`]), granted by
    /// `arbiter`. The caller checked that no one else holds it. An earlier claim of the session
    /// that was never settled is dropped, and returned.
    pub fn hold(
        &mut self,
        key: String,
        member: Member,
        session: S,
        arbiter: Option<String>,
    ) -> Option<(String, Holder<S>)> {
        let id = member.addr.session;
        let mut dropped = None;
        if self.confirmed.get(&id) != Some(&key)
            && let Some(old) = self.tentative.insert(id, key.clone())
            && old != key
            && let Some(holder) = self.held.remove(&old)
        {
            dropped = Some((old, holder));
        }
        let holder = Holder {
            member,
            session,
            arbiter,
        };
        self.held.insert(key, holder);
        dropped
    }

    /// Makes `key` the confirmed nick of `session`; the session's previous nick, which this
    /// drops, if it had another.
    pub fn confirm(&mut self, session: u64, key: String) -> Option<(String, Holder<S>)> {
        if self.tentative.get(&session) == Some(&key) {
            self.tentative.remove(&session);
        }
        let old = self.confirmed.insert(session, key.clone())?;
        if old == key {
            return None;
        }
        let holder = self.remove(&old)?;
        Some((old, holder))
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

    /// Drops `key`; its holder, if it was held.
    pub fn remove(&mut self, key: &str) -> Option<Holder<S>> {
        let holder = self.held.remove(key)?;
        let session = holder.member.addr.session;
        for claims in [&mut self.confirmed, &mut self.tentative] {
            if claims.get(&session).map(String::as_str) == Some(key) {
                claims.remove(&session);
            }
        }
        Some(holder)
    }

    /// Drops every nick `session` holds, confirmed or tentative; the keys dropped, with their
    /// holders.
    pub fn release(&mut self, session: u64) -> Vec<(String, Holder<S>)> {
        [
            self.confirmed.remove(&session),
            self.tentative.remove(&session),
        ]
        .into_iter()
        .flatten()
        .filter_map(|key| {
            let ours = self
                .held
                .get(&key)
                .is_some_and(|h| h.member.addr.session == session);
            let holder = if ours { self.held.remove(&key) } else { None };
            holder.map(|holder| (key, holder))
        })
        .collect()
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
        nicks.hold("ann".into(), member(1, "Ann"), (), None);
        assert!(nicks.held_by_other("ann", &member(2, "ann").addr));
        assert!(!nicks.held_by_other("ann", &member(1, "ANN").addr));
        assert!(!nicks.held_by_other("bob", &member(2, "bob").addr));
        assert_eq!(nicks.get("ann").unwrap().member.nick, "Ann");
    }

    #[test]
    fn confirming_a_new_nick_drops_the_old_one() {
        let mut nicks: NickTable<()> = NickTable::default();
        nicks.hold("ann".into(), member(1, "ann"), (), None);
        assert!(nicks.confirm(1, "ann".into()).is_none());
        assert!(nicks.is_confirmed("ann"));
        nicks.hold("anna".into(), member(1, "anna"), (), None);
        assert!(!nicks.is_confirmed("anna"), "tentative until confirmed");
        let old = nicks.confirm(1, "anna".into());
        assert_eq!(old.map(|(key, _)| key).as_deref(), Some("ann"));
        assert!(nicks.get("ann").is_none());
        assert!(nicks.is_confirmed("anna"));
        // Confirming the same nick again drops nothing.
        assert!(nicks.confirm(1, "anna".into()).is_none());
        assert!(nicks.get("anna").is_some());
    }

    #[test]
    fn a_session_that_ends_frees_all_its_nicks() {
        let mut nicks: NickTable<()> = NickTable::default();
        nicks.hold("ann".into(), member(1, "ann"), (), None);
        nicks.confirm(1, "ann".into());
        nicks.hold("anna".into(), member(1, "anna"), (), None);
        nicks.hold("bob".into(), member(2, "bob"), (), None);
        let mut freed: Vec<String> = nicks.release(1).into_iter().map(|(key, _)| key).collect();
        freed.sort();
        assert_eq!(freed, ["ann", "anna"]);
        assert!(nicks.get("ann").is_none() && nicks.get("anna").is_none());
        assert!(nicks.get("bob").is_some());
        assert!(nicks.release(1).is_empty());
    }

    #[test]
    fn an_unsettled_claim_is_dropped_by_the_next_one() {
        let mut nicks: NickTable<()> = NickTable::default();
        assert!(nicks.hold("x".into(), member(1, "x"), (), None).is_none());
        let dropped = nicks.hold("y".into(), member(1, "y"), (), Some("home".into()));
        assert_eq!(dropped.map(|(key, _)| key).as_deref(), Some("x"));
        assert!(nicks.get("x").is_none());
        let freed = nicks.release(1);
        assert_eq!(freed.len(), 1);
        assert_eq!(freed[0].0, "y");
        assert_eq!(
            freed[0].1.arbiter.as_deref(),
            Some("home"),
            "the arbiter to tell"
        );
    }

    #[test]
    fn a_dropped_claim_is_forgotten_everywhere() {
        let mut nicks: NickTable<()> = NickTable::default();
        nicks.hold("ann".into(), member(1, "ann"), (), None);
        nicks.confirm(1, "ann".into());
        assert!(nicks.remove("ann").is_some());
        assert!(nicks.remove("ann").is_none());
        assert!(!nicks.is_confirmed("ann"));
        assert!(nicks.release(1).is_empty());
    }
}
