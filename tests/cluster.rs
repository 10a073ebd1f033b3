//! Several real chatd processes linked into a cluster on loopback.

use std::time::Duration;

use crate::util::{Server, eventually, free_port};

/// Heartbeat settings of the test nodes: a silent node is declared down after one second.
const HEARTBEAT_MS: u64 = 200;
const FAILURE_TIMEOUT_MS: u64 = 1000;

/// A node named `name` on node-to-node port `port`, dialling `seeds`, with `cookie`.
fn node(name: &str, port: u16, seeds: &[u16], cookie: &str) -> Server {
    node_with(name, port, seeds, cookie, "")
}

/// A node with `extra` configuration (whole sections, after `[server]` and `[cluster]`).
fn node_with(name: &str, port: u16, seeds: &[u16], cookie: &str, extra: &str) -> Server {
    let seeds: Vec<String> = seeds.iter().map(|p| format!("\"127.0.0.1:{p}\"")).collect();
    Server::start(&format!(
        "[server]\nname = \"{name}\"\n[cluster]\nenabled = true\nlisten = \"127.0.0.1:{port}\"\ncookie = \"{cookie}\"\nseeds = [{}]\nheartbeat_ms = {HEARTBEAT_MS}\nfailure_timeout_ms = {FAILURE_TIMEOUT_MS}\n{extra}",
        seeds.join(", ")
    ))
}

/// The `/nodes` line as seen from `server`.
fn nodes(server: &Server) -> String {
    let mut c = server.line();
    c.send("/nodes");
    c.expect("-- nodes (")
}

#[test]
fn nodes_form_a_full_mesh_report_joins_and_leaves_and_rejoin() {
    let (pa, pb, pc) = (free_port(), free_port(), free_port());
    let a = node("alpha", pa, &[], "c00kie");
    let mut watcher = a.line();
    watcher.send("/nick watcher");
    watcher.expect("you are now known as watcher");
    let b = node("bravo", pb, &[pa], "c00kie");
    // charlie only knows bravo; it must learn of alpha through bravo.
    let c = node("charlie", pc, &[pb], "c00kie");
    for server in [&a, &b, &c] {
        eventually(Duration::from_secs(15), "a full mesh", || {
            let line = nodes(server);
            ["alpha", "bravo", "charlie"].iter().all(|n| {
                line.contains(&format!("{n} (up")) || line.contains(&format!("{n} (this node"))
            })
        });
    }
    let line = nodes(&a);
    assert!(
        line.contains(&format!("charlie (up, 127.0.0.1:{pc})")),
        "{line}"
    );
    watcher.expect("-- node bravo joined the cluster");
    watcher.expect("-- node charlie joined the cluster");

    drop(c);
    watcher.expect("-- node charlie left the cluster");
    assert!(nodes(&a).contains("charlie (down"));

    // Restarted on the same address, it is dialled again and rejoins without manual steps.
    let _c = node("charlie", pc, &[], "c00kie");
    watcher.expect("-- node charlie joined the cluster");
    drop(b);
    watcher.expect("-- node bravo left the cluster");
}

#[test]
fn a_node_with_the_wrong_cookie_never_joins() {
    let (pa, pd) = (free_port(), free_port());
    let a = node("alpha", pa, &[], "right");
    let d = node("delta", pd, &[pa], "wrong");
    d.wait_log("wrong cluster cookie");
    std::thread::sleep(Duration::from_secs(1));
    let line = nodes(&a);
    assert!(line.contains("nodes (1): alpha (this node"), "{line}");
    let line = nodes(&d);
    assert!(!line.contains("alpha (up"), "{line}");
    // Reported once, not in a tight loop.
    assert_eq!(d.log().matches("wrong cluster cookie").count(), 1);
}

#[test]
fn flags_alone_start_a_cluster_with_a_generated_cookie() {
    let home = tempfile::tempdir().unwrap();
    let home_env = home.path().to_str().unwrap();
    let (pa, pb) = (free_port(), free_port());
    let (pa_s, seed) = (pa.to_string(), format!("127.0.0.1:{pa}"));
    let pb_s = pb.to_string();
    let a = Server::start_full(
        "",
        &[("HOME", home_env)],
        &["--name", "n1", "--dist-port", &pa_s],
    );
    let _b = Server::start_full(
        "",
        &[("HOME", home_env)],
        &["--name", "n2", "--dist-port", &pb_s, "--connect", &seed],
    );
    eventually(Duration::from_secs(15), "n2 up on n1", || {
        nodes(&a).contains("n2 (up")
    });
    let cookie = home.path().join(".chatd.cookie");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&cookie).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn cluster_configuration_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let exposed = dir.path().join("cookie");
    std::fs::write(&exposed, "x\n").unwrap();
    std::fs::set_permissions(
        &exposed,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let cases = [
        (
            "[cluster]\nenabled = true\nlisten = \"nowhere\"\ncookie = \"x\"\n".to_string(),
            "cluster.listen",
        ),
        (
            "[cluster]\nenabled = true\nseeds = [\"no-port\"]\ncookie = \"x\"\n".to_string(),
            "cluster.seeds",
        ),
        (
            format!(
                "[cluster]\nenabled = true\ncookie_file = \"{}\"\n",
                exposed.display()
            ),
            "chmod 600",
        ),
        (
            "[cluster]\nenabled = true\ncookie = \"x\"\ncookie_file = \"/y\"\n".to_string(),
            "cluster.cookie",
        ),
    ];
    for (i, (text, needle)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("c{i}.toml"));
        std::fs::write(&file, text).unwrap();
        let out = std::process::Command::new(crate::util::chatd_bin())
            .args(["--check-config", "--config", file.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(needle),
            "{text}: {stderr}"
        );
    }
}

/// `count` nodes in a full mesh (each dialling the first).
pub(crate) fn mesh(names: &[&str]) -> Vec<Server> {
    mesh_with(names, "")
}

/// A full mesh whose nodes all get `extra` configuration.
pub(crate) fn mesh_with(names: &[&str], extra: &str) -> Vec<Server> {
    let ports: Vec<u16> = names.iter().map(|_| free_port()).collect();
    let servers: Vec<Server> = names
        .iter()
        .zip(&ports)
        .enumerate()
        .map(|(i, (name, port))| {
            let seeds = if i == 0 { vec![] } else { vec![ports[0]] };
            node_with(name, *port, &seeds, "mesh", extra)
        })
        .collect();
    for server in &servers {
        eventually(Duration::from_secs(15), "a full mesh", || {
            nodes(server).contains(&format!("nodes ({})", names.len()))
                && !nodes(server).contains("(down")
        });
    }
    servers
}

/// The text after the time stamp.
fn body(line: &str) -> &str {
    line.split_once(' ').map(|(_, rest)| rest).unwrap_or(line)
}

#[test]
fn clients_on_three_nodes_share_a_room_each_message_once_and_in_order() {
    let servers = mesh(&["alpha", "bravo", "charlie"]);
    let nicks = ["ann", "bob", "cat"];
    let mut clients: Vec<_> = servers
        .iter()
        .zip(nicks)
        .map(|(server, nick)| server.user(nick, "#lounge"))
        .collect();
    clients[0].expect("#lounge -- cat joined");
    const EACH: usize = 20;
    for (client, nick) in clients.iter_mut().zip(nicks) {
        for i in 0..EACH {
            client.send(&format!("{nick} says {i}"));
        }
    }
    for client in clients.iter_mut() {
        let mut next = [0usize; 3];
        while next.iter().sum::<usize>() < 3 * EACH {
            let line = client.next_line().expect("every message arrives");
            for (sender, nick) in nicks.iter().enumerate() {
                if let Some(i) = line.split(&format!("<{nick}> {nick} says ")).nth(1) {
                    assert_eq!(
                        i.parse::<usize>().unwrap(),
                        next[sender],
                        "in order, once: {line}"
                    );
                    next[sender] += 1;
                }
            }
        }
        // Nothing more after a round trip: no duplicates.
        client.sync();
        assert!(
            !client
                .seen
                .iter()
                .rev()
                .take(1)
                .any(|l| l.contains(" says "))
        );
    }
    // Every node lists the same rooms and the same users.
    let lists: Vec<String> = servers
        .iter()
        .map(|s| {
            let mut c = s.line();
            c.send("/rooms");
            body(&c.expect("-- rooms (")).to_string()
        })
        .collect();
    assert!(lists[0].contains("#lounge (3, "), "{}", lists[0]);
    assert!(lists.iter().all(|l| *l == lists[0]), "{lists:?}");
    for client in clients.iter_mut() {
        client.send("/users");
        client.expect("#lounge -- users (3): ann bob cat");
    }
}

#[test]
fn the_same_room_created_on_two_nodes_at_once_ends_as_one_room() {
    let servers = mesh(&["alpha", "bravo"]);
    for round in 0..8 {
        let room = format!("race{round}");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let joins: Vec<_> = servers
            .iter()
            .enumerate()
            .map(|(i, server)| {
                let mut c = server.line();
                c.send(&format!("/nick r{round}n{i}"));
                c.expect("you are now known as");
                let barrier = barrier.clone();
                let room = room.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    c.send(&format!("/join {room}"));
                    c.expect("you joined");
                    c
                })
            })
            .collect();
        let mut clients: Vec<_> = joins.into_iter().map(|j| j.join().unwrap()).collect();
        eventually(
            Duration::from_secs(10),
            "one room with both members",
            || {
                servers.iter().all(|s| {
                    let mut c = s.line();
                    c.send("/rooms");
                    let line = c.expect("-- rooms (");
                    line.matches(&format!("#{room} (")).count() == 1
                        && line.contains(&format!("#{room} (2, "))
                })
            },
        );
        // Both members hear each other in the surviving room.
        clients[0].send("hello");
        clients[1].expect(&format!("#{room} <r{round}n0> hello"));
    }
}

#[test]
fn copies_of_a_room_merge_with_members_and_history_when_nodes_link() {
    // bravo starts alone; bob talks in bravo's own #general.
    let (pa, pb) = (free_port(), free_port());
    let b = node("bravo", pb, &[], "merge");
    let mut bob = b.user("bob", "#general");
    bob.send("said before the merge");
    bob.expect("<bob> said before the merge");
    // alpha starts with its own #general and links to bravo: the copies meet, and
    // room:general@alpha wins (the lower actor name).
    let a = node("alpha", pa, &[pb], "merge");
    bob.expect("#general -- two copies of this room met and were merged");
    let mut ann = a.line();
    ann.send("/nick ann");
    ann.send("/join general");
    ann.expect("#general [history] <bob> said before the merge");
    ann.expect("you joined #general; users (2): ann bob");
    ann.send("hello bob");
    bob.expect("#general <ann> hello bob");
    bob.send("hello ann");
    ann.expect("#general <bob> hello ann");
    let mut c = b.line();
    c.send("/rooms");
    let rooms = c.expect("-- rooms (");
    assert!(
        rooms.contains("#general (2, alpha)") && !rooms.contains("bravo"),
        "{rooms}"
    );
}

#[test]
fn nicks_are_unique_across_nodes_and_private_messages_cross_them() {
    let servers = mesh(&["alpha", "bravo"]);
    let mut ann = servers[0].line();
    ann.send("/nick ann");
    ann.expect("you are now known as ann");
    let mut other = servers[1].line();
    eventually(Duration::from_secs(5), "ann taken on bravo", || {
        other.send("/nick ANN");
        other
            .next_line()
            .is_some_and(|l| l.starts_with("! nick_taken:"))
    });
    other.send("/nick bob");
    other.expect("you are now known as bob");
    let mut bob = other;

    ann.send("/msg bob hi from alpha");
    bob.expect("*ann -> bob* hi from alpha");
    ann.expect("*ann -> bob* hi from alpha");
    bob.send("/msg Ann hi back");
    ann.expect("*bob -> Ann* hi back");
    bob.send("/msg nobody hello?");
    bob.expect("! user_not_found:");

    // A nick freed on one node can be taken on another.
    ann.send("/quit");
    ann.expect_closed();
    eventually(Duration::from_secs(5), "ann free on bravo", || {
        let mut c = servers[1].line();
        c.send("/nick ann");
        c.next_line()
            .is_some_and(|l| l.contains("you are now known as ann"))
    });
}

/// A nick (`prefix` and a number) whose home among `nodes` is `home`.
fn nick_homed_on(prefix: &str, home: &str, nodes: &[&str]) -> String {
    let nodes: Vec<String> = nodes.iter().map(|s| s.to_string()).collect();
    (0..)
        .map(|i| format!("{prefix}{i}"))
        .find(|nick| {
            chatd::server::cluster::directory::placement(nick, &nodes).as_deref() == Some(home)
        })
        .unwrap()
}

#[test]
fn the_same_nick_claimed_on_two_nodes_at_once_has_exactly_one_winner() {
    let names = ["alpha", "bravo", "charlie"];
    let servers = mesh(&names);
    // Claims from alpha and bravo, for nicks whose home (the node that decides) is each node in
    // turn: one of the claimants, or the third node.
    for round in 0..12 {
        let nick = nick_homed_on(&format!("twin{round}x"), names[round % 3], &names);
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let claims: Vec<_> = servers[..2]
            .iter()
            .map(|server| {
                let mut c = server.line();
                let barrier = barrier.clone();
                let nick = nick.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    c.send(&format!("/nick {nick}"));
                    let line = c.next_line().expect("an answer");
                    (line, c)
                })
            })
            .collect();
        let results: Vec<(String, _)> = claims.into_iter().map(|t| t.join().unwrap()).collect();
        let winners = results
            .iter()
            .filter(|(line, _)| line.contains("you are now known as"))
            .count();
        assert_eq!(
            winners, 1,
            "round {round} ({nick}): exactly one of two simultaneous claims wins"
        );
        assert!(
            results
                .iter()
                .any(|(line, _)| line.starts_with("! nick_taken:")),
            "round {round}: the other is told the nick is taken: {:?}",
            results.iter().map(|(l, _)| l).collect::<Vec<_>>()
        );
    }
}

#[test]
fn a_node_that_joins_becomes_home_of_nicks_already_held_and_refuses_them() {
    let (pa, pb, pc) = (free_port(), free_port(), free_port());
    let a = node("alpha", pa, &[], "handover");
    let b = node("bravo", pb, &[pa], "handover");
    eventually(Duration::from_secs(15), "alpha and bravo linked", || {
        nodes(&a).contains("bravo (up")
    });
    // A nick claimed while charlie is away, whose home becomes charlie once it joins.
    let nick = nick_homed_on("ann", "charlie", &["alpha", "bravo", "charlie"]);
    let mut holder = a.line();
    holder.send(&format!("/nick {nick}"));
    holder.expect(&format!("you are now known as {nick}"));

    let c = node("charlie", pc, &[pa], "handover");
    for server in [&a, &b, &c] {
        eventually(Duration::from_secs(15), "a full mesh of three", || {
            nodes(server).contains("nodes (3)") && !nodes(server).contains("(down")
        });
    }
    // charlie decides claims of the nick now; it knows the holder from the nick's group.
    for server in [&c, &b] {
        let mut claimant = server.line();
        claimant.send(&format!("/nick {nick}"));
        claimant.expect("! nick_taken:");
    }
    holder.send("/ping still");
    holder.expect("pong still");

    // Released, it is free everywhere, decided by its new home.
    holder.send("/quit");
    holder.expect_closed();
    eventually(Duration::from_secs(5), "the nick free on bravo", || {
        let mut claimant = b.line();
        claimant.send(&format!("/nick {nick}"));
        claimant
            .next_line()
            .is_some_and(|l| l.contains("you are now known as"))
    });
}

#[test]
fn a_frozen_node_is_declared_down_and_rejoins_when_it_thaws() {
    let servers = mesh(&["alpha", "bravo"]);
    let mut watcher = servers[0].line();
    watcher.send("/nick watcher");
    watcher.expect("you are now known as watcher");
    let frozen_at = std::time::Instant::now();
    servers[1].signal("STOP");
    watcher.expect("-- node bravo left the cluster");
    let detected = frozen_at.elapsed();
    assert!(
        detected < Duration::from_millis(FAILURE_TIMEOUT_MS + 2000),
        "declared down after {detected:?}"
    );
    assert!(nodes(&servers[0]).contains("bravo (down"));
    servers[1].signal("CONT");
    watcher.expect("-- node bravo joined the cluster");
    eventually(Duration::from_secs(10), "bravo up again", || {
        nodes(&servers[0]).contains("bravo (up")
    });
}

#[test]
fn killing_the_node_that_hosts_a_room_moves_the_room_with_its_members_and_history() {
    let names = ["alpha", "bravo", "charlie"];
    let mut servers = mesh(&names);
    let all: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    // A room that placement puts on charlie, whose members are on alpha and bravo.
    let room = (0..)
        .map(|i| format!("busy{i}"))
        .find(|r| {
            chatd::server::cluster::directory::placement(r, &all).as_deref() == Some("charlie")
        })
        .unwrap();
    let mut ann = servers[0].user("ann", &room);
    let mut bob = servers[1].user("bob", &room);
    ann.expect(&format!("#{room} -- bob joined"));
    let mut c = servers[0].line();
    c.send("/rooms");
    assert!(
        c.expect("-- rooms (")
            .contains(&format!("#{room} (2, charlie)"))
    );
    for i in 0..5 {
        ann.send(&format!("before {i}"));
        bob.expect(&format!("<ann> before {i}"));
    }

    let killed_at = std::time::Instant::now();
    drop(servers.remove(2)); // SIGKILL
    ann.expect(&format!("#{room} -- this room moved to node "));
    bob.expect(&format!("#{room} -- this room moved to node "));
    // Both are still members: no re-join, and they keep chatting.
    ann.send("after the failover");
    bob.expect(&format!("#{room} <ann> after the failover"));
    let took = killed_at.elapsed();
    assert!(
        took < Duration::from_millis(FAILURE_TIMEOUT_MS + 1000),
        "room back after {took:?}"
    );
    // The recent history survived, taken from what the survivors had received.
    bob.send("/history 10");
    for i in 0..5 {
        bob.expect(&format!("#{room} [history] <ann> before {i}"));
    }
    bob.expect(&format!("#{room} [history] <ann> after the failover"));
    bob.send("/users");
    bob.expect(&format!("#{room} -- users (2): ann bob"));
}

/// A CA, and certificates it signs for 127.0.0.1, written as PEM files into `dir`.
struct TestCa {
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
    dir: std::path::PathBuf,
}

impl TestCa {
    fn new(dir: &std::path::Path, name: &str) -> TestCa {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let issuer =
            rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap())
                .unwrap();
        std::fs::write(dir.join(format!("{name}-ca.pem")), issuer.pem()).unwrap();
        TestCa {
            issuer,
            dir: dir.join(name),
        }
    }

    /// The `[cluster.tls]` lines for a node certificate named `node`.
    fn node_tls(&self, node: &str) -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let base = format!("{}-{node}", self.dir.display());
        std::fs::write(format!("{base}.pem"), cert.pem()).unwrap();
        std::fs::write(format!("{base}.key"), key.serialize_pem()).unwrap();
        format!(
            "[cluster.tls]\ncert = \"{base}.pem\"\nkey = \"{base}.key\"\nca = \"{}-ca.pem\"\n",
            self.dir.display()
        )
    }
}

fn tls_node(name: &str, port: u16, seeds: &[u16], tls: &str) -> Server {
    let seeds: Vec<String> = seeds.iter().map(|p| format!("\"127.0.0.1:{p}\"")).collect();
    Server::start(&format!(
        "[server]\nname = \"{name}\"\n[cluster]\nenabled = true\nlisten = \"127.0.0.1:{port}\"\ncookie = \"tls\"\nseeds = [{}]\nheartbeat_ms = {HEARTBEAT_MS}\nfailure_timeout_ms = {FAILURE_TIMEOUT_MS}\n{tls}",
        seeds.join(", ")
    ))
}

#[test]
fn nodes_link_over_mutual_tls_and_refuse_peers_without_the_cluster_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path(), "cluster");
    let rogue = TestCa::new(dir.path(), "rogue");
    let (pa, pb, pc, pd) = (free_port(), free_port(), free_port(), free_port());
    let a = tls_node("alpha", pa, &[], &ca.node_tls("alpha"));
    let b = tls_node("bravo", pb, &[pa], &ca.node_tls("bravo"));
    eventually(Duration::from_secs(15), "bravo up over TLS", || {
        nodes(&a).contains("bravo (up")
    });
    let mut ann = a.user("ann", "#secure");
    let mut bob = b.user("bob", "#secure");
    ann.expect("#secure -- bob joined");
    bob.send("over tls");
    ann.expect("#secure <bob> over tls");

    // Without TLS, or with a certificate from another CA: never joins.
    let plain = node("charlie", pc, &[pa], "tls");
    let impostor = tls_node("delta", pd, &[pa], &rogue.node_tls("delta"));
    std::thread::sleep(Duration::from_secs(2));
    let line = nodes(&a);
    assert!(
        !line.contains("charlie") && !line.contains("delta"),
        "{line}"
    );
    assert!(!nodes(&plain).contains("alpha (up"));
    assert!(!nodes(&impostor).contains("alpha (up"));
}

#[test]
fn a_healed_partition_converges_to_one_holder_per_nick_and_one_copy_per_room() {
    let names = ["alpha", "bravo"];
    let servers = mesh(&names);
    let all: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let room = (0..)
        .map(|i| format!("split{i}"))
        .find(|r| chatd::server::cluster::directory::placement(r, &all).as_deref() == Some("bravo"))
        .unwrap();
    // zed on bravo; ann on alpha; both in a room hosted on bravo.
    let mut zed = servers[1].user("zed", &room);
    let mut ann = servers[0].user("ann", &room);
    zed.expect(&format!("#{room} -- ann joined"));

    // Partition: bravo freezes and alpha declares it down.
    servers[1].signal("STOP");
    ann.expect(&format!("#{room} -- this room moved to node alpha"));
    // During the partition, alpha grants "zed" to someone else.
    let mut zed2 = servers[0].line();
    eventually(Duration::from_secs(5), "zed free on alpha", || {
        zed2.send("/nick zed");
        zed2.next_line()
            .is_some_and(|l| l.contains("you are now known as zed"))
    });

    // Heal: the holder on bravo (the name that sorts last) is disconnected...
    servers[1].signal("CONT");
    let lines = zed.expect_closed();
    assert!(
        lines.iter().any(|l| l.starts_with("! nick_taken:")),
        "{lines:?}"
    );
    // ...alpha's zed keeps the nick, and one copy of the room remains, on alpha.
    zed2.send("/ping still");
    zed2.expect("pong still");
    eventually(Duration::from_secs(10), "one copy of the room", || {
        servers.iter().all(|s| {
            let mut c = s.line();
            c.send("/rooms");
            let line = c.expect("-- rooms (");
            line.matches(&format!("#{room} (")).count() == 1
                && line.contains(&format!("#{room} (1, alpha)"))
        })
    });
}

#[test]
fn create_puts_a_room_on_the_chosen_node() {
    let servers = mesh(&["alpha", "bravo"]);
    let mut ann = servers[0].line();
    ann.send("/nick ann");
    ann.send("/create #there on bravo");
    ann.expect("you joined #there");
    ann.send("/rooms");
    let rooms = ann.expect("-- rooms (");
    assert!(rooms.contains("#there (1, bravo)"), "{rooms}");
    ann.send("/create there");
    ann.expect("! room_exists:");
    ann.send("/create elsewhere on nowhere");
    ann.expect("! no_such_node:");
    ann.send("/create #here");
    ann.expect("you joined #here");
}

#[test]
fn strangers_on_the_cluster_port_hold_a_few_bytes_for_a_moment_and_nodes_still_join() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    let (pa, pb) = (free_port(), free_port());
    let a = Server::start(&format!(
        "[server]\nname = \"alpha\"\n[cluster]\nenabled = true\nlisten = \"127.0.0.1:{pa}\"\ncookie = \"real\"\nhandshake_timeout_ms = 1000\nmax_pending_connections = 8\nheartbeat_ms = {HEARTBEAT_MS}\nfailure_timeout_ms = {FAILURE_TIMEOUT_MS}\n"
    ));
    let before = a.rss_kib();
    // Ten strangers each try to send 12 MiB of a frame that claims 16 MiB.
    let junk: Vec<_> = (0..10)
        .map(|_| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(("127.0.0.1", pa)).unwrap();
                s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut sent = s.write(&(16u32 << 20).to_be_bytes()).unwrap_or(0);
                let chunk = vec![0xAB; 64 * 1024];
                while sent < 12 << 20 {
                    match s.write(&chunk) {
                        Ok(n) => sent += n,
                        Err(_) => break,
                    }
                }
                sent
            })
        })
        .collect();
    // A hundred more that never send a byte.
    let mut silent: Vec<TcpStream> = (0..100)
        .filter_map(|_| TcpStream::connect(("127.0.0.1", pa)).ok())
        .collect();
    for thread in junk {
        let sent = thread.join().unwrap();
        assert!(sent < 12 << 20, "a stranger got 12 MiB in");
    }
    let grown = a.rss_kib().saturating_sub(before);
    assert!(grown < 8 * 1024, "alpha grew by {grown} KiB");
    // Every silent one is closed within the handshake time (or at once, past the pending cap).
    for s in &mut silent {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut byte = [0u8; 64];
        let closed = loop {
            match s.read(&mut byte) {
                Ok(0) => break true,
                Ok(_) => continue,
                Err(e) => {
                    break !matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    );
                }
            }
        };
        assert!(closed, "a silent stranger was still connected after 10 s");
    }
    // A real node joins through the same port.
    let b = node("bravo", pb, &[pa], "real");
    eventually(Duration::from_secs(10), "bravo to join alpha", || {
        nodes(&a).contains("bravo (up")
    });
    drop(b);
}

#[test]
fn a_room_by_code_stays_unlisted_when_it_moves_after_its_host_dies() {
    let names = ["alpha", "bravo", "charlie"];
    let mut servers = mesh(&names);
    let all: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let mut ann = servers[0].user("ann", "lobby");
    // Codes are placed like any room: draw until one lands off ann's node.
    let (code, host) = (0..30)
        .find_map(|_| {
            ann.send("/create");
            let joined = ann.expect("-- you joined #");
            let code = joined.rsplit('#').next()?.split(';').next()?.to_string();
            let host = chatd::server::cluster::directory::placement(&code, &all)?;
            if host == "alpha" {
                ann.send(&format!("/leave #{code}"));
                ann.expect(&format!("you left #{code}"));
                None
            } else {
                Some((code, host))
            }
        })
        .expect("a code placed on bravo or charlie");
    let index = names.iter().position(|n| *n == host).unwrap();
    drop(servers.remove(index)); // SIGKILL
    ann.expect(&format!("#{code} -- this room moved to node "));
    ann.send(&format!("/msg ann still in #{code}"));
    ann.expect("still in");
    let mut c = servers[0].line();
    c.send("/rooms");
    let rooms = c.expect("-- rooms (");
    assert!(rooms.contains("#lobby"), "{rooms}");
    assert!(
        !rooms.contains(&code),
        "the moved room by code is listed: {rooms}"
    );
}
