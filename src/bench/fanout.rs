//! `fanout`: R rooms × M members, S senders (members too) sending for D seconds at a target rate
//! or as fast as the server takes them. Every member checks that it receives every message of
//! every sender in its room, in order; latency is measured from the sender's stamp to receipt on
//! the same clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::client::{BenchClient, BenchReader, BenchWriter, Delivery, Incoming};
use super::report::Report;
use super::{CpuMeter, Target, Wire, now_ns, progress};
use crate::protocol::Command;

/// Parameters of the `fanout` scenario.
#[derive(Debug, Clone)]
pub struct FanoutArgs {
    /// Rooms.
    pub rooms: usize,
    /// Members per room (senders included).
    pub members: usize,
    /// Senders in all (spread over the rooms).
    pub senders: usize,
    /// Messages per second per sender; 0 means as fast as the server takes them.
    pub rate: f64,
    /// How long the senders send.
    pub duration: Duration,
    /// Bytes of padding per message.
    pub payload: usize,
    /// Connections being set up at once.
    pub concurrency: usize,
    /// How long to wait, after the senders stop, for the last deliveries.
    pub drain: Duration,
    /// How many messages a room's senders may be ahead of the room's average member; keeps a
    /// max-rate run closed-loop, so that it measures the server rather than a receiver falling
    /// behind. 0 turns the window off.
    pub window: u64,
}

/// A room's send window: messages sent to it and deliveries made in it.
#[derive(Default)]
struct Window {
    sent: AtomicU64,
    delivered: AtomicU64,
    members: AtomicU64,
    progress: Notify,
}

impl Window {
    /// Waits until one more message fits in the window.
    async fn admit(&self, window: u64) {
        if window == 0 {
            return;
        }
        loop {
            let notified = self.progress.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let members = self.members.load(Ordering::Relaxed);
            let ahead = self.sent.load(Ordering::Relaxed) * members;
            if ahead <= self.delivered.load(Ordering::Relaxed) + window * members {
                return;
            }
            notified.await;
        }
    }

    /// Counts `n` deliveries; waiting senders are woken every 64.
    fn delivered(&self, n: u64) {
        let before = self.delivered.fetch_add(n, Ordering::Relaxed);
        if before / 64 != (before + n) / 64 {
            self.progress.notify_waiters();
        }
    }
}

/// What one member saw.
struct Seen {
    /// Messages received from each sender.
    got: Vec<u64>,
    /// Highest sequence number seen from each sender.
    last: Vec<u64>,
    reordered: u64,
    latency_us: Histogram<u64>,
    cut_off: bool,
    room: usize,
    /// The sender this member is, when its own messages do not come back to it (IRC).
    own: Option<usize>,
}

fn histogram() -> Histogram<u64> {
    // One microsecond to ten minutes, three significant digits: constant, valid bounds.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// The sender, sequence number and send time (ns) a fan-out message carries as its first three
/// words.
fn message_fields(text: &str) -> Option<(usize, u64, u64)> {
    let mut fields = text.split(' ');
    let sender = fields.next()?.parse().ok()?;
    let seq = fields.next()?.parse().ok()?;
    let stamp = fields.next()?.parse().ok()?;
    Some((sender, seq, stamp))
}

/// Where a receiving member is: its room, and the sender it is when its own messages do not
/// come back to it.
struct Place {
    room: usize,
    own: Option<usize>,
}

async fn receive(
    mut reader: BenchReader,
    Place { room, own }: Place,
    senders: usize,
    stop: CancellationToken,
    received: Arc<AtomicU64>,
    last_at: Arc<AtomicU64>,
    window: Arc<Window>,
) -> Seen {
    let mut seen = Seen {
        got: vec![0; senders],
        last: vec![0; senders],
        reordered: 0,
        latency_us: histogram(),
        cut_off: false,
        room,
        own,
    };
    // One wait for the stop, registered once: a fresh one per message cost the load generator
    // a third of its time (each registers with and leaves the token's shared waiter list).
    let stopped = stop.cancelled();
    tokio::pin!(stopped);
    loop {
        // Everything one read brought is handled as a batch: one clock reading (the moment the
        // read returned is when these deliveries arrived) and one update of the shared
        // counters, which every member's task touches.
        let mut now = None;
        let mut count = 0;
        let read = tokio::select! {
            biased;
            _ = &mut stopped => break,
            read = reader.recv_many(|delivery| match delivery {
                Delivery::Message { text, .. } => {
                    let Some((sender, seq, stamp)) = message_fields(text) else {
                        return;
                    };
                    if sender >= senders {
                        return;
                    }
                    let now = *now.get_or_insert_with(now_ns);
                    let _ = seen
                        .latency_us
                        .record((now.saturating_sub(stamp) / 1000).max(1));
                    seen.got[sender] += 1;
                    if seq <= seen.last[sender] {
                        seen.reordered += 1;
                    } else {
                        seen.last[sender] = seq;
                    }
                    count += 1;
                }
                Delivery::Other(Incoming::Error(code)) if code == "send_queue_exceeded" => {
                    seen.cut_off = true;
                }
                Delivery::Other(_) => {}
            }) => read,
        };
        if let Some(now) = now {
            received.fetch_add(count, Ordering::Relaxed);
            last_at.fetch_max(now, Ordering::Relaxed);
            window.delivered(count);
        }
        if !matches!(read, Ok(true)) {
            seen.cut_off = true;
            break;
        }
    }
    // A member that stops receiving no longer holds its room's senders back.
    window.members.fetch_sub(1, Ordering::Relaxed);
    window.progress.notify_waiters();
    seen
}

async fn send(
    mut writer: BenchWriter,
    index: usize,
    args: FanoutArgs,
    pad: String,
    window: Arc<Window>,
) -> (u64, BenchWriter) {
    let deadline = tokio::time::Instant::now() + args.duration;
    let mut ticker = (args.rate > 0.0).then(|| {
        let mut t = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate));
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    let mut seq = 0u64;
    while tokio::time::Instant::now() < deadline {
        if let Some(t) = ticker.as_mut() {
            t.tick().await;
        }
        window.admit(args.window).await;
        window.sent.fetch_add(1, Ordering::Relaxed);
        seq += 1;
        let text = format!("{index} {seq} {} {pad}", now_ns());
        if writer.say(&text).await.is_err() {
            return (seq - 1, writer);
        }
    }
    (seq, writer)
}

/// Runs the scenario.
pub async fn run(target: Target, args: FanoutArgs) -> Report {
    let rooms = args.rooms.max(1);
    let members = args.members.max(1);
    let senders = args.senders.min(rooms * members);
    let bar = progress("connecting");

    // Set up every member: nick f{room}_{m}, room fan{room}.
    let permits = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let mut setup = JoinSet::new();
    for i in 0..rooms * members {
        let (room, m) = (i / members, i % members);
        let target = target.clone();
        let permits = permits.clone();
        setup.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let mut c = BenchClient::connect(
                target.addr(i),
                target.source(i),
                target.protocol,
                &format!("f{room}_{m}"),
            )
            .await?;
            c.wait_for(|m| *m == Incoming::NickOk).await?;
            c.send(&Command::Join(format!("fan{room}"))).await?;
            c.wait_for(|m| *m == Incoming::Joined).await?;
            Ok::<_, std::io::Error>((room, m, c))
        });
    }
    let mut clients = Vec::new();
    let mut setup_errors = 0usize;
    let mut first_error = None;
    while let Some(done) = setup.join_next().await {
        match done {
            Ok(Ok(client)) => clients.push(client),
            Ok(Err(e)) => {
                setup_errors += 1;
                first_error.get_or_insert(e.to_string());
            }
            Err(e) => {
                setup_errors += 1;
                first_error.get_or_insert(e.to_string());
            }
        }
        bar.set_message(format!(
            "{} of {} members ready",
            clients.len(),
            rooms * members
        ));
    }

    // Sender s is member s / rooms of room s % rooms.
    let stop = CancellationToken::new();
    let received = Arc::new(AtomicU64::new(0));
    let last_at = Arc::new(AtomicU64::new(0));
    let mut receivers = JoinSet::new();
    let mut writers = Vec::new();
    let mut room_of_sender = vec![None; senders];
    let mut members_in_room = vec![0u64; rooms];
    let windows: Vec<Arc<Window>> = (0..rooms).map(|_| Arc::default()).collect();
    // IRC servers do not echo a message to its sender: each reaches the others only.
    let echo = target.protocol != Wire::Irc;
    for (room, _, _) in &clients {
        windows[*room].members.fetch_add(1, Ordering::Relaxed);
    }
    if !echo {
        for (room, window) in windows.iter().enumerate() {
            let room_senders = (0..senders).filter(|s| s % rooms == room).count() as u64;
            let members = window.members.load(Ordering::Relaxed);
            window.members.store(
                members.saturating_sub(room_senders.min(1)),
                Ordering::Relaxed,
            );
        }
    }
    // Writing halves of the members that only listen: dropping one would half-close its
    // connection, which the server takes as the client leaving.
    let mut listeners = Vec::new();
    for (room, m, client) in clients {
        let BenchClient { reader, writer } = client;
        let index = m * rooms + room;
        let own = (!echo && index < senders).then_some(index);
        if index < senders {
            room_of_sender[index] = Some(room);
            writers.push((index, writer));
        } else {
            listeners.push(writer);
        }
        members_in_room[room] += 1;
        receivers.spawn(receive(
            reader,
            Place { room, own },
            senders,
            stop.clone(),
            received.clone(),
            last_at.clone(),
            windows[room].clone(),
        ));
    }

    bar.set_message("sending");
    let cpu = CpuMeter::start(&target.server_pids);
    let started = now_ns();
    let pad = "x".repeat(args.payload);
    let mut sending = JoinSet::new();
    for (index, writer) in writers {
        let args = args.clone();
        let pad = pad.clone();
        let window = room_of_sender[index]
            .map(|r| windows[r].clone())
            .unwrap_or_default();
        sending.spawn(async move { (index, send(writer, index, args, pad, window).await) });
    }
    let mut sent_by = vec![0u64; senders];
    while let Some(done) = sending.join_next().await {
        if let Ok((index, (count, writer))) = done {
            sent_by[index] = count;
            listeners.push(writer);
        }
    }
    let sent: u64 = sent_by.iter().sum();
    // What one member of each room should receive.
    let per_member: Vec<u64> = (0..rooms)
        .map(|room| {
            (0..senders)
                .filter(|s| room_of_sender[*s] == Some(room))
                .map(|s| sent_by[s])
                .sum()
        })
        .collect();
    let own_sends: u64 = if echo { 0 } else { sent };
    let expected_all: u64 = (0..rooms)
        .map(|r| per_member[r] * members_in_room[r])
        .sum::<u64>()
        - own_sends;

    bar.set_message("draining");
    let drain_deadline = tokio::time::Instant::now() + args.drain;
    let mut before = u64::MAX;
    while tokio::time::Instant::now() < drain_deadline {
        let now = received.load(Ordering::Relaxed);
        if now >= expected_all || now == before {
            break;
        }
        before = now;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (bench_cores, server_cores) = cpu.cores();
    let server_rss = target.server_rss_kib();
    stop.cancel();
    bar.finish_and_clear();

    // Members that were cut off are counted apart; every other member must have everything.
    let mut latency = histogram();
    let (mut deliveries, mut expected, mut lost, mut reordered, mut cut_off) = (0, 0, 0, 0, 0usize);
    while let Some(Ok(seen)) = receivers.join_next().await {
        deliveries += seen.got.iter().sum::<u64>();
        reordered += seen.reordered;
        let _ = latency.add(&seen.latency_us);
        if seen.cut_off {
            cut_off += 1;
            continue;
        }
        let own_sent = seen.own.map_or(0, |s| sent_by[s]);
        expected += per_member[seen.room] - own_sent;
        lost += (0..senders)
            .filter(|s| room_of_sender[*s] == Some(seen.room) && Some(*s) != seen.own)
            .map(|s| sent_by[s].saturating_sub(seen.got[s]))
            .sum::<u64>();
    }
    drop(listeners);
    let window_secs = (last_at.load(Ordering::Relaxed).saturating_sub(started)) as f64 / 1e9;
    let ms = |q: f64| (!latency.is_empty()).then(|| latency.value_at_quantile(q) as f64 / 1000.0);

    let mut report = Report::new("fanout");
    report
        .set("protocol", format!("{:?}", target.protocol).to_lowercase())
        .set("nodes", target.addrs.len())
        .set("rooms", rooms)
        .set("members_per_room", members)
        .set("senders", senders)
        .set(
            "rate_per_sender",
            if args.rate > 0.0 {
                args.rate.to_string()
            } else {
                "max".into()
            },
        )
        .set("window", args.window)
        .maybe("duration_secs", Some(args.duration.as_secs_f64()))
        .set("setup_errors", setup_errors)
        .set("messages_sent", sent)
        .set("deliveries_expected", expected)
        .set("deliveries", deliveries)
        .maybe(
            "deliveries_per_sec",
            Some(deliveries as f64 / window_secs.max(1e-9)),
        )
        .maybe("latency_p50_ms", ms(0.5))
        .maybe("latency_p99_ms", ms(0.99))
        .maybe("latency_p999_ms", ms(0.999))
        .maybe(
            "latency_max_ms",
            (!latency.is_empty()).then(|| latency.max() as f64 / 1000.0),
        )
        .set("lost", lost)
        .set("reordered", reordered)
        .set("members_cut_off", cut_off)
        .maybe("bench_cpu_cores", bench_cores)
        .maybe("server_cpu_cores", server_cores)
        .set("server_rss_kib", server_rss);
    if let Some(e) = first_error {
        report.set("first_error", e);
    }
    report
}
