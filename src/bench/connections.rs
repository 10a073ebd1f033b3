//! `connections`: open many sessions (each sets a nick and joins a room), hold them idle, and
//! report the server's resident memory per session and the connect rate.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::client::{BenchClient, Incoming};
use super::report::Report;
use super::{CpuMeter, Target, progress};
use crate::protocol::Command;

/// Parameters of the `connections` scenario.
#[derive(Debug, Clone)]
pub struct ConnectionsArgs {
    /// Sessions to open.
    pub sessions: usize,
    /// Sessions per room.
    pub room_size: usize,
    /// The number of the first session.
    pub first: usize,
    /// Connections being set up at once.
    pub concurrency: usize,
    /// How long to hold the sessions once all are ready.
    pub hold: Duration,
    /// Give up on setup after this long.
    pub timeout: Duration,
}

/// Connects one session: nick `c{i}`, room `c{i / room_size}`.
async fn open(target: &Target, i: usize, room_size: usize) -> std::io::Result<BenchClient> {
    let mut client = BenchClient::connect(
        target.addr(i),
        target.source(i),
        target.protocol,
        &format!("c{i}"),
    )
    .await?;
    client.wait_for(|m| *m == Incoming::NickOk).await?;
    client
        .send(&Command::Join(format!("c{}", i / room_size.max(1))))
        .await?;
    client.wait_for(|m| *m == Incoming::Joined).await?;
    Ok(client)
}

/// Runs the scenario.
pub async fn run(target: Target, args: ConnectionsArgs) -> Report {
    let rss_before = target.server_rss_kib();
    let cpu = CpuMeter::start(&target.server_pids);
    let bar = progress("connecting");
    let started = Instant::now();
    let permits = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let mut setup = JoinSet::new();
    for i in args.first..args.first + args.sessions {
        let target = target.clone();
        let permits = permits.clone();
        let room_size = args.room_size;
        setup.spawn(async move {
            let _permit = permits.acquire_owned().await;
            open(&target, i, room_size).await
        });
    }
    let mut ready = Vec::with_capacity(args.sessions);
    let mut errors = 0usize;
    let mut first_error = None;
    let deadline = tokio::time::Instant::now() + args.timeout;
    while let Ok(Some(done)) = tokio::time::timeout_at(deadline, setup.join_next()).await {
        match done {
            Ok(Ok(client)) => ready.push(client),
            Ok(Err(e)) => {
                errors += 1;
                first_error.get_or_insert(e.to_string());
            }
            Err(e) => {
                errors += 1;
                first_error.get_or_insert(e.to_string());
            }
        }
        bar.set_message(format!(
            "{} of {} sessions ready",
            ready.len(),
            args.sessions
        ));
    }
    let timed_out = args.sessions - ready.len() - errors;
    setup.abort_all();
    let ready_secs = started.elapsed().as_secs_f64();
    // Idle sessions still receive presence lines for later joiners: drain them while holding.
    let mut idle = JoinSet::new();
    for mut client in ready {
        idle.spawn(async move { while let Ok(Some(_)) = client.recv().await {} });
    }
    bar.set_message("holding");
    tokio::time::sleep(args.hold).await;
    let rss_after = target.server_rss_kib();
    let (bench_cores, server_cores) = cpu.cores();
    bar.finish_and_clear();
    let opened = idle.len();
    idle.abort_all();

    let mut report = Report::new("connections");
    report
        .set("protocol", format!("{:?}", target.protocol).to_lowercase())
        .set("nodes", target.addrs.len())
        .set("sessions_requested", args.sessions)
        .set("sessions_ready", opened)
        .set("errors", errors)
        .set("timed_out", timed_out)
        .maybe("ready_secs", Some(ready_secs))
        .maybe(
            "connect_rate_per_sec",
            Some(opened as f64 / ready_secs.max(1e-9)),
        )
        .set("server_rss_before_kib", rss_before)
        .set("server_rss_after_kib", rss_after)
        .maybe(
            "server_rss_per_session_kib",
            rss_before
                .zip(rss_after)
                .filter(|_| opened > 0)
                .map(|(b, a)| (a as f64 - b as f64) / opened as f64),
        )
        .maybe("bench_cpu_cores", bench_cores)
        .maybe("server_cpu_cores", server_cores);
    if let Some(e) = first_error {
        report.set("first_error", e);
    }
    report
}
