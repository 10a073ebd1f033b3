//! A room's numbering and recent history: every message gets the next sequence number (1, 2,
//! 3, ... without gaps), and the last `history.replay` messages are kept for joiners and
//! `/history`. Copies of a room that meet, or a room re-created after its host died, merge their
//! histories here.

use std::collections::VecDeque;

use crate::protocol::ChatMessage;

/// The numbering and the kept messages of one room.
#[derive(Debug)]
pub struct History {
    capacity: usize,
    seq: u64,
    messages: VecDeque<ChatMessage>,
}

impl History {
    /// An empty history keeping at most `capacity` messages, numbering on from `last_seq`.
    pub fn new(capacity: usize, last_seq: u64) -> History {
        History {
            capacity,
            seq: last_seq,
            messages: VecDeque::with_capacity(capacity.min(64)),
        }
    }

    /// The number of the last message.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Numbers on after `seq` if it is past the last number (a restart found it in the store).
    pub fn continue_from(&mut self, seq: u64) {
        self.seq = self.seq.max(seq);
    }

    /// Numbers a new message, keeps it, and returns it.
    pub fn append(
        &mut self,
        room: &str,
        from: String,
        text: String,
        action: bool,
        ts: u64,
    ) -> ChatMessage {
        self.seq += 1;
        let message = ChatMessage {
            room: room.to_string(),
            seq: self.seq,
            from,
            text,
            action,
            ts,
        };
        if self.capacity > 0 {
            if self.messages.len() == self.capacity {
                self.messages.pop_front();
            }
            self.messages.push_back(message.clone());
        }
        message
    }

    /// The last `n` kept messages, oldest first (all of them for 0).
    pub fn last(&self, n: usize) -> Vec<ChatMessage> {
        let skip = match n {
            0 => 0,
            n => self.messages.len().saturating_sub(n),
        };
        self.messages.iter().skip(skip).cloned().collect()
    }

    /// Forgets the kept messages numbered below `before` (all for `None`); how many. The
    /// numbering goes on.
    pub fn purge(&mut self, before: Option<u64>) -> u64 {
        let kept = self.messages.len();
        self.messages
            .retain(|m| before.is_some_and(|before| m.seq >= before));
        (kept - self.messages.len()) as u64
    }

    /// Gives every kept message away (to the copy of the room that wins a merge).
    pub fn take(&mut self) -> Vec<ChatMessage> {
        self.messages.drain(..).collect()
    }

    /// Adds recovered or handed-over messages: ordered by time, the same message (sequence
    /// number, sender, time) kept once, numbering continued after the highest.
    pub fn merge(&mut self, messages: Vec<ChatMessage>) {
        let mut merged: Vec<ChatMessage> = self.messages.drain(..).chain(messages).collect();
        merged.sort_by(|a, b| (a.ts, a.seq, &a.from).cmp(&(b.ts, b.seq, &b.from)));
        merged.dedup_by(|a, b| a.seq == b.seq && a.ts == b.ts && a.from == b.from);
        self.seq = self
            .seq
            .max(merged.iter().map(|m| m.seq).max().unwrap_or(0));
        let skip = merged.len().saturating_sub(self.capacity);
        self.messages = merged.into_iter().skip(skip).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn say(history: &mut History, from: &str, ts: u64) -> ChatMessage {
        history.append("r", from.into(), format!("{from} at {ts}"), false, ts)
    }

    #[test]
    fn numbers_without_gaps_and_keeps_the_last_messages() {
        let mut history = History::new(3, 0);
        let seqs: Vec<u64> = (1..=5).map(|t| say(&mut history, "ann", t).seq).collect();
        assert_eq!(seqs, [1, 2, 3, 4, 5]);
        assert_eq!(history.seq(), 5);
        let kept: Vec<u64> = history.last(0).iter().map(|m| m.seq).collect();
        assert_eq!(kept, [3, 4, 5]);
        let last: Vec<u64> = history.last(2).iter().map(|m| m.seq).collect();
        assert_eq!(last, [4, 5]);
        assert_eq!(history.last(10).len(), 3);
    }

    #[test]
    fn no_history_still_numbers() {
        let mut history = History::new(0, 41);
        assert_eq!(say(&mut history, "ann", 1).seq, 42);
        assert!(history.last(0).is_empty());
    }

    #[test]
    fn merge_keeps_each_message_once_in_time_order_and_numbers_on() {
        let mut winner = History::new(10, 0);
        say(&mut winner, "ann", 10);
        say(&mut winner, "ann", 30);
        let mut loser = History::new(10, 0);
        let shared = say(&mut loser, "bob", 20);
        say(&mut loser, "bob", 40);
        say(&mut loser, "bob", 50);
        let mut handed = loser.take();
        handed.push(shared);
        winner.merge(handed);
        let order: Vec<(u64, u64)> = winner.last(0).iter().map(|m| (m.ts, m.seq)).collect();
        assert_eq!(order, [(10, 1), (20, 1), (30, 2), (40, 2), (50, 3)]);
        assert_eq!(say(&mut winner, "ann", 60).seq, 4);
    }

    #[test]
    fn merge_respects_the_capacity() {
        let mut history = History::new(2, 0);
        let mut other = History::new(5, 0);
        for t in 1..=5 {
            say(&mut other, "bob", t);
        }
        history.merge(other.take());
        let kept: Vec<u64> = history.last(0).iter().map(|m| m.ts).collect();
        assert_eq!(kept, [4, 5]);
        assert_eq!(history.seq(), 5);
    }
}
