//! The chat daemon, `chatd`: everything that runs inside the server process.
//!
//! The map, in reading order, is in the crate documentation ([`crate`]).

pub mod admission;
pub mod cluster;
pub mod config;
pub mod connection;
pub mod context;
pub mod control;
pub mod front;
pub mod irc;
pub mod listener;
pub mod logging;
pub mod metrics;
pub mod msg;
pub mod node;
pub mod outbound;
pub mod pem;
pub mod registry;
pub mod relay;
pub mod reload;
pub mod room;
pub mod room_supervisor;
pub mod session;
pub mod stats;
pub mod store;
pub mod systemd;
pub mod timeouts;
pub mod web;
