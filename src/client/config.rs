//! The terminal client's configuration: `client.toml`, its defaults, and the errors a bad file
//! gets (each names the key at fault).
//!
//! Lookup: `--config FILE` if given (it must exist), else `$XDG_CONFIG_HOME/chatd/client.toml`, else
//! `~/.config/chatd/client.toml`; a missing default file means the built-in defaults. Command-line
//! flags (`--host`, `--port`, `--nick`) override the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::theme::{self, Theme};

/// Address used when neither the file nor the flags name a server.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// Port used when neither the file nor the flags give one.
pub const DEFAULT_PORT: u16 = 9999;

/// A configuration that cannot be used; the text names the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a key is unknown or has the wrong type.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message (it quotes the line and names the key).
        message: String,
    },
    /// A key has a value of the right type that is still unusable.
    #[error("{path}: key `{key}`: {message}")]
    Invalid {
        /// The file, or `command line`.
        path: PathBuf,
        /// The key, dotted (`colors.nick`).
        key: String,
        /// What is wrong with it.
        message: String,
    },
}

/// The file as written; every field optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    servers: Option<Vec<String>>,
    nick: Option<String>,
    rooms: Option<Vec<String>>,
    theme: Option<String>,
    timestamp_format: Option<String>,
    scrollback: Option<usize>,
    input_history: Option<usize>,
    mouse: Option<bool>,
    ping_interval_secs: Option<u64>,
    reconnect: Option<ReconnectFile>,
    colors: Option<BTreeMap<String, theme::ColorValue>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReconnectFile {
    initial_ms: Option<u64>,
    max_ms: Option<u64>,
}

/// The client's settings after layering defaults, file and flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Servers as `host:port`, tried in order; the next one is tried after a connection loss.
    pub servers: Vec<String>,
    /// The nick claimed on connecting; `None` asks for one.
    pub nick: Option<String>,
    /// Rooms joined after connecting.
    pub rooms: Vec<String>,
    /// Colours.
    pub theme: Theme,
    /// `strftime` format of message timestamps.
    pub timestamp_format: String,
    /// Lines kept per conversation.
    pub scrollback: usize,
    /// Input lines remembered for Up/Down.
    pub input_history: usize,
    /// Capture the mouse (wheel scrolling, clicking the sidebar).
    pub mouse: bool,
    /// How often to ping the server; a server silent for two intervals is considered gone.
    pub ping_interval: Duration,
    /// First reconnect delay.
    pub reconnect_initial: Duration,
    /// Longest reconnect delay (the delay doubles per failed attempt).
    pub reconnect_max: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            servers: vec![format!("{DEFAULT_HOST}:{DEFAULT_PORT}")],
            nick: None,
            rooms: Vec::new(),
            theme: Theme::dark(),
            timestamp_format: "%H:%M".into(),
            scrollback: 2000,
            input_history: 200,
            mouse: true,
            ping_interval: Duration::from_secs(30),
            reconnect_initial: Duration::from_millis(500),
            reconnect_max: Duration::from_secs(15),
        }
    }
}

/// Command-line values that override the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--host`.
    pub host: Option<String>,
    /// `--port`.
    pub port: Option<u16>,
    /// `--nick`.
    pub nick: Option<String>,
}

/// The default file: `$XDG_CONFIG_HOME/chatd/client.toml` or `~/.config/chatd/client.toml`.
pub fn default_path() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".config"),
    };
    Some(base.join("chatd").join("client.toml"))
}

impl ClientConfig {
    /// Loads `path` (which must exist) or the default file (which may be missing), then applies
    /// the overrides.
    pub fn load(path: Option<&Path>, overrides: &Overrides) -> Result<ClientConfig, ConfigError> {
        let (text, path) = match path {
            Some(path) => match std::fs::read_to_string(path) {
                Ok(text) => (text, path.to_path_buf()),
                Err(source) => {
                    return Err(ConfigError::Read {
                        path: path.to_path_buf(),
                        source,
                    });
                }
            },
            None => match default_path() {
                Some(path) => match std::fs::read_to_string(&path) {
                    Ok(text) => (text, path),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => (String::new(), path),
                    Err(source) => return Err(ConfigError::Read { path, source }),
                },
                None => (String::new(), PathBuf::from("client.toml")),
            },
        };
        let mut config = ClientConfig::parse(&text, &path)?;
        config.apply(overrides, &path)?;
        Ok(config)
    }

    /// Parses the text of a configuration file; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<ClientConfig, ConfigError> {
        let file: File = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.to_string(),
            message,
        };
        let mut config = ClientConfig::default();
        if let Some(servers) = file.servers {
            if servers.is_empty() {
                return Err(invalid("servers", "must list at least one server".into()));
            }
            config.servers = servers
                .iter()
                .map(|s| normalize_server(s).map_err(|m| invalid("servers", m)))
                .collect::<Result<_, _>>()?;
        }
        if let Some(nick) = file.nick {
            crate::names::validate_nick(&nick).map_err(|e| invalid("nick", e.to_string()))?;
            config.nick = Some(nick);
        }
        if let Some(rooms) = file.rooms {
            for room in &rooms {
                crate::names::canonical_room(room).map_err(|e| invalid("rooms", e.to_string()))?;
            }
            config.rooms = rooms;
        }
        if let Some(name) = file.theme {
            config.theme = Theme::named(&name).ok_or_else(|| {
                invalid(
                    "theme",
                    format!(
                        "unknown theme {name:?}; built-in themes: {}",
                        Theme::NAMES.join(", ")
                    ),
                )
            })?;
        }
        if let Some(colors) = file.colors {
            for (key, value) in colors {
                config
                    .theme
                    .set(&key, &value)
                    .map_err(|m| invalid(&format!("colors.{key}"), m))?;
            }
        }
        if let Some(format) = file.timestamp_format {
            check_time_format(&format).map_err(|m| invalid("timestamp_format", m))?;
            config.timestamp_format = format;
        }
        if let Some(n) = file.scrollback {
            if n == 0 {
                return Err(invalid("scrollback", "must be at least 1".into()));
            }
            config.scrollback = n;
        }
        if let Some(n) = file.input_history {
            config.input_history = n;
        }
        if let Some(mouse) = file.mouse {
            config.mouse = mouse;
        }
        if let Some(secs) = file.ping_interval_secs {
            if secs == 0 {
                return Err(invalid("ping_interval_secs", "must be at least 1".into()));
            }
            config.ping_interval = Duration::from_secs(secs);
        }
        if let Some(reconnect) = file.reconnect {
            if let Some(ms) = reconnect.initial_ms {
                config.reconnect_initial = Duration::from_millis(ms.max(1));
            }
            if let Some(ms) = reconnect.max_ms {
                config.reconnect_max = Duration::from_millis(ms.max(1));
            }
            if config.reconnect_max < config.reconnect_initial {
                return Err(invalid(
                    "reconnect.max_ms",
                    "must not be smaller than reconnect.initial_ms".into(),
                ));
            }
        }
        Ok(config)
    }

    /// Applies command-line overrides: `--host`/`--port` replace the server list with one server.
    pub fn apply(&mut self, overrides: &Overrides, path: &Path) -> Result<(), ConfigError> {
        if overrides.host.is_some() || overrides.port.is_some() {
            let host = overrides.host.as_deref().unwrap_or(DEFAULT_HOST);
            let port = overrides.port.unwrap_or(DEFAULT_PORT);
            self.servers = vec![join_host_port(host, port)];
        }
        if let Some(nick) = &overrides.nick {
            crate::names::validate_nick(nick).map_err(|e| ConfigError::Invalid {
                path: path.to_path_buf(),
                key: "--nick".into(),
                message: e.to_string(),
            })?;
            self.nick = Some(nick.clone());
        }
        Ok(())
    }
}

/// `host:port` with brackets around an IPv6 literal.
fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Accepts `host`, `host:port` or `[v6]:port`; returns `host:port`.
fn normalize_server(server: &str) -> Result<String, String> {
    let server = server.trim();
    if server.is_empty() {
        return Err("an empty server address".into());
    }
    if let Some(rest) = server.strip_prefix('[') {
        return match rest.split_once("]:") {
            Some((_, port)) if port.parse::<u16>().is_ok() => Ok(server.to_string()),
            Some(_) => Err(format!("{server:?}: the port is not a number")),
            None if rest.ends_with(']') => Ok(format!("{server}:{DEFAULT_PORT}")),
            None => Err(format!("{server:?}: a bracketed address must end in ]")),
        };
    }
    match server.rsplit_once(':') {
        Some((host, _)) if host.contains(':') => Ok(join_host_port(server, DEFAULT_PORT)),
        Some((_, port)) if port.parse::<u16>().is_err() => {
            Err(format!("{server:?}: the port is not a number"))
        }
        Some(_) => Ok(server.to_string()),
        None => Ok(join_host_port(server, DEFAULT_PORT)),
    }
}

/// Checks a `strftime` format without panicking on a bad one.
fn check_time_format(format: &str) -> Result<(), String> {
    use chrono::format::{Item, StrftimeItems};
    if StrftimeItems::new(format).any(|item| matches!(item, Item::Error)) {
        return Err(format!("{format:?} is not a valid strftime format"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Color;

    fn parse(text: &str) -> Result<ClientConfig, ConfigError> {
        ClientConfig::parse(text, Path::new("client.toml"))
    }

    #[test]
    fn empty_file_gives_the_defaults() {
        let config = parse("").unwrap();
        assert_eq!(config.servers, vec!["127.0.0.1:9999".to_string()]);
        assert_eq!(config.nick, None);
        assert_eq!(config.timestamp_format, "%H:%M");
    }

    #[test]
    fn every_key_is_read() {
        let config = parse(
            r##"
            servers = ["a.example", "b.example:7000", "[::1]:9000", "::1"]
            nick = "ann"
            rooms = ["lobby", "#rust"]
            theme = "light"
            timestamp_format = "%H:%M:%S"
            scrollback = 10
            input_history = 5
            mouse = false
            ping_interval_secs = 7
            [reconnect]
            initial_ms = 100
            max_ms = 2000
            [colors]
            timestamp = "blue"
            nicks = ["red", "#00ff00"]
            "##,
        )
        .unwrap();
        assert_eq!(
            config.servers,
            vec![
                "a.example:9999",
                "b.example:7000",
                "[::1]:9000",
                "[::1]:9999"
            ]
        );
        assert_eq!(config.nick.as_deref(), Some("ann"));
        assert_eq!(config.rooms, vec!["lobby", "#rust"]);
        assert_eq!(config.scrollback, 10);
        assert_eq!(config.input_history, 5);
        assert!(!config.mouse);
        assert_eq!(config.ping_interval, Duration::from_secs(7));
        assert_eq!(config.reconnect_initial, Duration::from_millis(100));
        assert_eq!(config.reconnect_max, Duration::from_secs(2));
        assert_eq!(config.theme.timestamp, Color::Blue);
        assert_eq!(config.theme.nicks, vec![Color::Red, Color::Rgb(0, 255, 0)]);
        assert_eq!(config.theme.text, Theme::light().text);
    }

    fn error(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_key() {
        assert!(
            error("colour = 1").contains("colour"),
            "{}",
            error("colour = 1")
        );
        assert!(error("scrollback = \"many\"").contains("scrollback"));
        assert!(error("[colors]\nnick = \"purplish\"").contains("colors.nick"));
        assert!(error("[colors]\nnickname = \"red\"").contains("colors.nickname"));
        assert!(error("theme = \"neon\"").contains("theme"));
        assert!(error("timestamp_format = \"%Q\"").contains("timestamp_format"));
        assert!(error("servers = []").contains("servers"));
        assert!(error("servers = [\"h:port\"]").contains("servers"));
        assert!(error("nick = \"no spaces\"").contains("nick"));
        assert!(error("[reconnect]\ninitial_ms = 10\nmax_ms = 5").contains("reconnect.max_ms"));
        assert!(error("mouse = yes").contains("client.toml"));
    }

    #[test]
    fn flags_override_the_file() {
        let mut config = parse("servers = [\"a:1\", \"b:2\"]\nnick = \"ann\"").unwrap();
        let overrides = Overrides {
            host: None,
            port: Some(7777),
            nick: Some("bob".into()),
        };
        config.apply(&overrides, Path::new("x")).unwrap();
        assert_eq!(config.servers, vec!["127.0.0.1:7777"]);
        assert_eq!(config.nick.as_deref(), Some("bob"));
        let bad = Overrides {
            nick: Some("b b".into()),
            ..Overrides::default()
        };
        assert!(config.apply(&bad, Path::new("x")).is_err());
    }

    #[test]
    fn a_missing_explicit_file_is_an_error() {
        let err = ClientConfig::load(
            Some(Path::new("/nonexistent/client.toml")),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/client.toml"));
    }
}
