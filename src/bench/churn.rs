//! `churn`: connect → nick → join → message (and its echo; on IRC, a ping's answer) → quit (and
//! the close), in a loop, with a fixed number of cycles in flight; reports completed cycles per
//! second and errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::client::{BenchClient, Incoming};
use super::report::Report;
use super::{CpuMeter, Target, Wire, progress};
use crate::protocol::Command;

/// Parameters of the `churn` scenario.
#[derive(Debug, Clone)]
pub struct ChurnArgs {
    /// Cycles in flight at once.
    pub concurrency: usize,
    /// How long to run.
    pub duration: Duration,
}

async fn cycle(target: &Target, worker: usize, n: u64, index: usize) -> std::io::Result<()> {
    let nick = format!("ch{worker}_{n}");
    // A new source address every few thousand cycles keeps clear of ports in TIME_WAIT.
    let source = target.source(index % (super::CONNECTIONS_PER_SOURCE * 200));
    let mut c = BenchClient::connect(target.addr(worker), source, target.protocol, &nick).await?;
    c.wait_for(|m| *m == Incoming::NickOk).await?;
    c.send(&Command::Join(format!("churn{}", worker % 4)))
        .await?;
    c.wait_for(|m| *m == Incoming::Joined).await?;
    let text = format!("cycle {n}");
    c.writer.say(&text).await?;
    // IRC servers do not echo a message to its sender: a ping after it says it was handled.
    let irc = target.protocol == Wire::Irc;
    if irc {
        c.send(&Command::Ping(text.clone())).await?;
    }
    loop {
        match c.recv().await? {
            Some(Incoming::Message { from, text: got }) if !irc && from == nick && got == text => {
                break;
            }
            Some(Incoming::Pong) if irc => break,
            Some(Incoming::Error(code)) => return Err(std::io::Error::other(code)),
            Some(_) => {}
            None => return Err(std::io::ErrorKind::UnexpectedEof.into()),
        }
    }
    c.send(&Command::Quit(None)).await?;
    // The cycle ends when the server closes the connection.
    while c.recv().await?.is_some() {}
    Ok(())
}

/// Runs the scenario.
pub async fn run(target: Target, args: ChurnArgs) -> Report {
    let bar = progress("churning");
    let cpu = CpuMeter::start(&target.server_pids);
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + args.duration;
    let started_cycles = Arc::new(AtomicU64::new(0));
    let mut workers = JoinSet::new();
    for worker in 0..args.concurrency.max(1) {
        let (target, done, failed) = (target.clone(), done.clone(), failed.clone());
        let started_cycles = started_cycles.clone();
        workers.spawn(async move {
            let mut first_error = None;
            let mut n = 0;
            while Instant::now() < deadline {
                n += 1;
                let index = started_cycles.fetch_add(1, Ordering::Relaxed) as usize;
                let attempt = cycle(&target, worker, n, index);
                match tokio::time::timeout(Duration::from_secs(10), attempt).await {
                    Ok(Ok(())) => {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Err(e)) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        first_error.get_or_insert(e.to_string());
                    }
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        first_error.get_or_insert("a cycle took over 10 s".to_string());
                    }
                }
            }
            first_error
        });
    }
    let mut first_error = None;
    while let Some(result) = workers.join_next().await {
        if let Ok(Some(e)) = result {
            first_error.get_or_insert(e);
        }
        bar.set_message(format!("{} cycles", done.load(Ordering::Relaxed)));
    }
    let secs = started.elapsed().as_secs_f64();
    let (bench_cores, server_cores) = cpu.cores();
    bar.finish_and_clear();
    let cycles = done.load(Ordering::Relaxed);
    let mut report = Report::new("churn");
    report
        .set("protocol", format!("{:?}", target.protocol).to_lowercase())
        .set("nodes", target.addrs.len())
        .set("concurrency", args.concurrency)
        .maybe("duration_secs", Some(secs))
        .set("cycles", cycles)
        .maybe("cycles_per_sec", Some(cycles as f64 / secs.max(1e-9)))
        .set("errors", failed.load(Ordering::Relaxed))
        .maybe("bench_cpu_cores", bench_cores)
        .maybe("server_cpu_cores", server_cores);
    if let Some(e) = first_error {
        report.set("first_error", e);
    }
    report
}
