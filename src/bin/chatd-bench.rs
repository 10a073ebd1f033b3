//! `chatd-bench`: the load generator. Drives a running chatd through real sockets and prints one
//! table (or one JSON object with `--json`) per run. Runs are bounded in time and count.
//!
//! Large connection counts need file descriptors on both sides (`ulimit -n`) and source ports:
//! connections to a loopback server are spread over 127.0.0.2, 127.0.0.3, ... automatically.
//! Scenarios that send fast need the server's rate limit lifted, e.g.
//! `CHATD_LIMITS__RATE=1000000 CHATD_LIMITS__BURST=1000000 chatd`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use chatd::bench::{Target, Wire, churn, connections, fanout, store};
use clap::{Parser, Subcommand, ValueEnum};

/// Load generator for chatd.
#[derive(Debug, Parser)]
#[command(name = "chatd-bench", version)]
struct Cli {
    /// The server's client port; several (comma-separated or repeated) spread the clients
    /// round-robin over the nodes of a cluster.
    #[arg(
        long,
        default_value = "127.0.0.1:9999",
        value_delimiter = ',',
        global = true
    )]
    addr: Vec<SocketAddr>,
    /// The protocol the clients speak.
    #[arg(long, value_enum, default_value_t = Protocol::Line, global = true)]
    protocol: Protocol,
    /// The server's pid, to report its memory and CPU use (repeat for a cluster: summed).
    #[arg(long, value_delimiter = ',', global = true)]
    server_pid: Vec<u32>,
    /// Print one JSON object instead of a table.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Protocol {
    Line,
    Frame,
    /// JSON over a WebSocket: give the web port (`[web] listen`) as --addr.
    Ws,
    /// IRC: give an IRC port (`[irc] listen`) as --addr; works against any IRC server
    /// (ngircd, for comparisons).
    Irc,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Open N idle sessions (nick + join); report server memory per session and connect rate.
    Connections {
        /// Sessions to open.
        #[arg(long, default_value_t = 1000)]
        sessions: usize,
        /// Sessions per room.
        #[arg(long, default_value_t = 100)]
        room_size: usize,
        /// Number of the first session (nick `c{N}`): load generators run side by side with
        /// disjoint ranges (one process may hold only so many sockets).
        #[arg(long, default_value_t = 0)]
        first: usize,
        /// Connections set up at once.
        #[arg(long, default_value_t = 200)]
        concurrency: usize,
        /// Seconds to hold the sessions before measuring.
        #[arg(long, default_value_t = 2.0)]
        hold: f64,
        /// Seconds allowed for setting up all sessions.
        #[arg(long, default_value_t = 120.0)]
        timeout: f64,
    },
    /// R rooms × M members, S senders; deliveries/s, latency percentiles, loss and order.
    Fanout {
        /// Rooms.
        #[arg(long, default_value_t = 1)]
        rooms: usize,
        /// Members per room (senders included).
        #[arg(long, default_value_t = 100)]
        members: usize,
        /// Senders in all, spread over the rooms.
        #[arg(long, default_value_t = 1)]
        senders: usize,
        /// Messages per second per sender; 0 = as fast as the server takes them.
        #[arg(long, default_value_t = 0.0)]
        rate: f64,
        /// Seconds of sending.
        #[arg(long, default_value_t = 5.0)]
        duration: f64,
        /// Bytes of padding per message.
        #[arg(long, default_value_t = 32)]
        payload: usize,
        /// Connections set up at once.
        #[arg(long, default_value_t = 200)]
        concurrency: usize,
        /// Seconds to wait for the last deliveries after sending stops.
        #[arg(long, default_value_t = 10.0)]
        drain: f64,
        /// Messages a room's senders may run ahead of its average member (0 = open loop).
        #[arg(long, default_value_t = 256)]
        window: u64,
    },
    /// connect → nick → join → message → quit in a loop; cycles/s and errors.
    Churn {
        /// Cycles in flight at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Seconds to run.
        #[arg(long, default_value_t = 5.0)]
        duration: f64,
    },
    /// The history store alone, on a scratch SQLite file (no server): writes/s, fetch latency.
    Store {
        /// Messages written.
        #[arg(long, default_value_t = 200_000)]
        messages: usize,
        /// Rooms they are spread over.
        #[arg(long, default_value_t = 100)]
        rooms: usize,
        /// Messages per fetch.
        #[arg(long, default_value_t = 1000)]
        fetch: u32,
        /// Fetches timed.
        #[arg(long, default_value_t = 200)]
        fetches: usize,
        /// The writer's batch window, milliseconds (`history.batch_ms`).
        #[arg(long, default_value_t = 50)]
        batch_ms: u64,
        /// Bytes of text per message.
        #[arg(long, default_value_t = 64)]
        payload: usize,
    },
}

fn secs(value: f64) -> Duration {
    Duration::from_secs_f64(value.clamp(0.0, 86_400.0))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let target = Target {
        addrs: cli.addr,
        protocol: match cli.protocol {
            Protocol::Line => Wire::Line,
            Protocol::Frame => Wire::Frame,
            Protocol::Ws => Wire::Ws,
            Protocol::Irc => Wire::Irc,
        },
        server_pids: cli.server_pid,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("chatd-bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report = runtime.block_on(async {
        match cli.scenario {
            Scenario::Connections {
                sessions,
                room_size,
                first,
                concurrency,
                hold,
                timeout,
            } => {
                let args = connections::ConnectionsArgs {
                    sessions,
                    room_size,
                    first,
                    concurrency,
                    hold: secs(hold),
                    timeout: secs(timeout),
                };
                connections::run(target, args).await
            }
            Scenario::Fanout {
                rooms,
                members,
                senders,
                rate,
                duration,
                payload,
                concurrency,
                drain,
                window,
            } => {
                let args = fanout::FanoutArgs {
                    rooms,
                    members,
                    senders,
                    rate,
                    duration: secs(duration),
                    payload,
                    concurrency,
                    drain: secs(drain),
                    window,
                };
                fanout::run(target, args).await
            }
            Scenario::Churn {
                concurrency,
                duration,
            } => {
                let args = churn::ChurnArgs {
                    concurrency,
                    duration: secs(duration),
                };
                churn::run(target, args).await
            }
            Scenario::Store {
                messages,
                rooms,
                fetch,
                fetches,
                batch_ms,
                payload,
            } => {
                let args = store::StoreArgs {
                    messages,
                    rooms,
                    fetch,
                    fetches,
                    batch: Duration::from_millis(batch_ms),
                    payload,
                };
                store::run(args).await
            }
        }
    });
    // Connections still open are dropped with the runtime, without waiting on them.
    runtime.shutdown_background();
    if cli.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_table());
    }
    ExitCode::SUCCESS
}
