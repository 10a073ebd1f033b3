//! `[irc]`: the IRC front's keys (see [`crate::server::irc`]), their defaults and their
//! validation.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::tls::{WebTlsConfig, WebTlsSettings};

/// `[irc]`: the IRC front.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IrcSettings {
    /// Serve IRC clients.
    pub enabled: bool,
    /// Plain-text IRC, `IP:PORT`; empty: none (TLS only).
    pub listen: String,
    /// IRC over TLS, `IP:PORT` (conventionally port 6697); needs `[irc.tls]`. Empty: none.
    pub tls_listen: String,
    /// The server name clients see (numerics' prefix); empty: the node name.
    pub server_name: String,
    /// The network name in `RPL_ISUPPORT` (`NETWORK=`).
    pub network: String,
    /// A text file shown as the message of the day; empty: none (`422`).
    pub motd_file: String,
    /// The server password a client must send with `PASS`; empty: none.
    pub password: String,
    /// Silence after which the server sends `PING`.
    pub ping_interval_secs: u64,
    /// How long an answer to the server's `PING` may take before `Ping timeout`.
    pub ping_timeout_secs: u64,
    /// How far behind the rate limit (`limits.rate`, `limits.burst`) a flooding client may fall,
    /// its commands delayed (fakelag), before it is cut off with `Excess Flood`.
    pub max_fakelag_secs: u64,
    /// `[irc.tls]`: the certificate and key for `tls_listen`.
    pub tls: WebTlsSettings,
}

impl Default for IrcSettings {
    fn default() -> Self {
        IrcSettings {
            enabled: true,
            listen: "127.0.0.1:6667".into(),
            tls_listen: String::new(),
            server_name: String::new(),
            network: "chatd".into(),
            motd_file: String::new(),
            password: String::new(),
            ping_interval_secs: 120,
            ping_timeout_secs: 60,
            max_fakelag_secs: 10,
            tls: WebTlsSettings::default(),
        }
    }
}

/// `[irc]`, validated, when enabled.
#[derive(Debug, Clone)]
pub struct IrcConfig {
    /// `irc.listen`, when set.
    pub listen: Option<SocketAddr>,
    /// `irc.tls_listen`, when set.
    pub tls_listen: Option<SocketAddr>,
    /// `[irc.tls]`, when `tls_listen` is set.
    pub tls: Option<WebTlsConfig>,
    /// `irc.server_name`, or the node name.
    pub server_name: String,
    /// `irc.network`
    pub network: String,
    /// `irc.motd_file`, when set.
    pub motd_file: Option<PathBuf>,
    /// `irc.password`, when set.
    pub password: Option<String>,
    /// `irc.ping_interval_secs`
    pub ping_interval: Duration,
    /// `irc.ping_timeout_secs`
    pub ping_timeout: Duration,
    /// `irc.max_fakelag_secs`
    pub max_fakelag: Duration,
}

fn address<E>(
    key: &'static str,
    text: &str,
    invalid: &dyn Fn(&'static str, String) -> E,
) -> Result<Option<SocketAddr>, E> {
    match text {
        "" => Ok(None),
        text => text
            .parse()
            .map(Some)
            .map_err(|e| invalid(key, format!("{text:?} is not an IP:PORT address ({e})"))),
    }
}

/// Validates `[irc]` for node `node`; `None` when the front is off. `invalid` makes the error
/// for a key and what is wrong with it.
pub fn validate<E>(
    s: &IrcSettings,
    node: &str,
    invalid: &dyn Fn(&'static str, String) -> E,
) -> Result<Option<IrcConfig>, E> {
    if !s.enabled {
        return Ok(None);
    }
    let listen = address("irc.listen", &s.listen, invalid)?;
    let tls_listen = address("irc.tls_listen", &s.tls_listen, invalid)?;
    if listen.is_none() && tls_listen.is_none() {
        return Err(invalid(
            "irc.listen",
            "set irc.listen or irc.tls_listen (or irc.enabled = false)".into(),
        ));
    }
    let tls = match (s.tls.cert.as_str(), s.tls.key.as_str()) {
        ("", "") => None,
        ("", _) | (_, "") => {
            return Err(invalid(
                "irc.tls",
                "set cert and key together (or neither)".into(),
            ));
        }
        (cert, key) => {
            for (key_name, path) in [("irc.tls.cert", cert), ("irc.tls.key", key)] {
                if let Err(e) = std::fs::metadata(path) {
                    return Err(invalid(key_name, format!("{path}: {e}")));
                }
            }
            Some(WebTlsConfig {
                cert: PathBuf::from(cert),
                key: PathBuf::from(key),
            })
        }
    };
    if tls_listen.is_some() != tls.is_some() {
        return Err(invalid(
            "irc.tls_listen",
            "irc.tls_listen and [irc.tls] go together".into(),
        ));
    }
    let server_name = match s.server_name.as_str() {
        "" => node.to_string(),
        name => name.to_string(),
    };
    // Server names and network names are single IRC parameters.
    for (key, value) in [
        ("irc.server_name", &server_name),
        ("irc.network", &s.network),
    ] {
        if value.is_empty()
            || value.len() > 63
            || !value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(invalid(
                key,
                format!("{value:?} must be 1 to 63 characters from A-Z a-z 0-9 - _ ."),
            ));
        }
    }
    let motd_file = match s.motd_file.as_str() {
        "" => None,
        path => {
            std::fs::read_to_string(path)
                .map_err(|e| invalid("irc.motd_file", format!("{path}: {e}")))?;
            Some(PathBuf::from(path))
        }
    };
    for (key, value) in [
        ("irc.ping_interval_secs", s.ping_interval_secs),
        ("irc.ping_timeout_secs", s.ping_timeout_secs),
        ("irc.max_fakelag_secs", s.max_fakelag_secs),
    ] {
        if !(1..=86_400).contains(&value) {
            return Err(invalid(
                key,
                format!("must be 1 to 86400 seconds, not {value}"),
            ));
        }
    }
    Ok(Some(IrcConfig {
        listen,
        tls_listen,
        tls,
        server_name,
        network: s.network.clone(),
        motd_file,
        password: (!s.password.is_empty()).then(|| s.password.clone()),
        ping_interval: Duration::from_secs(s.ping_interval_secs),
        ping_timeout: Duration::from_secs(s.ping_timeout_secs),
        max_fakelag: Duration::from_secs(s.max_fakelag_secs),
    }))
}
