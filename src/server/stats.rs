//! Node-wide counters for `chatctl status`: chat messages in (said by this node's users) and out
//! (delivered to this node's users; presence and notices are not counted), and resident memory. Atomics, touched once per message and per delivery batch.

use std::sync::atomic::{AtomicU64, Ordering};

/// The counters.
#[derive(Debug, Default)]
pub struct Stats {
    messages_in: AtomicU64,
    messages_out: AtomicU64,
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
