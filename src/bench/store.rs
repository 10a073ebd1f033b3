//! The history store on its own, without a server: sustained writes through the batching writer
//! into a scratch SQLite file, then fetches of a room's recent history, as a joiner's replay or a
//! client's catch-up makes them.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::report::{Report, round3};
use crate::protocol::ChatMessage;
use crate::server::config::{Backend, HistoryConfig, Retention, SyncMode};
use crate::server::store::{Range, Store};

/// How to run the store scenario.
#[derive(Debug, Clone)]
pub struct StoreArgs {
    /// Messages written.
    pub messages: usize,
    /// Rooms they are spread over.
    pub rooms: usize,
    /// Messages per fetch.
    pub fetch: u32,
    /// Fetches timed.
    pub fetches: usize,
    /// `history.batch_ms`.
    pub batch: Duration,
    /// Bytes of text per message.
    pub payload: usize,
}

/// The scratch database and its WAL files, removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Runs the scenario and reports writes per second and fetch latency.
pub async fn run(args: StoreArgs) -> Report {
    let mut report = Report::new("store");
    let scratch =
        Scratch(std::env::temp_dir().join(format!("chatd-bench-store-{}.db", std::process::id())));
    let config = HistoryConfig {
        backend: Backend::Sqlite(scratch.0.clone()),
        sync: SyncMode::Batch,
        batch: args.batch,
        write_queue: args.messages.max(1),
        retention: Retention::default(),
        node: "bench".into(),
    };
    let store = match Store::open(&config) {
        Ok(Some(store)) => store,
        Ok(None) => {
            report.set("error", "no store");
            return report;
        }
        Err(e) => {
            report.set("error", e.to_string());
            return report;
        }
    };
    let rooms = args.rooms.max(1);
    let text = "x".repeat(args.payload);
    let started = Instant::now();
    for i in 0..args.messages {
        store.append(ChatMessage {
            room: format!("room{}", i % rooms),
            seq: (i / rooms) as u64 + 1,
            from: format!("user{}", i % 97),
            text: text.clone(),
            action: false,
            ts: i as u64,
        });
    }
    store.flush().await;
    let elapsed = started.elapsed().as_secs_f64();
    let health = store.health();
    report
        .set("messages", args.messages as u64)
        .set("rooms", rooms as u64)
        .set("written", health.written)
        .set("dropped", health.dropped)
        .set("writes_per_sec", round3(health.written as f64 / elapsed));

    // One microsecond to a minute, three significant digits: constant, valid bounds.
    let mut latency =
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds");
    let mut fetched = 0;
    for i in 0..args.fetches {
        let room = format!("room{}", i % rooms);
        let started = Instant::now();
        if let Ok(messages) = store.fetch(&room, Range::last(args.fetch)).await {
            fetched = messages.len();
        }
        let _ = latency.record(started.elapsed().as_micros() as u64);
    }
    let ms = |q: f64| latency.value_at_quantile(q) as f64 / 1000.0;
    report
        .set("fetch_messages", fetched as u64)
        .set("fetch_p50_ms", round3(ms(0.5)))
        .set("fetch_p99_ms", round3(ms(0.99)))
        .set("fetch_max_ms", round3(latency.max() as f64 / 1000.0));
    report
}
