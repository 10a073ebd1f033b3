//! What a node's connections, sessions, control socket and reloader share: the node's core
//! actors, its counters, and the bounds in force (which a reload replaces).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use ractor::ActorRef;

use crate::server::cluster::route::LocalNode;
use crate::server::config::{Config, Network};
use crate::server::msg::membership::MembershipMsg;
use crate::server::outbound::Bound;
use crate::server::stats::Stats;
use crate::server::store::Store;

/// What a node's connections and sessions share.
#[derive(Debug)]
pub struct NodeContext {
    /// This node's name, relay and registry (the registry is the parent of every session).
    pub local: LocalNode,
    /// Cluster membership, when clustered.
    pub membership: Option<ActorRef<MembershipMsg>>,
    /// `limits.max_connections` (fixed until restart).
    pub max_connections: usize,
    /// The keepalive the client ports were bound with, which accepted sockets inherit
    /// (`limits.tcp_keepalive_secs` at start; see [`crate::server::listener::bind`]).
    pub listener_keepalive: Option<Duration>,
    /// Node-wide counters.
    pub stats: Arc<Stats>,
    /// The history store (`None`: `history.store = "memory"`).
    pub store: Option<Store>,
    /// The bounds new connections, sessions and rooms get; replaced by a reload.
    pub tunables: Arc<Live>,
}

/// The bounds in force, shared by everyone who needs the current ones (the context, the
/// registry); a reload replaces them as a whole.
#[derive(Debug)]
pub struct Live(RwLock<Arc<Tunables>>);

impl Live {
    /// Bounds starting as `tunables`.
    pub fn new(tunables: Tunables) -> Live {
        Live(RwLock::new(Arc::new(tunables)))
    }

    /// The bounds in force now (a connection or room keeps the ones it started with).
    pub fn get(&self) -> Arc<Tunables> {
        match self.0.read() {
            Ok(t) => t.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Puts new bounds in force, for connections, joins and rooms from now on.
    pub fn set(&self, tunables: Tunables) {
        match self.0.write() {
            Ok(mut t) => *t = Arc::new(tunables),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(tunables),
        }
    }
}

impl NodeContext {
    /// The bounds in force now (a connection keeps the ones it started with).
    pub fn tunables(&self) -> Arc<Tunables> {
        self.tunables.get()
    }
}

/// The limits that a reload can change.
#[derive(Debug, Clone)]
pub struct Tunables {
    /// `limits.send_queue` and `limits.send_queue_bytes`
    pub send_queue: Bound,
    /// `limits.max_rooms_per_session`
    pub max_rooms_per_session: usize,
    /// `history.max_message_bytes`
    pub max_message_bytes: usize,
    /// `history.max_fetch`
    pub max_fetch: usize,
    /// `history.private`: store private messages.
    pub store_private: bool,
    /// Who may connect how often.
    pub admission: Admission,
    /// The per-connection bounds.
    pub connection: ConnectionLimits,
    /// What rooms created from now on get.
    pub rooms: RoomDefaults,
}

/// What a new room gets.
#[derive(Debug, Clone)]
pub struct RoomDefaults {
    /// `history.replay`
    pub history: usize,
    /// `limits.presence_max_members`
    pub presence_max: usize,
    /// `server.default_rooms`, canonical: created at start (and on reload), never closed.
    pub default_rooms: Vec<String>,
    /// `limits.max_rooms`: rooms this node hosts at most.
    pub max_rooms: usize,
    /// `server.empty_room_linger_ms`
    pub linger: Duration,
}

/// Who may connect how often.
#[derive(Debug, Clone)]
pub struct Admission {
    /// `limits.max_connections_per_ip`
    pub per_ip: usize,
    /// `limits.exempt_addresses`
    pub exempt: Vec<Network>,
}

impl Tunables {
    /// The tunables of a configuration.
    pub fn of(config: &Config) -> Tunables {
        let limits = &config.settings.limits;
        Tunables {
            send_queue: Bound {
                messages: limits.send_queue,
                bytes: limits.send_queue_bytes,
            },
            max_rooms_per_session: limits.max_rooms_per_session,
            max_message_bytes: config.settings.history.max_message_bytes,
            max_fetch: config.settings.history.max_fetch,
            store_private: config.settings.history.private,
            admission: Admission {
                per_ip: limits.max_connections_per_ip,
                exempt: config.exempt_addresses.clone(),
            },
            connection: ConnectionLimits {
                max_line_bytes: limits.max_line_bytes,
                max_frame_bytes: limits.max_frame_bytes,
                rate: limits.rate,
                burst: limits.burst,
                idle_timeout: config.idle_timeout(),
                registration_timeout: Duration::from_secs(limits.registration_timeout_secs),
                tcp_keepalive: (limits.tcp_keepalive_secs > 0)
                    .then(|| Duration::from_secs(limits.tcp_keepalive_secs)),
                grace: Duration::from_secs(config.settings.server.shutdown_grace_secs),
            },
            rooms: RoomDefaults {
                history: config.settings.history.replay,
                presence_max: limits.presence_max_members,
                default_rooms: config.default_rooms.clone(),
                max_rooms: limits.max_rooms,
                linger: Duration::from_millis(config.settings.server.empty_room_linger_ms),
            },
        }
    }
}

/// The per-connection bounds, taken from `[limits]`.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// `limits.max_line_bytes`
    pub max_line_bytes: usize,
    /// `limits.max_frame_bytes`
    pub max_frame_bytes: usize,
    /// `limits.rate`
    pub rate: f64,
    /// `limits.burst`
    pub burst: u32,
    /// `limits.idle_timeout_secs`, `None` when off.
    pub idle_timeout: Option<Duration>,
    /// `limits.registration_timeout_secs`: to choose a protocol and set a nick.
    pub registration_timeout: Duration,
    /// `limits.tcp_keepalive_secs`, `None` when off.
    pub tcp_keepalive: Option<Duration>,
    /// `server.shutdown_grace_secs`: how long a draining close may take.
    pub grace: Duration,
}
