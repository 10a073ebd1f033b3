//! What cluster membership is told (node server events, timer ticks, dial outcomes) and asked
//! (the known nodes and their addresses).

use ractor::RpcReplyPort;
use ractor_cluster::RactorMessage;

use crate::protocol::NodeInfo;

/// A node server event, as forwarded by `cluster::membership::Events`.
#[derive(Debug, Clone)]
pub enum NodeEvent {
    /// A connection opened (not yet authenticated).
    Opened {
        /// ractor_cluster's id for the connection.
        id: u64,
        /// The remote socket address.
        peer_addr: String,
        /// `true` if this node dialled.
        outbound: bool,
    },
    /// The peer proved it knows the cookie.
    Authenticated {
        /// Connection id.
        id: u64,
        /// The peer's node name.
        node: String,
        /// The peer's node-to-node address.
        address: String,
    },
    /// The peer's actors and process groups are synchronised.
    Ready {
        /// Connection id.
        id: u64,
    },
    /// The connection closed.
    Disconnected {
        /// Connection id.
        id: u64,
    },
}

/// What membership is told or asked.
#[derive(RactorMessage)]
pub enum MembershipMsg {
    /// A node server event.
    Event(NodeEvent),
    /// Time to dial what needs dialling.
    Tick,
    /// Time to ping every connected node, and to give up on silent ones.
    Heartbeat,
    /// A node answered a heartbeat.
    Alive(String),
    /// A dial to this address is about to connect to that resolved socket address.
    Dialling {
        /// The address as configured or learned.
        address: String,
        /// What it resolved to (what `Opened` will report).
        resolved: String,
    },
    /// A dial failed before a connection opened.
    DialFailed(String, String),
    /// The peer at this address refused this node's cookie proof.
    Refused(String),
    /// Addresses reported by a peer.
    Learned(Vec<String>),
    /// The addresses of this node and its connected peers.
    Peers(RpcReplyPort<Vec<String>>),
    /// Every known node, this one first.
    Nodes(RpcReplyPort<Vec<NodeInfo>>),
}
