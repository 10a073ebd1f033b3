//! Reloading the configuration while running (SIGHUP, `chatctl reload`).
//!
//! The file, the environment and the command-line flags the daemon started with are read again
//! and validated; an invalid configuration is reported and changes nothing. What can change at
//! runtime is applied — `[limits]` (except `max_connections` and `listen_backlog`) for new
//! connections and joins, `history.replay` and `limits.presence_max_members` for rooms created from
//! now on, `log.level`, and new `server.default_rooms` (created at once). Everything else is
//! reported as needing a restart.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::Value;

use crate::server::config::{Config, ConfigError, Overrides};
use crate::server::context::{NodeContext, Tunables};
use crate::server::msg::registry::RegistryMsg;

/// Changes the log filter; given by the binary, which owns the logging setup.
pub type SetLogLevel = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// What a reload needs besides the running configuration.
#[derive(Default)]
pub struct ReloadOptions {
    /// The command-line overrides the daemon started with (they still win).
    pub overrides: Overrides,
    /// How to change `log.level`, if the logging setup allows it.
    pub set_log_level: Option<SetLogLevel>,
}

/// The keys a reload applies without a restart.
const APPLIED_AT_RUNTIME: &[&str] = &[
    "limits.max_line_bytes",
    "limits.max_frame_bytes",
    "limits.send_queue",
    "limits.send_queue_bytes",
    "limits.max_rooms",
    "limits.max_connections_per_ip",
    "limits.exempt_addresses",
    "limits.registration_timeout_secs",
    "limits.tcp_keepalive_secs",
    "history.max_message_bytes",
    "limits.rate",
    "limits.burst",
    "limits.max_rooms_per_session",
    "limits.idle_timeout_secs",
    "limits.presence_max_members",
    "history.replay",
    "log.level",
    "server.default_rooms",
];

/// What a reload did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReloadReport {
    /// Keys whose new values are in force.
    pub applied: Vec<String>,
    /// Keys that changed but take effect only after a restart.
    pub needs_restart: Vec<String>,
}

/// Reloads the configuration.
pub struct Reloader {
    running: Mutex<Config>,
    options: ReloadOptions,
    ctx: Arc<NodeContext>,
}

fn leaves(prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(fields) => {
            for (key, value) in fields {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                leaves(&path, value, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

/// The dotted keys whose values differ between two configurations.
fn changed_keys(old: &Config, new: &Config) -> Vec<String> {
    let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
    leaves(
        "",
        &serde_json::to_value(&old.settings).unwrap_or(Value::Null),
        &mut a,
    );
    leaves(
        "",
        &serde_json::to_value(&new.settings).unwrap_or(Value::Null),
        &mut b,
    );
    b.iter()
        .filter(|(key, value)| a.get(*key) != Some(value))
        .map(|(key, _)| key.clone())
        .collect()
}

impl Reloader {
    /// A reloader for a node running `config`.
    pub fn new(config: Config, options: ReloadOptions, ctx: Arc<NodeContext>) -> Self {
        Reloader {
            running: Mutex::new(config),
            options,
            ctx,
        }
    }

    /// Reads the configuration again and applies what can change at runtime.
    pub async fn reload(&self) -> Result<ReloadReport, ConfigError> {
        crate::server::systemd::reloading();
        let result = self.apply().await;
        crate::server::systemd::reloaded();
        result
    }

    async fn apply(&self) -> Result<ReloadReport, ConfigError> {
        let file = match self.running.lock() {
            Ok(running) => running.file.clone(),
            Err(poisoned) => poisoned.into_inner().file.clone(),
        };
        let new = match Config::load(file.as_deref(), &self.options.overrides) {
            Ok(new) => new,
            Err(e) => {
                tracing::error!(error = %e, "reload refused: the configuration is invalid; nothing changed");
                return Err(e);
            }
        };
        let old = match self.running.lock() {
            Ok(mut running) => std::mem::replace(&mut *running, new.clone()),
            Err(poisoned) => std::mem::replace(&mut *poisoned.into_inner(), new.clone()),
        };
        let changed = changed_keys(&old, &new);
        let mut report = ReloadReport::default();
        for key in changed {
            if APPLIED_AT_RUNTIME.contains(&key.as_str()) {
                report.applied.push(key);
            } else {
                report.needs_restart.push(key);
            }
        }
        self.ctx.tunables.set(Tunables::of(&new));
        if report.applied.iter().any(|k| k == "log.level")
            && let Some(set) = &self.options.set_log_level
            && let Err(e) = set(&new.settings.log.level)
        {
            tracing::warn!(error = %e, "log level not changed");
        }
        let _ = self.ctx.local.registry.cast(RegistryMsg::Reconfigure);
        tracing::info!(applied = ?report.applied, needs_restart = ?report.needs_restart, "configuration reloaded");
        Ok(report)
    }
}
