//! Several real chatd processes linked into a cluster on loopback.

use std::time::Duration;

use crate::util::{Server, eventually, free_port};

/// A node named `name` on node-to-node port `port`, dialling `seeds`, with `cookie`.
fn node(name: &str, port: u16, seeds: &[u16], cookie: &str) -> Server {
    let seeds: Vec<String> = seeds.iter().map(|p| format!("\"127.0.0.1:{p}\"")).collect();
    Server::start(&format!(
        "[server]\nname = \"{name}\"\n[cluster]\nenabled = true\nlisten = \"127.0.0.1:{port}\"\ncookie = \"{cookie}\"\nseeds = [{}]\n",
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
