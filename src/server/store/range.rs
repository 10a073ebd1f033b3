//! Which of a room's messages a history request asks for: by sequence number, after one, before
//! one, or the last few, at most a limit.

use serde::{Deserialize, Serialize};

use crate::protocol::ChatMessage;

/// Which of a room's messages a fetch returns, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// Only messages numbered above this one (the first `limit` of them).
    pub after: Option<u64>,
    /// Only messages numbered below this one (the last `limit` of them, unless `after` is set).
    pub before: Option<u64>,
    /// At most this many.
    pub limit: u32,
}

impl Range {
    /// The last `limit` messages.
    pub fn last(limit: u32) -> Range {
        Range {
            after: None,
            before: None,
            limit,
        }
    }

    /// Whether message number `seq` is in the range (ignoring the limit).
    pub fn contains(&self, seq: u64) -> bool {
        self.after.is_none_or(|a| seq > a) && self.before.is_none_or(|b| seq < b)
    }

    /// The range applied to messages sorted by number: those inside, cut to the limit from the
    /// oldest end when `after` is set, from the newest end otherwise.
    pub fn apply(&self, messages: &[ChatMessage]) -> Vec<ChatMessage> {
        let inside: Vec<&ChatMessage> = messages.iter().filter(|m| self.contains(m.seq)).collect();
        let limit = self.limit as usize;
        let kept = if self.after.is_some() {
            &inside[..inside.len().min(limit)]
        } else {
            &inside[inside.len().saturating_sub(limit)..]
        };
        kept.iter().map(|m| (*m).clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(seq: u64) -> ChatMessage {
        ChatMessage {
            room: "r".into(),
            seq,
            from: "a".into(),
            text: format!("m{seq}"),
            action: false,
            ts: seq,
        }
    }

    #[test]
    fn ranges_cut_from_the_right_end() {
        let all: Vec<ChatMessage> = (1..=10).map(message).collect();
        let seqs = |r: Range| r.apply(&all).iter().map(|m| m.seq).collect::<Vec<_>>();
        assert_eq!(seqs(Range::last(3)), [8, 9, 10]);
        let after = |after, limit| Range {
            after: Some(after),
            before: None,
            limit,
        };
        assert_eq!(seqs(after(4, 3)), [5, 6, 7]);
        assert_eq!(seqs(after(9, 5)), [10]);
        let before = Range {
            after: None,
            before: Some(5),
            limit: 2,
        };
        assert_eq!(seqs(before), [3, 4]);
        let between = Range {
            after: Some(2),
            before: Some(6),
            limit: 10,
        };
        assert_eq!(seqs(between), [3, 4, 5]);
    }
}
