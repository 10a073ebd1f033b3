//! End-to-end tests of `chat-client`: the real binary in a real terminal (tmux), against real
//! chatd processes, with netcat-style users on the other side.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cluster::mesh;
use crate::util::Server;
use crate::util::tmux::Tmux;

fn client_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_chat-client"))
}

/// A shell command line running the client with its own empty config directory, then (after the
/// client exits) reporting its exit status and whether the terminal is back in cooked mode
/// (`icanon`, where raw mode shows `-icanon`).
fn client_command(home: &Path, args: &str) -> String {
    format!(
        "env HOME={home} XDG_CONFIG_HOME={home} {bin} {args}; echo \"EXITED $? MODE $(stty -a | grep -o -- '-\\?icanon') END\"; sleep 60",
        home = home.display(),
        bin = client_bin().display(),
    )
}

#[test]
fn a_new_user_types_a_nick_joins_and_chats_with_a_netcat_user() {
    let server = Server::start("");
    let mut bob = server.user("bob", "#lobby");
    let home = tempfile::tempdir().unwrap();
    let tmux = Tmux::start(
        80,
        24,
        &client_command(home.path(), &format!("--port {}", server.addr.port())),
    );
    tmux.wait_for("type a nick and press Enter");
    tmux.type_line("ann");
    tmux.wait_for("[ann]");
    tmux.type_line("/join #lobby");
    // Each item is awaited on its own: a capture can catch a frame half drawn.
    tmux.wait_for("you joined #lobby (2 users)");
    tmux.wait_for(" #lobby — 2 users");
    tmux.wait_for("│bob");
    bob.expect("#lobby -- ann joined");

    tmux.type_line("hello from the terminal, 你好");
    bob.expect("#lobby <ann> hello from the terminal, 你好");
    tmux.wait_for("<ann> hello from the terminal, 你好");

    bob.send("hi ann, welcome");
    tmux.wait_for("<bob> hi ann, welcome");
    let screen = tmux.settled();
    // A mention of ann in the current room is not unread.
    assert!(!screen.contains("act:"), "{screen}");

    // A private message opens its own buffer, with a mention marker and unread count.
    bob.send("/msg ann psst");
    tmux.wait_for("@bob (@1)");
    tmux.wait_for("[act: 3@]");
    tmux.keys(&["M-3"]);
    tmux.wait_for("<bob> psst");
    tmux.type_line("yes?");
    bob.expect("*ann -> bob* yes?");

    tmux.type_line("/quit off to lunch");
    bob.expect("#lobby -- ann left (quit: off to lunch)");
    tmux.wait_for("EXITED 0 MODE icanon END");
}

#[test]
fn signals_restore_the_terminal_and_a_bad_config_names_the_key() {
    let server = Server::start("");
    let home = tempfile::tempdir().unwrap();
    for (i, signal) in ["TERM", "HUP", "INT"].iter().enumerate() {
        let tmux = Tmux::start(
            40,
            10,
            &client_command(
                home.path(),
                &format!("--port {} --nick cy{i}", server.addr.port()),
            ),
        );
        tmux.wait_for(&format!("[cy{i}]"));
        let pid = tmux.pane_pid();
        let status = Command::new("pkill")
            .args([&format!("-{signal}"), "-P", &pid.to_string(), "chat-client"])
            .status()
            .unwrap();
        assert!(status.success(), "the client was running");
        tmux.wait_for("EXITED 0 MODE icanon END");
    }

    let config = home.path().join("client.toml");
    std::fs::write(&config, "theme = \"dark\"\n[colors]\nnick = \"purplish\"\n").unwrap();
    let out = Command::new(client_bin())
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("colors.nick"), "{stderr}");
}

#[test]
fn the_client_fails_over_to_another_node_and_catches_up_from_history() {
    let names = ["alpha", "bravo"];
    let mut servers = mesh(&names);
    let all: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    // A room hosted by bravo, the node that survives.
    let room = (0..)
        .map(|i| format!("hall{i}"))
        .find(|r| chatd::server::cluster::directory::placement(r, &all).as_deref() == Some("bravo"))
        .unwrap();
    let mut bob = servers[1].user("bob", &room);
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("client.toml");
    std::fs::write(
        &config,
        format!(
            "servers = [\"{}\", \"{}\"]\nnick = \"ann\"\nrooms = [\"{room}\"]\n[reconnect]\ninitial_ms = 200\n",
            servers[0].addr, servers[1].addr
        ),
    )
    .unwrap();
    let tmux = Tmux::start(
        100,
        30,
        &client_command(home.path(), &format!("--config {}", config.display())),
    );
    tmux.wait_for(&format!("you joined #{room} (2 users)"));
    tmux.wait_for("node alpha");
    tmux.type_line("before the failover");
    bob.expect(&format!("#{room} <ann> before the failover"));

    drop(servers.remove(0)); // SIGKILL alpha, the node the client is on
    bob.send("said while ann was away");
    tmux.wait_for(&format!("rejoined #{room}"));
    tmux.wait_for("node bravo");
    // The message sent during the outage arrives from the room's history, once.
    tmux.wait_for("<bob> said while ann was away");
    let screen = tmux.settled();
    assert_eq!(
        screen.matches("said while ann was away").count(),
        1,
        "{screen}"
    );
    assert_eq!(screen.matches("before the failover").count(), 1, "{screen}");

    tmux.type_line("after the failover");
    let line = bob.expect("after the failover");
    assert!(line.contains(&format!("#{room} <ann")), "{line}");
}
