//! Who a room member is, wherever it is connected: its node and session number, and its nick.

use serde::{Deserialize, Serialize};

/// Where a member's session lives: its node and its session number there.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemberAddr {
    /// Node name.
    pub node: String,
    /// Session number, unique on that node.
    pub session: u64,
}

/// A room member: where it is and what it is called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Where its session lives.
    pub addr: MemberAddr,
    /// Its nick.
    pub nick: String,
}

crate::remote_payload!(MemberAddr, Member);
