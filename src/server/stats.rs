//! Node-wide counters for `chatctl status` and the metrics endpoint: chat messages in (said by
//! this node's users) and out (delivered to this node's users; presence and notices are not
//! counted), sessions cut off by reason, room failovers started here, and resident memory.
//! Message counters are atomics, touched once per message and per delivery batch; the rarer
//! events take a lock.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::protocol::ErrorCode;

/// The counters.
#[derive(Debug, Default)]
pub struct Stats {
    messages_in: AtomicU64,
    messages_out: AtomicU64,
    failovers: AtomicU64,
    cut_offs: Mutex<BTreeMap<&'static str, u64>>,
}

impl Stats {
    /// A user of this node said something.
    pub fn message_in(&self) {
        self.messages_in.fetch_add(1, Ordering::Relaxed);
    }

    /// `n` deliveries to users of this node.
    pub fn messages_out(&self, n: u64) {
        self.messages_out.fetch_add(n, Ordering::Relaxed);
    }

    /// A session was cut off (disconnected by the server, not by its client) for `why`.
    pub fn cut_off(&self, why: ErrorCode) {
        if let Ok(mut counts) = self.cut_offs.lock() {
            *counts.entry(why.as_str()).or_default() += 1;
        }
    }

    /// Sessions cut off so far, by reason (the error code they were sent).
    pub fn cut_offs(&self) -> Vec<(&'static str, u64)> {
        self.cut_offs
            .lock()
            .map(|counts| counts.iter().map(|(k, v)| (*k, *v)).collect())
            .unwrap_or_default()
    }

    /// This node started re-creating a room whose host died.
    pub fn failover(&self) {
        self.failovers.fetch_add(1, Ordering::Relaxed);
    }

    /// Room failovers started here so far.
    pub fn failovers(&self) -> u64 {
        self.failovers.load(Ordering::Relaxed)
    }

    /// (messages in, messages out) so far.
    pub fn totals(&self) -> (u64, u64) {
        (
            self.messages_in.load(Ordering::Relaxed),
            self.messages_out.load(Ordering::Relaxed),
        )
    }
}

/// Resident memory of a process, in KiB (`VmRSS` in `/proc/PID/status`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
