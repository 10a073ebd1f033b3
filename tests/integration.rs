//! Integration tests: each starts the real `chatd` binary and talks to it over real sockets;
//! `rooms` runs a node's actors in this process for cases a socket reaches only by a race;
//! `layout` checks the shape of `src/` (no import cycles, actors apart).

mod admission;
mod bad_input;
mod bench;
mod browser;
mod chat;
mod client;
mod cluster;
mod commands;
mod control;
mod history;
mod irc;
mod layout;
mod lifecycle;
mod overload;
mod packaging;
mod rooms;
mod store;
mod supervision;
mod util;
mod web;
