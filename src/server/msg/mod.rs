//! The vocabulary: every message the server's actors exchange, the payloads that cross between
//! nodes, and the rows shown to administrators — one file per actor's messages.
//!
//! This layer sits just above [`crate::protocol`] and imports no actor: every actor imports the
//! vocabulary, never another actor, so an actor's file can be read (and changed) on its own. The
//! payloads of remotable messages (rooms', gateways') are serialized by [`crate::wire`] through
//! [`crate::remote_payload!`].

pub mod admin;
pub mod gateway;
pub mod member;
pub mod membership;
pub mod registry;
pub mod relay;
pub mod room;
pub mod room_supervisor;
pub mod session;
