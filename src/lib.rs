//! chatd: a clustered chat server on the ractor actor framework.
//!
//! # Layout, in reading order
//!
//! - [`config`]: the configuration keys, their defaults, and layering (defaults < file < env < flags).
//! - [`node`]: the supervision tree of one node, and [`node::run`], which serves a listener until
//!   shutdown.
//! - [`listener`]: the client port: connection limit, banner, protocol detection.
//! - [`connection`]: the task that owns a socket: bounded reads, rate limit, batched writes.
//! - [`outbound`]: a session's bounded outgoing queue of shared bytes.
//! - [`session`]: the session actor, one per connection: nick, rooms, commands.
//! - [`registry`]: rooms and nicks by name; parent of the sessions.
//! - [`room`]: the room actor: members, sequence numbers, history, fan-out.
//! - [`room_supervisor`]: restarts rooms that fail.
//! - [`relay`]: delivery of room events to this node's sessions.
//! - [`cluster`]: linking nodes: cookie, membership (dialling, full mesh), the node's gateway.
//! - [`control`]: the admin control socket that `chatctl` talks to.
//! - [`stats`]: node-wide message counters.
//! - [`reload`]: re-reading the configuration while running (SIGHUP, `chatctl reload`).
//! - [`systemd`]: readiness, status, reload, stopping and watchdog notifications.
//! - [`logging`]: journald under systemd, text or JSON on stderr otherwise.
//! - [`protocol`]: commands and events, and their two wire formats ([`protocol::line`],
//!   [`protocol::frame`]).
//! - [`wire`]: the binary codec (bincode), the only module that knows it.
//! - [`names`]: nick and room-name rules.
//! - [`bench`]: the load generator behind `chatd-bench`.
//! - [`client`]: the terminal client behind `chat-client`.
//!
//! # Delivery promise
//!
//! Live delivery is at-most-once and, within a room, in the room's order: every member receives a
//! room's messages in the order the room numbered them. Each room keeps its last `history.replay`
//! messages; a joiner receives them before any live message, and sequence numbers make any gap
//! visible. A client is only ever dropped visibly: a full send queue, a rate limit or a bad input
//! always produces an error event first.

pub mod bench;
pub mod client;
pub mod names;
pub mod protocol;
pub mod server;
pub mod wire;
