//! How long one actor waits for another: every call timeout of the server, named in one place.
//!
//! A call that times out is treated as "unavailable" (ractor reports a dead or slow peer as a
//! timeout or a closed channel, unpredictably); the caller tells its client to try again. None of
//! these is a configuration key: they bound waits for the node's own actors and peers, not for
//! clients, and an admin has nothing to tune in them.

use std::time::Duration;

/// A session waiting for the registry, a room, or another node while it serves a command.
pub const SESSION_CALL_MS: u64 = 5000;
/// A session joining a room on another node. A room that stopped a moment ago may still be in
/// this node's view, and a message to it is dropped without an answer; joins are idempotent, so
/// the session looks again after this rather than after [`SESSION_CALL_MS`].
pub const REMOTE_JOIN_MS: u64 = 1000;
/// A control request (`chatctl`) waiting for an actor or another node.
pub const ADMIN_CALL_MS: u64 = 3000;
/// A gateway waiting for its own node's registry or relay on behalf of a peer.
pub const GATEWAY_CALL_MS: u64 = 2000;
/// Creating a room: the room supervisor starting it, or a peer's gateway having it created.
pub const ROOM_CREATE_MS: u64 = 5000;
/// A restarted room asking the relay which of its members are still here.
pub const ROOM_RECOVERY_MS: u64 = 5000;
/// A relay asking a survivor node to re-create a room whose host died.
pub const FAILOVER_CREATE_MS: u64 = 2000;
/// Membership asking ractor_cluster's node server or a peer's gateway.
pub const MEMBERSHIP_CALL_MS: u64 = 2000;
/// Startup of the node: the root actor's answer with the core actors.
pub const NODE_CALL_MS: u64 = 5000;
/// Shutdown of the node: the relay's last broadcast to every session.
pub const SHUTDOWN_CALL_MS: u64 = 2000;
/// The `STATUS=` summary for systemd (skipped when the actors are slower than this).
pub const STATUS_CALL_MS: u64 = 1000;

/// How long a room created on another node may take to become visible here (its process-group
/// join travels separately from the creator's answer).
pub const ROOM_VISIBLE: Duration = Duration::from_secs(3);
/// How often a session looks for that room while it waits.
pub const ROOM_VISIBLE_POLL: Duration = Duration::from_millis(5);
