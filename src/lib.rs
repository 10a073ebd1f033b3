//! chatd: a clustered chat server on the ractor actor framework.
//!
//! # Layout, in reading order
//!
//! `docs/ARCHITECTURE.md` draws the supervision tree, the road of one chat line and the cluster's
//! naming scheme around this list.
//!
//! Below everything, shared by the server, the terminal client and the load generator:
//! - [`protocol`]: commands and events, and their wire formats ([`protocol::line`],
//!   [`protocol::frame`], [`protocol::json`]).
//! - [`wire`]: the binary codec (bincode), the only module that knows it.
//! - [`names`]: nick and room-name rules.
//!
//! The daemon, [`server`]:
//! - [`server::config`]: the configuration keys, their defaults, and layering (defaults < file <
//!   env < flags).
//! - [`server::msg`]: the vocabulary — every actor's messages, the payloads that cross between
//!   nodes, the rows shown to admins. Imports no actor.
//! - [`server::node`]: the supervision tree of one node, and [`server::node::run`], which serves
//!   a listener until shutdown.
//! - [`server::context`]: what connections, sessions and the control socket share; the bounds a
//!   reload changes.
//! - [`server::listener`]: the client port: connection limit, banner, front detection.
//! - [`server::front`]: the fronts — adapters between a wire format and the sessions
//!   ([`server::front::line`], [`server::front::frame`], [`server::front::json`]).
//! - [`server::admission`]: connection limits, in all and per address, shared by the fronts.
//! - [`server::web`]: the web front's HTTP listener: the page, `/healthz`, the WebSocket (over
//!   TLS with `[web.tls]`).
//! - [`server::connection`]: the task that owns a socket: bounded reads, rate limit, batched
//!   writes.
//! - [`server::outbound`]: a session's bounded outgoing queue of shared bytes.
//! - [`server::session`]: the session actor, one per connection; its state
//!   ([`server::session::state`]) and its commands, one file each
//!   ([`server::session::commands`]).
//! - [`server::registry`]: rooms and nicks by name ([`server::registry::nicks`]); parent of the
//!   sessions.
//! - [`server::room`]: the room actor: members ([`server::room::members`]), numbering and
//!   history ([`server::room::history`]), who is typing ([`server::room::typing`]), fan-out.
//! - [`server::room_supervisor`]: restarts rooms that fail.
//! - [`server::relay`]: delivery of room events to this node's sessions.
//! - [`server::cluster`]: linking nodes — the naming scheme ([`server::cluster::directory`]),
//!   reaching a node ([`server::cluster::route`]), who may connect to the node-to-node port
//!   ([`server::cluster::admission`]), room failover, membership, the gateway, cookie and TLS.
//! - [`server::timeouts`]: every actor call timeout, named.
//! - [`server::control`]: the admin control socket that `chatctl` talks to.
//! - [`server::stats`]: node-wide counters: messages, cut-offs, failovers.
//! - [`server::metrics`]: the Prometheus endpoint that shows them (`[metrics] listen`).
//! - [`server::store`]: durable history — the writer thread ([`server::store::writer`]) and the
//!   backends ([`server::store::sqlite`], [`server::store::postgres`]).
//! - [`server::pem`]: certificates and keys for every TLS listener.
//! - [`server::reload`]: re-reading the configuration while running (SIGHUP, `chatctl reload`).
//! - [`server::systemd`]: readiness, status, reload, stopping and watchdog notifications.
//! - [`server::logging`]: journald under systemd, text or JSON on stderr otherwise.
//!
//! The other programs:
//! - [`client`]: the terminal client behind `chat-client`.
//! - [`mod@bench`]: the load generator behind `chatd-bench`.
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
