//! Configuration: the keys chatd understands, their embedded defaults, and how the layers combine.
//!
//! Layers, later ones winning: embedded defaults < the `--config` file < environment variables
//! (`CHATD_SECTION__KEY`, e.g. `CHATD_LIMITS__SEND_QUEUE=512`) < command-line flags.
//! Unknown keys, wrong types and bad values refuse the start with a message that names the key and
//! the file; nothing is silently ignored. Every `CHATD_`-prefixed environment variable is read as a
//! key, so a stray one is an error too.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use config::{Environment, File, FileFormat};
use serde::{Deserialize, Serialize};

use crate::names;
use crate::server::cluster::cookie::CookieSource;
pub use irc::{IrcConfig, IrcSettings};
pub use tls::{WebTlsConfig, WebTlsSettings};

pub mod irc;
pub mod tls;
use crate::wire::DECODE_LIMIT;

/// Everything in a config file, as written (before validation).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// `[server]`
    pub server: ServerSettings,
    /// `[limits]`
    pub limits: Limits,
    /// `[history]`
    pub history: HistorySettings,
    /// `[log]`
    pub log: LogSettings,
    /// `[cluster]`
    pub cluster: ClusterSettings,
    /// `[control]`
    pub control: ControlSettings,
    /// `[web]`
    pub web: WebSettings,
    /// `[metrics]`
    pub metrics: MetricsSettings,
    /// `[irc]`
    pub irc: IrcSettings,
}

/// `[metrics]`: the Prometheus endpoint (see [`crate::server::metrics`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    /// Address serving `GET /metrics`, `IP:PORT`; empty: no metrics endpoint.
    pub listen: String,
}

/// `[web]`: the browser front (see [`crate::server::web`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebSettings {
    /// Serve the web page and its WebSocket.
    pub enabled: bool,
    /// Address of the HTTP port, `IP:PORT`.
    pub listen: String,
    /// Origins (`scheme://host:port`) besides this server's own whose pages may open a WebSocket.
    pub allowed_origins: Vec<String>,
    /// Reverse proxies (`IP` or `IP/PREFIX`) whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<String>,
    /// `[web.tls]`: serve https and wss.
    pub tls: WebTlsSettings,
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings {
            enabled: true,
            listen: "127.0.0.1:8080".into(),
            allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            tls: WebTlsSettings::default(),
        }
    }
}

/// `[web]`, validated, when enabled.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The HTTP port.
    pub listen: SocketAddr,
    /// `web.allowed_origins`
    pub allowed_origins: Vec<String>,
    /// `web.trusted_proxies`, parsed.
    pub trusted_proxies: Vec<Network>,
    /// `[web.tls]`, when set.
    pub tls: Option<WebTlsConfig>,
}

/// `[control]`: the admin control socket (see [`crate::server::control`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ControlSettings {
    /// The Unix socket's path. Empty: `$RUNTIME_DIRECTORY/control.sock` under systemd,
    /// else `$XDG_RUNTIME_DIR/chatd/NODE.sock`, else `./chatd-NODE.sock`.
    pub socket: String,
    /// The socket file's permissions, octal.
    pub mode: String,
    /// A group whose members may use the socket (besides root and the daemon's user).
    pub group: String,
}

impl Default for ControlSettings {
    fn default() -> Self {
        ControlSettings {
            socket: String::new(),
            mode: "0660".into(),
            group: String::new(),
        }
    }
}

/// The validated `[control]` section.
#[derive(Debug, Clone)]
pub struct ControlConfig {
    /// The socket's path.
    pub socket: PathBuf,
    /// Its permission bits.
    pub mode: u32,
    /// The group allowed besides root and the daemon's user.
    pub group: Option<String>,
}

/// The control socket path when `control.socket` is empty, for node `node`.
pub fn default_control_socket(node: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("RUNTIME_DIRECTORY") {
        // systemd's RuntimeDirectory= (several directories are separated by ':').
        let dir = dir.to_string_lossy();
        let first = dir.split(':').next().unwrap_or_default();
        return PathBuf::from(first).join("control.sock");
    }
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR") {
        return PathBuf::from(dir)
            .join("chatd")
            .join(format!("{node}.sock"));
    }
    PathBuf::from(format!("chatd-{node}.sock"))
}

/// `[server]`: identity and the client port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// This node's name, shown to users and unique in a cluster.
    pub name: String,
    /// Address of the client port (both protocols), `IP:PORT`.
    pub listen: String,
    /// Rooms created at start and never removed when empty.
    pub default_rooms: Vec<String>,
    /// Seconds a graceful shutdown may take to flush clients before they are cut off.
    pub shutdown_grace_secs: u64,
    /// Milliseconds a room stays loaded after its last member left (a member who comes back
    /// finds it without a new start and a history read); 0 closes it at once.
    pub empty_room_linger_ms: u64,
    /// Threads running the sessions, rooms and fronts; 0: one per CPU.
    pub worker_threads: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            name: "chatd".into(),
            listen: "127.0.0.1:9999".into(),
            default_rooms: vec!["general".into()],
            shutdown_grace_secs: 5,
            empty_room_linger_ms: 10_000,
            worker_threads: 0,
        }
    }
}

/// `[limits]`: every bound on what one client can make the server do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Concurrent client connections; the next one gets `server_full`.
    pub max_connections: usize,
    /// Connections the kernel may hold waiting to be accepted (capped by `net.core.somaxconn`).
    pub listen_backlog: u32,
    /// Longest line-protocol line, in bytes, without the line ending.
    pub max_line_bytes: usize,
    /// Largest framed-protocol payload, in bytes.
    pub max_frame_bytes: usize,
    /// Outgoing messages queued per session before the session is cut off as too slow.
    pub send_queue: usize,
    /// Outgoing bytes queued per session before the session is cut off as too slow.
    pub send_queue_bytes: usize,
    /// Sustained commands per second per session.
    pub rate: f64,
    /// Commands a session may send at once before `rate` applies.
    pub burst: u32,
    /// Rooms one session may be in.
    pub max_rooms_per_session: usize,
    /// Seconds without any input before a session is closed; 0 turns it off.
    pub idle_timeout_secs: u64,
    /// Above this many members a room stops announcing individual joins and leaves.
    pub presence_max_members: usize,
    /// Rooms this node hosts at most; creating one more is refused.
    pub max_rooms: usize,
    /// Concurrent connections from one IP address; the next one gets `server_full`.
    pub max_connections_per_ip: usize,
    /// Addresses (`IP`) or networks (`IP/PREFIX`) `max_connections_per_ip` does not apply to
    /// (by default this host's own: local bots, bridges and proxies).
    pub exempt_addresses: Vec<String>,
    /// Seconds a connection has to choose a protocol and set a nick before it is closed.
    pub registration_timeout_secs: u64,
    /// Seconds of silence before TCP keepalive probes look for a vanished client; 0 turns
    /// them off.
    pub tcp_keepalive_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 10_000,
            listen_backlog: 1024,
            max_line_bytes: 4096,
            max_frame_bytes: 65_536,
            send_queue: 1024,
            send_queue_bytes: 1_048_576,
            rate: 5.0,
            burst: 10,
            max_rooms_per_session: 32,
            idle_timeout_secs: 0,
            presence_max_members: 500,
            max_rooms: 10_000,
            max_connections_per_ip: 50,
            exempt_addresses: vec!["127.0.0.0/8".into(), "::1".into()],
            registration_timeout_secs: 30,
            tcp_keepalive_secs: 60,
        }
    }
}

/// `[history]`: what each room remembers, and where (see [`crate::server::store`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HistorySettings {
    /// Messages kept in memory per room and replayed to a joiner.
    pub replay: usize,
    /// Longest message or action text, in bytes; longer ones are refused on every protocol.
    pub max_message_bytes: usize,
    /// Where history is kept: `sqlite` (a file), `postgres` (a shared database) or `memory`
    /// (only the last `replay` messages per room, lost at a restart).
    pub store: String,
    /// The SQLite file; empty: `$STATE_DIRECTORY/NODE.db` under systemd, else
    /// `$XDG_STATE_HOME/chatd/NODE.db`, else `./chatd-NODE.db`.
    pub path: String,
    /// With `store = "postgres"`: the database, `postgres://USER@HOST:PORT/DB` (or the
    /// `host=... user=...` form); no password here.
    pub url: String,
    /// A file holding the database password (its first line), readable by chatd only.
    pub password_file: String,
    /// `batch`: commit at least every `batch_ms`; `always`: commit before delivering.
    pub sync: String,
    /// With `sync = "batch"`, the longest a message waits to be committed, in milliseconds.
    pub batch_ms: u64,
    /// Messages waiting to be written; past it, messages are delivered but not stored (logged).
    pub write_queue: usize,
    /// The most messages one history request may ask for.
    pub max_fetch: usize,
    /// Messages kept per room in the store, the oldest deleted first; 0 keeps all.
    pub max_messages_per_room: u64,
    /// Days a stored message is kept; 0 keeps them forever.
    pub max_age_days: u64,
    /// Store private messages too (room messages always are).
    pub private: bool,
}

impl Default for HistorySettings {
    fn default() -> Self {
        HistorySettings {
            replay: 50,
            max_message_bytes: 4096,
            store: "sqlite".into(),
            path: String::new(),
            url: String::new(),
            password_file: String::new(),
            sync: "batch".into(),
            batch_ms: 50,
            write_queue: 65_536,
            max_fetch: 200,
            max_messages_per_room: 0,
            max_age_days: 0,
            private: false,
        }
    }
}

/// Where history is kept (`history.store`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// In memory only: the last `history.replay` messages per room.
    Memory,
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database.
    Postgres(PostgresConfig),
}

/// Where the PostgreSQL history is.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresConfig {
    /// `history.url`
    pub url: String,
    /// The first line of `history.password_file`, if set.
    pub password: Option<String>,
}

impl std::fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password stays out of logs and `--check-config`.
        f.debug_struct("PostgresConfig")
            .field("url", &self.url)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

/// When a stored message is committed (`history.sync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// In batches, at least every `history.batch_ms`: a crash loses at most that window.
    Batch,
    /// Before the message is delivered: nothing a member received is lost.
    Always,
}

/// The validated `[history]` store settings.
#[derive(Debug, Clone)]
pub struct HistoryConfig {
    /// Where.
    pub backend: Backend,
    /// When commits happen.
    pub sync: SyncMode,
    /// `history.batch_ms`
    pub batch: Duration,
    /// `history.write_queue`
    pub write_queue: usize,
    /// `history.max_messages_per_room` and `history.max_age_days`.
    pub retention: Retention,
    /// This node's name: the owner of the numbers its rooms reserve.
    pub node: String,
}

/// What the store deletes by itself, a little at a time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Messages kept per room (the newest); `None` keeps all.
    pub max_messages: Option<u64>,
    /// How long a message is kept; `None` keeps them forever.
    pub max_age: Option<Duration>,
}

impl Retention {
    /// Whether anything is ever deleted.
    pub fn is_active(&self) -> bool {
        self.max_messages.is_some() || self.max_age.is_some()
    }
}

/// Where the SQLite file goes when `history.path` is empty.
pub fn default_history_path(node: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("STATE_DIRECTORY") {
        // systemd's StateDirectory= (several directories are separated by ':').
        let dir = dir.to_string_lossy();
        let first = dir.split(':').next().unwrap_or_default();
        return PathBuf::from(first).join(format!("{node}.db"));
    }
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME") {
        return PathBuf::from(dir).join("chatd").join(format!("{node}.db"));
    }
    // Absolute now: a daemon moves to / before it opens the file.
    let here = PathBuf::from(format!("chatd-{node}.db"));
    std::path::absolute(&here).unwrap_or(here)
}

/// `[log]`: logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// A `tracing` filter: `error`, `warn`, `info`, `debug`, `trace`, or directives such as
    /// `chatd=debug`. `RUST_LOG`, when set, wins.
    pub level: String,
    /// `text` or `json` on stderr (under systemd, logs go to the journal either way).
    pub format: String,
    /// Append logs to this file instead of stderr (meant for `--daemon`); empty: stderr.
    pub file: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            level: "info".into(),
            format: "text".into(),
            file: String::new(),
        }
    }
}

/// `[cluster]`: linking this node with others (see [`crate::server::cluster`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterSettings {
    /// Join a cluster.
    pub enabled: bool,
    /// Address of the node-to-node port, `IP:PORT` (loopback by default, never all interfaces by
    /// accident).
    pub listen: String,
    /// The `HOST:PORT` other nodes dial to reach this one; empty means `listen`.
    pub advertise: String,
    /// Nodes to dial at start, `HOST:PORT` (their `advertise` addresses).
    pub seeds: Vec<String>,
    /// The shared secret (all nodes must have the same); prefer `cookie_file`.
    pub cookie: String,
    /// A file holding the cookie; it must not be readable by group or others. With neither
    /// `cookie` nor `cookie_file`, `~/.chatd.cookie` is used (created on first start).
    pub cookie_file: String,
    /// Milliseconds between heartbeats to each peer.
    pub heartbeat_ms: u64,
    /// A peer silent this long is declared down and its connection torn down.
    pub failure_timeout_ms: u64,
    /// Milliseconds a connection to the node-to-node port has to prove it knows the cookie.
    pub handshake_timeout_ms: u64,
    /// Node-to-node connections that may be proving themselves at once; more are closed.
    pub max_pending_connections: usize,
    /// `[cluster.tls]`: mutual TLS between nodes.
    pub tls: TlsSettings,
}

/// `[cluster.tls]`: set all three keys to encrypt node-to-node traffic (all empty: no TLS).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsSettings {
    /// This node's certificate chain (PEM); it must name the host of `cluster.advertise`.
    pub cert: String,
    /// This node's private key (PEM).
    pub key: String,
    /// The CA that signs every node's certificate (PEM).
    pub ca: String,
}

/// The validated `[cluster.tls]` section.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    /// Certificate chain file.
    pub cert: PathBuf,
    /// Private key file.
    pub key: PathBuf,
    /// CA certificate file.
    pub ca: PathBuf,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        ClusterSettings {
            enabled: false,
            listen: "127.0.0.1:9000".into(),
            advertise: String::new(),
            seeds: Vec::new(),
            cookie: String::new(),
            cookie_file: String::new(),
            heartbeat_ms: 1000,
            failure_timeout_ms: 5000,
            handshake_timeout_ms: 5000,
            max_pending_connections: 16,
            tls: TlsSettings::default(),
        }
    }
}

/// The validated `[cluster]` section.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// Node-to-node port.
    pub listen: SocketAddr,
    /// What peers dial: `HOST:PORT`.
    pub advertise: String,
    /// Nodes to dial at start.
    pub seeds: Vec<String>,
    /// The cookie.
    pub cookie: CookieSource,
    /// `cluster.heartbeat_ms`
    pub heartbeat: Duration,
    /// `cluster.failure_timeout_ms`
    pub failure_timeout: Duration,
    /// `cluster.handshake_timeout_ms`
    pub handshake_timeout: Duration,
    /// `cluster.max_pending_connections`
    pub max_pending: usize,
    /// `[cluster.tls]`, when set.
    pub tls: Option<TlsConfig>,
}

/// Values given on the command line; they override every other layer.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--name`
    pub name: Option<String>,
    /// `--listen ADDR`
    pub listen: Option<String>,
    /// `--port N`: replaces the port of the listen address.
    pub port: Option<u16>,
    /// `--dist-port N`: enables clustering on this node-to-node port.
    pub dist_port: Option<u16>,
    /// `--connect ADDR` (repeatable): enables clustering and adds seeds.
    pub connect: Vec<String>,
    /// `--web-listen ADDR`: the web front's address (and the web front on).
    pub web_listen: Option<String>,
    /// `--web-port N`: replaces the port of `web.listen` (and turns the web front on).
    pub web_port: Option<u16>,
    /// `--no-web`: no web front.
    pub no_web: bool,
    /// `--metrics-listen ADDR`: serve metrics there.
    pub metrics_listen: Option<String>,
    /// `--irc-listen ADDR`: the IRC front's address (and the IRC front on).
    pub irc_listen: Option<String>,
    /// `--no-irc`: no IRC front.
    pub no_irc: bool,
}

/// The validated configuration the daemon runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The settings as merged from all layers (for `--check-config` and reloads).
    pub settings: Settings,
    /// Where the file layer came from, if any.
    pub file: Option<PathBuf>,
    /// `server.listen`, parsed.
    pub listen: SocketAddr,
    /// `server.default_rooms`, canonical.
    pub default_rooms: Vec<String>,
    /// `[cluster]`, when enabled.
    pub cluster: Option<ClusterConfig>,
    /// `[control]`.
    pub control: ControlConfig,
    /// `limits.exempt_addresses`, parsed.
    pub exempt_addresses: Vec<Network>,
    /// `[web]`, when enabled.
    pub web: Option<WebConfig>,
    /// `metrics.listen`, when set.
    pub metrics: Option<SocketAddr>,
    /// `[irc]`, when enabled.
    pub irc: Option<IrcConfig>,
    /// `[history]`: the store.
    pub history: HistoryConfig,
    /// `CHATD_` variables that are not configuration (no `__` in the name), to be warned about.
    pub ignored_env: Vec<String>,
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The layers could not be read or merged (unreadable file, bad TOML, unknown key, wrong type).
    #[error("{origin}: {source}")]
    Load {
        /// The file, or "defaults/environment".
        origin: String,
        /// What the config crate reported (it names the key).
        source: config::ConfigError,
    },
    /// A key has a value of the right type that is not allowed.
    #[error("{origin}: key `{key}`: {message}")]
    Invalid {
        /// The file, or "defaults/environment".
        origin: String,
        /// The dotted key, e.g. `server.listen`.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// An IP network, `IP/PREFIX` (a bare `IP` is the network of that one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// Parses `IP` or `IP/PREFIX`; the message says what is wrong.
    pub fn parse(text: &str) -> Result<Network, String> {
        let (ip, prefix) = match text.split_once('/') {
            Some((ip, prefix)) => (ip, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = ip
            .parse()
            .map_err(|e| format!("{text:?} is not an IP address or IP/PREFIX ({e})"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix must be 0 to {max}"))?,
        };
        Ok(Network { addr, prefix })
    }

    /// Whether `ip` is in the network (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let bits = |ip: IpAddr| -> (u128, u32) {
            match ip.to_canonical() {
                IpAddr::V4(v4) => (u128::from(u32::from(v4)) << 96, 32),
                IpAddr::V6(v6) => (u128::from(v6), 128),
            }
        };
        let (net, net_len) = bits(self.addr);
        let (ip, ip_len) = bits(ip);
        if net_len != ip_len {
            return false;
        }
        let mask = u128::MAX
            .checked_shl(128 - u32::from(self.prefix))
            .unwrap_or(0);
        net & mask == ip & mask
    }
}

/// Bytes a replayed message may take beyond its text (time, room, nick, framing), for the check
/// that a room's history replay fits in a client's send queue.
pub const REPLAY_LINE_OVERHEAD: usize = 128;

/// The sections of the file, as `CHATD_SECTION__KEY` variables name them.
const SECTIONS: &[&str] = &[
    "server", "limits", "history", "log", "cluster", "control", "web", "metrics", "irc",
];

/// Splits the `CHATD_` environment (the process's, or `env`) into configuration variables and
/// the ones that are not: a configuration variable is `CHATD_SECTION__KEY`, so a name without a
/// double underscore (`CHATD_CHECKOUT` from another tool, Kubernetes' `CHATD_SERVICE_HOST`) is
/// ignored and returned for a warning, while one with an unknown section is an error.
fn configuration_env(
    env: Option<HashMap<String, String>>,
) -> Result<(HashMap<String, String>, Vec<String>), String> {
    let env = env.unwrap_or_else(|| std::env::vars().collect());
    let mut keys = HashMap::new();
    let mut ignored = Vec::new();
    for (name, value) in env {
        let Some(rest) = name.strip_prefix("CHATD_") else {
            continue;
        };
        match rest.split_once("__") {
            None => ignored.push(name),
            Some((section, _)) if SECTIONS.contains(&section.to_ascii_lowercase().as_str()) => {
                keys.insert(name, value);
            }
            Some((section, _)) => {
                return Err(format!(
                    "{name}: [{}] is not a section (configuration variables are \
                     CHATD_SECTION__KEY with SECTION one of {}; names without a double \
                     underscore are not configuration and are ignored)",
                    section.to_ascii_lowercase(),
                    SECTIONS.join(", ")
                ));
            }
        }
    }
    ignored.sort();
    Ok((keys, ignored))
}

/// Checks that a numeric key's value is within `min..=max`; the message names the range.
fn in_range(value: u64, min: u64, max: u64) -> Result<(), String> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(format!("must be between {min} and {max}, not {value}"))
    }
}

/// Checks `HOST:PORT`: a host (name or IP) and a port number.
fn is_host_port(text: &str) -> bool {
    match text.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok(),
        None => false,
    }
}

fn validate_cluster(
    c: &ClusterSettings,
    invalid: &dyn Fn(&'static str, String) -> ConfigError,
) -> Result<ClusterConfig, ConfigError> {
    let listen: SocketAddr = c.listen.parse().map_err(|e| {
        invalid(
            "cluster.listen",
            format!("{:?} is not an IP:PORT address ({e})", c.listen),
        )
    })?;
    let advertise = if c.advertise.is_empty() {
        listen.to_string()
    } else if is_host_port(&c.advertise) {
        c.advertise.clone()
    } else {
        return Err(invalid(
            "cluster.advertise",
            format!("{:?} is not HOST:PORT", c.advertise),
        ));
    };
    if let Some(bad) = c.seeds.iter().find(|s| !is_host_port(s)) {
        return Err(invalid(
            "cluster.seeds",
            format!("{bad:?} is not HOST:PORT"),
        ));
    }
    let cookie = match (c.cookie.is_empty(), c.cookie_file.is_empty()) {
        (false, false) => {
            return Err(invalid(
                "cluster.cookie",
                "set cluster.cookie or cluster.cookie_file, not both".into(),
            ));
        }
        (false, true) => CookieSource::Inline(c.cookie.clone()),
        (true, false) => CookieSource::File {
            path: PathBuf::from(&c.cookie_file),
            create: false,
        },
        (true, true) => match std::env::var_os("HOME") {
            Some(home) => CookieSource::File {
                path: PathBuf::from(home).join(".chatd.cookie"),
                create: true,
            },
            None => {
                return Err(invalid(
                    "cluster.cookie",
                    "clustering needs a cookie: set cluster.cookie_file (no $HOME for the default ~/.chatd.cookie)".into(),
                ));
            }
        },
    };
    if let CookieSource::File { path, create } = &cookie {
        crate::server::cluster::cookie::check(path, *create)
            .map_err(|e| invalid("cluster.cookie_file", e.to_string()))?;
    }
    for (key, value, min, max) in [
        ("cluster.heartbeat_ms", c.heartbeat_ms, 50, 60_000),
        (
            "cluster.failure_timeout_ms",
            c.failure_timeout_ms,
            100,
            600_000,
        ),
        (
            "cluster.handshake_timeout_ms",
            c.handshake_timeout_ms,
            100,
            60_000,
        ),
        (
            "cluster.max_pending_connections",
            c.max_pending_connections as u64,
            1,
            1024,
        ),
    ] {
        in_range(value, min, max).map_err(|message| invalid(key, message))?;
    }
    if c.failure_timeout_ms <= c.heartbeat_ms {
        return Err(invalid(
            "cluster.failure_timeout_ms",
            format!(
                "must be more than cluster.heartbeat_ms ({})",
                c.heartbeat_ms
            ),
        ));
    }
    let t = &c.tls;
    let tls = match (t.cert.is_empty(), t.key.is_empty(), t.ca.is_empty()) {
        (true, true, true) => None,
        (false, false, false) => {
            for (key, path) in [
                ("cluster.tls.cert", &t.cert),
                ("cluster.tls.key", &t.key),
                ("cluster.tls.ca", &t.ca),
            ] {
                if let Err(e) = std::fs::metadata(path) {
                    return Err(invalid(key, format!("{path}: {e}")));
                }
            }
            Some(TlsConfig {
                cert: PathBuf::from(&t.cert),
                key: PathBuf::from(&t.key),
                ca: PathBuf::from(&t.ca),
            })
        }
        _ => {
            return Err(invalid(
                "cluster.tls",
                "set cert, key and ca together (or none of them)".into(),
            ));
        }
    };
    let mut seeds: Vec<String> = Vec::new();
    for seed in &c.seeds {
        if *seed != advertise && !seeds.contains(seed) {
            seeds.push(seed.clone());
        }
    }
    Ok(ClusterConfig {
        listen,
        advertise,
        seeds,
        cookie,
        heartbeat: Duration::from_millis(c.heartbeat_ms),
        failure_timeout: Duration::from_millis(c.failure_timeout_ms),
        handshake_timeout: Duration::from_millis(c.handshake_timeout_ms),
        max_pending: c.max_pending_connections,
        tls,
    })
}

impl Config {
    /// Loads the layers with the process environment.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        Self::load_with_env(file, None, overrides)
    }

    /// Loads the layers; `env` replaces the process environment when given (for tests).
    pub fn load_with_env(
        file: Option<&Path>,
        env: Option<HashMap<String, String>>,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let origin = match file {
            Some(path) => path.display().to_string(),
            None => "embedded defaults/environment".to_string(),
        };
        let load_err = |source| ConfigError::Load {
            origin: origin.clone(),
            source,
        };
        let (env, ignored_env) =
            configuration_env(env).map_err(|message| ConfigError::Invalid {
                origin: "environment".into(),
                key: "CHATD_*",
                message,
            })?;
        let defaults = config::Config::try_from(&Settings::default()).map_err(load_err)?;
        let mut builder = config::Config::builder().add_source(defaults);
        if let Some(path) = file {
            builder = builder.add_source(File::from(path).format(FileFormat::Toml).required(true));
        }
        builder = builder.add_source(
            Environment::with_prefix("CHATD")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("server.default_rooms")
                .with_list_parse_key("cluster.seeds")
                .with_list_parse_key("limits.exempt_addresses")
                .with_list_parse_key("web.allowed_origins")
                .with_list_parse_key("web.trusted_proxies")
                .source(Some(env)),
        );
        if let Some(name) = &overrides.name {
            builder = builder
                .set_override("server.name", name.as_str())
                .map_err(load_err)?;
        }
        if let Some(listen) = &overrides.listen {
            builder = builder
                .set_override("server.listen", listen.as_str())
                .map_err(load_err)?;
        }
        let mut settings: Settings = builder
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(load_err)?;
        if let Some(port) = overrides.port {
            // An unparsable address is left alone: validation reports it by its key.
            if let Ok(mut addr) = settings.server.listen.parse::<SocketAddr>() {
                addr.set_port(port);
                settings.server.listen = addr.to_string();
            }
        }
        if let Some(port) = overrides.dist_port {
            settings.cluster.enabled = true;
            if let Ok(mut addr) = settings.cluster.listen.parse::<SocketAddr>() {
                addr.set_port(port);
                settings.cluster.listen = addr.to_string();
            }
        }
        if let Some(listen) = &overrides.web_listen {
            settings.web.enabled = true;
            settings.web.listen = listen.clone();
        }
        if let Some(port) = overrides.web_port {
            settings.web.enabled = true;
            if let Ok(mut addr) = settings.web.listen.parse::<SocketAddr>() {
                addr.set_port(port);
                settings.web.listen = addr.to_string();
            }
        }
        if overrides.no_web {
            settings.web.enabled = false;
        }
        if let Some(listen) = &overrides.metrics_listen {
            settings.metrics.listen = listen.clone();
        }
        if let Some(listen) = &overrides.irc_listen {
            settings.irc.enabled = true;
            settings.irc.listen = listen.clone();
        }
        if overrides.no_irc {
            settings.irc.enabled = false;
        }
        if !overrides.connect.is_empty() {
            settings.cluster.enabled = true;
            settings
                .cluster
                .seeds
                .extend(overrides.connect.iter().cloned());
        }
        let mut config = Self::validate(settings, file, origin)?;
        config.ignored_env = ignored_env;
        Ok(config)
    }

    fn validate(
        settings: Settings,
        file: Option<&Path>,
        origin: String,
    ) -> Result<Config, ConfigError> {
        let invalid = |key: &'static str, message: String| ConfigError::Invalid {
            origin: origin.clone(),
            key,
            message,
        };
        let s = &settings;
        let listen: SocketAddr = s.server.listen.parse().map_err(|e| {
            invalid(
                "server.listen",
                format!("{:?} is not an IP:PORT address ({e})", s.server.listen),
            )
        })?;
        if s.server.name.is_empty()
            || s.server.name.len() > 64
            || !s
                .server
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(invalid(
                "server.name",
                format!(
                    "{:?} must be 1 to 64 characters from A-Z a-z 0-9 - _ .",
                    s.server.name
                ),
            ));
        }
        if s.server.worker_threads > 1024 {
            return Err(invalid(
                "server.worker_threads",
                format!(
                    "must be 0 (one per CPU) to 1024, not {}",
                    s.server.worker_threads
                ),
            ));
        }
        let mut default_rooms = Vec::new();
        for room in &s.server.default_rooms {
            let canonical = names::canonical_room(room)
                .map_err(|e| invalid("server.default_rooms", format!("{room:?}: {e}")))?;
            if !default_rooms.contains(&canonical) {
                default_rooms.push(canonical);
            }
        }
        let l = &s.limits;
        for (key, value, min, max) in [
            (
                "server.shutdown_grace_secs",
                s.server.shutdown_grace_secs,
                0,
                3600,
            ),
            (
                "server.empty_room_linger_ms",
                s.server.empty_room_linger_ms,
                0,
                3_600_000,
            ),
            (
                "limits.max_connections",
                l.max_connections as u64,
                1,
                1_000_000,
            ),
            (
                "limits.listen_backlog",
                u64::from(l.listen_backlog),
                1,
                65_535,
            ),
            (
                "limits.max_line_bytes",
                l.max_line_bytes as u64,
                16,
                DECODE_LIMIT as u64,
            ),
            (
                "limits.max_frame_bytes",
                l.max_frame_bytes as u64,
                16,
                DECODE_LIMIT as u64,
            ),
            ("limits.send_queue", l.send_queue as u64, 1, 1_000_000),
            ("limits.burst", u64::from(l.burst), 1, 1_000_000),
            (
                "limits.max_rooms_per_session",
                l.max_rooms_per_session as u64,
                1,
                10_000,
            ),
            ("limits.idle_timeout_secs", l.idle_timeout_secs, 0, 604_800),
            (
                "limits.presence_max_members",
                l.presence_max_members as u64,
                0,
                1_000_000,
            ),
            ("history.replay", s.history.replay as u64, 0, 100_000),
            ("history.batch_ms", s.history.batch_ms, 1, 10_000),
            (
                "history.write_queue",
                s.history.write_queue as u64,
                1,
                10_000_000,
            ),
            ("history.max_fetch", s.history.max_fetch as u64, 1, 100_000),
            (
                "history.max_messages_per_room",
                s.history.max_messages_per_room,
                0,
                1_000_000_000_000,
            ),
            ("history.max_age_days", s.history.max_age_days, 0, 36_500),
            (
                "limits.send_queue_bytes",
                l.send_queue_bytes as u64,
                1024,
                1 << 30,
            ),
            ("limits.max_rooms", l.max_rooms as u64, 1, 1_000_000),
            (
                "limits.max_connections_per_ip",
                l.max_connections_per_ip as u64,
                1,
                1_000_000,
            ),
            (
                "limits.registration_timeout_secs",
                l.registration_timeout_secs,
                1,
                3600,
            ),
            ("limits.tcp_keepalive_secs", l.tcp_keepalive_secs, 0, 86_400),
            (
                "history.max_message_bytes",
                s.history.max_message_bytes as u64,
                1,
                1 << 20,
            ),
        ] {
            in_range(value, min, max).map_err(|message| invalid(key, message))?;
        }
        // A joiner's history replay (and a /history reply) must fit in its queue.
        let replay_bytes = s.history.replay * (s.history.max_message_bytes + REPLAY_LINE_OVERHEAD);
        if l.send_queue_bytes < replay_bytes {
            return Err(invalid(
                "limits.send_queue_bytes",
                format!(
                    "must hold a room's whole history replay: at least {replay_bytes} \
                     (history.replay × (history.max_message_bytes + {REPLAY_LINE_OVERHEAD}))"
                ),
            ));
        }
        // So must the biggest answer to a history request.
        let fetch_bytes =
            s.history.max_fetch * (s.history.max_message_bytes + REPLAY_LINE_OVERHEAD);
        if l.send_queue_bytes < fetch_bytes {
            return Err(invalid(
                "history.max_fetch",
                format!(
                    "the largest answer must fit limits.send_queue_bytes ({}): at most {} \
                     (history.max_fetch × (history.max_message_bytes + {REPLAY_LINE_OVERHEAD}))",
                    l.send_queue_bytes,
                    l.send_queue_bytes / (s.history.max_message_bytes + REPLAY_LINE_OVERHEAD)
                ),
            ));
        }
        let backend = match s.history.store.as_str() {
            "memory" => Backend::Memory,
            "sqlite" => Backend::Sqlite(if s.history.path.is_empty() {
                default_history_path(&s.server.name)
            } else {
                PathBuf::from(&s.history.path)
            }),
            "postgres" => {
                if s.history.url.is_empty() {
                    return Err(invalid(
                        "history.url",
                        "history.store = \"postgres\" needs the database's url".into(),
                    ));
                }
                let parsed = s
                    .history
                    .url
                    .parse::<postgres::Config>()
                    .map_err(|e| invalid("history.url", e.to_string()))?;
                if parsed.get_password().is_some() {
                    // It would end up in logs and in `--check-config`.
                    return Err(invalid(
                        "history.url",
                        "put the password in history.password_file, not in the url".into(),
                    ));
                }
                let password = match s.history.password_file.as_str() {
                    "" => None,
                    file => Some(
                        std::fs::read_to_string(file)
                            .map_err(|e| invalid("history.password_file", format!("{file}: {e}")))?
                            .lines()
                            .next()
                            .unwrap_or_default()
                            .to_string(),
                    ),
                };
                Backend::Postgres(PostgresConfig {
                    url: s.history.url.clone(),
                    password,
                })
            }
            other => {
                return Err(invalid(
                    "history.store",
                    format!("must be sqlite, postgres or memory, not {other:?}"),
                ));
            }
        };
        let sync = match s.history.sync.as_str() {
            "batch" => SyncMode::Batch,
            "always" => SyncMode::Always,
            other => {
                return Err(invalid(
                    "history.sync",
                    format!("must be batch or always, not {other:?}"),
                ));
            }
        };
        let history = HistoryConfig {
            backend,
            sync,
            batch: Duration::from_millis(s.history.batch_ms),
            write_queue: s.history.write_queue,
            node: s.server.name.clone(),
            retention: Retention {
                max_messages: (s.history.max_messages_per_room > 0)
                    .then_some(s.history.max_messages_per_room),
                max_age: (s.history.max_age_days > 0)
                    .then(|| Duration::from_secs(s.history.max_age_days * 86_400)),
            },
        };
        let mut exempt = Vec::new();
        for address in &l.exempt_addresses {
            let network = Network::parse(address)
                .map_err(|message| invalid("limits.exempt_addresses", message))?;
            exempt.push(network);
        }
        if !(l.rate.is_finite() && l.rate > 0.0 && l.rate <= 1_000_000.0) {
            return Err(invalid(
                "limits.rate",
                format!(
                    "must be a number of commands per second above 0 and at most 1000000, not {}",
                    l.rate
                ),
            ));
        }
        if !["text", "json"].contains(&s.log.format.as_str()) {
            return Err(invalid(
                "log.format",
                format!("{:?} is neither \"text\" nor \"json\"", s.log.format),
            ));
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&s.log.level) {
            return Err(invalid(
                "log.level",
                format!("{:?} is not a log filter: {e}", s.log.level),
            ));
        }
        let cluster = if s.cluster.enabled {
            Some(validate_cluster(&s.cluster, &invalid)?)
        } else {
            None
        };
        let mode = u32::from_str_radix(s.control.mode.trim_start_matches("0o"), 8)
            .ok()
            .filter(|m| *m <= 0o777)
            .ok_or_else(|| {
                invalid(
                    "control.mode",
                    format!("{:?} is not an octal mode such as \"0660\"", s.control.mode),
                )
            })?;
        let control = ControlConfig {
            socket: if s.control.socket.is_empty() {
                default_control_socket(&s.server.name)
            } else {
                PathBuf::from(&s.control.socket)
            },
            mode,
            group: (!s.control.group.is_empty()).then(|| s.control.group.clone()),
        };
        let web = if s.web.enabled {
            let listen = s.web.listen.parse().map_err(|e| {
                invalid(
                    "web.listen",
                    format!("{:?} is not an IP:PORT address ({e})", s.web.listen),
                )
            })?;
            let mut trusted_proxies = Vec::new();
            for proxy in &s.web.trusted_proxies {
                trusted_proxies.push(
                    Network::parse(proxy)
                        .map_err(|message| invalid("web.trusted_proxies", message))?,
                );
            }
            let t = &s.web.tls;
            let tls = match (t.cert.is_empty(), t.key.is_empty()) {
                (true, true) => None,
                (false, false) => {
                    for (key, path) in [("web.tls.cert", &t.cert), ("web.tls.key", &t.key)] {
                        if let Err(e) = std::fs::metadata(path) {
                            return Err(invalid(key, format!("{path}: {e}")));
                        }
                    }
                    Some(WebTlsConfig {
                        cert: PathBuf::from(&t.cert),
                        key: PathBuf::from(&t.key),
                    })
                }
                _ => {
                    return Err(invalid(
                        "web.tls",
                        "set cert and key together (or neither)".into(),
                    ));
                }
            };
            Some(WebConfig {
                listen,
                allowed_origins: s.web.allowed_origins.clone(),
                trusted_proxies,
                tls,
            })
        } else {
            None
        };
        let metrics = match s.metrics.listen.as_str() {
            "" => None,
            listen => Some(listen.parse().map_err(|e| {
                invalid(
                    "metrics.listen",
                    format!("{listen:?} is not an IP:PORT address ({e})"),
                )
            })?),
        };
        let irc = irc::validate(&s.irc, &s.server.name, &invalid)?;
        Ok(Config {
            web,
            metrics,
            irc,
            history,
            control,
            file: file.map(Path::to_path_buf),
            listen,
            default_rooms,
            cluster,
            settings,
            exempt_addresses: exempt,
            ignored_env: Vec::new(),
        })
    }

    /// The limits section.
    pub fn limits(&self) -> &Limits {
        &self.settings.limits
    }

    /// This node's name.
    pub fn node_name(&self) -> &str {
        &self.settings.server.name
    }

    /// `limits.idle_timeout_secs` as a duration; `None` when off.
    pub fn idle_timeout(&self) -> Option<Duration> {
        let secs = self.settings.limits.idle_timeout_secs;
        (secs > 0).then(|| Duration::from_secs(secs))
    }

    /// The effective settings as TOML, as `--check-config` prints them.
    pub fn to_toml(&self) -> String {
        toml::to_string(&self.settings).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    fn load(text: &str, env: &[(&str, &str)], o: &Overrides) -> Result<Config, ConfigError> {
        let f = file(text);
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::load_with_env(Some(f.path()), Some(env), o)
    }

    #[test]
    fn embedded_defaults() {
        let c = Config::load_with_env(None, Some(HashMap::new()), &Overrides::default()).unwrap();
        assert_eq!(c.listen, "127.0.0.1:9999".parse().unwrap());
        assert_eq!(c.default_rooms, vec!["general"]);
        assert_eq!(c.settings, Settings::default());
    }

    #[test]
    fn layers_in_order() {
        let text = "[server]\nname = \"fromfile\"\nlisten = \"127.0.0.1:7000\"\n[limits]\nsend_queue = 7\nburst = 3\n";
        let c = load(text, &[], &Overrides::default()).unwrap();
        assert_eq!(c.node_name(), "fromfile");
        assert_eq!(c.limits().send_queue, 7);
        let env = [
            ("CHATD_LIMITS__SEND_QUEUE", "9"),
            ("CHATD_SERVER__DEFAULT_ROOMS", "a,#B"),
        ];
        let c = load(text, &env, &Overrides::default()).unwrap();
        assert_eq!(c.limits().send_queue, 9);
        assert_eq!(c.limits().burst, 3);
        assert_eq!(c.default_rooms, vec!["a", "b"]);
        let flags = Overrides {
            name: Some("flag".into()),
            port: Some(7777),
            web_port: Some(7778),
            metrics_listen: Some("127.0.0.1:7779".into()),
            ..Overrides::default()
        };
        let c = load(text, &[("CHATD_SERVER__NAME", "env")], &flags).unwrap();
        assert_eq!(c.node_name(), "flag");
        assert_eq!(c.listen, "127.0.0.1:7777".parse().unwrap());
        let web = c.web.as_ref().map(|w| w.listen);
        assert_eq!(web, Some("127.0.0.1:7778".parse().unwrap()));
        assert_eq!(c.metrics, Some("127.0.0.1:7779".parse().unwrap()));
        let off = Overrides {
            no_web: true,
            ..Overrides::default()
        };
        assert!(load(text, &[], &off).unwrap().web.is_none());
    }

    #[test]
    fn networks_contain_their_addresses() {
        let net = |t: &str| Network::parse(t).unwrap();
        let ip = |t: &str| t.parse::<IpAddr>().unwrap();
        assert!(net("127.0.0.0/8").contains(ip("127.10.239.2")));
        assert!(!net("127.0.0.0/8").contains(ip("128.0.0.1")));
        assert!(net("127.0.0.0/8").contains(ip("::ffff:127.0.0.9")));
        assert!(net("10.1.2.3").contains(ip("10.1.2.3")));
        assert!(!net("10.1.2.3").contains(ip("10.1.2.4")));
        assert!(net("::1").contains(ip("::1")));
        assert!(net("2001:db8::/32").contains(ip("2001:db8:1::5")));
        assert!(!net("2001:db8::/32").contains(ip("127.0.0.1")));
        assert!(net("0.0.0.0/0").contains(ip("8.8.8.8")));
        assert!(Network::parse("10.0.0.0/33").is_err());
        assert!(Network::parse("example.org").is_err());
    }

    #[test]
    fn every_numeric_key_has_a_range_and_is_refused_by_name_outside_it() {
        let cases = [
            ("server", "shutdown_grace_secs", "3601"),
            ("server", "empty_room_linger_ms", "3600001"),
            ("limits", "max_connections", "0"),
            ("limits", "max_connections", "1000001"),
            ("limits", "listen_backlog", "0"),
            ("limits", "max_line_bytes", "15"),
            ("limits", "max_frame_bytes", "16777217"),
            ("limits", "send_queue", "0"),
            ("limits", "burst", "0"),
            ("limits", "max_rooms_per_session", "10001"),
            // Past the range, a connection's idle deadline once overflowed `Instant`.
            ("limits", "idle_timeout_secs", "9223372036854775807"),
            ("limits", "presence_max_members", "1000001"),
            ("limits", "rate", "1e9"),
            ("limits", "rate", "0"),
            ("history", "replay", "100001"),
        ];
        for (section, key, value) in cases {
            let err = load(
                &format!("[{section}]\n{key} = {value}\n"),
                &[],
                &Overrides::default(),
            )
            .err()
            .unwrap_or_else(|| panic!("{section}.{key} = {value} was accepted"))
            .to_string();
            assert!(err.contains(&format!("`{section}.{key}`")), "{err}");
            assert!(err.contains("must be"), "{err}");
        }
        let cluster = |extra: &str| {
            let text = format!("[cluster]\nenabled = true\ncookie = \"c\"\n{extra}\n");
            load(&text, &[], &Overrides::default()).map(|_| ())
        };
        for (key, value) in [
            ("heartbeat_ms", "49"),
            ("heartbeat_ms", "60001"),
            ("failure_timeout_ms", "600001"),
        ] {
            let err = cluster(&format!("{key} = {value}"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(&format!("`cluster.{key}`")), "{err}");
        }
        // The edges of each range are accepted.
        let edges = "[limits]\nidle_timeout_secs = 604800\nmax_line_bytes = 16\nrate = 1000000\n";
        assert!(load(edges, &[], &Overrides::default()).is_ok());
    }

    #[test]
    fn errors_name_the_key_and_the_file() {
        let f = file("[server]\nlisen = \"x\"\n");
        let err =
            Config::load_with_env(Some(f.path()), Some(HashMap::new()), &Overrides::default())
                .unwrap_err()
                .to_string();
        assert!(err.contains("lisen"), "{err}");
        assert!(err.contains(&f.path().display().to_string()), "{err}");

        let err = load(
            "[limits]\nsend_queue = \"lots\"\n",
            &[],
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("send_queue"), "{err}");

        let err = load(
            "[server]\nlisten = \"nowhere\"\n",
            &[],
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("server.listen") && err.contains(".toml"),
            "{err}"
        );

        let err = load("[limits]\nrate = 0.0\n", &[], &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("limits.rate"), "{err}");

        let err = load("", &[("CHATD_BOGUS__X", "1")], &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("CHATD_BOGUS__X") && err.contains("[bogus]"),
            "{err}"
        );
        let config = load("", &[("CHATD_BOGUS", "1")], &Overrides::default()).unwrap();
        assert_eq!(config.ignored_env, ["CHATD_BOGUS"]);

        let err = load(
            "[server]\ndefault_rooms = [\"no spaces\"]\n",
            &[],
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("server.default_rooms"), "{err}");
    }
}
