//! Who is typing in a room: the room's throttle and expiry of typing indicators.
//!
//! A member that types says so ([`TypingPost`](crate::server::msg::room::TypingPost)) and
//! refreshes it while it goes on; the room passes on the start, at most one refresh per member
//! every [`TYPING_REFRESH_MS`], and the end — when the member says so, sends a message, leaves,
//! or stops refreshing for [`TYPING_EXPIRY_MS`]. Everything here is pure bookkeeping on times
//! the caller passes in, so it is tested without a clock.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::protocol::{TYPING_EXPIRY_MS, TYPING_REFRESH_MS};
use crate::server::msg::member::MemberAddr;

/// How often a room looks for typing states that expired, while anyone is typing.
pub const SWEEP_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
struct Typist {
    /// When the member last said it is typing.
    seen: Instant,
    /// When the room last told the others.
    told: Instant,
}

/// The members typing in one room.
#[derive(Debug, Default)]
pub struct Typists {
    typing: HashMap<MemberAddr, Typist>,
}

impl Typists {
    /// Whether nobody is typing.
    pub fn is_empty(&self) -> bool {
        self.typing.is_empty()
    }

    /// `addr` says it is typing (`active`) or stopped, at `now`. Returns whether the others are
    /// to be told: a start, a refresh after the throttle, a stop of a member that was typing.
    pub fn update(&mut self, addr: &MemberAddr, active: bool, now: Instant) -> bool {
        if !active {
            return self.stop(addr);
        }
        match self.typing.get_mut(addr) {
            Some(typist) => {
                typist.seen = now;
                if now.duration_since(typist.told) >= Duration::from_millis(TYPING_REFRESH_MS) {
                    typist.told = now;
                    true
                } else {
                    false
                }
            }
            None => {
                self.typing.insert(
                    addr.clone(),
                    Typist {
                        seen: now,
                        told: now,
                    },
                );
                true
            }
        }
    }

    /// `addr` stopped typing (it sent a message or left); whether it was typing.
    pub fn stop(&mut self, addr: &MemberAddr) -> bool {
        self.typing.remove(addr).is_some()
    }

    /// Ends and returns the typing states not refreshed within [`TYPING_EXPIRY_MS`] of `now`.
    pub fn expire(&mut self, now: Instant) -> Vec<MemberAddr> {
        let expiry = Duration::from_millis(TYPING_EXPIRY_MS);
        let gone: Vec<MemberAddr> = self
            .typing
            .iter()
            .filter(|(_, t)| now.duration_since(t.seen) >= expiry)
            .map(|(addr, _)| addr.clone())
            .collect();
        for addr in &gone {
            self.typing.remove(addr);
        }
        gone
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
    fn starts_are_told_refreshes_throttled_stops_told_once() {
        let mut t = Typists::default();
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        assert!(t.update(&addr(1), true, at(0)), "a start is told");
        assert!(
            !t.update(&addr(1), true, at(1000)),
            "a refresh within 3 s is not"
        );
        assert!(!t.update(&addr(1), true, at(2999)));
        assert!(t.update(&addr(1), true, at(3000)), "a refresh after 3 s is");
        assert!(!t.update(&addr(1), true, at(3001)));
        assert!(
            t.update(&addr(2), true, at(3001)),
            "members are throttled apart"
        );
        assert!(t.update(&addr(1), false, at(3002)), "a stop is told");
        assert!(!t.update(&addr(1), false, at(3003)), "a second stop is not");
        assert!(!t.stop(&addr(1)));
        assert!(t.stop(&addr(2)), "a message ends typing");
        assert!(t.is_empty());
    }

    #[test]
    fn unrefreshed_states_expire_after_six_seconds() {
        let mut t = Typists::default();
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        t.update(&addr(1), true, at(0));
        t.update(&addr(2), true, at(0));
        t.update(&addr(2), true, at(4000));
        assert!(t.expire(at(5999)).is_empty());
        assert_eq!(t.expire(at(6000)), vec![addr(1)]);
        assert!(
            t.expire(at(9999)).is_empty(),
            "refreshed at 4 s, ends at 10 s"
        );
        assert_eq!(t.expire(at(10_000)), vec![addr(2)]);
        assert!(t.is_empty());
    }
}
