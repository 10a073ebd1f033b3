//! A room's moderation: its topic and its operators. The member who opens a room (joins it
//! empty) is its first operator, as on IRC; operators set the topic, make others operators and
//! remove members. Operators are known by where they are connected, so a nick change keeps the
//! status and leaving loses it. Neither survives the room's closing (or a restart after a
//! failure): like an IRC channel without services, a room that empties starts afresh.

use std::collections::HashSet;

use crate::protocol::{ErrorCode, Topic};
use crate::server::msg::member::MemberAddr;
use crate::server::msg::room::ModReply;

use super::members::Members;

/// A room's topic and operators.
#[derive(Debug, Default)]
pub struct Moderation {
    topic: Option<Topic>,
    operators: HashSet<MemberAddr>,
}

impl Moderation {
    /// The topic, if set.
    pub fn topic(&self) -> Option<&Topic> {
        self.topic.as_ref()
    }

    /// Sets the topic (an empty text clears it).
    pub fn set_topic(&mut self, topic: Topic) {
        self.topic = (!topic.text.is_empty()).then_some(topic);
    }

    /// Whether `addr` is an operator.
    pub fn is_operator(&self, addr: &MemberAddr) -> bool {
        self.operators.contains(addr)
    }

    /// Makes `addr` an operator (`on`) or not; `false` when nothing changed.
    pub fn set_operator(&mut self, addr: &MemberAddr, on: bool) -> bool {
        if on {
            self.operators.insert(addr.clone())
        } else {
            self.operators.remove(addr)
        }
    }

    /// A member left: it is no longer an operator.
    pub fn forget(&mut self, addr: &MemberAddr) {
        self.operators.remove(addr);
    }

    /// The operators' nicks, sorted.
    pub fn operators(&self, members: &Members) -> Vec<String> {
        let mut nicks: Vec<String> = self
            .operators
            .iter()
            .filter_map(|addr| members.nick(addr).cloned())
            .collect();
        nicks.sort();
        nicks
    }

    /// Refuses what only an operator of `room` may do, when `addr` is not one.
    pub fn check(&self, addr: &MemberAddr, room: &str) -> Result<(), ModReply> {
        if self.is_operator(addr) {
            Ok(())
        } else {
            Err(ModReply::Refused {
                code: ErrorCode::NotOperator,
                message: format!("you are not an operator of #{room}"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(session: u64) -> MemberAddr {
        MemberAddr {
            node: "n".into(),
            session,
        }
    }

    #[test]
    fn operators_are_granted_revoked_and_forgotten() {
        let mut members = Members::default();
        members.add(addr(1), "ann".into());
        members.add(addr(2), "bob".into());
        let mut m = Moderation::default();
        assert!(m.check(&addr(1), "r").is_err());
        assert!(m.set_operator(&addr(1), true));
        assert!(!m.set_operator(&addr(1), true));
        assert!(m.check(&addr(1), "r").is_ok());
        m.set_operator(&addr(2), true);
        assert_eq!(m.operators(&members), ["ann", "bob"]);
        m.forget(&addr(2));
        assert_eq!(m.operators(&members), ["ann"]);
        assert!(m.set_operator(&addr(1), false));
        assert!(m.operators(&members).is_empty());
    }

    #[test]
    fn an_empty_topic_clears_it() {
        let mut m = Moderation::default();
        m.set_topic(Topic {
            text: "hello".into(),
            by: "ann".into(),
            ts: 1,
        });
        assert_eq!(m.topic().map(|t| t.text.as_str()), Some("hello"));
        m.set_topic(Topic {
            text: String::new(),
            by: "ann".into(),
            ts: 2,
        });
        assert!(m.topic().is_none());
    }
}
