//! Smoke tests of `chatd-bench`: each scenario runs for about a second against a real chatd and
//! its JSON output parses, shows work done, and shows no loss. (No timing assertions.)

use std::process::Command;

use serde_json::Value;

use crate::util::{Server, assert_success};

fn bench(server: &Server, args: &[&str]) -> Value {
    // WebSocket clients connect to the web port, IRC clients to the IRC port.
    let addr = if args.windows(2).any(|w| w == ["--protocol", "ws"]) {
        server.web_addr()
    } else if args.windows(2).any(|w| w == ["--protocol", "irc"]) {
        server.irc_addr()
    } else {
        server.addr
    };
    run_bench(addr, args)
}

fn run_bench(addr: std::net::SocketAddr, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_chatd-bench"))
        .args(["--addr", &addr.to_string(), "--json"])
        .args(args)
        .output()
        .unwrap();
    assert_success(&out);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.lines().count(),
        1,
        "one JSON object, nothing else: {stdout}"
    );
    serde_json::from_str(&stdout).unwrap()
}

fn number(report: &Value, key: &str) -> f64 {
    report[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing in {report}"))
}

#[test]
fn every_scenario_runs_and_reports() {
    let server = Server::start("");
    for protocol in ["line", "frame", "ws", "irc"] {
        let r = bench(
            &server,
            &[
                "--protocol",
                protocol,
                "connections",
                "--sessions",
                "50",
                "--hold",
                "0.2",
            ],
        );
        assert_eq!(r["scenario"], "connections");
        assert_eq!(number(&r, "sessions_ready"), 50.0, "{r}");
        assert_eq!(number(&r, "errors"), 0.0, "{r}");

        let r = bench(
            &server,
            &[
                "--protocol",
                protocol,
                "fanout",
                "--rooms",
                "2",
                "--members",
                "10",
                "--senders",
                "2",
                "--rate",
                "50",
                "--duration",
                "1",
            ],
        );
        assert!(number(&r, "deliveries") > 0.0, "{r}");
        assert_eq!(
            number(&r, "deliveries"),
            number(&r, "deliveries_expected"),
            "{r}"
        );
        assert_eq!(number(&r, "lost"), 0.0, "{r}");
        assert_eq!(number(&r, "reordered"), 0.0, "{r}");
        assert_eq!(number(&r, "members_cut_off"), 0.0, "{r}");

        let r = bench(
            &server,
            &[
                "--protocol",
                protocol,
                "churn",
                "--concurrency",
                "2",
                "--duration",
                "1",
            ],
        );
        assert!(number(&r, "cycles") > 0.0, "{r}");
        assert_eq!(number(&r, "errors"), 0.0, "{r}");
    }
}

#[test]
fn the_store_scenario_writes_and_fetches_on_a_scratch_file() {
    let out = Command::new(env!("CARGO_BIN_EXE_chatd-bench"))
        .args(["--json", "store", "--messages", "5000", "--rooms", "10"])
        .args(["--fetch", "100", "--fetches", "20"])
        .output()
        .unwrap();
    assert_success(&out);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["scenario"], "store");
    assert_eq!(number(&r, "written"), 5000.0, "{r}");
    assert_eq!(number(&r, "dropped"), 0.0, "{r}");
    assert_eq!(number(&r, "fetch_messages"), 100.0, "{r}");
    assert!(number(&r, "writes_per_sec") > 0.0, "{r}");
}

/// The IRC workload runs against a real ngircd (Debian's, which `make test` installs) as it
/// does against chatd: the comparison in docs/PERFORMANCE.md measures both with one client.
#[test]
fn the_irc_workload_runs_against_ngircd_too() {
    let dir = tempfile::tempdir().unwrap();
    let port = crate::util::free_port();
    let config = dir.path().join("ngircd.conf");
    std::fs::write(
        &config,
        format!(
            "[Global]\nName = ngircd.test\nInfo = test\nListen = 127.0.0.1\nPorts = {port}\n\
             PidFile = {}/ngircd.pid\nMotdPhrase = test\n[Limits]\nMaxConnectionsIP = 0\n\
             MaxNickLength = 32\nMaxPenaltyTime = 0\n[Options]\nDNS = no\nIdent = no\nPAM = no\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let mut ngircd = Command::new("ngircd")
        .args(["-n", "-f"])
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("ngircd (make test installs it)");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    crate::util::eventually(
        std::time::Duration::from_secs(10),
        "ngircd listening",
        || std::net::TcpStream::connect(addr).is_ok(),
    );
    let r = run_bench(
        addr,
        &[
            "--protocol",
            "irc",
            "fanout",
            "--members",
            "10",
            "--senders",
            "2",
            "--rate",
            "50",
            "--duration",
            "1",
            "--concurrency",
            "4",
        ],
    );
    assert!(number(&r, "deliveries") > 0.0, "{r}");
    assert_eq!(
        number(&r, "deliveries"),
        number(&r, "deliveries_expected"),
        "{r}"
    );
    assert_eq!(number(&r, "lost"), 0.0, "{r}");
    let r = run_bench(
        addr,
        &[
            "--protocol",
            "irc",
            "churn",
            "--concurrency",
            "2",
            "--duration",
            "1",
        ],
    );
    assert!(number(&r, "cycles") > 0.0, "{r}");
    assert_eq!(number(&r, "errors"), 0.0, "{r}");
    let _ = ngircd.kill();
    let _ = ngircd.wait();
}
