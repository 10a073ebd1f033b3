//! `chat-client`, the terminal client: a ratatui front end to the framed protocol.
//!
//! The parts, kept apart so each can be tested on its own:
//!
//! - [`app`]: the state and its update logic — events in, state changes and actions out. No
//!   drawing, no sockets.
//! - [`buffer`]: one conversation (server buffer, room, private) and its lines.
//! - [`input`]: the input line: editing, history, Tab completion.
//! - [`view`]: how one line looks: timestamp, nick colours, wrapping by display width.
//! - [`ui`]: drawing the screen from the state.
//! - [`net`]: the connection task: dialling, frames, keepalive pings.
//! - [`run`]: the main loop gluing terminal, app and connection together.
//! - [`terminal`]: entering and always restoring the terminal.
//! - [`config`] and [`theme`]: `client.toml` and colours.

pub mod app;
pub mod buffer;
pub mod config;
pub mod input;
pub mod net;
pub mod run;
pub mod terminal;
pub mod theme;
pub mod ui;
pub mod view;
