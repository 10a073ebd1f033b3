//! The control socket and `chatctl`, against the real daemon.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

use crate::util::{Server, assert_success, eventually};

fn chatctl(server: &Server, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chatctl"))
        .arg("--socket")
        .arg(&server.socket)
        .args(args)
        .output()
        .unwrap()
}

fn json(server: &Server, args: &[&str]) -> Value {
    let out = chatctl(server, &[&["--json"], args].concat());
    assert_success(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn raw(server: &Server, line: &[u8]) -> Value {
    let mut stream = UnixStream::connect(&server.socket).unwrap();
    stream.write_all(line).unwrap();
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer).unwrap();
    serde_json::from_str(&answer).unwrap()
}

#[test]
fn status_rooms_and_users_report_what_exists() {
    let server = Server::start("");
    let mut ann = server.user("ann", "#lobby");
    let _bob = server.user("bob", "#lobby");
    for i in 0..3 {
        ann.send(&format!("m{i}"));
    }
    ann.expect("<ann> m2");
    let status = json(&server, &["status"]);
    assert_eq!(status["sessions"], 2);
    assert_eq!(status["messages_in"], 3);
    assert_eq!(status["messages_out"], 6, "3 messages to 2 members");
    assert_eq!(status["node"], "chatd");
    assert_eq!(status["listen"], server.addr.to_string());
    assert!(status["rss_kib"].as_u64().unwrap() > 0);

    let rooms = json(&server, &["rooms"]);
    let lobby = rooms
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "lobby")
        .unwrap();
    assert_eq!(
        (lobby["members"].as_u64(), lobby["messages"].as_u64()),
        (Some(2), Some(3))
    );
    let users = json(&server, &["users", "#lobby"]);
    let nicks: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["nick"].as_str().unwrap())
        .collect();
    assert_eq!(nicks, ["ann", "bob"]);
    assert!(
        users
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["protocol"] == "line" && u["sendq"].as_u64().is_some()),
        "{users}"
    );
    assert!(
        json(&server, &["users", "general"])
            .as_array()
            .unwrap()
            .is_empty()
    );

    // The human tables show the same.
    let out = chatctl(&server, &["rooms"]);
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.starts_with("ROOM") && table.contains("lobby    2"),
        "{table}"
    );
}

#[test]
fn kick_and_announce_reach_users_with_exit_codes() {
    let server = Server::start("");
    let mut ann = server.user("ann", "#lobby");
    let mut bob = server.user("bob", "#lobby");
    ann.expect("bob joined");
    let out = chatctl(&server, &["announce", "maintenance at noon"]);
    assert!(out.status.success());
    ann.expect("-- announcement: maintenance at noon");
    bob.expect("-- announcement: maintenance at noon");

    let out = chatctl(&server, &["kick", "BOB", "--reason", "spam"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = bob.expect_closed();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("! kicked:") && l.contains("spam")),
        "{lines:?}"
    );
    ann.expect("#lobby -- bob left (kicked: spam)");

    let out = chatctl(&server, &["kick", "nobody"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not_found"));
    let out = Command::new(env!("CARGO_BIN_EXE_chatctl"))
        .args(["--socket", "/nonexistent/chatd.sock", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("chatd is not running"));
    let out = chatctl(&server, &["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn malformed_requests_get_errors_and_the_daemon_keeps_running() {
    let server = Server::start("");
    assert_eq!(
        raw(&server, b"this is not json\n")["error"]["code"],
        "bad_request"
    );
    assert_eq!(
        raw(&server, b"{\"cmd\":\"dance\"}\n")["error"]["code"],
        "unknown_command"
    );
    assert_eq!(
        raw(&server, b"{\"cmd\":\"kick\"}\n")["error"]["code"],
        "bad_request"
    );
    assert_eq!(
        raw(&server, b"{\"v\":9,\"cmd\":\"status\"}\n")["error"]["code"],
        "unsupported_version"
    );
    let mut huge = vec![b'x'; 100_000];
    huge.push(b'\n');
    assert_eq!(raw(&server, &huge)["error"]["code"], "request_too_large");
    assert_eq!(raw(&server, b"{\"cmd\":\"status\"}\n")["ok"], true);
}

#[test]
fn a_second_daemon_on_the_same_socket_refuses_to_start_and_a_stale_one_is_replaced() {
    let server = Server::start("");
    let config = format!("[control]\nsocket = \"{}\"\n", server.socket.display());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("second.toml");
    std::fs::write(&file, config).unwrap();
    let out = Command::new(crate::util::chatd_bin())
        // Not the default web port: other tests run beside this one.
        .env("CHATD_WEB__LISTEN", "127.0.0.1:0")
        .env("CHATD_IRC__LISTEN", "127.0.0.1:0")
        .env("CHATD_HISTORY__STORE", "memory")
        .args([
            "--config",
            file.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("another chatd is running"));

    // A socket file nobody answers on (left by a crash) is replaced.
    let stale = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let third = Server::start(&format!("[control]\nsocket = \"{}\"\n", stale.display()));
    assert_eq!(raw_at(&stale)["ok"], true);
    drop(third);
}

fn raw_at(path: &std::path::Path) -> Value {
    let mut stream = UnixStream::connect(path).unwrap();
    stream.write_all(b"{\"cmd\":\"nodes\"}\n").unwrap();
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer).unwrap();
    serde_json::from_str(&answer).unwrap()
}

#[test]
fn shutdown_with_a_delay_announces_then_exits_cleanly() {
    let mut server = Server::start("[server]\nshutdown_grace_secs = 1\n");
    let mut ann = server.user("ann", "#lobby");
    let out = chatctl(
        &server,
        &["shutdown", "--delay", "1", "--message", "back soon"],
    );
    assert!(out.status.success());
    ann.expect("-- announcement: back soon");
    let lines = ann.expect_closed();
    assert!(
        lines.iter().any(|l| l.starts_with("! shutdown:")),
        "{lines:?}"
    );
    assert!(server.wait_exit(Duration::from_secs(10)).success());
    assert!(
        !server.socket.exists(),
        "the socket file is removed at exit"
    );
}

#[test]
fn users_and_kick_work_across_cluster_nodes() {
    let (pa, pb) = (crate::util::free_port(), crate::util::free_port());
    let conf = |name: &str, port: u16, seeds: &str| {
        format!(
            "[server]\nname = \"{name}\"\n[cluster]\nenabled = true\nlisten = \"127.0.0.1:{port}\"\ncookie = \"ctl\"\nseeds = [{seeds}]\nheartbeat_ms = 200\nfailure_timeout_ms = 1000\n"
        )
    };
    let a = Server::start(&conf("alpha", pa, ""));
    let b = Server::start(&conf("bravo", pb, &format!("\"127.0.0.1:{pa}\"")));
    eventually(Duration::from_secs(15), "two nodes", || {
        json(&a, &["nodes"])
            .as_array()
            .is_some_and(|n| n.len() == 2 && n[1]["status"] == "up")
    });
    let mut ann = a.user("ann", "#mixed");
    let mut bob = b.user("bob", "#mixed");
    ann.expect("bob joined");
    let users = json(&a, &["users"]);
    let placed: Vec<(String, String)> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["nick"].as_str().unwrap().into(),
                u["node"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        placed,
        [
            ("ann".into(), "alpha".into()),
            ("bob".into(), "bravo".into())
        ]
    );
    // Kicked from alpha's chatctl while connected to bravo.
    let out = chatctl(&a, &["kick", "bob", "--reason", "cross-node"]);
    assert_success(&out);
    let lines = bob.expect_closed();
    assert!(lines.iter().any(|l| l.contains("cross-node")), "{lines:?}");
    ann.expect("#mixed -- bob left (kicked: cross-node)");
}

#[test]
fn completions_are_generated_for_the_common_shells() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Command::new(env!("CARGO_BIN_EXE_chatctl"))
            .args(["completions", shell])
            .output()
            .unwrap();
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(
            out.status.success() && script.contains("chatctl") && script.contains("kick"),
            "{shell}"
        );
    }
}

#[test]
fn reload_applies_changed_limits_and_reports_what_needs_a_restart() {
    let mut server = Server::start("[limits]\nmax_rooms_per_session = 3\n");
    let mut early = server.user("early", "one");
    early.send("/join two");
    early.expect("you joined #two");

    std::fs::write(
        &server.config,
        "[server]\nname = \"renamed\"\ndefault_rooms = [\"general\", \"lobby\"]\n[limits]\nmax_rooms_per_session = 1\n",
    )
    .unwrap();
    let report = json(&server, &["reload"]);
    let applied: Vec<&str> = report["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        applied.contains(&"limits.max_rooms_per_session"),
        "{report}"
    );
    assert!(applied.contains(&"server.default_rooms"), "{report}");
    assert_eq!(report["needs_restart"], serde_json::json!(["server.name"]));
    // New joins obey the new limit; the new default room exists.
    let mut late = server.user("late", "one");
    late.send("/join two");
    late.expect("! too_many_rooms:");
    let rooms = json(&server, &["rooms"]);
    assert!(
        rooms
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "lobby"),
        "{rooms}"
    );

    // An invalid file is refused and changes nothing.
    std::fs::write(
        &server.config,
        "[limits]\nmax_rooms_per_session = \"lots\"\n",
    )
    .unwrap();
    let out = chatctl(&server, &["reload"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad_config"));
    late.send("/join three");
    late.expect("! too_many_rooms:");

    // SIGHUP reloads too.
    std::fs::write(&server.config, "[limits]\nmax_rooms_per_session = 5\n").unwrap();
    server.signal("HUP");
    server.wait_log("configuration reloaded");
    eventually(Duration::from_secs(5), "the raised limit", || {
        let mut c = server.user(&format!("u{}", rand_suffix()), "one");
        c.send("/join two");
        // The answer, after the end of the first join (its room state line).
        std::iter::from_fn(|| c.next_line())
            .find(|l| l.contains("#two") || l.contains("too_many_rooms"))
            .is_some_and(|l| l.contains("#two"))
    });
    assert!(server.running());
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[test]
fn chatctl_finds_the_socket_through_the_daemon_config() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("admin.sock");
    let config = dir.path().join("chatd.toml");
    let text = format!(
        "[control]\nsocket = \"{}\"\nmode = \"0600\"\n",
        socket.display()
    );
    std::fs::write(&config, &text).unwrap();
    let _server = Server::start(&text);
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&socket).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let out = Command::new(env!("CARGO_BIN_EXE_chatctl"))
        .args(["--config", config.to_str().unwrap(), "--json", "nodes"])
        .output()
        .unwrap();
    assert_success(&out);
    let nodes: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(nodes[0]["status"], "this");
}
