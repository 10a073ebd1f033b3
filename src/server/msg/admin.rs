//! The rows administrators see (`chatctl rooms`, `chatctl users`): gathered by rooms, relays and
//! gateways across the cluster, serialized as JSON by the control socket.

use serde::{Deserialize, Serialize};

/// A room, as `rooms` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomRow {
    /// Canonical name.
    pub name: String,
    /// Hosting node.
    pub node: String,
    /// Members now.
    pub members: u32,
    /// Messages so far (the room's last sequence number).
    pub messages: u64,
    /// When the room was created, milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// Left out of room lists (a room by code); `chatctl rooms --all` shows it.
    #[serde(default)]
    pub unlisted: bool,
    /// Messages in the history store (`None` without one).
    #[serde(default)]
    pub stored: Option<u64>,
}

/// A connected user, as `users` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    /// Nick (empty before one is set).
    pub nick: String,
    /// The node it is connected to.
    pub node: String,
    /// Its remote address.
    pub address: String,
    /// When it connected, milliseconds since the Unix epoch.
    pub since_ms: u64,
    /// Rooms it is in.
    pub rooms: Vec<String>,
    /// Its front: `line`, `frame` or `web`.
    #[serde(default)]
    pub protocol: String,
    /// Bytes waiting in its send queue.
    #[serde(default)]
    pub sendq: u64,
}

crate::remote_payload!(RoomRow, UserRow);
