//! Nick claims, as the registry makes and decides them.
//!
//! - A node outside a cluster keeps its nicks in its own table: granted or taken at once.
//! - In a cluster, each nick's home node (rendezvous hashing of the nick over the nodes that are
//!   up, as for room placement) decides every claim of it ([`super::leases`]). A claim whose home
//!   is this node is decided here, in the same step; otherwise the nick is held here for the
//!   session and the session asks the home's gateway, then reports the answer
//!   ([`RegistryMsg::ConfirmNick`]): one round trip to one node, and no waiting for anything else.
//! - A confirmed nick puts this node's gateway in the nick's process group, so every node sees
//!   where it is held (for private messages and whois, and for the homes' decisions). When the
//!   nick is dropped the group is left and the node that granted it is told.
//!
//! [`RegistryMsg::ConfirmNick`]: crate::server::msg::registry::RegistryMsg::ConfirmNick

use std::time::Instant;

use ractor::ActorRef;

use super::RegistryState;
use super::nicks::Holder;
use crate::names::nick_key;
use crate::server::cluster::directory;
use crate::server::msg::gateway::{GatewayMsg, NickLease};
use crate::server::msg::member::{Member, MemberAddr};
use crate::server::msg::registry::{NickClaim, NickHolder};
use crate::server::msg::session::SessionMsg;

impl RegistryState {
    /// Claims `nick` for the session at `addr`: taken if anyone else holds it here, or if its
    /// home refuses; granted at once when this node decides it.
    pub(super) fn claim(
        &mut self,
        nick: String,
        addr: MemberAddr,
        session: ActorRef<SessionMsg>,
    ) -> NickClaim {
        let key = nick_key(&nick);
        if self.nicks.held_by_other(&key, &addr) {
            return NickClaim::Taken;
        }
        let id = addr.session;
        let member = Member { addr, nick };
        if !self.args.clustered {
            self.nicks.hold(key.clone(), member, session, None);
            self.confirm(id, key);
            return NickClaim::Granted;
        }
        let lease = NickLease {
            key: key.clone(),
            node: self.args.node.clone(),
            session: id,
        };
        match self.home(&key) {
            Some((home, gateway)) => {
                if let Some(dropped) = self.nicks.hold(key, member, session, Some(home)) {
                    self.forget(dropped);
                }
                NickClaim::AskHome {
                    home: gateway,
                    lease,
                }
            }
            None => {
                if !self.arbitrate(&lease) {
                    return NickClaim::Taken;
                }
                let arbiter = Some(self.args.node.clone());
                if let Some(dropped) = self.nicks.hold(key.clone(), member, session, arbiter) {
                    self.forget(dropped);
                }
                self.confirm(id, key);
                NickClaim::Granted
            }
        }
    }

    /// Who holds `nick`: a session here, or the lowest-named other node in the nick's group; in
    /// a cluster, failing both, the node its home granted it to (asked of the home when that is
    /// another node), as a claim granted a moment ago is not in the group here yet.
    pub(super) fn holder(&self, nick: &str) -> NickHolder {
        let key = nick_key(nick);
        if let Some(holder) = self.nicks.get(&key) {
            return NickHolder::Local(holder.member.clone());
        }
        let elsewhere = directory::nick_holders(&key)
            .into_iter()
            .filter(|node| *node != self.args.node)
            .min();
        if let Some(node) = elsewhere {
            return NickHolder::Remote(node);
        }
        if !self.args.clustered {
            return NickHolder::Missing;
        }
        match self.home(&key) {
            Some((_, gateway)) => NickHolder::AskHome(gateway),
            None => match self.leases.holder(&key) {
                Some(node) if node != self.args.node => NickHolder::Remote(node.to_string()),
                _ => NickHolder::Missing,
            },
        }
    }

    /// The home of nick `key` and its gateway, when that is another node (rendezvous hashing
    /// over the nodes whose gateways this node sees); `None` when this node decides, which it
    /// also does while its own gateway is not in the group yet (just starting).
    fn home(&self, key: &str) -> Option<(String, ActorRef<GatewayMsg>)> {
        let gateways = directory::gateways();
        let nodes: Vec<String> = gateways.iter().map(|(node, _)| node.clone()).collect();
        if !nodes.contains(&self.args.node) {
            return None;
        }
        let home = directory::placement(key, &nodes)?;
        (home != self.args.node)
            .then(|| gateways.into_iter().find(|(node, _)| *node == home))
            .flatten()
    }

    /// The home's answer to a claim held here: `true` if the session now has the nick.
    pub(super) fn settle(&mut self, nick: &str, addr: &MemberAddr, granted: bool) -> bool {
        let key = nick_key(nick);
        let ours = self.nicks.get(&key).is_some_and(|h| h.member.addr == *addr);
        if granted && ours {
            self.confirm(addr.session, key);
            return true;
        }
        // A session asking again for the nick it has (another spelling) keeps it whatever the
        // answer; any other claim is dropped.
        if ours
            && !self.nicks.is_confirmed(&key)
            && let Some(holder) = self.nicks.remove(&key)
        {
            // A refusal: the release finds no lease of ours; a lost answer: it ends the lease.
            self.forget((key, holder));
        }
        false
    }

    /// As the home of `lease.key`, decides a claim of it.
    pub(super) fn arbitrate(&mut self, lease: &NickLease) -> bool {
        let held = directory::nick_holders(&lease.key);
        let up = directory::reachable_nodes();
        self.leases.grant(
            lease,
            &held,
            |node| up.iter().any(|n| n == node),
            Instant::now(),
        )
    }

    /// Drops every nick (confirmed or tentative) held by `session`.
    pub(super) fn release_nick(&mut self, session: u64) {
        for dropped in self.nicks.release(session) {
            self.forget(dropped);
        }
    }

    /// Drops nick `key` here, in the cluster and at its arbiter.
    pub(super) fn drop_nick(&mut self, key: &str) {
        if let Some(holder) = self.nicks.remove(key) {
            self.forget((key.to_string(), holder));
        }
    }

    /// Makes `key` the confirmed nick of `session`, releasing its previous one.
    fn confirm(&mut self, session: u64, key: String) {
        self.join_group(&key);
        if let Some(old) = self.nicks.confirm(session, key) {
            self.forget(old);
        }
    }

    /// A nick this node held is gone: out of its group, and its arbiter is told.
    fn forget(&mut self, (key, holder): (String, Holder<ActorRef<SessionMsg>>)) {
        if !self.args.clustered {
            return;
        }
        self.leave_group(&key);
        let lease = NickLease {
            key,
            node: self.args.node.clone(),
            session: holder.member.addr.session,
        };
        match holder.arbiter {
            Some(node) if node == self.args.node => self.leases.release(&lease),
            Some(node) => {
                if let Some(gateway) = directory::gateway_of(&node) {
                    let _ = gateway.cast(GatewayMsg::ReleaseNick(lease));
                }
            }
            None => {}
        }
    }

    /// Puts this node in nick `key`'s cluster-wide group.
    fn join_group(&self, key: &str) {
        if !self.args.clustered {
            return;
        }
        if let Some(gateway) = directory::gateway_of(&self.args.node) {
            ractor::pg::join_scoped(
                directory::NICKS.to_string(),
                key.to_string(),
                vec![gateway.get_cell()],
            );
        }
    }

    /// Takes this node out of nick `key`'s cluster-wide group.
    fn leave_group(&self, key: &str) {
        if let Some(gateway) = directory::gateway_of(&self.args.node) {
            ractor::pg::leave_scoped(
                directory::NICKS.to_string(),
                key.to_string(),
                vec![gateway.get_cell()],
            );
        }
    }
}
