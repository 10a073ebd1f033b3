//! The nick arbiter's table: in a cluster every nick has a home node, picked by rendezvous
//! hashing over the nodes that are up (see [`crate::server::cluster::directory::placement`]),
//! and the home's registry decides each claim of it. A claim is granted unless a node other than
//! the claimant's holds the nick (its gateway is in the nick's process group) or was granted it
//! here a moment ago; two simultaneous claims reach the same home, which grants exactly one.
//!
//! A lease covers the moment between the grant and the holder's node joining the nick's group
//! (which every node then sees); it ends when the holder releases the nick, when its node goes
//! down, or — should the holder never confirm (its session ended while asking) — after
//! [`PENDING`] without the holder appearing in the group.
//!
//! Hand-over: when a node joins or leaves, homes move (only that node's share). A new home has no
//! leases for the nicks it inherits, but every confirmed nick is in its process group on every
//! node, which the home checks; a claim the old home granted in the instant before the change,
//! not yet visible in the group, is the one case left, and the registry's collision rule (the
//! node whose name sorts first keeps the nick) settles it as after a healed partition.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::server::msg::gateway::NickLease;

/// How long a lease holds a nick for a node that has not yet joined the nick's group.
pub const PENDING: Duration = Duration::from_secs(10);

/// Who holds a lease, since when.
#[derive(Debug, Clone)]
struct Holder {
    node: String,
    session: u64,
    since: Instant,
}

/// The leases this node granted as the home of their nicks.
#[derive(Debug, Default)]
pub struct LeaseTable {
    leases: HashMap<String, Holder>,
}

impl LeaseTable {
    /// Decides `claim` at `now`: `true` (and the lease is the claimant's) unless another node
    /// holds the nick — `held_elsewhere` lists the nodes in its process group — or was granted
    /// it less than [`PENDING`] ago and is still up (`is_up`). A lease of the claimant's own node
    /// passes to the claiming session: that node's registry has already checked its sessions.
    pub fn grant(
        &mut self,
        claim: &NickLease,
        held_elsewhere: &[String],
        is_up: impl Fn(&str) -> bool,
        now: Instant,
    ) -> bool {
        if held_elsewhere.iter().any(|node| *node != claim.node) {
            return false;
        }
        if let Some(lease) = self.leases.get(&claim.key)
            && lease.node != claim.node
            && now.duration_since(lease.since) < PENDING
            && is_up(&lease.node)
        {
            return false;
        }
        let holder = Holder {
            node: claim.node.clone(),
            session: claim.session,
            since: now,
        };
        self.leases.insert(claim.key.clone(), holder);
        true
    }

    /// Ends the lease `lease` names, if it is still that session's.
    pub fn release(&mut self, lease: &NickLease) {
        if self
            .leases
            .get(&lease.key)
            .is_some_and(|h| h.node == lease.node && h.session == lease.session)
        {
            self.leases.remove(&lease.key);
        }
    }

    /// The node `key` was granted to.
    pub fn holder(&self, key: &str) -> Option<&str> {
        self.leases.get(key).map(|lease| lease.node.as_str())
    }

    /// Ends every lease of `node` (it went down).
    pub fn node_down(&mut self, node: &str) {
        self.leases.retain(|_, holder| holder.node != node);
    }

    /// How many leases are held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.leases.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(key: &str, node: &str, session: u64) -> NickLease {
        NickLease {
            key: key.into(),
            node: node.into(),
            session,
        }
    }

    fn up(_: &str) -> bool {
        true
    }

    #[test]
    fn of_two_claims_from_two_nodes_the_first_wins() {
        let mut leases = LeaseTable::default();
        let now = Instant::now();
        assert!(leases.grant(&claim("ann", "a", 1), &[], up, now));
        assert!(!leases.grant(&claim("ann", "b", 7), &[], up, now));
        assert!(leases.grant(&claim("bob", "b", 7), &[], up, now));
        assert_eq!(leases.len(), 2);
        assert_eq!(leases.holder("ann"), Some("a"));
        assert_eq!(leases.holder("cat"), None);
    }

    #[test]
    fn a_nick_in_another_nodes_group_is_refused_even_without_a_lease() {
        let mut leases = LeaseTable::default();
        let now = Instant::now();
        assert!(!leases.grant(&claim("ann", "a", 1), &["b".into()], up, now));
        assert_eq!(leases.len(), 0);
        // The claimant's own node in the group is no obstacle.
        assert!(leases.grant(&claim("ann", "a", 1), &["a".into()], up, now));
        assert_eq!(leases.len(), 1);
    }

    #[test]
    fn a_lease_passes_between_sessions_of_one_node_and_ends_with_its_own_session() {
        let mut leases = LeaseTable::default();
        let now = Instant::now();
        assert!(leases.grant(&claim("ann", "a", 1), &[], up, now));
        assert!(leases.grant(&claim("ann", "a", 2), &[], up, now));
        // The first session's late release does not end the second session's lease.
        leases.release(&claim("ann", "a", 1));
        assert!(!leases.grant(&claim("ann", "b", 9), &[], up, now));
        leases.release(&claim("ann", "a", 2));
        assert_eq!(leases.len(), 0);
        assert!(leases.grant(&claim("ann", "b", 9), &[], up, now));
    }

    #[test]
    fn leases_of_a_node_that_is_down_do_not_count() {
        let mut leases = LeaseTable::default();
        let now = Instant::now();
        assert!(leases.grant(&claim("ann", "a", 1), &[], up, now));
        assert!(leases.grant(&claim("ann", "b", 2), &[], |node| node != "a", now));
        assert!(leases.grant(&claim("cat", "a", 3), &[], up, now));
        leases.node_down("a");
        assert!(leases.grant(&claim("cat", "b", 4), &[], up, now));
        assert_eq!(leases.len(), 2, "ann and cat, both b's");
    }

    #[test]
    fn a_lease_never_confirmed_lapses() {
        let mut leases = LeaseTable::default();
        let then = Instant::now();
        assert!(leases.grant(&claim("ann", "a", 1), &[], up, then));
        assert!(!leases.grant(&claim("ann", "b", 2), &[], up, then + PENDING / 2));
        assert!(leases.grant(&claim("ann", "b", 2), &[], up, then + PENDING));
    }
}
