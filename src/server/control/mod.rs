//! The control socket: a local Unix socket where `chatctl` administers a running chatd.
//!
//! - [`protocol`]: the newline-delimited JSON requests and responses (versioned).
//! - [`access`]: who may connect (root, the daemon's user, `control.group`), by `SO_PEERCRED`.
//! - [`server`]: binding the socket (refusing to start when a running daemon answers on it,
//!   replacing a stale file) and carrying out requests, cluster-wide where it matters.
//!
//! The control socket is an admin tool, never on the message path.

pub mod access;
pub mod protocol;
pub mod server;
