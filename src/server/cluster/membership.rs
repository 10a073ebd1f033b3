//! Membership: the nodes of the cluster as this node sees them, and staying connected to them.
//!
//! ractor_cluster connects and authenticates but neither reconnects nor completes a mesh. This
//! actor does both:
//! - it dials every address it knows (the seeds, every peer that connected, every address a peer
//!   reported) that is not connected, with capped exponential backoff ([`backoff`]);
//! - a connection that opens and closes without authenticating means the peer refused us (a
//!   wrong cookie, most likely): that is logged once, loudly, and re-tried only every
//!   [`REJECTED_RETRY`];
//! - when a peer is ready, it asks the peer's gateway for the nodes the peer knows, and dials
//!   the new ones;
//! - it pings every connected node's gateway each `cluster.heartbeat_ms`, and tears down the
//!   connection of a node silent for `cluster.failure_timeout_ms`;
//! - users are told when a node joins or leaves the cluster.
//!
//! Node event callbacks run inside ractor_cluster's node server, so they only cast here.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef};
use ractor_cluster::node::NodeServerSessionInformation;
use ractor_cluster::{NodeEventSubscription, NodeServerMessage};
use tokio::time::Instant;
use tokio_util::sync::DropGuard;

use super::admission::{Gate, Refused};
use super::directory;
use crate::protocol::{Event, NodeInfo, NodeStatus};
use crate::server::msg::gateway::GatewayMsg;
use crate::server::msg::membership::{MembershipMsg, NodeEvent};
use crate::server::msg::relay::RelayMsg;
use crate::server::timeouts::MEMBERSHIP_CALL_MS;

/// How often the dial loop looks for addresses to dial.
const TICK: Duration = Duration::from_millis(250);
/// How long to wait before dialling a peer that refused us again.
pub const REJECTED_RETRY: Duration = Duration::from_secs(60);

/// The wait before the `attempt`-th consecutive dial: 0.5 s, 1 s, 2 s, ... capped at 30 s.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500)
        .saturating_mul(1u32 << attempt.min(6))
        .min(Duration::from_secs(30))
}

/// Forwards node server events to membership.
pub struct Events(pub ActorRef<MembershipMsg>);

impl Events {
    fn forward(&self, event: NodeEvent) {
        let _ = self.0.cast(MembershipMsg::Event(event));
    }
}

impl NodeEventSubscription for Events {
    fn node_session_opened(&self, ses: NodeServerSessionInformation) {
        self.forward(NodeEvent::Opened {
            id: ses.node_id,
            peer_addr: ses.peer_addr,
            outbound: !ses.is_server,
        });
    }

    fn node_session_authenticated(&self, ses: NodeServerSessionInformation) {
        if let Some(peer) = ses.peer_name {
            let node = directory::node_of_peer(&peer.name).to_string();
            self.forward(NodeEvent::Authenticated {
                id: ses.node_id,
                node,
                address: peer.connection_string,
            });
        }
    }

    fn node_session_ready(&self, ses: NodeServerSessionInformation) {
        self.forward(NodeEvent::Ready { id: ses.node_id });
    }

    fn node_session_disconnected(&self, ses: NodeServerSessionInformation) {
        self.forward(NodeEvent::Disconnected { id: ses.node_id });
    }
}

/// How to start membership.
pub struct MembershipArgs {
    /// This node's name.
    pub node: String,
    /// This node's advertised node-to-node address.
    pub address: String,
    /// Addresses to dial at start.
    pub seeds: Vec<String>,
    /// ractor_cluster's node server.
    pub server: ActorRef<NodeServerMessage>,
    /// This node's relay, for telling users about nodes.
    pub relay: ActorRef<RelayMsg>,
    /// `cluster.heartbeat_ms`
    pub heartbeat: Duration,
    /// `cluster.failure_timeout_ms`
    pub failure_timeout: Duration,
    /// Dials peers (TLS and the cookie proof).
    pub gate: Arc<Gate>,
    /// Keeps the node-to-node port open while membership lives.
    pub port: DropGuard,
}

/// One connection to a peer.
struct Link {
    /// The configured or learned address this connection was dialled for.
    dialled: Option<String>,
    node: Option<String>,
}

/// Dial state of one address.
struct Dial {
    attempts: u32,
    next: Instant,
    /// The peer refused us last time.
    rejected: bool,
    /// The address the peer advertises when it differs from the one we dial.
    alias: Option<String>,
}

impl Dial {
    fn new() -> Self {
        Dial {
            attempts: 0,
            next: Instant::now(),
            rejected: false,
            alias: None,
        }
    }
}

/// A node known by name.
struct Known {
    address: String,
    links: usize,
    /// When it last answered a heartbeat (or connected).
    last_seen: Instant,
}

/// The membership actor.
pub struct Membership;

/// Membership's state.
pub struct MembershipState {
    args: MembershipArgs,
    links: HashMap<u64, Link>,
    dials: BTreeMap<String, Dial>,
    /// Resolved socket address → the address dialled for it.
    resolving: HashMap<String, String>,
    nodes: BTreeMap<String, Known>,
}

impl MembershipState {
    fn notice(&self, text: String) {
        let _ = self
            .args
            .relay
            .cast(RelayMsg::Broadcast(Event::notice(text)));
    }

    fn connected(&self, address: &str, dial: &Dial) -> bool {
        self.links.values().any(|l| {
            l.dialled.as_deref() == Some(address)
                || self.nodes.iter().any(|(name, k)| {
                    l.node.as_deref() == Some(name.as_str())
                        && (k.address == address || dial.alias.as_deref() == Some(&k.address))
                })
        })
    }

    /// The peer at `address` refused this node (a wrong cookie, most likely): said once,
    /// loudly, and dialled again only every [`REJECTED_RETRY`].
    fn refused(&mut self, address: &str) {
        if let Some(dial) = self.dials.get_mut(address)
            && !dial.rejected
        {
            dial.rejected = true;
            dial.next = Instant::now() + REJECTED_RETRY;
            tracing::error!(
                peer = %address,
                "the peer refused this node: wrong cluster cookie? retrying every {}s",
                REJECTED_RETRY.as_secs()
            );
        }
    }

    fn learn(&mut self, address: &str) {
        if address != self.args.address && !self.dials.contains_key(address) {
            self.dials.insert(address.to_string(), Dial::new());
        }
    }

    fn dial_due(&mut self, myself: &ActorRef<MembershipMsg>) {
        let now = Instant::now();
        let due: Vec<String> = self
            .dials
            .iter()
            .filter(|(address, dial)| dial.next <= now && !self.connected(address, dial))
            .map(|(address, _)| address.clone())
            .collect();
        for address in due {
            let Some(dial) = self.dials.get_mut(&address) else {
                continue;
            };
            dial.next = now
                + if dial.rejected {
                    REJECTED_RETRY
                } else {
                    backoff(dial.attempts)
                };
            dial.attempts += 1;
            let server = self.args.server.clone();
            let me = myself.clone();
            let gate = self.args.gate.clone();
            tokio::spawn(async move {
                let resolved = match tokio::net::lookup_host(address.clone()).await {
                    Ok(mut addrs) => addrs.next(),
                    Err(e) => {
                        let _ = me.cast(MembershipMsg::DialFailed(address, e.to_string()));
                        return;
                    }
                };
                let Some(resolved) = resolved else {
                    let _ = me.cast(MembershipMsg::DialFailed(address, "no address".into()));
                    return;
                };
                let _ = me.cast(MembershipMsg::Dialling {
                    address: address.clone(),
                    resolved: resolved.to_string(),
                });
                match gate.dial(&server, resolved, &address).await {
                    Ok(()) => {}
                    Err(Refused::WrongCookie) => {
                        let _ = me.cast(MembershipMsg::Refused(address));
                    }
                    Err(e) => {
                        let _ = me.cast(MembershipMsg::DialFailed(address, e.to_string()));
                    }
                }
            });
        }
    }

    /// Pings every connected node's gateway; tears down the connections of a node that has been
    /// silent for `failure_timeout` (a frozen or partitioned peer keeps its TCP connection, and
    /// ractor_cluster alone would keep it "connected" forever).
    fn heartbeat(&mut self, myself: &ActorRef<MembershipMsg>) {
        let now = Instant::now();
        let timeout = self.args.failure_timeout;
        let heartbeat = self.args.heartbeat;
        for (node, known) in self.nodes.iter().filter(|(_, k)| k.links > 0) {
            if now.duration_since(known.last_seen) > timeout {
                tracing::warn!(%node, silent_ms = now.duration_since(known.last_seen).as_millis() as u64, "node stopped answering heartbeats; disconnecting it");
                let server = self.args.server.clone();
                let node = node.clone();
                tokio::spawn(async move {
                    if let Ok(sessions) =
                        ractor::call_t!(server, NodeServerMessage::GetSessions, MEMBERSHIP_CALL_MS)
                    {
                        for session in sessions.values() {
                            let name = session.peer_name.as_ref().map(|p| p.name.as_str());
                            if name.is_some_and(|n| directory::node_of_peer(n) == node) {
                                session.actor.stop(Some("heartbeat timeout".into()));
                            }
                        }
                    }
                });
                continue;
            }
            let Some(gateway) = directory::gateway_of(node) else {
                continue;
            };
            let me = myself.clone();
            let node = node.clone();
            let wait = heartbeat.as_millis() as u64;
            tokio::spawn(async move {
                if ractor::call_t!(gateway, GatewayMsg::Ping, wait).is_ok() {
                    let _ = me.cast(MembershipMsg::Alive(node));
                }
            });
        }
    }

    fn on_event(&mut self, myself: &ActorRef<MembershipMsg>, event: NodeEvent) {
        match event {
            NodeEvent::Opened {
                id,
                peer_addr,
                outbound,
            } => {
                let dialled = outbound
                    .then(|| self.resolving.remove(&peer_addr))
                    .flatten();
                self.links.insert(
                    id,
                    Link {
                        dialled,
                        node: None,
                    },
                );
            }
            NodeEvent::Authenticated { id, node, address } => {
                let Some(link) = self.links.get_mut(&id) else {
                    return;
                };
                link.node = Some(node.clone());
                if let Some(dialled) = link.dialled.clone()
                    && let Some(dial) = self.dials.get_mut(&dialled)
                {
                    if dial.rejected {
                        tracing::info!(%dialled, "peer accepted this node again");
                    }
                    dial.attempts = 0;
                    dial.rejected = false;
                    if dialled != address {
                        dial.alias = Some(address.clone());
                    }
                } else {
                    self.learn(&address);
                }
                let known = self.nodes.entry(node.clone()).or_insert(Known {
                    address: address.clone(),
                    links: 0,
                    last_seen: Instant::now(),
                });
                known.address = address;
                known.links += 1;
                known.last_seen = Instant::now();
                if known.links == 1 {
                    tracing::info!(%node, "node joined the cluster");
                    self.notice(format!("node {node} joined the cluster"));
                }
            }
            NodeEvent::Ready { id } => {
                let Some(node) = self.links.get(&id).and_then(|l| l.node.clone()) else {
                    return;
                };
                let me = myself.clone();
                tokio::spawn(async move {
                    if let Some(gateway) = directory::gateway_of(&node)
                        && let Ok(peers) =
                            ractor::call_t!(gateway, GatewayMsg::Peers, MEMBERSHIP_CALL_MS)
                    {
                        let _ = me.cast(MembershipMsg::Learned(peers.0));
                    }
                });
            }
            NodeEvent::Disconnected { id } => {
                let Some(link) = self.links.remove(&id) else {
                    return;
                };
                match link.node {
                    Some(node) => {
                        if let Some(known) = self.nodes.get_mut(&node) {
                            known.links = known.links.saturating_sub(1);
                            if known.links == 0 {
                                tracing::warn!(%node, "node left the cluster");
                                self.notice(format!("node {node} left the cluster"));
                            }
                        }
                    }
                    None => {
                        // Closed before authenticating: the peer refused this node.
                        if let Some(dialled) = link.dialled {
                            self.refused(&dialled);
                        }
                    }
                }
            }
        }
    }
}

impl Actor for Membership {
    type Msg = MembershipMsg;
    type State = MembershipState;
    type Arguments = MembershipArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<MembershipMsg>,
        args: MembershipArgs,
    ) -> Result<MembershipState, ActorProcessingErr> {
        let mut state = MembershipState {
            args,
            links: HashMap::new(),
            dials: BTreeMap::new(),
            resolving: HashMap::new(),
            nodes: BTreeMap::new(),
        };
        for seed in state.args.seeds.clone() {
            state.learn(&seed);
        }
        myself.send_interval(TICK, || MembershipMsg::Tick);
        myself.send_interval(state.args.heartbeat, || MembershipMsg::Heartbeat);
        Ok(state)
    }

    async fn handle(
        &self,
        myself: ActorRef<MembershipMsg>,
        message: MembershipMsg,
        state: &mut MembershipState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            MembershipMsg::Event(event) => state.on_event(&myself, event),
            MembershipMsg::Tick => state.dial_due(&myself),
            MembershipMsg::Heartbeat => state.heartbeat(&myself),
            MembershipMsg::Alive(node) => {
                if let Some(known) = state.nodes.get_mut(&node) {
                    known.last_seen = Instant::now();
                }
            }
            MembershipMsg::Dialling { address, resolved } => {
                state.resolving.insert(resolved, address);
            }
            MembershipMsg::Refused(address) => state.refused(&address),
            MembershipMsg::DialFailed(address, error) => {
                let attempts = state.dials.get(&address).map(|d| d.attempts).unwrap_or(0);
                tracing::debug!(%address, %error, attempts, "dial failed");
            }
            MembershipMsg::Learned(addresses) => {
                for address in addresses {
                    state.learn(&address);
                }
            }
            MembershipMsg::Peers(reply) => {
                let mut peers = vec![state.args.address.clone()];
                peers.extend(
                    state
                        .nodes
                        .values()
                        .filter(|k| k.links > 0)
                        .map(|k| k.address.clone()),
                );
                let _ = reply.send(peers);
            }
            MembershipMsg::Nodes(reply) => {
                let mut nodes = vec![NodeInfo {
                    name: state.args.node.clone(),
                    status: NodeStatus::This,
                    address: state.args.address.clone(),
                }];
                nodes.extend(state.nodes.iter().map(|(name, k)| NodeInfo {
                    name: name.clone(),
                    status: if k.links > 0 {
                        NodeStatus::Up
                    } else {
                        NodeStatus::Down
                    },
                    address: k.address.clone(),
                }));
                let _ = reply.send(nodes);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(0), Duration::from_millis(500));
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(4));
        assert_eq!(backoff(6), Duration::from_secs(30));
        assert_eq!(backoff(40), Duration::from_secs(30));
    }
}
