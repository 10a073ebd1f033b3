//! Smoke tests of `chatd-bench`: each scenario runs for about a second against a real chatd and
//! its JSON output parses, shows work done, and shows no loss. (No timing assertions.)

use std::process::Command;

use serde_json::Value;

use crate::util::{Server, assert_success};

fn bench(server: &Server, args: &[&str]) -> Value {
    // WebSocket clients connect to the web port.
    let addr = if args.windows(2).any(|w| w == ["--protocol", "ws"]) {
        server.web_addr()
    } else {
        server.addr
    };
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
    for protocol in ["line", "frame", "ws"] {
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
