//! Overload: slow readers, floods, too many connections, idle clients.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::util::Server;

#[test]
fn a_client_that_never_reads_is_cut_off_and_the_others_get_everything() {
    let server =
        Server::start("[limits]\nrate = 1000000.0\nburst = 1000000\n[history]\nreplay = 0\n");
    let payload = "p".repeat(200);
    let mut slow = server.user("slow", "flood");
    let mut fast = server.user("fast", "flood");
    let mut sender = server.user("sender", "flood");
    fast.expect("sender joined");

    // The fast reader checks that every message arrives, in order, and reports its progress.
    let progress = Arc::new(AtomicUsize::new(0));
    let seen = progress.clone();
    let reader = std::thread::spawn(move || {
        loop {
            let line = fast.next_line().expect("the fast reader keeps receiving");
            if line.ends_with("<sender> end") {
                return seen.load(Ordering::SeqCst);
            }
            if let Some(rest) = line.split("<sender> m").nth(1) {
                let n: usize = rest.split(' ').next().unwrap().parse().unwrap();
                assert_eq!(
                    n,
                    seen.load(Ordering::SeqCst),
                    "messages arrive in order, none lost"
                );
                seen.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    // The sender reads its own echoes so that it is not a slow reader itself.
    let mut echo = sender.clone_reader();
    let drain = std::thread::spawn(move || while echo.next_line().is_some() {});

    // Send in batches, never more than a little ahead of the fast reader, until the slow
    // reader (whose kernel buffers fill first) is cut off.
    let mut sent = 0;
    while !server.log().contains("send queue exceeded") {
        assert!(sent < 2_000_000, "the slow reader was never cut off");
        for _ in 0..200 {
            sender.send(&format!("m{sent} {payload}"));
            sent += 1;
        }
        while progress.load(Ordering::SeqCst) + 300 < sent {
            assert!(!reader.is_finished(), "the fast reader stopped");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    sender.send("end");
    assert_eq!(reader.join().unwrap(), sent);
    let lines = slow.expect_closed();
    assert!(!lines.is_empty());
    drop(sender);
    let _ = drain.join();
}

#[test]
fn flooding_past_the_rate_is_refused_not_dropped() {
    let server = Server::start("[limits]\nrate = 0.01\nburst = 5\n");
    let mut a = server.user("alice", "general");
    // The two setup commands used two tokens of the burst.
    let mut burst = String::new();
    for i in 0..20 {
        burst.push_str(&format!("flood {i}\n"));
    }
    a.send_raw(burst.as_bytes());
    let (mut said, mut refused) = (0, 0);
    while said + refused < 20 {
        let line = a.next_line().expect("an answer to every line");
        if line.contains("<alice> flood") {
            said += 1;
        } else if line.starts_with("! rate_limited:") {
            refused += 1;
        }
    }
    assert_eq!((said, refused), (3, 17));
}

#[test]
fn connections_past_the_limit_get_server_full() {
    let server = Server::start("[limits]\nmax_connections = 3\n");
    let mut clients: Vec<_> = (0..3).map(|_| server.line()).collect();
    let mut extra = std::net::TcpStream::connect(server.addr).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut extra, &mut text).unwrap();
    assert!(text.starts_with("! server_full:"), "{text:?}");
    clients[0].send("/ping alive");
    clients[0].expect("pong alive");
    clients[1].send("/quit");
    clients[1].expect_closed();
    // A slot is free again (the session may take a moment to end).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut c = std::net::TcpStream::connect(server.addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut first = [0u8; 2];
        std::io::Read::read_exact(&mut c, &mut first).unwrap();
        if &first != b"! " {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the slot never came back"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn idle_clients_are_closed_after_the_idle_timeout() {
    let server = Server::start("[limits]\nidle_timeout_secs = 1\n");
    let mut idle = server.user("idle", "general");
    let mut watcher = server.user("watcher", "general");
    let idle = std::thread::spawn(move || idle.expect_closed());
    // The watcher stays active (pings) and sees the idle user go.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !watcher
        .seen
        .iter()
        .any(|l| l.ends_with("idle left (idle timeout)"))
    {
        assert!(std::time::Instant::now() < deadline, "{:?}", watcher.seen);
        watcher.sync();
        std::thread::sleep(Duration::from_millis(100));
    }
    let lines = idle.join().unwrap();
    assert!(
        lines.iter().any(|l| l.starts_with("! idle_timeout:")),
        "{lines:?}"
    );
}
