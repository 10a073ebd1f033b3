//! Test helpers: start the real `chatd` binary on an ephemeral loopback port, and talk to it
//! over real sockets with a line (netcat-style) client or a framed client.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chatd::protocol::{self, Event};

pub mod postgres;
pub mod tmux;

/// How long any expected line or event may take to arrive.
pub const WAIT: Duration = Duration::from_secs(10);

/// A running `chatd` process.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// The control socket.
    pub socket: PathBuf,
    /// The configuration file it was started with.
    pub config: PathBuf,
    log: Arc<Mutex<String>>,
    /// The server's files (configuration, control socket, history database); a restart keeps
    /// them.
    dir: Option<tempfile::TempDir>,
}

pub fn chatd_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_chatd"))
}

impl Server {
    /// Starts chatd with the embedded defaults plus `extra` TOML (which must not set
    /// `server.listen`); it listens on 127.0.0.1 with a port the kernel picks.
    pub fn start(extra: &str) -> Server {
        Self::start_with(extra, &[])
    }

    /// Like [`Server::start`], with extra environment variables.
    pub fn start_with(extra: &str, env: &[(&str, &str)]) -> Server {
        Self::start_full(extra, env, &[])
    }

    /// Like [`Server::start`], with extra environment variables and command-line arguments.
    pub fn start_full(extra: &str, env: &[(&str, &str)], args: &[&str]) -> Server {
        Self::spawn(extra, env, args, "127.0.0.1:0")
    }

    /// Stops this server at once (as a crash would) and starts a new one with the same
    /// configuration, history database and client and web ports.
    pub fn restart(self, extra: &str) -> Server {
        self.replace(extra, false, Duration::ZERO)
    }

    /// Like [`Server::stop_and_restart`], with the server down for `pause` in between.
    pub fn restart_after(self, extra: &str, pause: Duration) -> Server {
        self.replace(extra, true, pause)
    }

    /// Stops this server with SIGTERM, waits for it to exit, and starts a new one as
    /// [`Server::restart`] does.
    pub fn stop_and_restart(self, extra: &str) -> Server {
        self.replace(extra, true, Duration::ZERO)
    }

    /// Stops this server (gracefully, or at once as a crash would), waits `pause`, and starts a
    /// new one on the same files and ports.
    fn replace(mut self, extra: &str, graceful: bool, pause: Duration) -> Server {
        let addr = self.addr.to_string();
        let web = self.web_addr().to_string();
        let irc = self.irc_addr().to_string();
        if graceful {
            self.signal("TERM");
            self.wait_exit(WAIT);
        }
        let dir = self.dir.take();
        drop(self);
        std::thread::sleep(pause);
        let env = [("CHATD_WEB__LISTEN", &*web), ("CHATD_IRC__LISTEN", &*irc)];
        Self::spawn_in(dir, extra, &env, &[], &addr)
    }

    /// Where this server keeps its history (unless its configuration says otherwise).
    pub fn history_path(&self) -> PathBuf {
        self.dir
            .as_ref()
            .map(|d| d.path().join("history.db"))
            .unwrap_or_default()
    }

    fn spawn(extra: &str, env: &[(&str, &str)], args: &[&str], listen: &str) -> Server {
        Self::spawn_in(None, extra, env, args, listen)
    }

    fn spawn_in(
        dir: Option<tempfile::TempDir>,
        extra: &str,
        env: &[(&str, &str)],
        args: &[&str],
        listen: &str,
    ) -> Server {
        let dir = dir.unwrap_or_else(|| tempfile::tempdir().unwrap());
        let path = dir.path().join("chatd.toml");
        std::fs::write(&path, extra).unwrap();
        let mut command = Command::new(chatd_bin());
        command
            .arg("--config")
            .arg(&path)
            .arg("--listen")
            .arg(listen)
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // Tests fire commands faster than people do: lift the rate limit unless a test sets it.
        if !extra.contains("rate =") {
            command.env("CHATD_LIMITS__RATE", "100000");
        }
        if !extra.contains("burst =") {
            command.env("CHATD_LIMITS__BURST", "100000");
        }
        // The web front on a port the kernel picks (its default, 8080, would collide).
        if !extra.contains("[web]") {
            command.env("CHATD_WEB__LISTEN", "127.0.0.1:0");
        }
        // The IRC front likewise (its default, 6667, would collide).
        if !extra.contains("[irc]") {
            command.env("CHATD_IRC__LISTEN", "127.0.0.1:0");
        }
        // Each server its own history database, in its own directory.
        if !extra.contains("path =") {
            command.env("CHATD_HISTORY__PATH", dir.path().join("history.db"));
        }
        let socket = dir.path().join("control.sock");
        if !extra.contains("[control]") {
            command.env("CHATD_CONTROL__SOCKET", &socket);
        }
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("start chatd");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("addr=").nth(1)
                    && line.contains("listening")
                    && let Some(tx) = tx.take()
                {
                    let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(addr);
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let addr = match rx.recv_timeout(WAIT) {
            Ok(addr) => addr.parse().expect("listen address in the log"),
            Err(_) => {
                let _ = child.kill();
                panic!("chatd did not start: {}", log.lock().unwrap());
            }
        };
        Server {
            child,
            addr,
            socket,
            config: path,
            log,
            dir: Some(dir),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident memory, in KiB.
    pub fn rss_kib(&self) -> u64 {
        chatd::server::stats::rss_kib(self.pid()).expect("VmRSS of the server")
    }

    /// A line client connecting from `source` (another loopback address, such as 127.0.0.2),
    /// that has read the banner.
    pub fn line_from(&self, source: std::net::IpAddr) -> LineClient {
        LineClient::from_stream(connect_from(source, self.addr))
    }

    /// The web front's address (from the log line that opens it).
    pub fn web_addr(&self) -> SocketAddr {
        self.logged_addr("web front open")
    }

    /// The IRC front's address (from the log line that opens it).
    pub fn irc_addr(&self) -> SocketAddr {
        self.logged_addr("IRC front open")
    }

    /// The IRC front's TLS address (`irc.tls_listen`, from the log line that opens it).
    pub fn irc_tls_addr(&self) -> SocketAddr {
        self.logged_addr("IRC front open: ircs://")
    }

    /// An IRC client connected to the IRC front (not registered yet).
    pub fn irc(&self) -> IrcClient {
        IrcClient::connect(self.irc_addr())
    }

    /// An IRC client registered as `nick` (its welcome consumed).
    pub fn irc_user(&self, nick: &str) -> IrcClient {
        let mut c = self.irc();
        c.register(nick);
        c
    }

    /// The metrics endpoint's address (from the log line that opens it).
    pub fn metrics_addr(&self) -> SocketAddr {
        self.logged_addr("metrics at")
    }

    /// The `addr=` of the first log line containing `marker`.
    fn logged_addr(&self, marker: &str) -> SocketAddr {
        self.wait_log(marker);
        let log = self.log();
        let line = log
            .lines()
            .find(|l| l.contains(marker))
            .expect("the log line");
        let addr = line
            .split("addr=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("addr= in {line:?}"));
        addr.parse().expect("an address")
    }

    /// Everything chatd logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log contains `needle`.
    pub fn wait_log(&self, needle: &str) {
        let deadline = Instant::now() + WAIT;
        while !self.log().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "log never contained {needle:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A connected line client that has read the banner.
    pub fn line(&self) -> LineClient {
        LineClient::connect(self.addr)
    }

    /// A line client with `nick` set and `room` joined (its own join lines consumed).
    pub fn user(&self, nick: &str, room: &str) -> LineClient {
        let mut c = self.line();
        c.send(&format!("/nick {nick}"));
        c.expect(&format!("you are now known as {nick}"));
        c.send(&format!("/join {room}"));
        c.expect("you joined");
        c
    }

    /// Sends a signal to the process (`TERM`, `INT`, ...).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "chatd did not exit in {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port below the ephemeral range (32768+) that is free right now, for node-to-node
/// ports (ractor_cluster needs a fixed port that peers can be told).
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let offset = (std::process::id() % 500) as u16 * 20;
    loop {
        let port = 20_000 + (offset + NEXT.fetch_add(1, Ordering::Relaxed)) % 12_000;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Polls `check` every 100 ms until it returns true, for at most `within`.
pub fn eventually(within: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A netcat-style client: writes lines, reads lines.
pub struct LineClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    /// Every line received, for failure messages.
    pub seen: Vec<String>,
}

/// A TCP connection to `addr` from the local address `source`.
pub fn connect_from(source: std::net::IpAddr, addr: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )
    .unwrap();
    socket.bind(&SocketAddr::new(source, 0).into()).unwrap();
    socket.connect(&addr.into()).unwrap();
    socket.into()
}

impl LineClient {
    pub fn connect(addr: SocketAddr) -> LineClient {
        LineClient::from_stream(TcpStream::connect(addr).unwrap())
    }

    /// A client on a connected stream; reads the banner.
    pub fn from_stream(stream: TcpStream) -> LineClient {
        let mut c = LineClient::bare(stream);
        c.expect("welcome to chatd");
        c
    }

    /// A client on a connected stream that expects no banner.
    pub fn bare(stream: TcpStream) -> LineClient {
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let writer = stream.try_clone().unwrap();
        LineClient {
            reader: BufReader::new(stream),
            writer,
            seen: Vec::new(),
        }
    }

    pub fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\n").as_bytes());
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
    }

    /// The sending side, for writes that may fail (the server may cut the client off).
    pub fn writer(&self) -> TcpStream {
        self.writer.try_clone().unwrap()
    }

    /// The next line, or `None` at end of stream or after the read timeout.
    pub fn next_line(&mut self) -> Option<String> {
        let mut buf = Vec::new();
        match self.reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => None,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buf).trim_end().to_string();
                self.seen.push(line.clone());
                Some(line)
            }
        }
    }

    /// Reads lines until one contains `needle`; returns it.
    pub fn expect(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            match self.next_line() {
                Some(line) if line.contains(needle) => return line,
                Some(_) => {}
                None => break,
            }
        }
        panic!("never got {needle:?}; got:\n{}", self.seen.join("\n"))
    }

    /// Reads until the server closes the connection; returns the lines read on the way.
    pub fn expect_closed(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        let deadline = Instant::now() + WAIT;
        let mut buf = Vec::new();
        loop {
            assert!(
                Instant::now() < deadline,
                "connection not closed; got {lines:?}"
            );
            buf.clear();
            match self.reader.read_until(b'\n', &mut buf) {
                Ok(0) => return lines,
                Ok(_) => lines.push(String::from_utf8_lossy(&buf).trim_end().to_string()),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return lines,
                Err(e) => panic!("read failed before close: {e}; got {lines:?}"),
            }
        }
    }

    /// Sends `/ping TOKEN` and waits for its pong: everything sent before has been handled.
    pub fn sync(&mut self) {
        let token = format!("sync{}", self.seen.len());
        self.send(&format!("/ping {token}"));
        self.expect(&format!("pong {token}"));
    }

    /// A second client reading the same connection (the original keeps the writing side).
    pub fn clone_reader(&mut self) -> LineClient {
        let stream = self.reader.get_ref().try_clone().unwrap();
        LineClient {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
            seen: Vec::new(),
        }
    }

    /// Closes the sending side only (half-close).
    pub fn shutdown_write(&self) {
        self.writer.shutdown(Shutdown::Write).unwrap();
    }
}

/// A framed-protocol client.
pub struct FrameClient {
    stream: TcpStream,
    pub seen: Vec<Event>,
}

impl FrameClient {
    /// Connects, sends `first` (a framed client speaks first), skips the banner line.
    pub fn connect(addr: SocketAddr, first: &protocol::Command) -> FrameClient {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut c = FrameClient {
            stream,
            seen: Vec::new(),
        };
        c.send(first);
        let mut byte = [0u8; 1];
        loop {
            c.stream.read_exact(&mut byte).unwrap();
            if byte[0] == b'\n' {
                break;
            }
        }
        c
    }

    pub fn send(&mut self, command: &protocol::Command) {
        let frame = protocol::frame::encode_command(command).unwrap();
        self.stream.write_all(&frame).unwrap();
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// The next event, or `None` at end of stream.
    pub fn next_event(&mut self) -> Option<Event> {
        let mut header = [0u8; 4];
        self.stream.read_exact(&mut header).ok()?;
        let mut payload = vec![0u8; u32::from_be_bytes(header) as usize];
        self.stream.read_exact(&mut payload).ok()?;
        let event = protocol::frame::decode_event(&payload).expect("a valid event frame");
        self.seen.push(event.clone());
        Some(event)
    }

    /// Reads events until `pred` matches one; returns it.
    pub fn expect(&mut self, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            match self.next_event() {
                Some(e) if pred(&e) => return e,
                Some(_) => {}
                None => break,
            }
        }
        panic!("never got {what}; got:\n{:#?}", self.seen)
    }
}

/// Asserts that a finished command succeeded, showing its stderr when it did not.
pub fn assert_success(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An IRC client speaking raw IRC: lines end in CR LF; everything else is [`LineClient`]'s.
pub struct IrcClient {
    line: LineClient,
    /// The nick it registered with.
    pub nick: String,
}

impl std::ops::Deref for IrcClient {
    type Target = LineClient;
    fn deref(&self) -> &LineClient {
        &self.line
    }
}

impl std::ops::DerefMut for IrcClient {
    fn deref_mut(&mut self) -> &mut LineClient {
        &mut self.line
    }
}

impl IrcClient {
    /// Connects to an IRC front.
    pub fn connect(addr: SocketAddr) -> IrcClient {
        IrcClient {
            line: LineClient::bare(TcpStream::connect(addr).unwrap()),
            nick: "*".into(),
        }
    }

    /// Sends one IRC line (CR LF added).
    pub fn send(&mut self, line: &str) {
        self.line.send_raw(format!("{line}\r\n").as_bytes());
    }

    /// Registers as `nick` (`NICK`, `USER`) and reads the welcome up to the end of the MOTD.
    pub fn register(&mut self, nick: &str) {
        self.send(&format!("NICK {nick}"));
        self.send(&format!("USER {nick} 0 * :{nick} tester"));
        self.expect(&format!(" 001 {nick} "));
        self.expect(" 422 ");
        self.nick = nick.to_string();
    }

    /// Sends `PING` and waits for its `PONG`: everything sent before has been answered.
    pub fn sync(&mut self) {
        self.drain();
    }

    /// Reads lines until a `PONG` for a fresh `PING`; returns the lines before it.
    pub fn drain(&mut self) -> Vec<String> {
        let token = format!("drain{}", self.seen.len());
        self.send(&format!("PING {token}"));
        let mut lines = Vec::new();
        loop {
            let line = self
                .next_line()
                .unwrap_or_else(|| panic!("no PONG; got {lines:?}"));
            if line.contains(" PONG ") && line.ends_with(&format!(":{token}")) {
                return lines;
            }
            lines.push(line);
        }
    }
}
