//! Start-up and shutdown: configuration layers and errors, signals, graceful shutdown.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{Server, chatd_bin};

fn check_config(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut command = Command::new(chatd_bin());
    command.arg("--check-config").args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_config_prints_the_effective_settings() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chatd.toml");
    std::fs::write(
        &file,
        "[server]\nname = \"filenode\"\n[limits]\nsend_queue = 64\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let (ok, out, _) = check_config(
        &["--config", file, "--port", "7001"],
        &[("CHATD_LIMITS__BURST", "42")],
    );
    assert!(ok);
    assert!(out.contains("name = \"filenode\""), "{out}");
    assert!(out.contains("listen = \"127.0.0.1:7001\""), "{out}");
    assert!(out.contains("send_queue = 64"), "{out}");
    assert!(out.contains("burst = 42"), "{out}");
    let (ok, out, _) = check_config(&["--config", file, "--name", "flagnode"], &[]);
    assert!(ok && out.contains("name = \"flagnode\""), "{out}");
    let (ok, out, _) = check_config(
        &["--web-port", "7002", "--metrics-listen", "127.0.0.1:7003"],
        &[],
    );
    assert!(ok, "{out}");
    assert!(out.contains("listen = \"127.0.0.1:7002\""), "{out}");
    assert!(out.contains("listen = \"127.0.0.1:7003\""), "{out}");
    let (ok, out, _) = check_config(&["--no-web"], &[]);
    assert!(ok && out.contains("[web]\nenabled = false"), "{out}");
}

#[test]
fn bad_configuration_refuses_to_start_naming_key_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("[server]\nlisen = \"127.0.0.1:1\"\n", "lisen"),
        ("[limits]\nsend_queue = \"many\"\n", "limits.send_queue"),
        ("[server]\nlisten = \"not an address\"\n", "server.listen"),
        ("[limits]\nmax_line_bytes = 0\n", "limits.max_line_bytes"),
        ("[log]\nlevel = \"=== nonsense\"\n", "log.level"),
        // Past its range, this once overflowed every connection's idle deadline.
        (
            "[limits]\nidle_timeout_secs = 9223372036854775807\n",
            "limits.idle_timeout_secs",
        ),
    ];
    for (i, (text, key)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&file, text).unwrap();
        let path = file.to_str().unwrap();
        for args in [
            vec!["--check-config", "--config", path],
            vec!["--config", path],
        ] {
            let out = Command::new(chatd_bin()).args(&args).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{text} was accepted");
            assert!(
                stderr.contains(key) && stderr.contains(&format!("bad{i}.toml")),
                "{stderr}"
            );
        }
    }
    // A variable without a double underscore is not configuration (another tool's, or
    // Kubernetes' CHATD_SERVICE_HOST): ignored, with a warning naming it.
    let (ok, _, err) = check_config(&[], &[("CHATD_TYPO", "1")]);
    assert!(
        ok && err.contains("ignoring environment variable CHATD_TYPO"),
        "{err}"
    );
    // One that names a section that does not exist is refused, naming the variable.
    let (ok, _, err) = check_config(&[], &[("CHATD_LIMIT__RATE", "1")]);
    assert!(
        !ok && err.contains("CHATD_LIMIT__RATE") && err.contains("[limit]"),
        "{err}"
    );
    // A key that does not exist in a real section is refused, naming the key.
    let (ok, _, err) = check_config(&[], &[("CHATD_LIMITS__RATTLE", "1")]);
    assert!(!ok && err.contains("rattle"), "{err}");
    let (ok, _, err) = check_config(&["--listen", "nonsense"], &[]);
    assert!(!ok && err.contains("server.listen"), "{err}");
}

#[test]
fn sigterm_tells_clients_and_exits_cleanly() {
    let mut server = Server::start("[server]\nshutdown_grace_secs = 2\n");
    let mut a = server.user("alice", "general");
    let mut b = server.line();
    let start = Instant::now();
    server.signal("TERM");
    let lines = a.expect_closed();
    assert!(
        lines.iter().any(|l| l.starts_with("! shutdown:")),
        "{lines:?}"
    );
    let lines = b.expect_closed();
    assert!(
        lines.iter().any(|l| l.starts_with("! shutdown:")),
        "{lines:?}"
    );
    let status = server.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    assert!(start.elapsed() < Duration::from_secs(5));
    server.wait_log("stopped");
}

#[test]
fn sigint_also_shuts_down_even_with_a_client_that_does_not_read() {
    let mut server = Server::start("[server]\nshutdown_grace_secs = 1\n");
    let _silent = std::net::TcpStream::connect(server.addr).unwrap();
    let _user = server.user("alice", "general");
    server.signal("INT");
    assert!(server.wait_exit(Duration::from_secs(10)).success());
}

/// A datagram socket standing in for systemd's `NOTIFY_SOCKET`.
fn notify_socket(dir: &Path) -> (std::os::unix::net::UnixDatagram, std::path::PathBuf) {
    let path = dir.join("notify.sock");
    let notify = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    (notify, path)
}

#[test]
fn systemd_hears_ready_reloading_and_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let (notify, path) = notify_socket(dir.path());
    let mut server = Server::start_with("", &[("NOTIFY_SOCKET", path.to_str().unwrap())]);
    let next = || {
        let mut buf = [0u8; 512];
        let n = notify.recv(&mut buf).expect("a notification");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let first = next();
    assert!(
        first.contains("READY=1") && first.contains("STATUS=serving on"),
        "{first}"
    );
    // Ready means the port serves.
    let mut c = server.line();
    c.send("/ping up");
    c.expect("pong up");
    server.signal("HUP");
    let mut seen = Vec::new();
    while !seen.iter().any(|m: &String| m.contains("READY=1")) {
        seen.push(next());
    }
    assert!(
        seen[0].contains("RELOADING=1") && seen[0].contains("MONOTONIC_USEC="),
        "{seen:?}"
    );
    server.signal("TERM");
    let mut last = next();
    while !last.contains("STOPPING=1") {
        last = next();
    }
    assert!(server.wait_exit(Duration::from_secs(10)).success());
}

#[test]
fn the_watchdog_is_pinged_when_systemd_asks_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let (notify, path) = notify_socket(dir.path());
    let _server = Server::start_with(
        "",
        &[
            ("NOTIFY_SOCKET", path.to_str().unwrap()),
            ("WATCHDOG_USEC", "200000"),
        ],
    );
    let mut buf = [0u8; 512];
    let mut pings = 0;
    let start = Instant::now();
    while pings < 3 {
        let n = notify.recv(&mut buf).expect("notifications keep coming");
        if String::from_utf8_lossy(&buf[..n]).contains("WATCHDOG=1") {
            pings += 1;
        }
    }
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn json_logs_are_one_object_per_line_without_colour_codes() {
    use std::io::BufRead;
    let mut child = Command::new(chatd_bin())
        // Not the default web port: other tests run beside this one.
        .env("CHATD_WEB__LISTEN", "127.0.0.1:0")
        .env("CHATD_IRC__LISTEN", "127.0.0.1:0")
        .env("CHATD_HISTORY__STORE", "memory")
        .args(["--listen", "127.0.0.1:0"])
        .env("CHATD_LOG__FORMAT", "json")
        .env(
            "CHATD_CONTROL__SOCKET",
            tempfile::tempdir().unwrap().path().join("c.sock"),
        )
        .env_remove("RUST_LOG")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut listening = None;
    for line in std::io::BufReader::new(stderr).lines().take(10) {
        let line = line.unwrap();
        assert!(!line.contains('\u{1b}'), "colour codes in a log: {line}");
        let entry: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
        if entry["fields"]["message"] == "listening" {
            listening = entry["fields"]["addr"].as_str().map(str::to_string);
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(listening.is_some_and(|a| a.starts_with("127.0.0.1:")));
}

/// Waits for a daemon's pid file and returns the pid in it.
fn wait_for_pid(pidfile: &Path) -> String {
    let mut pid = String::new();
    crate::util::eventually(Duration::from_secs(10), "the pid file", || {
        pid = std::fs::read_to_string(pidfile)
            .unwrap_or_default()
            .trim()
            .to_string();
        !pid.is_empty()
    });
    pid
}

#[test]
fn daemon_mode_detaches_writes_its_pidfile_serves_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let port = crate::util::free_port();
    let pidfile = dir.path().join("chatd.pid");
    let log = dir.path().join("chatd.log");
    let started = Instant::now();
    let status = Command::new(chatd_bin())
        // Not the default web port: other tests run beside this one.
        .env("CHATD_WEB__LISTEN", "127.0.0.1:0")
        .env("CHATD_IRC__LISTEN", "127.0.0.1:0")
        .env("CHATD_HISTORY__STORE", "memory")
        .args(["--daemon", "--pidfile", pidfile.to_str().unwrap()])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("CHATD_CONTROL__SOCKET", dir.path().join("c.sock"))
        .env("CHATD_LOG__FILE", &log)
        .env_remove("NOTIFY_SOCKET")
        .env_remove("INVOCATION_ID")
        .status()
        .unwrap();
    assert!(
        status.success(),
        "the foreground process returns once detached"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let pid = wait_for_pid(&pidfile);
    assert!(
        Path::new(&format!("/proc/{pid}")).exists(),
        "the pid file names a live process"
    );
    let mut client = crate::util::LineClient::connect(format!("127.0.0.1:{port}").parse().unwrap());
    client.send("/ping daemon");
    client.expect("pong daemon");
    crate::util::eventually(Duration::from_secs(5), "logs in log.file", || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("listening")
    });
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    crate::util::eventually(Duration::from_secs(10), "the daemon to exit", || {
        !Path::new(&format!("/proc/{pid}")).exists() && !pidfile.exists()
    });
}

#[test]
fn daemon_mode_stops_gracefully_on_a_sigterm_the_instant_the_parent_returns() {
    for attempt in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("chatd.pid");
        let status = Command::new(chatd_bin())
            // Not the default web port: other tests run beside this one.
            .env("CHATD_WEB__LISTEN", "127.0.0.1:0")
            .env("CHATD_IRC__LISTEN", "127.0.0.1:0")
            .env("CHATD_HISTORY__STORE", "memory")
            .args(["--daemon", "--pidfile", pidfile.to_str().unwrap()])
            .args(["--listen", "127.0.0.1:0"])
            .env("CHATD_CONTROL__SOCKET", dir.path().join("c.sock"))
            .env("CHATD_LOG__FILE", dir.path().join("chatd.log"))
            .env_remove("NOTIFY_SOCKET")
            .env_remove("INVOCATION_ID")
            .status()
            .unwrap();
        assert!(status.success());
        // As an init script would: signal as soon as the pid is known.
        let pid = wait_for_pid(&pidfile);
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(
            killed.success(),
            "attempt {attempt}: the daemon was gone already"
        );
        crate::util::eventually(Duration::from_secs(10), "the daemon to exit", || {
            !Path::new(&format!("/proc/{pid}")).exists()
        });
        assert!(
            !pidfile.exists(),
            "attempt {attempt}: the pid file was left: the signal killed the daemon"
        );
    }
}

#[test]
fn daemon_mode_is_refused_under_systemd() {
    let out = Command::new(chatd_bin())
        // Not the default web port: other tests run beside this one.
        .env("CHATD_WEB__LISTEN", "127.0.0.1:0")
        .env("CHATD_IRC__LISTEN", "127.0.0.1:0")
        .env("CHATD_HISTORY__STORE", "memory")
        .args(["--daemon", "--listen", "127.0.0.1:0"])
        .env("INVOCATION_ID", "0123456789abcdef")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("under systemd"));
}

/// A native journal datagram as `KEY=VALUE` lines: fields are `KEY=VALUE\n`, or, binary-safe,
/// `KEY\n`, a 64-bit little-endian length, the value and `\n`.
fn journal_fields(mut data: &[u8]) -> String {
    let mut out = String::new();
    while let Some(end) = data.iter().position(|b| *b == b'\n' || *b == b'=') {
        let key = String::from_utf8_lossy(&data[..end]).into_owned();
        if data[end] == b'=' {
            let rest = &data[end + 1..];
            let stop = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
            out.push_str(&format!(
                "{key}={}\n",
                String::from_utf8_lossy(&rest[..stop])
            ));
            data = rest.get(stop + 1..).unwrap_or_default();
        } else {
            let rest = &data[end + 1..];
            let len = u64::from_le_bytes(rest[..8].try_into().unwrap()) as usize;
            out.push_str(&format!(
                "{key}={}\n",
                String::from_utf8_lossy(&rest[8..8 + len])
            ));
            data = rest.get(8 + len + 1..).unwrap_or_default();
        }
    }
    out
}

#[test]
fn under_systemd_logs_go_to_the_journal_with_fields() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    // chatd's stderr is this file; JOURNAL_STREAM names it, as systemd does for a unit.
    let stderr_path = dir.path().join("stderr");
    let stderr = std::fs::File::create(&stderr_path).unwrap();
    let meta = stderr.metadata().unwrap();
    let journal_socket = Path::new("/run/systemd/journal/socket");
    // Without a journald on the host (nothing answers on its socket), a datagram socket stands
    // in for it; a stale socket file is replaced, and the stand-in removed however the test ends.
    let journald_runs = std::os::unix::net::UnixDatagram::unbound()
        .and_then(|s| s.connect(journal_socket))
        .is_ok();
    struct StandIn(std::os::unix::net::UnixDatagram);
    impl Drop for StandIn {
        fn drop(&mut self) {
            let _ = std::fs::remove_file("/run/systemd/journal/socket");
        }
    }
    let stand_in = (!journald_runs).then(|| {
        std::fs::create_dir_all(journal_socket.parent().unwrap()).unwrap();
        let _ = std::fs::remove_file(journal_socket);
        let socket = std::os::unix::net::UnixDatagram::bind(journal_socket).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        StandIn(socket)
    });
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let child = Command::new(chatd_bin())
        // Not the default web port: other tests run beside this one.
        .env("CHATD_WEB__LISTEN", "127.0.0.1:0")
        .env("CHATD_IRC__LISTEN", "127.0.0.1:0")
        .env("CHATD_HISTORY__STORE", "memory")
        .args(["--listen", "127.0.0.1:0", "--name", "journaled"])
        .env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()))
        .env("CHATD_CONTROL__SOCKET", dir.path().join("c.sock"))
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    // Killed however the test ends.
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let child = Kill(child);
    let mut entries = String::new();
    match &stand_in {
        Some(StandIn(socket)) => {
            let mut buf = vec![0u8; 64 * 1024];
            while !entries.contains("MESSAGE=listening") {
                let n = socket
                    .recv(&mut buf)
                    .unwrap_or_else(|e| panic!("{e}; received so far: {entries:?}"));
                entries.push_str(&journal_fields(&buf[..n]));
            }
        }
        None => {
            crate::util::eventually(Duration::from_secs(10), "the entry in the journal", || {
                let out = Command::new("journalctl")
                    .args(["-t", "chatd", "-o", "verbose", &format!("--since=@{since}")])
                    .output()
                    .unwrap();
                entries = String::from_utf8_lossy(&out.stdout).into_owned();
                entries.contains("MESSAGE=listening")
            })
        }
    }
    drop(child);
    drop(stand_in);
    assert!(entries.contains("SYSLOG_IDENTIFIER=chatd"), "{entries}");
    assert!(
        entries.contains("NODE=journaled"),
        "structured fields: {entries}"
    );
    assert!(
        std::fs::read_to_string(&stderr_path).unwrap().is_empty(),
        "nothing on stderr"
    );
}

#[test]
fn reload_changes_the_log_level() {
    let server = Server::start("[log]\nlevel = \"warn,chatd::server::node=info\"\n");
    let mut a = server.line();
    a.send("/ping quiet");
    a.expect("pong quiet");
    assert!(!server.log().contains("session started"));
    std::fs::write(&server.config, "[log]\nlevel = \"chatd=debug\"\n").unwrap();
    server.signal("HUP");
    crate::util::eventually(Duration::from_secs(10), "debug logs", || {
        let mut c = server.line();
        c.send("/ping loud");
        c.expect("pong loud");
        server.log().contains("session started")
    });
}
