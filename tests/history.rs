//! Durable history against the real binary and a real SQLite file: restarts keep the history and
//! the numbering, a crash loses at most the batch window, clients catch up by sequence number,
//! and a database that cannot be used is handled as the manual says.

use std::process::Command;
use std::time::Duration;

use chatd::protocol::{ChatMessage, Command as Cmd, Event};
use serde_json::Value;

use crate::util::{FrameClient, Server, WAIT, assert_success, eventually};

/// A framed user with a nick, in `room` (its history and `Joined` read).
fn framed(server: &Server, nick: &str, room: &str) -> (FrameClient, Vec<ChatMessage>) {
    let mut c = FrameClient::connect(server.addr, &Cmd::Nick(nick.into()));
    c.expect("nick ok", |e| matches!(e, Event::NickOk { .. }));
    c.send(&Cmd::Join(room.into()));
    let history = match c.expect("history", |e| matches!(e, Event::History { .. })) {
        Event::History { messages, .. } => messages,
        _ => unreachable!(),
    };
    c.expect("joined", |e| matches!(e, Event::Joined { .. }));
    (c, history)
}

/// Says `text` and returns it as numbered by the room.
fn say(c: &mut FrameClient, room: &str, text: &str) -> ChatMessage {
    c.send(&Cmd::Msg {
        room: Some(room.into()),
        text: text.into(),
    });
    match c.expect(
        "own message",
        |e| matches!(e, Event::Message(m) if m.text == text),
    ) {
        Event::Message(m) => m,
        _ => unreachable!(),
    }
}

/// The messages a history request answers with.
fn fetch(c: &mut FrameClient, command: Cmd) -> Vec<ChatMessage> {
    c.send(&command);
    match c.expect("history", |e| matches!(e, Event::History { .. })) {
        Event::History { messages, .. } => messages,
        _ => unreachable!(),
    }
}

fn seqs(messages: &[ChatMessage]) -> Vec<u64> {
    messages.iter().map(|m| m.seq).collect()
}

fn chatctl_json(server: &Server, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_chatctl"))
        .arg("--socket")
        .arg(&server.socket)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    assert_success(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_restart_keeps_the_history_and_continues_the_numbering() {
    let server = Server::start("");
    let (mut ann, history) = framed(&server, "ann", "keep");
    assert!(history.is_empty());
    let said: Vec<ChatMessage> = (1..=30)
        .map(|i| say(&mut ann, "keep", &format!("m{i}")))
        .collect();
    assert_eq!(seqs(&said), (1..=30).collect::<Vec<_>>());
    drop(ann);

    let server = server.stop_and_restart("");
    let (mut bob, replay) = framed(&server, "bob", "keep");
    assert_eq!(replay, said, "the replay on join comes back from the store");
    let next = say(&mut bob, "keep", "after the restart");
    assert_eq!(next.seq, 31, "the numbering continues");

    // Catch-up by number: exactly the messages after (or before) one, at most max_fetch.
    let after = fetch(
        &mut bob,
        Cmd::HistoryRange {
            room: Some("keep".into()),
            after: Some(25),
            before: None,
            limit: None,
        },
    );
    assert_eq!(seqs(&after), [26, 27, 28, 29, 30, 31]);
    let before = fetch(
        &mut bob,
        Cmd::HistoryRange {
            room: Some("keep".into()),
            after: None,
            before: Some(4),
            limit: Some(2),
        },
    );
    assert_eq!(seqs(&before), [2, 3]);
    bob.send(&Cmd::HistoryRange {
        room: Some("keep".into()),
        after: Some(0),
        before: None,
        limit: Some(100_000),
    });
    bob.expect(
        "too many",
        |e| matches!(e, Event::Error { message, .. } if message.contains("at most 200")),
    );

    // chatctl shows what is stored, and where.
    let rooms = chatctl_json(&server, &["rooms"]);
    let keep = rooms
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "keep")
        .cloned()
        .unwrap();
    assert_eq!(keep["messages"], 31);
    eventually(WAIT, "the 31st message stored", || {
        chatctl_json(&server, &["rooms"])
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "keep" && r["stored"] == 31)
    });
    // An administrator reads and purges.
    let last = chatctl_json(&server, &["history", "#keep", "3"]);
    let texts: Vec<&str> = last
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(texts, ["m29", "m30", "after the restart"]);
    let purged = chatctl_json(&server, &["purge", "keep", "--before", "11"]);
    assert_eq!(purged["purged"], 10, "{purged}");
    let oldest = fetch(
        &mut bob,
        Cmd::HistoryRange {
            room: Some("keep".into()),
            after: Some(0),
            before: None,
            limit: Some(3),
        },
    );
    assert_eq!(seqs(&oldest), [11, 12, 13], "the purged range is gone");
    assert_eq!(say(&mut bob, "keep", "numbering goes on").seq, 32);
    let status = chatctl_json(&server, &["status"]);
    assert!(
        status["history"]["place"]
            .as_str()
            .is_some_and(|p| p.ends_with("history.db")),
        "{status}"
    );
    assert_eq!(status["history"]["error"], Value::Null);
}

#[test]
fn a_crash_loses_at_most_the_batch_window_and_never_reuses_a_number() {
    let server = Server::start("[history]\nbatch_ms = 20\n");
    let (mut ann, _) = framed(&server, "ann", "steady");
    let mut said = Vec::new();
    for i in 0..200 {
        said.push(say(&mut ann, "steady", &format!("s{i}")));
    }
    // Well past the batch window: all of these are committed.
    std::thread::sleep(Duration::from_millis(300));
    // These are delivered (ann reads every one), and the crash comes within the batch window.
    let mut delivered = 200;
    for i in 200..260 {
        delivered = say(&mut ann, "steady", &format!("s{i}")).seq;
    }
    let server = server.restart(""); // SIGKILL mid-stream
    let (mut bob, _) = framed(&server, "bob", "steady");
    let stored = fetch(
        &mut bob,
        Cmd::HistoryRange {
            room: Some("steady".into()),
            after: Some(0),
            before: None,
            limit: Some(200),
        },
    );
    assert_eq!(
        stored, said,
        "everything older than the batch window survived"
    );
    let rest = fetch(
        &mut bob,
        Cmd::HistoryRange {
            room: Some("steady".into()),
            after: Some(200),
            before: None,
            limit: Some(200),
        },
    );
    let numbers = seqs(&rest);
    assert!(
        numbers.iter().copied().eq(201..201 + numbers.len() as u64),
        "the survivors of the last window are the oldest of it, in order: {numbers:?}"
    );
    let next = say(&mut bob, "steady", "after the crash");
    assert!(
        next.seq > delivered,
        "numbering continues after every number delivered before the crash ({delivered}), \
         never reusing one a client has seen: got {}",
        next.seq
    );
}

#[test]
fn a_file_that_is_not_a_chatd_database_stops_the_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.db");
    std::fs::write(
        &path,
        "this is not a database, it is a shopping list\n".repeat(100),
    )
    .unwrap();
    let out = Command::new(crate::util::chatd_bin())
        .args(["--listen", "127.0.0.1:0", "--no-web", "--no-irc"])
        .env("CHATD_HISTORY__PATH", &path)
        .env("CHATD_CONTROL__SOCKET", dir.path().join("c.sock"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&path.display().to_string()) && stderr.contains("not a chatd"),
        "{stderr}"
    );
}

/// A directory made read-only by a read-only bind mount of itself (root ignores file modes);
/// the mount goes when dropped.
struct ReadOnly(std::path::PathBuf);

impl ReadOnly {
    fn make(dir: &std::path::Path) -> ReadOnly {
        let run = |args: &[&str]| {
            let status = Command::new("mount").args(args).status().unwrap();
            assert!(status.success(), "mount {args:?} (the tests run as root)");
        };
        let dir_text = dir.to_str().unwrap();
        run(&["--bind", dir_text, dir_text]);
        run(&["-o", "remount,ro,bind", dir_text]);
        ReadOnly(dir.to_path_buf())
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn with_a_read_only_database_chat_goes_on_and_status_shows_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ro").join("history.db");
    let config = format!("[history]\npath = \"{}\"\n", db.display());
    let server = Server::start(&config);
    let (mut ann, _) = framed(&server, "ann", "ro");
    say(&mut ann, "ro", "before");
    drop(ann);
    let mut server = server;
    server.signal("TERM");
    server.wait_exit(WAIT);
    drop(server);

    let _read_only = ReadOnly::make(db.parent().unwrap());
    let server = Server::start(&config);
    let (mut ann, replay) = framed(&server, "ann", "ro");
    assert_eq!(seqs(&replay), [1], "reading still works");
    let (mut bob, _) = framed(&server, "bob", "ro");
    let said = say(&mut ann, "ro", "while read-only");
    assert_eq!(said.seq, 2);
    bob.expect(
        "delivered",
        |e| matches!(e, Event::Message(m) if m.text == "while read-only"),
    );
    eventually(WAIT, "status shows the failing writes", || {
        chatctl_json(&server, &["status"])["history"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("readonly") || e.contains("read-only"))
    });
    // Chat goes on.
    say(&mut ann, "ro", "still chatting");
}

#[test]
fn on_a_shared_postgres_a_room_moves_with_its_numbering_and_clients_catch_up_without_a_gap() {
    let postgres = crate::util::postgres::Postgres::start();
    let store = format!(
        "[history]\nstore = \"postgres\"\nurl = \"{}\"\n",
        postgres.url()
    );
    let names = ["alpha", "bravo"];
    let mut nodes = crate::cluster::mesh_with(&names, &store);
    let all: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let room = (0..)
        .map(|i| format!("shared{i}"))
        .find(|r| chatd::server::cluster::directory::placement(r, &all).as_deref() == Some("alpha"))
        .unwrap();
    // ann and cy are on bravo; the room lives on alpha and writes to the shared database.
    let (mut ann, _) = framed(&nodes[1], "ann", &room);
    let (cy, _) = framed(&nodes[1], "cy", &room);
    let said: Vec<ChatMessage> = (1..=20)
        .map(|i| say(&mut ann, &room, &format!("before {i}")))
        .collect();
    assert_eq!(said.last().unwrap().seq, 20);
    drop(cy); // cy goes away and misses what follows.
    std::thread::sleep(Duration::from_millis(300)); // past the batch window: all stored
    drop(nodes.remove(0)); // SIGKILL of the room's host
    ann.expect(
        "the room moved",
        |e| matches!(e, Event::Notice { text, .. } if text.contains("moved to node bravo")),
    );
    let after: Vec<ChatMessage> = (1..=5)
        .map(|i| say(&mut ann, &room, &format!("after {i}")))
        .collect();
    assert_eq!(
        seqs(&after),
        [21, 22, 23, 24, 25],
        "the survivor continues the numbering"
    );
    // cy comes back and asks for everything after the last message it saw: no gap.
    let (mut cy, _) = framed(&nodes[0], "cy", &room);
    let caught_up = fetch(
        &mut cy,
        Cmd::HistoryRange {
            room: Some(room.clone()),
            after: Some(0),
            before: None,
            limit: Some(100),
        },
    );
    assert_eq!(seqs(&caught_up), (1..=25).collect::<Vec<_>>());
    assert_eq!(&caught_up[..20], &said[..]);
}

/// Private messages in a SQLite history file.
fn stored_private(path: &std::path::Path) -> Vec<(String, String, String)> {
    let db = rusqlite::Connection::open(path).unwrap();
    let mut query = db
        .prepare("SELECT sender, recipient, text FROM private_messages ORDER BY ts")
        .unwrap();
    query
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn private_messages_are_stored_only_when_history_private_is_on() {
    for private in [false, true] {
        let server = Server::start(&format!("[history]\nprivate = {private}\n"));
        let mut ann = server.user("ann", "lobby");
        let mut bob = server.user("bob", "lobby");
        ann.send("/msg bob psst");
        bob.expect("*ann -> bob* psst");
        let path = server.history_path();
        let mut server = server;
        server.signal("TERM");
        server.wait_exit(WAIT);
        let stored = stored_private(&path);
        if private {
            assert_eq!(stored, [("ann".into(), "bob".into(), "psst".into())]);
        } else {
            assert!(stored.is_empty(), "{stored:?}");
        }
    }
}

#[test]
fn when_the_database_goes_away_chat_goes_on_and_the_writes_catch_up_when_it_is_back() {
    let mut postgres = crate::util::postgres::Postgres::start();
    let server = Server::start(&format!(
        "[history]\nstore = \"postgres\"\nurl = \"{}\"\nbatch_ms = 20\n",
        postgres.url()
    ));
    let (mut ann, _) = framed(&server, "ann", "outage");
    for i in 1..=5 {
        say(&mut ann, "outage", &format!("up {i}"));
    }
    std::thread::sleep(Duration::from_millis(200));
    postgres.stop();
    // Chat goes on: every message is numbered and delivered.
    for i in 6..=10 {
        assert_eq!(say(&mut ann, "outage", &format!("down {i}")).seq, i);
    }
    eventually(WAIT, "status shows the failing writes", || {
        !chatctl_json(&server, &["status"])["history"]["error"].is_null()
    });
    postgres.resume();
    eventually(Duration::from_secs(20), "writes work again", || {
        chatctl_json(&server, &["status"])["history"]["error"].is_null()
    });
    // What was said during the outage was kept and written once the database came back.
    let stored = fetch(
        &mut ann,
        Cmd::HistoryRange {
            room: Some("outage".into()),
            after: Some(0),
            before: None,
            limit: Some(100),
        },
    );
    assert_eq!(seqs(&stored), (1..=10).collect::<Vec<_>>());
    let mut db = postgres.connect("chatd");
    let count: i64 = db
        .query_one("SELECT count(*) FROM messages WHERE room = 'outage'", &[])
        .unwrap()
        .get(0);
    assert_eq!(count, 10, "all ten are in the database itself");
}

#[test]
fn messages_the_writer_cannot_keep_are_delivered_and_their_gap_is_recorded() {
    let mut postgres = crate::util::postgres::Postgres::start();
    let server = Server::start(&format!(
        "[history]\nstore = \"postgres\"\nurl = \"{}\"\nbatch_ms = 20\nwrite_queue = 4\n",
        postgres.url()
    ));
    let (mut ann, _) = framed(&server, "ann", "tight");
    say(&mut ann, "tight", "stored");
    std::thread::sleep(Duration::from_millis(200));
    postgres.stop();
    assert_eq!(say(&mut ann, "tight", "m2").seq, 2);
    // The writer now retries once a second, holding what it has: its queue of 4 fills.
    eventually(WAIT, "the writes fail", || {
        !chatctl_json(&server, &["status"])["history"]["error"].is_null()
    });
    for i in 3..=30 {
        assert_eq!(say(&mut ann, "tight", &format!("m{i}")).seq, i, "delivered");
    }
    let status = chatctl_json(&server, &["status"]);
    let history = &status["history"];
    assert!(history["dropped"].as_u64().unwrap() > 0, "{status}");
    let gaps = history["gaps"].as_array().unwrap();
    assert!(
        gaps.iter()
            .any(|g| g["room"] == "tight" && g["first"].as_u64() > Some(2)),
        "{status}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_chatctl"))
        .arg("--socket")
        .arg(&server.socket)
        .arg("status")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("not stored: #tight "),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    postgres.resume();
    eventually(Duration::from_secs(20), "writes work again", || {
        chatctl_json(&server, &["status"])["history"]["error"].is_null()
    });
}

#[test]
fn a_room_by_code_stays_unlisted_after_a_restart() {
    let server = Server::start("");
    let mut ann = server.user("ann", "lobby");
    ann.send("/create");
    let joined = ann.expect("-- you joined #");
    let code = joined
        .rsplit('#')
        .next()
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .to_string();
    ann.send("a secret");
    ann.expect("<ann> a secret");
    drop(ann);
    let server = server.stop_and_restart("");
    // Someone with the code comes back: the room is there again, with its history, unlisted.
    let mut bob = server.user("bob", &code);
    assert!(
        bob.seen
            .iter()
            .any(|l| l.contains("[history] <ann> a secret")),
        "{:?}",
        bob.seen
    );
    bob.send("/rooms");
    let rooms = bob.expect("-- rooms (");
    assert!(!rooms.contains(&code), "the code is listed: {rooms}");
    let all = chatctl_json(&server, &["rooms", "--all"]);
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == code.as_str() && r["unlisted"] == true),
        "{all}"
    );
}
