//! Integration tests: each starts the real `chatd` binary and talks to it over real sockets.

mod bad_input;
mod bench;
mod chat;
mod client;
mod cluster;
mod commands;
mod control;
mod lifecycle;
mod overload;
mod packaging;
mod supervision;
mod util;
