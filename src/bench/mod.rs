//! The load generator behind `chatd-bench`: scenarios that drive a running chatd through real
//! sockets and measure it.
//!
//! - [`connections`]: many idle sessions; server memory per session and connect rate.
//! - [`fanout`]: rooms × members with senders; deliveries per second, latency, loss and order.
//! - [`churn`]: connect → nick → join → message → quit in a loop; cycles per second.
//! - [`store`]: the history store alone: writes per second and fetch latency (no server).
//!
//! Every scenario is bounded in time and count and returns a [`report::Report`].

pub mod churn;
pub mod client;
pub mod connections;
pub mod fanout;
pub mod report;
pub mod store;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::OnceLock;
use std::time::Instant;

use crate::server::stats::rss_kib;

/// Connections per source address before the next loopback address is used. The kernel has about
/// 28,000 ephemeral ports per source address, and finding a free one slows down as they fill.
pub const CONNECTIONS_PER_SOURCE: usize = 5_000;

/// What the load generator's clients speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// Text lines on the client port.
    Line,
    /// Binary frames on the client port.
    Frame,
    /// JSON over a WebSocket on the web port.
    Ws,
    /// IRC on an IRC port (chatd's, or another IRC server's, for comparisons).
    Irc,
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct Target {
    /// The nodes' client ports (web ports for [`Wire::Ws`], IRC ports for [`Wire::Irc`]);
    /// connection `i` goes to
    /// `addrs[i % len]`.
    pub addrs: Vec<SocketAddr>,
    /// What the clients speak.
    pub protocol: Wire,
    /// The server processes' pids, for memory and CPU readings (summed).
    pub server_pids: Vec<u32>,
}

impl Target {
    /// The node the `i`-th connection goes to: clients are spread round-robin over the nodes.
    pub fn addr(&self, i: usize) -> SocketAddr {
        self.addrs[i % self.addrs.len()]
    }

    /// The servers' resident memory, in KiB (summed); `None` without pids.
    pub fn server_rss_kib(&self) -> Option<u64> {
        if self.server_pids.is_empty() {
            return None;
        }
        self.server_pids.iter().map(|p| rss_kib(*p)).sum()
    }

    /// The source address for the `i`-th connection when the server is on loopback (the default
    /// otherwise): a new address every [`CONNECTIONS_PER_SOURCE`] connections, in a 127.x.y.0/24
    /// picked from this process's id, so that a run does not compete for ports with the
    /// TIME_WAIT leftovers of the previous one.
    pub fn source(&self, i: usize) -> Option<IpAddr> {
        match self.addr(i).ip() {
            IpAddr::V4(ip) if ip.is_loopback() => {
                let block = (i / CONNECTIONS_PER_SOURCE).min(250) as u8;
                let [_, _, a, b] = std::process::id().to_be_bytes();
                Some(IpAddr::V4(Ipv4Addr::new(127, a, b.max(1), 2 + block)))
            }
            _ => None,
        }
    }
}

/// Nanoseconds since the load generator started: the clock that senders stamp into messages
/// and receivers compare against (one process, one clock).
pub fn now_ns() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// CPU time (user + system) a process has used, in seconds (`None` pid: this process).
pub fn cpu_secs(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // /proc reports in USER_HZ, which is 100 on Linux.
    Some(ticks as f64 / 100.0)
}

/// Measures the CPU used by the load generator and the servers over a run.
pub struct CpuMeter {
    bench: Option<f64>,
    servers: Option<f64>,
    server_pids: Vec<u32>,
    started: Instant,
}

fn servers_cpu(pids: &[u32]) -> Option<f64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|p| cpu_secs(Some(*p))).sum()
}

impl CpuMeter {
    /// Starts measuring.
    pub fn start(server_pids: &[u32]) -> Self {
        CpuMeter {
            bench: cpu_secs(None),
            servers: servers_cpu(server_pids),
            server_pids: server_pids.to_vec(),
            started: Instant::now(),
        }
    }

    /// CPU use since the start as a share of one core (1.0 = one core busy): (bench, servers).
    pub fn cores(&self) -> (Option<f64>, Option<f64>) {
        let wall = self.started.elapsed().as_secs_f64().max(1e-9);
        let bench = cpu_secs(None).zip(self.bench).map(|(b, a)| (b - a) / wall);
        let servers = servers_cpu(&self.server_pids)
            .zip(self.servers)
            .map(|(b, a)| (b - a) / wall);
        (bench, servers)
    }
}

/// A progress spinner on stderr (hidden when stderr is not a terminal, and never on stdout).
pub fn progress(what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(what.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}
